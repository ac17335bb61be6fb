/*
 * test_scenarios.c - the shipped teardown scenarios (the .rules files in
 * rules/scenarios) run as they are, against the sample targets, as root and as an
 * unprivileged user: the verdicts of their checks, by name, and each
 * side's observed TCP state path, from the JSON report (and the trace where
 * the scenario is about particular segments).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(scenarios, name, 30)

static char cmd_buf[2][1024];

/* A command running tcp_client with args after WAIT_7000, output to
 * DIR/client.out. */
static const char *sc_client(const struct run_result *r, const char *args)
{
	return client_cmd(r, CL_WAIT, args);
}

/* A command running echo_server with args, output to DIR/server.out. */
static const char *server_cmd(const struct run_result *r, const char *args,
			      const char *after)
{
	snprintf(cmd_buf[1], sizeof(cmd_buf[1]), "%s/echo_server %s > %s%s", FL_TARGETS,
		 args, rr_path(r, "server.out"), after ? after : "");
	return cmd_buf[1];
}

/*
 * faultline run -r SCENARIO --trace --report --timeout TIMEOUT --settle SETTLE
 * --driver DRIVER -- sh -c TARGET.
 * client_first: the target is the client (the driver starts 1ms after it;
 * the target's command waits for the listener itself).
 */
static void run_sc_timeout(struct run_result *r, enum as_user u, const char *scenario,
			   const char *driver, const char *target, int client_first,
			   const char *settle, const char *timeout)
{
	rr_faultline(r, u, &(struct fl_args){
		.rules = {scenario}, .timeout = timeout, .settle = settle,
		.opts = client_first ? "--ready-delay 1ms" : NULL, .driver = driver,
		.sh = target, .wait_s = 25});
}

/* run_sc_timeout with --timeout 20s. */
static void run_sc_settle(struct run_result *r, enum as_user u, const char *scenario,
			  const char *driver, const char *target, int client_first,
			  const char *settle)
{
	run_sc_timeout(r, u, scenario, driver, target, client_first, settle, "20s");
}

/* run_sc_settle, waiting 5s after the driver exits (the targets end by
 * themselves). */
static void run_sc(struct run_result *r, enum as_user u, const char *scenario,
		   const char *driver, const char *target, int client_first)
{
	run_sc_settle(r, u, scenario, driver, target, client_first, "5s");
}

/* check_ok, asserting the verdict wanted and quoting the evidence. */
static void want_check(json_object *rep, const char *name, int ok)
{
	cr_assert_eq(check_ok(rep, name), ok, "%s: %s", name,
		     js(report_check(rep, name), "detail"));
}

/* Every check of the report but the one named `but` (which must exist
 * and fail) passed. */
static void all_ok_but(json_object *rep, const char *out, const char *but)
{
	json_object *checks = json_object_object_get(rep, "checks");

	cr_assert_not_null(checks);
	cr_assert(!check_ok(rep, but), "%s passed\n%s", but, out);
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);

		if (!strcmp(js(c, "name"), but))
			continue;
		cr_assert(json_object_get_boolean(json_object_object_get(c, "ok")),
			  "check %s failed: %s\n%s", js(c, "name"), js(c, "detail"), out);
	}
}

/* Every check of the report passed (names the first that did not). */
static void all_ok(json_object *rep, const char *out)
{
	json_object *checks = json_object_object_get(rep, "checks");

	cr_assert_not_null(checks);
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);

		cr_assert(json_object_get_boolean(json_object_object_get(c, "ok")),
			  "check %s failed: %s\n%s", js(c, "name"), js(c, "detail"), out);
	}
}

/* ---- passive-close.rules ---------------------------------------------- */

#define PASSIVE_PATH "ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"

/* echo_server reads 0 and closes at once: every check holds, and the
 * server goes the textbook passive close. */
BOTH(passive_close)
{
	struct run_result r;
	json_object *rep, *fl;

	rr_init(&r);
	run_sc(&r, u, SC("passive-close.rules"), sc_client(&r, "-p 7000 --rtt 1"),
	       server_cmd(&r, "-p 7000 -n 1", NULL), 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert(check_ok(rep, "no-close-wait 1s"));
	cr_assert(check_ok(rep, "eof-close 1s"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "server");
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	cr_assert_str_eq(path_of(fl, "states"), "SYN_RECV > " PASSIVE_PATH);
	cr_assert(!strncmp(path_of(fl, "client_states"),
			   "SYN_SENT > ESTABLISHED > FIN_WAIT1 > ", 37),
		  "%s", path_of(fl, "client_states"));
	json_object_put(rep);
	rr_free(&r);
}

/* A server that closes 2.5s after EOF: the path is still the textbook one,
 * but no-close-wait 1s and eof-close 1s fail with its CLOSE_WAIT time. */
BOTH(passive_close_late)
{
	struct run_result r;
	json_object *rep, *fl;
	const char *d;
	double cw;

	rr_init(&r);
	run_sc(&r, u, SC("passive-close.rules"), sc_client(&r, "-p 7000 --rtt 1"),
	       server_cmd(&r, "-p 7000 -n 1 --close-after-eof-ms 2500", NULL), 0);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert(!check_ok(rep, "no-close-wait 1s"));
	cr_assert(!check_ok(rep, "eof-close 1s"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 0"));
	d = js(report_check(rep, "no-close-wait 1s"), "detail");
	cr_assert(strstr(d, "target server socket in CLOSE_WAIT until its FIN at "), "%s", d);
	cr_assert_eq(sscanf(strstr(d, "until its FIN at "), "until its FIN at %*fs (%lfs)", &cw),
		     1, "%s", d);
	cr_assert(cw >= 2.4 && cw < 3.5, "CLOSE_WAIT %.3fs: %s", cw, d);
	fl = only_flow(rep);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	/* The server's ACK of the FIN comes alone, its FIN 2.5s later. */
	cr_assert_str_eq(path_of(fl, "client_states"),
			 "SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT");
	json_object_put(rep);
	rr_free(&r);
}

/* ---- active-close-time-wait.rules ------------------------------------- */

#define ACTIVE_PATH "SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"
#define ACTIVE_CLOSE_PATH "ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"

/* tcp_client closes first, its peer 300ms after EOF: FIN_WAIT2 between,
 * one TIME_WAIT socket left on the client's side. */
BOTH(active_close_time_wait)
{
	struct run_result r;
	json_object *rep, *fl;

	rr_init(&r);
	run_sc(&r, u, SC("active-close-time-wait.rules"),
	       server_cmd(&r, "-p 7000 -n 1 --close-after-eof-ms 300", NULL),
	       sc_client(&r, "-p 7000 --rtt 1"), 1);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path client ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"));
	cr_assert(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert(check_ok(rep, "time-wait <= 1"));
	cr_assert(strstr(js(report_check(rep, "time-wait <= 1"), "detail"),
			 "1 socket in TIME_WAIT"), "%s",
		  js(report_check(rep, "time-wait <= 1"), "detail"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"), ACTIVE_PATH);
	cr_assert_str_eq(path_of(fl, "states"), ACTIVE_PATH);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	cr_assert(strstr(rr_read(&r, "client.out"), "DONE t_us="));
	json_object_put(rep);
	rr_free(&r);
}

/* ---- time-wait-pile.rules --------------------------------------------- */

/* Connections of the time-wait-pile runs, one after the other. */
#define TW_CONNS 10
#define STR_(x) #x
#define STR(x) STR_(x)

/* TW_CONNS clients, each one round trip, closing 250ms after it (longer
 * than a delayed ACK waits, ~40ms on loopback: a server that closed first
 * sees its FIN acknowledged before the client's FIN); output to
 * DIR/client.out. */
static const char *tw_clients(const struct run_result *r)
{
	snprintf(cmd_buf[0], sizeof(cmd_buf[0]),
		 WAIT_7000 "for i in $(seq " STR(TW_CONNS) "); do %s/tcp_client -p 7000 --rtt 1 "
		 "--hold-ms 250 || exit 1; done > %s",
		 FL_TARGETS, rr_path(r, "client.out"));
	return cmd_buf[0];
}

/* On each of the report's TW_CONNS flows the first FIN came from `side`
 * ('c' or 's'). */
static void first_fins_from(const struct run_result *r, char side)
{
	json_object *tr = rr_trace(r);
	char first[TW_CONNS + 1] = {0};

	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		long long id = ji(ev, "flow");

		if (is_pkt(ev, "client", "FIN") || is_pkt(ev, "server", "FIN")) {
			cr_assert(id >= 1 && id <= TW_CONNS, "FIN on flow %lld", id);
			if (!first[id])
				first[id] = js(ev, "from")[0];
		}
	}
	json_object_put(tr);
	for (int i = 1; i <= TW_CONNS; i++)
		cr_assert_eq(first[i], side, "flow %d: first FIN from '%c'", i, first[i]);
}

/* echo_server waits for each client's FIN: the clients close first and
 * hold the TIME_WAIT sockets, the server none; every flow is the textbook
 * passive close on the server's side. */
BOTH(time_wait_pile_correct)
{
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_sc(&r, u, SC("time-wait-pile.rules"), tw_clients(&r),
	       server_cmd(&r, "-p 7000 -n " STR(TW_CONNS), NULL), 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "time-wait <= 1"));
	cr_assert_str_eq(js(report_check(rep, "time-wait <= 1"), "detail"),
			 "0 sockets in TIME_WAIT on the target's side at the end (at most 1 "
			 "allowed)");
	cr_assert(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert_str_eq(js(report_check(rep, "path server " PASSIVE_PATH), "detail"),
			 STR(TW_CONNS) " flows went " PASSIVE_PATH);
	flows = json_object_object_get(rep, "flows");
	cr_assert_eq(json_object_array_length(flows), TW_CONNS);
	for (size_t i = 0; i < TW_CONNS; i++) {
		json_object *fl = json_object_array_get_idx(flows, i);
		const char *cp = path_of(fl, "client_states");

		cr_assert_str_eq(js(fl, "target_side"), "server", "flow %zu", i + 1);
		cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH,
				 "flow %zu", i + 1);
		/* The TIME_WAIT is the client's (through FIN_WAIT2 only if the
		 * server's ACK of the FIN left before its own FIN). */
		cr_assert(!strncmp(cp, "SYN_SENT > ESTABLISHED > FIN_WAIT1 > ", 37) &&
			  !strcmp(cp + strlen(cp) - 9, "TIME_WAIT"),
			  "flow %zu: %s", i + 1, cp);
	}
	first_fins_from(&r, 'c');
	cr_assert_eq(count_lines(rr_read(&r, "client.out"), "DONE"), TW_CONNS);
	cr_assert_eq(count_lines(rr_read(&r, "server.out"), "CLOSE"), TW_CONNS);
	json_object_put(rep);
	rr_free(&r);
}

/* tw_pile_server closes each connection first, right after its reply:
 * every flow leaves a TIME_WAIT socket on the server's side, and the
 * time-wait check fails with their count; the server's path is the active
 * close on every flow, the client's the passive one. */
BOTH(time_wait_pile_server_closes_first)
{
	struct run_result r;
	json_object *rep, *flows;
	const char *d;

	rr_init(&r);
	snprintf(cmd_buf[1], sizeof(cmd_buf[1]),
		 "exec %s/tw_pile_server -p 7000 -n " STR(TW_CONNS) " > %s", FL_TARGETS,
		 rr_path(&r, "server.out"));
	run_sc(&r, u, SC("time-wait-pile.rules"), tw_clients(&r), cmd_buf[1], 0);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_not(check_ok(rep, "time-wait <= 1"));
	cr_assert_str_eq(js(report_check(rep, "time-wait <= 1"), "detail"),
			 STR(TW_CONNS) " sockets in TIME_WAIT on the target's side at the end "
			 "(at most 1 allowed): the target closes first (active close) too often");
	cr_assert_not(check_ok(rep, "path server " PASSIVE_PATH));
	d = js(report_check(rep, "path server " PASSIVE_PATH), "detail");
	cr_assert(!strncmp(d, "flow 1 server: observed SYN_RECV > ", 35) &&
		  strstr(d, "FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT; expected " PASSIVE_PATH
			    "; flow 2 server: observed SYN_RECV > "),
		  "%s", d);
	cr_assert(check_ok(rep, "driver"));
	cr_assert(check_ok(rep, "timeout"));
	flows = json_object_object_get(rep, "flows");
	cr_assert_eq(json_object_array_length(flows), TW_CONNS);
	for (size_t i = 0; i < TW_CONNS; i++) {
		json_object *fl = json_object_array_get_idx(flows, i);
		const char *sp = path_of(fl, "server_states");

		cr_assert_str_eq(js(fl, "target_side"), "server", "flow %zu", i + 1);
		/* The server sends nothing between the SYN,ACK and its FIN
		 * but the reply, which is not queued: the harness learns its
		 * ESTABLISHED from the FIN, or misses it when a sock_diag
		 * sample finds the socket in FIN_WAIT1 (close() done) before
		 * the FIN is processed. */
		cr_assert(!strcmp(sp, "SYN_RECV > " ACTIVE_CLOSE_PATH) ||
			  !strcmp(sp, "SYN_RECV > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"),
			  "flow %zu: %s", i + 1, sp);
		cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > " PASSIVE_PATH,
				 "flow %zu", i + 1);
	}
	first_fins_from(&r, 's');
	cr_assert_eq(count_lines(rr_read(&r, "server.out"), "REPLY"), TW_CONNS);
	cr_assert_eq(count_lines(rr_read(&r, "client.out"), "DONE"), TW_CONNS);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- lost-final-ack.rules --------------------------------------------- */

/* The client's final ACK dropped once: the server (LAST_ACK) sends its FIN
 * again, the client (TIME_WAIT) acknowledges it again with an ACK, not an
 * RST, and the server reaches CLOSE. */
BOTH(lost_final_ack)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	int server_fins = 0, dropped = 0, reacked = 0, rsts = 0;
	long long fin_seq = -1;

	rr_init(&r);
	run_sc(&r, u, SC("lost-final-ack.rules"),
	       server_cmd(&r, "-p 7000 -n 1 --close-after-eof-ms 300", " && sleep 1"),
	       sc_client(&r, "-p 7000 --rtt 1"), 1);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	fl = only_flow(rep);
	cr_assert_str_eq(path_of(fl, "client_states"), ACTIVE_PATH);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	cr_assert_eq(ji(fl, "faults"), 1);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "RST"))
			rsts++;
		if (is_pkt(ev, "server", "FIN")) {
			if (server_fins++ == 0)
				fin_seq = ji(ev, "seq");
			else
				cr_assert_eq(ji(ev, "seq"), fin_seq, "retransmitted FIN");
		} else if (is_pkt(ev, "client", "ACK") && server_fins > 0 &&
			   !strstr(js(ev, "flags"), "FIN")) {
			if (!strcmp(js(ev, "verdict"), "drop")) {
				cr_assert_eq(server_fins, 1);
				cr_assert_eq(ji(ev, "ack"), fin_seq + 1);
				dropped++;
			} else if (server_fins == 2 && !strcmp(js(ev, "verdict"), "pass")) {
				cr_assert_eq(ji(ev, "ack"), fin_seq + 1);
				reacked++;
			}
		}
	}
	cr_assert_eq(dropped, 1, "the final ACK dropped once");
	cr_assert_eq(server_fins, 2, "one FIN, one retransmission");
	cr_assert_eq(reacked, 1, "the TIME_WAIT side acknowledges the second FIN");
	cr_assert_eq(rsts, 0, "no RST from the TIME_WAIT side");
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* The active closer sets SO_LINGER {1,0} before close() (tcp_client
 * --linger-zero), "to avoid TIME_WAIT": an RST instead of a FIN, no
 * TIME_WAIT on either side, so there is no final ACK for the rule to lose.
 * no-linger-abort fails naming the setsockopt(), the client's path fails
 * (ESTABLISHED > CLOSE), and so does the server's: its read() fails with
 * ECONNRESET, so the peer reports an error for a connection that ended
 * normally (echo_server exits 1: the driver check fails). */
BOTH(lost_final_ack_linger_zero)
{
	struct run_result r;
	json_object *rep, *fl, *tr, *faults;
	const char *d, *local;
	char want[200];
	int client_rst = 0, fins = 0, lingers = 0;
	double t_linger = -1, t_rst = -1;

	rr_init(&r);
	run_sc(&r, u, SC("lost-final-ack.rules"),
	       server_cmd(&r, "-p 7000 -n 1 --close-after-eof-ms 300", " && sleep 1"),
	       sc_client(&r, "-p 7000 --rtt 1 --linger-zero"), 1);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_not(check_ok(rep, "no-linger-abort"));
	cr_assert_not(check_ok(rep, "path client ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"));
	cr_assert_not(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert_not(check_ok(rep, "driver"));
	cr_assert(check_ok(rep, "time-wait <= 1"));
	cr_assert(check_ok(rep, "exit 0"));
	cr_assert(check_ok(rep, "timeout"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	/* The evidence names the setsockopt: when, which process, fd, flow. */
	local = line_field(rr_read(&r, "client.out"), "CONNECTED", "local");
	cr_assert_not_null(local, "%s", rr_read(&r, "client.out"));
	cr_assert_str_eq(js(fl, "client"), local);
	d = js(report_check(rep, "no-linger-abort"), "detail");
	snprintf(want, sizeof(want), " fd 3 flow 1 (%s <-> 127.0.0.1:7000)", local);
	cr_assert(!strncmp(d, "SO_LINGER {1,0} set at ", 23) && strstr(d, "s on pid ") &&
		  strstr(d, want) && !strchr(d, ';'), "%s\nwant %s", d, want);
	cr_assert(strstr(js(report_check(rep, "path client ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > "
						"TIME_WAIT"), "detail"),
			 "observed SYN_SENT > ESTABLISHED > CLOSE;"));
	cr_assert_str_eq(js(report_check(rep, "time-wait <= 1"), "detail"),
			 "0 sockets in TIME_WAIT on the target's side at the end (at most 1 "
			 "allowed)");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > ESTABLISHED > CLOSE");
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > ESTABLISHED > CLOSE");
	/* No final ACK was ever sent: the drop rule never acted. */
	cr_assert_eq(ji(fl, "faults"), 0);
	faults = json_object_object_get(rep, "faults");
	cr_assert_eq(json_object_array_length(faults), 1);
	cr_assert_eq(ji(json_object_array_get_idx(faults, 0), "count"), 0);
	/* The client: one round trip, then close() at once (it returned 0). */
	cr_assert_str_eq(line_field(rr_read(&r, "client.out"), "RTT", "i"), "1");
	cr_assert(strstr(rr_read(&r, "client.out"), "\nDONE t_us="));
	/* The server: its read() fails with ECONNRESET after the 1 byte. */
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "errno"),
			 "ECONNRESET", "%s", rr_read(&r, "server.out"));
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "bytes"), "1");
	cr_assert_null(line_field(rr_read(&r, "server.out"), "EOF", "bytes"));
	/* The wire: setsockopt(SO_LINGER {1,0}), then one RST from the client
	 * and no FIN from either side. */
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (js(ev, "fn") && !strcmp(js(ev, "fn"), "setsockopt") &&
		    js(ev, "opt") && !strcmp(js(ev, "opt"), "SO_LINGER")) {
			json_object *v = json_object_object_get(ev, "val");

			cr_assert_eq(ji(v, "onoff"), 1);
			cr_assert_eq(ji(v, "linger"), 0);
			cr_assert_eq(ji(ev, "flow"), 1);
			t_linger = jd(ev, "t");
			lingers++;
		}
		if (is_pkt(ev, "client", "RST")) {
			t_rst = jd(ev, "t");
			client_rst++;
		}
		fins += is_pkt(ev, "client", "FIN") || is_pkt(ev, "server", "FIN");
	}
	cr_assert_eq(lingers, 1);
	cr_assert_eq(client_rst, 1);
	cr_assert_eq(fins, 0, "no FIN: the connection was aborted");
	cr_assert_lt(t_linger, t_rst, "SO_LINGER set before the RST");
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- simultaneous-close.rules ----------------------------------------- */

#define SIMUL_PATH "ESTABLISHED > FIN_WAIT1 > CLOSING > TIME_WAIT"

/* Both FINs in flight at once: CLOSING on both sides, both end in
 * TIME_WAIT; the trace shows each FIN sent before the other arrived. */
BOTH(simultaneous_close)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	double fin_sent[2] = {-1, -1}, fin_arrives[2] = {-1, -1};

	rr_init(&r);
	run_sc(&r, u, SC("simultaneous-close.rules"),
	       sc_client(&r, "-p 7000 --rtt 1 --hold-ms 30"),
	       "exec " FL_TARGETS "/sc_reply_close -p 7000 --wait-ms 30", 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path client " SIMUL_PATH));
	cr_assert(check_ok(rep, "path server " SIMUL_PATH));
	cr_assert(check_ok(rep, "time-wait <= 1"));
	cr_assert(strstr(js(report_check(rep, "time-wait <= 1"), "detail"),
			 "1 socket in TIME_WAIT"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "server");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > " SIMUL_PATH);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " SIMUL_PATH);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		int s = -1;

		if (is_pkt(ev, "client", "FIN"))
			s = 0;
		else if (is_pkt(ev, "server", "FIN"))
			s = 1;
		if (s < 0 || fin_sent[s] >= 0)
			continue;
		cr_assert_str_eq(js(ev, "verdict"), "delay");
		fin_sent[s] = jd(ev, "t");
		fin_arrives[s] = jd(ev, "t") + jd(ev, "delay");
	}
	cr_assert(fin_sent[0] >= 0 && fin_sent[1] >= 0, "both FINs in the trace");
	cr_assert_lt(fin_sent[0], fin_arrives[1], "client FIN sent before the server's arrived");
	cr_assert_lt(fin_sent[1], fin_arrives[0], "server FIN sent before the client's arrived");
	cr_assert(strstr(rr_read(&r, "client.out"), "DONE t_us="));
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- half-close.rules ------------------------------------------------- */

/* tcp_client sends 4 MiB, shuts down its sending half and reads the rest of
 * the echo: FIN_WAIT2 while the server's data still arrives, the echo
 * intact, then TIME_WAIT. */
BOTH(half_close)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out;
	char sent_fnv[32];
	double fin_t = -1;
	int data_after_fin = 0;

	rr_init(&r);
	run_sc(&r, u, SC("half-close.rules"),
	       server_cmd(&r, "-p 7000 -n 1 --close-after-eof-ms 200", NULL),
	       sc_client(&r, "-p 7000 --send 4194304 --half-close"), 1);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path client ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"));
	cr_assert(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert(check_ok(rep, "eof-close 1s"));
	cr_assert(check_ok(rep, "no-unread-close"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"), ACTIVE_PATH);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	/* The data, intact both ways. */
	out = rr_read(&r, "client.out");
	cr_assert(strstr(out, "SHUTDOWN_WR t_us="), "%s", out);
	cr_assert_not_null(line_field(out, "SENT", "fnv"), "%s", out);
	snprintf(sent_fnv, sizeof(sent_fnv), "%s", line_field(out, "SENT", "fnv"));
	cr_assert_str_eq(line_field(out, "RECEIVED", "bytes"), "4194304", "%s", out);
	cr_assert_str_eq(line_field(out, "RECEIVED", "fnv"), sent_fnv, "%s", out);
	cr_assert_str_eq(line_field(out, "EOF", "bytes"), "4194304", "%s", out);
	out = rr_read(&r, "server.out");
	cr_assert_str_eq(line_field(out, "EOF", "fnv"), sent_fnv, "%s", out);
	/* Server data reached the client after the client's FIN had left. */
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "FIN") && fin_t < 0)
			fin_t = jd(ev, "t");
		else if (fin_t >= 0 && is_pkt(ev, "server", "ACK") && ji(ev, "len") > 0 &&
			 jd(ev, "t") + (json_object_object_get(ev, "delay") ? jd(ev, "delay") : 0) >
				 fin_t)
			data_after_fin++;
	}
	cr_assert_geq(fin_t, 0, "no client FIN in the trace");
	cr_assert_gt(data_after_fin, 0, "no server data after the client's FIN");
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* tcp_client --no-read --skip-eof: sends 10000 bytes, shuts down its
 * sending half and closes 300ms later without reading the echo, let alone
 * EOF (the peer, to be sure to close later, closes 1s after EOF): the
 * whole echo is unread, so the kernel answers the close() with an RST.
 * no-unread-close and both paths fail (no TIME_WAIT, no LAST_ACK: the
 * server never sends its FIN); eof-close has no EOF to judge and holds, as
 * do no-fd-leak and exit 0. */
BOTH(half_close_unread)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out, *d;
	char sent_fnv[32], want[160];
	int client_fin = 0, client_rst = 0, server_fin = 0, closes = 0;
	long long echo = 0;

	rr_init(&r);
	run_sc(&r, u, SC("half-close.rules"),
	       server_cmd(&r, "-p 7000 -n 1 --close-after-eof-ms 1000", NULL),
	       sc_client(&r, "-p 7000 --send 10000 --half-close --no-read --skip-eof "
			      "--hold-ms 300"),
	       1);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_not(check_ok(rep, "no-unread-close"));
	cr_assert_not(check_ok(rep, "path client ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"));
	cr_assert_not(check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert(check_ok(rep, "eof-close 1s"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 0"));
	cr_assert(check_ok(rep, "driver"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_eq(ji(fl, "faults"), 0);
	/* The evidence: the close(), the unread echo, the flow, the RST. */
	d = js(report_check(rep, "no-unread-close"), "detail");
	cr_assert(!strncmp(d, "close() at ", 11) && strstr(d, " with 10000 unread bytes on pid ") &&
		  strstr(d, " fd 3 flow 1 (") &&
		  strstr(d, "): the kernel sent RST instead of FIN"), "%s", d);
	snprintf(want, sizeof(want), "flow 1 (%s <-> 127.0.0.1:7000)", js(fl, "client"));
	cr_assert(strstr(d, want), "%s\nwant %s", d, want);
	cr_assert(strstr(js(report_check(rep, "path client ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > "
						"TIME_WAIT"), "detail"),
			 "observed SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > CLOSE;"));
	cr_assert(strstr(js(report_check(rep, "path server " PASSIVE_PATH), "detail"),
			 "observed SYN_RECV > ESTABLISHED > CLOSE_WAIT > CLOSE;"));
	cr_assert_str_eq(js(report_check(rep, "eof-close 1s"), "detail"),
			 "0 EOFs, each closed within 1.000s");
	cr_assert_str_eq(path_of(fl, "client_states"),
			 "SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > CLOSE");
	cr_assert_str_eq(path_of(fl, "server_states"),
			 "SYN_RECV > ESTABLISHED > CLOSE_WAIT > CLOSE");
	/* The client sent everything, read nothing; the server got all of it
	 * and its EOF, and wrote the echo back without an error. */
	out = rr_read(&r, "client.out");
	cr_assert(strstr(out, "SHUTDOWN_WR t_us=") && strstr(out, "\nDONE t_us="), "%s", out);
	cr_assert_str_eq(line_field(out, "SENT", "bytes"), "10000", "%s", out);
	snprintf(sent_fnv, sizeof(sent_fnv), "%s", line_field(out, "SENT", "fnv"));
	cr_assert_null(line_field(out, "RECEIVED", "bytes"), "%s", out);
	cr_assert_null(line_field(out, "EOF", "bytes"), "%s", out);
	out = rr_read(&r, "server.out");
	cr_assert_str_eq(line_field(out, "EOF", "bytes"), "10000", "%s", out);
	cr_assert_str_eq(line_field(out, "EOF", "fnv"), sent_fnv, "%s", out);
	cr_assert(!strstr(out, "_ERROR"), "%s", out);
	/* On the wire: the client's FIN, the whole echo, then the client's
	 * RST with the echo unread; no FIN from the server.  The close() call
	 * saw the 10000 bytes unread. */
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "FIN"))
			client_fin++;
		else if (is_pkt(ev, "client", "RST")) {
			cr_assert_eq(client_fin, 1, "the RST after the FIN");
			cr_assert_eq(echo, 10000, "the RST after the whole echo");
			client_rst++;
		} else if (is_pkt(ev, "server", "ACK") && ji(ev, "len") > 0) {
			cr_assert_eq(client_rst, 0);
			echo += ji(ev, "len");
		}
		server_fin += is_pkt(ev, "server", "FIN");
		if (js(ev, "fn") && !strcmp(js(ev, "fn"), "close") && ji(ev, "flow") == 1) {
			cr_assert_eq(ji(ev, "unread"), 10000, "%s", json_object_to_json_string(ev));
			closes++;
		}
	}
	cr_assert_eq(closes, 1);
	cr_assert_eq(client_fin, 1);
	cr_assert_eq(client_rst, 1);
	cr_assert_eq(server_fin, 0, "the reset server never sends its FIN");
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- connect-timeout.rules, connect-refused.rules --------------------- */

/* Every SYN lost: connect() times out after --connect-timeout-ms with
 * ETIMEDOUT; the socket went SYN_SENT > CLOSE and was closed. */
BOTH(connect_timeout)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out;
	int syns = 0;

	rr_init(&r);
	snprintf(cmd_buf[0], sizeof(cmd_buf[0]),
		 "exec %s/tcp_client -p 7000 --connect-timeout-ms 1000 > %s", FL_TARGETS,
		 rr_path(&r, "client.out"));
	run_sc(&r, u, SC("connect-timeout.rules"), "true", cmd_buf[0], 1);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path client SYN_SENT > CLOSE"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 1"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > CLOSE");
	cr_assert_str_eq(path_of(fl, "server_states"), "", "the server saw nothing");
	out = rr_read(&r, "client.out");
	cr_assert_str_eq(line_field(out, "CONNECT_ERROR", "errno"), "ETIMEDOUT", "%s", out);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "SYN")) {
			cr_assert_str_eq(js(ev, "verdict"), "drop");
			syns++;
		}
		cr_assert(!is_pkt(ev, "server", "SYN"), "no SYN,ACK");
	}
	cr_assert_geq(syns, 1);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* A client that leaves the connect to the kernel (a deadline longer than
 * the kernel's own, which is what a blocking connect() gets): the SYN is
 * retransmitted, 1s apart at first (RFC 6298's initial RTO; Linux 6.5 and
 * later keep that interval for net.ipv4.tcp_syn_linear_timeouts = 4
 * retries, older kernels double it at once) and connect() would fail only
 * after minutes.  Ended by --timeout 6s: timeout and exit 1 fail;
 * no-fd-leak holds (a connection still being made is not a leak); the path
 * fails: the kernel destroyed the socket only at the exit faultline caused. */
BOTH(connect_timeout_kernel)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out, *d;
	double t[16];
	int syns = 0;

	rr_init(&r);
	snprintf(cmd_buf[0], sizeof(cmd_buf[0]),
		 "exec %s/tcp_client -p 7000 --connect-timeout-ms 600000 > %s", FL_TARGETS,
		 rr_path(&r, "client.out"));
	run_sc_timeout(&r, u, SC("connect-timeout.rules"), "true", cmd_buf[0], 1, "20s", "6s");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_not(check_ok(rep, "timeout"));
	cr_assert_not(check_ok(rep, "exit 1"));
	/* Its connect was still pending when it was killed: an open
	 * connection attempt is not a leak. */
	cr_assert(check_ok(rep, "no-fd-leak"), "%s", js(report_check(rep, "no-fd-leak"), "detail"));
	/* The socket reached CLOSE only because faultline killed the
	 * program: that is not the program's path. */
	cr_assert_not(check_ok(rep, "path client SYN_SENT > CLOSE"));
	d = js(report_check(rep, "path client SYN_SENT > CLOSE"), "detail");
	cr_assert(strstr(d, "flow 1 client: observed SYN_SENT > CLOSE; CLOSE only after "
			    "faultline stopped the target at "), "%s", d);
	cr_assert(check_ok(rep, "driver"));
	cr_assert_str_eq(js(report_check(rep, "timeout"), "detail"),
			 "the run did not end within --timeout 6.000s");
	d = js(report_check(rep, "exit 1"), "detail");
	cr_assert(strstr(d, "target killed by SIGTERM at "), "%s", d);
	d = js(report_check(rep, "no-fd-leak"), "detail");
	cr_assert(!strncmp(d, "1 connection socket opened; 1 not closed, none after its "
			   "connection ended", 71), "%s", d);
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > CLOSE");
	cr_assert_str_eq(path_of(fl, "server_states"), "", "the server saw nothing");
	/* Still waiting when stopped: neither connected nor failed. */
	out = rr_read(&r, "client.out");
	cr_assert_null(line_field(out, "CONNECT_ERROR", "errno"), "%s", out);
	cr_assert_null(line_field(out, "CONNECTED", "local"), "%s", out);
	/* The SYN, retransmitted (same sequence number, one flow), every one
	 * dropped; the first retry 1s later, then each interval the same or
	 * double the one before. */
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "SYN")) {
			cr_assert_str_eq(js(ev, "verdict"), "drop");
			cr_assert_eq(ji(ev, "seq"), 0);
			cr_assert_eq(ji(ev, "flow"), 1);
			cr_assert_lt(syns, 16);
			t[syns++] = jd(ev, "t");
		}
		cr_assert(!is_pkt(ev, "server", "SYN"), "no SYN,ACK");
	}
	cr_assert(syns >= 3 && syns <= 7, "%d SYNs in 6s", syns);
	cr_assert(t[1] - t[0] > 0.9 && t[1] - t[0] < 1.5, "first retry after %.3fs", t[1] - t[0]);
	for (int i = 2; i < syns; i++) {
		double g = t[i] - t[i - 1], prev = t[i - 1] - t[i - 2];

		cr_assert((g > 0.8 * prev && g < 1.25 * prev) || (g > 1.6 * prev && g < 2.5 * prev),
			  "SYN %d: %.3fs after %.3fs", i + 1, g, prev);
	}
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* The SYN,ACK rewritten to RST,ACK: ECONNREFUSED on every attempt (the
 * client retries for 2s), every flow SYN_SENT > CLOSE, every socket
 * closed. */
BOTH(connect_refused)
{
	struct run_result r;
	json_object *rep, *flows;
	const char *out;
	size_t n;

	rr_init(&r);
	snprintf(cmd_buf[1], sizeof(cmd_buf[1]), "exec %s/echo_server -p 7000 > %s",
		 FL_TARGETS, rr_path(&r, "server.out"));
	run_sc_settle(&r, u, SC("connect-refused.rules"), cmd_buf[1],
		      sc_client(&r, "-p 7000"), 1, "500ms");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path client SYN_SENT > CLOSE"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 1"));
	out = rr_read(&r, "client.out");
	cr_assert_str_eq(line_field(out, "CONNECT_ERROR", "errno"), "ECONNREFUSED", "%s", out);
	cr_assert_null(line_field(out, "CONNECTED", "local"), "%s", out);
	flows = json_object_object_get(rep, "flows");
	n = json_object_array_length(flows);
	cr_assert_gt(n, 10, "the client retried: %zu flows", n);
	for (size_t i = 0; i < n; i++) {
		json_object *fl = json_object_array_get_idx(flows, i);

		cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > CLOSE", "flow %zu", i + 1);
	}
	cr_assert(strstr(js(report_check(rep, "no-fd-leak"), "detail"), "all closed"));
	cr_assert_null(line_field(rr_read(&r, "server.out"), "ACCEPT", "conn"));
	json_object_put(rep);
	rr_free(&r);
}

/* ---- unread-close.rules ----------------------------------------------- */

/* echo_server reads the whole request until EOF, then closes: a FIN, the
 * textbook passive close, every check holds. */
BOTH(unread_close_correct)
{
	struct run_result r;
	json_object *rep, *fl;

	rr_init(&r);
	run_sc(&r, u, SC("unread-close.rules"),
	       sc_client(&r, "-p 7000 --send 100000 --half-close"),
	       server_cmd(&r, "-p 7000 -n 1", NULL), 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "no-unread-close"));
	fl = only_flow(rep);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	cr_assert_str_eq(line_field(rr_read(&r, "client.out"), "EOF", "bytes"), "100000");
	json_object_put(rep);
	rr_free(&r);
}

/* sc_reply_close reads 1 byte of 100000 and closes: the kernel sends an
 * RST, not a FIN; no-unread-close and the path fail, the client's read
 * fails with ECONNRESET (so the driver check fails too). */
BOTH(unread_close_rst)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *d;
	int server_rst = 0, server_fin = 0;

	rr_init(&r);
	run_sc(&r, u, SC("unread-close.rules"),
	       sc_client(&r, "-p 7000 --send 100000 --half-close"),
	       "exec " FL_TARGETS "/sc_reply_close -p 7000 --read-max 1", 0);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert(!check_ok(rep, "path server " PASSIVE_PATH));
	cr_assert(!check_ok(rep, "no-unread-close"));
	cr_assert(check_ok(rep, "exit 0"));
	cr_assert(!check_ok(rep, "driver"));
	d = js(report_check(rep, "no-unread-close"), "detail");
	cr_assert(strstr(d, " unread bytes on pid ") &&
		  strstr(d, "the kernel sent RST instead of FIN"), "%s", d);
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "server");
	/* Closed by the RST: no LAST_ACK (CLOSE_WAIT only when the client's
	 * FIN got there before the server's close). */
	cr_assert(strstr(path_of(fl, "server_states"), "LAST_ACK") == NULL,
		  "%s", path_of(fl, "server_states"));
	cr_assert(!strcmp(path_of(fl, "server_states") +
			  strlen(path_of(fl, "server_states")) - 5, "CLOSE"),
		  "%s", path_of(fl, "server_states"));
	/* The client's shutdown(SHUT_WR) races the server's RST: its FIN may
	 * leave before the RST arrives (FIN_WAIT1), or not at all. */
	cr_assert(!strcmp(path_of(fl, "client_states"), "SYN_SENT > ESTABLISHED > CLOSE") ||
		  !strcmp(path_of(fl, "client_states"),
			  "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE"),
		  "%s", path_of(fl, "client_states"));
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		server_rst += is_pkt(ev, "server", "RST");
		server_fin += is_pkt(ev, "server", "FIN");
	}
	cr_assert_geq(server_rst, 1);
	cr_assert_eq(server_fin, 0);
	/* The reset reaches the client in a read() or, while it still
	 * sends, in a write(); when it came before the client's
	 * shutdown(SHUT_WR), that call fails with ENOTCONN (the socket is
	 * closed already). */
	cr_assert(strstr(rr_read(&r, "client.out"), "_ERROR errno=ECONNRESET") ||
		  strstr(rr_read(&r, "client.out"), "WRITE_ERROR errno=EPIPE") ||
		  strstr(rr_read(&r, "client.out"), "SHUTDOWN_ERROR errno=ENOTCONN"),
		  "%s", rr_read(&r, "client.out"));
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- rst-in-window.rules, reset-out-of-window.rules ------------------- */

/* A driver command: tcp_client with args, which must fail with exit 1
 * (its read fails with ECONNRESET), output to DIR/client.out. */
static const char *failing_client_cmd(const struct run_result *r, const char *args)
{
	snprintf(cmd_buf[0], sizeof(cmd_buf[0]),
		 WAIT_7000 "%s/tcp_client %s > %s; test $? -eq 1", FL_TARGETS, args,
		 rr_path(r, "client.out"));
	return cmd_buf[0];
}

/* The RST at RCV.NXT (in place of the client's second byte, after one
 * round trip) resets the server's connection: its read fails with
 * ECONNRESET, its path is ESTABLISHED > CLOSE, no CLOSE_WAIT, no FIN of
 * its own; the client's retransmitted data meets an RST. */
BOTH(rst_in_window)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	int injected = 0, server_fin = 0, server_rst = 0;

	rr_init(&r);
	run_sc(&r, u, SC("rst-in-window.rules"), failing_client_cmd(&r, "-p 7000 --rtt 3"),
	       server_cmd(&r, "-p 7000 -n 1", NULL), 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path server ESTABLISHED > CLOSE"));
	cr_assert(check_ok(rep, "no-close-wait 1s"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 1"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "server");
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > ESTABLISHED > CLOSE");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > ESTABLISHED > CLOSE");
	cr_assert_eq(ji(fl, "faults"), 1);
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "errno"),
			 "ECONNRESET", "%s", rr_read(&r, "server.out"));
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "bytes"), "1");
	cr_assert_str_eq(line_field(rr_read(&r, "client.out"), "READ_ERROR", "errno"),
			 "ECONNRESET", "%s", rr_read(&r, "client.out"));
	cr_assert_str_eq(line_field(rr_read(&r, "client.out"), "RTT", "i"), "1");
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "RST") && !strcmp(js(ev, "verdict"), "inject")) {
			cr_assert_eq(ji(ev, "seq"), 2, "RST at RCV.NXT");
			injected++;
		}
		server_fin += is_pkt(ev, "server", "FIN");
		server_rst += is_pkt(ev, "server", "RST");
	}
	cr_assert_eq(injected, 1);
	cr_assert_eq(server_fin, 0, "no FIN from the reset server");
	cr_assert_geq(server_rst, 1, "the retransmitted data meets an RST");
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* The RST at RCV.NXT+1: the server answers at once with a challenge ACK
 * (ACK, no data, ack = RCV.NXT), the client's data is retransmitted, all
 * three round trips complete and the close is the ordinary one: the
 * state paths are the textbook ones, untouched by the forged RST. */
BOTH(rst_out_of_window)
{
	struct run_result r;
	json_object *rep, *tr;
	const char *out;
	int state = 0, challenge = 0, client_fin = 0, server_fin = 0, resets = 0;

	rr_init(&r);
	run_sc(&r, u, SC("reset-out-of-window.rules"), sc_client(&r, "-p 7000 --rtt 3"),
	       server_cmd(&r, "-p 7000 -n 1", NULL), 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "no-close-wait 1s"));
	cr_assert(check_ok(rep, "eof-close 1s"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "driver"));
	cr_assert_eq(ji(only_flow(rep), "faults"), 1);
	cr_assert_str_eq(path_of(only_flow(rep), "server_states"),
			 "SYN_RECV > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE");
	/* FIN_WAIT2 shows only if the server's ACK leaves before its FIN. */
	cr_assert(!strcmp(path_of(only_flow(rep), "client_states"),
			  "SYN_SENT > ESTABLISHED > FIN_WAIT1 > TIME_WAIT") ||
		  !strcmp(path_of(only_flow(rep), "client_states"),
			  "SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"),
		  "%s", path_of(only_flow(rep), "client_states"));
	out = rr_read(&r, "client.out");
	cr_assert_not_null(line_field(out, "RTT", "i"), "%s", out);
	cr_assert(strstr(out, "RTT i=3 ") && strstr(out, "DONE t_us="), "%s", out);
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "EOF", "bytes"), "3");
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!js(ev, "ev") || strcmp(js(ev, "ev"), "pkt"))
			continue;
		if (state == 0 && is_pkt(ev, "client", "RST")) {
			cr_assert_str_eq(js(ev, "verdict"), "inject");
			cr_assert_eq(ji(ev, "seq"), 2, "RST at RCV.NXT+1");
			state = 1;
			continue;
		}
		if (state == 1) {
			/* The very next segment: the server's challenge ACK. */
			cr_assert(is_pkt(ev, "server", "ACK"), "%s", json_object_to_json_string(ev));
			cr_assert_str_eq(js(ev, "flags"), "ACK");
			cr_assert_eq(ji(ev, "len"), 0);
			cr_assert_eq(ji(ev, "ack"), 1, "acknowledges RCV.NXT");
			challenge++;
			state = 2;
		}
		client_fin += is_pkt(ev, "client", "FIN");
		server_fin += is_pkt(ev, "server", "FIN");
		resets += is_pkt(ev, "server", "RST") || (state == 2 && is_pkt(ev, "client", "RST"));
	}
	cr_assert_eq(challenge, 1, "a challenge ACK right after the RST");
	cr_assert_eq(resets, 0, "no other RST");
	cr_assert_eq(client_fin, 1);
	cr_assert_eq(server_fin, 1);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- write-after-peer-close.rules ------------------------------------- */

#define SIGPIPE_TARGET(ignore)                                                \
	ignore WAIT_7000 "exec " FL_TARGETS "/sigpipe_client -p 7000 > %s"

/* Runs sigpipe_client (SIGPIPE ignored or not) against sc_reply_close;
 * checks the part both runs share: the path, the first write after EOF
 * passes, the server's kernel answers it with an RST. */
static json_object *write_after_close(struct run_result *r, enum as_user u, int ignore)
{
	json_object *rep, *fl, *tr;
	int client_data_after_fin = 0, server_fin = 0, rst_after_data = 0;

	if (ignore)
		snprintf(cmd_buf[0], sizeof(cmd_buf[0]), SIGPIPE_TARGET("trap '' PIPE; "),
			 rr_path(r, "client.out"));
	else
		snprintf(cmd_buf[0], sizeof(cmd_buf[0]), SIGPIPE_TARGET(""),
			 rr_path(r, "client.out"));
	run_sc(r, u, SC("write-after-peer-close.rules"),
	       "exec " FL_TARGETS "/sc_reply_close -p 7000", cmd_buf[0], 1);
	rep = rr_report(r);
	cr_assert_not_null(rep, "%s%s", r->out, r->err);
	cr_assert(check_ok(rep, "path client ESTABLISHED > CLOSE_WAIT > CLOSE"));
	cr_assert(check_ok(rep, "driver"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"),
			 "SYN_SENT > ESTABLISHED > CLOSE_WAIT > CLOSE");
	cr_assert_str_eq(line_field(rr_read(r, "client.out"), "PEER_CLOSED", "how"), "EOF");
	tr = rr_trace(r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "server", "FIN"))
			server_fin++;
		else if (server_fin && is_pkt(ev, "client", "ACK") && ji(ev, "len") > 0)
			client_data_after_fin++;
		else if (client_data_after_fin && is_pkt(ev, "server", "RST"))
			rst_after_data++;
	}
	cr_assert_eq(server_fin, 1);
	cr_assert_eq(client_data_after_fin, 1, "one write after EOF reaches the wire");
	cr_assert_eq(rst_after_data, 1, "the closed peer answers it with an RST");
	json_object_put(tr);
	return rep;
}

/* SIGPIPE ignored: the second write fails with EPIPE, the program lives
 * on; every check holds. */
BOTH(write_after_peer_close_ignored)
{
	struct run_result r;
	json_object *rep;
	const char *out;

	rr_init(&r);
	rep = write_after_close(&r, u, 1);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "no-sigpipe"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 0"));
	cr_assert(strstr(js(report_check(rep, "no-sigpipe"), "detail"), "first EPIPE survived"));
	out = rr_read(&r, "client.out");
	cr_assert_null(line_field(out, "WRITE_ERROR i=1", "errno"), "%s", out);
	/* The write after the RST arrived fails (the 2nd, or a later one
	 * when the RST is slow to come on a loaded machine). */
	cr_assert(strstr(out, "errno=EPIPE "), "%s", out);
	cr_assert(strstr(out, "\nDONE"), "%s", out);
	json_object_put(rep);
	rr_free(&r);
}

/* SIGPIPE at its default: the second write kills the program; no-sigpipe
 * and exit 0 fail; no-fd-leak holds (the process's death released its
 * socket). */
BOTH(write_after_peer_close_sigpipe)
{
	struct run_result r;
	json_object *rep;
	const char *out;

	rr_init(&r);
	rep = write_after_close(&r, u, 0);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(!check_ok(rep, "no-sigpipe"));
	cr_assert(!check_ok(rep, "exit 0"));
	/* Its death released the socket: an exit is not a leak. */
	cr_assert(check_ok(rep, "no-fd-leak"), "%s", js(report_check(rep, "no-fd-leak"), "detail"));
	cr_assert(strstr(js(report_check(rep, "no-sigpipe"), "detail"), "died of SIGPIPE"),
		  "%s", js(report_check(rep, "no-sigpipe"), "detail"));
	out = rr_read(&r, "client.out");
	cr_assert(strstr(out, "WRITE i=2 "), "%s", out);
	cr_assert(!strstr(out, "WRITE_ERROR") && !strstr(out, "DONE"), "%s", out);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- lost-third-ack.rules --------------------------------------------- */

/* The handshake's ACK dropped: the client is ESTABLISHED at once, the
 * server stays in SYN_RECV until it retransmits its SYN,ACK (~1s) and the
 * client ACKs again; only then does accept() return. */
BOTH(lost_third_ack)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	int synacks = 0, dropped = 0;
	double t_synack[2] = {0, 0}, t_est = -1, t_drop = -1;

	rr_init(&r);
	run_sc(&r, u, SC("lost-third-ack.rules"), sc_client(&r, "-p 7000 --hold-ms 1500"),
	       server_cmd(&r, "-p 7000 -n 1", NULL), 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path server SYN_RECV > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	cr_assert(check_ok(rep, "no-close-wait 1s"));
	cr_assert(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "exit 0"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "server");
	cr_assert_eq(ji(fl, "faults"), 1);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > " PASSIVE_PATH);
	cr_assert(!strncmp(path_of(fl, "client_states"),
			   "SYN_SENT > ESTABLISHED > FIN_WAIT1 > ", 37),
		  "%s", path_of(fl, "client_states"));
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		const char *ty = js(ev, "ev");

		if (is_pkt(ev, "server", "SYN,ACK")) {
			cr_assert_lt(synacks, 2, "one SYN,ACK retransmission");
			t_synack[synacks++] = jd(ev, "t");
		} else if (is_pkt(ev, "client", "ACK") &&
			   !strcmp(js(ev, "verdict"), "drop")) {
			cr_assert_eq(synacks, 1, "the dropped ACK answers the first SYN,ACK");
			cr_assert_str_eq(js(ev, "flags"), "ACK");
			cr_assert_eq(ji(ev, "len"), 0);
			t_drop = jd(ev, "t");
			dropped++;
		} else if (ty && !strcmp(ty, "state") && !strcmp(js(ev, "side"), "server") &&
			   !strcmp(js(ev, "to"), "ESTABLISHED")) {
			t_est = jd(ev, "t");
		}
	}
	cr_assert_eq(dropped, 1);
	cr_assert_eq(synacks, 2, "SYN,ACK retransmitted");
	cr_assert(t_synack[1] - t_synack[0] > 0.8 && t_synack[1] - t_synack[0] < 3.5,
		  "retransmission after %.3fs", t_synack[1] - t_synack[0]);
	cr_assert_gt(t_est, t_synack[1], "server ESTABLISHED only after the retransmission");
	cr_assert_gt(t_est - t_drop, 0.8, "server %.3fs in SYN_RECV", t_est - t_drop);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- blackhole-user-timeout.rules ------------------------------------- */

/* Everything lost from the client's first data on: TCP_USER_TIMEOUT 1s
 * ends the connection and the read fails with ETIMEDOUT within 1-3s. */
BOTH(blackhole_user_timeout)
{
	struct run_result r;
	json_object *rep, *fl, *tr, *pg;
	const char *out;
	long elapsed;
	int dropped = 0;

	rr_init(&r);
	snprintf(cmd_buf[1], sizeof(cmd_buf[1]), "exec %s/echo_server -p 7000 > %s",
		 FL_TARGETS, rr_path(&r, "server.out"));
	run_sc_settle(&r, u, SC("blackhole-user-timeout.rules"), cmd_buf[1],
		      sc_client(&r, "-p 7000 --rtt 1 --user-timeout-ms 1000"), 1, "500ms");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	cr_assert(check_ok(rep, "path client SYN_SENT > ESTABLISHED > CLOSE"));
	cr_assert(check_ok(rep, "exit 1"));
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > ESTABLISHED > CLOSE");
	out = rr_read(&r, "client.out");
	cr_assert_str_eq(line_field(out, "READ_ERROR", "errno"), "ETIMEDOUT", "%s", out);
	elapsed = atol(line_field(out, "READ_ERROR", "elapsed_ms"));
	cr_assert(elapsed >= 1000 && elapsed <= 3000, "ETIMEDOUT after %ldms", elapsed);
	cr_assert_null(line_field(out, "RTT", "i"), "%s", out);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "ACK") && ji(ev, "len") > 0) {
			cr_assert_str_eq(js(ev, "verdict"), "drop");
			dropped++;
		}
		cr_assert(!is_pkt(ev, "client", "RST"), "the timed-out side sends nothing");
	}
	cr_assert_geq(dropped, 2, "data retransmitted into the blackhole");
	/* The retransmission timeout noticed, as TCP_USER_TIMEOUT had it. */
	cr_assert(check_ok(rep, "dead-peer 3s"));
	pg = json_object_object_get(fl, "peer_gone");
	cr_assert_not_null(pg, "%s", json_object_to_json_string(fl));
	cr_assert_str_eq(js(pg, "mechanism"), "retransmission-timeout");
	cr_assert_str_eq(js(pg, "errno"), "ETIMEDOUT");
	cr_assert_eq(ji(pg, "tcp_user_timeout_ms"), 1000);
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	cr_assert(jd(pg, "noticed") - jd(pg, "since") >= 1.0, "%s",
		  json_object_to_json_string(pg));
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* The same client without TCP_USER_TIMEOUT: nothing bounds the
 * retransmissions (tcp_retries2, ~15 minutes), so its read() blocks while
 * the kernel retransmits the byte into the blackhole at ever longer
 * intervals.  Ended by --timeout 6s (SIGTERM): timeout and exit 1 fail;
 * dead-peer 3s fails, nothing having noticed (mechanism "none"); the
 * client's path fails too (the kill closes the socket: FIN_WAIT1, its FIN
 * queued behind the unacknowledged byte). */
BOTH(blackhole_no_user_timeout)
{
	struct run_result r;
	json_object *rep, *fl, *tr, *pg;
	const char *out, *d;
	double t[16], t_stop;
	int dropped = 0, server_data = 0;

	rr_init(&r);
	snprintf(cmd_buf[1], sizeof(cmd_buf[1]), "exec %s/echo_server -p 7000 > %s",
		 FL_TARGETS, rr_path(&r, "server.out"));
	run_sc_timeout(&r, u, SC("blackhole-user-timeout.rules"), cmd_buf[1],
		       sc_client(&r, "-p 7000 --rtt 1"), 1, "500ms", "6s");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_not(check_ok(rep, "timeout"));
	cr_assert_not(check_ok(rep, "exit 1"));
	cr_assert_not(check_ok(rep, "dead-peer 3s"));
	cr_assert_not(check_ok(rep, "path client SYN_SENT > ESTABLISHED > CLOSE"));
	cr_assert(check_ok(rep, "driver"));
	cr_assert(check_ok(rep, "harness"));
	cr_assert_str_eq(js(report_check(rep, "timeout"), "detail"),
			 "the run did not end within --timeout 6.000s");
	d = js(report_check(rep, "exit 1"), "detail");
	cr_assert(strstr(d, "target killed by SIGTERM at ") &&
		  strstr(d, "(after faultline asked it to stop)"), "%s", d);
	t_stop = jd(json_object_object_get(json_object_object_get(rep, "target"), "exit"), "t");
	cr_assert(t_stop >= 6.0 && t_stop < 7.0, "target stopped at %.3fs", t_stop);
	fl = only_flow(rep);
	cr_assert_str_eq(js(fl, "target_side"), "client");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > ESTABLISHED > FIN_WAIT1");
	/* Nothing noticed: no error, no close, no option that could have. */
	pg = json_object_object_get(fl, "peer_gone");
	cr_assert_not_null(pg, "%s", json_object_to_json_string(fl));
	cr_assert_str_eq(js(pg, "mechanism"), "none");
	cr_assert_null(json_object_object_get(pg, "errno"));
	cr_assert_null(json_object_object_get(pg, "noticed"));
	cr_assert_null(json_object_object_get(pg, "closed"));
	cr_assert_null(json_object_object_get(pg, "tcp_user_timeout_ms"));
	cr_assert_not(json_object_get_boolean(json_object_object_get(pg, "so_keepalive")));
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	cr_assert_lt(jd(pg, "since"), 0.5, "the peer was last heard in the handshake");
	d = js(report_check(rep, "dead-peer 3s"), "detail");
	cr_assert(!strncmp(d, "flow 1: peer last heard at ", 27) &&
		  strstr(d, "; no error reached the program and the socket was still open when "
			    "the run ended, with data unacknowledged [SO_KEEPALIVE off, no "
			    "TCP_USER_TIMEOUT]; unacknowledged data is retransmitted for ~15 "
			    "minutes"), "%s", d);
	/* The request byte was never acknowledged (its FIN, when faultline
	 * stopped it, does not count). */
	cr_assert_eq(ji(pg, "unacked"), 1, "%s", json_object_to_json_string(pg));
	/* The client is still blocked in its first read: no error, no RTT. */
	out = rr_read(&r, "client.out");
	cr_assert_not_null(line_field(out, "CONNECTED", "local"), "%s", out);
	cr_assert_null(line_field(out, "READ_ERROR", "errno"), "%s", out);
	cr_assert_null(line_field(out, "RTT", "i"), "%s", out);
	cr_assert_null(line_field(rr_read(&r, "server.out"), "EOF", "bytes"));
	/* The byte retransmitted into the blackhole with exponential backoff
	 * (a tail loss probe first, then RTOs from 200ms, doubling), and no
	 * data ever from the server. */
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "ACK") && ji(ev, "len") > 0) {
			cr_assert_str_eq(js(ev, "verdict"), "drop");
			cr_assert_eq(ji(ev, "seq"), 1, "the same byte, again");
			cr_assert_eq(ji(ev, "len"), 1);
			cr_assert_lt(dropped, 16);
			t[dropped++] = jd(ev, "t");
		}
		server_data += is_pkt(ev, "server", "ACK") && ji(ev, "len") > 0;
		cr_assert(!is_pkt(ev, "client", "RST"));
	}
	cr_assert(dropped >= 5 && dropped <= 8, "%d data segments in 6s", dropped);
	for (int i = 2; i < dropped; i++)
		cr_assert_geq(t[i] - t[i - 1], 0.75 * (t[i - 1] - t[i - 2]),
			      "retransmission %d came sooner than the one before", i);
	cr_assert_gt(t[dropped - 1] - t[dropped - 2], 4 * (t[1] - t[0]),
		     "the intervals grow: %.3fs, then %.3fs", t[1] - t[0],
		     t[dropped - 1] - t[dropped - 2]);
	cr_assert_eq(server_data, 0);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- read-error.rules ------------------------------------------------- */

/* A command running TARGET (a program of tests/targets with its args),
 * output to DIR/server.out. */
static const char *target_cmd(const struct run_result *r, const char *target)
{
	snprintf(cmd_buf[1], sizeof(cmd_buf[1]), "exec %s/%s > %s", FL_TARGETS, target,
		 rr_path(r, "server.out"));
	return cmd_buf[1];
}

/* echo_server closes the reset connection at once: error-close holds. */
BOTH(read_error_closed)
{
	struct run_result r;
	json_object *rep, *fl;

	rr_init(&r);
	run_sc(&r, u, SC("read-error.rules"), failing_client_cmd(&r, "-p 7000 --rtt 3"),
	       server_cmd(&r, "-p 7000 -n 1", NULL), 0);
	/* echo_server exits 1 after the error, before faultline stops it:
	 * only the target check fails (the rules do not expect exit 1). */
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok_but(rep, r.out, "target");
	cr_assert(strstr(js(report_check(rep, "target"), "detail"), "target exit code 1 at "),
		  "%s", js(report_check(rep, "target"), "detail"));
	cr_assert_str_eq(js(report_check(rep, "error-close 500ms"), "detail"),
			 "1 failure, each closed within 0.500s");
	fl = only_flow(rep);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > ESTABLISHED > CLOSE");
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "errno"),
			 "ECONNRESET", "%s", rr_read(&r, "server.out"));
	json_object_put(rep);
	rr_free(&r);
}

/* echo_server --keep-on-error logs the error and forgets the socket:
 * error-close fails naming the read, its errno, the fd and flow, and
 * that no close came; no-fd-leak fails too. */
BOTH(read_error_forgotten)
{
	struct run_result r;
	json_object *rep, *fl;
	const char *d;
	char want[160];

	rr_init(&r);
	run_sc_settle(&r, u, SC("read-error.rules"), failing_client_cmd(&r, "-p 7000 --rtt 3"),
		      server_cmd(&r, "-p 7000 -n 1 --keep-on-error", NULL), 0, "1500ms");
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_not(check_ok(rep, "error-close 500ms"));
	cr_assert_not(check_ok(rep, "no-fd-leak"));
	cr_assert(check_ok(rep, "path server ESTABLISHED > CLOSE"));
	fl = only_flow(rep);
	d = js(report_check(rep, "error-close 500ms"), "detail");
	cr_assert(strstr(d, "read() failed with ECONNRESET at "), "%s", d);
	snprintf(want, sizeof(want), "flow 1 (127.0.0.1:7000 <-> %s); no close() by ",
		 js(fl, "client"));
	cr_assert(strstr(d, want), "%s\nwant %s", d, want);
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "errno"),
			 "ECONNRESET", "%s", rr_read(&r, "server.out"));
	json_object_put(rep);
	rr_free(&r);
}

/* ---- linger-abort.rules, linger-timeout.rules ------------------------- */

/* A driver: tcp_client --drain, output to DIR/client.out; exit status
 * `want` required of it. */
static const char *drain_cmd(const struct run_result *r, int want)
{
	snprintf(cmd_buf[0], sizeof(cmd_buf[0]),
		 WAIT_7000 "%s/tcp_client -p 7000 --drain --after-eof-ms 100 > %s; test $? -eq %d",
		 FL_TARGETS,
		 rr_path(r, "client.out"), want);
	return cmd_buf[0];
}

/* The close() call of the trace on the accepted socket (fd 4 and up). */
static double close_dur(json_object *tr, long *unsent)
{
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (js(ev, "fn") && !strcmp(js(ev, "fn"), "close") && ji(ev, "fd") >= 4 &&
		    js(ev, "state")) {
			*unsent = ji(ev, "unsent");
			return jd(ev, "dur");
		}
	}
	cr_assert_fail("no close() of the connection in the trace");
	return -1;
}

/* SO_LINGER off: close() returns at once with data unsent; the kernel
 * delivers it all when the window opens, then FIN; TIME_WAIT. */
BOTH(linger_off)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out, *sent;
	long unsent;

	rr_init(&r);
	run_sc(&r, u, SC("linger-abort.rules"), drain_cmd(&r, 0),
	       target_cmd(&r, "linger_server -p 7000 --send 1048576 --hold-ms 300 --linger off"),
	       0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	all_ok(rep, r.out);
	fl = only_flow(rep);
	cr_assert_str_eq(path_of(fl, "server_states"),
			 "SYN_RECV > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT");
	sent = line_field(rr_read(&r, "server.out"), "SENT", "bytes");
	cr_assert_not_null(sent, "%s", rr_read(&r, "server.out"));
	cr_assert_gt(atol(sent), 0);
	out = rr_read(&r, "client.out");
	cr_assert_str_eq(line_field(out, "EOF", "bytes"), sent, "%s", out);
	tr = rr_trace(&r);
	cr_assert_lt(close_dur(tr, &unsent), 0.1);
	cr_assert_eq(unsent, atol(sent), "all unsent at close(): the window was shut");
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* SO_LINGER {1,0}: RST at once, the unsent data thrown away, no TIME_WAIT
 * on either side, the peer's read fails with ECONNRESET. */
BOTH(linger_abort)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out;
	int rst = 0, fin = 0;

	rr_init(&r);
	run_sc(&r, u, SC("linger-abort.rules"), drain_cmd(&r, 1),
	       target_cmd(&r, "linger_server -p 7000 --send 1048576 --hold-ms 300 --linger 0"),
	       0);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	want_check(rep, "no-linger-abort", 0);
	want_check(rep, "path server ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT", 0);
	want_check(rep, "close-time <= 100ms", 1);
	want_check(rep, "no-fd-leak", 1);
	cr_assert(check_ok(rep, "driver"), "the peer was reset, as required");
	fl = only_flow(rep);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > ESTABLISHED > CLOSE");
	cr_assert_str_eq(path_of(fl, "client_states"), "SYN_SENT > ESTABLISHED > CLOSE");
	out = rr_read(&r, "client.out");
	cr_assert_str_eq(line_field(out, "READ_ERROR", "errno"), "ECONNRESET", "%s", out);
	cr_assert_lt(atol(line_field(out, "READ_ERROR", "received")),
		     atol(line_field(rr_read(&r, "server.out"), "SENT", "bytes")));
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		rst += is_pkt(ev, "server", "RST");
		fin += is_pkt(ev, "server", "FIN");
	}
	cr_assert_eq(rst, 1);
	cr_assert_eq(fin, 0);
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

/* SO_LINGER {1,1} with the window shut for 3s: close() blocks 1s and
 * returns 0 (no EWOULDBLOCK on Linux), with or without O_NONBLOCK; the
 * data still arrives later, then FIN.  close-time fails and says so. */
static void linger_timeout(enum as_user u, int nonblock)
{
	struct run_result r;
	json_object *rep, *fl, *tr;
	const char *out, *sent, *d;
	double dur;
	long unsent;

	rr_init(&r);
	run_sc(&r, u, SC("linger-timeout.rules"), drain_cmd(&r, 0),
	       target_cmd(&r, nonblock ? "linger_server -p 7000 --send 1048576 --hold-ms 300 "
					 "--linger 1 --nonblock"
				       : "linger_server -p 7000 --send 1048576 --hold-ms 300 "
					 "--linger 1"),
	       0);
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	want_check(rep, "close-time <= 100ms", 0);
	want_check(rep, "path server ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT", 1);
	want_check(rep, "no-fd-leak", 1);
	want_check(rep, "driver", 1);
	d = js(report_check(rep, "close-time <= 100ms"), "detail");
	cr_assert(strstr(d, "(SO_LINGER {1,1}, "), "%s", d);
	cr_assert(strstr(d, "the linger time ran out and close() returned 0"), "%s", d);
	fl = only_flow(rep);
	cr_assert_eq(ji(fl, "id"), 1);
	sent = line_field(rr_read(&r, "server.out"), "SENT", "bytes");
	cr_assert_not_null(sent, "%s", rr_read(&r, "server.out"));
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "CLOSE", "ret"), "0");
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "CLOSE", "errno"), "0");
	out = rr_read(&r, "client.out");
	cr_assert_str_eq(line_field(out, "EOF", "bytes"), sent, "%s", out);
	tr = rr_trace(&r);
	dur = close_dur(tr, &unsent);
	cr_assert(dur >= 0.95 && dur < 1.5, "close() took %.3fs", dur);
	cr_assert_eq(unsent, atol(sent));
	json_object_put(tr);
	json_object_put(rep);
	rr_free(&r);
}

BOTH(linger_timeout_blocking) { linger_timeout(u, 0); }
BOTH(linger_timeout_nonblock) { linger_timeout(u, 1); }

/* ---- idle-peer-gone.rules --------------------------------------------- */

/* The peer: one round trip, then 4s of silence, then close (lost). */
#define IDLE_PEER WAIT_7000 "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 1 --hold-ms 4000"

/* Runs idle_server with opts; returns the report, the flow in *fl and
 * its peer_gone object in *pg. */
static json_object *run_idle(struct run_result *r, enum as_user u, const char *opts,
			     int want_status, json_object **fl, json_object **pg)
{
	char target[256];
	json_object *rep;

	snprintf(target, sizeof(target), "idle_server -p 7000 %s", opts);
	run_sc_settle(r, u, SC("idle-peer-gone.rules"), IDLE_PEER, target_cmd(r, target), 0,
		      "3s");
	cr_assert_eq(r->status, want_status, "faultline exit %d\n%s%s", r->status, r->out,
		     r->err);
	rep = rr_report(r);
	cr_assert_not_null(rep);
	*fl = only_flow(rep);
	*pg = json_object_object_get(*fl, "peer_gone");
	cr_assert_not_null(*pg, "%s", json_object_to_json_string(*fl));
	cr_assert_lt(jd(*pg, "since"), 0.5, "the peer was last heard before the blackhole");
	return rep;
}

/* Keepalive 1s/1s/2: two probes at 1s and 2s, unanswered; ETIMEDOUT at
 * ~3s; the server closes; dead-peer holds and names keepalive. */
static void idle_keepalive(enum as_user u, const char *opts)
{
	struct run_result r;
	json_object *rep, *fl, *pg;
	double t;

	rr_init(&r);
	rep = run_idle(&r, u, opts, 0, &fl, &pg);
	all_ok(rep, r.out);
	cr_assert_str_eq(js(pg, "mechanism"), "keepalive");
	cr_assert_str_eq(js(pg, "errno"), "ETIMEDOUT");
	cr_assert_eq(ji(pg, "keepalive_probes"), 2, "%s", json_object_to_json_string(pg));
	cr_assert(json_object_get_boolean(json_object_object_get(pg, "so_keepalive")));
	t = jd(pg, "noticed") - jd(pg, "since");
	cr_assert(t > 2.8 && t < 4.0, "ETIMEDOUT %.3fs after the peer's last segment", t);
	cr_assert(jd(pg, "closed") - jd(pg, "noticed") < 0.1);
	cr_assert_str_eq(path_of(fl, "server_states"), "SYN_RECV > ESTABLISHED > CLOSE");
	cr_assert_str_eq(line_field(rr_read(&r, "server.out"), "READ_ERROR", "errno"),
			 "ETIMEDOUT", "%s", rr_read(&r, "server.out"));
	json_object_put(rep);
	rr_free(&r);
}

BOTH(idle_keepalive_on_socket) { idle_keepalive(u, "--keepalive 1,1,2"); }
/* Set on the listener, inherited by the accepted socket: seen as such. */
BOTH(idle_keepalive_on_listener) { idle_keepalive(u, "--keepalive 1,1,2 --on-listener"); }

/* A deadline of the program's own (2s without data): it closes, no error
 * from the kernel, no probe. */
BOTH(idle_program_timer)
{
	struct run_result r;
	json_object *rep, *fl, *pg;
	double t;

	rr_init(&r);
	rep = run_idle(&r, u, "--idle-timeout-ms 2000", 0, &fl, &pg);
	all_ok(rep, r.out);
	cr_assert_str_eq(js(pg, "mechanism"), "program");
	cr_assert_null(json_object_object_get(pg, "errno"));
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	t = jd(pg, "closed") - jd(pg, "since");
	cr_assert(t > 1.9 && t < 3.0, "closed %.3fs after the peer's last segment", t);
	cr_assert_not_null(line_field(rr_read(&r, "server.out"), "IDLE_TIMEOUT", "idle_ms"),
			   "%s", rr_read(&r, "server.out"));
	json_object_put(rep);
	rr_free(&r);
}

/* Nothing set, or only TCP_USER_TIMEOUT (which times unacknowledged data
 * and there is none): the socket stays ESTABLISHED until faultline stops
 * the program; dead-peer fails and says why. */
static void idle_unnoticed(enum as_user u, const char *opts, const char *why)
{
	struct run_result r;
	json_object *rep, *fl, *pg;
	const char *d;

	rr_init(&r);
	rep = run_idle(&r, u, opts, 1, &fl, &pg);
	cr_assert_not(check_ok(rep, "dead-peer 5s"));
	cr_assert_str_eq(js(pg, "mechanism"), "none");
	cr_assert_null(json_object_object_get(pg, "closed"));
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	cr_assert_eq(ji(pg, "unacked"), 0, "idle: every byte was acknowledged (%s)",
		     json_object_to_json_string(pg));
	d = js(report_check(rep, "dead-peer 5s"), "detail");
	cr_assert(strstr(d, "flow 1: peer last heard at "), "%s", d);
	cr_assert(strstr(d, "no error reached the program and the socket was still open "
			    "when the run ended"), "%s", d);
	cr_assert(strstr(d, why), "%s\nwant %s", d, why);
	/* What was seen, not a guess at what the program needs. */
	cr_assert_null(strstr(d, "needs"), "%s", d);
	cr_assert_null(line_field(rr_read(&r, "server.out"), "READ_ERROR", "errno"));
	json_object_put(rep);
	rr_free(&r);
}

BOTH(idle_nothing)
{
	idle_unnoticed(u, "", "[SO_KEEPALIVE off, no TCP_USER_TIMEOUT]");
}

BOTH(idle_user_timeout_only)
{
	idle_unnoticed(u, "--user-timeout-ms 1000",
		       "[SO_KEEPALIVE off, TCP_USER_TIMEOUT 1000ms]");
}
