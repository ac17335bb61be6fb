/*
 * test_truth.c - issue 9's judgement, on programs whose behaviour is
 * known because they print it: a target that fails on its own, a run
 * with no connection, an AF_UNIX pair closed unread, data that arrives
 * after a close, an idle connection at faultline's SIGTERM, harmless and
 * harmful SO_LINGER {1,0}, a close right after accept, crossed FINs,
 * transitions made by faultline's stop, and the settle that waits for
 * open windows.  As root and as uid 65534; as root every report's state
 * paths are compared with the kernel's tracepoint by kcompare.c.
 *
 * Each test says which old behaviour (before issue 9, commit 9112c8f) it
 * would have caught.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(truth, name, 60)

/* A NULL-terminated argv for the target. */
#define TARGET(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * faultline run [-r DIR/test.rules] --trace --report --timeout 30s OPTS
 *   [--driver DRIVER] -- TARGET...
 * rules NULL: no -r (the default hygiene set); opts split at spaces;
 * driver NULL: none.
 */
static void run_fl(struct run_result *r, enum as_user u, const char *rules,
		   const char *opts, const char *driver, const char *const *target)
{
	rr_faultline(r, u, &(struct fl_args){.rules_text = rules, .timeout = "30s",
					     .opts = opts, .driver = driver,
					     .argv = target});
}

static json_object *must_check(json_object *rep, const char *name)
{
	json_object *c = report_check(rep, name);

	cr_assert_not_null(c, "no check %s in the report", name);
	return c;
}

static int bool_of(json_object *o, const char *key)
{
	return json_object_get_boolean(json_object_object_get(o, key));
}

static const char *detail(json_object *rep, const char *name)
{
	return js(must_check(rep, name), "detail");
}

/* Check `name` has ok == ok and judged == judged; quotes its detail. */
static void want(json_object *rep, const char *name, int ok, int judged)
{
	json_object *c = must_check(rep, name);

	cr_assert_eq(bool_of(c, "ok"), ok, "%s: ok %d, wanted %d: %s", name,
		     bool_of(c, "ok"), ok, js(c, "detail"));
	cr_assert_eq(bool_of(c, "judged"), judged, "%s: judged %d, wanted %d: %s",
		     name, bool_of(c, "judged"), judged, js(c, "detail"));
}

/* Every check passed and was judged, except those in `failing` (which
 * must fail, judged).  The result is PASS exactly when none fails. */
static void only_failing(json_object *rep, const char *out,
			 const char *const *failing)
{
	json_object *checks = json_object_object_get(rep, "checks");

	cr_assert_not_null(checks, "no report\n%s", out);
	for (const char *const *f = failing; *f; f++)
		want(rep, *f, 0, 1);
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		const char *id = js(c, "expect") ? js(c, "expect") : js(c, "name");
		int bad = 0;

		for (const char *const *f = failing; *f; f++)
			bad |= !strcmp(*f, id) || !strcmp(*f, js(c, "name"));
		if (bad)
			continue;
		cr_assert(bool_of(c, "ok") && bool_of(c, "judged"),
			  "check %s: ok %d judged %d: %s\n%s", id, bool_of(c, "ok"),
			  bool_of(c, "judged"), js(c, "detail"), out);
	}
	cr_assert_str_eq(js(rep, "result"), failing[0] ? "FAIL" : "PASS", "%s", out);
	cr_assert_eq(bool_of(rep, "ok"), failing[0] == NULL);
}

#define NONE ((const char *const[]){NULL})
#define FAILING(...) ((const char *const[]){__VA_ARGS__, NULL})

/* word=VALUE of the line starting with key, as a number; fails if absent. */
static long long field_num(const char *text, const char *key, const char *word)
{
	const char *v = line_field(text, key, word);

	cr_assert_not_null(v, "no %s ... %s= in:\n%s", key, word, text);
	return atoll(v);
}

/* Whether the json array of strings a holds s. */
static int has_string(json_object *a, const char *s)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s))
			return 1;
	return 0;
}

static json_object *flows_of(json_object *rep)
{
	return json_object_object_get(rep, "flows");
}

/* ---- 1. the target's own end --------------------------------------- */

/* `faultline run -- false`: a target that exits 1 on its own fails the
 * `target` check; the text report says "target: exit code 1".  A target
 * killed by SIGSEGV fails naming the signal, unless `expect signal
 * SIGSEGV` says that is what it should do.  (Before issue 9 there was no
 * target check: both runs passed with exit status 0.) */
BOTH(target_fails_on_its_own)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, NULL, TARGET("false"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	want(rep, "target", 0, 1);
	cr_assert_str_eq(js(rep, "result"), "FAIL");
	cr_assert(!bool_of(rep, "ok"));
	cr_assert_eq(ji(json_object_object_get(json_object_object_get(rep, "target"), "exit"),
			"code"), 1);
	cr_assert(!bool_of(json_object_object_get(rep, "target"), "stopped_by_faultline"));
	cr_assert_not_null(strstr(detail(rep, "target"), "exit code 1"), "%s",
			   detail(rep, "target"));
	cr_assert_not_null(strstr(r.out, "\ntarget: exit code 1"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "result: FAIL"), "%s", r.out);
	json_object_put(rep);

	run_fl(&r, u, NULL, NULL, NULL, TARGET("/bin/sh", "-c", "kill -SEGV $$"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	want(rep, "target", 0, 1);
	cr_assert_str_eq(js(rep, "result"), "FAIL");
	cr_assert_str_eq(js(json_object_object_get(json_object_object_get(rep, "target"), "exit"),
			    "signal"), "SIGSEGV");
	cr_assert_not_null(strstr(detail(rep, "target"), "killed by SIGSEGV"), "%s",
			   detail(rep, "target"));
	cr_assert_not_null(strstr(r.out, "target: killed by SIGSEGV"), "%s", r.out);
	json_object_put(rep);

	/* Expected: the signal check holds, no target check is added, and
	 * with no connection check in the set the run passes. */
	run_fl(&r, u, "expect signal SIGSEGV\n", NULL, NULL,
	       TARGET("/bin/sh", "-c", "kill -SEGV $$"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	want(rep, "signal SIGSEGV", 1, 1);
	cr_assert_null(report_check(rep, "target"));
	cr_assert_null(report_check(rep, "connections"));
	only_failing(rep, r.out, NONE);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 2. a run that made no connection ------------------------------ */

/* `--driver true` against echo_server: no connection was made, so the
 * connection checks tested nothing: INCONCLUSIVE (exit 1), `connections`
 * not judged; with --allow-skip exit 0.  (Before: PASS, exit 0.) */
BOTH(no_connection_is_inconclusive)
{
	struct run_result r;
	json_object *rep, *checks;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, "true", TARGET(FL_TARGETS "/echo_server", "-p", "7000"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_str_eq(js(rep, "result"), "INCONCLUSIVE", "%s", r.out);
	cr_assert(!bool_of(rep, "ok"));
	want(rep, "connections", 1, 0);
	cr_assert_not_null(strstr(detail(rep, "connections"), "no TCP connection"), "%s",
			   detail(rep, "connections"));
	cr_assert_eq(json_object_array_length(flows_of(rep)), 0);
	/* Nothing failed: only connections is not judged. */
	checks = json_object_object_get(rep, "checks");
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);

		cr_assert(bool_of(c, "ok"), "%s: %s", js(c, "name"), js(c, "detail"));
		if (strcmp(js(c, "name"), "connections"))
			cr_assert(bool_of(c, "judged"), "%s: %s", js(c, "name"),
				  js(c, "detail"));
	}
	cr_assert_not_null(strstr(r.out, "result: INCONCLUSIVE"), "%s", r.out);
	json_object_put(rep);

	run_fl(&r, u, NULL, "--allow-skip", "true",
	       TARGET(FL_TARGETS "/echo_server", "-p", "7000"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	want(rep, "connections", 1, 0);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 3. AF_UNIX closed with unread bytes ---------------------------- */

/* unix_pair_server closes a socketpair end with 5 bytes unread, then
 * serves a TCP echo correctly: no-unread-close (a TCP check) holds, and
 * the shim did see the 5 unread bytes at that close, so the check had
 * them in hand.  (Before: any close with unread bytes failed.) */
BOTH(unix_socketpair_unread_is_fine)
{
	struct run_result r;
	json_object *rep, *tr;
	long long pair_fd;
	int seen = 0;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       TARGET(FL_TARGETS "/unix_pair_server", "-p", "7000"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out, NONE);
	cr_assert_eq(field_num(r.out, "PAIR_CLOSE", "unread"), 5, "%s", r.out);
	pair_fd = field_num(r.out, "PAIR_CLOSE", "fd");
	cr_assert_eq(json_object_array_length(flows_of(rep)), 1);
	cr_assert_not_null(strstr(r.out, "CLOSE conn=1"), "%s", r.out);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (js(ev, "ev") && !strcmp(js(ev, "ev"), "call") &&
		    !strcmp(js(ev, "fn"), "close") && ji(ev, "fd") == pair_fd &&
		    ji(ev, "unread") == 5)
			seen++;
	}
	cr_assert_eq(seen, 1, "the trace shows the close of fd %lld with 5 unread bytes",
		     pair_fd);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 4. data arriving after the close ------------------------------ */

/* answer_close_server answers and closes with its receive queue empty
 * (it says unread=0); late_client sends 1000 bytes after the server's
 * FIN, which the server's kernel answers with RST: no-unread-close fails
 * from the wire, quoting the 1000 bytes; nothing else fails.  The same
 * server with --drain reads everything first: PASS.  (Before: judged on
 * the calls only, unread=0 at the close, so it passed.) */
BOTH(data_after_close_fails_from_the_wire)
{
	struct run_result r;
	json_object *rep;
	const char *d, *dv;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL,
	       drv(&r, "exec %s/late_client -p 7000 --late 1000 --wait-eof", FL_TARGETS),
	       TARGET(FL_TARGETS "/answer_close_server", "-p", "7000"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	dv = rr_read(&r, "driver.out");
	cr_assert_eq(field_num(r.out, "CLOSE conn=1", "unread"), 0, "%s", r.out);
	cr_assert_not_null(strstr(dv, "PEER_EOF"), "%s", dv);
	cr_assert_eq(field_num(dv, "LATE_SENT", "bytes"), 1000, "%s", dv);
	only_failing(rep, r.out, FAILING("no-unread-close"));
	d = detail(rep, "no-unread-close");
	cr_assert_not_null(strstr(d, "with its receive queue empty, then the kernel reset "
				  "the connection at "), "%s", d);
	cr_assert_not_null(strstr(d, "no rule made it, no SO_LINGER {1,0}"), "%s", d);
	cr_assert_not_null(strstr(d, ": 1000 bytes from the peer arrived after the close "
				  "and were thrown away"), "%s", d);
	/* In that order; printed to the ms, and the RST follows the close
	 * within one when nothing stalls the queue. */
	cr_assert_leq(num_after(d, "close() at "), num_after(d, "reset the connection at "),
		      "%s", d);
	json_object_put(rep);

	run_fl(&r, u, NULL, NULL, drv(&r, "exec %s/late_client -p 7000 --late 1000", FL_TARGETS),
	       TARGET(FL_TARGETS "/answer_close_server", "-p", "7000", "--drain"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_eq(field_num(r.out, "DRAINED conn=1", "bytes"), 1000, "%s", r.out);
	d = line_field(rr_read(&r, "driver.out"), "END", "how");
	cr_assert(d && !strcmp(d, "eof"), "%s", rr_read(&r, "driver.out"));
	only_failing(rep, r.out, NONE);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 5. an idle connection at faultline's SIGTERM ------------------- */

/* idle_server against a client the driver leaves running in the
 * background (args: tcp_client options), connected and idle when
 * faultline stops the server; the server exits on SIGTERM with the socket
 * open.  That connection never ended before the stop: not a leak; PASS. */
static void idle_at_stop(enum as_user u, const char *client_args)
{
	struct run_result r;
	json_object *rep, *fl;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL,
	       drv(&r, "%s/tcp_client -p 7000 %s & sleep 0.3", FL_TARGETS, client_args),
	       TARGET(FL_TARGETS "/idle_server", "-p", "7000"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out, NONE);
	cr_assert_not_null(strstr(r.out, "TERM t_us="), "%s", r.out);
	cr_assert_null(strstr(r.out, "\nCLOSE t_us="), "%s", r.out);
	cr_assert(bool_of(json_object_object_get(rep, "target"), "stopped_by_faultline"));
	cr_assert_not_null(strstr(detail(rep, "no-fd-leak"), "1 connection socket opened; "
				  "1 not closed, none after its connection ended"),
			   "%s", detail(rep, "no-fd-leak"));
	cr_assert_eq(json_object_array_length(flows_of(rep)), 1);
	fl = json_object_array_get_idx(flows_of(rep), 0);
	/* Still ESTABLISHED when faultline stopped it. */
	cr_assert_not_null(strstr(path_of(fl, "server_states"), "ESTABLISHED"));
	cr_assert(!has_string(json_object_object_get(json_object_object_get(
					  fl, "states_after_stop"), "server"), "ESTABLISHED"));
	json_object_put(rep);
	rr_free(&r);
}

/* The client waits in read() and closes when the server's exit sends
 * its FIN: the connection ended after the stop, because of it.  (Before
 * issue 9: no-fd-leak failed on every socket still open at exit.) */
BOTH(idle_connection_at_stop_is_no_leak)
{
	idle_at_stop(u, "--drain");
}

/* The client holds the connection without reading for 20s: it is still
 * there when the run ends, and the sandbox's teardown kills it. */
BOTH(idle_connection_client_outlives_the_run)
{
	idle_at_stop(u, "--rtt 1 --hold-ms 20000");
}

/* ---- 6. SO_LINGER {1,0}: harmless and harmful ----------------------- */

/* linger_abort_server aborts after reading to EOF, nothing queued: the
 * default set (no-abort-loss) notes it and passes.  linger_loss_server
 * --unread aborts with 900 bytes unread: no-abort-loss fails with the
 * count the program itself measured just before the close.  (Before: the
 * default no-linger-abort failed every {1,0}, the harmless one too.) */
BOTH(abort_judged_by_its_damage)
{
	struct run_result r;
	json_object *rep;
	const char *d;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, "exec %s/tcp_client -p 7000 --rtt 1", FL_TARGETS),
	       TARGET(FL_TARGETS "/linger_abort_server", "-p", "7000"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out, NONE);
	cr_assert_null(report_check(rep, "no-linger-abort"));
	cr_assert_str_eq(detail(rep, "no-abort-loss"), "1 abortive close threw nothing away "
			 "(0 unsent, 0 unread, nothing arrived after it): noted, not failed");
	json_object_put(rep);

	/* Unread: the client sends 1000 bytes, the server reads 100. */
	run_fl(&r, u, NULL, NULL,
	       drv(&r, "%s/tcp_client -p 7000 --send 1000 --no-read --hold-ms 300; exit 0",
		   FL_TARGETS),
	       TARGET(FL_TARGETS "/linger_loss_server", "-p", "7000", "--unread"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_eq(field_num(r.out, "QUEUES", "unread"), 900, "%s", r.out);
	/* An abortive close is judged once, by no-abort-loss. */
	only_failing(rep, r.out, FAILING("no-abort-loss"));
	d = detail(rep, "no-abort-loss");
	cr_assert_not_null(strstr(d, "abortive close() (SO_LINGER {1,0}) at "), "%s", d);
	cr_assert_not_null(strstr(d, "threw data away: 0 unsent, 900 unread, 0 arriving "
				  "from the peer after it"), "%s", d);
	json_object_put(rep);
	rr_free(&r);
}

/* linger_loss_server --unsent fills its send queue to a client that does
 * not read yet, then aborts: no-abort-loss fails with at most the
 * unsent bytes the program measured (some may be acknowledged between
 * its ioctl and its close), nothing else fails.  The client sends
 * nothing, so the server's RST acknowledges only the SYN; as root the
 * server's path must still show ESTABLISHED, as the kernel's does. */
BOTH(abort_with_unsent_data)
{
	struct run_result r;
	json_object *rep;
	const char *d;
	long long unsent;
	double n;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL,
	       drv(&r, "%s/tcp_client -p 7000 --drain --hold-ms 300; exit 0", FL_TARGETS),
	       TARGET(FL_TARGETS "/linger_loss_server", "-p", "7000", "--unsent"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	unsent = field_num(r.out, "QUEUES", "unsent");
	cr_assert_gt(unsent, 0, "%s", r.out);
	only_failing(rep, r.out, FAILING("no-abort-loss"));
	d = detail(rep, "no-abort-loss");
	n = num_after(d, "threw data away: ");
	cr_assert(n > 0 && n <= (double)unsent, "%.0f unsent reported, the program measured "
		  "%lld: %s", n, unsent, d);
	cr_assert_not_null(strstr(d, " unsent, 0 unread, "), "%s", d);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 7. a close right after accept --------------------------------- */

/* accept_close_server closes each of 3 connections right after accept(),
 * never reading: every server path has ESTABLISHED (accept() returned a
 * socket, which only an established connection gives), and as root
 * kcompare.c compares every path with the kernel's.  PASS. */
BOTH(close_right_after_accept)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL,
	       drv(&r, "for i in 1 2 3; do %s/tcp_client -p 7000 --drain || exit 1; done",
		   FL_TARGETS),
	       TARGET(FL_TARGETS "/accept_close_server", "-p", "7000", "-n", "3"));
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out, NONE);
	cr_assert_eq(json_object_array_length(flows_of(rep)), 3);
	for (size_t i = 0; i < 3; i++) {
		json_object *fl = json_object_array_get_idx(flows_of(rep), i);
		const char *p = path_of(fl, "server_states");

		cr_assert_str_eq(js(fl, "target_side"), "server");
		cr_assert_not_null(strstr(p, "SYN_RECV > ESTABLISHED > FIN_WAIT1"),
				   "flow %zu server: %s", i + 1, p);
	}
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 8. crossed FINs ----------------------------------------------- */

#define SIMUL_PATH "ESTABLISHED > FIN_WAIT1 > CLOSING > TIME_WAIT"

/* simultaneous-close.rules holds each FIN (50ms, 100ms) so that each side
 * sends its FIN before the other's arrives: deterministic, whatever the
 * load (the delays fix the order of arrival).  Both sides go FIN_WAIT1 >
 * CLOSING > TIME_WAIT, in the report and, as root, in the kernel. */
BOTH(crossed_fins)
{
	struct run_result r;
	json_object *rep, *fl;
	char *rules = NULL;
	size_t len = 0;
	FILE *f = fopen(FL_RULES "/scenarios/simultaneous-close.rules", "r");

	cr_assert_not_null(f);
	cr_assert_eq(getdelim(&rules, &len, 0, f) > 0, 1);
	fclose(f);
	rr_init(&r);
	run_fl(&r, u, rules, "--settle 2s",
	       drv(&r, "exec %s/tcp_client -p 7000 --rtt 1 --hold-ms 30", FL_TARGETS),
	       TARGET(FL_TARGETS "/sc_reply_close", "-p", "7000", "--wait-ms", "30"));
	free(rules);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out, NONE);
	want(rep, "path client " SIMUL_PATH, 1, 1);
	want(rep, "path server " SIMUL_PATH, 1, 1);
	cr_assert_eq(json_object_array_length(flows_of(rep)), 1);
	fl = json_object_array_get_idx(flows_of(rep), 0);
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > " SIMUL_PATH);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " SIMUL_PATH);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 9. transitions made by faultline's stop ------------------------ */

/* cw_leak_server never closes: its LAST_ACK comes only from faultline's
 * SIGTERM.  `expect path server ESTABLISHED > CLOSE_WAIT > LAST_ACK >
 * CLOSE` fails, saying so; the report's states_after_stop.server has
 * LAST_ACK, and the text report marks the stop in the path.  (Before:
 * the stop's transitions counted as the program's, and the path passed.) */
BOTH(stop_transitions_are_not_the_programs)
{
	struct run_result r;
	json_object *rep, *fl, *after;
	const char *d;
	double stop, at;

	rr_init(&r);
	run_fl(&r, u, "expect path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE\n", NULL,
	       drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       TARGET(FL_TARGETS "/cw_leak_server", "-p", "7000"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out,
		     FAILING("path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	d = detail(rep, "path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE");
	cr_assert_not_null(strstr(d, "LAST_ACK only after faultline stopped the target at"),
			   "%s", d);
	stop = jd(json_object_object_get(rep, "stop"), "t");
	at = num_after(d, "stopped the target at ");
	cr_assert(at > stop - 0.0015 && at < stop + 0.0015, "stop.t %.6f: %s", stop, d);
	cr_assert_str_eq(js(json_object_object_get(rep, "stop"), "signal"), "SIGTERM");
	cr_assert(bool_of(json_object_object_get(rep, "target"), "stopped_by_faultline"));
	cr_assert_not_null(strstr(r.out, "TERM t_us="), "%s", r.out);
	fl = json_object_array_get_idx(flows_of(rep), 0);
	after = json_object_object_get(json_object_object_get(fl, "states_after_stop"),
				       "server");
	cr_assert(has_string(after, "LAST_ACK"), "%s", json_object_to_json_string(after));
	cr_assert(!has_string(after, "CLOSE_WAIT"), "%s", json_object_to_json_string(after));
	cr_assert_not_null(strstr(r.out, "CLOSE_WAIT | stopped by faultline > LAST_ACK"), "%s",
			   r.out);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- 10. the settle waits out a lost FIN ---------------------------- */

/* lost-fin.rules drops the client's FIN twice; with --settle 100ms the
 * third copy (~0.6s later) would come after the stop, but faultline keeps
 * the target running while the flow is mid-teardown: the server reads
 * EOF itself (its own EOF line), eof-close is judged on that one EOF, and
 * the report says how long it waited and why.  Three runs, so it is not
 * luck.  (Before: stopped at 100ms, EOF never read, eof-close judged 0
 * EOFs and passed on nothing.) */
BOTH(settle_waits_for_a_lost_fin)
{
	struct run_result r;

	rr_init(&r);
	for (int i = 0; i < 3; i++) {
		json_object *rep, *st;
		const char *why;

		run_fl(&r, u, NULL, "-r " FL_RULES "/scenarios/lost-fin.rules --settle 100ms",
		       drv(&r, "exec %s/tcp_client -p 7000 --rtt 3", FL_TARGETS),
		       TARGET(FL_TARGETS "/echo_server", "-p", "7000"));
		cr_assert_eq(r.status, 0, "run %d: faultline exit %d\n%s%s", i, r.status, r.out,
			     r.err);
		rep = rr_report(&r);
		cr_assert_not_null(strstr(r.out, "\nEOF conn=1 bytes=3 "), "run %d:\n%s", i,
				   r.out);
		only_failing(rep, r.out, NONE);
		want(rep, "eof-close 1s", 1, 1);
		cr_assert(strstr(detail(rep, "eof-close 1s"), "1 EOF,") ==
				  detail(rep, "eof-close 1s"),
			  "run %d: %s", i, detail(rep, "eof-close 1s"));
		st = json_object_object_get(rep, "settle");
		cr_assert_not_null(st, "run %d: no settle in the report", i);
		why = js(st, "reason");
		cr_assert(why && (strstr(why, "mid-teardown") || strstr(why, "CLOSE_WAIT")),
			  "run %d: settle reason %s", i, why ? why : "null");
		cr_assert_gt(jd(st, "waited"), 0.1, "run %d: settle.waited %.3f (reason %s)\n%s",
			     i, jd(st, "waited"), why, r.out);
		cr_assert(!bool_of(st, "cut_by_timeout"));
		json_object_put(rep);
	}
	rr_free(&r);
}

/* ---- 11. the default set catches a CLOSE_WAIT leak ------------------ */

/* cw_leak_server with the default no-close-wait 1s and the default
 * --settle 500ms: faultline keeps it running until the 1s window decides,
 * and the leak fails.  (Before: stopped at 500ms, the CLOSE_WAIT was
 * younger than 1s and the run passed.) */
BOTH(default_settle_catches_close_wait)
{
	struct run_result r;
	json_object *rep;
	const char *d;

	rr_init(&r);
	run_fl(&r, u, NULL, NULL, drv(&r, "exec %s/tcp_client -p 7000 --rtt 2", FL_TARGETS),
	       TARGET(FL_TARGETS "/cw_leak_server", "-p", "7000"));
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	only_failing(rep, r.out, FAILING("no-close-wait 1s", "eof-close 1s", "no-fd-leak"));
	d = detail(rep, "no-close-wait 1s");
	cr_assert_gt(num_after(strstr(d, "until faultline stopped the target at "), "s ("), 1.0,
		     "%s", d);
	cr_assert_gt(jd(json_object_object_get(rep, "settle"), "waited"), 0.5);
	json_object_put(rep);
	rr_free(&r);
}
