/*
 * test_checks.c - the teardown-hygiene checks (rules/README.md, "Checks")
 * on real programs, each with exactly one bug (cw_leak_server,
 * sigpipe_client, linger_abort_server, unread_close_server, fd_leak_server,
 * tw_pile_server in tests/targets/), and on correct ones (fork_server, thread_server,
 * echo_server, tcp_client), as root and as an unprivileged user.
 *
 * Every test runs the real faultline binary, reads its JSON report, and
 * compares: exactly the expected checks fail, the evidence names the fd,
 * pid and peer the program itself printed, the flow in connection order,
 * durations at least as long as the program waited; and the counts of
 * socket calls in the report equal what the program says it did.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(checks, name, 60)

/* The hygiene set a rule file without `expect` lines is judged by, in the
 * report's order, then the harness's own checks (with a driver). */
static const char *const default_checks[] = {
	"no-close-wait 1s", "eof-close 1s",    "error-close 1s",  "no-sigpipe",
	"no-abort-loss",    "no-unread-close", "no-fd-leak",
	"time-wait <= 100", "target",          "connections",     "driver",
	"timeout",          "harness",         NULL,
};

/* The default set spelled out, with time-wait <= TW. */
static const char *hygiene_rules(int tw)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "expect no-close-wait 1s\nexpect eof-close 1s\n"
		 "expect error-close 1s\n"
		 "expect no-sigpipe\nexpect no-abort-loss\n"
		 "expect no-unread-close\nexpect no-fd-leak\n"
		 "expect time-wait <= %d\n", tw);
	return buf;
}

/*
 * faultline run [-r RULES] --trace --report --timeout 30s OPTS
 *   --driver DRIVER -- TARGET...
 * rules NULL: no -r at all (the default hygiene set).  opts and target are
 * split at spaces.  The driver is a drv() command (its stdout goes to
 * DIR/driver.out).
 */
static void run_fl(struct run_result *r, enum as_user u, const char *rules,
		   const char *opts, const char *driver, const char *target)
{
	rr_faultline(r, u, &(struct fl_args){.rules_text = rules, .timeout = "30s",
					     .opts = opts, .driver = driver,
					     .words = target});
}

/* %2$s tcp_clients (in %1$s, FL_TARGETS) one after another, with more
 * arguments %3$s; fails if one fails. */
#define SEQ_CLIENTS \
	"for i in $(seq %2$s); do %1$s/tcp_client -p 7000 --rtt 1 %3$s || exit 1; done"
/* Three tcp_clients with --rtt 3 at once (%2$s: more arguments); fails
 * if one fails. */
#define PAR_CLIENTS                                                         \
	"pids=; for i in 1 2 3; do %1$s/tcp_client -p 7000 --rtt 3 %2$s & "  \
	"pids=\"$pids $!\"; done; for p in $pids; do wait $p || exit 1; done"

static const char *detail(json_object *rep, const char *name)
{
	json_object *c = report_check(rep, name);

	cr_assert_not_null(c, "no check %s in the report", name);
	return js(c, "detail");
}

/* The report's checks are exactly `names` (in order); exactly those in
 * `failing` failed, none was skipped. */
static void assert_checks(json_object *rep, const char *const *names,
			  const char *const *failing)
{
	json_object *checks = json_object_object_get(rep, "checks");
	size_t n = 0;

	cr_assert_not_null(checks, "no report");
	for (; names[n]; n++) {
		json_object *c = json_object_array_get_idx(checks, n);
		int want_fail = 0;

		cr_assert_not_null(c, "check %zu (%s) missing", n, names[n]);
		cr_assert_str_eq(js(c, "expect") ? js(c, "expect") : js(c, "name"),
				 names[n]);
		for (const char *const *f = failing; *f; f++)
			want_fail |= !strcmp(*f, names[n]);
		cr_assert_eq(json_object_get_boolean(json_object_object_get(c, "ok")),
			     !want_fail, "check %s: %s (%s)", names[n],
			     want_fail ? "passed, expected to fail" : "failed",
			     js(c, "detail"));
		cr_assert_null(json_object_object_get(c, "skipped"), "%s skipped",
			       names[n]);
	}
	cr_assert_eq(json_object_array_length(checks), n, "%zu checks, expected %zu",
		     json_object_array_length(checks), n);
	for (const char *const *f = failing; *f; f++)
		cr_assert_not_null(report_check(rep, *f), "no check %s", *f);
	cr_assert_eq(json_object_get_boolean(json_object_object_get(rep, "ok")),
		     failing[0] == NULL);
}

static long long calls(json_object *rep, const char *fn)
{
	long long v = ji(json_object_object_get(rep, "calls"), fn);

	return v < 0 ? 0 : v;
}

static json_object *flow(json_object *rep, size_t id)
{
	json_object *f = json_object_array_get_idx(json_object_object_get(rep, "flows"), id - 1);

	cr_assert_not_null(f, "no flow %zu", id);
	cr_assert_eq(ji(f, "id"), (long long)id);
	return f;
}

static size_t nflows(json_object *rep)
{
	return json_object_array_length(json_object_object_get(rep, "flows"));
}

static double exit_t(json_object *rep)
{
	return jd(json_object_object_get(json_object_object_get(rep, "target"), "exit"), "t");
}

/* word=VALUE of the line starting with key, copied (line_field's buffer is
 * static); fails the test if absent. */
static const char *field(const char *text, const char *key, const char *word)
{
	static char ring[64][128];
	static int i;
	const char *v = line_field(text, key, word);
	char *p = ring[i++ & 63];

	cr_assert_not_null(v, "no %s ... %s= in:\n%s", key, word, text);
	snprintf(p, 128, "%s", v);
	return p;
}

/* Occurrences of needle in s. */
static int occurrences(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Call events of fn in the trace matching ret (any if ret == -2):
 * up to max pids and tids. Returns the count. */
static int trace_calls(const struct run_result *r, const char *fn, long long ret,
		       int *pids, int *tids, int max)
{
	json_object *tr = rr_trace(r);
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!js(ev, "ev") || strcmp(js(ev, "ev"), "call") ||
		    strcmp(js(ev, "fn"), fn) || (ret != -2 && ji(ev, "ret") != ret))
			continue;
		if (n < max) {
			if (pids)
				pids[n] = (int)ji(ev, "pid");
			if (tids)
				tids[n] = (int)ji(ev, "tid");
		}
		n++;
	}
	json_object_put(tr);
	return n;
}

static int contains(const int *v, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/* cw_leak_server keeps the socket after EOF until SIGTERM (after the
 * 1.5s settle): no-close-wait names flow 1 and lasts at least as long as
 * the program waited; eof-close and no-fd-leak fail on the same fd (the
 * fd is never closed); nothing else fails. */
BOTH(close_wait_leak)
{
	struct run_result r;
	json_object *rep;
	const char *d, *pid, *fd, *peer;
	char want[256];
	double fin, end, dur, rd, waited;

	rr_init(&r);
	run_fl(&r, u, NULL, "--settle 1500ms", drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       FL_TARGETS "/cw_leak_server -p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks,
		      (const char *const[]){"no-close-wait 1s", "eof-close 1s", "no-fd-leak", NULL});
	pid = field(r.out, "LISTENING", "pid");
	fd = field(r.out, "ACCEPT conn=1", "fd");
	peer = field(r.out, "ACCEPT conn=1", "peer");
	waited = (atof(field(r.out, "TERM", "t_us")) - atof(field(r.out, "EOF conn=1", "t_us"))) / 1e6;
	cr_assert_geq(waited, 1.4, "the program waited only %.3fs", waited);
	cr_assert_eq(nflows(rep), 1);
	cr_assert_str_eq(js(flow(rep, 1), "client"), peer);
	cr_assert_str_eq(js(flow(rep, 1), "target_side"), "server");

	d = detail(rep, "no-close-wait 1s");
	snprintf(want, sizeof(want), "flow 1 (%s -> 127.0.0.1:7000): peer FIN at ", peer);
	cr_assert(strstr(d, want) == d, "%s\nwanted %s", d, want);
	cr_assert(strstr(d, "; target server socket in CLOSE_WAIT until faultline stopped the target at "), "%s", d);
	snprintf(want, sizeof(want), "(pid %s fd %s)", pid, fd);
	cr_assert(strstr(d, want), "%s\nwanted %s", d, want);
	cr_assert_eq(occurrences(d, "flow "), 1, "%s", d);
	fin = num_after(d, "peer FIN at ");
	end = num_after(d, "until faultline stopped the target at ");
	dur = num_after(strstr(d, "until faultline stopped the target at "), "s (");
	rd = num_after(d, "read() returned 0 at ");
	/* waited ends when the program handles SIGTERM, which faultline
	 * sends just after its stop time: later still on a loaded machine,
	 * and dur is rounded to the ms. */
	cr_assert(dur + 0.005 >= waited, "CLOSE_WAIT %.3fs < waited %.3fs: %s", dur, waited, d);
	cr_assert_lt(dur, waited + 1.0, "%s", d);
	cr_assert(end - fin > dur - 0.002 && end - fin < dur + 0.002, "%s", d);
	cr_assert(rd >= fin - 0.001 && rd - fin < 0.1, "EOF read at %.3f, FIN at %.3f", rd, fin);
	/* Until faultline's SIGTERM, which the process's exit followed. */
	cr_assert(end >= exit_t(rep) - 0.05 && end <= exit_t(rep) + 0.05,
		  "end %.3f, exit at %.3f", end, exit_t(rep));

	d = detail(rep, "eof-close 1s");
	snprintf(want, sizeof(want), "read() returned 0 at %.3fs on pid %s fd %s flow 1 "
		 "(127.0.0.1:7000 <-> %s); no close() by ", rd, pid, fd, peer);
	cr_assert(strstr(d, want) == d, "%s\nwanted %s", d, want);
	d = detail(rep, "no-fd-leak");
	snprintf(want, sizeof(want), "on pid %s fd %s flow 1 (127.0.0.1:7000 <-> %s): its "
		 "connection ended at ", pid, fd, peer);
	cr_assert(strstr(d, "accept at ") == d && strstr(d, want), "%s\nwanted %s", d, want);
	cr_assert_eq(occurrences(d, "while pid "), 1, "%s", d);

	cr_assert_eq(calls(rep, "accept"), 1);
	cr_assert_eq(calls(rep, "read"), 1, "one EOF read");
	cr_assert_eq(calls(rep, "close"), 1, "only the listener is closed");
	json_object_put(rep);

	/* The default --settle (500ms) is shorter than the 1s window: the
	 * target is kept running until the window decides, and the leak is
	 * caught; the report says why and how long it waited. */
	run_fl(&r, u, NULL, NULL, drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       FL_TARGETS "/cw_leak_server -p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks,
		      (const char *const[]){"no-close-wait 1s", "eof-close 1s", "no-fd-leak", NULL});
	cr_assert_str_eq(js(rep, "result"), "FAIL");
	waited = jd(json_object_object_get(rep, "settle"), "waited");
	cr_assert(waited > 0.5 && waited < 3.0, "waited %.3f", waited);
	d = js(json_object_object_get(rep, "settle"), "reason");
	cr_assert(d && (strstr(d, "CLOSE_WAIT") || strstr(d, "returned 0, not yet closed")),
		  "%s", r.out);
	json_object_put(rep);

	/* With 5s windows it waits 5s, and both fail the same way. */
	run_fl(&r, u, "expect no-close-wait 5s\nexpect eof-close 5s\n", NULL,
	       drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       FL_TARGETS "/cw_leak_server -p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep,
		      (const char *const[]){"no-close-wait 5s", "eof-close 5s", "target",
					    "connections", "driver", "timeout", "harness", NULL},
		      (const char *const[]){"no-close-wait 5s", "eof-close 5s", NULL});
	json_object_put(rep);

	/* A --timeout that cuts the wait short: the windows are not judged,
	 * and the run is INCONCLUSIVE, never PASS (exit 0 only with
	 * --allow-skip). */
	run_fl(&r, u, "expect no-close-wait 5s\nexpect eof-close 5s\n", "--timeout 2s",
	       drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       FL_TARGETS "/cw_leak_server -p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_str_eq(js(rep, "result"), "INCONCLUSIVE", "%s", r.out);
	for (int i = 0; i < 2; i++) {
		json_object *c = report_check(rep, i ? "eof-close 5s" : "no-close-wait 5s");

		cr_assert(json_object_get_boolean(json_object_object_get(c, "ok")));
		cr_assert(!json_object_get_boolean(json_object_object_get(c, "judged")),
			  "%s", js(c, "detail"));
		cr_assert_not_null(strstr(js(c, "detail"), "not judged"), "%s", js(c, "detail"));
	}
	cr_assert(!json_object_get_boolean(json_object_object_get(report_check(rep, "settle"),
								  "judged")));
	cr_assert(json_object_get_boolean(json_object_object_get(report_check(rep, "timeout"),
								 "ok")),
		  "a wait cut by --timeout is not a timeout failure");
	cr_assert_not_null(strstr(r.out, "result: INCONCLUSIVE"), "%s", r.out);
	json_object_put(rep);
	run_fl(&r, u, "expect no-close-wait 5s\nexpect eof-close 5s\n", "--timeout 2s --allow-skip",
	       drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       FL_TARGETS "/cw_leak_server -p 7000");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rr_free(&r);
}

/* sigpipe_client writes after the peer (rst_server, the driver) reset the
 * connection: it dies of SIGPIPE at its first write.  no-sigpipe fails at
 * the target's exit; no-fd-leak fails too (death is not a close), naming
 * the fd and the flow of the connection that succeeded; the refused
 * attempts before the driver listened are each a flow, and were closed. */
BOTH(sigpipe_death)
{
	struct run_result r;
	json_object *rep;
	const char *d, *local;
	char want[256];
	size_t nf, flow_id = 0;

	rr_init(&r);
	run_fl(&r, u, NULL, "--ready-delay 200ms", drv(&r, "exec %s/rst_server -p 7000", FL_TARGETS),
	       FL_TARGETS "/sigpipe_client -p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){"no-sigpipe", "target", NULL});
	cr_assert_str_eq(js(json_object_object_get(json_object_object_get(rep, "target"), "exit"),
			    "signal"), "SIGPIPE");
	/* It died at the first write after the reset, which never returned. */
	cr_assert_str_eq(field(r.out, "PEER_CLOSED", "how"), "errno-ECONNRESET");
	cr_assert_eq(count_lines(r.out, "WRITE"), 1, "%s", r.out);
	cr_assert_eq(count_lines(r.out, "WRITE_ERROR"), 0, "%s", r.out);
	cr_assert_eq(count_lines(r.out, "DONE"), 0, "%s", r.out);
	cr_assert_not_null(strstr(rr_read(&r, "driver.out"), "RESET t_us="));

	d = detail(rep, "no-sigpipe");
	snprintf(want, sizeof(want), "the target died of SIGPIPE at %.3fs", exit_t(rep));
	cr_assert(strstr(d, want) == d, "%s\nwanted %s", d, want);

	local = field(r.out, "CONNECTED", "local");
	nf = nflows(rep);
	cr_assert_geq(nf, 1);
	for (size_t i = 1; i <= nf; i++) {
		cr_assert_str_eq(js(flow(rep, i), "target_side"), "client");
		if (!strcmp(js(flow(rep, i), "client"), local))
			flow_id = i;
	}
	/* Connections in order: the one that worked is the last. */
	cr_assert_eq(flow_id, nf, "flow of %s: %zu of %zu", local, flow_id, nf);
	/* Its death released the socket: not a leak (the exit closed it). */
	d = detail(rep, "no-fd-leak");
	snprintf(want, sizeof(want), "1 connection socket opened; 1 not closed, none after");
	cr_assert(strstr(d, want) == d, "%s\nwanted %s", d, want);
	cr_assert_not_null(strstr(detail(rep, "target"), "killed by SIGPIPE"), "%s",
			   detail(rep, "target"));
	/* One connect per attempt (one flow each); every refused one closed. */
	cr_assert_eq(calls(rep, "connect"), (long long)nf);
	cr_assert_eq(calls(rep, "close"), (long long)nf - 1);
	cr_assert_eq(calls(rep, "read"), 1, "the read that saw ECONNRESET");
	json_object_put(rep);

	/* Judged alone, with the death expected: only no-sigpipe fails. */
	run_fl(&r, u, "expect no-sigpipe\nexpect signal SIGPIPE\n", "--ready-delay 200ms",
	       drv(&r, "exec %s/rst_server -p 7000", FL_TARGETS), FL_TARGETS "/sigpipe_client -p 7000");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep,
		      (const char *const[]){"no-sigpipe", "signal SIGPIPE", "connections", "driver",
					    "timeout", "harness", NULL},
		      (const char *const[]){"no-sigpipe", NULL});
	json_object_put(rep);
	rr_free(&r);
}

/* linger_abort_server sets SO_LINGER {1,0} before each close, after
 * reading to EOF with nothing left to send: the default set judges the
 * damage (none: noted, passes); an explicit no-linger-abort fails, once
 * per connection, naming each fd and flow. */
BOTH(linger_abort)
{
	struct run_result r;
	json_object *rep;
	const char *d, *pid;
	char want[256], key[32];
	double first, last;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, SEQ_CLIENTS, FL_TARGETS, "2", ""),
	       FL_TARGETS "/linger_abort_server -p 7000 -n 2");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){NULL});
	cr_assert_str_eq(detail(rep, "no-abort-loss"), "2 abortive closes threw nothing "
			 "away (0 unsent, 0 unread, nothing arrived after it): noted, not failed");
	json_object_put(rep);

	run_fl(&r, u, "expect no-linger-abort\n", NULL, drv(&r, SEQ_CLIENTS, FL_TARGETS, "2", ""),
	       FL_TARGETS "/linger_abort_server -p 7000 -n 2");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, (const char *const[]){"no-linger-abort", "target", "connections",
						  "driver", "timeout", "harness", NULL},
		      (const char *const[]){"no-linger-abort", NULL});
	pid = field(r.out, "LISTENING", "pid");
	d = detail(rep, "no-linger-abort");
	cr_assert_eq(occurrences(d, "SO_LINGER {1,0} set at "), 2, "%s", d);
	cr_assert_eq(nflows(rep), 2);
	for (int i = 1; i <= 2; i++) {
		const char *fd, *peer;
		const char *p;
		double t;

		snprintf(key, sizeof(key), "SETSOCKOPT conn=%d", i);
		fd = field(r.out, key, "fd");
		snprintf(key, sizeof(key), "ACCEPT conn=%d", i);
		cr_assert_str_eq(field(r.out, key, "fd"), fd);
		peer = field(r.out, key, "peer");
		cr_assert_str_eq(js(flow(rep, (size_t)i), "client"), peer);
		snprintf(want, sizeof(want), "s on pid %s fd %s flow %d (127.0.0.1:7000 <-> %s)",
			 pid, fd, i, peer);
		p = strstr(d, want);
		cr_assert_not_null(p, "%s\nwanted %s", d, want);
		/* The time: after the flow began, before the target ended. */
		while (p > d && p[-1] != ' ')
			p--;
		t = atof(p);
		first = jd(flow(rep, (size_t)i), "first");
		last = exit_t(rep);
		/* (The detail rounds to the millisecond.) */
		cr_assert(t >= first - 0.001 && t <= last + 0.001,
			  "set at %.3f, flow from %.3f, exit %.3f", t, first, last);
	}
	/* What the program did: 2 accepts, 2 EOFs, 3 closes, 1 + 2 setsockopt. */
	cr_assert_eq(calls(rep, "accept"), 2);
	cr_assert_eq(calls(rep, "read"), 2);
	cr_assert_eq(calls(rep, "close"), count_lines(r.out, "CLOSE"));
	cr_assert_eq(calls(rep, "close"), 3);
	cr_assert_eq(calls(rep, "setsockopt"), 1 + count_lines(r.out, "SETSOCKOPT"));
	json_object_put(rep);
	rr_free(&r);
}

/* unread_close_server reads 4 bytes of a 1000-byte request and closes:
 * only no-unread-close fails, with the byte count the program saw with
 * FIONREAD, its fd and flow 1; the client is sent an RST. */
BOTH(unread_close)
{
	struct run_result r;
	json_object *rep, *tr;
	const char *d, *pid, *fd, *peer, *unread;
	char want[256];
	double t;
	int rsts = 0;

	rr_init(&r);
	run_fl(&r, u, hygiene_rules(100), NULL,
	       drv(&r, "exec %s/tcp_client -p 7000 --send 1000 --no-read --hold-ms 300",
		   FL_TARGETS),
	       FL_TARGETS "/unread_close_server -p 7000 -r 4 -w 200");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){"no-unread-close", NULL});
	pid = field(r.out, "LISTENING", "pid");
	fd = field(r.out, "ACCEPT conn=1", "fd");
	peer = field(r.out, "ACCEPT conn=1", "peer");
	unread = field(r.out, "CLOSE what=conn", "unread");
	cr_assert_str_eq(field(r.out, "READ conn=1", "bytes"), "4");
	cr_assert_str_eq(unread, "996");
	cr_assert_str_eq(field(r.out, "CLOSE what=conn", "fd"), fd);
	d = detail(rep, "no-unread-close");
	snprintf(want, sizeof(want), "s with %s unread bytes on pid %s fd %s flow 1 "
		 "(127.0.0.1:7000 <-> %s)", unread, pid, fd, peer);
	cr_assert(strstr(d, "close() at ") == d && strstr(d, want), "%s\nwanted %s", d, want);
	cr_assert_eq(occurrences(d, "unread bytes"), 1, "%s", d);
	/* It waited 200ms after the flow began before closing. */
	t = num_after(d, "close() at ");
	cr_assert_geq(t - jd(flow(rep, 1), "first"), 0.195, "%s", d);
	/* The peer saw an RST from the server, no FIN. */
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (strcmp(js(ev, "ev"), "pkt") || strcmp(js(ev, "from"), "server"))
			continue;
		rsts += strstr(js(ev, "flags"), "RST") != NULL;
		cr_assert_null(strstr(js(ev, "flags"), "FIN"), "the server sent a FIN");
	}
	cr_assert_geq(rsts, 1);
	json_object_put(tr);
	cr_assert_eq(calls(rep, "accept"), 1);
	cr_assert_eq(calls(rep, "close"), 2);
	cr_assert_eq(calls(rep, "read"), 0, "no EOF, no error");
	json_object_put(rep);
	rr_free(&r);
}

/* fd_leak_server never closes the sockets it accepts and exits after 3
 * connections: no-fd-leak fails for each (its fd, flow 1..3 in order);
 * its exit, well within 1s of each EOF, closes them, so eof-close does not
 * judge those EOFs and says so, and no-close-wait holds. */
BOTH(fd_leak)
{
	struct run_result r;
	json_object *rep;
	const char *dl, *de, *pid;
	char want[256], key[32];

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, SEQ_CLIENTS, FL_TARGETS, "3", ""),
	       FL_TARGETS "/fd_leak_server -p 7000 -n 3");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){"no-fd-leak", NULL});
	cr_assert_eq(ji(json_object_object_get(json_object_object_get(rep, "target"), "exit"),
			"code"), 0);
	cr_assert_str_eq(field(r.out, "DONE", "leaked"), "3");
	pid = field(r.out, "LISTENING", "pid");
	dl = detail(rep, "no-fd-leak");
	de = detail(rep, "eof-close 1s");
	cr_assert_eq(occurrences(dl, "the fd was never closed"), 3, "%s", dl);
	cr_assert_eq(occurrences(dl, "pid "), 4, "%s", dl);
	cr_assert_not_null(strstr(dl, "accumulated 3 such sockets"), "%s", dl);
	/* Its own exit closed them, in time for eof-close. */
	cr_assert_str_eq(de, "3 EOFs, each closed within 1.000s (3 by the target's own exit)");
	cr_assert_eq(nflows(rep), 3);
	for (int i = 1; i <= 3; i++) {
		const char *fd, *peer;

		snprintf(key, sizeof(key), "ACCEPT conn=%d", i);
		fd = field(r.out, key, "fd");
		peer = field(r.out, key, "peer");
		snprintf(key, sizeof(key), "EOF conn=%d", i);
		cr_assert_str_eq(field(r.out, key, "fd"), fd);
		cr_assert_str_eq(js(flow(rep, (size_t)i), "client"), peer);
		snprintf(want, sizeof(want), "s on pid %s fd %s flow %d (127.0.0.1:7000 <-> %s): "
			 "its connection ended at ", pid, fd, i, peer);
		cr_assert_not_null(strstr(dl, want), "%s\nwanted %s", dl, want);
	}
	cr_assert_str_eq(detail(rep, "no-close-wait 1s"),
			 "3 passive closes, none in CLOSE_WAIT longer than 1.000s");
	cr_assert_eq(calls(rep, "accept"), 3);
	cr_assert_eq(calls(rep, "read"), 3);
	cr_assert_eq(calls(rep, "close"), 1, "only the listener");
	json_object_put(rep);
	rr_free(&r);
}

/* tw_pile_server closes first on 30 connections (the clients hold 50ms
 * before their close, so the server's FIN is always first): 30 TIME_WAIT
 * sockets on its side.  time-wait <= 5 fails (and only it); <= 30 holds. */
BOTH(time_wait_pile)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_fl(&r, u, hygiene_rules(5), NULL, drv(&r, SEQ_CLIENTS, FL_TARGETS, "30", "--hold-ms 50"),
	       FL_TARGETS "/tw_pile_server -p 7000 -n 30");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep,
		      (const char *const[]){"no-close-wait 1s", "eof-close 1s",
					    "error-close 1s", "no-sigpipe",
					    "no-abort-loss", "no-unread-close", "no-fd-leak",
					    "time-wait <= 5", "target", "connections", "driver",
					    "timeout", "harness", NULL},
		      (const char *const[]){"time-wait <= 5", NULL});
	cr_assert_str_eq(detail(rep, "time-wait <= 5"),
			 "30 sockets in TIME_WAIT on the target's side at the end (at most 5 "
			 "allowed): the target closes first (active close) too often");
	cr_assert_eq(count_lines(r.out, "REPLY"), 30);
	cr_assert_eq(nflows(rep), 30);
	/* On every flow the first FIN is the server's. */
	{
		json_object *tr = rr_trace(&r);
		char first[31] = {0};

		for (size_t i = 0; i < json_object_array_length(tr); i++) {
			json_object *ev = json_object_array_get_idx(tr, i);
			long long id = ji(ev, "flow");

			if (!strcmp(js(ev, "ev"), "pkt") && strstr(js(ev, "flags"), "FIN") &&
			    id >= 1 && id <= 30 && !first[id])
				first[id] = js(ev, "from")[0];
		}
		json_object_put(tr);
		for (int i = 1; i <= 30; i++)
			cr_assert_eq(first[i], 's', "flow %d: first FIN from '%c'", i, first[i]);
	}
	for (size_t i = 1; i <= 30; i++)
		cr_assert_str_eq(js(flow(rep, i), "target_side"), "server");
	cr_assert_eq(calls(rep, "accept"), 30);
	cr_assert_eq(calls(rep, "close"), count_lines(r.out, "CLOSE"));
	cr_assert_eq(calls(rep, "close"), 31);
	json_object_put(rep);

	run_fl(&r, u, hygiene_rules(30), NULL, drv(&r, SEQ_CLIENTS, FL_TARGETS, "30", "--hold-ms 50"),
	       FL_TARGETS "/tw_pile_server -p 7000 -n 30");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_str_eq(detail(rep, "time-wait <= 30"),
			 "30 sockets in TIME_WAIT on the target's side at the end (at most 30 "
			 "allowed)");
	json_object_put(rep);
	rr_free(&r);
}

/* The default set: the parent's close() of its copy of an accepted socket
 * may find the child's unread bytes, but releases nothing (see
 * fork_parent_close_not_unread). */
static const char *const fork_checks[] = {
	"no-close-wait 1s", "eof-close 1s", "error-close 1s", "no-sigpipe",
	"no-abort-loss",    "no-unread-close", "no-fd-leak",
	"time-wait <= 100", "target",       "connections",    "driver",
	"timeout",          "harness",      NULL,
};

/* fork_server, correct, one child per connection: every check holds, and
 * the children's calls reach the harness (their EOF reads, their closes
 * of the listener and of the connection). */
BOTH(fork_server)
{
	struct run_result r;
	json_object *rep;
	int kids[3], pids[16], n;
	char key[32];

	rr_init(&r);
	run_fl(&r, u,
	       "expect no-close-wait 1s\nexpect eof-close 1s\nexpect error-close 1s\n"
	       "expect no-sigpipe\n"
	       "expect no-abort-loss\nexpect no-unread-close\nexpect no-fd-leak\n"
	       "expect time-wait <= 100\n",
	       NULL, drv(&r, PAR_CLIENTS, FL_TARGETS, ""), FL_TARGETS "/fork_server -p 7000 -n 3");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, fork_checks, (const char *const[]){NULL});
	cr_assert_eq(count_lines(r.out, "DONE"), 1);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "FORK conn=%d", i + 1);
		kids[i] = atoi(field(r.out, key, "child"));
		snprintf(key, sizeof(key), "REAPED conn=%d", i + 1);
		cr_assert_str_eq(field(r.out, key, "status"), "0");
	}
	/* 3 accepts; closes: 3 by the parent (its copies) + 1 (listener), and
	 * 2 by each child (listener, connection). */
	cr_assert_eq(calls(rep, "accept"), 3);
	cr_assert_eq(count_lines(r.out, "CLOSE"), 10, "%s", r.out);
	cr_assert_eq(calls(rep, "close"), 10);
	cr_assert_eq(calls(rep, "read"), 3, "the children's EOF reads");
	cr_assert_eq(ji(json_object_object_get(rep, "shim"), "processes"), 4);
	cr_assert_eq(ji(json_object_object_get(rep, "shim"), "lost"), 0);
	n = trace_calls(&r, "read", 0, pids, NULL, 16);
	cr_assert_eq(n, 3);
	for (int i = 0; i < 3; i++)
		cr_assert(contains(pids, n, kids[i]), "no EOF read by child %d", kids[i]);
	n = trace_calls(&r, "close", 0, pids, NULL, 16);
	cr_assert_eq(n, 10);
	for (int i = 0; i < 3; i++) {
		int c = 0;

		for (int j = 0; j < n; j++)
			c += pids[j] == kids[i];
		cr_assert_eq(c, 2, "child %d: %d closes", kids[i], c);
	}
	cr_assert_str_eq(detail(rep, "eof-close 1s"), "3 EOFs, each closed within 1.000s");
	cr_assert_str_eq(detail(rep, "no-fd-leak"), "3 connection sockets opened, all closed");
	cr_assert_str_eq(detail(rep, "no-close-wait 1s"),
			 "3 passive closes, none in CLOSE_WAIT longer than 1.000s");
	json_object_put(rep);
	rr_free(&r);
}

/*
 * no-unread-close must not fail a fork server's parent closing its copy of
 * an accepted socket: that drops one reference only, the child still holds
 * the socket and reads the bytes, and no RST is sent.  With ten
 * connections the parent's close usually finds a request already queued.
 * A correct program passes the default set.
 */
Test(checks, fork_parent_close_not_unread, .timeout = 60)
{
	struct run_result r;
	json_object *rep, *tr;
	int rsts = 0;

	rr_init(&r);
	run_fl(&r, AS_ROOT, NULL, NULL,
	       drv(&r, "pids=; for i in $(seq 10); do %1$s/tcp_client -p 7000 --rtt 3 & "
		       "pids=\"$pids $!\"; done; for p in $pids; do wait $p || exit 1; done",
		   FL_TARGETS),
	       FL_TARGETS "/fork_server -p 7000 -n 10");
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!strcmp(js(ev, "ev"), "pkt") && strstr(js(ev, "flags"), "RST"))
			rsts++;
	}
	json_object_put(tr);
	cr_assert_eq(rsts, 0, "a reset was sent after all");
	rep = rr_report(&r);
	cr_assert_eq(r.status, 0, "%s", detail(rep, "no-unread-close"));
	assert_checks(rep, default_checks, (const char *const[]){NULL});
	json_object_put(rep);
	rr_free(&r);
}

/* thread_server, correct, one thread per connection: every check of the
 * default set holds; the EOF reads come from the threads the program
 * names, in the program's pid. */
BOTH(thread_server)
{
	struct run_result r;
	json_object *rep;
	int pids[16], tids[16], n, pid;
	char key[32];

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, PAR_CLIENTS, FL_TARGETS, ""),
	       FL_TARGETS "/thread_server -p 7000 -n 3");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){NULL});
	cr_assert_str_eq(field(r.out, "DONE", "errors"), "0");
	pid = atoi(field(r.out, "LISTENING", "pid"));
	cr_assert_eq(calls(rep, "accept"), 3);
	cr_assert_eq(calls(rep, "read"), 3);
	cr_assert_eq(count_lines(r.out, "CLOSE"), 4);
	cr_assert_eq(calls(rep, "close"), 4);
	cr_assert_eq(ji(json_object_object_get(rep, "shim"), "processes"), 1);
	n = trace_calls(&r, "read", 0, pids, tids, 16);
	cr_assert_eq(n, 3);
	for (int i = 1; i <= 3; i++) {
		int tid;

		snprintf(key, sizeof(key), "EOF conn=%d", i);
		tid = atoi(field(r.out, key, "tid"));
		cr_assert_neq(tid, pid, "conn %d read in the main thread", i);
		cr_assert(contains(tids, n, tid), "no EOF read by thread %d", tid);
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(pids[i], pid);
	cr_assert_str_eq(detail(rep, "eof-close 1s"), "3 EOFs, each closed within 1.000s");
	cr_assert_str_eq(detail(rep, "no-fd-leak"), "3 connection sockets opened, all closed");
	json_object_put(rep);
	rr_free(&r);
}

/* echo_server, correct, three connections in turn: the default set holds
 * and the calls are those of the program (accept4, 3 EOF reads, 4 closes). */
BOTH(echo_server_clean)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, SEQ_CLIENTS, FL_TARGETS, "3", ""),
	       FL_TARGETS "/echo_server -p 7000 -n 3");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){NULL});
	cr_assert_str_eq(field(r.out, "DONE", "conns"), "3");
	cr_assert_eq(calls(rep, "accept4"), count_lines(r.out, "ACCEPT"));
	cr_assert_eq(calls(rep, "accept4"), 3);
	cr_assert_eq(calls(rep, "accept"), 0);
	cr_assert_eq(calls(rep, "read"), count_lines(r.out, "EOF"));
	cr_assert_eq(calls(rep, "close"), count_lines(r.out, "CLOSE") + 1, "+ the listener");
	cr_assert_eq(calls(rep, "close"), 4);
	cr_assert_str_eq(detail(rep, "no-close-wait 1s"),
			 "3 passive closes, none in CLOSE_WAIT longer than 1.000s");
	json_object_put(rep);
	rr_free(&r);
}

/* tcp_client as the target (echo_server the driver), half-closing: it
 * closes first, so its one TIME_WAIT is counted, within the limit; every
 * connect attempt (retried until the driver listens) is a flow and was
 * closed. */
BOTH(tcp_client_clean)
{
	struct run_result r;
	json_object *rep;
	char want[128];
	size_t nf;

	rr_init(&r);
	run_fl(&r, u, NULL, "--ready-delay 200ms", drv(&r, "exec %s/echo_server -p 7000", FL_TARGETS),
	       FL_TARGETS "/tcp_client -p 7000 --rtt 2 --half-close");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	assert_checks(rep, default_checks, (const char *const[]){NULL});
	cr_assert_eq(count_lines(r.out, "DONE"), 1);
	nf = nflows(rep);
	cr_assert_geq(nf, 1);
	cr_assert_str_eq(js(flow(rep, nf), "client"), field(r.out, "CONNECTED", "local"));
	cr_assert_eq(calls(rep, "connect"), (long long)nf);
	cr_assert_eq(calls(rep, "close"), (long long)nf);
	cr_assert_eq(calls(rep, "shutdown"), 1);
	cr_assert_eq(calls(rep, "read"), 1, "the EOF after the half-close");
	snprintf(want, sizeof(want), "%zu connection socket%s opened, all closed", nf,
		 nf == 1 ? "" : "s");
	cr_assert_str_eq(detail(rep, "no-fd-leak"), want);
	cr_assert_str_eq(detail(rep, "time-wait <= 100"),
			 "1 socket in TIME_WAIT on the target's side at the end (at most 100 "
			 "allowed)");
	cr_assert_str_eq(detail(rep, "no-close-wait 1s"),
			 "0 passive closes, none in CLOSE_WAIT longer than 1.000s");
	json_object_put(rep);
	rr_free(&r);
}

/* expect resets <= N counts the connections the target's own socket reset:
 * rst_server as the target closes with SO_LINGER {1,0} after the request;
 * echo_server closes with a FIN. */
BOTH(resets_counted)
{
	struct run_result r;
	json_object *rep, *c;
	const char *d;

	rr_init(&r);
	run_fl(&r, u, "expect resets <= 0\n", NULL,
	       drv(&r, "exec %s/tcp_client -p 7000 --half-close", FL_TARGETS),
	       FL_TARGETS "/rst_server -p 7000");
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report\n%s%s", r.out, r.err);
	c = report_check(rep, "resets <= 0");
	cr_assert_not_null(c, "no resets check\n%s", r.out);
	cr_assert(!json_object_get_boolean(json_object_object_get(c, "ok")),
		  "passed: %s", js(c, "detail"));
	d = js(c, "detail");
	cr_assert(strstr(d, "1 connection reset by the target (at most 0 allowed): "
			    "flow 1 (") == d, "%s", d);
	cr_assert(strstr(d, " -> 127.0.0.1:7000): the target's server socket sent RST at "),
		  "%s", d);
	cr_assert_eq(r.status, 1, "faultline exit %d", r.status);
	json_object_put(rep);
	rr_free(&r);

	rr_init(&r);
	run_fl(&r, u, "expect resets <= 0\n", NULL,
	       drv(&r, "exec %s/tcp_client -p 7000 --rtt 1", FL_TARGETS),
	       FL_TARGETS "/echo_server -p 7000 -n 1");
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report\n%s%s", r.out, r.err);
	cr_assert_str_eq(detail(rep, "resets <= 0"),
			 "0 connections reset by the target (at most 0 allowed)");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s", r.status, r.out);
	json_object_put(rep);
	rr_free(&r);
}
