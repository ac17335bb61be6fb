/*
 * test_cli.c - the faultline command line and its files through the real
 * binary, as root and as uid 65534: a table of bad invocations (each exit
 * status and message: durations that would wrap, empty commands, numbers
 * out of range, rule files that are devices or too large, outputs that
 * are directories, missing directories or FIFOs nobody reads), --timeout
 * 0 meaning no limit, and termination signals in each phase (before the
 * run while a rule FIFO waits, during the run, while a report waits on a
 * full FIFO), --junit of a failing and a passing run validated by
 * tests/data/junit.xsd; each command's --help, -q, '-' as --report, --junit or
 * --trace (stdout holds that output alone) and --color (on a pipe, on a
 * terminal: a pty, with and without NO_COLOR).  The table's cases and
 * --help need no kernel feature; the rest run a sandbox.  Single-threaded;
 * the programs are children of the test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(cli, name, 120)

/* A bad invocation: faultline's arguments ("{dir}" is the scratch
 * directory; {dir}/ok.rules holds "expect exit 0", {dir}/fifo is a FIFO
 * nobody opens, {dir}/big.rules is 50 MB), its exit status and a part of
 * its stderr. */
struct bad_case {
	const char *args[12];
	int status;
	const char *err;
};

#define RUN "run", "-r", "{dir}/ok.rules"
#define BIG_US "18446744073709552us" /* * 1000 wraps to 384 ns */

static const struct bad_case bad_cases[] = {
	{{RUN, "--timeout", BIG_US, "--", "true"}, 2,
	 "--timeout: duration '" BIG_US "' is too large (at most 1000000000s)"},
	{{RUN, "--grace", BIG_US, "--", "true"}, 2, "--grace: duration '" BIG_US "' is too large"},
	{{RUN, "--settle", BIG_US, "--", "true"}, 2, "--settle: duration '" BIG_US "' is too large"},
	{{RUN, "--ready-timeout", BIG_US, "--", "true"}, 2,
	 "--ready-timeout: duration '" BIG_US "' is too large"},
	{{RUN, "--ready-delay", BIG_US, "--", "true"}, 2,
	 "--ready-delay: duration '" BIG_US "' is too large"},
	{{RUN, "--timeout", "1000000001s", "--", "true"}, 2, "--timeout: duration '1000000001s' is too large"},
	{{RUN, "--timeout", "99999999999999999999s", "--", "true"}, 2, "is too large"},
	{{RUN, "--timeout", "5 parsecs", "--", "true"}, 2, "--timeout: invalid duration '5 parsecs'"},
	{{RUN, "--timeout", "10", "--", "true"}, 2, "--timeout: invalid duration '10'"},
	{{RUN, "--grace", "1.5ns", "--", "true"}, 2, "--grace: invalid duration '1.5ns'"},
	{{RUN, "--driver", "", "--", "true"}, 2, "--driver: empty command"},
	{{RUN, "--driver", " \t ", "--", "true"}, 2, "--driver: empty command"},
	{{RUN, "--ready-port", "0", "--", "true"}, 2, "--ready-port: 0 is out of range (1..65535)"},
	{{RUN, "--ready-port", "65536", "--", "true"}, 2, "--ready-port: 65536 is out of range"},
	{{RUN, "--ready-port", "80x", "--", "true"}, 2, "--ready-port: invalid number '80x'"},
	{{RUN, "--mtu", "100", "--", "true"}, 2, "--mtu: 100 is out of range (576..65535)"},
	{{RUN, "--seed", "18446744073709551616", "--", "true"}, 2, "--seed: 18446744073709551616 is out of range"},
	{{"check", "/dev/zero"}, 2, "/dev/zero: a character device, not a rule file"},
	{{"run", "-r", "/dev/zero", "--", "true"}, 2, "/dev/zero: a character device, not a rule file"},
	{{"check", "{dir}"}, 2, ": a directory, not a rule file"},
	{{"check", "{dir}/big.rules"}, 2,
	 "big.rules: 50000000 bytes: a rule file may hold at most 16777216 bytes (16 MiB)"},
	{{"run", "-r", "{dir}/big.rules", "--", "true"}, 2, "at most 16777216 bytes (16 MiB)"},
	{{RUN, "--report", "{dir}", "--", "true"}, 2, "--report {dir}: is a directory"},
	{{RUN, "--report", "{dir}/no/r.json", "--", "true"}, 2,
	 "--report {dir}/no/r.json: its directory does not exist"},
	{{RUN, "--junit", "{dir}", "--", "true"}, 2, "--junit {dir}: is a directory"},
	{{RUN, "--trace", "{dir}/no/t.jsonl", "--", "true"}, 2,
	 "--trace {dir}/no/t.jsonl: its directory does not exist"},
	{{RUN, "--report", "{dir}/fifo", "--", "true"}, 2,
	 "--report {dir}/fifo: a FIFO that no process has open for reading"},
	{{RUN, "--junit", "{dir}/fifo", "--", "true"}, 2,
	 "--junit {dir}/fifo: a FIFO that no process has open for reading"},
	{{RUN, "--trace", "{dir}/fifo", "--", "true"}, 2,
	 "--trace {dir}/fifo: a FIFO that no process has open for reading"},
	{{RUN, "--report", "-", "--junit", "-", "--", "true"}, 2,
	 "--report, --junit, --trace, --pcap and --html: only one of them can be "
	 "'-' (stdout)"},
	{{RUN, "--html", "-", "--report", "-", "--", "true"}, 2,
	 "only one of them can be '-' (stdout)"},
	{{RUN, "--html", "{dir}/fifo", "--", "true"}, 2,
	 "--html {dir}/fifo: a FIFO that no process has open for reading"},
	{{RUN, "--report", "-", "--trace", "-", "--", "true"}, 2,
	 "only one of them can be '-' (stdout)"},
	{{RUN, "--pcap", "-", "--junit", "-", "--", "true"}, 2,
	 "only one of them can be '-' (stdout)"},
	{{RUN, "--color=blue", "--", "true"}, 2,
	 "--color: invalid 'blue' (auto, always or never)"},
	{{"check", "-x", "{dir}/ok.rules"}, 2,
	 "faultline check: unknown option '-x' (a rule file of that name: ./-x)"},
	{{"suite", "--report", "-", "{dir}"}, 2,
	 "faultline suite: --report -: stdout is the suite's live lines"},
	{{"suite", "--junit", "-", "{dir}"}, 2,
	 "faultline suite: --junit -: stdout is the suite's live lines"},
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The FIFO DIR/name, writable by both users. */
static const char *make_fifo(const struct run_result *r, const char *name)
{
	const char *p = rr_path(r, name);

	cr_assert_eq(mkfifo(p, 0666), 0, "mkfifo %s: %s", p, strerror(errno));
	cr_assert_eq(chmod(p, 0666), 0);
	return p;
}

static int wait_bounded(pid_t pid, double secs);

/* Each bad invocation exits with its status and says so on stderr, and
 * soon: none waits for a FIFO or reads a device (the 20s bound shows as
 * -1).  Through rr_spawn(), not rr_run(): no run starts, so there is
 * nothing to compare with the kernel. */
BOTH(bad_invocations)
{
	struct run_result r;
	int fd;

	rr_init(&r);
	rr_write(&r, "ok.rules", "expect exit 0\n");
	make_fifo(&r, "fifo");
	fd = open(rr_path(&r, "big.rules"), O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 50000000), 0);
	close(fd);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *argv[16] = {FL_BIN};
		size_t n = 1;
		char *want = strdup(rr_expand(&r, c->err));

		for (size_t j = 0; c->args[j]; j++)
			argv[n++] = strdup(rr_expand(&r, c->args[j]));
		int st = wait_bounded(rr_spawn(&r, u, argv), 20);
		const char *err = rr_read(&r, "stderr");

		cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == c->status,
			  "case %zu (%s %s): status %#x\n%s", i, c->args[0],
			  c->args[3] ? c->args[3] : "", st, err);
		cr_expect(strstr(err, want), "case %zu: want '%s' in:\n%s", i,
			  want, err);
		/* A refused output is not created. */
		cr_expect_eq(access(rr_path(&r, "no"), F_OK), -1);
		for (size_t j = 1; j < n; j++)
			free(argv[j]);
		free(want);
	}
	rr_free(&r);
}

/* --timeout 0 is no limit (as --help says), not an immediate end: a
 * target that runs 1.5s ends by itself and the run passes. */
BOTH(timeout_zero_is_never)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){.rules_text = "expect exit 0\n",
					      .timeout = "0",
					      .sh = "sleep 1.5; exit 0"});
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	c = report_check(rep, "timeout");
	cr_assert_not_null(c);
	cr_assert(json_object_get_boolean(json_object_object_get(c, "ok")));
	cr_assert(strstr(js(c, "detail"), "--timeout 0: no limit"), "%s",
		  js(c, "detail"));
	cr_assert_geq(jd(rep, "duration"), 1.5);
	json_object_put(rep);
	rr_free(&r);
}

/* Waits at most secs for pid; its wait status, or -1 (then it is
 * killed). */
static int wait_bounded(pid_t pid, double secs)
{
	double t0 = now_s();
	int st;

	while (now_s() - t0 < secs) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Whether DIR/name contains s, waiting at most secs. */
static int file_has(const struct run_result *r, const char *name,
		    const char *s, double secs)
{
	double t0 = now_s();

	do {
		if (strstr(rr_read(r, name), s))
			return 1;
		usleep(20000);
	} while (now_s() - t0 < secs);
	return 0;
}

/* The report goes to a FIFO whose reader never reads and whose buffer is
 * full: faultline blocks writing it (the kernel says pipe_write), and a
 * SIGTERM then ends it at once, by SIGTERM, with a message. */
BOTH(report_fifo_sigterm)
{
	struct run_result r;
	char buf[4096] = {0};
	const char *fifo, *argv[12];
	char wchan[64] = "";
	int rd, st, blocked = 0;
	double t0;
	pid_t pid;

	rr_init(&r);
	fifo = make_fifo(&r, "report.fifo");
	/* The test holds both ends: faultline finds a reader, and the
	 * buffer is full before it writes a byte. */
	rd = open(fifo, O_RDWR | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	fcntl(rd, F_SETPIPE_SZ, 4096);
	while (write(rd, buf, sizeof(buf)) > 0)
		;
	argv[0] = FL_BIN;
	argv[1] = "run";
	argv[2] = "-r";
	argv[3] = rr_write(&r, "ok.rules", "expect exit 0\n");
	argv[4] = "--report";
	argv[5] = fifo;
	argv[6] = "--";
	argv[7] = "true";
	argv[8] = NULL;
	pid = rr_spawn(&r, u, (char *const *)argv);
	/* The text report is out (flushed before the JSON one): then the
	 * JSON waits on the FIFO. */
	cr_assert(file_has(&r, "stdout", "result: PASS", 30), "%s%s",
		  rr_read(&r, "stdout"), rr_read(&r, "stderr"));
	for (t0 = now_s(); now_s() - t0 < 10 && !blocked; usleep(20000)) {
		FILE *f;
		char p[64];

		snprintf(p, sizeof(p), "/proc/%d/wchan", (int)pid);
		f = fopen(p, "r");
		if (f) {
			if (!fgets(wchan, sizeof(wchan), f))
				wchan[0] = 0;
			fclose(f);
		}
		blocked = strstr(wchan, "pipe_write") != NULL;
	}
	cr_assert(blocked, "faultline is not blocked writing the FIFO (wchan %s)",
		  wchan);
	t0 = now_s();
	kill(pid, SIGTERM);
	st = wait_bounded(pid, 5);
	cr_assert_neq(st, -1, "faultline did not end within 5s of SIGTERM");
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
	cr_assert(strstr(rr_read(&r, "stderr"), "faultline: SIGTERM while faultline "
			 "judged the run and wrote the reports: ending now"),
		  "%s", rr_read(&r, "stderr"));
	close(rd);
	rr_free(&r);
}

/* A rule file that is a FIFO nobody writes to: faultline waits (at most
 * its bound, 10s) and a SIGTERM meanwhile ends it at once, with a
 * message; without one it gives up, naming the FIFO. */
BOTH(rules_fifo_wait)
{
	struct run_result r;
	const char *argv[4] = {FL_BIN, "check", NULL, NULL};
	double t0;
	int st;
	pid_t pid;

	rr_init(&r);
	argv[2] = make_fifo(&r, "rules.fifo");
	pid = rr_spawn(&r, u, (char *const *)argv);
	usleep(300000);
	cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "check ended early: %s",
		     rr_read(&r, "stderr"));
	kill(pid, SIGTERM);
	st = wait_bounded(pid, 5);
	cr_assert_neq(st, -1, "faultline did not end within 5s of SIGTERM");
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
	cr_assert(strstr(rr_read(&r, "stderr"), "faultline: SIGTERM before the "
			 "run: ending now"), "%s", rr_read(&r, "stderr"));

	t0 = now_s();
	rr_run(&r, u, (char *const *)argv, 30);
	cr_assert_eq(r.status, 2, "%s", r.err);
	cr_assert_geq(now_s() - t0, 9.5);
	cr_assert(strstr(r.err, "rules.fifo: nothing written to a FIFO in 10.0s"),
		  "%s", r.err);
	rr_free(&r);
}

/* A rule file written through a pipe (process substitution's kind) is
 * read to its end, as a regular file would be. */
BOTH(rules_through_a_pipe)
{
	struct run_result r;
	char *argv[] = {"/bin/sh", "-c", "printf 'drop from client flags FIN "
			"times 1\\nexpect exit 0\\n' | " FL_BIN " check /dev/stdin",
			NULL};

	rr_init(&r);
	rr_run(&r, u, argv, 20);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "1 rule, 1 check: OK"), "%s", r.out);
	rr_free(&r);
}

/* SIGTERM during the run: the target is stopped and the reports are
 * written, saying faultline was interrupted (exit 1); they were opened
 * before the run. */
BOTH(sigterm_during_run)
{
	struct run_result r;
	const char *argv[12];
	json_object *rep, *c;
	int st;
	pid_t pid;

	rr_init(&r);
	argv[0] = FL_BIN;
	argv[1] = "run";
	argv[2] = "-r";
	argv[3] = rr_write(&r, "ok.rules", "expect exit 0\n");
	argv[4] = "--report";
	argv[5] = rr_path(&r, "report.json");
	argv[6] = "--trace";
	argv[7] = rr_path(&r, "trace.jsonl");
	argv[8] = "--";
	argv[9] = "sleep";
	argv[10] = "60";
	argv[11] = NULL;
	pid = rr_spawn(&r, u, (char *const *)argv);
	cr_assert(file_has(&r, "trace.jsonl", "\"role\":\"target\"", 30), "%s",
		  rr_read(&r, "stderr"));
	kill(pid, SIGTERM);
	st = wait_bounded(pid, 20);
	cr_assert_neq(st, -1, "faultline did not end within 20s of SIGTERM");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x\n%s", st,
		  rr_read(&r, "stderr"));
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	c = report_check(rep, "timeout");
	cr_assert_not_null(c);
	cr_assert(strstr(js(c, "detail"), "interrupted"), "%s", js(c, "detail"));
	json_object_put(rep);
	rr_free(&r);
}

/* Outputs are opened before the sandbox: --report /dev/stdout is the
 * caller's stdout (a pipe here), not a path in the sandbox's /proc; the
 * text report comes first (flushed), then the JSON one. */
BOTH(report_to_dev_stdout)
{
	struct run_result r;
	char cmd[512];
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	const char *json;
	json_object *rep;

	rr_init(&r);
	snprintf(cmd, sizeof(cmd), FL_BIN " run -r %s --report /dev/stdout -- "
		 "true | cat", rr_write(&r, "ok.rules", "expect exit 0\n"));
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	json = strstr(r.out, "\n{");
	cr_assert_not_null(json, "%s", r.out);
	cr_assert(strstr(r.out, "result: PASS") < json, "%s", r.out);
	rep = json_tokener_parse(json + 1);
	cr_assert_not_null(rep, "%s", json);
	cr_assert_str_eq(js(rep, "result"), "PASS");
	json_object_put(rep);
	rr_free(&r);
}

/* Copies the build's file src (FL_BINARY_DIR/src) to DIR/dst, making
 * dst's directories, readable and runnable by both users. */
static void install_copy(const struct run_result *r, const char *src,
			 const char *dst)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "set -e; d='%s/%s'; mkdir -p \"${d%%/*}\"; "
		 "cp '%s/%s' \"$d\"; chmod -R a+rX '%s'", r->dir, dst,
		 FL_BINARY_DIR, src, r->dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The faultline binary copied alone, with no shim beside it or where an
 * installed copy keeps it: exit 3 and a message naming the fixes, never a
 * run whose call checks go unjudged.  --no-preload still runs. */
BOTH(missing_shim_is_env_error)
{
	struct run_result r;
	char bin[256];
	const char *rules;

	unsetenv("FAULTLINE_PRELOAD");
	rr_init(&r);
	install_copy(&r, "faultline", "alone/faultline");
	snprintf(bin, sizeof(bin), "%s", rr_path(&r, "alone/faultline"));
	rules = rr_write(&r, "ok.rules", "expect exit 0\n");
	{
		char *argv[] = {bin, "run", "-r", (char *)rules, "--", "true", NULL};

		rr_run(&r, u, argv, 30);
	}
	cr_assert_eq(r.status, 3, "status %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.err, "libfaultline-preload.so was not found"), "%s",
		  r.err);
	cr_assert(strstr(r.err, rr_path(&r, "alone/libfaultline-preload.so")),
		  "%s", r.err);
	cr_assert(strstr(r.err, "--preload PATH"), "%s", r.err);
	cr_assert(strstr(r.err, "--no-preload"), "%s", r.err);
	cr_assert(!strstr(r.out, "result:"), "a run started:\n%s", r.out);
	{
		char *argv[] = {bin, "run", "--no-preload", "-r", (char *)rules,
				"--", "true", NULL};

		rr_run(&r, u, argv, 30);
	}
	cr_assert_eq(r.status, 0, "status %d\n%s%s", r.status, r.out, r.err);
	cr_assert(!strstr(r.err, "not found"), "%s", r.err);
	rr_free(&r);
}

/* An installed layout made by hand (PREFIX/bin/faultline, the shim and
 * the samples in PREFIX/bin/FL_BIN_TO_PKGLIB, as CMake's install rules
 * put them): the binary finds its shim (the report's shim is loaded) and
 * gives the run's commands FAULTLINE_SAMPLES; a FAULTLINE_SAMPLES of the
 * caller's is kept. */
BOTH(installed_layout_finds_shim_and_samples)
{
	struct run_result r;
	char bin[256], samples[512], want[512];
	json_object *rep, *shim;

	unsetenv("FAULTLINE_PRELOAD");
	unsetenv("FAULTLINE_SAMPLES");
	rr_init(&r);
	snprintf(samples, sizeof(samples), "p/bin/%s/samples", FL_BIN_TO_PKGLIB);
	install_copy(&r, "faultline", "p/bin/faultline");
	{
		char lib[512];

		snprintf(lib, sizeof(lib), "p/bin/%s/libfaultline-preload.so",
			 FL_BIN_TO_PKGLIB);
		install_copy(&r, "libfaultline-preload.so", lib);
	}
	for (int i = 0; i < 2; i++) {
		const char *t = i ? "tcp_client" : "echo_server";
		char src[64], dst[600];

		snprintf(src, sizeof(src), "targets/%s", t);
		snprintf(dst, sizeof(dst), "%s/%s", samples, t);
		install_copy(&r, src, dst);
	}
	snprintf(bin, sizeof(bin), "%s", rr_path(&r, "p/bin/faultline"));
	{
		char *argv[] = {bin, "run", "-r", SC("lost-fin.rules"), "--report",
				(char *)rr_path(&r, "report.json"), "--driver",
				(char *)rr_expand(&r, "echo \"$FAULTLINE_SAMPLES\" > "
						  "{dir}/samples.out; exec "
						  "\"$FAULTLINE_SAMPLES/tcp_client\" -p 7000 "
						  "--rtt 3"),
				"--", "/bin/sh", "-c",
				"exec \"$FAULTLINE_SAMPLES/echo_server\" -p 7000", NULL};

		rr_run(&r, u, argv, 60);
	}
	cr_assert_eq(r.status, 0, "status %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(json_object_object_get_ex(rep, "shim", &shim));
	cr_assert(json_object_get_boolean(json_object_object_get(shim, "loaded")),
		  "%s", json_object_to_json_string(shim));
	json_object_put(rep);
	snprintf(want, sizeof(want), "%s\n", rr_path(&r, samples));
	cr_assert_str_eq(rr_read(&r, "samples.out"), want);

	/* The caller's FAULTLINE_SAMPLES wins. */
	setenv("FAULTLINE_SAMPLES", FL_TARGETS, 1);
	{
		char *argv[] = {bin, "run", "-r", SC("lost-fin.rules"), "--driver",
				(char *)rr_expand(&r, "echo \"$FAULTLINE_SAMPLES\" > "
						  "{dir}/samples.out; exec "
						  "\"$FAULTLINE_SAMPLES/tcp_client\" -p 7000"),
				"--", "/bin/sh", "-c",
				"exec \"$FAULTLINE_SAMPLES/echo_server\" -p 7000", NULL};

		rr_run(&r, u, argv, 60);
	}
	unsetenv("FAULTLINE_SAMPLES");
	cr_assert_eq(r.status, 0, "status %d\n%s%s", r.status, r.out, r.err);
	cr_assert_str_eq(rr_read(&r, "samples.out"), FL_TARGETS "\n");
	rr_free(&r);
}

#define JUNIT_XSD FL_SOURCE_DIR "/tests/data/junit.xsd"

/* 0 when xmllint finds DIR/name valid by tests/data/junit.xsd. */
static int junit_valid(const struct run_result *r, const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s %s", JUNIT_XSD,
		 rr_path(r, name));
	return system(cmd);
}

/* --junit of a failing run: valid by the shipped schema, the testsuite
 * named after the rule file, the classname the file's and the program's,
 * each testcase with the run's time, and the failure's body the check's
 * evidence, its expect line and the failing flow's ladder, as the text
 * report has them. */
BOTH(junit_failing_run_by_schema)
{
	struct run_result r;
	char junit[256], t[32];
	const char *xml, *text;
	json_object *rep;

	rr_init(&r);
	snprintf(junit, sizeof(junit), "%s", rr_path(&r, "fail.xml"));
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "expect no-close-wait 1s\n", .settle = "1500ms",
		.extra = (const char *const[]){"--junit", junit, NULL},
		.driver = "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 2",
		.words = FL_TARGETS "/cw_leak_server -p 7000"});
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(junit_valid(&r, "fail.xml"), 0, "%s", rr_read(&r, "fail.xml"));
	xml = rr_read(&r, "fail.xml");
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	snprintf(t, sizeof(t), " time=\"%.3f\"", jd(rep, "duration"));
	cr_assert(strstr(xml, "<testsuite name=\"test.rules\" tests=\""), "%s", xml);
	cr_assert(strstr(xml, t), "%s\nwanted %s", xml, t);
	cr_assert(strstr(xml, "<testcase classname=\"test.rules.cw_leak_server\" "
			      "name=\"no-close-wait\" time=\""), "%s", xml);
	cr_assert(strstr(xml, "<failure message=\"flow 1 (127.0.0.1:"), "%s", xml);
	cr_assert(strstr(xml, "\nexpect: no-close-wait 1s ("), "%s", xml);
	/* the ladder's first line, as the text report prints it */
	text = strstr(r.out, "    flow 1: client 127.0.0.1:");
	cr_assert_not_null(text, "%s", r.out);
	cr_assert(strstr(xml, "    flow 1: client 127.0.0.1:"), "%s", xml);
	cr_assert(strstr(xml, " server (target) 127.0.0.1:7000   (* = fault)\n"), "%s", xml);
	cr_assert(strstr(xml, " server     state ESTABLISHED -&gt; CLOSE_WAIT\n"), "%s", xml);
	json_object_put(rep);
	rr_free(&r);
}

/* --junit of a passing run under --junit-name: valid by the schema with
 * markup in the name and a program name that is not UTF-8 (U+FFFD in
 * the classname, so the document still parses). */
BOTH(junit_passing_run_named)
{
	struct run_result r;
	char junit[256], prog[256];
	const char *xml;

	rr_init(&r);
	snprintf(junit, sizeof(junit), "%s", rr_path(&r, "pass.xml"));
	snprintf(prog, sizeof(prog), "%s", rr_path(&r, "tru\xff" "e"));
	cr_assert_eq(symlink("/bin/true", prog), 0, "%s", strerror(errno));
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "expect exit 0\n",
		.extra = (const char *const[]){"--junit", junit, "--junit-name",
					       "a<b> & \"c\"", NULL},
		.argv = (const char *const[]){prog, NULL}});
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(junit_valid(&r, "pass.xml"), 0, "%s", rr_read(&r, "pass.xml"));
	xml = rr_read(&r, "pass.xml");
	cr_assert(strstr(xml, "<testsuite name=\"a&lt;b&gt; &amp; &quot;c&quot;\" tests=\""),
		  "%s", xml);
	cr_assert(strstr(xml, "<testcase classname=\"a&lt;b&gt; &amp; &quot;c&quot;.tru"
			      "\xef\xbf\xbd" "e\" name=\""), "%s", xml);
	cr_assert_null(strstr(xml, "<failure"), "%s", xml);
	rr_free(&r);
}

/* faultline ARGS... as u through rr_spawn() (no kernel comparison: a
 * report on stdout is no file to compare); its exit status, or -1 when
 * it did not end within 60s.  Its output: rr_read(r, "stdout"/"stderr"). */
static int faultline_args(struct run_result *r, enum as_user u,
			  const char *const *args)
{
	char *argv[24] = {FL_BIN};
	size_t n = 1;
	int st;

	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = (char *)args[i];
	st = wait_bounded(rr_spawn(r, u, argv), 60);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Each command's --help and -h print that command's usage alone, on
 * stdout, and exit 0 (check --help was read as a rule file named
 * "--help"); faultline --help shows all three. */
BOTH(command_help)
{
	static const struct {
		const char *cmd, *has, *lacks[3];
	} cases[] = {
		{"check", "  faultline check RULES...",
		 {"run options:", "  faultline suite [", "  faultline run ["}},
		{"run", "  faultline run [OPTIONS] -- PROGRAM",
		 {"suite options", "  faultline check RULES", "  faultline suite ["}},
		{"suite", "  faultline suite [DIR|FILE]",
		 {"run options:", "  faultline check RULES", "  faultline run ["}},
	};
	struct run_result r;

	rr_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int h = 0; h < 2; h++) {
			const char *args[] = {cases[i].cmd, h ? "-h" : "--help",
					      NULL};
			int st = faultline_args(&r, u, args);
			const char *out = rr_read(&r, "stdout");

			cr_expect_eq(st, 0, "%s %s: status %d\n%s", args[0],
				     args[1], st, rr_read(&r, "stderr"));
			cr_expect(strstr(out, "Usage:\n") == out &&
				  strstr(out, cases[i].has), "%s %s:\n%s",
				  args[0], args[1], out);
			for (int j = 0; j < 3; j++)
				cr_expect(!strstr(out, cases[i].lacks[j]),
					  "%s %s shows '%s':\n%s", args[0],
					  args[1], cases[i].lacks[j], out);
			cr_expect_str_empty(rr_read(&r, "stderr"));
		}
	{
		const char *args[] = {"--help", NULL};
		const char *out;

		cr_assert_eq(faultline_args(&r, u, args), 0);
		out = rr_read(&r, "stdout");
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			cr_expect(strstr(out, cases[i].has), "--help lacks '%s'",
				  cases[i].has);
	}
	rr_free(&r);
}

/* -q: the result line alone on stdout; the target's output goes to
 * stderr. */
BOTH(quiet_prints_the_result_line)
{
	struct run_result r;
	const char *args[] = {"run", "-q", "-r", NULL, "--", "/bin/sh", "-c",
			      "echo target-says-hello", NULL};
	const char *out;
	int st;

	rr_init(&r);
	args[3] = rr_write(&r, "ok.rules", "expect exit 0\n");
	st = faultline_args(&r, u, args);
	out = strdup(rr_read(&r, "stdout")); /* rr_read()'s buffer is one */
	cr_assert_eq(st, 0, "status %d\n%s%s", st, out, rr_read(&r, "stderr"));
	cr_assert(!strncmp(out, "result: PASS (", 14), "%s", out);
	cr_assert(strchr(out, '\n') == out + strlen(out) - 1,
		  "more than the result line:\n%s", out);
	cr_assert(strstr(rr_read(&r, "stderr"), "target-says-hello\n"), "%s",
		  rr_read(&r, "stderr"));
	free((char *)out);
	rr_free(&r);
}

/* '-' as --report's, --junit's or --trace's file: stdout holds that
 * output alone (whole JSON; whole XML; JSON Lines), and the text report
 * and the target's output are on stderr.  A file named "-" is not made. */
BOTH(report_dash_is_stdout)
{
	struct run_result r;
	const char *args[] = {"run", "-r", NULL, "--report", "-", "--",
			      "/bin/sh", "-c", "echo target-says-hello", NULL};
	struct json_tokener *tok;
	json_object *rep;
	const char *out, *err;
	int st;

	rr_init(&r);
	args[2] = rr_write(&r, "ok.rules", "expect exit 0\n");
	st = faultline_args(&r, u, args);
	out = strdup(rr_read(&r, "stdout")); /* rr_read()'s buffer is one */
	err = rr_read(&r, "stderr");
	cr_assert_eq(st, 0, "status %d\n%s%s", st, out, err);
	tok = json_tokener_new();
	rep = json_tokener_parse_ex(tok, out, (int)strlen(out));
	cr_assert_not_null(rep, "stdout is not JSON:\n%s", out);
	cr_assert_str_eq(js(rep, "result"), "PASS");
	cr_assert_eq(strspn(out + json_tokener_get_parse_end(tok), "\n"),
		     strlen(out + json_tokener_get_parse_end(tok)),
		     "stdout has more than the JSON report:\n%s", out);
	json_object_put(rep);
	json_tokener_free(tok);
	cr_assert(strstr(err, "result: PASS"), "%s", err);
	cr_assert(strstr(err, "target-says-hello\n"), "%s", err);
	cr_assert_eq(access("-", F_OK), -1);
	free((char *)out);

	args[3] = "--junit";
	st = faultline_args(&r, u, args);
	out = strdup(rr_read(&r, "stdout"));
	err = rr_read(&r, "stderr");
	cr_assert_eq(st, 0, "status %d\n%s%s", st, out, err);
	cr_assert(!strncmp(out, "<?xml", 5), "%s", out);
	cr_assert(strlen(out) > 14 &&
		  !strcmp(out + strlen(out) - 14, "</testsuites>\n"), "%s", out);
	cr_assert(strstr(err, "result: PASS"), "%s", err);
	cr_assert(strstr(err, "target-says-hello\n"), "%s", err);
	free((char *)out);

	/* --trace -: JSON Lines alone, every line an event, the run's first
	 * and the checks' last. */
	args[3] = "--trace";
	st = faultline_args(&r, u, args);
	out = strdup(rr_read(&r, "stdout"));
	err = rr_read(&r, "stderr");
	cr_assert_eq(st, 0, "status %d\n%s%s", st, out, err);
	cr_assert(strstr(err, "result: PASS"), "%s", err);
	cr_assert(strstr(err, "target-says-hello\n"), "%s", err);
	{
		size_t nlines = 0;
		const char *last = "";

		for (const char *p = out; *p;) {
			const char *nl = strchr(p, '\n');
			char *line;
			json_object *ev;

			cr_assert_not_null(nl, "stdout does not end a line:\n%s", out);
			line = strndup(p, (size_t)(nl - p));
			ev = json_tokener_parse(line);
			cr_assert(ev && json_object_is_type(ev, json_type_object) &&
				  js(ev, "ev"), "not an event: '%s' in:\n%s", line,
				  out);
			cr_assert(nlines || !strcmp(js(ev, "ev"), "run"), "%s", line);
			last = !strcmp(js(ev, "ev"), "check") ? "check" : "other";
			json_object_put(ev);
			free(line);
			nlines++;
			p = nl + 1;
		}
		cr_assert_geq(nlines, 3, "%s", out);
		cr_assert_str_eq(last, "check", "%s", out);
	}
	free((char *)out);
	rr_free(&r);
}

#define SGR_PASS "\033[1;32mPASS\033[0m"
#define SGR_FAIL "\033[1;31mFAIL\033[0m"
#define SGR_SKIP "\033[1;33mSKIP\033[0m"
#define SGR_INCONCLUSIVE "\033[1;33mINCONCLUSIVE\033[0m"

/* --color=always colours each status on a pipe, NO_COLOR or not (the
 * option beats the variable); --color=never and the default (auto, on a
 * pipe) do not. */
BOTH(color_on_a_pipe)
{
	struct run_result r;
	const char *args[] = {"run", "-r", NULL, NULL, "--", "true", NULL};
	const char *out;

	rr_init(&r);
	args[2] = rr_write(&r, "fail.rules", "expect exit 1\n");
	args[3] = "--color=always";
	cr_assert_eq(faultline_args(&r, u, args), 1, "%s", rr_read(&r, "stderr"));
	out = rr_read(&r, "stdout");
	cr_assert(strstr(out, "  " SGR_FAIL "  exit 1 "), "%s", out);
	cr_assert(strstr(out, "  " SGR_PASS "  timeout "), "%s", out);
	cr_assert(strstr(out, "\nresult: " SGR_FAIL " ("), "%s", out);

	setenv("NO_COLOR", "1", 1);
	cr_assert_eq(faultline_args(&r, u, args), 1);
	cr_assert(strstr(rr_read(&r, "stdout"), "\nresult: " SGR_FAIL " ("),
		  "%s", rr_read(&r, "stdout"));
	unsetenv("NO_COLOR");

	/* Not judged: yellow. */
	{
		const char *a[] = {"run", "--color", "always", "-r",
				   rr_write(&r, "skip.rules", "expect no-fd-leak\n"),
				   "--no-preload", "--", "true", NULL};

		cr_assert_eq(faultline_args(&r, u, a), 1);
	}
	out = rr_read(&r, "stdout");
	cr_assert(strstr(out, "  " SGR_SKIP "  no-fd-leak "), "%s", out);
	cr_assert(strstr(out, "\nresult: " SGR_INCONCLUSIVE " ("), "%s", out);

	for (int i = 0; i < 2; i++) {
		args[2] = rr_path(&r, "fail.rules");
		args[3] = i ? "--color=never" : "--color=auto";
		cr_assert_eq(faultline_args(&r, u, args), 1);
		out = rr_read(&r, "stdout");
		cr_assert(strstr(out, "result: FAIL ("), "%s", out);
		cr_assert(!strchr(out, '\033'), "%s: colour on a pipe:\n%s",
			  args[3], out);
	}
	rr_free(&r);
}

/* faultline ARGS... as u on a new terminal (a pty), with NO_COLOR set to
 * no_color or unset (NULL); what it wrote there (stdout and stderr), into
 * buf.  Its exit status, or -1. */
static int faultline_on_tty(enum as_user u, const char *const *args,
			    const char *no_color, char *buf, size_t len)
{
	size_t got = 0;
	int master, st;
	double t0 = now_s();
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		char *argv[32];
		size_t n = 0;

		if (u == AS_NOBODY) {
			argv[n++] = "setpriv";
			argv[n++] = "--reuid=65534";
			argv[n++] = "--regid=65534";
			argv[n++] = "--clear-groups";
			argv[n++] = "--";
		}
		argv[n++] = FL_BIN;
		for (size_t i = 0; args[i] && n < 31; i++)
			argv[n++] = (char *)args[i];
		argv[n] = NULL;
		if (no_color)
			setenv("NO_COLOR", no_color, 1);
		else
			unsetenv("NO_COLOR");
		execvp(argv[0], argv);
		_exit(127);
	}
	/* Read until the terminal closes (EIO once the child is gone). */
	while (got + 1 < len && now_s() - t0 < 60) {
		ssize_t k = read(master, buf + got, len - 1 - got);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[got] = 0;
	close(master);
	st = wait_bounded(pid, 10);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The default (auto) colours on a terminal, not with NO_COLOR set (but
 * with NO_COLOR empty: no-color.org's "set and not empty"); --color=never
 * not at all. */
BOTH(color_auto_on_a_tty)
{
	struct run_result r;
	const char *args[] = {"run", "-r", NULL, "--", "true", NULL};
	const char *never[] = {"run", "--color=never", "-r", NULL, "--", "true",
			       NULL};
	static char buf[65536];

	rr_init(&r);
	args[2] = rr_write(&r, "ok.rules", "expect exit 0\n");
	cr_assert_eq(faultline_on_tty(u, args, NULL, buf, sizeof(buf)), 0, "%s", buf);
	cr_assert(strstr(buf, "  " SGR_PASS "  exit 0 "), "%s", buf);
	cr_assert(strstr(buf, "result: " SGR_PASS " ("), "%s", buf);
	cr_assert_eq(faultline_on_tty(u, args, "", buf, sizeof(buf)), 0, "%s", buf);
	cr_assert(strstr(buf, "result: " SGR_PASS " ("), "%s", buf);
	cr_assert_eq(faultline_on_tty(u, args, "1", buf, sizeof(buf)), 0, "%s", buf);
	cr_assert(strstr(buf, "result: PASS ("), "%s", buf);
	cr_assert(!strchr(buf, '\033'), "colour with NO_COLOR=1:\n%s", buf);
	never[3] = args[2];
	cr_assert_eq(faultline_on_tty(u, never, NULL, buf, sizeof(buf)), 0, "%s", buf);
	cr_assert(strstr(buf, "result: PASS ("), "%s", buf);
	cr_assert(!strchr(buf, '\033'), "colour with --color=never:\n%s", buf);
	rr_free(&r);
}
