/*
 * suite.h - `faultline suite`: many self-contained scenario files (rule
 * files with a `target` line), each run as its own `faultline run -r
 * FILE` in its own sandbox, several at once, with one line per scenario
 * as it ends, a total, one JUnit testsuite per scenario and a JSON
 * summary.  cli.c parses the options; suite.c runs them.  Single-threaded.
 */
#ifndef FL_SUITE_H
#define FL_SUITE_H

#include <stddef.h>

/* What `faultline suite` was asked to do, parsed and checked. */
struct fl_suite_opts {
	char **paths;        /* directories (their *.rules) and files */
	size_t npaths;
	unsigned jobs;       /* runs at once; 0 = the CPUs faultline may use */
	unsigned shard_k;    /* --shard K/N: 1 <= K <= N; N = 0: no shard */
	unsigned shard_n;
	const char *junit;   /* --junit FILE, or NULL */
	const char *report;  /* --report FILE (the JSON summary), or NULL */
	const char *timeout; /* --timeout DUR for every run (checked), or NULL */
	int verbose;         /* -v: every scenario's log, not only failing ones */
};

/*
 * Whether the scenario file named base (its name without directories)
 * belongs to shard k of n (1 <= k <= n): by a hash of the name, so that a
 * file's shard never depends on the other files.
 */
int fl_suite_in_shard(const char *base, unsigned k, unsigned n);

/*
 * Runs the suite o describes; prints to stdout, diagnostics to stderr.
 * Returns the exit status: the worst of the runs' (3 > 2 > 1 > 0; a run
 * killed by a signal counts as 3), at least 1 when a signal stopped the
 * suite, 2 when the paths or outputs are unusable (nothing is run).
 */
int fl_suite(const struct fl_suite_opts *o);

#endif
