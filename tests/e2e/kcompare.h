/*
 * kcompare.h - the e2e tests' comparison of faultline's state paths with
 * the kernel's tracepoint (ktrace.h): every flow side of a report must
 * equal the path the kernel gives the socket with that 4-tuple, or be a
 * known difference listed in kcompare.c, or be counted as skipped with
 * the reason.  Totals per test binary go to stderr when it ends.
 *
 * Runs in the test process, single-threaded; tracefs needs root.
 */
#ifndef FL_TEST_KCOMPARE_H
#define FL_TEST_KCOMPARE_H

struct kt;

/*
 * Stops the recording kt (NULL: it could not start, why_start says why),
 * compares it with the report file and trace file of the run called test
 * (the name known differences are listed under), prints what it found,
 * and asserts that nothing differs.  Frees kt.
 */
void kc_compare(struct kt *kt, const char *why_start, const char *test,
		const char *report, const char *trace_path);

#endif
