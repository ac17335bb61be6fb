/*
 * test_scenarios.c - the shipped teardown scenarios (the .rules files in
 * rules/scenarios) run as they are, against the sample targets, as root and as an
 * unprivileged user: the verdicts of their checks, by name, and each
 * side's observed TCP state path, from the JSON report (and the trace where
 * the scenario is about particular segments).
 *
 * Every scenario test is one entry of the table `scenarios` below: the
 * run (rule file, driver or peer, target), then what it must give (faultline's
 * exit status, check verdicts and evidence, flows and their state paths,
 * lines the programs printed), and, where the scenario is about
 * particular segments or calls, a function `more` that reads the trace.
 * The parameterized test scenarios::table runs each entry as root and as
 * uid 65534; a case is called NAME_root or NAME_nobody (the names the
 * kernel comparison lists known differences under), and
 * FL_SCENARIO=NAME[_root|_nobody] runs only that one.
 *
 * Runs in Criterion's test processes, one run at a time (-j1).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

/* ---- commands ({dir} is the scratch directory) ------------------------ */

/* tcp_client ARGS after WAIT_7000, output to DIR/client.out. */
#define CLIENT(args) WAIT_7000 CLIENT_CMD(args)
/* tcp_client ARGS, which must fail with exit 1 (its read fails with
 * ECONNRESET), output to DIR/client.out. */
#define FAILING_CLIENT(args) \
	WAIT_7000 FL_TARGETS "/tcp_client " args " > {dir}/client.out; test $? -eq 1"
/* tcp_client --drain, output to DIR/client.out; exit status `want`
 * required of it. */
#define DRAIN(want)                                                            \
	WAIT_7000 FL_TARGETS "/tcp_client -p 7000 --drain --after-eof-ms 100 > "   \
			     "{dir}/client.out; test $? -eq " #want
/* echo_server ARGS, output to DIR/server.out. */
#define SERVER(args) FL_TARGETS "/echo_server " args " > {dir}/server.out"
/* A program of tests/targets with its args, output to DIR/server.out. */
#define PROGRAM(cmd) "exec " FL_TARGETS "/" cmd " > {dir}/server.out"

#define PASSIVE_PATH "ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"
#define ACTIVE_PATH "SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"
#define ACTIVE_CLOSE_PATH "ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"
#define SIMUL_PATH "ESTABLISHED > FIN_WAIT1 > CLOSING > TIME_WAIT"

/* Connections of the time-wait-pile runs, one after the other. */
#define TW_CONNS 10
#define STR_(x) #x
#define STR(x) STR_(x)

/* TW_CONNS clients, each one round trip, closing 250ms after it (longer
 * than a delayed ACK waits, ~40ms on loopback: a server that closed first
 * sees its FIN acknowledged before the client's FIN); output to
 * DIR/client.out. */
#define TW_CLIENTS                                                             \
	WAIT_7000 "for i in $(seq " STR(TW_CONNS) "); do " FL_TARGETS              \
		  "/tcp_client -p 7000 --rtt 1 --hold-ms 250 || exit 1; done > "   \
		  "{dir}/client.out"

/* sigpipe_client (SIGPIPE ignored or not) as the target, run with a
 * --peer (started once the peer listens). */
#define SIGPIPE_TARGET(ignore) \
	ignore "exec " FL_TARGETS "/sigpipe_client -p 7000 > {dir}/client.out"
/* A --peer that serves until faultline stops it. */
#define PEER_SERVER PROGRAM("echo_server -p 7000 -n 0")

/* The idle peer: one round trip, then 4s of silence, then close (lost). */
#define IDLE_PEER WAIT_7000 "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 1 --hold-ms 4000"

/* ---- what a run must give --------------------------------------------- */

/* A check's verdict: the check by its expectation as written (or bare
 * name), ok or not; with is, its evidence is exactly that; with has, it
 * contains that. */
struct want_check {
	const char *check;
	int ok;
	const char *is, *has;
};

/* A flow side's path (key client_states, server_states or states): one of
 * `is` when given; starting with `starts`, ending with `ends`, without
 * `lacks`, when given. */
struct want_path {
	const char *key;
	const char *is[3];
	const char *starts, *ends, *lacks;
};

/* What a program printed: in DIR/file, the line starting with key has
 * word=value (value NULL: has no such word); or, with word NULL, the file
 * contains value. */
struct want_line {
	const char *file, *key, *word, *value;
};

/* A number of lines of DIR/file starting with key. */
struct want_count {
	const char *file, *key;
	int n;
};

struct scenario {
	const char *name;
	/* the run */
	const char *rules;            /* the rule file: SC("x.rules") */
	const char *driver, *target;  /* shell commands */
	const char *peer;             /* --peer (not with driver): the target
				       * is the client, started once the
				       * peer listens */
	int client_first;             /* the target is a client of no server
				       * (the driver starts 1ms after it) */
	const char *settle;           /* --settle (5s: the targets end by
				       * themselves) */
	const char *timeout;          /* --timeout (20s) */
	/* what it must give */
	int status;                   /* faultline's exit status */
	int all_ok;                   /* every check held */
	const char *all_ok_but;       /* every check but this one (which
				       * failed) held */
	struct want_check checks[10];
	int flows;                    /* exactly this many flows (1) ... */
	int more_flows_than;          /* ... or more than this many */
	/* of every flow: */
	const char *target_side;
	int has_faults, faults;       /* the flow's fault count */
	struct want_path paths[3];
	struct want_line lines[8];
	struct want_count counts[2];
	/* the rest, from the trace or the report */
	void (*more)(const struct run_result *r, json_object *rep);
};

#define FAULTS(n) .has_faults = 1, .faults = (n)

/* ---- the walk --------------------------------------------------------- */

/* check_ok, asserting the verdict wanted and quoting the evidence. */
static void want_check(json_object *rep, const char *name, int ok)
{
	cr_assert_eq(check_ok(rep, name), ok, "%s: %s", name,
		     js(report_check(rep, name), "detail"));
}

/* Every check of the report but the one named `but` (which must exist
 * and fail; NULL: none) passed (names the first that did not). */
static void all_ok_but(json_object *rep, const char *out, const char *but)
{
	json_object *checks = json_object_object_get(rep, "checks");

	cr_assert_not_null(checks);
	if (but)
		cr_assert(!check_ok(rep, but), "%s passed\n%s", but, out);
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);

		if (but && !strcmp(js(c, "name"), but))
			continue;
		cr_assert(json_object_get_boolean(json_object_object_get(c, "ok")),
			  "check %s failed: %s\n%s", js(c, "name"), js(c, "detail"), out);
	}
}

static void walk_check(json_object *rep, const struct want_check *w)
{
	const char *d;

	want_check(rep, w->check, w->ok);
	d = js(report_check(rep, w->check), "detail");
	if (w->is)
		cr_assert_str_eq(d, w->is, "%s", w->check);
	if (w->has)
		cr_assert(d && strstr(d, w->has), "%s: %s\nwant %s", w->check, d, w->has);
}

static void walk_path(json_object *fl, size_t id, const struct want_path *w)
{
	const char *p = path_of(fl, w->key);
	size_t n = strlen(p);
	int any = !w->is[0];

	for (size_t i = 0; i < 3 && w->is[i]; i++)
		any |= !strcmp(p, w->is[i]);
	if (w->is[0] && !w->is[1])
		cr_assert_str_eq(p, w->is[0], "flow %zu %s", id, w->key);
	cr_assert(any, "flow %zu %s: %s", id, w->key, p);
	if (w->starts)
		cr_assert(!strncmp(p, w->starts, strlen(w->starts)), "flow %zu %s: %s",
			  id, w->key, p);
	if (w->ends)
		cr_assert(n >= strlen(w->ends) && !strcmp(p + n - strlen(w->ends), w->ends),
			  "flow %zu %s: %s", id, w->key, p);
	if (w->lacks)
		cr_assert_null(strstr(p, w->lacks), "flow %zu %s: %s", id, w->key, p);
}

static void walk_flow(const struct scenario *sc, json_object *fl, size_t id)
{
	if (sc->target_side)
		cr_assert_str_eq(js(fl, "target_side"), sc->target_side, "flow %zu", id);
	if (sc->has_faults)
		cr_assert_eq(ji(fl, "faults"), sc->faults, "flow %zu", id);
	for (size_t i = 0; i < 3 && sc->paths[i].key; i++)
		walk_path(fl, id, &sc->paths[i]);
}

static void walk_line(const struct run_result *r, const struct want_line *w)
{
	const char *text = rr_read(r, w->file), *v;

	if (!w->word) {
		cr_assert(strstr(text, w->value), "%s: no %s in\n%s", w->file, w->value,
			  text);
		return;
	}
	v = line_field(text, w->key, w->word);
	if (!w->value)
		cr_assert_null(v, "%s: %s %s=%s\n%s", w->file, w->key, w->word, v, text);
	else
		cr_assert_str_eq(v ? v : "(none)", w->value, "%s: %s %s=\n%s", w->file,
				 w->key, w->word, text);
}

static void sc_walk(const struct scenario *sc, enum as_user u)
{
	struct run_result r;
	json_object *rep, *flows;
	size_t n;

	rr_init(&r);
	snprintf(r.name, sizeof(r.name), "%s_%s", sc->name, u == AS_ROOT ? "root" : "nobody");
	fprintf(stderr, "scenario %s\n", r.name);
	rr_faultline(&r, u, &(struct fl_args){
		.rules = {sc->rules}, .timeout = sc->timeout ? sc->timeout : "20s",
		.settle = sc->settle ? sc->settle : "5s",
		.opts = sc->client_first ? "--ready-delay 1ms" : NULL,
		.driver = sc->driver, .peer = sc->peer, .sh = sc->target, .wait_s = 25});
	rep = rr_report(&r);
	cr_assert_not_null(rep, "%s: no report; faultline exit %d\n%s%s", r.name, r.status,
			   r.out, r.err);
	cr_assert_eq(r.status, sc->status, "%s: faultline exit %d\n%s%s", r.name, r.status,
		     r.out, r.err);
	if (sc->all_ok || sc->all_ok_but)
		all_ok_but(rep, r.out, sc->all_ok_but);
	for (size_t i = 0; i < 10 && sc->checks[i].check; i++)
		walk_check(rep, &sc->checks[i]);
	flows = json_object_object_get(rep, "flows");
	cr_assert_not_null(flows);
	n = json_object_array_length(flows);
	if (sc->more_flows_than)
		cr_assert_gt(n, (size_t)sc->more_flows_than, "%zu flows", n);
	else
		cr_assert_eq(n, sc->flows ? (size_t)sc->flows : 1, "%s",
			     json_object_to_json_string(flows));
	for (size_t i = 0; i < n; i++)
		walk_flow(sc, json_object_array_get_idx(flows, i), i + 1);
	for (size_t i = 0; i < 8 && sc->lines[i].file; i++)
		walk_line(&r, &sc->lines[i]);
	for (size_t i = 0; i < 2 && sc->counts[i].file; i++)
		cr_assert_eq(count_lines(rr_read(&r, sc->counts[i].file), sc->counts[i].key),
			     sc->counts[i].n, "%s: lines %s", sc->counts[i].file,
			     sc->counts[i].key);
	if (sc->more)
		sc->more(&r, rep);
	json_object_put(rep);
	rr_free(&r);
}

/* ---- what the trace shows, per scenario -------------------------------- */

/* passive-close, server closing 2.5s after EOF: the CLOSE_WAIT lasted
 * that long. */
static void close_wait_late(const struct run_result *r, json_object *rep)
{
	const char *d = js(report_check(rep, "no-close-wait 1s"), "detail");
	double cw;

	(void)r;
	cr_assert(strstr(d, "target server socket in CLOSE_WAIT until its FIN at "), "%s", d);
	cr_assert_eq(sscanf(strstr(d, "until its FIN at "), "until its FIN at %*fs (%lfs)", &cw),
		     1, "%s", d);
	cr_assert(cw >= 2.4 && cw < 3.5, "CLOSE_WAIT %.3fs: %s", cw, d);
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

static void clients_close_first(const struct run_result *r, json_object *rep)
{
	(void)rep;
	first_fins_from(r, 'c');
}

static void server_closes_first(const struct run_result *r, json_object *rep)
{
	const char *d = js(report_check(rep, "path server " PASSIVE_PATH), "detail");

	cr_assert(!strncmp(d, "flow 1 server: observed SYN_RECV > ", 35) &&
		  strstr(d, "FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT; expected " PASSIVE_PATH
			    "; flow 2 server: observed SYN_RECV > "),
		  "%s", d);
	first_fins_from(r, 's');
}

/* The client's final ACK dropped once: the server (LAST_ACK) sends its FIN
 * again, the client (TIME_WAIT) acknowledges it again with an ACK, not an
 * RST. */
static void final_ack_lost_once(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r);
	int server_fins = 0, dropped = 0, reacked = 0, rsts = 0;
	long long fin_seq = -1;

	(void)rep;
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
}

/* SO_LINGER {1,0} before close(): the evidence names the setsockopt (when,
 * which process, fd, flow); the drop rule never acted; on the wire the
 * setsockopt, then one RST from the client and no FIN from either side. */
static void linger_zero_aborts(const struct run_result *r, json_object *rep)
{
	json_object *fl = only_flow(rep), *tr, *faults;
	const char *d, *local;
	char want[200];
	int client_rst = 0, fins = 0, lingers = 0;
	double t_linger = -1, t_rst = -1;

	local = line_field(rr_read(r, "client.out"), "CONNECTED", "local");
	cr_assert_not_null(local, "%s", rr_read(r, "client.out"));
	cr_assert_str_eq(js(fl, "client"), local);
	d = js(report_check(rep, "no-linger-abort"), "detail");
	snprintf(want, sizeof(want), " fd 3 flow 1 (%s <-> 127.0.0.1:7000)", local);
	cr_assert(!strncmp(d, "SO_LINGER {1,0} set at ", 23) && strstr(d, "s on pid ") &&
		  strstr(d, want) && !strchr(d, ';'), "%s\nwant %s", d, want);
	faults = json_object_object_get(rep, "faults");
	cr_assert_eq(json_object_array_length(faults), 1);
	cr_assert_eq(ji(json_object_array_get_idx(faults, 0), "count"), 0);
	tr = rr_trace(r);
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
}

/* Both FINs delayed, each sent before the other arrived. */
static void fins_cross(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r);
	double fin_sent[2] = {-1, -1}, fin_arrives[2] = {-1, -1};

	(void)rep;
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
	json_object_put(tr);
}

/* The echo intact both ways; server data reached the client after the
 * client's FIN had left. */
static void half_closed_echo(const struct run_result *r, json_object *rep)
{
	json_object *tr;
	const char *out = rr_read(r, "client.out");
	char sent_fnv[32];
	double fin_t = -1;
	int data_after_fin = 0;

	(void)rep;
	cr_assert_not_null(line_field(out, "SENT", "fnv"), "%s", out);
	snprintf(sent_fnv, sizeof(sent_fnv), "%s", line_field(out, "SENT", "fnv"));
	cr_assert_str_eq(line_field(out, "RECEIVED", "fnv"), sent_fnv, "%s", out);
	out = rr_read(r, "server.out");
	cr_assert_str_eq(line_field(out, "EOF", "fnv"), sent_fnv, "%s", out);
	tr = rr_trace(r);
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
}

/* The close() with the whole echo unread: its evidence; the server got
 * everything and wrote the echo back without an error; on the wire the
 * client's FIN, the whole echo, then its RST; no FIN from the server. */
static void unread_echo_reset(const struct run_result *r, json_object *rep)
{
	json_object *fl = only_flow(rep), *tr;
	const char *out, *d;
	char sent_fnv[32], want[160];
	int client_fin = 0, client_rst = 0, server_fin = 0, closes = 0;
	long long echo = 0;

	d = js(report_check(rep, "no-unread-close"), "detail");
	cr_assert(!strncmp(d, "close() at ", 11) && strstr(d, " with 10000 unread bytes on pid ") &&
		  strstr(d, " fd 3 flow 1 (") &&
		  strstr(d, "): the kernel sent RST instead of FIN"), "%s", d);
	snprintf(want, sizeof(want), "flow 1 (%s <-> 127.0.0.1:7000)", js(fl, "client"));
	cr_assert(strstr(d, want), "%s\nwant %s", d, want);
	out = rr_read(r, "client.out");
	snprintf(sent_fnv, sizeof(sent_fnv), "%s", line_field(out, "SENT", "fnv"));
	out = rr_read(r, "server.out");
	cr_assert_str_eq(line_field(out, "EOF", "fnv"), sent_fnv, "%s", out);
	cr_assert(!strstr(out, "_ERROR"), "%s", out);
	tr = rr_trace(r);
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
}

/* Every SYN dropped, no SYN,ACK. */
static void syns_dropped(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r);
	int syns = 0;

	(void)rep;
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
}

/* The SYN, retransmitted (same sequence number, one flow), every one
 * dropped; the first retry 1s later, then each interval the same or
 * double the one before.  An open connection attempt is not a leak. */
static void syn_retransmitted(const struct run_result *r, json_object *rep)
{
	json_object *tr;
	const char *d = js(report_check(rep, "no-fd-leak"), "detail");
	double t[16];
	int syns = 0;

	cr_assert(!strncmp(d, "1 connection socket opened; 1 not closed, none after its "
			   "connection ended", 71), "%s", d);
	tr = rr_trace(r);
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
}

/* The server's RST and no FIN; the reset reaches the client in a read()
 * or, while it still sends, in a write(); when it came before the
 * client's shutdown(SHUT_WR), that call fails with ENOTCONN (the socket
 * is closed already). */
static void server_resets(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r);
	const char *out = rr_read(r, "client.out");
	int server_rst = 0, server_fin = 0;

	(void)rep;
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		server_rst += is_pkt(ev, "server", "RST");
		server_fin += is_pkt(ev, "server", "FIN");
	}
	cr_assert_geq(server_rst, 1);
	cr_assert_eq(server_fin, 0);
	cr_assert(strstr(out, "_ERROR errno=ECONNRESET") || strstr(out, "WRITE_ERROR errno=EPIPE") ||
		  strstr(out, "SHUTDOWN_ERROR errno=ENOTCONN"), "%s", out);
	json_object_put(tr);
}

/* The RST at RCV.NXT, injected once; no FIN from the reset server; the
 * client's retransmitted data meets an RST. */
static void rst_at_rcv_nxt(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r);
	int injected = 0, server_fin = 0, server_rst = 0;

	(void)rep;
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
}

/* The RST at RCV.NXT+1: the very next segment is the server's challenge
 * ACK (ACK, no data, ack = RCV.NXT); all three round trips complete; no
 * other RST; one FIN each way. */
static void rst_challenged(const struct run_result *r, json_object *rep)
{
	json_object *tr;
	const char *out = rr_read(r, "client.out");
	int state = 0, challenge = 0, client_fin = 0, server_fin = 0, resets = 0;

	(void)rep;
	cr_assert_not_null(line_field(out, "RTT", "i"), "%s", out);
	cr_assert(strstr(out, "RTT i=3 ") && strstr(out, "DONE t_us="), "%s", out);
	tr = rr_trace(r);
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
}

/* What both write-after-peer-close runs share on the wire: the server's
 * FIN, one write after it that reaches the wire, answered with an RST. */
static void write_after_fin(const struct run_result *r)
{
	json_object *tr = rr_trace(r);
	int client_data_after_fin = 0, server_fin = 0, rst_after_data = 0;

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
}

static void write_after_fin_survived(const struct run_result *r, json_object *rep)
{
	(void)rep;
	write_after_fin(r);
}

/* SIGPIPE at its default: the second write killed the program before it
 * could report an error or finish. */
static void write_after_fin_killed(const struct run_result *r, json_object *rep)
{
	const char *out = rr_read(r, "client.out");

	(void)rep;
	write_after_fin(r);
	cr_assert(!strstr(out, "WRITE_ERROR") && !strstr(out, "DONE"), "%s", out);
}

/* client-peer-reset: the server's first data segment dropped and an RST
 * injected toward the client in its place; no FIN from either side; the
 * peer was the one faultline stopped, the target ended by itself. */
static void client_reset_by_peer(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r), *peer = json_object_object_get(rep, "peer");
	int injected = 0, dropped = 0, fins = 0;

	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		const char *v = js(ev, "verdict");

		if (is_pkt(ev, "server", "RST") && v && !strcmp(v, "inject"))
			injected++;
		if (is_pkt(ev, "server", "PSH") && v && !strcmp(v, "drop"))
			dropped++;
		fins += is_pkt(ev, "client", "FIN") || is_pkt(ev, "server", "FIN");
	}
	cr_assert_eq(injected, 1, "one RST injected toward the client");
	cr_assert_eq(dropped, 1, "the reply dropped in its place");
	cr_assert_eq(fins, 0);
	cr_assert_not_null(peer, "no peer in the report");
	cr_assert(json_object_get_boolean(json_object_object_get(peer, "stopped_by_faultline")));
	cr_assert(!json_object_get_boolean(json_object_object_get(
		json_object_object_get(rep, "target"), "stopped_by_faultline")));
	json_object_put(tr);
}

/* The handshake's ACK dropped: the server ESTABLISHED only after its
 * SYN,ACK retransmission (~1s). */
static void third_ack_lost(const struct run_result *r, json_object *rep)
{
	json_object *tr = rr_trace(r);
	int synacks = 0, dropped = 0;
	double t_synack[2] = {0, 0}, t_est = -1, t_drop = -1;

	(void)rep;
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
}

/* TCP_USER_TIMEOUT 1s ends the connection: ETIMEDOUT within 1-3s, the
 * data retransmitted into the blackhole, the timed-out side sends
 * nothing; the retransmission timeout noticed the dead peer. */
static void user_timeout_noticed(const struct run_result *r, json_object *rep)
{
	json_object *fl = only_flow(rep), *tr, *pg;
	long elapsed = atol(line_field(rr_read(r, "client.out"), "READ_ERROR", "elapsed_ms"));
	int dropped = 0;

	cr_assert(elapsed >= 1000 && elapsed <= 3000, "ETIMEDOUT after %ldms", elapsed);
	tr = rr_trace(r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (is_pkt(ev, "client", "ACK") && ji(ev, "len") > 0) {
			cr_assert_str_eq(js(ev, "verdict"), "drop");
			dropped++;
		}
		cr_assert(!is_pkt(ev, "client", "RST"), "the timed-out side sends nothing");
	}
	cr_assert_geq(dropped, 2, "data retransmitted into the blackhole");
	pg = json_object_object_get(fl, "peer_gone");
	cr_assert_not_null(pg, "%s", json_object_to_json_string(fl));
	cr_assert_str_eq(js(pg, "mechanism"), "retransmission-timeout");
	cr_assert_str_eq(js(pg, "errno"), "ETIMEDOUT");
	cr_assert_eq(ji(pg, "tcp_user_timeout_ms"), 1000);
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	cr_assert(jd(pg, "noticed") - jd(pg, "since") >= 1.0, "%s",
		  json_object_to_json_string(pg));
	json_object_put(tr);
}

/* Without TCP_USER_TIMEOUT: stopped at --timeout 6s; nothing noticed (no
 * error, no close, no option that could have); the byte retransmitted
 * into the blackhole with exponential backoff, no data from the server. */
static void nothing_noticed(const struct run_result *r, json_object *rep)
{
	json_object *fl = only_flow(rep), *tr, *pg;
	const char *d;
	double t[16], t_stop;
	int dropped = 0, server_data = 0;

	t_stop = jd(json_object_object_get(json_object_object_get(rep, "target"), "exit"), "t");
	cr_assert(t_stop >= 6.0 && t_stop < 7.0, "target stopped at %.3fs", t_stop);
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
	/* The client is still blocked in its first read. */
	cr_assert_not_null(line_field(rr_read(r, "client.out"), "CONNECTED", "local"), "%s",
			   rr_read(r, "client.out"));
	tr = rr_trace(r);
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
}

/* error-close's evidence names the read, its errno, the fd and flow, and
 * that no close came. */
static void read_error_unclosed(const struct run_result *r, json_object *rep)
{
	const char *d = js(report_check(rep, "error-close 500ms"), "detail");
	char want[160];

	(void)r;
	cr_assert(strstr(d, "read() failed with ECONNRESET at "), "%s", d);
	snprintf(want, sizeof(want), "flow 1 (127.0.0.1:7000 <-> %s); no close() by ",
		 js(only_flow(rep), "client"));
	cr_assert(strstr(d, want), "%s\nwant %s", d, want);
}

/* The close() call of the trace on the accepted socket (fd 4 and up): its
 * duration, and its unsent bytes in *unsent. */
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

/* linger_server's SENT bytes (> 0), all of which the client read before
 * EOF. */
static long sent_all_arrived(const struct run_result *r)
{
	const char *sent = line_field(rr_read(r, "server.out"), "SENT", "bytes");
	char copy[32];

	cr_assert_not_null(sent, "%s", rr_read(r, "server.out"));
	snprintf(copy, sizeof(copy), "%s", sent);
	cr_assert_gt(atol(copy), 0);
	cr_assert_str_eq(line_field(rr_read(r, "client.out"), "EOF", "bytes"), copy, "%s",
			 rr_read(r, "client.out"));
	return atol(copy);
}

/* SO_LINGER off: close() returned at once with everything unsent (the
 * window was shut); the kernel delivered it all. */
static void linger_off_delivers(const struct run_result *r, json_object *rep)
{
	long sent = sent_all_arrived(r), unsent;
	json_object *tr = rr_trace(r);

	(void)rep;
	cr_assert_lt(close_dur(tr, &unsent), 0.1);
	cr_assert_eq(unsent, sent, "all unsent at close(): the window was shut");
	json_object_put(tr);
}

/* SO_LINGER {1,0}: the unsent data thrown away, one RST, no FIN. */
static void linger_zero_resets(const struct run_result *r, json_object *rep)
{
	json_object *tr;
	int rst = 0, fin = 0;

	(void)rep;
	cr_assert_lt(atol(line_field(rr_read(r, "client.out"), "READ_ERROR", "received")),
		     atol(line_field(rr_read(r, "server.out"), "SENT", "bytes")));
	tr = rr_trace(r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		rst += is_pkt(ev, "server", "RST");
		fin += is_pkt(ev, "server", "FIN");
	}
	cr_assert_eq(rst, 1);
	cr_assert_eq(fin, 0);
	json_object_put(tr);
}

/* SO_LINGER {1,1} with the window shut: close() blocked 1s, the data
 * still arrived later. */
static void linger_one_blocks(const struct run_result *r, json_object *rep)
{
	long sent, unsent;
	json_object *tr;
	double dur;

	cr_assert_eq(ji(only_flow(rep), "id"), 1);
	sent = sent_all_arrived(r);
	tr = rr_trace(r);
	dur = close_dur(tr, &unsent);
	cr_assert(dur >= 0.95 && dur < 1.5, "close() took %.3fs", dur);
	cr_assert_eq(unsent, sent);
	json_object_put(tr);
}

/* The idle runs' flow has a peer_gone object, the peer last heard before
 * the blackhole. */
static json_object *idle_peer_gone(json_object *rep)
{
	json_object *fl = only_flow(rep), *pg = json_object_object_get(fl, "peer_gone");

	cr_assert_not_null(pg, "%s", json_object_to_json_string(fl));
	cr_assert_lt(jd(pg, "since"), 0.5, "the peer was last heard before the blackhole");
	return pg;
}

/* Keepalive 1s/1s/2: two probes at 1s and 2s, unanswered; ETIMEDOUT at
 * ~3s; the server closes; dead-peer names keepalive. */
static void keepalive_noticed(const struct run_result *r, json_object *rep)
{
	json_object *pg = idle_peer_gone(rep);
	double t;

	(void)r;
	cr_assert_str_eq(js(pg, "mechanism"), "keepalive");
	cr_assert_str_eq(js(pg, "errno"), "ETIMEDOUT");
	cr_assert_eq(ji(pg, "keepalive_probes"), 2, "%s", json_object_to_json_string(pg));
	cr_assert(json_object_get_boolean(json_object_object_get(pg, "so_keepalive")));
	t = jd(pg, "noticed") - jd(pg, "since");
	cr_assert(t > 2.8 && t < 4.0, "ETIMEDOUT %.3fs after the peer's last segment", t);
	cr_assert(jd(pg, "closed") - jd(pg, "noticed") < 0.1);
}

/* A deadline of the program's own (2s without data): it closes, no error
 * from the kernel, no probe. */
static void program_timer_noticed(const struct run_result *r, json_object *rep)
{
	json_object *pg = idle_peer_gone(rep);
	double t;

	cr_assert_str_eq(js(pg, "mechanism"), "program");
	cr_assert_null(json_object_object_get(pg, "errno"));
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	t = jd(pg, "closed") - jd(pg, "since");
	cr_assert(t > 1.9 && t < 3.0, "closed %.3fs after the peer's last segment", t);
	cr_assert_not_null(line_field(rr_read(r, "server.out"), "IDLE_TIMEOUT", "idle_ms"),
			   "%s", rr_read(r, "server.out"));
}

/* Nothing noticed the idle peer's end: no mechanism, no close, no probe,
 * nothing unacknowledged; the evidence says what was seen, not a guess
 * at what the program needs. */
static void idle_unnoticed(const struct run_result *r, json_object *rep)
{
	json_object *pg = idle_peer_gone(rep);
	const char *d = js(report_check(rep, "dead-peer 5s"), "detail");

	(void)r;
	cr_assert_str_eq(js(pg, "mechanism"), "none");
	cr_assert_null(json_object_object_get(pg, "closed"));
	cr_assert_eq(ji(pg, "keepalive_probes"), 0);
	cr_assert_eq(ji(pg, "unacked"), 0, "idle: every byte was acknowledged (%s)",
		     json_object_to_json_string(pg));
	cr_assert_null(strstr(d, "needs"), "%s", d);
}

/* ---- the table -------------------------------------------------------- */

#define LAST_ACK_TW_DRIVER SERVER("-p 7000 -n 1 --close-after-eof-ms 300") " && sleep 1"
#define LINGER_SERVER "linger_server -p 7000 --send 1048576 --hold-ms 300 --linger "

static const struct scenario scenarios[] = {
	/* ---- passive-close.rules ---- */
	/* echo_server reads 0 and closes at once: every check holds, and the
	 * server goes the textbook passive close. */
	{.name = "passive_close", .rules = SC("passive-close.rules"),
	 .driver = CLIENT("-p 7000 --rtt 1"), .target = SERVER("-p 7000 -n 1"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"path server " PASSIVE_PATH, 1}, {"no-close-wait 1s", 1},
		    {"eof-close 1s", 1}, {"no-fd-leak", 1}},
	 .target_side = "server",
	 .paths = {{"server_states", {"SYN_RECV > " PASSIVE_PATH}},
		   {"states", {"SYN_RECV > " PASSIVE_PATH}},
		   {"client_states", .starts = "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "}}},
	/* A server that closes 2.5s after EOF: the path is still the textbook
	 * one, but no-close-wait 1s and eof-close 1s fail with its CLOSE_WAIT
	 * time.  The server's ACK of the FIN comes alone, its FIN 2.5s later. */
	{.name = "passive_close_late", .rules = SC("passive-close.rules"),
	 .driver = CLIENT("-p 7000 --rtt 1"),
	 .target = SERVER("-p 7000 -n 1 --close-after-eof-ms 2500"),
	 .status = 1,
	 .checks = {{"path server " PASSIVE_PATH, 1}, {"no-close-wait 1s", 0},
		    {"eof-close 1s", 0}, {"no-fd-leak", 1}, {"exit 0", 1}},
	 .paths = {{"server_states", {"SYN_RECV > " PASSIVE_PATH}},
		   {"client_states", {ACTIVE_PATH}}},
	 .more = close_wait_late},

	/* ---- active-close-time-wait.rules ---- */
	/* tcp_client closes first, its peer 300ms after EOF: FIN_WAIT2
	 * between, one TIME_WAIT socket left on the client's side. */
	{.name = "active_close_time_wait", .rules = SC("active-close-time-wait.rules"),
	 .peer = SERVER("-p 7000 -n 1 --close-after-eof-ms 300"),
	 .target = CLIENT_CMD("-p 7000 --rtt 1"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"path client " ACTIVE_CLOSE_PATH, 1}, {"path server " PASSIVE_PATH, 1},
		    {"time-wait <= 1", 1, .has = "1 socket in TIME_WAIT"}},
	 .target_side = "client",
	 .paths = {{"client_states", {ACTIVE_PATH}}, {"states", {ACTIVE_PATH}},
		   {"server_states", {"SYN_RECV > " PASSIVE_PATH}}},
	 .lines = {{"client.out", .value = "DONE t_us="}}},

	/* ---- time-wait-pile.rules ---- */
	/* echo_server waits for each client's FIN: the clients close first
	 * and hold the TIME_WAIT sockets, the server none; every flow is the
	 * textbook passive close on the server's side (the client's through
	 * FIN_WAIT2 only if the server's ACK of the FIN left before its own
	 * FIN). */
	{.name = "time_wait_pile_correct", .rules = SC("time-wait-pile.rules"),
	 .driver = TW_CLIENTS, .target = SERVER("-p 7000 -n " STR(TW_CONNS)),
	 .status = 0, .all_ok = 1,
	 .checks = {{"time-wait <= 1", 1,
		     .is = "0 sockets in TIME_WAIT on the target's side at the end (at most 1 "
			   "allowed)"},
		    {"path server " PASSIVE_PATH, 1,
		     .is = STR(TW_CONNS) " flows went " PASSIVE_PATH}},
	 .flows = TW_CONNS, .target_side = "server",
	 .paths = {{"server_states", {"SYN_RECV > " PASSIVE_PATH}},
		   {"client_states", .starts = "SYN_SENT > ESTABLISHED > FIN_WAIT1 > ",
		    .ends = "TIME_WAIT"}},
	 .counts = {{"client.out", "DONE", TW_CONNS}, {"server.out", "CLOSE", TW_CONNS}},
	 .more = clients_close_first},
	/* tw_pile_server closes each connection first, right after its reply:
	 * every flow leaves a TIME_WAIT socket on the server's side, and the
	 * time-wait check fails with their count; the server's path is the
	 * active close on every flow, the client's the passive one.  The
	 * server sends nothing between the SYN,ACK and its FIN but the reply,
	 * which is not queued: the harness learns its ESTABLISHED from the
	 * FIN, or misses it when a sock_diag sample finds the socket in
	 * FIN_WAIT1 (close() done) before the FIN is processed. */
	{.name = "time_wait_pile_server_closes_first", .rules = SC("time-wait-pile.rules"),
	 .driver = TW_CLIENTS, .target = PROGRAM("tw_pile_server -p 7000 -n " STR(TW_CONNS)),
	 .status = 1,
	 .checks = {{"time-wait <= 1", 0,
		     .is = STR(TW_CONNS) " sockets in TIME_WAIT on the target's side at the "
					 "end (at most 1 allowed): the target closes first "
					 "(active close) too often"},
		    {"path server " PASSIVE_PATH, 0}, {"driver", 1}, {"timeout", 1}},
	 .flows = TW_CONNS, .target_side = "server",
	 .paths = {{"server_states", {"SYN_RECV > " ACTIVE_CLOSE_PATH,
				      "SYN_RECV > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"}},
		   {"client_states", {"SYN_SENT > " PASSIVE_PATH}}},
	 .counts = {{"server.out", "REPLY", TW_CONNS}, {"client.out", "DONE", TW_CONNS}},
	 .more = server_closes_first},

	/* ---- lost-final-ack.rules ---- */
	/* The client's final ACK dropped once: the server (LAST_ACK) sends its
	 * FIN again, the client (TIME_WAIT) acknowledges it again with an ACK,
	 * not an RST, and the server reaches CLOSE. */
	{.name = "lost_final_ack", .rules = SC("lost-final-ack.rules"),
	 .peer = LAST_ACK_TW_DRIVER, .target = CLIENT_CMD("-p 7000 --rtt 1"),
	 .status = 0, .all_ok = 1, FAULTS(1),
	 .paths = {{"client_states", {ACTIVE_PATH}},
		   {"server_states", {"SYN_RECV > " PASSIVE_PATH}}},
	 .more = final_ack_lost_once},
	/* The active closer sets SO_LINGER {1,0} before close() (tcp_client
	 * --linger-zero), "to avoid TIME_WAIT": an RST instead of a FIN, no
	 * TIME_WAIT on either side, so there is no final ACK for the rule to
	 * lose.  no-linger-abort fails naming the setsockopt(), the client's
	 * path fails (ESTABLISHED > CLOSE), and so does the server's: its
	 * read() fails with ECONNRESET after the 1 byte, so the peer reports
	 * an error for a connection that ended normally (echo_server exits 1
	 * on its own: the peer check fails).  The client: one round trip, then close()
	 * at once. */
	{.name = "lost_final_ack_linger_zero", .rules = SC("lost-final-ack.rules"),
	 .peer = LAST_ACK_TW_DRIVER, .target = CLIENT_CMD("-p 7000 --rtt 1 --linger-zero"),
	 .status = 1,
	 .checks = {{"no-linger-abort", 0},
		    {"path client " ACTIVE_CLOSE_PATH, 0,
		     .has = "observed SYN_SENT > ESTABLISHED > CLOSE;"},
		    {"path server " PASSIVE_PATH, 0}, {"peer", 0, .has = "peer exit code 1 at "},
		    {"time-wait <= 1", 1,
		     .is = "0 sockets in TIME_WAIT on the target's side at the end (at most 1 "
			   "allowed)"},
		    {"exit 0", 1}, {"timeout", 1}},
	 .target_side = "client", FAULTS(0),
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}},
		   {"server_states", {"SYN_RECV > ESTABLISHED > CLOSE"}}},
	 .lines = {{"client.out", "RTT", "i", "1"}, {"client.out", .value = "\nDONE t_us="},
		   {"server.out", "READ_ERROR", "errno", "ECONNRESET"},
		   {"server.out", "READ_ERROR", "bytes", "1"}, {"server.out", "EOF", "bytes"}},
	 .more = linger_zero_aborts},

	/* ---- simultaneous-close.rules ---- */
	/* Both FINs in flight at once: CLOSING on both sides, both end in
	 * TIME_WAIT; the trace shows each FIN sent before the other arrived. */
	{.name = "simultaneous_close", .rules = SC("simultaneous-close.rules"),
	 .driver = CLIENT("-p 7000 --rtt 1 --hold-ms 30"),
	 .target = "exec " FL_TARGETS "/sc_reply_close -p 7000 --wait-ms 30",
	 .status = 0, .all_ok = 1,
	 .checks = {{"path client " SIMUL_PATH, 1}, {"path server " SIMUL_PATH, 1},
		    {"time-wait <= 1", 1, .has = "1 socket in TIME_WAIT"}},
	 .target_side = "server",
	 .paths = {{"client_states", {"SYN_SENT > " SIMUL_PATH}},
		   {"server_states", {"SYN_RECV > " SIMUL_PATH}}},
	 .lines = {{"client.out", .value = "DONE t_us="}},
	 .more = fins_cross},

	/* ---- half-close.rules ---- */
	/* tcp_client sends 4 MiB, shuts down its sending half and reads the
	 * rest of the echo: FIN_WAIT2 while the server's data still arrives,
	 * the echo intact, then TIME_WAIT. */
	{.name = "half_close", .rules = SC("half-close.rules"),
	 .peer = SERVER("-p 7000 -n 1 --close-after-eof-ms 200"),
	 .target = CLIENT_CMD("-p 7000 --send 4194304 --half-close"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"path client " ACTIVE_CLOSE_PATH, 1}, {"path server " PASSIVE_PATH, 1},
		    {"eof-close 1s", 1}, {"no-unread-close", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {ACTIVE_PATH}},
		   {"server_states", {"SYN_RECV > " PASSIVE_PATH}}},
	 .lines = {{"client.out", .value = "SHUTDOWN_WR t_us="},
		   {"client.out", "RECEIVED", "bytes", "4194304"},
		   {"client.out", "EOF", "bytes", "4194304"}},
	 .more = half_closed_echo},
	/* tcp_client --no-read --skip-eof: sends 10000 bytes, shuts down its
	 * sending half and closes 300ms later without reading the echo, let
	 * alone EOF (the peer, to be sure to close later, closes 1s after
	 * EOF): the whole echo is unread, so the kernel answers the close()
	 * with an RST.  no-unread-close and both paths fail (no TIME_WAIT, no
	 * LAST_ACK: the server never sends its FIN); eof-close has no EOF to
	 * judge and holds, as do no-fd-leak and exit 0.  The client sent
	 * everything, read nothing; the server got all of it and its EOF. */
	{.name = "half_close_unread", .rules = SC("half-close.rules"),
	 .peer = SERVER("-p 7000 -n 1 --close-after-eof-ms 1000"),
	 .target = CLIENT_CMD("-p 7000 --send 10000 --half-close --no-read --skip-eof "
			      "--hold-ms 300"),
	 .status = 1,
	 .checks = {{"no-unread-close", 0},
		    {"path client " ACTIVE_CLOSE_PATH, 0,
		     .has = "observed SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > CLOSE;"},
		    {"path server " PASSIVE_PATH, 0,
		     .has = "observed SYN_RECV > ESTABLISHED > CLOSE_WAIT > CLOSE;"},
		    {"eof-close 1s", 1, .is = "0 EOFs, each closed within 1.000s"},
		    {"no-fd-leak", 1}, {"exit 0", 1}, {"peer", 1}},
	 .target_side = "client", FAULTS(0),
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > CLOSE"}},
		   {"server_states", {"SYN_RECV > ESTABLISHED > CLOSE_WAIT > CLOSE"}}},
	 .lines = {{"client.out", .value = "SHUTDOWN_WR t_us="},
		   {"client.out", .value = "\nDONE t_us="},
		   {"client.out", "SENT", "bytes", "10000"}, {"client.out", "RECEIVED", "bytes"},
		   {"client.out", "EOF", "bytes"}, {"server.out", "EOF", "bytes", "10000"}},
	 .more = unread_echo_reset},

	/* ---- connect-timeout.rules, connect-refused.rules ---- */
	/* Every SYN lost: connect() times out after --connect-timeout-ms with
	 * ETIMEDOUT; the socket went SYN_SENT > CLOSE and was closed; the
	 * server saw nothing. */
	{.name = "connect_timeout", .rules = SC("connect-timeout.rules"), .driver = "true",
	 .target = CLIENT_CMD("-p 7000 --connect-timeout-ms 1000"), .client_first = 1,
	 .status = 0, .all_ok = 1,
	 .checks = {{"path client SYN_SENT > CLOSE", 1}, {"no-fd-leak", 1}, {"exit 1", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {"SYN_SENT > CLOSE"}}, {"server_states", {""}}},
	 .lines = {{"client.out", "CONNECT_ERROR", "errno", "ETIMEDOUT"}},
	 .more = syns_dropped},
	/* A client that leaves the connect to the kernel (a deadline longer
	 * than the kernel's own, which is what a blocking connect() gets): the
	 * SYN is retransmitted, 1s apart at first (RFC 6298's initial RTO;
	 * Linux 6.5 and later keep that interval for
	 * net.ipv4.tcp_syn_linear_timeouts = 4 retries, older kernels double
	 * it at once) and connect() would fail only after minutes.  Ended by
	 * --timeout 6s: timeout and exit 1 fail; no-fd-leak holds (a
	 * connection still being made is not a leak); the path fails: the
	 * kernel destroyed the socket only at the exit faultline caused.
	 * Still waiting when stopped: neither connected nor failed. */
	{.name = "connect_timeout_kernel", .rules = SC("connect-timeout.rules"),
	 .driver = "true", .target = CLIENT_CMD("-p 7000 --connect-timeout-ms 600000"),
	 .client_first = 1, .settle = "20s", .timeout = "6s", .status = 1,
	 .checks = {{"timeout", 0, .is = "the run did not end within --timeout 6.000s"},
		    {"exit 1", 0, .has = "target killed by SIGTERM at "},
		    {"no-fd-leak", 1},
		    {"path client SYN_SENT > CLOSE", 0,
		     .has = "flow 1 client: observed SYN_SENT > CLOSE; CLOSE only after "
			    "faultline stopped the target at "},
		    {"driver", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {"SYN_SENT > CLOSE"}}, {"server_states", {""}}},
	 .lines = {{"client.out", "CONNECT_ERROR", "errno"}, {"client.out", "CONNECTED", "local"}},
	 .more = syn_retransmitted},
	/* The SYN,ACK rewritten to RST,ACK: ECONNREFUSED on every attempt (the
	 * client retries for 2s), every flow SYN_SENT > CLOSE, every socket
	 * closed. */
	{.name = "connect_refused", .rules = SC("connect-refused.rules"),
	 .peer = PROGRAM("echo_server -p 7000"), .target = CLIENT_CMD("-p 7000"),
	 .settle = "500ms", .status = 0, .all_ok = 1,
	 .checks = {{"path client SYN_SENT > CLOSE", 1}, {"no-fd-leak", 1, .has = "all closed"},
		    {"exit 1", 1}},
	 .more_flows_than = 10,
	 .paths = {{"client_states", {"SYN_SENT > CLOSE"}}},
	 .lines = {{"client.out", "CONNECT_ERROR", "errno", "ECONNREFUSED"},
		   {"client.out", "CONNECTED", "local"}, {"server.out", "ACCEPT", "conn"}}},

	/* ---- unread-close.rules ---- */
	/* echo_server reads the whole request until EOF, then closes: a FIN,
	 * the textbook passive close, every check holds. */
	{.name = "unread_close_correct", .rules = SC("unread-close.rules"),
	 .driver = CLIENT("-p 7000 --send 100000 --half-close"),
	 .target = SERVER("-p 7000 -n 1"), .status = 0, .all_ok = 1,
	 .checks = {{"no-unread-close", 1}},
	 .paths = {{"server_states", {"SYN_RECV > " PASSIVE_PATH}}},
	 .lines = {{"client.out", "EOF", "bytes", "100000"}}},
	/* sc_reply_close reads 1 byte of 100000 and closes: the kernel sends
	 * an RST, not a FIN; no-unread-close and the path fail, the client's
	 * read fails with ECONNRESET (so the driver check fails too).  Closed
	 * by the RST: no LAST_ACK (CLOSE_WAIT only when the client's FIN got
	 * there before the server's close).  The client's shutdown(SHUT_WR)
	 * races the server's RST: its FIN may leave before the RST arrives
	 * (FIN_WAIT1), or not at all. */
	{.name = "unread_close_rst", .rules = SC("unread-close.rules"),
	 .driver = CLIENT("-p 7000 --send 100000 --half-close"),
	 .target = "exec " FL_TARGETS "/sc_reply_close -p 7000 --read-max 1", .status = 1,
	 .checks = {{"path server " PASSIVE_PATH, 0},
		    {"no-unread-close", 0, .has = " unread bytes on pid "},
		    {"no-unread-close", 0, .has = "the kernel sent RST instead of FIN"},
		    {"exit 0", 1}, {"driver", 0}},
	 .target_side = "server",
	 .paths = {{"server_states", .lacks = "LAST_ACK", .ends = "CLOSE"},
		   {"client_states", {"SYN_SENT > ESTABLISHED > CLOSE",
				      "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE"}}},
	 .more = server_resets},

	/* ---- rst-in-window.rules, reset-out-of-window.rules ---- */
	/* The RST at RCV.NXT (in place of the client's second byte, after one
	 * round trip) resets the server's connection: its read fails with
	 * ECONNRESET, its path is ESTABLISHED > CLOSE, no CLOSE_WAIT, no FIN
	 * of its own; the client's retransmitted data meets an RST. */
	{.name = "rst_in_window", .rules = SC("rst-in-window.rules"),
	 .driver = FAILING_CLIENT("-p 7000 --rtt 3"), .target = SERVER("-p 7000 -n 1"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"path server ESTABLISHED > CLOSE", 1}, {"no-close-wait 1s", 1},
		    {"no-fd-leak", 1}, {"exit 1", 1}},
	 .target_side = "server", FAULTS(1),
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > CLOSE"}},
		   {"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}}},
	 .lines = {{"server.out", "READ_ERROR", "errno", "ECONNRESET"},
		   {"server.out", "READ_ERROR", "bytes", "1"},
		   {"client.out", "READ_ERROR", "errno", "ECONNRESET"},
		   {"client.out", "RTT", "i", "1"}},
	 .more = rst_at_rcv_nxt},
	/* The RST at RCV.NXT+1: the server answers at once with a challenge
	 * ACK, the client's data is retransmitted, all three round trips
	 * complete and the close is the ordinary one: the state paths are the
	 * textbook ones, untouched by the forged RST (FIN_WAIT2 shows only if
	 * the server's ACK leaves before its FIN). */
	{.name = "rst_out_of_window", .rules = SC("reset-out-of-window.rules"),
	 .driver = CLIENT("-p 7000 --rtt 3"), .target = SERVER("-p 7000 -n 1"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"no-close-wait 1s", 1}, {"eof-close 1s", 1}, {"no-fd-leak", 1},
		    {"driver", 1}},
	 FAULTS(1),
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"}},
		   {"client_states", {"SYN_SENT > ESTABLISHED > FIN_WAIT1 > TIME_WAIT",
				      "SYN_SENT > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"}}},
	 .lines = {{"server.out", "EOF", "bytes", "3"}},
	 .more = rst_challenged},

	/* ---- write-after-peer-close.rules ---- */
	/* sigpipe_client against sc_reply_close: the path, the first write
	 * after EOF passes, the server's kernel answers it with an RST.
	 * SIGPIPE ignored: the second write fails with EPIPE (or a later one
	 * when the RST is slow to come on a loaded machine), the program
	 * lives on; every check holds. */
	{.name = "write_after_peer_close_ignored", .rules = SC("write-after-peer-close.rules"),
	 .peer = "exec " FL_TARGETS "/sc_reply_close -p 7000",
	 .target = SIGPIPE_TARGET("trap '' PIPE; "),
	 .status = 0, .all_ok = 1,
	 .checks = {{"path client ESTABLISHED > CLOSE_WAIT > CLOSE", 1}, {"peer", 1},
		    {"no-sigpipe", 1, .has = "first EPIPE survived"}, {"no-fd-leak", 1},
		    {"exit 0", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE_WAIT > CLOSE"}}},
	 .lines = {{"client.out", "PEER_CLOSED", "how", "EOF"},
		   {"client.out", "WRITE_ERROR i=1", "errno"},
		   {"client.out", .value = "errno=EPIPE "}, {"client.out", .value = "\nDONE"}},
	 .more = write_after_fin_survived},
	/* SIGPIPE at its default: the second write kills the program;
	 * no-sigpipe and exit 0 fail; no-fd-leak holds (the process's death
	 * released its socket: an exit is not a leak). */
	{.name = "write_after_peer_close_sigpipe", .rules = SC("write-after-peer-close.rules"),
	 .peer = "exec " FL_TARGETS "/sc_reply_close -p 7000", .target = SIGPIPE_TARGET(""),
	 .status = 1,
	 .checks = {{"path client ESTABLISHED > CLOSE_WAIT > CLOSE", 1}, {"peer", 1},
		    {"no-sigpipe", 0, .has = "died of SIGPIPE"}, {"exit 0", 0},
		    {"no-fd-leak", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE_WAIT > CLOSE"}}},
	 .lines = {{"client.out", "PEER_CLOSED", "how", "EOF"},
		   {"client.out", .value = "WRITE i=2 "}},
	 .more = write_after_fin_killed},

	/* ---- client-peer-reset.rules ---- */
	/* The peer's reply replaced by an RST at the client's RCV.NXT:
	 * tcp_client's first read fails with ECONNRESET and it exits 1 (its
	 * exit closes the socket); ESTABLISHED > CLOSE, no FIN either way.
	 * The peer serves until faultline stops it: no failure. */
	{.name = "client_peer_reset", .rules = SC("client-peer-reset.rules"),
	 .peer = PEER_SERVER, .target = CLIENT_CMD("-p 7000 --rtt 3"), .settle = "500ms",
	 .status = 0, .all_ok = 1,
	 .checks = {{"path client ESTABLISHED > CLOSE", 1}, {"no-sigpipe", 1},
		    {"error-close 500ms", 1}, {"no-fd-leak", 1}, {"exit 1", 1},
		    {"peer", 1, .has = "peer ran until faultline stopped it at "}},
	 .target_side = "client", FAULTS(1),
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}}},
	 .lines = {{"client.out", "READ_ERROR", "errno", "ECONNRESET"},
		   {"client.out", "READ_ERROR", "received", "0"}, {"client.out", "RTT", "i"}},
	 .more = client_reset_by_peer},
	/* sigpipe_client at SIGPIPE's default writes after the failed read:
	 * EPIPE, and SIGPIPE kills it; no-sigpipe and exit 1 fail. */
	{.name = "client_peer_reset_sigpipe", .rules = SC("client-peer-reset.rules"),
	 .peer = PEER_SERVER, .target = SIGPIPE_TARGET(""), .settle = "500ms", .status = 1,
	 .checks = {{"no-sigpipe", 0, .has = "died of SIGPIPE"},
		    {"exit 1", 0, .has = "target killed by SIGPIPE at "},
		    {"path client ESTABLISHED > CLOSE", 1}, {"no-fd-leak", 1}, {"peer", 1}},
	 .target_side = "client", FAULTS(1),
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}}},
	 .lines = {{"client.out", "PEER_CLOSED", "how", "errno-ECONNRESET"},
		   {"client.out", .value = "WRITE i=1 "}, {"client.out", "WRITE_ERROR", "i"}},
	 .more = client_reset_by_peer},
	/* The same with SIGPIPE ignored: every write fails with EPIPE, and it
	 * exits 0 as if the request had succeeded: only exit 1 fails. */
	{.name = "client_peer_reset_carries_on", .rules = SC("client-peer-reset.rules"),
	 .peer = PEER_SERVER, .target = SIGPIPE_TARGET("trap '' PIPE; "), .settle = "500ms",
	 .status = 1, .all_ok_but = "exit",
	 .checks = {{"exit 1", 0, .has = "target exit code 0 at "}, {"no-sigpipe", 1}},
	 .target_side = "client", FAULTS(1),
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}}},
	 .lines = {{"client.out", "WRITE_ERROR", "i", "1"},
		   {"client.out", "WRITE_ERROR", "errno", "EPIPE"}, {"client.out", .value = "\nDONE"}},
	 .more = client_reset_by_peer},

	/* ---- lost-third-ack.rules ---- */
	/* The handshake's ACK dropped: the client is ESTABLISHED at once, the
	 * server stays in SYN_RECV until it retransmits its SYN,ACK (~1s) and
	 * the client ACKs again; only then does accept() return. */
	{.name = "lost_third_ack", .rules = SC("lost-third-ack.rules"),
	 .driver = CLIENT("-p 7000 --hold-ms 1500"), .target = SERVER("-p 7000 -n 1"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"path server SYN_RECV > " PASSIVE_PATH, 1}, {"no-close-wait 1s", 1},
		    {"no-fd-leak", 1}, {"exit 0", 1}},
	 .target_side = "server", FAULTS(1),
	 .paths = {{"server_states", {"SYN_RECV > " PASSIVE_PATH}},
		   {"client_states", .starts = "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "}},
	 .more = third_ack_lost},

	/* ---- blackhole-user-timeout.rules ---- */
	/* Everything lost from the client's first data on: TCP_USER_TIMEOUT 1s
	 * ends the connection and the read fails with ETIMEDOUT within 1-3s. */
	{.name = "blackhole_user_timeout", .rules = SC("blackhole-user-timeout.rules"),
	 .peer = PROGRAM("echo_server -p 7000"),
	 .target = CLIENT_CMD("-p 7000 --rtt 1 --user-timeout-ms 1000"),
	 .settle = "500ms", .status = 0, .all_ok = 1,
	 .checks = {{"path client SYN_SENT > ESTABLISHED > CLOSE", 1}, {"exit 1", 1},
		    {"dead-peer 3s", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}}},
	 .lines = {{"client.out", "READ_ERROR", "errno", "ETIMEDOUT"},
		   {"client.out", "RTT", "i"}},
	 .more = user_timeout_noticed},
	/* The same client without TCP_USER_TIMEOUT: nothing bounds the
	 * retransmissions (tcp_retries2, ~15 minutes), so its read() blocks
	 * while the kernel retransmits the byte into the blackhole at ever
	 * longer intervals.  Ended by --timeout 6s (SIGTERM): timeout and exit
	 * 1 fail; dead-peer 3s fails, nothing having noticed (mechanism
	 * "none"); the client's path fails too (the kill closes the socket:
	 * FIN_WAIT1, its FIN queued behind the unacknowledged byte).  The
	 * client is still blocked in its first read: no error, no RTT. */
	{.name = "blackhole_no_user_timeout", .rules = SC("blackhole-user-timeout.rules"),
	 .peer = PROGRAM("echo_server -p 7000"), .target = CLIENT_CMD("-p 7000 --rtt 1"),
	 .settle = "500ms", .timeout = "6s", .status = 1,
	 .checks = {{"timeout", 0, .is = "the run did not end within --timeout 6.000s"},
		    {"exit 1", 0, .has = "target killed by SIGTERM at "},
		    {"exit 1", 0, .has = "(after faultline asked it to stop)"},
		    {"dead-peer 3s", 0}, {"path client SYN_SENT > ESTABLISHED > CLOSE", 0},
		    {"peer", 1}, {"harness", 1}},
	 .target_side = "client",
	 .paths = {{"client_states", {"SYN_SENT > ESTABLISHED > FIN_WAIT1"}}},
	 .lines = {{"client.out", "READ_ERROR", "errno"}, {"client.out", "RTT", "i"},
		   {"server.out", "EOF", "bytes"}},
	 .more = nothing_noticed},

	/* ---- read-error.rules ---- */
	/* echo_server closes the reset connection at once: error-close holds.
	 * echo_server exits 1 after the error, before faultline stops it, as
	 * the rules expect: every check holds. */
	{.name = "read_error_closed", .rules = SC("read-error.rules"),
	 .driver = FAILING_CLIENT("-p 7000 --rtt 3"), .target = SERVER("-p 7000 -n 1"),
	 .status = 0, .all_ok = 1,
	 .checks = {{"exit 1", 1, .has = "target exit code 1 at "},
		    {"error-close 500ms", 1, .is = "1 failure, each closed within 0.500s"}},
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > CLOSE"}}},
	 .lines = {{"server.out", "READ_ERROR", "errno", "ECONNRESET"}}},
	/* echo_server --keep-on-error logs the error and forgets the socket:
	 * error-close fails naming the read, its errno, the fd and flow, and
	 * that no close came; no-fd-leak fails too. */
	{.name = "read_error_forgotten", .rules = SC("read-error.rules"),
	 .driver = FAILING_CLIENT("-p 7000 --rtt 3"),
	 .target = SERVER("-p 7000 -n 1 --keep-on-error"), .settle = "1500ms", .status = 1,
	 .checks = {{"error-close 500ms", 0}, {"no-fd-leak", 0},
		    {"path server ESTABLISHED > CLOSE", 1}},
	 .lines = {{"server.out", "READ_ERROR", "errno", "ECONNRESET"}},
	 .more = read_error_unclosed},

	/* ---- linger-abort.rules, linger-timeout.rules ---- */
	/* SO_LINGER off: close() returns at once with data unsent; the kernel
	 * delivers it all when the window opens, then FIN; TIME_WAIT. */
	{.name = "linger_off", .rules = SC("linger-abort.rules"), .driver = DRAIN(0),
	 .target = PROGRAM(LINGER_SERVER "off"), .status = 0, .all_ok = 1,
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT"}}},
	 .more = linger_off_delivers},
	/* SO_LINGER {1,0}: RST at once, the unsent data thrown away, no
	 * TIME_WAIT on either side, the peer's read fails with ECONNRESET (the
	 * driver requires it). */
	{.name = "linger_abort", .rules = SC("linger-abort.rules"), .driver = DRAIN(1),
	 .target = PROGRAM(LINGER_SERVER "0"), .status = 1,
	 .checks = {{"no-linger-abort", 0}, {"path server " ACTIVE_CLOSE_PATH, 0},
		    {"close-time <= 100ms", 1}, {"no-fd-leak", 1}, {"driver", 1}},
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > CLOSE"}},
		   {"client_states", {"SYN_SENT > ESTABLISHED > CLOSE"}}},
	 .lines = {{"client.out", "READ_ERROR", "errno", "ECONNRESET"}},
	 .more = linger_zero_resets},
	/* SO_LINGER {1,1} with the window shut for 3s: close() blocks 1s and
	 * returns 0 (no EWOULDBLOCK on Linux), with or without O_NONBLOCK; the
	 * data still arrives later, then FIN.  close-time fails and says so. */
	{.name = "linger_timeout_blocking", .rules = SC("linger-timeout.rules"),
	 .driver = DRAIN(0), .target = PROGRAM(LINGER_SERVER "1"), .status = 1,
	 .checks = {{"close-time <= 100ms", 0, .has = "(SO_LINGER {1,1}, "},
		    {"close-time <= 100ms", 0,
		     .has = "the linger time ran out and close() returned 0"},
		    {"path server " ACTIVE_CLOSE_PATH, 1}, {"no-fd-leak", 1}, {"driver", 1}},
	 .lines = {{"server.out", "CLOSE", "ret", "0"}, {"server.out", "CLOSE", "errno", "0"}},
	 .more = linger_one_blocks},
	{.name = "linger_timeout_nonblock", .rules = SC("linger-timeout.rules"),
	 .driver = DRAIN(0), .target = PROGRAM(LINGER_SERVER "1 --nonblock"), .status = 1,
	 .checks = {{"close-time <= 100ms", 0, .has = "(SO_LINGER {1,1}, "},
		    {"close-time <= 100ms", 0,
		     .has = "the linger time ran out and close() returned 0"},
		    {"path server " ACTIVE_CLOSE_PATH, 1}, {"no-fd-leak", 1}, {"driver", 1}},
	 .lines = {{"server.out", "CLOSE", "ret", "0"}, {"server.out", "CLOSE", "errno", "0"}},
	 .more = linger_one_blocks},

	/* ---- idle-peer-gone.rules ---- */
	/* Keepalive 1s/1s/2, on the socket or set on the listener and
	 * inherited by the accepted socket (seen as such). */
	{.name = "idle_keepalive_on_socket", .rules = SC("idle-peer-gone.rules"),
	 .driver = IDLE_PEER, .target = PROGRAM("idle_server -p 7000 --keepalive 1,1,2"),
	 .settle = "3s", .status = 0, .all_ok = 1,
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > CLOSE"}}},
	 .lines = {{"server.out", "READ_ERROR", "errno", "ETIMEDOUT"}},
	 .more = keepalive_noticed},
	{.name = "idle_keepalive_on_listener", .rules = SC("idle-peer-gone.rules"),
	 .driver = IDLE_PEER,
	 .target = PROGRAM("idle_server -p 7000 --keepalive 1,1,2 --on-listener"),
	 .settle = "3s", .status = 0, .all_ok = 1,
	 .paths = {{"server_states", {"SYN_RECV > ESTABLISHED > CLOSE"}}},
	 .lines = {{"server.out", "READ_ERROR", "errno", "ETIMEDOUT"}},
	 .more = keepalive_noticed},
	{.name = "idle_program_timer", .rules = SC("idle-peer-gone.rules"), .driver = IDLE_PEER,
	 .target = PROGRAM("idle_server -p 7000 --idle-timeout-ms 2000"), .settle = "3s",
	 .status = 0, .all_ok = 1, .more = program_timer_noticed},
	/* Nothing set, or only TCP_USER_TIMEOUT (which times unacknowledged
	 * data and there is none): the socket stays ESTABLISHED until
	 * faultline stops the program; dead-peer fails and says why. */
	{.name = "idle_nothing", .rules = SC("idle-peer-gone.rules"), .driver = IDLE_PEER,
	 .target = PROGRAM("idle_server -p 7000 "), .settle = "3s", .status = 1,
	 .checks = {{"dead-peer 5s", 0, .has = "flow 1: peer last heard at "},
		    {"dead-peer 5s", 0,
		     .has = "no error reached the program and the socket was still open when "
			    "the run ended"},
		    {"dead-peer 5s", 0, .has = "[SO_KEEPALIVE off, no TCP_USER_TIMEOUT]"}},
	 .lines = {{"server.out", "READ_ERROR", "errno"}},
	 .more = idle_unnoticed},
	{.name = "idle_user_timeout_only", .rules = SC("idle-peer-gone.rules"),
	 .driver = IDLE_PEER, .target = PROGRAM("idle_server -p 7000 --user-timeout-ms 1000"),
	 .settle = "3s", .status = 1,
	 .checks = {{"dead-peer 5s", 0, .has = "flow 1: peer last heard at "},
		    {"dead-peer 5s", 0,
		     .has = "no error reached the program and the socket was still open when "
			    "the run ended"},
		    {"dead-peer 5s", 0, .has = "[SO_KEEPALIVE off, TCP_USER_TIMEOUT 1000ms]"}},
	 .lines = {{"server.out", "READ_ERROR", "errno"}},
	 .more = idle_unnoticed},
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* ---- the tests -------------------------------------------------------- */

/* A case: a table entry, as root or as uid 65534.  Only numbers cross to
 * the test process (Criterion copies the parameters, not what they point
 * to); the table is the same in both. */
struct sc_case {
	size_t i;
	int user;
};

/* Whether FL_SCENARIO (unset: every case) selects case c. */
static int selected(const struct sc_case *c)
{
	const char *want = getenv("FL_SCENARIO");
	char name[96];

	if (!want || !*want)
		return 1;
	snprintf(name, sizeof(name), "%s_%s", scenarios[c->i].name,
		 c->user == AS_ROOT ? "root" : "nobody");
	return !strcmp(want, scenarios[c->i].name) || !strcmp(want, name);
}

static void free_cases(struct criterion_test_params *p)
{
	cr_free(p->params);
}

ParameterizedTestParameters(scenarios, table)
{
	struct sc_case *cases = cr_malloc(2 * NSCENARIOS * sizeof(*cases));
	size_t n = 0;

	for (size_t i = 0; i < NSCENARIOS; i++)
		for (int u = AS_ROOT; u <= AS_NOBODY; u++) {
			cases[n] = (struct sc_case){i, u};
			n += selected(&cases[n]);
		}
	return cr_make_param_array(struct sc_case, cases, n, free_cases);
}

ParameterizedTest(struct sc_case *c, scenarios, table, .timeout = 30)
{
	sc_walk(&scenarios[c->i], (enum as_user)c->user);
}

/* The table itself: every name unique (the cases' names are how a failure,
 * a known difference and FL_SCENARIO find them), every rule file there,
 * every entry runs something and says what it must give. */
Test(scenarios, table_is_sound)
{
	for (size_t i = 0; i < NSCENARIOS; i++) {
		const struct scenario *sc = &scenarios[i];

		cr_assert_not_null(sc->name, "entry %zu", i);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(scenarios[j].name, sc->name, "entry %zu", i);
		cr_assert_eq(access(sc->rules, R_OK), 0, "%s: %s", sc->name, sc->rules);
		cr_assert((sc->driver != NULL) != (sc->peer != NULL) && sc->target, "%s",
			  sc->name);
		cr_assert(sc->status == 0 || sc->status == 1, "%s", sc->name);
		cr_assert(sc->all_ok || sc->all_ok_but || sc->checks[0].check || sc->more,
			  "%s judges nothing", sc->name);
	}
}
