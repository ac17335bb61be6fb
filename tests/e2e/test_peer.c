/*
 * test_peer.c - `faultline run --peer CMD`, testing a client: the peer
 * starts first and the target (the client) once the peer listens; the run
 * ends with the target, and faultline's stop of the peer (SIGTERM, then
 * SIGKILL after --grace) is no failure; a peer that never listens, or
 * ends or crashes on its own, fails the run and says so; `from target` and
 * `from peer` resolve to the client's and the server's segments; --peer
 * with --driver is refused.  The real binary on the sample programs, as
 * root and as uid 65534, read back from the trace, the JSON report and
 * the text report.
 *
 * Runs in Criterion's test processes, one run at a time.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(peer, name, 120)

/* echo_server serving until it is stopped, output to DIR/server.out. */
#define FOREVER_PEER FL_TARGETS "/echo_server -p 7000 -n 0 > {dir}/server.out"
/* tcp_client ARGS as the target, no wait for the listener of its own. */
#define CLIENT_TARGET(args) "exec " FL_TARGETS "/tcp_client " args " > {dir}/client.out"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The time of the first proc event of role doing what, or -1. */
static double proc_t(json_object *tr, const char *role, const char *what)
{
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		const char *e = js(ev, "ev");

		if (e && !strcmp(e, "proc") && !strcmp(js(ev, "role"), role) &&
		    !strcmp(js(ev, "what"), what))
			return jd(ev, "t");
	}
	return -1;
}

/* The first segment from `from` with flags, or NULL. */
static json_object *first_pkt(json_object *tr, const char *from, const char *flags)
{
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, from, flags))
			return ev;
	}
	return NULL;
}

static json_object *peer_obj(json_object *rep)
{
	json_object *p = json_object_object_get(rep, "peer");

	cr_assert_not_null(p, "no peer object in the report");
	return p;
}

/* A peer that listens only after 1s: the target starts after that (the
 * trace's proc events), its first connect meets the listener (one flow,
 * no refused SYN to retry: the client does not wait by itself), and the
 * peer's start comes first. */
BOTH(starts_after_peer_listens)
{
	struct run_result r;
	json_object *rep, *tr, *p;
	double peer_start, target_start, syn_t;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.timeout = "30s", .settle = "200ms",
		.peer = "sleep 1; exec " FOREVER_PEER,
		.sh = CLIENT_TARGET("-p 7000 --rtt 2"), .wait_s = 60});
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	tr = rr_trace(&r);
	peer_start = proc_t(tr, "peer", "start");
	target_start = proc_t(tr, "target", "start");
	cr_assert_geq(peer_start, 0, "no peer start in the trace");
	cr_assert_gt(target_start, peer_start, "target %.3f, peer %.3f", target_start,
		     peer_start);
	cr_assert_geq(target_start, 0.9, "the target started at %.3fs, before the peer "
		      "listened (1s)", target_start);
	syn_t = jd(first_pkt(tr, "client", "SYN"), "t");
	cr_assert_geq(syn_t, target_start);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(json_object_array_length(json_object_object_get(rep, "flows")), 1);
	cr_assert_str_eq(js(only_flow(rep), "target_side"), "client");
	cr_assert_eq(count_lines(rr_read(&r, "client.out"), "RTT"), 2, "%s",
		     rr_read(&r, "client.out"));
	p = peer_obj(rep);
	cr_assert(json_object_get_boolean(json_object_object_get(p, "ready")));
	cr_assert_str_eq(js(p, "cmd"), rr_expand(&r, "sleep 1; exec " FOREVER_PEER));
	cr_assert_null(json_object_object_get(rep, "driver"));
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* A peer that would run forever: the run ends when the target exits
 * (well within --timeout), faultline stops the peer with SIGTERM after
 * the settle, and that is no failure: exit 0, every check held, the
 * peer's exit SIGTERM marked stopped_by_faultline, and the text report
 * says so. */
BOTH(ends_with_target)
{
	struct run_result r;
	json_object *rep, *tr, *p, *x;
	double t0 = now_s(), t_exit, t_peer;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.timeout = "40s", .settle = "300ms", .peer = FOREVER_PEER,
		.sh = CLIENT_TARGET("-p 7000 --rtt 1"), .wait_s = 60});
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_lt(now_s() - t0, 20, "the run waited for the peer");
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(json_object_get_boolean(json_object_object_get(rep, "ok")), "%s", r.out);
	cr_assert(check_ok(rep, "peer"), "%s", js(report_check(rep, "peer"), "detail"));
	cr_assert(strstr(js(report_check(rep, "peer"), "detail"), "peer ran until faultline "
							      "stopped it at "));
	cr_assert(check_ok(rep, "timeout"));
	p = peer_obj(rep);
	x = json_object_object_get(p, "exit");
	cr_assert_str_eq(js(x, "signal"), "SIGTERM", "%s", json_object_to_json_string(p));
	cr_assert(json_object_get_boolean(json_object_object_get(p, "stopped_by_faultline")));
	cr_assert_eq(ji(json_object_object_get(json_object_object_get(rep, "target"), "exit"),
			"code"), 0);
	cr_assert(!json_object_get_boolean(json_object_object_get(
		json_object_object_get(rep, "target"), "stopped_by_faultline")));
	tr = rr_trace(&r);
	t_exit = proc_t(tr, "target", "exit");
	t_peer = proc_t(tr, "peer", "exit");
	cr_assert_gt(t_exit, 0);
	cr_assert_geq(t_peer - t_exit, 0.29, "the peer was stopped %.3fs after the target "
		      "ended, within --settle 300ms", t_peer - t_exit);
	cr_assert(strstr(r.out, "peer: stopped by faultline at "), "%s", r.out);
	cr_assert(strstr(rr_read(&r, "server.out"), "TERM"));
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* A peer whose processes ignore SIGTERM: SIGKILL after --grace 500ms, and
 * still no failure. */
BOTH(peer_killed_after_grace)
{
	struct run_result r;
	json_object *rep, *p;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.timeout = "40s", .settle = "200ms", .opts = "--grace 500ms",
		.peer = "trap '' TERM; " FOREVER_PEER " & while :; do sleep 0.05; done",
		.sh = CLIENT_TARGET("-p 7000 --rtt 1"), .wait_s = 60});
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	p = peer_obj(rep);
	cr_assert_str_eq(js(json_object_object_get(p, "exit"), "signal"), "SIGKILL", "%s",
			 json_object_to_json_string(p));
	cr_assert(json_object_get_boolean(json_object_object_get(p, "stopped_by_faultline")));
	cr_assert(check_ok(rep, "peer"), "%s", js(report_check(rep, "peer"), "detail"));
	json_object_put(rep);
	rr_free(&r);
}

/* A peer that never listens: the run fails within the --ready-timeout
 * (and the peer's stop), not at --timeout; the target is never started;
 * the peer check and stderr say why. */
BOTH(never_listens)
{
	struct run_result r;
	json_object *rep, *tr;
	double t0 = now_s();

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.timeout = "60s", .opts = "--ready-timeout 1s --grace 500ms",
		.peer = "exec sleep 100", .sh = CLIENT_TARGET("-p 7000"), .wait_s = 50});
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_lt(now_s() - t0, 30, "the run waited past the ready timeout");
	cr_assert(strstr(r.err, "the peer did not listen within 1.0s (--ready-timeout); "
				"the target was not started"), "%s", r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_str_eq(js(rep, "result"), "FAIL");
	cr_assert(!check_ok(rep, "peer"));
	cr_assert(strstr(js(report_check(rep, "peer"), "detail"),
			 "the peer did not listen within 1.000s (--ready-timeout): the "
			 "target was not started"), "%s", js(report_check(rep, "peer"), "detail"));
	cr_assert(!json_object_get_boolean(json_object_object_get(peer_obj(rep), "ready")));
	tr = rr_trace(&r);
	cr_assert_lt(proc_t(tr, "target", "start"), 0, "the target was started");
	cr_assert_geq(proc_t(tr, "peer", "exit"), 0.9);
	cr_assert(strstr(r.out, "target: not started\n"), "%s", r.out);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* A peer that ends before it listens: the run ends there, the target not
 * started, the peer check names its exit. */
BOTH(ends_before_listening)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.timeout = "60s", .peer = "exit 3", .sh = CLIENT_TARGET("-p 7000"),
		.wait_s = 30});
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.err, "the peer ended (exit code 3) before it listened; the "
				"target was not started"), "%s", r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(!check_ok(rep, "peer"));
	cr_assert(strstr(js(report_check(rep, "peer"), "detail"), "peer exit code 3 at "),
		  "%s", js(report_check(rep, "peer"), "detail"));
	cr_assert_eq(ji(json_object_object_get(peer_obj(rep), "exit"), "code"), 3);
	json_object_put(rep);
	rr_free(&r);
}

/* A peer that crashes on its own while the target still runs (its shell
 * dies of SIGSEGV 300ms after starting the server; the client holds its
 * connection 1.5s): the run fails on the peer check alone, which says the
 * peer died before the target ended; the client itself did fine. */
BOTH(crash_reported)
{
	struct run_result r;
	json_object *rep, *p;
	const char *d;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.timeout = "30s", .settle = "200ms",
		.peer = FOREVER_PEER " & sleep 0.3; kill -SEGV $$",
		.sh = CLIENT_TARGET("-p 7000 --rtt 1 --hold-ms 1500"), .wait_s = 60});
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(!check_ok(rep, "peer"));
	d = js(report_check(rep, "peer"), "detail");
	cr_assert(strstr(d, "peer killed by SIGSEGV at "), "%s", d);
	cr_assert(strstr(d, "on its own, before the target ended: "), "%s", d);
	p = peer_obj(rep);
	cr_assert_str_eq(js(json_object_object_get(p, "exit"), "signal"), "SIGSEGV");
	cr_assert(!json_object_get_boolean(json_object_object_get(p, "stopped_by_faultline")));
	cr_assert(check_ok(rep, "target"), "%s", js(report_check(rep, "target"), "detail"));
	cr_assert(strstr(r.out, "peer: killed by SIGSEGV at "), "%s", r.out);
	cr_assert(strstr(r.out, " on its own, before the target ended"), "%s", r.out);
	json_object_put(rep);
	rr_free(&r);
}

/* The target is the client: `drop from target flags FIN` hits the
 * client's FIN (and not the server's), `delay ... from peer flags FIN`
 * the server's; each rule acted once. */
BOTH(from_target_is_the_client)
{
	struct run_result r;
	json_object *rep, *tr, *fin;
	char want[512];

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "drop from target flags FIN times 1\n"
			      "delay 20ms from peer flags FIN times 1\n"
			      "expect rules-acted\n",
		.timeout = "30s", .settle = "1s", .peer = FOREVER_PEER,
		.sh = CLIENT_TARGET("-p 7000 --rtt 1"), .wait_s = 60});
	cr_assert_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_str_eq(js(only_flow(rep), "target_side"), "client");
	tr = rr_trace(&r);
	snprintf(want, sizeof(want), "%s:1", rr_path(&r, "test.rules"));
	fin = first_pkt(tr, "client", "FIN");
	cr_assert_not_null(fin, "no client FIN");
	cr_assert_str_eq(js(fin, "verdict"), "drop");
	cr_assert_str_eq(js(fin, "rule"), want);
	snprintf(want, sizeof(want), "%s:2", rr_path(&r, "test.rules"));
	fin = first_pkt(tr, "server", "FIN");
	cr_assert_not_null(fin, "no server FIN");
	cr_assert_str_eq(js(fin, "verdict"), "delay");
	cr_assert_str_eq(js(fin, "rule"), want);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* A real client against a real server: curl reset by faultline in place
 * of python3 -m http.server's reply (client-peer-reset.rules).  curl
 * notices (exit 56, "Recv failure: Connection reset by peer"), closes, and
 * its socket went ESTABLISHED > CLOSE although the server's FIN followed
 * the RST; only the sample's expect exit 1 fails.  Skips, naming the
 * package, when either is missing. */
BOTH(curl_reset_by_http_server)
{
	static const char *const curl[] = {"/usr/bin/curl", "-sS", "-o", "/dev/null",
					   "http://127.0.0.1:8000/", NULL};
	struct run_result r;
	json_object *rep;

	if (access("/usr/bin/curl", X_OK) || access("/usr/bin/python3", X_OK))
		cr_skip_test("needs /usr/bin/curl and /usr/bin/python3 (Debian packages "
			     "curl, python3; .ci/install-deps installs them)");
	rr_init(&r);
	rr_write(&r, "index.html", "hello\n");
	rr_faultline(&r, u, &(struct fl_args){
		.rules = {SC("client-peer-reset.rules")}, .timeout = "30s", .settle = "300ms",
		.peer = "exec /usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 "
			"--directory {dir} 2> {dir}/server.out",
		.argv = curl, .wait_s = 60});
	cr_assert_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(!check_ok(rep, "exit 1"));
	cr_assert(strstr(js(report_check(rep, "exit 1"), "detail"), "target exit code 56 at "),
		  "%s", js(report_check(rep, "exit 1"), "detail"));
	cr_assert(check_ok(rep, "path client ESTABLISHED > CLOSE"), "%s",
		  js(report_check(rep, "path client ESTABLISHED > CLOSE"), "detail"));
	cr_assert(check_ok(rep, "no-sigpipe"));
	cr_assert(check_ok(rep, "peer"), "%s", js(report_check(rep, "peer"), "detail"));
	cr_assert_str_eq(path_of(only_flow(rep), "client_states"),
			 "SYN_SENT > ESTABLISHED > CLOSE");
	cr_assert(strstr(r.err, "Connection reset by peer"), "%s", r.err);
	json_object_put(rep);
	rr_free(&r);
}

/* --peer and --driver together: refused before anything runs (exit 2,
 * no report); an empty --peer too. */
Test(peer, with_driver_refused, .timeout = 30)
{
	struct run_result r;

	rr_init(&r);
	rr_faultline(&r, AS_ROOT, &(struct fl_args){
		.peer = FOREVER_PEER, .driver = "true", .sh = CLIENT_TARGET("-p 7000")});
	cr_assert_eq(r.status, 2, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.err, "--peer and --driver together"), "%s", r.err);
	cr_assert_eq(access(rr_path(&r, "report.json"), F_OK), -1, "a report was written");
	rr_free(&r);
	rr_init(&r);
	rr_faultline(&r, AS_ROOT, &(struct fl_args){.peer = " ", .sh = "true"});
	cr_assert_eq(r.status, 2, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.err, "--peer: empty command"), "%s", r.err);
	rr_free(&r);
}
