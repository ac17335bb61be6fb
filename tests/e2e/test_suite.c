/*
 * test_suite.c - self-contained scenario files and `faultline suite`
 * through the real binary: `run -r FILE` with the file's target, driver
 * and set options, the command line replacing each, no target anywhere;
 * a suite over a directory of small scenarios written here (one passing,
 * one failing, one with a rule error, one without a target): its live
 * lines, its total, the logs of the failing ones, its exit status by the
 * worst run, one JUnit testsuite per scenario (xmllint) and the JSON
 * summary; --shard K/N covering every file exactly once and stable across
 * invocations and added files, bad --shard and -j refused; SIGINT
 * stopping the runs; and the shipped catalogue, green, as root and as uid
 * 65534.  The commands get FAULTLINE_SAMPLES set explicitly (env).
 * Single-threaded; the programs are children of the test.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(suite, name, 240)

#define SAMPLES "FAULTLINE_SAMPLES=" FL_TARGETS
#define JUNIT_XSD FL_SOURCE_DIR "/tests/data/junit.xsd"

/* A passing scenario: the passive close of echo_server. */
static const char pass_rules[] =
	"# passes\n"
	"target $FAULTLINE_SAMPLES/echo_server -p 7000 -n 1\n"
	"driver $FAULTLINE_SAMPLES/tcp_client -p 7000 --rtt 1\n"
	"set timeout 20s\n"
	"set settle 5s\n"
	"expect path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE\n"
	"expect exit 0\n";
/* A failing one: the server closes 2.5s after EOF. */
static const char fail_rules[] =
	"target $FAULTLINE_SAMPLES/echo_server -p 7000 -n 1 --close-after-eof-ms 2500\n"
	"driver $FAULTLINE_SAMPLES/tcp_client -p 7000 --rtt 1\n"
	"set settle 5s\n"
	"expect no-close-wait 1s\n";
static const char bad_rules[] = "target ./x\ndorp from client\n";
static const char notarget_rules[] = "drop from client flags FIN times 1\nexpect exit 0\n";

/* The scenarios' directory DIR/sc with the four files (and one that is
 * not a .rules file); returns its path. */
static const char *write_dir(struct run_result *r)
{
	static char dir[128];

	snprintf(dir, sizeof(dir), "%s/sc", r->dir);
	cr_assert_eq(mkdir(dir, 0777), 0);
	chmod(dir, 0777);
	rr_write(r, "sc/pass.rules", pass_rules);
	rr_write(r, "sc/fail.rules", fail_rules);
	rr_write(r, "sc/bad.rules", bad_rules);
	rr_write(r, "sc/notarget.rules", notarget_rules);
	rr_write(r, "sc/README.md", "not a scenario\n");
	return dir;
}

/* faultline ARGS... (NULL-terminated) with FAULTLINE_SAMPLES set, as user,
 * through env (so that the fixture's kernel comparison, which is for a
 * single run's report, leaves it alone). */
static void fl(struct run_result *r, enum as_user u, int wait_s, const char *a, ...)
{
	char *argv[40], own[40][256];
	size_t n = 0;
	va_list ap;

	argv[n++] = "env";
	argv[n++] = SAMPLES;
	argv[n++] = FL_BIN;
	va_start(ap, a);
	/* copies: rr_expand()'s buffers are a ring */
	for (; a && n < 39; a = va_arg(ap, const char *), n++) {
		snprintf(own[n], sizeof(own[n]), "%s", rr_expand(r, a));
		argv[n] = own[n];
	}
	va_end(ap);
	argv[n] = NULL;
	rr_run(r, u, argv, wait_s);
	rr_dump(r);
}

static json_object *load(const struct run_result *r, const char *name)
{
	json_object *o = json_object_from_file(rr_path(r, name));

	cr_assert_not_null(o, "%s does not parse\n%s%s", name, r->out, r->err);
	return o;
}

/* The summary's entry for the scenario named base. */
static json_object *entry(json_object *sum, const char *base)
{
	json_object *a = json_object_object_get(sum, "scenarios");

	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (!strcmp(js(json_object_array_get_idx(a, i), "name"), base))
			return json_object_array_get_idx(a, i);
	cr_assert_fail("no scenario %s in the summary", base);
	return NULL;
}

static int count_str(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s += strlen(what))
		n++;
	return n;
}

/* ---- run -r FILE ---- */

/* The file's target, driver and options make the run; its report names
 * them as the command line would have. */
BOTH(run_file_target)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	rr_write(&r, "pass.rules", pass_rules);
	fl(&r, u, 60, "run", "-r", "{dir}/pass.rules", "--report", "{dir}/report.json", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	rep = load(&r, "report.json");
	cr_assert_str_eq(js(rep, "result"), "PASS");
	cr_assert_str_eq(json_object_to_json_string(json_object_object_get(
				 json_object_object_get(rep, "target"), "argv")),
			 "[ \"\\/bin\\/sh\", \"-c\", \"exec $FAULTLINE_SAMPLES\\/echo_server -p "
			 "7000 -n 1\" ]");
	cr_assert_str_eq(js(json_object_object_get(rep, "driver"), "cmd"),
			 "$FAULTLINE_SAMPLES/tcp_client -p 7000 --rtt 1");
	cr_assert_eq(check_ok(rep, "timeout"), 1);
	cr_assert(strstr(js(report_check(rep, "timeout"), "detail"), "within 20.000s"), "%s",
		  js(report_check(rep, "timeout"), "detail"));
	cr_assert(strstr(r.out, "LISTENING port=7000"), "%s", r.out);
	json_object_put(rep);

	/* check prints the commands and settings */
	fl(&r, u, 30, "check", "{dir}/pass.rules", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "pass.rules:2: The program under test, run by /bin/sh "
				"as 'exec COMMAND' (replaced by the command after '--'): "
				"$FAULTLINE_SAMPLES/echo_server -p 7000 -n 1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "pass.rules:3: The driver, started once the target listens"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "pass.rules:4: The run is stopped, and fails, after 20s"),
		  "%s", r.out);
	rr_free(&r);
}

/* A target line that says exec itself is run as it is, not as "exec exec
 * CMD" (which looks for a program named exec, exit 127). */
BOTH(run_file_target_exec)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	rr_write(&r, "exec.rules",
		 "target  exec $FAULTLINE_SAMPLES/echo_server -p 7000 -n 1\n"
		 "driver $FAULTLINE_SAMPLES/tcp_client -p 7000 --rtt 1\n"
		 "set timeout 20s\n"
		 "expect exit 0\n");
	fl(&r, u, 60, "run", "-r", "{dir}/exec.rules", "--report", "{dir}/report.json", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	rep = load(&r, "report.json");
	cr_assert_str_eq(js(rep, "result"), "PASS");
	cr_assert_str_eq(json_object_to_json_string(json_object_object_get(
				 json_object_object_get(rep, "target"), "argv")),
			 "[ \"\\/bin\\/sh\", \"-c\", \"exec $FAULTLINE_SAMPLES\\/echo_server -p "
			 "7000 -n 1\" ]");
	json_object_put(rep);
	rr_free(&r);
}

/* The command line wins: '-- PROGRAM' over target, --driver over driver,
 * --timeout over 'set timeout'; what it does not name stays the file's. */
Test(suite, command_line_overrides_file, .timeout = 120)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	rr_write(&r, "pass.rules", pass_rules);
	fl(&r, AS_ROOT, 60, "run", "-r", "{dir}/pass.rules", "--report", "{dir}/report.json",
	   "--driver", "exit 3", NULL);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	rep = load(&r, "report.json");
	cr_assert_str_eq(js(json_object_object_get(rep, "driver"), "cmd"), "exit 3");
	cr_assert_eq(check_ok(rep, "driver"), 0);
	json_object_put(rep);

	fl(&r, AS_ROOT, 60, "run", "-r", "{dir}/pass.rules", "--report", "{dir}/report.json",
	   "--timeout", "3s", "--", "sh", "-c", "exit 7", NULL);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	rep = load(&r, "report.json");
	cr_assert_str_eq(json_object_to_json_string(json_object_object_get(
				 json_object_object_get(rep, "target"), "argv")),
			 "[ \"sh\", \"-c\", \"exit 7\" ]");
	cr_assert(strstr(js(report_check(rep, "exit 0"), "detail"), "exit code 7"), "%s",
		  js(report_check(rep, "exit 0"), "detail"));
	cr_assert(strstr(js(report_check(rep, "timeout"), "detail"), "within 3.000s"), "%s",
		  js(report_check(rep, "timeout"), "detail"));
	/* the file's driver stayed (the target ended before it listened) */
	json_object_put(rep);

	/* 'set timeout' of the file, then --timeout over it */
	rr_write(&r, "slow.rules", "target sleep 30\nset timeout 1s\nexpect exit 0\n");
	fl(&r, AS_ROOT, 60, "run", "-r", "{dir}/slow.rules", "--report", "{dir}/report.json",
	   NULL);
	cr_assert_eq(r.status, 1);
	rep = load(&r, "report.json");
	cr_assert_str_eq(js(report_check(rep, "timeout"), "detail"),
			 "the run did not end within --timeout 1.000s");
	json_object_put(rep);
	fl(&r, AS_ROOT, 60, "run", "-r", "{dir}/slow.rules", "--report", "{dir}/report.json",
	   "--timeout", "2s", NULL);
	rep = load(&r, "report.json");
	cr_assert_str_eq(js(report_check(rep, "timeout"), "detail"),
			 "the run did not end within --timeout 2.000s");
	json_object_put(rep);
	rr_free(&r);
}

/* No '-- PROGRAM' and no target line: exit 2, saying so, no run. */
Test(suite, no_target_anywhere)
{
	struct run_result r;

	rr_init(&r);
	rr_write(&r, "nt.rules", notarget_rules);
	fl(&r, AS_ROOT, 30, "run", "-r", "{dir}/nt.rules", "--report", "{dir}/report.json", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "faultline run: no program given: name it after '--' "
				"(faultline run [OPTIONS] -- PROGRAM [ARG]...) or in a 'target' "
				"line of a rule file"), "%s", r.err);
	fl(&r, AS_ROOT, 30, "run", "--", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "no program given"), "%s", r.err);
	rr_free(&r);
}

/* ---- the suite ---- */

/* Four scenarios (and pass.rules named twice): a line each as it ends,
 * the logs of those that did not pass, a total, the worst exit status
 * (2), one JUnit testsuite per scenario, the JSON summary. */
BOTH(suite_of_four)
{
	struct run_result r;
	const char *dir, *xml;
	json_object *sum, *e;
	char cmd[512];

	rr_init(&r);
	dir = write_dir(&r);
	fl(&r, u, 120, "suite", dir, "{dir}/sc/pass.rules", "-j", "2", "--junit",
	   "{dir}/suite.xml", "--report", "{dir}/suite.json", NULL);
	cr_assert_eq(r.status, 2, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "faultline suite: 4 scenarios, 2 at once\n"), "%s", r.out);
	cr_assert(strstr(r.out, "] PASS  pass.rules  "), "%s", r.out);
	cr_assert(strstr(r.out, "] FAIL  fail.rules  "), "%s", r.out);
	cr_assert(strstr(r.out, "s  no-close-wait 1s: flow 1 ("), "%s", r.out);
	cr_assert(strstr(r.out, "] ERROR  bad.rules  "), "%s", r.out);
	cr_assert(strstr(r.out, "bad.rules:2:1: error: unknown action 'dorp'; did you mean "
				"'drop'?\n"), "%s", r.out);
	cr_assert(strstr(r.out, "] ERROR  notarget.rules  "), "%s", r.out);
	cr_assert(strstr(r.out, "faultline run: no program given"), "%s", r.out);
	for (int k = 1; k <= 4; k++) {
		snprintf(cmd, sizeof(cmd), "[%d/4] ", k);
		cr_assert_eq(count_str(r.out, cmd), 1, "%s\n%s", cmd, r.out);
	}
	/* the logs: of the three that did not pass, not of the one that did */
	cr_assert(strstr(r.out, "---- fail.rules: faultline run -r "), "%s", r.out);
	cr_assert(strstr(r.out, "---- end of bad.rules ----"), "%s", r.out);
	cr_assert_null(strstr(r.out, "---- pass.rules"), "%s", r.out);
	cr_assert(strstr(r.out, "result: FAIL (1 of "), "%s", r.out);
	cr_assert(strstr(r.out, "\ntotal: 4 scenarios: 1 PASS, 1 FAIL, 2 ERROR; "), "%s", r.out);
	cr_assert(strstr(r.out, " wall, -j 2; exit 2\n"), "%s", r.out);

	/* JUnit: valid by tests/data/junit.xsd, one testsuite per scenario,
	 * named by its file, classnames by file and program, the run's log
	 * (the target's output) as each run's system-out */
	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s %s", JUNIT_XSD,
		 rr_path(&r, "suite.xml"));
	cr_assert_eq(system(cmd), 0, "%s", rr_read(&r, "suite.xml"));
	xml = rr_read(&r, "suite.xml");
	cr_assert_eq(count_str(xml, "<testsuites "), 1, "%s", xml);
	cr_assert_eq(count_str(xml, "<testsuite "), 4, "%s", xml);
	cr_assert(strstr(xml, "<testsuite name=\"pass.rules\" tests=\""), "%s", xml);
	cr_assert(strstr(xml, "<testcase classname=\"fail.rules.echo_server\" "
			      "name=\"no-close-wait\" time=\""), "%s", xml);
	cr_assert(strstr(xml, "\"><failure message=\"flow 1 ("), "%s", xml);
	cr_assert(strstr(xml, "    flow 1: client 127.0.0.1:"), "%s", xml);
	cr_assert_eq(count_str(xml, "<system-out>"), 2, "%s", xml);
	cr_assert(strstr(strstr(xml, "<testsuite name=\"fail.rules\""),
			 "LISTENING port=7000"), "%s", xml);
	cr_assert(strstr(xml, "<testsuite name=\"bad.rules\" tests=\"1\" failures=\"0\" "
			      "errors=\"1\""), "%s", xml);
	cr_assert(strstr(xml, "did you mean 'drop'?"), "%s", xml);
	cr_assert(strstr(xml, " failures=\"1\" errors=\"2\" skipped=\"0\" time=\""), "%s", xml);

	/* the summary */
	sum = load(&r, "suite.json");
	cr_assert_eq(ji(sum, "exit"), 2);
	cr_assert_eq(json_object_array_length(json_object_object_get(sum, "scenarios")), 4);
	e = entry(sum, "pass.rules");
	cr_assert_str_eq(js(e, "result"), "PASS");
	cr_assert_eq(ji(e, "exit"), 0);
	cr_assert_gt(jd(e, "time"), 0);
	cr_assert_str_eq(js(json_object_object_get(e, "report"), "result"), "PASS");
	e = entry(sum, "fail.rules");
	cr_assert_str_eq(js(e, "result"), "FAIL");
	cr_assert_eq(ji(e, "exit"), 1);
	cr_assert(!strncmp(js(e, "detail"), "no-close-wait 1s: ", 18), "%s", js(e, "detail"));
	cr_assert(strstr(js(e, "log"), "LISTENING port=7000"), "%s", js(e, "log"));
	e = entry(sum, "bad.rules");
	cr_assert_str_eq(js(e, "result"), "ERROR");
	cr_assert_eq(ji(e, "exit"), 2);
	cr_assert_null(json_object_object_get(e, "report"));
	cr_assert_eq(ji(json_object_object_get(sum, "counts"), "ERROR"), 2);
	json_object_put(sum);

	/* the worst decides: FAIL and PASS give 1, PASS alone 0 (its log with -v) */
	fl(&r, u, 120, "suite", "{dir}/sc/fail.rules", "{dir}/sc/pass.rules", "-j", "1", NULL);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "total: 2 scenarios: 1 PASS, 1 FAIL; "), "%s", r.out);
	cr_assert(strstr(r.out, "[1/2] FAIL  fail.rules"), "%s", r.out); /* in order, -j 1 */
	fl(&r, u, 120, "suite", "-v", "{dir}/sc/pass.rules", NULL);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "---- pass.rules: faultline run -r "), "%s", r.out);
	cr_assert(strstr(r.out, "total: 1 scenario: 1 PASS, 0 FAIL; "), "%s", r.out);
	rr_free(&r);
}

/* The names of the scenarios a shard's summary lists, as "|a|b|". */
static void shard_names(struct run_result *r, const char *shard, char *buf, size_t n)
{
	json_object *sum, *a;
	size_t at;

	fl(r, AS_ROOT, 60, "suite", "{dir}/sh", "--shard", shard, "-j", "4", "--report",
	   "{dir}/shard.json", NULL);
	cr_assert_eq(r->status, 2, "%s%s", r->out, r->err); /* no targets: errors */
	sum = load(r, "shard.json");
	cr_assert_str_eq(js(sum, "shard"), shard);
	a = json_object_object_get(sum, "scenarios");
	at = (size_t)snprintf(buf, n, "|");
	for (size_t i = 0; i < json_object_array_length(a) && at < n; i++)
		at += (size_t)snprintf(buf + at, n - at, "%s|",
				       js(json_object_array_get_idx(a, i), "name"));
	json_object_put(sum);
}

/* --shard 1/3, 2/3, 3/3 together cover every file exactly once; each is
 * the same on a second invocation, and adding a file moves no other.
 * (The files have no target: each run ends at once with exit 2.) */
Test(suite, shards_cover_once, .timeout = 120)
{
	struct run_result r;
	char first[3][2048], again[3][2048], after[3][2048], name[64], dir[128];

	rr_init(&r);
	snprintf(dir, sizeof(dir), "%s/sh", r.dir);
	cr_assert_eq(mkdir(dir, 0777), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "sh/s%02d-%c.rules", i, 'a' + i % 7);
		rr_write(&r, name, notarget_rules);
	}
	for (int k = 0; k < 3; k++) {
		char shard[8];

		snprintf(shard, sizeof(shard), "%d/3", k + 1);
		shard_names(&r, shard, first[k], sizeof(first[k]));
		shard_names(&r, shard, again[k], sizeof(again[k]));
		cr_assert_str_eq(first[k], again[k], "shard %s changed", shard);
		cr_assert(strstr(r.out, "scenarios in shard "), "%s", r.out);
	}
	for (int i = 0; i < 20; i++) {
		int in = 0;

		snprintf(name, sizeof(name), "|s%02d-%c.rules|", i, 'a' + i % 7);
		for (int k = 0; k < 3; k++)
			in += strstr(first[k], name) != NULL;
		cr_assert_eq(in, 1, "%s in %d shards: %s %s %s", name, in, first[0], first[1],
			     first[2]);
	}
	/* a new file joins one shard; the others keep theirs */
	rr_write(&r, "sh/zz-new.rules", notarget_rules);
	for (int k = 0; k < 3; k++) {
		char shard[8], *p;

		snprintf(shard, sizeof(shard), "%d/3", k + 1);
		shard_names(&r, shard, after[k], sizeof(after[k]));
		p = strstr(after[k], "|zz-new.rules|");
		if (p)
			memmove(p, p + strlen("|zz-new.rules"), strlen(p + strlen("|zz-new.rules")) + 1);
		cr_assert_str_eq(after[k], first[k], "shard %s", shard);
	}
	rr_free(&r);
}

/* Bad --shard or -j: exit 2 with a message, nothing run. */
Test(suite, bad_options_refused)
{
	static const char *const shards[] = {"0/3", "4/3", "1/0", "x/3", "1/3x", "", "1/",
					      "/3", "3", "-1/3", "1/2/3"};
	struct run_result r;

	rr_init(&r);
	rr_write(&r, "nt.rules", notarget_rules);
	for (size_t i = 0; i < sizeof(shards) / sizeof(shards[0]); i++) {
		fl(&r, AS_ROOT, 30, "suite", "{dir}/nt.rules", "--shard", shards[i], NULL);
		cr_assert_eq(r.status, 2, "--shard '%s': %d", shards[i], r.status);
		cr_assert(strstr(r.err, "faultline suite: --shard: invalid '"), "'%s': %s",
			  shards[i], r.err);
		cr_assert_null(strstr(r.out, "faultline suite:"), "%s", r.out);
	}
	fl(&r, AS_ROOT, 30, "suite", "{dir}/nt.rules", "-j", "0", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--jobs: 0 is out of range"), "%s", r.err);
	fl(&r, AS_ROOT, 30, "suite", "{dir}/nt.rules", "--timeout", "5", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--timeout: invalid duration '5'"), "%s", r.err);
	fl(&r, AS_ROOT, 30, "suite", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "no scenario directory or file given"), "%s", r.err);
	fl(&r, AS_ROOT, 30, "suite", "{dir}/missing", NULL);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "missing: No such file or directory"), "%s", r.err);
	cr_assert_eq(mkdir(rr_path(&r, "empty"), 0777), 0);
	fl(&r, AS_ROOT, 30, "suite", "{dir}/empty", NULL); /* no *.rules in it */
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "no scenario (*.rules)"), "%s", r.err);
	rr_free(&r);
}

/* SIGINT: the running scenario is stopped (its run writes its report,
 * interrupted), the rest is not started, the total says so, exit 1. */
Test(suite, sigint_stops_runs, .timeout = 120)
{
	struct run_result r;
	char *argv[12];
	struct timespec t0, t1;
	pid_t pid;
	int st;

	rr_init(&r);
	cr_assert_eq(mkdir(rr_path(&r, "sl"), 0777), 0);
	rr_write(&r, "sl/a-slow.rules", "target sleep 60\nset timeout 100s\nexpect exit 0\n");
	rr_write(&r, "sl/b-next.rules", "target sleep 60\nexpect exit 0\n");
	argv[0] = "env";
	argv[1] = SAMPLES;
	argv[2] = FL_BIN;
	argv[3] = "suite";
	argv[4] = (char *)rr_path(&r, "sl");
	argv[5] = "-j";
	argv[6] = "1";
	argv[7] = "--report";
	argv[8] = (char *)rr_path(&r, "sl.json");
	argv[9] = NULL;
	pid = rr_spawn(&r, AS_ROOT, argv);
	sleep(2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(pid, SIGINT);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d\n%s", st,
		  rr_read(&r, "stdout"));
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 30);
	cr_assert(strstr(rr_read(&r, "stdout"), "faultline suite: interrupted: stopping 1 "
						 "running scenario, starting no more"),
		  "%s", rr_read(&r, "stdout"));
	cr_assert(strstr(rr_read(&r, "stdout"), "[1/2] FAIL  a-slow.rules"), "%s",
		  rr_read(&r, "stdout"));
	cr_assert(strstr(rr_read(&r, "stdout"), "total: 2 scenarios: 0 PASS, 1 FAIL, 1 NOT-RUN "
						 "(interrupted); "),
		  "%s", rr_read(&r, "stdout"));
	{
		json_object *sum = load(&r, "sl.json"), *e = entry(sum, "a-slow.rules");

		cr_assert(json_object_get_boolean(json_object_object_get(sum, "interrupted")));
		cr_assert_str_eq(js(entry(sum, "b-next.rules"), "result"), "NOT-RUN");
		cr_assert_str_eq(js(e, "result"), "FAIL");
		cr_assert_eq(ji(e, "exit"), 1);
		cr_assert_not_null(json_object_object_get(e, "report"), "%s", js(e, "log"));
		json_object_put(sum);
	}
	rr_free(&r);
}

/* The shipped catalogue runs green with its own lines, -j 2. */
BOTH(catalogue_green)
{
	struct run_result r;
	struct timespec t0, t1;
	const char *xml;
	json_object *sum;
	char cmd[512];

	rr_init(&r);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fl(&r, u, 230, "suite", FL_RULES "/scenarios", "-j", "2", "--junit", "{dir}/cat.xml",
	   "--report", "{dir}/cat.json", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_log_info("faultline suite rules/scenarios -j 2: %lds", (long)(t1.tv_sec - t0.tv_sec));
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	sum = load(&r, "cat.json");
	cr_assert_geq(json_object_array_length(json_object_object_get(sum, "scenarios")), 26);
	cr_assert_eq(ji(json_object_object_get(sum, "counts"), "PASS"),
		     (long long)json_object_array_length(json_object_object_get(sum, "scenarios")));
	json_object_put(sum);
	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema %s %s", JUNIT_XSD,
		 rr_path(&r, "cat.xml"));
	cr_assert_eq(system(cmd), 0);
	xml = rr_read(&r, "cat.xml");
	cr_assert(strstr(xml, "<testsuite name=\"lost-fin.rules\" "), "%s", xml);
	cr_assert(strstr(xml, " failures=\"0\" errors=\"0\" skipped=\"0\" "), "%s", xml);
	rr_free(&r);
}
