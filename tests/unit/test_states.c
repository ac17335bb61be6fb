/*
 * test_states.c - the segment-driven TCP state machine of harness/states.c,
 * fed the segments a run would show the observer (queue.h: in the order the
 * engine read them, each batch closed by a call with f NULL), with no
 * kernel.  Each expected path is the one Linux's tracepoint
 * sock:inet_sock_set_state gave for the same exchange (the scenario tests
 * compare every run with it; these pin the cases that once differed).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "rules.h"
#include "states.h"

enum { C = FL_DIR_C2S, S = FL_DIR_S2C };
#define SYN FL_TCP_SYN
#define ACK FL_TCP_ACK
#define FIN FL_TCP_FIN
#define RST FL_TCP_RST
#define PSH FL_TCP_PSH

static struct fl_flow flow = {.id = 1};

/* The engine's event of one segment of f (NULL: the end of a batch). */
static void event(struct fl_states *s, struct fl_flow *f, int dir,
		  uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len,
		  int delivered, uint64_t t_ns)
{
	struct fl_seg_event ev = {.f = f, .dir = dir, .flags = flags,
				  .rseq = seq, .rack = ack, .len = len,
				  .delivered = delivered, .rule = -1,
				  .t_ns = t_ns};

	fl_states_segment(s, &ev, NULL);
}

/* One segment the engine passed (delivered), sent by dir. */
static void seg(struct fl_states *s, int dir, uint8_t flags, uint32_t seq,
		uint32_t ack, uint32_t len)
{
	event(s, &flow, dir, flags, seq, ack, len, 1, 0);
}

/* The end of a batch: its verdicts are out. */
static void batch(struct fl_states *s)
{
	event(s, NULL, 0, 0, 0, 0, 0, 0, 0);
}

static const char *path(const struct fl_states *s, int dir)
{
	static char buf[2][256];
	uint8_t p[FL_STATES_PATH_MAX];
	size_t n = fl_states_path(s, 1, dir, p, FL_STATES_PATH_MAX);
	char *b = buf[dir];

	b[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(b);

		snprintf(b + l, 256 - l, "%s%s", i ? " > " : "",
			 fl_state_name(p[i]));
	}
	return b;
}

static struct fl_states *handshake(void)
{
	struct fl_states *s;

	cr_assert_eq(fl_states_new(&s, NULL), 0);
	seg(s, C, SYN, 0, 0, 0);
	batch(s);
	seg(s, S, SYN | ACK, 0, 1, 0);
	batch(s);
	seg(s, C, ACK, 1, 1, 0);
	batch(s);
	return s;
}

/* RFC 9293 3.10.7.4: a FIN that also acknowledges our FIN is processed
 * ACK first: FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT. */
Test(states, fin_ack_of_our_fin_goes_through_fin_wait2)
{
	struct fl_states *s = handshake();

	seg(s, C, FIN | ACK, 1, 1, 0);
	batch(s);
	seg(s, S, FIN | ACK, 1, 2, 0);
	batch(s);
	seg(s, C, ACK, 2, 2, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2 > TIME_WAIT");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE_WAIT > "
				     "LAST_ACK > CLOSE");
	fl_states_free(s);
}

/* Both FINs waiting in the queue together were both sent before either
 * arrived: a simultaneous close on both sides, never CLOSE_WAIT. */
Test(states, fins_crossing_in_one_batch_are_a_simultaneous_close)
{
	struct fl_states *s = handshake();

	seg(s, C, FIN | ACK, 1, 1, 0);
	seg(s, S, FIN | ACK, 1, 1, 0);
	batch(s);
	seg(s, C, ACK, 2, 2, 0);
	seg(s, S, ACK, 2, 2, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "
				     "CLOSING > TIME_WAIT");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > FIN_WAIT1 > "
				     "CLOSING > TIME_WAIT");
	fl_states_free(s);
}

/* The client's FIN and the server's RST cross: the client was in
 * FIN_WAIT1 when the RST came, the server never saw the FIN. */
Test(states, fin_crossing_an_rst)
{
	struct fl_states *s = handshake();

	seg(s, C, FIN | PSH | ACK, 1, 1, 100);
	seg(s, S, RST | ACK, 1, 60, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE");
	fl_states_free(s);
}

/* A held (delayed) FIN reaches its receiver at its release, not when the
 * engine read it: the peer's FIN sent meanwhile crosses it. */
Test(states, delayed_fin_crosses_the_peers_fin)
{
	struct fl_states *s = handshake();

	event(s, &flow, C, FIN | ACK, 1, 1, 0, 1, UINT64_MAX / 2);
	batch(s);
	seg(s, S, FIN | ACK, 1, 1, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSING");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > FIN_WAIT1");
	fl_states_free(s);
}

/* A server that accepts and resets at once, its handshake's last ACK not
 * queued: the RST acknowledges data, which only the full (ESTABLISHED)
 * socket can have read; Linux's request socket acknowledges the SYN only. */
Test(states, rst_acknowledging_data_was_established)
{
	struct fl_states *s;

	cr_assert_eq(fl_states_new(&s, NULL), 0);
	seg(s, C, SYN, 0, 0, 0);
	batch(s);
	seg(s, S, SYN | ACK, 0, 1, 0);
	batch(s);
	seg(s, S, RST | ACK, 1, 14481, 0);
	batch(s);
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE");
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > CLOSE");
	fl_states_free(s);
}

/* An RST,ACK answering a SYN (nothing listens): the client never got
 * past SYN_SENT. */
Test(states, refused_connect)
{
	struct fl_states *s;

	cr_assert_eq(fl_states_new(&s, NULL), 0);
	seg(s, C, SYN, 0, 0, 0);
	batch(s);
	seg(s, S, RST | ACK, 0, 1, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > CLOSE");
	cr_assert_str_eq(path(s, S), "");
	fl_states_free(s);
}

/* The server answered and closed (FIN); the client, still sending, sends
 * data and then its FIN.  A closed socket resets on data after its FIN
 * (Linux's TCPAbortOnData): its RST shows it, and the FIN behind the data
 * found no socket: FIN_WAIT2 > CLOSE, never TIME_WAIT. */
Test(states, data_after_close_resets_the_closed_socket)
{
	struct fl_states *s = handshake();

	seg(s, S, FIN | PSH | ACK, 1, 1, 10);
	batch(s);
	seg(s, C, ACK, 1, 12, 0);
	batch(s);
	seg(s, C, PSH | ACK, 1, 12, 1000);
	seg(s, C, FIN | ACK, 1001, 12, 0);
	batch(s);
	seg(s, S, RST, 12, 0, 0);
	batch(s);
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2 > CLOSE");
	fl_states_free(s);
}

/* The same after shutdown(SHUT_WR): the socket takes the data and the
 * FIN, and its ACK shows it: FIN_WAIT2 > TIME_WAIT. */
Test(states, data_after_shutdown_is_taken)
{
	struct fl_states *s = handshake();

	seg(s, S, FIN | PSH | ACK, 1, 1, 10);
	batch(s);
	seg(s, C, ACK, 1, 12, 0);
	batch(s);
	seg(s, C, PSH | ACK, 1, 12, 1000);
	seg(s, C, FIN | ACK, 1001, 12, 0);
	batch(s);
	seg(s, S, ACK, 12, 1002, 0);
	batch(s);
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2 > TIME_WAIT");
	fl_states_free(s);
}

/* The server's RST is let through (its verdict sent) just before the
 * client's FIN reaches the queue: the FIN left the client before the RST
 * arrived, so the client went FIN_WAIT1 > CLOSE, as the kernel logs it. */
Test(states, fin_queued_just_after_the_rst_reached_its_sender)
{
	struct fl_states *s = handshake();

	seg(s, S, RST | ACK, 1, 5, 0);
	batch(s);
	seg(s, C, FIN | PSH | ACK, 5, 1, 995);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE");
	fl_states_free(s);
}

/* An RST reached the client (faultline's reset in place of the server's
 * data), then the server's own FIN, sent before it learned anything,
 * arrives behind it: the client's socket is gone (its kernel answers
 * with an RST), so the FIN moves nothing: ESTABLISHED > CLOSE, never
 * CLOSE_WAIT.  (curl against python3 -m http.server under
 * client-peer-reset.rules.) */
Test(states, fin_behind_an_rst_to_the_same_side)
{
	struct fl_states *s = handshake();

	seg(s, C, PSH | ACK, 1, 1, 78);
	batch(s);
	seg(s, S, RST, 1, 0, 0);
	batch(s);
	seg(s, S, FIN | PSH | ACK, 185, 79, 6);
	batch(s);
	seg(s, C, RST, 79, 0, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > CLOSE");
	fl_states_free(s);
}

/* An RST with nothing after it: CLOSE, at the RST's time. */
Test(states, rst_alone_closes)
{
	struct fl_states *s = handshake();
	size_t n;
	const struct fl_state_change *ch;

	seg(s, S, RST | ACK, 1, 1, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > CLOSE");
	ch = fl_states_changes(s, &n);
	cr_assert_gt(n, 0);
	cr_assert_eq(ch[n - 1].to, FL_TCP_CLOSE);
	fl_states_free(s);
}

/* The server's FIN got its verdict just before the client's FIN reached
 * the queue; the client's FIN does not acknowledge the server's: it left
 * before that arrived.  A simultaneous close on both sides (RFC 9293 3.6),
 * never the impossible CLOSE_WAIT > CLOSING. */
Test(states, fin_queued_just_after_the_peers_fin_verdict_crossed_it)
{
	struct fl_states *s = handshake();

	seg(s, S, FIN | PSH | ACK, 1, 1, 100);
	batch(s);
	seg(s, C, FIN | ACK, 1, 1, 0);
	batch(s);
	seg(s, S, ACK, 102, 2, 0);
	seg(s, C, ACK, 2, 102, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "
				     "CLOSING > TIME_WAIT");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > FIN_WAIT1 > "
				     "CLOSING > TIME_WAIT");
	fl_states_free(s);
}

/* The same, but the client's FIN acknowledges the server's: a passive
 * close, CLOSE_WAIT > LAST_ACK. */
Test(states, fin_that_acknowledges_the_peers_is_a_passive_close)
{
	struct fl_states *s = handshake();

	seg(s, S, FIN | PSH | ACK, 1, 1, 100);
	batch(s);
	seg(s, C, FIN | ACK, 1, 102, 0);
	batch(s);
	seg(s, S, ACK, 102, 2, 0);
	batch(s);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > CLOSE_WAIT > "
				     "LAST_ACK > CLOSE");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2 > TIME_WAIT");
	fl_states_free(s);
}

/* ---- what is asked of the kernel: fl_states_due() / fl_states_looked() */

#include <sys/socket.h>

#include "clock.h"
#include "sampler.h"

static struct fl_flow_table *one_flow(struct fl_flow **f)
{
	struct fl_flow_table *t = fl_flow_table_new();
	struct fl_endpoint c = {.family = AF_INET, .addr = {127, 0, 0, 1},
				.port = 40000};
	struct fl_endpoint sv = {.family = AF_INET, .addr = {127, 0, 0, 1},
				 .port = 7000};
	int dir;

	cr_assert_not_null(t);
	*f = fl_flow_lookup(t, &c, &sv, FL_TCP_SYN, 0, &dir);
	cr_assert_not_null(*f);
	cr_assert_eq((*f)->id, 1);
	return t;
}

/* A segment of flow f, delivered or dropped by a rule. */
static void fseg(struct fl_states *s, struct fl_flow *f, int dir,
		 uint8_t flags, uint32_t seq, uint32_t ack, int delivered)
{
	event(s, f, dir, flags, seq, ack, 0, delivered, fl_clock_now_rel_ns());
	batch(s);
}

static struct fl_states *established(struct fl_flow *f)
{
	struct fl_states *s;

	cr_assert_eq(fl_states_new(&s, NULL), 0);
	fseg(s, f, C, SYN, 0, 0, 1);
	fseg(s, f, S, SYN | ACK, 0, 1, 1);
	fseg(s, f, C, ACK, 1, 1, 1);
	return s;
}

static uint64_t later(uint64_t ns)
{
	return fl_clock_now_rel_ns() + ns;
}

/* ESTABLISHED ends only by a segment the engine sees: no lookup, however
 * long it lasts; a FIN_WAIT2 may expire unseen: it is looked up 1 ms after
 * it got there, and a "no such socket" answer is its CLOSE. */
Test(states, lookups_only_where_segments_cannot_tell)
{
	struct fl_flow *f;
	struct fl_flow_table *t = one_flow(&f);
	struct fl_states *s = established(f);
	struct fl_look v[8];
	uint64_t next;

	fl_states_tick(s, t, NULL, later(60000000000ull));
	cr_assert_eq(fl_states_due(s, t, later(60000000000ull), v, 8, &next), 0);
	cr_assert_eq(next, UINT64_MAX);
	fseg(s, f, C, FIN | ACK, 1, 1, 1);
	fseg(s, f, S, ACK, 1, 2, 1); /* client: FIN_WAIT2 */
	cr_assert_eq(fl_states_due(s, t, later(0), v, 8, &next), 0,
		     "looked up before 1 ms");
	/* the client's FIN_WAIT2, and the server's CLOSE_WAIT */
	cr_assert_eq(fl_states_due(s, t, later(2000000), v, 8, &next), 2);
	if (v[0].dir != C) {
		struct fl_look x = v[0];

		v[0] = v[1];
		v[1] = x;
	}
	cr_assert_eq(v[0].flow, 1);
	cr_assert_eq(v[0].dir, C);
	cr_assert_eq(v[0].sport, 40000, "the client's own port first");
	cr_assert_eq(v[0].dport, 7000);
	/* On their way: not asked twice. */
	cr_assert_eq(fl_states_due(s, t, later(1000000000), v + 1, 7, NULL), 0);
	v[0].found = 0;
	v[1].found = 1;
	v[1].sock.state = 8; /* CLOSE_WAIT */
	v[1].sock.dport = 40000;
	fl_states_looked(s, t, NULL, v, 2, later(0));
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2 > CLOSE");
	cr_assert_eq(fl_states_due(s, t, later(60000000000ull), v, 8, NULL), 1,
		     "CLOSE is final: only the server's side is looked up");
	cr_assert_eq(v[0].dir, S);
	fl_states_free(s);
	fl_flow_table_free(t);
}

/* A lookup that finds the socket in the state the segments said changes
 * nothing and comes back ever more rarely; one that finds the listener
 * (inet_lookup()'s fallback for a server's side) means the socket is gone. */
Test(states, lookups_back_off_and_the_listener_means_gone)
{
	struct fl_flow *f;
	struct fl_flow_table *t = one_flow(&f);
	struct fl_states *s = established(f);
	struct fl_look v[8];
	uint64_t now, next, gap = 0;

	fseg(s, f, C, FIN | ACK, 1, 1, 1);
	fseg(s, f, S, ACK, 1, 2, 1); /* server: CLOSE_WAIT (its ACK) */
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE_WAIT");
	now = later(2000000);
	for (int i = 0; i < 4; i++) {
		size_t n = fl_states_due(s, t, now, v, 8, &next);

		/* the client's FIN_WAIT2 and the server's CLOSE_WAIT */
		cr_assert_eq(n, 2, "round %d: %zu lookups", i, n);
		for (size_t k = 0; k < n; k++) {
			v[k].found = 1;
			v[k].sock.state = v[k].dir == S ? 8 : 5;
			v[k].sock.dport = v[k].dir == S ? 40000 : 7000;
		}
		fl_states_looked(s, t, NULL, v, n, now);
		fl_states_due(s, t, now, v, 8, &next);
		cr_assert_gt(next - now, gap, "round %d: gap %llu after %llu", i,
			     (unsigned long long)(next - now),
			     (unsigned long long)gap);
		gap = next - now;
		now = next;
	}
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2");
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE_WAIT");
	cr_assert_eq(fl_states_due(s, t, now, v, 8, NULL), 2);
	if (v[0].dir != S)
		v[0] = v[1];
	v[0].found = 1;
	v[0].sock.state = 10; /* LISTEN */
	v[0].sock.dport = 0;
	fl_states_looked(s, t, NULL, v, 1, now);
	cr_assert_str_eq(path(s, S), "SYN_RECV > ESTABLISHED > CLOSE_WAIT > "
				     "CLOSE");
	fl_states_free(s);
	fl_flow_table_free(t);
}

/* A segment a rule dropped: either side may now give up with no segment
 * to show it, so even ESTABLISHED sides are looked up. */
Test(states, a_loss_makes_established_sides_looked_up)
{
	struct fl_flow *f;
	struct fl_flow_table *t = one_flow(&f);
	struct fl_states *s = established(f);
	struct fl_look v[8];

	cr_assert_eq(fl_states_due(s, t, later(10000000), v, 8, NULL), 0);
	fseg(s, f, C, ACK | PSH, 1, 1, 0);
	cr_assert_eq(fl_states_due(s, t, later(2000000), v, 8, NULL), 2);
	cr_assert_neq(v[0].dir, v[1].dir);
	fl_states_free(s);
	fl_flow_table_free(t);
}

/* What `expect time-wait` judges: the target's sides in TIME_WAIT, never
 * the peer's (here the client closed first and waits there). */
Test(states, time_wait_counts_the_target_sides_only)
{
	struct fl_flow *f;
	struct fl_flow_table *t = one_flow(&f);
	struct fl_states *s = established(f);

	fseg(s, f, C, FIN | ACK, 1, 1, 1);
	fseg(s, f, S, ACK, 1, 2, 1);
	fseg(s, f, S, FIN | ACK, 1, 2, 1);
	fseg(s, f, C, ACK, 2, 2, 1);
	cr_assert_str_eq(path(s, C), "SYN_SENT > ESTABLISHED > FIN_WAIT1 > "
				     "FIN_WAIT2 > TIME_WAIT");
	f->target_side = FL_SIDE_SERVER;
	cr_assert_eq(fl_states_time_wait(s, t), 0);
	f->target_side = FL_SIDE_CLIENT;
	cr_assert_eq(fl_states_time_wait(s, t), 1);
	f->target_side = FL_SIDE_BOTH;
	cr_assert_eq(fl_states_time_wait(s, t), 1);
	f->target_side = FL_SIDE_ANY;
	cr_assert_eq(fl_states_time_wait(s, t), 0);
	fl_states_free(s);
	fl_flow_table_free(t);
}
