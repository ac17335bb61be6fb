/*
 * test_integration.c - the real faultline binary on the programs in
 * tests/targets/, in a real sandbox, as root and as an unprivileged user.
 * Each test reads what happened from the trace and from the programs' own
 * output, and compares.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(integration, name, 120)

/* Runs faultline run -r RULES --trace --report --timeout 30s --settle 5s
 * (the targets end by themselves) --driver DRIVER -- echo_server ARGS */
static void run_echo(struct run_result *r, enum as_user u, const char *rules,
		     const char *driver, const char *server_args)
{
	char server[256];

	snprintf(server, sizeof(server), FL_TARGETS "/echo_server %s", server_args);
	rr_faultline(r, u, &(struct fl_args){.rules_text = rules, .timeout = "30s",
					     .settle = "5s", .driver = driver,
					     .words = server});
}

/* Dropping the client's FIN once: the trace shows the FIN dropped, then a
 * retransmitted FIN (same seq) passed; the server still reads EOF. */
BOTH(lost_fin)
{
	struct run_result r;
	json_object *tr;
	long long drop_seq = -1, pass_seq = -1;
	double drop_t = -1, pass_t = -1;

	rr_init(&r);
	run_echo(&r, u, "drop from client flags FIN times 1\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 2"), "-p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!is_pkt(ev, "client", "FIN"))
			continue;
		if (!strcmp(js(ev, "verdict"), "drop") && drop_seq < 0) {
			drop_seq = ji(ev, "seq");
			drop_t = jd(ev, "t");
			cr_assert_str_eq(js(ev, "rule"),
					 rr_path(&r, "test.rules:1"));
		} else if (!strcmp(js(ev, "verdict"), "pass") && drop_seq >= 0 &&
			   pass_seq < 0) {
			pass_seq = ji(ev, "seq");
			pass_t = jd(ev, "t");
		}
	}
	cr_assert_geq(drop_seq, 0, "no dropped FIN in the trace");
	cr_assert_eq(pass_seq, drop_seq, "retransmitted FIN seq %lld != %lld",
		     pass_seq, drop_seq);
	cr_assert_gt(pass_t, drop_t);
	/* The server saw EOF after the retransmission. */
	cr_assert_not_null(line_field(r.out, "EOF", "conn"), "server:\n%s", r.out);
	cr_assert_str_eq(line_field(rr_read(&r, "client.out"), "DONE", "t_us") ? "ok" : "no", "ok");
	json_object_put(tr);
	rr_free(&r);
}

/* The client's FIN rewritten to RST: the server's read fails with
 * ECONNRESET. */
BOTH(fin_to_rst)
{
	struct run_result r;
	json_object *tr;
	int rewrites = 0;

	rr_init(&r);
	run_echo(&r, u, "rewrite flags=RST from client flags FIN\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 1"), "-p 7000");
	/* echo_server exits 1 on a read error, before faultline stops it:
	 * that fails the run (no 'expect exit 1' says it should). */
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.out, "FAIL  target                   target exit code 1 at "),
		  "%s", r.out);
	cr_assert_str_eq(line_field(r.out, "READ_ERROR", "errno") ?: "(none)",
			 "ECONNRESET", "server:\n%s", r.out);
	cr_assert_eq(count_lines(r.out, "EOF"), 0);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "FIN") &&
		    !strcmp(js(ev, "verdict"), "rewrite"))
			rewrites++;
	}
	cr_assert_eq(rewrites, 1);
	json_object_put(tr);
	rr_free(&r);
}

/* 100ms on the server's data: every round trip is at least 100ms and well
 * under 200ms. */
BOTH(delay_server_data)
{
	struct run_result r;
	const char *out;
	int n = 0;

	rr_init(&r);
	run_echo(&r, u, "delay 100ms from server data\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 5"), "-p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	out = rr_read(&r, "client.out");
	for (const char *l = strstr(out, "RTT "); l; l = strstr(l + 1, "RTT ")) {
		long us;

		cr_assert_eq(sscanf(l, "RTT i=%*d us=%ld", &us), 1);
		cr_assert_geq(us, 100000, "round trip %ld us < 100ms", us);
		cr_assert_lt(us, 200000, "round trip %ld us >= 200ms", us);
		n++;
	}
	cr_assert_eq(n, 5, "client:\n%s", out);
	rr_free(&r);
}

/* A blackholed server: the client's TCP_USER_TIMEOUT (1s) fires with
 * ETIMEDOUT, and not much later. */
BOTH(blackhole)
{
	struct run_result r;
	const char *e;
	long elapsed;
	json_object *rep;

	rr_init(&r);
	run_echo(&r, u, "blackhole from client data\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 1 --user-timeout-ms 1000"),
		 "-p 7000");
	/* The driver fails (it could not finish), so the run fails. */
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	e = line_field(rr_read(&r, "client.out"), "READ_ERROR", "errno");
	cr_assert_str_eq(e ? e : "(none)", "ETIMEDOUT", "client:\n%s", rr_read(&r, "client.out"));
	elapsed = atol(line_field(rr_read(&r, "client.out"), "READ_ERROR", "elapsed_ms"));
	cr_assert_geq(elapsed, 1000);
	cr_assert_lt(elapsed, 4000);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(ji(json_object_object_get(rep, "driver") ?
			json_object_object_get(json_object_object_get(rep, "driver"), "exit") : NULL,
			"code"), 1);
	json_object_put(rep);
	rr_free(&r);
}

static int pid_alive(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/* SIGKILL of faultline mid-run leaves no process behind.  The root and
 * the nobody case may run at once: each names its processes with words of
 * its own (the sleep's time, the server's port), so neither counts the
 * other's. */
BOTH(sigkill_leaves_nothing)
{
	struct run_result r;
	const char *secs = u == AS_ROOT ? "47.25" : "47.5";
	const char *port = u == AS_ROOT ? "7000" : "7001";
	char driver[64], server[64];
	char *argv[] = {FL_BIN, "run", "--trace", NULL, "--driver",
			driver, "--", FL_TARGETS "/echo_server",
			"-p", (char *)port, "-n", "0", NULL};
	pid_t pid, tpid = -1, dpid = -1;
	json_object *tr = NULL;
	int st;

	snprintf(driver, sizeof(driver), "exec sleep %s", secs);
	snprintf(server, sizeof(server), "echo_server -p %s -n 0", port);
	rr_init(&r);
	argv[3] = (char *)rr_path(&r, "trace.jsonl");
	pid = rr_spawn(&r, u, argv);
	/* Wait until the driver runs (its start is in the trace). */
	for (int i = 0; i < 500 && dpid < 0; i++) {
		usleep(20000);
		json_object_put(tr);
		tr = rr_trace(&r);
		for (size_t j = 0; j < json_object_array_length(tr); j++) {
			json_object *ev = json_object_array_get_idx(tr, j);

			if (!js(ev, "ev") || strcmp(js(ev, "ev"), "proc"))
				continue;
			if (!strcmp(js(ev, "role"), "target"))
				tpid = (pid_t)ji(ev, "host_pid");
			if (!strcmp(js(ev, "role"), "driver"))
				dpid = (pid_t)ji(ev, "host_pid");
		}
	}
	json_object_put(tr);
	cr_assert_gt(tpid, 0, "target never started");
	cr_assert_gt(dpid, 0, "driver never started");
	cr_assert(pid_alive(tpid));
	/* faultline runs under setpriv for nobody: kill the whole group. */
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	for (int i = 0; i < 200 && (pid_alive(tpid) || pid_alive(dpid)); i++)
		usleep(10000);
	cr_assert(!pid_alive(tpid), "target %d survived", tpid);
	cr_assert(!pid_alive(dpid), "driver %d survived", dpid);
	/* Nor anything else of the run: no sleep, no echo_server. */
	{
		DIR *d = opendir("/proc");
		struct dirent *de;
		int left = 0;

		while ((de = readdir(d))) {
			char path[300], cmd[256] = "";
			FILE *f;
			size_t n;

			snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			n = fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
			for (size_t k = 0; k + 1 < n; k++)
				if (!cmd[k])
					cmd[k] = ' ';
			if (strstr(cmd, secs) || strstr(cmd, server))
				left++;
		}
		closedir(d);
		cr_assert_eq(left, 0, "%d processes of the run are left", left);
	}
	rr_free(&r);
}

/* A rule file with errors: exit 2, every error, exactly. */
BOTH(rule_errors)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--", "/bin/true", NULL};
	char expect[1024];
	const char *path;

	rr_init(&r);
	path = rr_write(&r, "bad.rules",
			"drop from client flags FIN\n"
			"dorp from client\n"
			"delay 10 from server\n");
	argv[3] = (char *)path;
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 2);
	snprintf(expect, sizeof(expect),
		 "%s:2:1: error: unknown action 'dorp'; did you mean 'drop'?\n"
		 "dorp from client\n"
		 "^\n",
		 path);
	cr_assert(strstr(r.err, expect), "stderr:\n%s\nexpected:\n%s", r.err,
		  expect);
	snprintf(expect, sizeof(expect), "%s:3:7: error: ", path);
	cr_assert(strstr(r.err, expect), "stderr:\n%s", r.err);
	cr_assert(strstr(r.err, "2 errors"), "stderr:\n%s", r.err);
	rr_free(&r);
}

/* `expect exit N` judges the target's status; the report says so. */
BOTH(expect_exit)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--report", NULL, "--",
			"/bin/sh", "-c", "exit 3", NULL};
	json_object *rep, *checks;

	rr_init(&r);
	argv[3] = (char *)rr_write(&r, "x.rules", "expect exit 3\n");
	argv[5] = (char *)rr_path(&r, "report.json");
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(ji(json_object_object_get(json_object_object_get(rep, "target"),
					       "exit"), "code"), 3);
	checks = json_object_object_get(rep, "checks");
	/* The bare name, and the expectation as written (DESIGN.md). */
	cr_assert_str_eq(js(json_object_array_get_idx(checks, 0), "name"), "exit");
	cr_assert_str_eq(js(json_object_array_get_idx(checks, 0), "expect"), "exit 3");
	json_object_put(rep);

	rr_write(&r, "x.rules", "expect exit 0\n");
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "FAIL  exit 0"), "%s", r.out);
	rr_free(&r);
}

Test(integration, check_explains)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "check", FL_RULES "/scenarios/lost-fin.rules", NULL};

	rr_init(&r);
	rr_run(&r, AS_ROOT, argv, 10);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "lost-fin.rules:"), "%s", r.out);
	rr_free(&r);
}

Test(integration, usage_errors)
{
	struct run_result r;
	char *a1[] = {FL_BIN, "run", "--timeout", "5 parsecs", "--", "true", NULL};
	char *a2[] = {FL_BIN, "frobnicate", NULL};
	char *a3[] = {FL_BIN, "run", "-r", "/nonexistent.rules", "--", "true", NULL};
	char *a4[] = {FL_BIN, "--help", NULL};

	rr_init(&r);
	rr_run(&r, AS_ROOT, a1, 10);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "--timeout"), "%s", r.err);
	rr_run(&r, AS_ROOT, a2, 10);
	cr_assert_eq(r.status, 2);
	rr_run(&r, AS_ROOT, a3, 10);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "/nonexistent.rules: No such file"), "%s", r.err);
	rr_run(&r, AS_ROOT, a4, 10);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "--driver"));
	rr_free(&r);
}

/* IPv6 goes through ip6tables and the same engine: a lost FIN over ::1. */
BOTH(ipv6_lost_fin)
{
	struct run_result r;
	json_object *tr;
	int drops = 0, passes = 0;

	rr_init(&r);
	run_echo(&r, u, "drop from client flags FIN times 1\n",
		 client_cmd(&r, 0, "-6 -p 7000 --rtt 1"), "-6 -p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!is_pkt(ev, "client", "FIN"))
			continue;
		drops += !strcmp(js(ev, "verdict"), "drop");
		passes += !strcmp(js(ev, "verdict"), "pass") && drops;
	}
	cr_assert_eq(drops, 1);
	cr_assert_geq(passes, 1);
	cr_assert(strstr(r.out, "ACCEPT conn=1 peer=[::1]:"), "%s", r.out);
	cr_assert_not_null(line_field(r.out, "EOF", "conn"), "%s", r.out);
	json_object_put(tr);
	rr_free(&r);
}

/* The target runs with no capabilities at all and no_new_privs, whoever
 * starts faultline; the program itself checks and exits 0 or 1. */
BOTH(target_unprivileged)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--", "/bin/sh", "-c",
			"grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/self/status && "
			"grep -q '^CapPrm:[[:space:]]*0000000000000000$' /proc/self/status && "
			"grep -q '^CapBnd:[[:space:]]*0000000000000000$' /proc/self/status && "
			"grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status",
			NULL};

	rr_init(&r);
	argv[3] = (char *)rr_write(&r, "x.rules", "expect exit 0\n");
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	rr_free(&r);
}

/* Under sudo, the target runs as the invoking user. */
Test(integration, sudo_runs_target_as_invoker)
{
	struct run_result r;
	char *argv[] = {"env", "SUDO_UID=65534", "SUDO_GID=65534", FL_BIN, "run",
			"-r", NULL, "--", "/bin/sh", "-c",
			"test \"$(id -u):$(id -g)\" = 65534:65534", NULL};

	rr_init(&r);
	argv[6] = (char *)rr_write(&r, "x.rules", "expect exit 0\n");
	rr_run(&r, AS_ROOT, argv, 30);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	rr_free(&r);
}

/* Every shipped scenario is a valid rule file. */
Test(integration, scenarios_check)
{
	struct run_result r;
	char cmd[512];
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};

	rr_init(&r);
	snprintf(cmd, sizeof(cmd), "for f in %s/scenarios/*.rules; do %s check \"$f\" "
		 "|| exit 1; done", FL_RULES, FL_BIN);
	rr_run(&r, AS_ROOT, argv, 30);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "lost-fin.rules:") && strstr(r.out, "peer-blackhole.rules:") &&
		  strstr(r.out, "fin-to-rst.rules:") && strstr(r.out, "delayed-acks.rules:"),
		  "%s", r.out);
	rr_free(&r);
}

/* A correct server passes the default hygiene set, judged from its calls. */
BOTH(hygiene_correct_server)
{
	struct run_result r;
	json_object *rep, *calls;

	rr_init(&r);
	run_echo(&r, u, "", client_cmd(&r, 0, "-p 7000 --rtt 2"), "-p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	for (const char *const *n = (const char *const[]){"no-close-wait 1s",
		"eof-close 1s", "no-sigpipe", "no-abort-loss", "no-unread-close",
		"no-fd-leak", "time-wait <= 100", "target", "connections", NULL}; *n; n++)
		cr_assert(check_ok(rep, *n), "%s failed", *n);
	cr_assert(strstr(js(report_check(rep, "no-fd-leak"), "detail"),
			 "1 connection socket opened, all closed"));
	calls = json_object_object_get(rep, "calls");
	cr_assert_eq(ji(calls, "accept4") + (ji(calls, "accept") > 0 ? ji(calls, "accept") : 0), 1);
	cr_assert_eq(ji(calls, "read"), 1, "one EOF read");
	cr_assert(json_object_get_boolean(json_object_object_get(
		json_object_object_get(rep, "shim"), "loaded")));
	json_object_put(rep);
	rr_free(&r);
}

/* A server that keeps the socket 2.5s after EOF: CLOSE_WAIT and eof-close
 * fail, with the flow and times as evidence. */
BOTH(hygiene_close_wait_leak)
{
	struct run_result r;
	json_object *rep;
	const char *d;
	double cw;

	rr_init(&r);
	run_echo(&r, u, "expect no-close-wait 1s\nexpect eof-close 500ms\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 1"),
		 "-p 7000 --close-after-eof-ms 2500");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert(!check_ok(rep, "no-close-wait 1s"));
	d = js(report_check(rep, "no-close-wait 1s"), "detail");
	cr_assert(strstr(d, "flow 1 (127.0.0.1:"), "%s", d);
	cr_assert(strstr(d, "-> 127.0.0.1:7000): peer FIN at "), "%s", d);
	cr_assert(strstr(d, "target server socket in CLOSE_WAIT until its FIN"), "%s", d);
	cr_assert_eq(sscanf(strstr(d, "until its FIN at "),
			    "until its FIN at %*fs (%lfs)", &cw), 1, "%s", d);
	cr_assert(cw >= 2.4 && cw < 3.5, "CLOSE_WAIT %.3fs: %s", cw, d);
	/* The sampled state path of the target's socket shows the leak. */
	{
		json_object *fl = json_object_array_get_idx(
			json_object_object_get(rep, "flows"), 0);
		json_object *st = json_object_object_get(fl, "states");
		json_object *tr = rr_trace(&r);
		int seen = 0;

		cr_assert_str_eq(js(fl, "target_side"), "server");
		/* The segments drive each side's state machine and sampling
		 * confirms it: the textbook passive close, in full. */
		cr_assert_str_eq(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN),
				 "[\"SYN_RECV\",\"ESTABLISHED\",\"CLOSE_WAIT\",\"LAST_ACK\",\"CLOSE\"]");
		for (size_t i = 0; i < json_object_array_length(tr); i++) {
			json_object *ev = json_object_array_get_idx(tr, i);

			if (!strcmp(js(ev, "ev"), "state") && !strcmp(js(ev, "side"), "server") &&
			    !strcmp(js(ev, "to"), "CLOSE_WAIT"))
				seen++;
		}
		cr_assert_eq(seen, 1);
		json_object_put(tr);
	}
	/* The human report draws the failing flow's ladder: segments, the
	 * EOF read and the close, and the state change, in time order. */
	{
		const char *lad = strstr(r.out, "    flow 1: client ");
		const char *rd, *cl, *cw2;

		cr_assert_not_null(lad, "%s", r.out);
		rd = strstr(lad, "server     read(fd ");
		cw2 = strstr(lad, "-> CLOSE_WAIT");
		cl = strstr(lad, "server     close(fd ");
		cr_assert(rd && cl && cw2 && rd < cl, "%s", lad);
	}
	cr_assert(!check_ok(rep, "eof-close 500ms"));
	d = js(report_check(rep, "eof-close 500ms"), "detail");
	cr_assert(strstr(d, "read() returned 0 at ") && strstr(d, " flow 1 (") &&
		  strstr(d, "; no close() by") == NULL && strstr(d, "close() only at "), "%s", d);
	json_object_put(rep);
	rr_free(&r);
}

/* A client that sets SO_LINGER {1,0}: no-linger-abort fails naming the
 * socket; the peer sees ECONNRESET. */
BOTH(hygiene_linger_abort)
{
	struct run_result r;
	char drv[512];
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--report", NULL,
			"--ready-delay", "200ms", "--driver", drv, "--",
			FL_TARGETS "/tcp_client", "-p", "7000", "--rtt", "1",
			"--linger-zero", NULL};
	json_object *rep;
	const char *d;

	rr_init(&r);
	argv[3] = (char *)rr_write(&r, "x.rules", "expect no-linger-abort\n");
	argv[5] = (char *)rr_path(&r, "report.json");
	snprintf(drv, sizeof(drv), "exec %s/echo_server -p 7000 > %s", FL_TARGETS,
		 rr_path(&r, "client.out"));
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	rep = rr_report(&r);
	d = js(report_check(rep, "no-linger-abort"), "detail");
	cr_assert(!check_ok(rep, "no-linger-abort"));
	cr_assert(strstr(d, "SO_LINGER {1,0} set at ") && strstr(d, " fd 3 flow "),
		  "%s", d);
	cr_assert(strstr(rr_read(&r, "client.out"), "READ_ERROR conn=1 errno=ECONNRESET"),
		  "%s", rr_read(&r, "client.out"));
	json_object_put(rep);
	rr_free(&r);
}

/* A static binary cannot load the shim: the report says so and the
 * call-based checks are skipped, not passed silently. */
BOTH(static_target_not_shimmed)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--report", NULL, "--",
			FL_TARGETS "/static_true", NULL};
	json_object *rep, *c;

	rr_init(&r);
	argv[3] = (char *)rr_write(&r, "x.rules", "expect no-fd-leak\nexpect exit 0\n");
	argv[5] = (char *)rr_path(&r, "report.json");
	rr_run(&r, u, argv, 30);
	/* Not judged is not a pass: INCONCLUSIVE, exit 1. */
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	rep = rr_report(&r);
	cr_assert(!json_object_get_boolean(json_object_object_get(
		json_object_object_get(rep, "shim"), "loaded")));
	cr_assert_str_eq(js(rep, "result"), "INCONCLUSIVE");
	cr_assert(!json_object_get_boolean(json_object_object_get(rep, "ok")));
	c = report_check(rep, "no-fd-leak");
	cr_assert(json_object_get_boolean(json_object_object_get(c, "skipped")));
	cr_assert(!json_object_get_boolean(json_object_object_get(c, "judged")));
	cr_assert(strstr(js(c, "detail"), "never loaded the shim"), "%s", js(c, "detail"));
	cr_assert(strstr(r.out, "SKIP  no-fd-leak"), "%s", r.out);
	cr_assert(strstr(r.out, "result: INCONCLUSIVE"), "%s", r.out);
	json_object_put(rep);
	/* Unless the user accepts checks that could not be judged. */
	{
		char *argv2[] = {FL_BIN, "run", "--allow-skip", "-r", argv[3], "--report",
				 argv[5], "--", FL_TARGETS "/static_true", NULL};

		rr_run(&r, u, argv2, 30);
		cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
		rep = rr_report(&r);
		cr_assert_str_eq(js(rep, "result"), "PASS");
		json_object_put(rep);
	}
	rr_free(&r);
}

/* `from target` is resolved per flow from who owns the socket: with the
 * echo server as target, its FIN is the one dropped. */
BOTH(from_target_resolved)
{
	struct run_result r;
	json_object *tr, *rep;
	int target_fin_drops = 0, client_fin_drops = 0;

	rr_init(&r);
	run_echo(&r, u, "drop from target flags FIN times 1\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 1 --half-close"), "-p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!strcmp(js(ev, "ev"), "pkt") && strstr(js(ev, "flags"), "FIN") &&
		    !strcmp(js(ev, "verdict"), "drop")) {
			target_fin_drops += !strcmp(js(ev, "from"), "server");
			client_fin_drops += !strcmp(js(ev, "from"), "client");
		}
	}
	cr_assert_eq(target_fin_drops, 1);
	cr_assert_eq(client_fin_drops, 0);
	rep = rr_report(&r);
	cr_assert_str_eq(js(json_object_array_get_idx(json_object_object_get(rep, "flows"), 0),
			    "target_side"), "server");
	json_object_put(rep);
	json_object_put(tr);
	rr_free(&r);
}

/* Both ends of a flow in the target (a server and its client started by
 * one shell, as a proxy and its backend would be): the flow's target_side
 * is "both"; `from target` matches either side's segments and `from peer`
 * none; the target's path is judged on both sides. */
static void run_both(struct run_result *r, enum as_user u, const char *rules)
{
	rr_faultline(r, u, &(struct fl_args){
		.rules_text = rules,
		.sh = FL_TARGETS "/echo_server -p 7000 -n 1 > {dir}/server.out & " WAIT_7000
		      FL_TARGETS "/tcp_client -p 7000 --rtt 2 > {dir}/client.out; wait"});
}

BOTH(both_ends_in_target)
{
	struct run_result r;
	json_object *rep, *fl, *c;
	const char *d;

	rr_init(&r);
	run_both(&r, u, "drop from peer flags FIN\n"
			"expect path target ESTABLISHED > FIN_WAIT1\n"
			"expect no-close-wait 1s\n");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	fl = json_object_array_get_idx(json_object_object_get(rep, "flows"), 0);
	cr_assert_str_eq(js(fl, "target_side"), "both");
	/* No segment of this flow is a peer's. */
	cr_assert_eq(ji(json_object_array_get_idx(json_object_object_get(rep, "faults"), 0),
			"count"), 0);
	/* The client (active close) holds the path, the server (passive
	 * close) does not: both sides were judged. */
	c = report_check(rep, "path target ESTABLISHED > FIN_WAIT1");
	d = js(c, "detail");
	cr_assert(!json_object_get_boolean(json_object_object_get(c, "ok")), "%s", d);
	cr_assert(strstr(d, "flow 1 server: observed SYN_RECV > ESTABLISHED > CLOSE_WAIT"),
		  "%s", d);
	cr_assert_null(strstr(d, "flow 1 client"), "%s", d);
	cr_assert_str_eq(js(report_check(rep, "no-close-wait 1s"), "detail"),
			 "1 passive close, none in CLOSE_WAIT longer than 1.000s");
	json_object_put(rep);

	/* `from target` matches the first FIN, whichever side sends it. */
	run_both(&r, u, "drop from target flags FIN times 1\nexpect exit 0\n");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_eq(ji(json_object_array_get_idx(json_object_object_get(rep, "faults"), 0),
			"count"), 1);
	json_object_put(rep);
	rr_free(&r);
}

/* --junit: valid by tests/data/junit.xsd (xmllint), one testcase per check, the same failures
 * as the JSON report. */
Test(integration, junit_matches_report)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--report", NULL, "--junit",
			NULL, "--", "/bin/sh", "-c", "exit 3", NULL};
	char cmd[512];
	char *lint[] = {"/bin/sh", "-c", cmd, NULL};
	json_object *rep, *checks;
	int fails = 0;
	size_t n;

	rr_init(&r);
	argv[3] = (char *)rr_write(&r, "x.rules", "expect exit 0\nexpect no-sigpipe\n");
	argv[5] = (char *)rr_path(&r, "report.json");
	argv[7] = (char *)rr_path(&r, "junit.xml");
	rr_run(&r, AS_ROOT, argv, 30);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	rep = rr_report(&r);
	checks = json_object_object_get(rep, "checks");
	n = json_object_array_length(checks);
	for (size_t i = 0; i < n; i++)
		fails += !json_object_get_boolean(json_object_object_get(
			json_object_array_get_idx(checks, i), "ok"));
	cr_assert_eq(fails, 1);
	snprintf(cmd, sizeof(cmd),
		 "xmllint --noout --schema %s %s && xmllint --xpath 'concat("
		 "count(//testcase),\" \",count(//testcase/failure),\" \","
		 "/testsuites/@failures)' %s", FL_SOURCE_DIR "/tests/data/junit.xsd",
		 rr_path(&r, "junit.xml"), rr_path(&r, "junit.xml"));
	rr_run(&r, AS_ROOT, lint, 30);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	snprintf(cmd, sizeof(cmd), "%zu %d %d", n, fails, fails);
	r.out[strcspn(r.out, "\n")] = 0;
	cr_assert_str_eq(r.out, cmd);
	json_object_put(rep);
	rr_free(&r);
}

/* expect path: the observed state path of each side against the textbook,
 * and the difference spelled out when it does not match. */
BOTH(expect_path)
{
	struct run_result r;
	json_object *rep;
	const char *d;

	rr_init(&r);
	run_echo(&r, u,
		 "expect path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE\n"
		 "expect path client SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT\n"
		 "expect path target ESTABLISHED > FIN_WAIT1\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 1"), "-p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert(check_ok(rep, "path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	cr_assert(check_ok(rep, "path client SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > "
			   "TIME_WAIT"));
	cr_assert(!check_ok(rep, "path target ESTABLISHED > FIN_WAIT1"));
	d = js(report_check(rep, "path target ESTABLISHED > FIN_WAIT1"), "detail");
	cr_assert_str_eq(d, "flow 1 server: observed SYN_RECV > ESTABLISHED > CLOSE_WAIT > "
			 "LAST_ACK > CLOSE; expected ESTABLISHED > FIN_WAIT1");
	cr_assert(strstr(r.out, "      server (target): SYN_RECV > ESTABLISHED > CLOSE_WAIT > "
			 "LAST_ACK > CLOSE\n"), "%s", r.out);
	json_object_put(rep);
	rr_free(&r);
}

/* A child of the target that dies of SIGPIPE (the shell pipeline's `yes`)
 * fails no-sigpipe, though the target itself exits 0: its parent's wait
 * reports it through the shim. */
BOTH(child_sigpipe)
{
	struct run_result r;
	char *argv[] = {FL_BIN, "run", "-r", NULL, "--report", NULL, "--trace", NULL,
			"--", "/bin/sh", "-c", "yes | head -c 1 >/dev/null; exit 0", NULL};
	json_object *rep, *tr;
	const char *d;
	int waits = 0;

	rr_init(&r);
	argv[3] = (char *)rr_write(&r, "x.rules", "expect no-sigpipe\nexpect exit 0\n");
	argv[5] = (char *)rr_path(&r, "report.json");
	argv[7] = (char *)rr_path(&r, "trace.jsonl");
	rr_run(&r, u, argv, 30);
	cr_assert_eq(r.status, 1, "%s%s", r.out, r.err);
	rep = rr_report(&r);
	cr_assert(check_ok(rep, "exit 0"));
	cr_assert(!check_ok(rep, "no-sigpipe"));
	d = js(report_check(rep, "no-sigpipe"), "detail");
	cr_assert(strstr(d, "died of SIGPIPE; reaped at ") && strstr(d, "(a child of pid "),
		  "%s", d);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!strcmp(js(ev, "ev"), "call") && !strcmp(js(ev, "fn"), "wait")) {
			cr_assert_str_eq(js(ev, "signal"), "SIGPIPE");
			waits++;
		}
	}
	cr_assert_eq(waits, 1);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* With every data segment queued, state sampling never dumps the kernel's
 * TCP table (a dump walks the host's whole established hash, milliseconds
 * that every queued segment would wait for): it looks sockets up one by
 * one, and only those whose state the segments cannot tell. */
BOTH(no_full_dump_while_queued)
{
	struct run_result r;
	json_object *rep, *sd;

	rr_init(&r);
	run_echo(&r, u, "drop data nth 4294967295\n",
		 client_cmd(&r, 0, "-p 7000 --rtt 300 --send 100000"), "-p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	sd = json_object_object_get(json_object_object_get(rep, "harness"),
				    "sock_diag");
	cr_assert_not_null(sd, "no harness.sock_diag in the report");
	cr_assert_geq(ji(json_object_object_get(rep, "harness"), "segments"), 600);
	cr_assert_eq(ji(sd, "dumps"), 0, "%lld full sock_diag dumps",
		     ji(sd, "dumps"));
	/* The sockets were looked up instead: by the sampler while the run
	 * went on (when a close took longer than its first 1 ms), and at the
	 * end every side not yet CLOSE (the client's TIME_WAIT). */
	cr_assert_geq(ji(sd, "lookups") + ji(sd, "run_thread_lookups"), 1,
		      "no lookups");
	json_object_put(rep);
	rr_free(&r);
}

/* The shim's channel is untrusted (issue 12): a target that writes three
 * malformed datagrams and one event claiming pid 4242 to it leaves a run
 * that ends normally, the three counted as malformed, the forged one
 * counted and noted and taken as the sender's own call (the kernel's pid,
 * SCM_CREDENTIALS), no call of pid 4242 anywhere, and a trace that parses
 * line by line. */
BOTH(forged_events_are_the_senders)
{
	struct run_result r;
	json_object *rep, *tr, *sh, *e;
	int me = -1, mine = 0, notes = 0, lines;
	size_t i, n;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){.opts = "--allow-skip",
		.sh = "exec " FL_TARGETS "/forge_events > {dir}/forge.out", .wait_s = 30});
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(sscanf(rr_read(&r, "forge.out"), "forged %d", &me), 1, "%s",
		     rr_read(&r, "forge.out"));
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	sh = json_object_object_get(rep, "shim");
	cr_assert_not_null(sh, "%s", json_object_to_json_string(rep));
	cr_assert_eq(ji(sh, "malformed"), 3, "%s", json_object_to_json_string(sh));
	cr_assert_eq(ji(sh, "forged"), 1, "%s", json_object_to_json_string(sh));
	tr = rr_trace(&r);
	n = json_object_array_length(tr);
	lines = 0;
	for (const char *p = rr_read(&r, "trace.jsonl"); (p = strchr(p, '\n')); p++)
		lines++;
	cr_assert_eq((int)n, lines, "a trace line does not parse");
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(tr, i);
		if (!strcmp(js(e, "ev"), "call")) {
			cr_assert_neq(ji(e, "pid"), 4242, "%s", json_object_to_json_string(e));
			if (ji(e, "fd") == 99 && !strcmp(js(e, "fn"), "setsockopt")) {
				cr_assert_eq(ji(e, "pid"), me, "%s", json_object_to_json_string(e));
				mine++;
			}
		}
		if (!strcmp(js(e, "ev"), "note") && js(e, "what") &&
		    !strcmp(js(e, "what"), "forged-pid"))
			notes++;
	}
	cr_assert_eq(mine, 1, "the forged call is not in the trace as the sender's");
	cr_assert_eq(notes, 1);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}
