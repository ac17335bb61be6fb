/*
 * test_judge.c - the judgement (harness/checks*.c) from synthetic facts:
 * each check of rules/checks.def judged on a struct fl_run_facts built by
 * hand (a flow table, each flow's delivery facts and ladder in a timeline,
 * socket calls as the shim reports them, TCP states from segments, the
 * processes' exits), where it
 * must hold, where it must fail, and where it cannot be judged; and the
 * reports (harness/report.c, html.c) written from such facts.  No root, no
 * kernel, no sandbox.  Single-threaded.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "checks.h"
#include "clock.h"
#include "flow.h"
#include "peer_gone.h"
#include "report.h"
#include "rules.h"
#include "states.h"
#include "timeline.h"

#define MS 1000000ull
enum { C = FL_DIR_C2S, S = FL_DIR_S2C };
enum { PID = 100, LFD = 3 };

/* One run's facts, built by the test. */
struct world {
	struct fl_ruleset *rs;
	struct fl_flow_table *flows;
	struct fl_timeline *tl; /* the flows' facts and ladders */
	struct fl_states *states;
	struct fl_call calls[64];
	struct fl_run_facts f;
	struct fl_dead_peer *dead;
	struct fl_check_result *res;
	size_t nres;
	int alive[4];
};

static struct world w;

/* A run whose rules are `rules`, with the shim loaded, whose target (pid
 * PID) faultline stopped at 10s; no flow, no call yet. */
static void world(const char *rules)
{
	struct fl_diag d = {0};

	memset(&w, 0, sizeof(w));
	w.rs = fl_ruleset_new();
	cr_assert_not_null(w.rs);
	cr_assert_eq(fl_rules_parse(w.rs, "t.rules", rules, strlen(rules), &d), 0,
		     "%s", d.buf ? d.buf : "");
	fl_diag_free(&d);
	w.flows = fl_flow_table_new();
	cr_assert_eq(fl_timeline_new(&w.tl, &(struct fl_timeline_cfg){.rs = w.rs}), 0);
	cr_assert_eq(fl_states_new(&w.states, NULL), 0);
	w.f.rs = w.rs;
	w.f.flows = w.flows;
	w.f.timeline = w.tl;
	w.f.states = w.states;
	w.f.calls = w.calls;
	w.f.shim_loaded = w.f.shim_wanted = 1;
	w.f.target = (struct fl_exit){.started = 1, .ended = 1, .sig = SIGTERM,
				      .pid = 9999, .ns_pid = PID, .t_ns = 10010 * MS};
	w.f.killed_by_harness = 1;
	w.f.stop_ns = 10000 * MS;
	w.f.end_ns = 10020 * MS;
	w.f.timeout_ns = 20000 * MS;
	w.alive[0] = PID;
	w.f.alive_at_stop = w.alive;
	w.f.nalive = 1;
}

static void world_free(void)
{
	free(w.res);
	free(w.dead);
	fl_states_free(w.states);
	fl_timeline_free(w.tl);
	fl_flow_table_free(w.flows);
	fl_ruleset_free(w.rs);
	/* A test may free its world before the suite's fini does. */
	memset(&w, 0, sizeof(w));
}

/* A new flow 127.0.0.1:40000+n -> 127.0.0.1:7000 whose server is the
 * target's socket, first seen at 1 ms. */
static struct fl_flow *flow(void)
{
	struct fl_endpoint cl = {.family = AF_INET, .addr = {127, 0, 0, 1}};
	struct fl_endpoint sv = cl;
	struct fl_flow *fl;
	int dir;

	cl.port = (uint16_t)(40000 + fl_flow_count(w.flows));
	sv.port = 7000;
	fl = fl_flow_lookup(w.flows, &cl, &sv, FL_TCP_SYN, 1 * MS, &dir);
	cr_assert_not_null(fl);
	fl->target_side = FL_SIDE_SERVER;
	return fl;
}

/* fl's delivery facts, to write by hand (what the timeline writes from
 * the segments in a run). */
static struct fl_flow_facts *facts(const struct fl_flow *fl)
{
	struct fl_flow_facts *ff = fl_timeline_facts_edit(w.tl, fl->id);

	cr_assert_not_null(ff);
	return ff;
}

/* A segment on fl's ladder (what the report and the wire checks read). */
static void logseg(struct fl_flow *fl, uint64_t t, int dir, uint8_t flags,
		   uint32_t len, enum fl_verdict v, int rule)
{
	struct fl_pkt_rec r = {.t_ns = t, .len = len, .dir = (uint8_t)dir,
			       .flags = flags, .rule = (int16_t)rule,
			       .verdict = v};

	cr_assert_eq(fl_timeline_ladder_add(w.tl, fl->id, &r), 0);
}

/* A call of the target's, on fd, at t ms; flow 0: none. */
static struct fl_call *call(uint64_t t_ms, unsigned fn, int fd, int64_t ret,
			    uint32_t flow_id)
{
	struct fl_call *k = &w.calls[w.f.ncalls++];

	cr_assert_leq(w.f.ncalls, sizeof(w.calls) / sizeof(w.calls[0]));
	*k = (struct fl_call){.t_ns = t_ms * MS, .pid = PID, .tid = PID, .fd = fd,
			      .fn = (uint16_t)fn, .ret = ret, .flow = flow_id,
			      .dir = S, .sock_family = AF_INET,
			      .sock_type = SOCK_STREAM};
	snprintf(k->local, sizeof(k->local), "127.0.0.1:7000");
	snprintf(k->peer, sizeof(k->peer), "127.0.0.1:40000");
	return k;
}

/* The target accepted flow id as fd at t ms. */
static void accepted(uint64_t t_ms, int fd, uint32_t id)
{
	call(t_ms, FL_FN_ACCEPT, LFD, fd, id)->listening = 1;
}

/* Links each call to the next and previous call on its (pid, fd), and
 * an accept to the first call on the fd it returned, as calls.c does. */
static void link_calls(void)
{
	for (size_t i = 0; i < w.f.ncalls; i++) {
		struct fl_call *k = &w.calls[i];

		for (size_t j = i + 1; j < w.f.ncalls; j++) {
			struct fl_call *x = &w.calls[j];

			if (x->pid != k->pid)
				continue;
			if (!k->next_ret && (k->fn == FL_FN_ACCEPT ||
					     k->fn == FL_FN_ACCEPT4) &&
			    k->ret >= 0 && x->fd == k->ret)
				k->next_ret = (uint32_t)j + 1;
			if (!k->next_fd && x->fd == k->fd && x->prev_fd == 0 &&
			    !(k->fn == FL_FN_ACCEPT && k->fd != x->fd)) {
				k->next_fd = (uint32_t)j + 1;
				x->prev_fd = (uint32_t)i + 1;
			}
		}
	}
	w.f.calls_linked = 1;
}

/* Judges the world; the result of the check named name (the expect text,
 * or a harness check's name). */
static const struct fl_check_result *judge(const char *name)
{
	free(w.res);
	free(w.dead);
	w.res = NULL;
	link_calls();
	w.dead = fl_peer_gone_all(&w.f, &w.f.ndead_peers);
	w.f.dead_peers = w.dead;
	cr_assert_eq(fl_checks_run(&w.f, &w.res, &w.nres), 0);
	for (size_t i = 0; i < w.nres; i++)
		if (!strcmp(w.res[i].expect, name) ||
		    (!w.res[i].expect[0] && !strcmp(w.res[i].name, name)))
			return &w.res[i];
	cr_assert_fail("no check %s", name);
	return NULL;
}

#define HOLDS(c) cr_assert((c)->ok && !(c)->skipped, "%s: %s", (c)->name, (c)->detail)
#define FAILS(c) cr_assert(!(c)->ok, "%s should fail: %s", (c)->name, (c)->detail)
#define UNJUDGED(c) cr_assert((c)->ok && (c)->skipped, "%s should not be judged: %s", \
			      (c)->name, (c)->detail)
#define SAYS(c, s) cr_assert(strstr((c)->detail, s), "%s: %s\nwanted: %s", \
			     (c)->name, (c)->detail, s)

TestSuite(judge, .fini = world_free);

/* ---- the run and its processes ---- */

Test(judge, exit)
{
	world("expect exit 3\n");
	w.f.killed_by_harness = 0;
	w.f.target.sig = 0;
	w.f.target.code = 3;
	HOLDS(judge("exit 3"));
	w.f.target.code = 0;
	FAILS(judge("exit 3"));
	SAYS(&w.res[0], "expected exit code 3; target exit code 0");
}

Test(judge, signal)
{
	world("expect signal SIGTERM\n");
	HOLDS(judge("signal SIGTERM"));
	w.f.target.sig = 0;
	FAILS(judge("signal SIGTERM"));
	SAYS(&w.res[0], "expected death by SIGTERM");
}

/* Without expect exit/signal, a target that ends badly before the stop
 * fails "target"; one faultline stopped is not judged on its end. */
Test(judge, target_and_harness_checks)
{
	const struct fl_check_result *c;

	world("expect no-sigpipe\n");
	flow();
	HOLDS(judge("target"));
	HOLDS(judge("connections"));
	HOLDS(judge("timeout"));
	w.f.eng.queue_dropped = w.f.eng.user_dropped = 0;
	HOLDS(judge("harness"));
	w.f.killed_by_harness = 0;
	w.f.stop_ns = 0;
	w.f.target.sig = 0;
	w.f.target.code = 2;
	w.f.timed_out = 1;
	w.f.eng.enobufs = 1;
	FAILS(judge("target"));
	FAILS(judge("timeout"));
	c = judge("harness");
	FAILS(c);
	SAYS(c, "segments were lost that no rule dropped");
	cr_assert_eq(fl_checks_result(w.res, w.nres, 0), FL_RESULT_FAIL);
}

/* A driver that never started fails, and says why: the target ended
 * before it listened, or never listened. */
Test(judge, driver_not_started)
{
	const struct fl_check_result *c;

	world("expect no-sigpipe\n");
	w.f.have_driver = 1;
	w.f.driver = (struct fl_exit){.started = 1, .ended = 1, .t_ns = 5000000};
	HOLDS(judge("driver"));
	w.f.driver = (struct fl_exit){0};
	w.f.target.started = w.f.target.ended = 1;
	c = judge("driver");
	FAILS(c);
	SAYS(c, "driver not started: the target ended before it listened");
	w.f.target.ended = 0;
	SAYS(judge("driver"), "driver not started: the target never listened");
}

/* A run with no connection judged nothing: INCONCLUSIVE, never PASS. */
Test(judge, no_connection_is_inconclusive)
{
	world("expect no-close-wait 1s\n");
	UNJUDGED(judge("connections"));
	cr_assert_eq(fl_checks_result(w.res, w.nres, 0), FL_RESULT_INCONCLUSIVE);
	cr_assert_eq(fl_checks_result(w.res, w.nres, 1), FL_RESULT_PASS);
}

/* Refused privileged operations (denied.h): one the sandbox withheld
 * from a root target makes "privileges" not judged and the run
 * INCONCLUSIVE; one it would meet outside (a non-root uid, a user
 * namespace's limits) is noted; none, and there is no such check. */
Test(judge, privileges)
{
	struct fl_denial d[2] = {
		{.pid = PID, .fn = FL_FN_SETGID, .err = EPERM, .nids = 1,
		 .ids = {65534}, .euid = 0, .count = 1},
		{.pid = PID, .fn = FL_FN_BIND, .err = EACCES, .port = 80,
		 .unpriv_port_start = 1024, .euid = 0, .count = 2},
	};
	const struct fl_check_result *c;
	char text[512];

	world("expect no-sigpipe\n");
	flow();
	judge("no-sigpipe");
	cr_assert_gt(w.nres, 1);
	for (size_t i = 0; i < w.nres; i++)
		cr_assert_str_neq(w.res[i].name, "privileges");
	w.f.denials = d;
	w.f.ndenials = 2;
	c = judge("privileges");
	UNJUDGED(c);
	SAYS(c, "pid 100 setgid(65534) failed with EPERM (no CAP_SETGID in the "
	     "sandbox; --keep-cap setgid would keep it)");
	SAYS(c, "bind(port 80) failed with EACCES (no CAP_NET_BIND_SERVICE in "
	     "the sandbox, and port 80 is below ip_unprivileged_port_start "
	     "(1024); --keep-cap net_bind_service would keep it)");
	cr_assert_eq(fl_checks_result(w.res, w.nres, 0), FL_RESULT_INCONCLUSIVE);
	cr_assert_eq(fl_checks_result(w.res, w.nres, 1), FL_RESULT_PASS);
	/* held the capability: not its lack */
	d[0].cap_eff = 1ull << 6;
	fl_denial_explain(&d[0], &w.f.denial_ctx, text, sizeof(text));
	cr_assert(strstr(text, "not for lack of a capability"), "%s", text);
	cr_assert_eq(fl_denial_withheld(&d[0], &w.f.denial_ctx), 0);
	/* a non-root uid would be refused outside too */
	d[0].cap_eff = 0;
	d[0].euid = d[1].euid = 1000;
	c = judge("privileges");
	HOLDS(c);
	SAYS(c, "noted: 2 refused");
	fl_denial_explain(&d[0], &w.f.denial_ctx, text, sizeof(text));
	cr_assert_str_eq(text, "uid 1000 has no CAP_SETGID, as outside "
			 "faultline; --keep-cap setgid would give it");
	/* faultline unprivileged: the user namespace decides */
	w.f.denial_ctx = (struct fl_denial_ctx){.userns = 1, .uid = 65534,
						.gid = 65534};
	d[0].fn = FL_FN_SETGROUPS;
	d[0].euid = 65534;
	fl_denial_call(&d[0], text, sizeof(text));
	cr_assert_str_eq(text, "setgroups(65534)");
	fl_denial_explain(&d[0], &w.f.denial_ctx, text, sizeof(text));
	cr_assert(strstr(text, "setgroups is denied in the sandbox's user "
			 "namespace"), "%s", text);
	d[0].fn = FL_FN_SETUID;
	d[0].err = EINVAL;
	d[0].ids[0] = 0;
	fl_denial_explain(&d[0], &w.f.denial_ctx, text, sizeof(text));
	cr_assert(strstr(text, "an id not mapped in the sandbox's user namespace, "
			 "which maps only uid 65534 and gid 65534"), "%s", text);
	HOLDS(judge("privileges"));
}

/* ---- the program's calls ---- */

Test(judge, calls_need_the_shim)
{
	world("expect no-fd-leak\n");
	w.f.shim_loaded = 0;
	UNJUDGED(judge("no-fd-leak"));
	SAYS(&w.res[0], "never loaded the shim");
}

static void eof_world(const char *rules, uint64_t close_ms)
{
	struct fl_flow *fl;

	world(rules);
	fl = flow();
	facts(fl)->fin_ns[C] = 1000 * MS;
	accepted(10, 5, 1);
	call(1000, FL_FN_READ, 5, 0, 1);
	if (close_ms)
		call(close_ms, FL_FN_CLOSE, 5, 0, 1);
}

Test(judge, eof_close)
{
	eof_world("expect eof-close 200ms\n", 1150);
	HOLDS(judge("eof-close 200ms"));
	world_free();
	eof_world("expect eof-close 200ms\n", 1500);
	FAILS(judge("eof-close 200ms"));
	SAYS(&w.res[0], "read() returned 0 at 1.000s on pid 100 fd 5 flow 1");
	SAYS(&w.res[0], "close() only at 1.500s (0.500s later)");
	cr_assert_eq(w.res[0].nflows, 1);
	cr_assert_eq(w.res[0].flows[0], 1);
	world_free();
	/* Still open when faultline stopped the target 100ms after. */
	eof_world("expect eof-close 200ms\n", 0);
	w.f.stop_ns = 1100 * MS;
	w.alive[0] = 0;
	UNJUDGED(judge("eof-close 200ms"));
	SAYS(&w.res[0], "not judged: 1 EOF still open");
}

Test(judge, error_close)
{
	world("expect error-close 200ms\n");
	flow();
	accepted(10, 5, 1);
	call(1000, FL_FN_READ, 5, -1, 1)->err = ECONNRESET;
	call(1100, FL_FN_CLOSE, 5, 0, 1);
	HOLDS(judge("error-close 200ms"));
	world_free();
	world("expect error-close 200ms\n");
	flow();
	accepted(10, 5, 1);
	call(1000, FL_FN_READ, 5, -1, 1)->err = ECONNRESET;
	call(1001, FL_FN_READ, 5, -1, 1)->err = EAGAIN; /* not an error */
	call(3000, FL_FN_CLOSE, 5, 0, 1);
	FAILS(judge("error-close 200ms"));
	SAYS(&w.res[0], "read() failed with ECONNRESET at 1.000s");
}

Test(judge, no_sigpipe)
{
	world("expect no-sigpipe\n");
	call(500, FL_FN_WRITE, 5, -1, 0)->err = EPIPE;
	HOLDS(judge("no-sigpipe"));
	SAYS(&w.res[0], "first EPIPE survived: write() at 0.500s");
	world_free();
	world("expect no-sigpipe\n");
	call(600, FL_FN_WAIT, -1, 101, 0)->arg = SIGPIPE;
	FAILS(judge("no-sigpipe"));
	SAYS(&w.res[0], "process 101 (a child of pid 100) died of SIGPIPE");
	world_free();
	world("expect no-sigpipe\n");
	w.f.killed_by_harness = 0;
	w.f.target.sig = SIGPIPE;
	FAILS(judge("no-sigpipe"));
	SAYS(&w.res[0], "the target died of SIGPIPE");
}

static void linger_call(uint64_t t_ms, int secs)
{
	struct fl_call *k = call(t_ms, FL_FN_SETSOCKOPT, 5, 0, 1);

	k->level = SOL_SOCKET;
	k->optname = SO_LINGER;
	k->linger_onoff = 1;
	k->linger_secs = secs;
}

Test(judge, no_linger_abort)
{
	world("expect no-linger-abort\n");
	flow();
	accepted(10, 5, 1);
	linger_call(20, 5); /* {1,5} is not an abort */
	HOLDS(judge("no-linger-abort"));
	world_free();
	world("expect no-linger-abort\n");
	flow();
	accepted(10, 5, 1);
	linger_call(20, 0);
	FAILS(judge("no-linger-abort"));
	SAYS(&w.res[0], "SO_LINGER {1,0} set at 0.020s on pid 100 fd 5 flow 1");
}

/* An abortive close on flow 1 (its RST at 1s): with unsent bytes, or
 * bytes from the peer after it. */
static void abort_world(uint32_t unsent, uint32_t late)
{
	struct fl_flow *fl;
	struct fl_call *k;

	world("expect no-abort-loss\n");
	fl = flow();
	facts(fl)->rst_ns[S] = 1000 * MS;
	accepted(10, 5, 1);
	k = call(1000, FL_FN_CLOSE, 5, 0, 1);
	k->flags = FL_EVF_LINGER | FL_EVF_UNSENT | FL_EVF_UNREAD;
	k->linger_onoff = 1;
	k->unsent = unsent;
	if (late)
		logseg(fl, 1001 * MS, C, FL_TCP_ACK | FL_TCP_PSH, late, FL_V_PASS, -1);
	/* dropped data never arrived: it is no loss */
	logseg(fl, 1002 * MS, C, FL_TCP_ACK | FL_TCP_PSH, 50, FL_V_DROP, -1);
}

Test(judge, no_abort_loss)
{
	abort_world(0, 0);
	HOLDS(judge("no-abort-loss"));
	SAYS(&w.res[0], "1 abortive close threw nothing away");
	world_free();
	abort_world(100, 0);
	FAILS(judge("no-abort-loss"));
	SAYS(&w.res[0], "threw data away: 100 unsent, 0 unread, 0 arriving");
	world_free();
	abort_world(0, 30);
	FAILS(judge("no-abort-loss"));
	SAYS(&w.res[0], "0 unsent, 0 unread, 30 arriving from the peer after it");
}

Test(judge, no_unread_close)
{
	struct fl_flow *fl;
	struct fl_call *k;

	world("expect no-unread-close\n");
	fl = flow();
	accepted(10, 5, 1);
	k = call(1000, FL_FN_CLOSE, 5, 0, 1);
	k->flags = FL_EVF_UNREAD;
	facts(fl)->fin_ns[S] = 1000 * MS;
	HOLDS(judge("no-unread-close"));
	world_free();
	/* Unread bytes at the close, and the RST that followed. */
	world("expect no-unread-close\n");
	fl = flow();
	accepted(10, 5, 1);
	k = call(1000, FL_FN_CLOSE, 5, 0, 1);
	k->flags = FL_EVF_UNREAD;
	k->unread = 7;
	facts(fl)->rst_ns[S] = 1000 * MS;
	FAILS(judge("no-unread-close"));
	SAYS(&w.res[0], "close() at 1.000s with 7 unread bytes on pid 100 fd 5");
	world_free();
	/* The queue was empty at the close, but the peer's data came after
	 * it and the kernel reset the connection. */
	world("expect no-unread-close\n");
	fl = flow();
	accepted(10, 5, 1);
	call(1000, FL_FN_CLOSE, 5, 0, 1)->flags = FL_EVF_UNREAD;
	logseg(fl, 1010 * MS, C, FL_TCP_ACK | FL_TCP_PSH, 40, FL_V_PASS, -1);
	logseg(fl, 1011 * MS, S, FL_TCP_RST, 0, FL_V_PASS, -1);
	facts(fl)->rst_ns[S] = 1011 * MS;
	FAILS(judge("no-unread-close"));
	SAYS(&w.res[0], "40 bytes from the peer arrived after the close");
}

/* Flow 1 ended by the peer's FIN at 500ms; the target closes fd 5 at
 * close_ms (0: never). */
static void leak_world(uint64_t close_ms)
{
	struct fl_flow *fl;

	world("expect no-fd-leak\n");
	fl = flow();
	facts(fl)->fin_ns[C] = 500 * MS;
	accepted(10, 5, 1);
	if (close_ms)
		call(close_ms, FL_FN_CLOSE, 5, 0, 1);
}

Test(judge, no_fd_leak)
{
	leak_world(600);
	HOLDS(judge("no-fd-leak"));
	SAYS(&w.res[0], "1 connection socket opened, all closed");
	world_free();
	leak_world(0);
	FAILS(judge("no-fd-leak"));
	SAYS(&w.res[0], "accept at 0.010s on pid 100 fd 5 flow 1");
	SAYS(&w.res[0], "the fd was still open 9.500s later, while pid 100 lived on");
	world_free();
	/* faultline stopped it 300ms after the end: too early to tell. */
	leak_world(0);
	w.f.stop_ns = 800 * MS;
	UNJUDGED(judge("no-fd-leak"));
	SAYS(&w.res[0], "not judged: 1 ended connection still open");
}

Test(judge, close_time)
{
	struct fl_call *k;

	world("expect close-time <= 100ms\n");
	flow();
	accepted(10, 5, 1);
	k = call(1000, FL_FN_CLOSE, 5, 0, 1);
	k->dur_ns = 50 * MS;
	HOLDS(judge("close-time <= 100ms"));
	world_free();
	world("expect close-time <= 100ms\n");
	flow();
	accepted(10, 5, 1);
	k = call(3000, FL_FN_CLOSE, 5, 0, 1);
	k->dur_ns = 2000 * MS;
	k->flags = FL_EVF_LINGER | FL_EVF_UNSENT;
	k->linger_onoff = 1;
	k->linger_secs = 2;
	k->unsent = 4096;
	FAILS(judge("close-time <= 100ms"));
	SAYS(&w.res[0], "close() at 1.000s on pid 100 fd 5 flow 1 (127.0.0.1:7000 "
			"<-> 127.0.0.1:40000) blocked 2.000s (SO_LINGER {1,2}, 4096 "
			"bytes unacknowledged when called): the linger time ran out");
}

/* ---- the wire and the states ---- */

/* Flow 1: the peer's FIN at 1s, the target's own FIN at fin_ms (0:
 * none). */
static void cw_world(uint64_t fin_ms)
{
	struct fl_flow *fl;

	world("expect no-close-wait 500ms\n");
	fl = flow();
	facts(fl)->fin_ns[C] = 1000 * MS;
	facts(fl)->fin_ns[S] = fin_ms * MS;
	accepted(10, 5, 1);
	call(1000, FL_FN_READ, 5, 0, 1);
}

Test(judge, no_close_wait)
{
	cw_world(1400);
	HOLDS(judge("no-close-wait 500ms"));
	SAYS(&w.res[0], "1 passive close, none in CLOSE_WAIT longer than 0.500s");
	world_free();
	cw_world(2500);
	FAILS(judge("no-close-wait 500ms"));
	SAYS(&w.res[0], "flow 1 (127.0.0.1:40000 -> 127.0.0.1:7000): peer FIN at "
			"1.000s; target server socket in CLOSE_WAIT until its FIN at "
			"2.500s (1.500s); read() returned 0 at 1.000s (pid 100 fd 5)");
	world_free();
	/* The run ended 200ms after the peer's FIN. */
	cw_world(0);
	w.f.stop_ns = 1200 * MS;
	UNJUDGED(judge("no-close-wait 500ms"));
	SAYS(&w.res[0], "not judged: 1 socket still in CLOSE_WAIT");
}

/* Flow 1's peer was last heard at 1s, then a rule lost its segments; the
 * target closes at close_ms (0: never). */
static void dead_world(uint64_t close_ms)
{
	struct fl_flow *fl;

	world("expect dead-peer 2s\n");
	fl = flow();
	facts(fl)->arrived_ns[C] = 1000 * MS;
	facts(fl)->lost_ns = 1500 * MS;
	accepted(10, 5, 1);
	if (close_ms)
		call(close_ms, FL_FN_CLOSE, 5, 0, 1);
}

Test(judge, dead_peer)
{
	dead_world(2000);
	HOLDS(judge("dead-peer 2s"));
	SAYS(&w.res[0], "1 silent peer, each let go within 2.000s");
	cr_assert_eq(w.dead[0].how, FL_DP_PROGRAM);
	world_free();
	dead_world(6000);
	FAILS(judge("dead-peer 2s"));
	SAYS(&w.res[0], "flow 1: peer last heard at 1.000s; the program closed the "
			"socket itself, closed at 6.000s (5.000s after)");
	world_free();
	/* Still held when the run ended, 1s after the peer went silent. */
	dead_world(0);
	w.f.stop_ns = 2000 * MS;
	UNJUDGED(judge("dead-peer 2s"));
	cr_assert_eq(w.dead[0].how, FL_DP_NONE);
}

Test(judge, resets)
{
	struct fl_flow *fl;

	world("expect resets <= 0\n");
	fl = flow();
	facts(fl)->rst_ns[C] = 1000 * MS; /* the peer's: not the target's */
	fl = flow();
	facts(fl)->rst_ns[S] = 10500 * MS; /* after the stop: the stop's */
	HOLDS(judge("resets <= 0"));
	world_free();
	world("expect resets <= 0\n");
	flow();
	fl = flow();
	facts(fl)->rst_ns[S] = 1000 * MS;
	FAILS(judge("resets <= 0"));
	SAYS(&w.res[0], "1 connection reset by the target (at most 0 allowed): "
			"flow 2 (127.0.0.1:40001 -> 127.0.0.1:7000): the target's "
			"server socket sent RST at 1.000s");
}

Test(judge, time_wait)
{
	world("expect time-wait <= 2\n");
	w.f.time_wait = 2;
	HOLDS(judge("time-wait <= 2"));
	world_free();
	world("expect time-wait <= 2\n");
	w.f.time_wait = 3;
	FAILS(judge("time-wait <= 2"));
	SAYS(&w.res[0], "3 sockets in TIME_WAIT on the target's side at the end");
}

static void seg(struct fl_flow *fl, int dir, uint8_t flags, uint32_t seq,
		uint32_t ack)
{
	/* Due at its receiver now: passed, as the engine tells it. */
	struct fl_seg_event ev = {.f = fl, .dir = dir, .flags = flags,
				  .rseq = seq, .rack = ack, .delivered = 1,
				  .verdict = FL_V_PASS, .rule = -1,
				  .t_ns = fl_clock_now_rel_ns()};
	struct fl_seg_event sent = {.rule = -1};

	fl_states_segment(w.states, &ev, NULL);
	fl_states_segment(w.states, &sent, NULL);
}

/* A handshake, then the close: the peer (client) first if passive. */
static void close_segments(struct fl_flow *fl, int passive)
{
	int a = passive ? C : S;

	seg(fl, C, FL_TCP_SYN, 0, 0);
	seg(fl, S, FL_TCP_SYN | FL_TCP_ACK, 0, 1);
	seg(fl, C, FL_TCP_ACK, 1, 1);
	seg(fl, a, FL_TCP_FIN | FL_TCP_ACK, 1, 1);
	seg(fl, !a, FL_TCP_ACK, 1, 2);
	seg(fl, !a, FL_TCP_FIN | FL_TCP_ACK, 1, 2);
	seg(fl, a, FL_TCP_ACK, 2, 2);
}

#define PASSIVE "expect path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE\n"

Test(judge, path)
{
	world(PASSIVE);
	close_segments(flow(), 1);
	w.f.stop_ns = 0;
	HOLDS(judge("path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	SAYS(&w.res[0], "1 flow went ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE");
	world_free();
	world(PASSIVE);
	close_segments(flow(), 0);
	w.f.stop_ns = 0;
	FAILS(judge("path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	SAYS(&w.res[0], "flow 1 server: observed SYN_RECV > ESTABLISHED > FIN_WAIT1 "
			"> FIN_WAIT2 > TIME_WAIT; expected ESTABLISHED");
	world_free();
	/* No state seen at all: nothing proven. */
	world(PASSIVE);
	flow();
	FAILS(judge("path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	SAYS(&w.res[0], "no flow showed the server side's states");
}

/* What the path went through after faultline's stop is not the
 * program's. */
Test(judge, path_after_the_stop_is_the_stops)
{
	struct fl_flow *fl;
	struct timespec ms = {0, 2000000};

	world(PASSIVE);
	fl = flow();
	seg(fl, C, FL_TCP_SYN, 0, 0);
	seg(fl, S, FL_TCP_SYN | FL_TCP_ACK, 0, 1);
	seg(fl, C, FL_TCP_ACK, 1, 1);
	seg(fl, C, FL_TCP_FIN | FL_TCP_ACK, 1, 1);
	seg(fl, S, FL_TCP_ACK, 1, 2);
	nanosleep(&ms, NULL);
	w.f.stop_ns = fl_clock_now_rel_ns();
	nanosleep(&ms, NULL);
	seg(fl, S, FL_TCP_FIN | FL_TCP_ACK, 1, 2);
	seg(fl, C, FL_TCP_ACK, 2, 2);
	FAILS(judge("path server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE"));
	SAYS(&w.res[0], "LAST_ACK only after faultline stopped the target");
}

/* ---- while the run goes on ---- */

Test(judge, undecided_while_a_window_is_open)
{
	char why[160];
	uint64_t until;

	cw_world(0);
	w.f.stop_ns = 0;
	until = fl_checks_undecided(&w.f, 1100 * MS, why, sizeof(why));
	cr_assert_eq(until, 1501 * MS, "%llu", (unsigned long long)until);
	cr_assert_str_eq(why, "flow 1: the target's socket is in CLOSE_WAIT");
	/* Past the window: decided. */
	cr_assert_eq(fl_checks_undecided(&w.f, 1600 * MS, why, sizeof(why)), 0);
}

/* A flow a rule acted on whose FIN is not yet acknowledged: its
 * retransmission may still get through, unless a blackhole took the
 * flow, or the FIN is acknowledged. */
Test(judge, undecided_while_a_faulted_flow_is_mid_teardown)
{
	char why[160];
	struct fl_flow *fl;

	world("drop from client flags FIN times 1\n");
	w.f.stop_ns = 0;
	fl = flow();
	fl->faults = 1;
	fl->flags_seen[C] = FL_TCP_FIN | FL_TCP_ACK;
	facts(fl)->snd_max[C] = 2;
	facts(fl)->snd_max_known[C] = 1;
	cr_assert_eq(fl_checks_undecided(&w.f, 1000 * MS, why, sizeof(why)),
		     1021 * MS, "20ms on, and 1ms past it");
	cr_assert_str_eq(why, "flow 1 is still mid-teardown (a FIN not yet "
			      "acknowledged)");
	facts(fl)->blackholed = 1;
	cr_assert_eq(fl_checks_undecided(&w.f, 1000 * MS, why, sizeof(why)), 0,
		     "blackholed: nothing will get through (%s)", why);
	facts(fl)->blackholed = 0;
	facts(fl)->acked[S] = 2;
	facts(fl)->acked_known[S] = 1;
	cr_assert_eq(fl_checks_undecided(&w.f, 1000 * MS, why, sizeof(why)), 0,
		     "acknowledged (%s)", why);
}

/* ---- the report of those facts (harness/report.c) ---- */

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no key %s in %s", key,
		  json_object_to_json_string(o));
	return v;
}

/* How often needle occurs in hay. */
static int occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The JSON report has the contract's keys (DESIGN.md), and the text, the
 * JSON and the JUnit say the same of each check and flow: they print one
 * model. */
Test(judge, report_from_the_same_facts)
{
	char *argv[] = {"./server", "-p", "7000", NULL};
	char dir[] = "/tmp/test_judge.XXXXXX", json[64], junit[64], *text = NULL;
	size_t ntext = 0;
	struct fl_report r = {.argv = argv, .seed = 42, .have_calls = 1,
			      .junit_name = "t.rules"};
	struct fl_report_out o = {0};
	uint64_t acted[1] = {3};
	json_object *rep, *c, *fl;
	FILE *tf, *jf;
	char xml[16384], want[256];
	size_t nxml;

	/* no-close-wait fails on flow 1; a rule acted 3 times. */
	world("drop from client flags FIN times 3\nexpect no-close-wait 500ms\n");
	w.f.acted = acted;
	{
		struct fl_flow *f1 = flow();
		struct timespec ms = {0, 2000000};

		facts(f1)->fin_ns[C] = 1000 * MS;
		facts(f1)->fin_ns[S] = 2500 * MS;
		accepted(10, 5, 1);
		call(1000, FL_FN_READ, 5, 0, 1);
		/* The server's states: to CLOSE_WAIT before faultline's
		 * stop, the rest after it. */

		seg(f1, C, FL_TCP_SYN, 0, 0);
		seg(f1, S, FL_TCP_SYN | FL_TCP_ACK, 0, 1);
		seg(f1, C, FL_TCP_ACK, 1, 1);
		seg(f1, C, FL_TCP_FIN | FL_TCP_ACK, 1, 1);
		seg(f1, S, FL_TCP_ACK, 1, 2);
		nanosleep(&ms, NULL);
		w.f.stop_ns = fl_clock_now_rel_ns();
		nanosleep(&ms, NULL);
		seg(f1, S, FL_TCP_FIN | FL_TCP_ACK, 1, 2);
		seg(f1, C, FL_TCP_ACK, 2, 2);
	}
	judge("no-close-wait 500ms");
	r.facts = &w.f;
	r.checks = w.res;
	r.nchecks = w.nres;
	r.calls_by_fn[FL_FN_READ] = 1;
	r.calls_by_fn[FL_FN_ACCEPT] = 1;
	r.shim_processes = 1;
	r.result = fl_checks_result(w.res, w.nres, 0);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(json, sizeof(json), "%s/r.json", dir);
	snprintf(junit, sizeof(junit), "%s/r.xml", dir);
	tf = open_memstream(&text, &ntext);
	o = (struct fl_report_out){.text = tf, .json = fopen(json, "w"),
				   .junit = fopen(junit, "w")};
	cr_assert(o.json && o.junit);
	cr_assert_eq(fl_report_write(&r, &o), 0);
	fclose(tf);
	cr_assert_eq(fclose(o.json), 0);
	cr_assert_eq(fclose(o.junit), 0);
	cr_assert_eq(o.json_err, 0);
	cr_assert_eq(o.junit_err, 0);

	rep = json_object_from_file(json);
	cr_assert_not_null(rep);
	cr_assert_str_eq(json_object_get_string(jget(rep, "result")), "FAIL");
	cr_assert(!json_object_get_boolean(jget(rep, "ok")));
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
		jget(jget(rep, "target"), "argv"), 0)), "./server");
	cr_assert_str_eq(json_object_get_string(jget(jget(jget(rep, "target"), "exit"),
						     "signal")), "SIGTERM");
	c = json_object_array_get_idx(jget(rep, "checks"), 0);
	cr_assert_str_eq(json_object_get_string(jget(c, "name")), "no-close-wait");
	cr_assert_str_eq(json_object_get_string(jget(c, "expect")), "no-close-wait 500ms");
	cr_assert(!json_object_get_boolean(jget(c, "ok")));
	cr_assert_str_eq(json_object_get_string(jget(c, "detail")), w.res[0].detail);
	cr_assert_eq(json_object_array_length(jget(rep, "flows")), 1);
	fl = json_object_array_get_idx(jget(rep, "flows"), 0);
	cr_assert_eq(json_object_get_int(jget(fl, "id")), 1);
	cr_assert_str_eq(json_object_get_string(jget(fl, "client")), "127.0.0.1:40000");
	cr_assert_str_eq(json_object_get_string(jget(fl, "server")), "127.0.0.1:7000");
	cr_assert_str_eq(json_object_get_string(jget(fl, "target_side")), "server");
	jget(fl, "packets");
	jget(fl, "faults");
	cr_assert_eq(json_object_array_length(jget(fl, "states")), 5);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
		jget(fl, "states"), 2)), "CLOSE_WAIT");
	cr_assert_eq(json_object_array_length(jget(jget(fl, "states_after_stop"), "server")), 2);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(
		jget(jget(fl, "states_after_stop"), "server"), 0)), "LAST_ACK");
	cr_assert_eq(json_object_array_length(jget(rep, "faults")), 1);
	c = json_object_array_get_idx(jget(rep, "faults"), 0);
	cr_assert_str_eq(json_object_get_string(jget(c, "rule")), "t.rules:1");
	cr_assert_str_eq(json_object_get_string(jget(c, "action")), "drop");
	cr_assert_eq(json_object_get_int(jget(c, "count")), 3);
	cr_assert_eq(json_object_get_int(jget(jget(rep, "calls"), "read")), 1);
	cr_assert_eq(json_object_get_int(jget(jget(rep, "shim"), "processes")), 1);
	cr_assert_str_eq(json_object_get_string(jget(rep, "seed_text")), "42");

	/* The text: the same check line, the flow's ladder (a failing check
	 * names it), and its server path with the stop's mark at the start. */
	cr_assert(strstr(text, "  FAIL  no-close-wait 500ms      flow 1 (127.0.0.1:40000"),
		  "%s", text);
	cr_assert(strstr(text, "    flow 1: client 127.0.0.1:40000 <-> server (target) "
			       "127.0.0.1:7000   (* = fault)\n"), "%s", text);
	cr_assert(strstr(text, "read(fd 5) = 0  pid 100\n"), "%s", text);
	cr_assert(strstr(text, "      server (target): SYN_RECV > ESTABLISHED > CLOSE_WAIT "
			       "| stopped by faultline > LAST_ACK > CLOSE\n"), "%s", text);
	cr_assert(strstr(text, "faults:\n  t.rules:1  "), "%s", text);
	cr_assert(strstr(text, " acted 3 times\n"), "%s", text);
	cr_assert(strstr(text, "result: FAIL (1 of "), "%s", text);

	/* JUnit: one testcase per check in a testsuite named after the rule
	 * file, its classname the file's and the program's, each with the
	 * run's time; the failure's message its detail, its body the detail,
	 * the expect line's place and the flow's ladder as the text has it. */
	jf = fopen(junit, "r");
	nxml = fread(xml, 1, sizeof(xml) - 1, jf);
	xml[nxml] = 0;
	fclose(jf);
	snprintf(want, sizeof(want), "<testsuites name=\"t.rules\" tests=\"%zu\" "
		 "failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n"
		 "  <testsuite name=\"t.rules\" tests=\"%zu\" failures=\"1\" "
		 "errors=\"0\" skipped=\"0\" time=\"0.000\">\n", w.nres, w.nres);
	cr_assert(strstr(xml, want), "%s\nwanted %s", xml, want);
	cr_assert(strstr(xml, "<testcase classname=\"t.rules.server\" name=\"no-close-wait\" "
			      "time=\"0.000\"><failure message=\"flow 1 (127.0.0.1:40000 -&gt; "),
		  "%s", xml);
	cr_assert(strstr(xml, "type=\"no-close-wait\">flow 1 (127.0.0.1:40000 -&gt; "), "%s", xml);
	cr_assert(strstr(xml, "\nexpect: no-close-wait 500ms (t.rules:2)\n"
			      "    flow 1: client 127.0.0.1:40000 &lt;-&gt; server (target) "
			      "127.0.0.1:7000   (* = fault)\n"), "%s", xml);
	cr_assert(strstr(xml, "read(fd 5) = 0  pid 100\n"), "%s", xml);
	cr_assert(strstr(xml, "</failure></testcase>\n"), "%s", xml);
	cr_assert_eq(occurrences(xml, "<testcase "), (int)w.nres, "%s", xml);
	cr_assert_eq(occurrences(xml, " classname=\"t.rules.server\" "), (int)w.nres, "%s", xml);
	/* No name (a caller without rule files): "faultline". */
	{
		char *x = NULL;
		size_t nx = 0;

		r.junit_name = NULL;
		o = (struct fl_report_out){.junit = open_memstream(&x, &nx)};
		cr_assert_eq(fl_report_write(&r, &o), 0);
		fclose(o.junit);
		cr_assert(strstr(x, "  <testsuite name=\"faultline\" tests=\""), "%s", x);
		cr_assert(strstr(x, "<testcase classname=\"faultline.server\" "), "%s", x);
		free(x);
	}
	/* A rule file's target line, run as sh -c 'exec CMD': CMD's program. */
	{
		char *sh[] = {"/bin/sh", "-c", "exec\t\"$SAMPLES/echo_server\" -p 7000", NULL};
		char *x = NULL;
		size_t nx = 0;

		r.argv = sh;
		o = (struct fl_report_out){.junit = open_memstream(&x, &nx)};
		cr_assert_eq(fl_report_write(&r, &o), 0);
		fclose(o.junit);
		cr_assert(strstr(x, "<testcase classname=\"faultline.echo_server\" "), "%s", x);
		free(x);
		r.argv = argv;
	}
	json_object_put(rep);
	free(text);
	unlink(json);
	unlink(junit);
	rmdir(dir);
}

Test(judge, rules_acted)
{
	uint64_t acted[2] = {2, 1};
	const struct fl_check_result *c;

	world("drop from server flags FIN\ndelay 5ms from client data\n"
	      "expect rules-acted\n");
	w.f.acted = acted;
	c = judge("rules-acted");
	HOLDS(c);
	SAYS(c, "each of the 2 rules acted");
	acted[1] = 0;
	c = judge("rules-acted");
	FAILS(c);
	SAYS(c, "t.rules:2: delay never acted");
	cr_assert(!strstr(c->detail, "t.rules:1"), "%s", c->detail);
	w.f.acted = NULL; /* no engine ran: nothing acted */
	c = judge("rules-acted");
	FAILS(c);
	SAYS(c, "t.rules:1: drop never acted; t.rules:2: delay never acted");
}

/* s occurs in [p, q). */
static int within(const char *p, const char *q, const char *s)
{
	const char *x = strstr(p, s);

	return x && x < q;
}

/* The HTML page from the same model: 60 flows, of which the first 50
 * (the failing one first, open) have a diagram with an arrow per segment
 * kept (a long flow's middle said, not drawn), a drop marked with its
 * rule, the calls as the ladder has them, and every string from the
 * program escaped (the argv's markup and a byte that is not UTF-8). */
Test(judge, html_from_the_same_facts)
{
	char *argv[] = {"./server", "<b>&", "\xff", NULL};
	char dir[] = "/tmp/test_judge.XXXXXX", page[64], cmd[128];
	struct fl_report r = {.argv = argv, .seed = 42, .have_calls = 1};
	struct fl_report_out o = {0};
	uint64_t acted[1] = {1};
	char *html = NULL;
	size_t nhtml = 0;
	const char *p, *q;
	FILE *f;

	world("drop from client flags FIN times 1\nexpect no-close-wait 500ms\n");
	w.f.acted = acted;
	for (int i = 1; i <= 60; i++) {
		struct fl_flow *fl = flow();

		if (i == 57) {
			facts(fl)->fin_ns[C] = 1000 * MS;
			accepted(10, 5, 57);
			call(1000, FL_FN_READ, 5, 0, 57);
			call(1001, FL_FN_SHUTDOWN, 5, 0, 57)->arg = SHUT_WR;
			*call(1002, FL_FN_SETSOCKOPT, 5, 0, 57) = (struct fl_call){
				.t_ns = 1002 * MS, .pid = PID, .tid = PID, .fd = 5,
				.fn = FL_FN_SETSOCKOPT, .flow = 57, .dir = S,
				.level = SOL_SOCKET, .optname = SO_LINGER,
				.linger_onoff = 1, .linger_secs = 0};
			seg(fl, C, FL_TCP_SYN, 0, 0);
			seg(fl, S, FL_TCP_SYN | FL_TCP_ACK, 0, 1);
			seg(fl, C, FL_TCP_ACK, 1, 1);
			seg(fl, C, FL_TCP_FIN | FL_TCP_ACK, 1, 1);
			logseg(fl, 2 * MS, C, FL_TCP_SYN, 0, FL_V_PASS, -1);
			logseg(fl, 999 * MS, C, FL_TCP_FIN | FL_TCP_ACK, 0, FL_V_DROP, 0);
			logseg(fl, 1000 * MS, C, FL_TCP_FIN | FL_TCP_ACK, 0, FL_V_PASS, -1);
		} else if (i == 2) {
			for (int k = 0; k < 100; k++)
				logseg(fl, (uint64_t)(3 + k) * MS, k & 1, FL_TCP_ACK,
				       1448, FL_V_PASS, -1);
		} else {
			logseg(fl, 2 * MS, C, FL_TCP_SYN, 0, FL_V_PASS, -1);
		}
	}
	judge("no-close-wait 500ms");
	cr_assert(!w.res[0].ok && w.res[0].nflows == 1 && w.res[0].flows[0] == 57,
		  "%s", w.res[0].detail);
	snprintf(w.res[0].detail, sizeof(w.res[0].detail), "flow 57 <i>&\xfe");
	r.facts = &w.f;
	r.checks = w.res;
	r.nchecks = w.nres;
	r.result = fl_checks_result(w.res, w.nres, 0);
	o.html = open_memstream(&html, &nhtml);
	cr_assert_eq(fl_report_write(&r, &o), 0);
	cr_assert_eq(fclose(o.html), 0);
	cr_assert_eq(o.html_err, 0);

	cr_assert(!strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\" "
			   "data-result=\"FAIL\" ", 45), "%.200s", html);
	cr_assert_eq(occurrences(html, "<svg class=\"ladder\""), 50);
	cr_assert_eq(occurrences(html, "<details "), 50);
	cr_assert_eq(occurrences(html, " open=\"\""), 1);
	cr_assert(strstr(html, "10 flows have no diagram"));
	cr_assert_eq(occurrences(html, "<tr data-flow="), 10);
	/* flow 57 first and open; then 1, 2, ...; 50 .. 60 but 57 in the table */
	p = strstr(html, "<details ");
	cr_assert(!strncmp(p, "<details class=\"flow\" id=\"flow-57\" "
			   "data-flow=\"57\" data-failing=\"1\" data-faults=\"0\" "
			   "open=\"\">", 91),
		  "%.100s", p);
	cr_assert(strstr(p + 1, "<details class=\"flow\" id=\"flow-1\" "
			 "data-flow=\"1\" data-failing=\"0\" data-faults=\"0\">"));
	cr_assert(strstr(html, "<tr data-flow=\"50\">") &&
		  !strstr(html, "<tr data-flow=\"49\">") &&
		  !strstr(html, "<tr data-flow=\"57\">"));
	/* flow 57's diagram: its 3 segments, the drop with its rule, the
	 * server's calls on its lane */
	p = strstr(html, "<svg class=\"ladder\" ");
	q = strstr(p, "</svg>");
	cr_assert(within(p, q, "data-flow=\"57\" data-segments=\"3\" data-skipped=\"0\""));
	cr_assert(within(p, q, "<g class=\"seg fault\" data-dir=\"c2s\" "
			 "data-verdict=\"drop\" data-rule=\"t.rules:1\">"));
	cr_assert(within(p, q, "drop (t.rules:1)</text>"));
	cr_assert(within(p, q, "<g class=\"call\" data-side=\"server\">"));
	cr_assert(within(p, q, ">read(fd 5) = 0</text>"));
	cr_assert(within(p, q, ">shutdown(fd 5, SHUT_WR) = 0</text>"));
	cr_assert(within(p, q, ">setsockopt(fd 5, SO_LINGER {1,0}) = 0</text>"));
	cr_assert(within(p, q, "127.0.0.1:7000 (target)</text>"));
	/* flow 2: 100 segments, the first and last 40 drawn */
	p = strstr(html, "data-flow=\"2\" data-segments=");
	cr_assert(p && !strncmp(p, "data-flow=\"2\" data-segments=\"80\" "
				"data-skipped=\"20\"", 49), "%.60s", p);
	q = strstr(p, "</svg>");
	cr_assert(within(p, q, ">20 segments in the middle not kept (see --trace)<"));
	{
		int n = 0;

		for (const char *s = p; (s = strstr(s, "<g class=\"seg")) && s < q; s++)
			n++;
		cr_assert_eq(n, 80);
	}
	/* escaped, bad bytes as U+FFFD, nothing from the network */
	cr_assert(strstr(html, "./server &lt;b&gt;&amp; \xef\xbf\xbd</code>"));
	cr_assert(strstr(html, "flow 57 &lt;i&gt;&amp;\xef\xbf\xbd"));
	cr_assert(!strstr(html, "<b>") && !strstr(html, "<i>") &&
		  !strstr(html, "\xff") && !strstr(html, "\xfe"));
	cr_assert(!strstr(html, "http:") && !strstr(html, "https:"));
	/* well-formed (html.c writes XML-compatible HTML), when xmllint is
	 * there (libxml2-utils: .ci/install-deps) */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(page, sizeof(page), "%s/r.html", dir);
	f = fopen(page, "w");
	cr_assert(f);
	fputs(html, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s", page);
	cr_assert_eq(system(cmd), 0, "not well-formed");
	unlink(page);
	rmdir(dir);
	free(html);
}
