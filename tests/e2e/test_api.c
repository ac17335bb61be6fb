/*
 * test_api.c - libfaultline's C API (harness/faultline.h) against the
 * real binary: a run's result through faultline_run() equals what
 * `faultline run --report` writes for the same seeded run (verdict, each
 * check's name, ok, judged and evidence, flows and each side's state
 * path, faults per rule), rule-text errors come back as -EINVAL with
 * file:line:col, a missing target as -ENOENT and no result, and the API
 * prints nothing on stdout or stderr unless asked; two threads may run
 * at once, a caller of uid 65534 gets the same verdict, and a caller
 * killed mid-run takes its run with it.
 *
 * Runs in the Criterion test process as root (the library forks and
 * execs its helper; the CLI runs through the fixture); single-threaded
 * but for api/threads.
 */
/* First: faultline.h stands on its own. */
#include "faultline.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define ECHO FL_TARGETS "/echo_server"
#define DRIVER WAIT_7000 "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 3"

static const char *const echo_argv[] = {ECHO, "-p", "7000", NULL};

/* s with each decimal fraction ("0.452") replaced by '#', and the
 * client's ephemeral port by ':#': what differs between two runs of the
 * same seeded scenario is when things happened, not what. */
static char *masked(const char *s, const char *pattern);

static char *untimed(const char *s)
{
	return masked(s, "[0-9]+\\.[0-9]+|:[0-9]{5}");
}

/* s with every number masked: the harness check's count of segments
 * queued is the run's own (a retransmission more or less), so two runs
 * of the same test agree on its words only. */
static char *unnumbered(const char *s)
{
	return masked(s, "[0-9]+");
}

static char *masked(const char *s, const char *pattern)
{
	static char buf[8][1024];
	static unsigned k;
	char *out = buf[k++ % 8];
	regex_t re;
	regmatch_t m;
	size_t o = 0;

	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED), 0);
	while (s && *s && o + 2 < sizeof(buf[0])) {
		if (regexec(&re, s, 1, &m, 0) != 0) {
			o += (size_t)snprintf(out + o, sizeof(buf[0]) - o, "%s", s);
			break;
		}
		o += (size_t)snprintf(out + o, sizeof(buf[0]) - o, "%.*s%s",
				      (int)m.rm_so, s, s[m.rm_so] == ':' ? ":#" : "#");
		s += m.rm_eo;
	}
	out[o < sizeof(buf[0]) ? o : sizeof(buf[0]) - 1] = 0;
	regfree(&re);
	return out;
}

/* The result's fields equal the report's keys (both reports: the CLI's
 * and the API's own report_json); with timed, the evidence as is, else
 * untimed. */
static void assert_equals_report(const struct faultline_result *r,
				 json_object *rep, int timed)
{
	json_object *checks, *flows, *faults, *calls;

	cr_assert_str_eq(faultline_verdict_name(r->result), js(rep, "result"));
	cr_assert_eq(r->ok, json_object_get_boolean(json_object_object_get(rep, "ok")));
	cr_assert_eq(r->stopped_by_faultline, json_object_get_boolean(
		json_object_object_get(json_object_object_get(rep, "target"),
				       "stopped_by_faultline")));
	{
		json_object *peer = json_object_object_get(rep, "peer");
		json_object *x = peer ? json_object_object_get(peer, "exit") : NULL;

		cr_assert_eq(r->peer.ended, x != NULL);
		cr_assert_eq(r->peer_stopped_by_faultline, peer && json_object_get_boolean(
			json_object_object_get(peer, "stopped_by_faultline")));
		if (x && js(x, "signal"))
			cr_assert_str_eq(r->peer.signal, js(x, "signal"));
		else if (x)
			cr_assert_eq(r->peer.code, ji(x, "code"));
	}
	cr_assert(json_object_object_get_ex(rep, "checks", &checks));
	cr_assert_eq(r->nchecks, json_object_array_length(checks));
	for (size_t i = 0; i < r->nchecks; i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		const struct faultline_check *k = &r->checks[i];

		cr_assert_str_eq(k->name, js(c, "name"));
		cr_assert_eq(k->ok, json_object_get_boolean(json_object_object_get(c, "ok")),
			     "%s", k->name);
		cr_assert_eq(k->judged, json_object_get_boolean(json_object_object_get(c, "judged")),
			     "%s", k->name);
		if (timed)
			cr_assert_str_eq(k->detail, js(c, "detail"));
		else if (!strcmp(k->name, "harness"))
			cr_assert_str_eq(unnumbered(k->detail), unnumbered(js(c, "detail")),
					 "check %s: %s / %s", k->name, k->detail,
					 js(c, "detail"));
		else
			cr_assert_str_eq(untimed(k->detail), untimed(js(c, "detail")),
					 "check %s: %s / %s", k->name, k->detail,
					 js(c, "detail"));
		cr_assert_eq(!k->expect, !js(c, "expect"));
		if (k->expect)
			cr_assert_str_eq(k->expect, js(c, "expect"));
	}
	cr_assert(json_object_object_get_ex(rep, "flows", &flows));
	cr_assert_eq(r->nflows, json_object_array_length(flows));
	for (size_t i = 0; i < r->nflows; i++) {
		json_object *f = json_object_array_get_idx(flows, i);
		const struct faultline_flow *w = &r->flows[i];

		cr_assert_eq(w->id, (unsigned)ji(f, "id"));
		cr_assert_str_eq(w->server, js(f, "server"));
		cr_assert_str_eq(w->target_side, js(f, "target_side"));
		cr_assert_eq(w->packets, (uint64_t)ji(f, "packets"));
		cr_assert_eq(w->faults, (uint64_t)ji(f, "faults"));
		cr_assert_str_eq(w->states.text, path_of(f, "states"));
		cr_assert_str_eq(w->client_states.text, path_of(f, "client_states"));
		cr_assert_str_eq(w->server_states.text, path_of(f, "server_states"));
		cr_assert_str_eq(w->client_after_stop.text, path_of(
			json_object_object_get(f, "states_after_stop"), "client"));
		cr_assert_str_eq(w->server_after_stop.text, path_of(
			json_object_object_get(f, "states_after_stop"), "server"));
		cr_assert_eq(w->states.n, json_object_array_length(
				     json_object_object_get(f, "states")));
	}
	cr_assert(json_object_object_get_ex(rep, "faults", &faults));
	cr_assert_eq(r->nfaults, json_object_array_length(faults));
	for (size_t i = 0; i < r->nfaults; i++) {
		json_object *f = json_object_array_get_idx(faults, i);

		cr_assert_str_eq(r->faults[i].rule, js(f, "rule"));
		cr_assert_str_eq(r->faults[i].action, js(f, "action"));
		cr_assert_eq(r->faults[i].count, (uint64_t)ji(f, "count"));
	}
	{
		json_object *d = json_object_object_get(rep, "denied");

		cr_assert_eq(r->ndenied, d ? json_object_array_length(d) : 0);
		for (size_t i = 0; i < r->ndenied; i++) {
			json_object *e = json_object_array_get_idx(d, i);

			cr_assert_str_eq(r->denied[i].fn, js(e, "fn"));
			cr_assert_str_eq(r->denied[i].err, js(e, "errno"));
			cr_assert_eq(!r->denied[i].cap, !js(e, "cap"));
			cr_assert_eq(r->denied[i].withheld, json_object_get_boolean(
					     json_object_object_get(e, "withheld")));
			cr_assert_eq(r->denied[i].count, (uint64_t)ji(e, "count"));
			cr_assert_str_eq(untimed(r->denied[i].detail),
					 untimed(js(e, "detail")));
		}
	}
	cr_assert(json_object_object_get_ex(rep, "calls", &calls));
	cr_assert_eq(r->ncalls, (size_t)json_object_object_length(calls));
	for (size_t i = 0; i < r->ncalls; i++)
		cr_assert_eq(r->calls[i].count, (uint64_t)ji(calls, r->calls[i].fn),
			     "calls.%s", r->calls[i].fn);
}

/* The same seeded run (lost-fin.rules on echo_server, the client's FIN
 * dropped twice) through the CLI and through faultline_run(). */
Test(api, equals_cli, .timeout = 120)
{
	struct run_result cli;
	struct faultline_result *r = NULL;
	const char *files[] = {SC("lost-fin.rules"), NULL};
	char err[4096];
	json_object *rep, *own;
	int ret;

	rr_init(&cli);
	rr_faultline(&cli, AS_ROOT, &(struct fl_args){
		.rules = {SC("lost-fin.rules")}, .seed = "42",
		.driver = DRIVER, .argv = echo_argv});
	cr_assert_eq(cli.status, 0, "%s", cli.err);
	rep = rr_report(&cli);
	cr_assert_not_null(rep);

	ret = faultline_run(&(struct faultline_opts){
		.argv = echo_argv, .rule_files = files, .driver = DRIVER,
		.have_seed = 1, .seed = 42,
		.report = rr_path(&cli, "api-report.json"),
		.trace = rr_path(&cli, "api-trace.jsonl"),
		.junit = rr_path(&cli, "api-junit.xml")}, &r, err, sizeof(err));
	cr_assert_eq(ret, 0, "faultline_run: %d: %s", ret, err);
	cr_assert_eq(r->exit_status, cli.status);
	cr_assert_eq(r->seed, 42u);
	cr_assert_eq(r->target.ended, 1);
	cr_assert_eq(r->nflows, 1);
	cr_assert_eq(r->nfaults, 1);
	cr_assert_eq(r->faults[0].count, 2, "the FIN dropped twice");
	assert_equals_report(r, rep, 0);

	/* The API's own report, byte for byte what --report wrote. */
	own = json_tokener_parse(r->report_json);
	cr_assert_not_null(own);
	assert_equals_report(r, own, 1);
	cr_assert_str_eq(rr_read(&cli, "api-report.json"), r->report_json);
	/* The other outputs, as the CLI's: a trace that ends with the
	 * checks, JUnit with a testcase per check. */
	{
		json_object *tr = jsonl_load(rr_path(&cli, "api-trace.jsonl"));
		size_t n = json_object_array_length(tr);

		cr_assert_gt(n, r->nchecks);
		cr_assert_str_eq(js(json_object_array_get_idx(tr, n - 1), "ev"), "check");
		json_object_put(tr);
		cr_assert_eq(count_lines(rr_read(&cli, "api-junit.xml"), "    <testcase"),
			     (int)r->nchecks, "%s", rr_read(&cli, "api-junit.xml"));
	}
	json_object_put(own);
	json_object_put(rep);
	faultline_result_free(r);
	rr_free(&cli);
}

/* A client under test with --peer (client-peer-reset.rules: the peer's
 * reply replaced by an RST), through the CLI and through the API. */
Test(api, peer_equals_cli, .timeout = 120)
{
	const char *const client[] = {FL_TARGETS "/tcp_client", "-p", "7000",
				      "--rtt", "3", NULL};
	const char *files[] = {SC("client-peer-reset.rules"), NULL};
	const char *peer = "exec " ECHO " -p 7000 -n 0";
	struct run_result cli;
	struct faultline_result *r = NULL;
	char err[4096];
	json_object *rep;
	int ret;

	rr_init(&cli);
	rr_faultline(&cli, AS_ROOT, &(struct fl_args){
		.rules = {SC("client-peer-reset.rules")}, .seed = "42",
		.settle = "500ms", .peer = peer, .argv = client});
	cr_assert_eq(cli.status, 0, "%s", cli.err);
	rep = rr_report(&cli);
	cr_assert_not_null(rep);
	ret = faultline_run(&(struct faultline_opts){
		.argv = client, .rule_files = files, .peer = peer,
		.settle_ms = 500, .have_seed = 1, .seed = 42}, &r, err, sizeof(err));
	cr_assert_eq(ret, 0, "faultline_run: %d: %s", ret, err);
	cr_assert_eq(r->result, FAULTLINE_PASS, "%s", r->report_json);
	cr_assert_eq(r->target.ended && r->target.code == 1, 1);
	cr_assert_eq(r->peer.ended, 1);
	cr_assert_eq(r->peer_stopped_by_faultline, 1);
	cr_assert_eq(r->driver.ended, 0);
	cr_assert_str_eq(r->flows[0].target_side, "client");
	cr_assert_str_eq(r->flows[0].client_states.text,
			 "SYN_SENT > ESTABLISHED > CLOSE");
	assert_equals_report(r, rep, 0);
	json_object_put(rep);
	faultline_result_free(r);
	rr_free(&cli);
}

/* A self-contained scenario file (its target, driver and set lines)
 * with no argv: `faultline run -r FILE` without '--', and the API. */
Test(api, scenario_file, .timeout = 120)
{
	const char *files[] = {SC("lost-fin.rules"), NULL};
	struct run_result cli;
	struct faultline_result *r = NULL;
	char err[4096];
	json_object *rep;
	int ret;

	rr_init(&cli);
	rr_run(&cli, AS_ROOT, (char *const[]){FL_BIN, "run", "-r",
		SC("lost-fin.rules"), "--seed", "42", "--report",
		(char *)rr_path(&cli, "report.json"), NULL}, 60);
	cr_assert_eq(cli.status, 0, "%s", cli.err);
	rep = rr_report(&cli);
	cr_assert_not_null(rep);
	ret = faultline_run(&(struct faultline_opts){.rule_files = files,
		.have_seed = 1, .seed = 42, .html = rr_path(&cli, "api.html"),
		.pcap = rr_path(&cli, "api.pcap")}, &r, err, sizeof(err));
	cr_assert_eq(ret, 0, "faultline_run: %d: %s", ret, err);
	cr_assert_eq(r->result, FAULTLINE_PASS, "%s", r->report_json);
	cr_assert_eq(r->driver.ended, 1, "the file's driver ran");
	cr_assert_eq(r->nfaults, 1);
	cr_assert_eq(r->faults[0].count, 2);
	assert_equals_report(r, rep, 0);
	/* The page and the capture the options ask for: the page says the
	 * run's result; the capture has the client's FIN three times, the
	 * two a rule dropped (as sent) and the one that got through. */
	{
		char cmd[1024], line[64] = "";
		FILE *p;

		snprintf(cmd, sizeof(cmd), "grep -q 'data-result=\"PASS\"' '%s'",
			 rr_path(&cli, "api.html"));
		cr_assert_eq(system(cmd), 0, "no PASS page at %s",
			     rr_path(&cli, "api.html"));
		snprintf(cmd, sizeof(cmd), "tcpdump -nr '%s' 'tcp[tcpflags] & "
			 "tcp-fin != 0 and dst port 7000' 2>/dev/null | wc -l",
			 rr_path(&cli, "api.pcap"));
		p = popen(cmd, "r");
		cr_assert_not_null(p);
		cr_assert_not_null(fgets(line, sizeof(line), p));
		pclose(p);
		cr_assert_eq(atoi(line), 3, "%s: %s", cmd, line);
	}
	json_object_put(rep);
	faultline_result_free(r);
	rr_free(&cli);
}

Test(api, rules_error, .timeout = 30)
{
	struct faultline_result *r = (void *)1;
	char err[2048];
	int ret;

	ret = faultline_rules_check("drop from client flags FIN\n"
				    "delay 5 from server\n", 0, "bad.rules",
				    err, sizeof(err));
	cr_assert_eq(ret, -EINVAL);
	cr_assert(strstr(err, "bad.rules:2:7: error:"), "%s", err);
	cr_assert(strstr(err, "\ndelay 5 from server\n"), "%s", err);

	ret = faultline_run(&(struct faultline_opts){
		.argv = echo_argv, .rules = "expect no-close-wait 1s\nexpect bogus\n",
		.rules_name = "mine.rules"}, &r, err, sizeof(err));
	cr_assert_eq(ret, -EINVAL, "%d: %s", ret, err);
	cr_assert_null(r);
	cr_assert(strstr(err, "mine.rules:2:8: error:"), "%s", err);

	cr_assert_eq(faultline_rules_check("drop from client flags FIN times 2\n",
					   0, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(faultline_version(), FAULTLINE_VERSION);
}

Test(api, missing_target, .timeout = 30)
{
	const char *const gone[] = {"/nonexistent/echo_server", NULL};
	const char *const nopath[] = {"no-such-program-faultline", NULL};
	const char *const files[] = {"/nonexistent/x.rules", NULL};
	struct faultline_result *r = (void *)1;
	char err[1024];

	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = gone}, &r,
				   err, sizeof(err)), -ENOENT, "%s", err);
	cr_assert_null(r);
	cr_assert(strstr(err, "/nonexistent/echo_server"), "%s", err);
	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = nopath}, &r,
				   err, sizeof(err)), -ENOENT, "%s", err);
	cr_assert(strstr(err, "not found"), "%s", err);
	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = echo_argv,
		.rule_files = files}, &r, err, sizeof(err)), -ENOENT, "%s", err);
	cr_assert_eq(faultline_run(&(struct faultline_opts){0}, &r, err,
				   sizeof(err)), -EINVAL);
}

/* An option of a newer faultline.h, in what this library has reserved:
 * refused before anything runs, never ignored. */
Test(api, reserved_refused, .timeout = 30)
{
	struct faultline_result *r = (void *)1;
	char err[1024];

	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = echo_argv,
		.reserved = {[5] = 1}}, &r, err, sizeof(err)), -EINVAL, "%s",
		err);
	cr_assert_null(r);
	cr_assert(strstr(err, "reserved[5]"), "%s", err);
}

/* fd (1 or 2) into a memfd while fn runs; what was written there. */
static char *capture(int fd, void (*fn)(void *), void *arg)
{
	static char buf[2][65536];
	int m = memfd_create("capture", 0), saved = dup(fd);
	ssize_t n;

	cr_assert(m >= 0 && saved >= 0);
	fflush(NULL);
	dup2(m, fd);
	fn(arg);
	fflush(NULL);
	dup2(saved, fd);
	close(saved);
	n = pread(m, buf[fd - 1], sizeof(buf[0]) - 1, 0);
	close(m);
	buf[fd - 1][n > 0 ? n : 0] = 0;
	return buf[fd - 1];
}

struct quiet_run {
	unsigned flags;
	int ret;
	char err[1024];
	struct faultline_result *r;
};

static void quiet_run(void *arg)
{
	struct quiet_run *q = arg;

	q->ret = faultline_run(&(struct faultline_opts){
		.argv = echo_argv, .driver = DRIVER,
		/* a shim that is not there: an environment error (the
		 * CLI's exit 3), unless no_preload: then a warning on
		 * stderr and checks that cannot be judged */
		.rules = "drop from client flags FIN times 1\n",
		.preload = "/nonexistent/libfaultline-preload.so",
		.ready_port = 7000, .flags = q->flags}, &q->r, q->err,
		sizeof(q->err));
}

/* Nothing on stdout nor stderr unless asked: the text report only with
 * FAULTLINE_PRINT_REPORT, the run's warnings kept in diagnostics. */
Test(api, quiet_unless_asked, .timeout = 120)
{
	struct quiet_run q = {.flags = 0};
	const char *out;

	out = capture(1, quiet_run, &q);
	cr_assert_eq(q.ret, -ENXIO, "%d: %s", q.ret, q.err);
	cr_assert_str_eq(out, "", "stdout: %s", out);
	cr_assert(strstr(q.err, "/nonexistent/libfaultline-preload.so"), "%s", q.err);

	/* -v: the harness's lines go to diagnostics, not to stderr */
	q = (struct quiet_run){.flags = FAULTLINE_NO_PRELOAD | FAULTLINE_VERBOSE};
	out = capture(2, quiet_run, &q);
	cr_assert_eq(q.ret, 0, "%d: %s", q.ret, q.err);
	cr_assert_str_eq(out, "", "stderr: %s", out);
	cr_assert(strstr(q.r->diagnostics, "faultline: sandbox ready"), "%s",
		  q.r->diagnostics);
	cr_assert_eq(q.r->result, FAULTLINE_INCONCLUSIVE);
	faultline_result_free(q.r);

	q = (struct quiet_run){.flags = FAULTLINE_NO_PRELOAD};
	out = capture(1, quiet_run, &q);
	cr_assert_eq(q.ret, 0, "%d: %s", q.ret, q.err);
	cr_assert_str_eq(out, "", "stdout: %s", out);
	faultline_result_free(q.r);

	q = (struct quiet_run){.flags = FAULTLINE_NO_PRELOAD | FAULTLINE_PRINT_REPORT};
	out = capture(1, quiet_run, &q);
	cr_assert_eq(q.ret, 0, "%d: %s", q.ret, q.err);
	cr_assert(strstr(out, "INCONCLUSIVE"), "stdout: %s", out);
	faultline_result_free(q.r);
}

/* ---- a caller with threads, as another user, and one that dies ---- */

struct thread_run {
	pthread_t th;
	int ret;
	char err[1024];
	struct faultline_result *r;
};

static void *thread_run(void *arg)
{
	struct thread_run *t = arg;

	t->ret = faultline_run(&(struct faultline_opts){
		.argv = echo_argv, .driver = DRIVER,
		.rules = "drop from client flags FIN times 2\n"
			 "expect no-close-wait 2s\n",
		.have_seed = 1, .seed = 3}, &t->r, t->err, sizeof(t->err));
	return NULL;
}

/* Two runs at once from two threads of one process (the fork of a
 * multi-threaded caller execs at once): each its own sandbox, verdict
 * and flow. */
Test(api, threads, .timeout = 120)
{
	struct thread_run t[2] = {0};

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i].th, NULL, thread_run, &t[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i].th, NULL);
		cr_assert_eq(t[i].ret, 0, "thread %d: %d: %s", i, t[i].ret, t[i].err);
		cr_assert_eq(t[i].r->result, FAULTLINE_PASS, "thread %d: %s", i,
			     t[i].r->report_json);
		cr_assert_eq(t[i].r->nflows, 1);
		cr_assert_eq(t[i].r->faults[0].count, 2);
		faultline_result_free(t[i].r);
	}
}

/* A caller that is not root (uid 65534): the run takes a user namespace,
 * as the CLI's does, with the same verdict. */
Test(api, as_nobody, .timeout = 120)
{
	pid_t pid = fork();
	int st;

	cr_assert(pid >= 0);
	if (pid == 0) {
		const char *files[] = {SC("lost-fin.rules"), NULL};
		struct faultline_result *r = NULL;
		char err[1024];
		int ret;

		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		ret = faultline_run(&(struct faultline_opts){
			.argv = echo_argv, .rule_files = files, .driver = DRIVER,
			.have_seed = 1, .seed = 42}, &r, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "as nobody: %d: %s\n", ret, err);
			_exit(11);
		}
		_exit(r->result == FAULTLINE_PASS && r->nflows == 1 &&
		      r->faults[0].count == 2 ? 0 : 12);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the run as uid 65534: status 0x%x", st);
}

/* The children of pid, from /proc. */
static size_t children_of(pid_t pid, pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) && n < max) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid = -1;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
			sscanf(p + 2, "%*c %d", &ppid);
		fclose(f);
		if (ppid == pid)
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

/* A caller killed (SIGKILL: no handler of its own runs) during a run
 * takes the run with it: the helper is told (PR_SET_PDEATHSIG) and ends,
 * and the sandbox with it. */
Test(api, caller_dies, .timeout = 60)
{
	pid_t caller = fork(), helper[4];
	size_t n = 0;
	int st;

	cr_assert(caller >= 0);
	if (caller == 0) {
		const char *const sleeper[] = {"/bin/sleep", "300", NULL};
		struct faultline_result *r = NULL;
		char err[256];

		faultline_run(&(struct faultline_opts){.argv = sleeper,
			.timeout_ms = FAULTLINE_NO_TIMEOUT}, &r, err, sizeof(err));
		_exit(1);
	}
	for (int i = 0; i < 500 && n == 0; i++) {
		usleep(10000);
		n = children_of(caller, helper, 4);
	}
	cr_assert_eq(n, 1, "the caller's helper");
	usleep(500000); /* into its run */
	kill(caller, SIGKILL);
	cr_assert_eq(waitpid(caller, &st, 0), caller);
	for (int i = 0; i < 1000 && kill(helper[0], 0) == 0; i++)
		usleep(10000);
	cr_assert_neq(kill(helper[0], 0), 0, "the helper %d outlived its caller",
		      (int)helper[0]);
}

static void on_sigint(int sig)
{
	(void)sig;
}

/* A terminal's Ctrl-C (SIGINT to the caller's process group) reaches
 * the helper, which stops the target as the CLI does: the run ends and
 * is reported as interrupted; a caller that handles SIGINT gets that
 * result. */
Test(api, ctrl_c, .timeout = 60)
{
	pid_t caller = fork(), helper[4];
	size_t n = 0;
	int st;

	cr_assert(caller >= 0);
	if (caller == 0) {
		const char *const sleeper[] = {"/bin/sleep", "300", NULL};
		struct faultline_result *r = NULL;
		const struct faultline_check *c;
		char err[256];

		setpgid(0, 0);
		signal(SIGINT, on_sigint);
		if (faultline_run(&(struct faultline_opts){.argv = sleeper,
			.timeout_ms = FAULTLINE_NO_TIMEOUT}, &r, err, sizeof(err)) < 0)
			_exit(11);
		c = faultline_result_check(r, "timeout");
		_exit(r->result == FAULTLINE_FAIL && r->stopped_by_faultline &&
		      c && !c->ok && strstr(c->detail, "interrupted") ? 0 : 12);
	}
	for (int i = 0; i < 500 && n == 0; i++) {
		usleep(10000);
		n = children_of(caller, helper, 4);
	}
	cr_assert_eq(n, 1, "the caller's helper");
	usleep(500000); /* into its run */
	kill(-caller, SIGINT);
	cr_assert_eq(waitpid(caller, &st, 0), caller);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the interrupted run: status 0x%x", st);
}

/* The library exports faultline.h's functions, versioned, and none of
 * the harness it folds in (fl_run, fl_rules_parse, json-c's are its
 * own). */
Test(api, exports, .timeout = 30)
{
	void *h = dlopen(FL_LIBFAULTLINE, RTLD_NOW | RTLD_LOCAL);
	const char *(*version)(void);

	cr_assert_not_null(h, "%s", dlerror());
	version = (const char *(*)(void))dlvsym(h, "faultline_version", "FAULTLINE_0");
	cr_assert_not_null(version);
	cr_assert_str_eq(version(), FAULTLINE_VERSION);
	cr_assert_not_null(dlvsym(h, "faultline_run", "FAULTLINE_0"));
	cr_assert_not_null(dlvsym(h, "faultline_rules_check", "FAULTLINE_0"));
	cr_assert_not_null(dlvsym(h, "faultline_result_free", "FAULTLINE_0"));
	cr_assert_null(dlsym(h, "fl_run"));
	cr_assert_null(dlsym(h, "fl_rules_parse"));
	cr_assert_null(dlsym(h, "fl_checks_run"));
	cr_assert_null(dlsym(h, "api_result_parse"));
	dlclose(h);
}

/* The denied operation of a root target that drops its privileges
 * (priv_drop_server: setgroups, setgid, setuid), without and with
 * keep_caps, through the CLI (--keep-cap) and the API; a capability
 * faultline never keeps is refused before any run. */
static const struct faultline_denied *denied_of(const struct faultline_result *r,
						const char *fn)
{
	for (size_t i = 0; i < r->ndenied; i++)
		if (!strcmp(r->denied[i].fn, fn))
			return &r->denied[i];
	return NULL;
}

static void keep_caps_run(const char *opts, uint64_t mask,
			  struct faultline_result **res)
{
	const char *const server[] = {FL_TARGETS "/priv_drop_server", "--groups",
				       "--setgid", "65534", "--setuid", "65534", NULL};
	struct run_result cli;
	char err[4096];
	json_object *rep;
	int ret;

	rr_init(&cli);
	rr_faultline(&cli, AS_ROOT, &(struct fl_args){.timeout = "30s",
		.opts = opts, .driver = DRIVER, .seed = "5", .argv = server});
	rep = rr_report(&cli);
	cr_assert_not_null(rep, "%s", cli.err);
	ret = faultline_run(&(struct faultline_opts){.argv = server,
		.driver = DRIVER, .timeout_ms = 30000, .keep_caps = mask,
		.have_seed = 1, .seed = 5}, res, err, sizeof(err));
	cr_assert_eq(ret, 0, "%d: %s", ret, err);
	assert_equals_report(*res, rep, 0);
	json_object_put(rep);
	rr_free(&cli);
}

Test(api, keep_caps, .timeout = 180)
{
	struct faultline_result *r = NULL;
	const struct faultline_denied *d;
	char err[1024];

	keep_caps_run(NULL, 0, &r);
	d = denied_of(r, "setgid");
	cr_assert_not_null(d, "%s", r->report_json);
	cr_assert_str_eq(d->err, "EPERM");
	cr_assert_str_eq(d->cap, "CAP_SETGID");
	cr_assert(d->withheld);
	faultline_result_free(r);

	keep_caps_run("--keep-cap setuid,setgid",
		      (1ull << CAP_SETUID) | (1ull << CAP_SETGID), &r);
	cr_assert_null(denied_of(r, "setgid"), "%s", r->report_json);
	cr_assert_null(denied_of(r, "setuid"), "%s", r->report_json);
	faultline_result_free(r);

	r = (void *)1;
	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = echo_argv,
		.keep_caps = 1ull << CAP_SYS_ADMIN}, &r, err, sizeof(err)), -EPERM);
	cr_assert_null(r);
	cr_assert(strstr(err, "CAP_SYS_ADMIN is never kept"), "%s", err);
	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = echo_argv,
		.keep_caps = 1ull << 63}, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = echo_argv,
		.driver = "true", .peer = "true"}, &r, err, sizeof(err)), -EINVAL);
	cr_assert_eq(faultline_run(&(struct faultline_opts){.argv = echo_argv,
		.driver = " "}, &r, err, sizeof(err)), -EINVAL);
}
