/* states.c - TCP state tracking from segments and socket lookups; see
 * states.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "rules.h"
#include "sampler.h"
#include "states.h"
#include "trace.h"

/* A side in a state that can end without a segment is looked up 1 ms after
 * it got there, then ever more rarely, up to these gaps. */
#define LOOK_FIRST_NS 1000000u
#define LOOK_MAX_GAP_NS 100000000u      /* FIN_WAIT*, CLOSE_WAIT, ... */
#define LOOK_MAX_GAP_SLOW_NS 1000000000u /* TIME_WAIT, ESTABLISHED */

struct side_state {
	uint8_t cur;      /* last state seen, 0 = none yet */
	uint8_t fin_sent; /* this side sent a FIN that was delivered */
	uint32_t fin_seq; /* its relative sequence number */
	uint8_t was_est;  /* it has been ESTABLISHED */
	uint8_t watched;  /* in fl_states.watch */
	uint8_t looking;  /* a lookup is on its way */
	uint8_t lossy;    /* a segment of its flow was dropped: even
			     ESTABLISHED may end silently (give-up) */
	uint64_t look_ns; /* next lookup due */
	uint64_t look_gap;
	uint64_t cookie;  /* its full socket's, once seen (0 = any) */
	uint8_t gone;     /* vanished from a sample in SYN_SENT/SYN_RECV: its
			     CLOSE waits for the segments (see settle()) */
	uint64_t gone_ns;
	uint8_t late_data; /* data reached it after its own FIN */
	uint8_t held_to;   /* a FIN after such data: the state it would move
			      to (TIME_WAIT, CLOSING), held, see receive() */
	uint64_t held_ns;
	uint8_t held_rst;  /* an RST reached it: its CLOSE, held, see receive() */
	uint64_t held_rst_ns;
	uint8_t held_cw;   /* a FIN reached it ESTABLISHED: its CLOSE_WAIT,
			      held, see receive() */
	uint64_t held_cw_ns;
	uint8_t npath;
	uint8_t path[FL_STATES_PATH_MAX];
	uint64_t path_ns[FL_STATES_PATH_MAX]; /* when it got to each */
};

/* A segment's effect on its receiver, due when the engine releases it. */
struct pending {
	uint64_t t_ns;
	const struct fl_flow *f;
	int dir;
	uint8_t flags;
	uint32_t rseq, rack, len;
};

struct fl_states {
	struct fl_sdiag *diag;  /* for fl_states_look_all(), or NULL */
	struct pending *pend;   /* by time, from phead */
	size_t phead, npend, cappend;
	uint32_t *watch;        /* sides (index into v) to look up */
	size_t nwatch, capwatch;
	int settle_dirty;       /* a side may wait in settle() */
	struct side_state *v; /* index (flow id - 1) * 2 + dir */
	size_t n;
	struct fl_state_change *ch;
	size_t nch, capch;
	const struct fl_flow_table *flows;
	struct fl_trace *trace;
	uint64_t now_ns;
	uint64_t stop_ns; /* faultline began stopping the target, 0 = not */
};

int fl_states_new(struct fl_states **out, struct fl_sdiag *diag)
{
	struct fl_states *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->diag = diag;
	*out = s;
	return 0;
}

void fl_states_free(struct fl_states *s)
{
	if (!s)
		return;
	free(s->v);
	free(s->ch);
	free(s->pend);
	free(s->watch);
	free(s);
}

static struct side_state *slot(struct fl_states *s, uint32_t id, int dir)
{
	size_t i = ((size_t)id - 1) * 2 + (size_t)dir;

	if (i >= s->n) {
		size_t n = s->n ? s->n : 64;
		struct side_state *v;

		while (n <= i)
			n *= 2;
		v = realloc(s->v, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + s->n, 0, (n - s->n) * sizeof(*v));
		s->v = v;
		s->n = n;
	}
	return &s->v[i];
}


/* How far along a connection's life a state is: states only move forward,
 * so a sample that lags behind what the segments showed is not a change. */
static int rank(uint8_t st)
{
	switch (st) {
	case FL_TCP_SYN_SENT:
	case FL_TCP_SYN_RECV:
		return 1;
	case FL_TCP_ESTABLISHED:
		return 2;
	case FL_TCP_FIN_WAIT1:
	case FL_TCP_CLOSE_WAIT:
		return 3;
	case FL_TCP_FIN_WAIT2:
	case FL_TCP_CLOSING:
	case FL_TCP_LAST_ACK:
		return 4;
	case FL_TCP_TIME_WAIT:
		return 5;
	case FL_TCP_CLOSE:
		return 6;
	}
	return 0;
}

/* Whether a side in state st can change with no segment to show it: the
 * handshake's sockets time out or vanish, FIN_WAIT2 and TIME_WAIT expire,
 * and a side that lost segments may give up.  The rest of ESTABLISHED,
 * and CLOSE, change only by a segment the engine sees. */
static int needs_look(const struct side_state *ss)
{
	switch (ss->cur) {
	case FL_TCP_SYN_SENT:
	case FL_TCP_SYN_RECV:
	case FL_TCP_FIN_WAIT1:
	case FL_TCP_FIN_WAIT2:
	case FL_TCP_CLOSING:
	case FL_TCP_LAST_ACK:
	case FL_TCP_CLOSE_WAIT:
	case FL_TCP_TIME_WAIT:
		return 1;
	case FL_TCP_ESTABLISHED:
		return ss->lossy;
	}
	return 0;
}

/* Looks side i up soon (1 ms from now), if its state needs it. */
static void watch(struct fl_states *s, size_t i)
{
	struct side_state *ss = &s->v[i];

	if (!needs_look(ss))
		return;
	ss->look_ns = s->now_ns + LOOK_FIRST_NS;
	ss->look_gap = LOOK_FIRST_NS;
	if (ss->watched)
		return;
	if (s->nwatch == s->capwatch) {
		size_t cap = s->capwatch ? s->capwatch * 2 : 256;
		uint32_t *v = realloc(s->watch, cap * sizeof(*v));

		if (!v)
			return;
		s->watch = v;
		s->capwatch = cap;
	}
	s->watch[s->nwatch++] = (uint32_t)i;
	ss->watched = 1;
}

static size_t side_index(uint32_t id, int dir)
{
	return ((size_t)id - 1) * 2 + (size_t)dir;
}

static void change(struct fl_states *s, uint32_t id, int dir,
		   struct side_state *ss, uint8_t to)
{
	char body[256];
	const char *from;

	/* A server's side leaves SYN_RECV through ESTABLISHED once its
	 * client was ESTABLISHED: the client's ACK of the SYN,ACK (sent at
	 * once, and not queued unless every segment is) made the full
	 * socket, which Linux moves to ESTABLISHED right away.  Only its
	 * request socket can end in SYN_RECV, when no such ACK came. */
	if (ss->cur == FL_TCP_SYN_RECV && dir == FL_DIR_S2C &&
	    to != FL_TCP_ESTABLISHED && to != FL_TCP_SYN_SENT) {
		const struct side_state *peer = slot(s, id, !dir);

		if (peer && peer->was_est)
			change(s, id, dir, ss, FL_TCP_ESTABLISHED);
	}
	from = ss->cur ? fl_state_name(ss->cur) : NULL;

	/* Whatever moved it decided a held FIN's fate (receive()), and a
	 * CLOSE seen otherwise is the held RST's. */
	ss->held_to = 0;
	ss->held_cw = 0;
	if (to == FL_TCP_CLOSE)
		ss->held_rst = 0;

	const struct fl_flow *f = s->flows ? fl_flow_get(s->flows, id) : NULL;
	const char *owner = "null";

	/* Whose socket this side is: the target's, or its peer's. */
	if (f && f->target_side != FL_SIDE_ANY)
		owner = fl_flow_target_dir(f, dir) ? "\"target\"" : "\"peer\"";
	snprintf(body, sizeof(body),
		 "\"flow\":%u,\"side\":\"%s\",\"owner\":%s,\"from\":%s%s%s,"
		 "\"to\":\"%s\"", id,
		 dir == FL_DIR_C2S ? "client" : "server", owner,
		 from ? "\"" : "", from ? from : "null", from ? "\"" : "",
		 fl_state_name(to) ? fl_state_name(to) : "?");
	/* What the stop caused is not the program's behaviour. */
	if (s->stop_ns && s->now_ns >= s->stop_ns) {
		size_t l = strlen(body);

		snprintf(body + l, sizeof(body) - l, ",\"after_stop\":true");
	}
	fl_trace_raw(s->trace, s->now_ns, "state", body);
	if (s->nch == s->capch) {
		size_t cap = s->capch ? s->capch * 2 : 256;
		struct fl_state_change *v = realloc(s->ch, cap * sizeof(*v));

		if (v) {
			s->ch = v;
			s->capch = cap;
		}
	}
	if (s->nch < s->capch)
		s->ch[s->nch++] = (struct fl_state_change){
			.t_ns = s->now_ns, .flow = id, .dir = (uint8_t)dir,
			.from = ss->cur, .to = to};
	ss->cur = to;
	ss->was_est |= to == FL_TCP_ESTABLISHED;
	if (ss->npath < FL_STATES_PATH_MAX) {
		ss->path_ns[ss->npath] = s->now_ns;
		ss->path[ss->npath++] = to;
	}
	watch(s, side_index(id, dir));
}

static void apply_cw(struct fl_states *s, uint32_t id, int dir,
		     struct side_state *ss);

/* The kernel showed side dir of flow id in state k->state. */
static void seen(struct fl_states *s, uint32_t id, int dir,
		 struct side_state *ss, const struct fl_sdiag_sock *k)
{
	uint8_t st = k->state == FL_TCP_NEW_SYN_RECV ? FL_TCP_SYN_RECV : k->state;

	/* The full socket's cookie names it from now on: a later socket on
	 * the same 4-tuple is not this one (a request socket's cookie is not
	 * its full socket's, so only from ESTABLISHED on). */
	if (rank(st) >= 2 && k->cookie)
		ss->cookie = k->cookie;
	if (ss->held_cw)
		return; /* decided by its next segment (receive()) */
	if (ss->cur != st && (!ss->cur || rank(st) > rank(ss->cur) ||
			      (rank(st) == rank(ss->cur) && rank(st) != 3 &&
			       rank(st) != 4))) {
		/* Past the handshake and not closed: the socket was
		 * ESTABLISHED in between, too short for the sample (a server
		 * that closes right after accept: Linux's request socket
		 * never sends a FIN, only the full socket does). */
		if (rank(ss->cur) == 1 && rank(st) > 2 && st != FL_TCP_CLOSE)
			change(s, id, dir, ss, FL_TCP_ESTABLISHED);
		change(s, id, dir, ss, st);
	}
}

/* The kernel has no socket for side i (any more): it reached CLOSE
 * (RFC 9293 3.3.2). */
static void vanished(struct fl_states *s, size_t i)
{
	struct side_state *ss = &s->v[i];

	if (!ss->cur || ss->cur == FL_TCP_CLOSE)
		return;
	if (rank(ss->cur) == 1) {
		ss->gone = 1; /* see settle() */
		ss->gone_ns = s->now_ns;
		s->settle_dirty = 1;
		return;
	}
	/* A FIN it had taken came first. */
	apply_cw(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss);
	change(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss, FL_TCP_CLOSE);
}

/* A held CLOSE_WAIT (see receive()), at its time. */
static void apply_cw(struct fl_states *s, uint32_t id, int dir,
		     struct side_state *ss)
{
	uint64_t now = s->now_ns;

	if (!ss->held_cw)
		return;
	ss->held_cw = 0;
	if (ss->cur != FL_TCP_ESTABLISHED)
		return;
	s->now_ns = ss->held_cw_ns;
	change(s, id, dir, ss, FL_TCP_CLOSE_WAIT);
	s->now_ns = now;
}

/* RFC 9293 3.3.2, the receiver's side: what receiving a segment means. */
static void receive(struct fl_states *s, const struct pending *p)
{
	const struct fl_flow *f = p->f;
	int dir = p->dir;
	uint8_t flags = p->flags;
	struct side_state *snd = slot(s, f->id, dir);
	struct side_state *rcv = slot(s, f->id, !dir);

	if (!snd || !rcv)
		return;
	s->now_ns = p->t_ns;
	if (flags & FL_TCP_FIN) {
		snd->fin_sent = 1;
		snd->fin_seq = p->rseq + p->len; /* the FIN's own number */
	}
	if (flags & FL_TCP_RST) {
		/* Its CLOSE waits a moment: a FIN it sent before the RST
		 * arrived may reach the queue just after the RST's verdict
		 * went out (fl_states_segment() then puts FIN_WAIT1 first). */
		apply_cw(s, f->id, !dir, rcv); /* it had taken a FIN */
		if (rcv->cur && rcv->cur != FL_TCP_CLOSE && rcv->cur != FL_TCP_TIME_WAIT &&
		    !rcv->held_rst) {
			rcv->held_rst = 1;
			rcv->held_rst_ns = s->now_ns;
			s->settle_dirty = 1;
		}
		return;
	}
	/* A SYN makes no socket by itself (nothing may listen): the server
	 * side starts at its SYN,ACK, below in fl_states_segment(). */
	if ((flags & (FL_TCP_SYN | FL_TCP_ACK)) == FL_TCP_SYN)
		return;
	if ((flags & (FL_TCP_SYN | FL_TCP_ACK)) == (FL_TCP_SYN | FL_TCP_ACK)) {
		if (rcv->cur == FL_TCP_SYN_SENT)
			change(s, f->id, !dir, rcv, FL_TCP_ESTABLISHED);
		return;
	}
	if ((flags & FL_TCP_ACK) && rcv->cur == FL_TCP_SYN_RECV)
		change(s, f->id, !dir, rcv, FL_TCP_ESTABLISHED);
	/* Does this ACK cover the receiver's FIN? */
	if ((flags & FL_TCP_ACK) && rcv->fin_sent &&
	    (int32_t)(p->rack - (rcv->fin_seq + 1)) >= 0) {
		/* RFC 9293 3.10.7.4: the ACK is processed before the FIN,
		 * so a FIN that acknowledges ours goes through FIN_WAIT2
		 * (below, to TIME_WAIT), as Linux's tcp_rcv_state_process()
		 * does. */
		if (rcv->cur == FL_TCP_FIN_WAIT1)
			change(s, f->id, !dir, rcv, FL_TCP_FIN_WAIT2);
		else if (rcv->cur == FL_TCP_CLOSING)
			change(s, f->id, !dir, rcv, FL_TCP_TIME_WAIT);
		else if (rcv->cur == FL_TCP_LAST_ACK)
			change(s, f->id, !dir, rcv, FL_TCP_CLOSE);
		if (rcv->cur == FL_TCP_TIME_WAIT || rcv->cur == FL_TCP_CLOSE)
			return;
	}
	/* Data after our own FIN: fine after shutdown(SHUT_WR), but a
	 * socket that was closed resets on it (Linux's TCPAbortOnData,
	 * RFC 2525 2.17), and a FIN behind that data then finds no socket. */
	if (p->len && (rcv->cur == FL_TCP_FIN_WAIT1 || rcv->cur == FL_TCP_FIN_WAIT2))
		rcv->late_data = 1;
	/* A FIN behind an RST that reached the receiver (its CLOSE held,
	 * above) finds no socket there: it moves nothing (RFC 9293 3.10.7.4:
	 * a reset connection is CLOSED; the kernel answers it with an RST). */
	if ((flags & FL_TCP_FIN) && !rcv->held_rst) {
		uint8_t to = 0;

		if (rcv->cur == FL_TCP_ESTABLISHED)
			to = FL_TCP_CLOSE_WAIT;
		else if (rcv->cur == FL_TCP_FIN_WAIT1)
			to = FL_TCP_CLOSING;
		else if (rcv->cur == FL_TCP_FIN_WAIT2)
			to = FL_TCP_TIME_WAIT;
		if (to == FL_TCP_CLOSE_WAIT) {
			/* Its own FIN may already be on its way, sent before
			 * this one arrived, and reach the queue just after this
			 * one's verdict: a simultaneous close, never CLOSE_WAIT
			 * (RFC 9293 3.6).  Its next segment says which: its
			 * ACK of this FIN (fl_states_segment()). */
			if (!rcv->held_cw) {
				rcv->held_cw = 1;
				rcv->held_cw_ns = s->now_ns;
				s->settle_dirty = 1;
			}
		} else if (to && rcv->late_data && !rcv->held_to) {
			/* Which one it was shows in what the receiver sends
			 * next: its RST (it was closed), or its ACK. */
			rcv->held_to = to;
			rcv->held_ns = s->now_ns;
			s->settle_dirty = 1;
		} else if (to) {
			change(s, f->id, !dir, rcv, to);
		}
	}
}

/* A held RST's CLOSE (see receive()), at its time. */
static void apply_rst(struct fl_states *s, uint32_t id, int dir,
		      struct side_state *ss)
{
	uint64_t now = s->now_ns;

	if (!ss->held_rst)
		return;
	ss->held_rst = 0;
	if (ss->cur == FL_TCP_CLOSE)
		return;
	s->now_ns = ss->held_rst_ns;
	change(s, id, dir, ss, FL_TCP_CLOSE);
	s->now_ns = now;
}

/* A held FIN's move (see receive()) happens after all, at its time. */
static void apply_held(struct fl_states *s, uint32_t id, int dir,
		       struct side_state *ss)
{
	uint64_t now = s->now_ns;
	uint8_t to = ss->held_to;

	if (!to)
		return;
	s->now_ns = ss->held_ns;
	change(s, id, dir, ss, to); /* clears held_to */
	s->now_ns = now;
}

/*
 * A side that vanished from a sample while in the handshake (SYN_SENT,
 * SYN_RECV) reached CLOSE, but not necessarily straight from there: a
 * server that accepts and resets at once (close with unread data, SO_LINGER
 * {1,0}) was ESTABLISHED in between, and the RST that shows it may still
 * wait in the queue.  Its CLOSE is set once that segment had its chance:
 * at the next sample, or when the paths are read at the end.  So is a FIN
 * held in receive() (final: when the paths are read, nothing more comes).
 */
static void settle(struct fl_states *s, int final)
{
	int left = 0;

	if (!s->settle_dirty)
		return; /* nothing waits: no walk over idle sides */
	for (size_t i = 0; i < s->n; i++) {
		struct side_state *ss = &s->v[i];
		uint64_t now = s->now_ns;

		/* No RST came for the data after its FIN: it was only shut
		 * down for writing, and took the FIN. */
		if (ss->held_to &&
		    (final || fl_clock_now_rel_ns() > ss->held_ns + 50000000u))
			apply_held(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss);
		if (ss->held_cw &&
		    (final || fl_clock_now_rel_ns() > ss->held_cw_ns + 50000000u))
			apply_cw(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss);
		if (ss->held_rst &&
		    (final || fl_clock_now_rel_ns() > ss->held_rst_ns + 50000000u))
			apply_rst(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss);
		left |= ss->held_to || ss->held_cw || ss->held_rst;
		if (!ss->gone)
			continue;
		ss->gone = 0;
		if (ss->cur == FL_TCP_CLOSE)
			continue;
		s->now_ns = ss->gone_ns;
		change(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss, FL_TCP_CLOSE);
		s->now_ns = now;
	}
	s->settle_dirty = left;
}

/* Applies the deliveries due by now, in time order (s->pend is sorted). */
static void deliver_due(struct fl_states *s, uint64_t now_ns)
{
	while (s->phead < s->npend && s->pend[s->phead].t_ns <= now_ns)
		receive(s, &s->pend[s->phead++]);
	if (s->phead == s->npend)
		s->phead = s->npend = 0;
}

/* Queues p's delivery in time order, after those due at the same time. */
static int pend_push(struct fl_states *s, const struct pending *p)
{
	size_t at;

	if (s->npend == s->cappend && s->phead) {
		memmove(s->pend, s->pend + s->phead,
			(s->npend - s->phead) * sizeof(*s->pend));
		s->npend -= s->phead;
		s->phead = 0;
	}
	if (s->npend == s->cappend) {
		size_t cap = s->cappend ? s->cappend * 2 : 64;
		struct pending *v = realloc(s->pend, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->pend = v;
		s->cappend = cap;
	}
	at = s->npend;
	while (at > s->phead && s->pend[at - 1].t_ns > p->t_ns)
		at--;
	memmove(s->pend + at + 1, s->pend + at,
		(s->npend - at) * sizeof(*s->pend));
	s->pend[at] = *p;
	s->npend++;
	return 0;
}

void fl_states_segment(struct fl_states *s, const struct fl_seg_event *ev,
		       struct fl_trace *trace)
{
	const struct fl_flow *f = ev->f;
	int dir = ev->dir, delivered = ev->delivered;
	int forged = ev->forged != FL_FORGED_NO;
	uint8_t flags = ev->flags;
	uint32_t rseq = ev->rseq, rack = ev->rack, len = ev->len;
	uint64_t t_ns = ev->t_ns;
	uint64_t now = fl_clock_now_rel_ns();
	struct side_state *snd;
	struct pending p = {.t_ns = t_ns, .f = f, .dir = dir, .flags = flags,
			    .rseq = rseq, .rack = rack, .len = len};

	s->trace = trace;
	if (!f) {
		/* The end of a batch: its verdicts are out, so what it let
		 * through reaches its receivers now. */
		deliver_due(s, now);
		return;
	}
	if (!(snd = slot(s, f->id, dir)))
		return;
	s->now_ns = now;
	if (!delivered && !forged) {
		/* Lost: either side may now end with no segment to show it
		 * (a retransmission or keepalive timeout). */
		struct side_state *o = slot(s, f->id, !dir);

		snd = slot(s, f->id, dir); /* o's slot may have moved v */
		snd->lossy = 1;
		watch(s, side_index(f->id, dir));
		if (o) {
			o->lossy = 1;
			watch(s, side_index(f->id, !dir));
		}
	}
	if (forged)
		goto receiver; /* its apparent sender sent nothing */
	/* The sender's side: what sending this means (at once: it left its
	 * socket before the engine saw it, and before anything of the same
	 * batch reached its receiver). */
	if ((flags & (FL_TCP_SYN | FL_TCP_ACK)) == FL_TCP_SYN && !snd->cur)
		change(s, f->id, dir, snd, FL_TCP_SYN_SENT);
	if ((flags & (FL_TCP_SYN | FL_TCP_ACK)) == (FL_TCP_SYN | FL_TCP_ACK) &&
	    !snd->cur)
		change(s, f->id, dir, snd, FL_TCP_SYN_RECV);
	/* Any later segment of either side of the handshake shows it done:
	 * the ACK that completed it is not always queued, and a socket in
	 * SYN_RECV is not yet the application's to send on.  So does an RST
	 * that acknowledges data: Linux's request socket acknowledges only
	 * the SYN (ack 1), the full socket that reset has read bytes. */
	if ((snd->cur == FL_TCP_SYN_SENT || snd->cur == FL_TCP_SYN_RECV) &&
	    !(flags & FL_TCP_SYN) &&
	    (!(flags & FL_TCP_RST) ||
	     ((flags & FL_TCP_ACK) && (int32_t)(rack - 1) > 0) ||
	     (int32_t)(rseq - 1) > 0 /* it had sent data */))
		change(s, f->id, dir, snd, FL_TCP_ESTABLISHED);
	/* A held CLOSE_WAIT (receive()): a FIN that does not acknowledge
	 * the peer's left before the peer's arrived: the FINs crossed,
	 * FIN_WAIT1 > CLOSING.  A segment that acknowledges it, or an RST,
	 * shows the CLOSE_WAIT. */
	if (snd->held_cw) {
		struct side_state *peer = slot(s, f->id, !dir);
		int acks = (flags & FL_TCP_ACK) && peer && peer->fin_sent &&
			   (int32_t)(rack - (peer->fin_seq + 1)) >= 0;

		if ((flags & FL_TCP_FIN) && !(flags & FL_TCP_RST) && !acks &&
		    snd->cur == FL_TCP_ESTABLISHED) {
			uint64_t t = snd->held_cw_ns;

			snd->held_cw = 0;
			s->now_ns = t > 1000 ? t - 1000 : 0;
			change(s, f->id, dir, snd, FL_TCP_FIN_WAIT1);
			snd->fin_sent = 1;
			snd->fin_seq = rseq + len;
			s->now_ns = t;
			change(s, f->id, dir, snd, FL_TCP_CLOSING);
			s->now_ns = now;
			goto receiver;
		}
		if (acks || (flags & (FL_TCP_FIN | FL_TCP_RST)))
			apply_cw(s, f->id, dir, snd);
	}
	/* A side an RST reached sends nothing after it: what it sends now
	 * left it before the RST arrived.  A FIN among that moved it first
	 * (FIN_WAIT1 or LAST_ACK, just before the CLOSE). */
	if (snd->held_rst) {
		if ((flags & FL_TCP_FIN) && !(flags & FL_TCP_RST) &&
		    (snd->cur == FL_TCP_ESTABLISHED || snd->cur == FL_TCP_SYN_RECV ||
		     snd->cur == FL_TCP_CLOSE_WAIT)) {
			s->now_ns = snd->held_rst_ns > 1000 ? snd->held_rst_ns - 1000 : 0;
			change(s, f->id, dir, snd, snd->cur == FL_TCP_CLOSE_WAIT
						    ? FL_TCP_LAST_ACK : FL_TCP_FIN_WAIT1);
			snd->fin_sent = 1;
			snd->fin_seq = rseq + len;
			s->now_ns = now;
		}
		apply_rst(s, f->id, dir, snd);
		goto receiver;
	}
	/* A held FIN's move (receive()): an RST says the socket reset on
	 * the data before it, anything else that it took the FIN. */
	if (snd->held_to) {
		if (flags & FL_TCP_RST)
			snd->held_to = 0;
		else
			apply_held(s, f->id, dir, snd);
	}
	if (flags & FL_TCP_RST) {
		snd->gone = 0;
		if (snd->cur && snd->cur != FL_TCP_CLOSE)
			change(s, f->id, dir, snd, FL_TCP_CLOSE);
	} else if (flags & FL_TCP_FIN) {
		if (snd->cur == FL_TCP_ESTABLISHED || snd->cur == FL_TCP_SYN_RECV)
			change(s, f->id, dir, snd, FL_TCP_FIN_WAIT1);
		else if (snd->cur == FL_TCP_CLOSE_WAIT)
			change(s, f->id, dir, snd, FL_TCP_LAST_ACK);
	}
receiver:
	if (!delivered)
		return;
	/* The receiver's side, when the segment gets there: at the end of
	 * its batch (the next call with f NULL), a held segment (delay) at
	 * its release time. */
	if (pend_push(s, &p) < 0)
		receive(s, &p);
}

void fl_states_tick(struct fl_states *s, const struct fl_flow_table *flows,
		    struct fl_trace *trace, uint64_t now_ns)
{
	s->flows = flows;
	s->trace = trace;
	deliver_due(s, now_ns);
	s->now_ns = now_ns;
	settle(s, 0);
}

/* The question for side i of flow f. */
static void look_for(struct fl_look *l, const struct fl_flow *f, size_t i,
		     uint64_t cookie)
{
	int dir = (int)(i % 2);
	const struct fl_endpoint *me = &f->ep[dir == FL_DIR_C2S ? 0 : 1];
	const struct fl_endpoint *peer = &f->ep[dir == FL_DIR_C2S ? 1 : 0];

	memset(l, 0, sizeof(*l));
	l->flow = f->id;
	l->dir = (uint8_t)dir;
	l->family = me->family;
	memcpy(l->src, me->addr, sizeof(l->src));
	memcpy(l->dst, peer->addr, sizeof(l->dst));
	l->sport = me->port;
	l->dport = peer->port;
	l->cookie = cookie;
}

size_t fl_states_due(struct fl_states *s, const struct fl_flow_table *flows,
		     uint64_t now_ns, struct fl_look *out, size_t max,
		     uint64_t *next_ns)
{
	size_t n = 0, j = 0;
	uint64_t next = UINT64_MAX;

	while (j < s->nwatch) {
		size_t i = s->watch[j];
		struct side_state *ss = &s->v[i];
		const struct fl_flow *f;

		if (!needs_look(ss)) {
			/* Its state ends only by a segment now. */
			ss->watched = 0;
			s->watch[j] = s->watch[--s->nwatch];
			continue;
		}
		j++;
		if (ss->looking)
			continue;
		if (ss->look_ns > now_ns || n == max) {
			if (ss->look_ns < next)
				next = ss->look_ns;
			continue;
		}
		f = fl_flow_get(flows, (uint32_t)(i / 2 + 1));
		if (!f)
			continue;
		look_for(&out[n++], f, i, ss->cookie);
		ss->looking = 1;
		ss->look_gap *= 2;
		if (ss->look_gap > (ss->cur == FL_TCP_TIME_WAIT ||
				    ss->cur == FL_TCP_ESTABLISHED
				    ? LOOK_MAX_GAP_SLOW_NS : LOOK_MAX_GAP_NS))
			ss->look_gap = ss->cur == FL_TCP_TIME_WAIT ||
				       ss->cur == FL_TCP_ESTABLISHED
				       ? LOOK_MAX_GAP_SLOW_NS : LOOK_MAX_GAP_NS;
		ss->look_ns = now_ns + ss->look_gap;
	}
	if (next_ns)
		*next_ns = next;
	return n;
}

/* One answer: what the kernel showed of side i. */
static void answer(struct fl_states *s, size_t i, const struct fl_look *l)
{
	struct side_state *ss = &s->v[i];

	if (l->found < 0)
		return; /* the kernel could not say: ask again later */
	/* A server's side with no socket of its own finds the listener. */
	if (l->found && l->sock.state != FL_TCP_LISTEN && l->sock.dport)
		seen(s, (uint32_t)(i / 2 + 1), (int)(i % 2), ss, &l->sock);
	else
		vanished(s, i);
}

void fl_states_looked(struct fl_states *s, const struct fl_flow_table *flows,
		      struct fl_trace *trace, const struct fl_look *v,
		      size_t n, uint64_t now_ns)
{
	s->flows = flows;
	s->trace = trace;
	deliver_due(s, now_ns);
	s->now_ns = now_ns;
	for (size_t k = 0; k < n; k++) {
		size_t i = side_index(v[k].flow, v[k].dir);

		if (!v[k].flow || i >= s->n)
			continue;
		s->v[i].looking = 0;
		answer(s, i, &v[k]);
	}
}

int fl_states_look_all(struct fl_states *s, const struct fl_flow_table *flows,
		       struct fl_trace *trace, uint64_t now_ns)
{
	struct fl_look l;

	fl_states_tick(s, flows, trace, now_ns);
	if (!s->diag)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		struct side_state *ss = &s->v[i];
		const struct fl_flow *f;

		if (!ss->cur || ss->cur == FL_TCP_CLOSE ||
		    !(f = fl_flow_get(flows, (uint32_t)(i / 2 + 1))))
			continue;
		look_for(&l, f, i, ss->cookie);
		l.found = fl_sdiag_lookup(s->diag, l.family, l.src, l.sport,
					  l.dst, l.dport, l.cookie, &l.sock);
		if (l.found < 0)
			return l.found;
		ss->looking = 0;
		answer(s, i, &l);
	}
	return 0;
}

/* Sides of the target (fl_flow_target_dir) now in kernel state state. */
static size_t count_target(const struct fl_states *s,
			   const struct fl_flow_table *flows, uint8_t state)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct fl_flow *f;

		if (s->v[i].cur != state ||
		    !(f = fl_flow_get(flows, (uint32_t)(i / 2 + 1))))
			continue;
		n += fl_flow_target_dir(f, (int)(i % 2));
	}
	return n;
}

int fl_states_time_wait(const struct fl_states *s,
			const struct fl_flow_table *flows)
{
	return (int)count_target(s, flows, FL_TCP_TIME_WAIT);
}

void fl_states_set_stop(struct fl_states *s, uint64_t t_ns)
{
	s->stop_ns = t_ns;
}

size_t fl_states_path(const struct fl_states *s, uint32_t id, int dir,
		      uint8_t *out, size_t max)
{
	return fl_states_path_ns(s, id, dir, out, NULL, max);
}

size_t fl_states_path_ns(const struct fl_states *s, uint32_t id, int dir,
			 uint8_t *out, uint64_t *ns, size_t max)
{
	size_t i = ((size_t)id - 1) * 2 + (size_t)dir;
	size_t n;

	/* The paths are read once the run is over: what still waits for
	 * its CLOSE has had every chance.  s is the caller's to change
	 * (never a const object: made by fl_states_new()). */
	settle((struct fl_states *)s, 1);
	if (!id || i >= s->n)
		return 0;
	n = s->v[i].npath < max ? s->v[i].npath : max;
	memcpy(out, s->v[i].path, n);
	if (ns)
		memcpy(ns, s->v[i].path_ns, n * sizeof(*ns));
	return n;
}

const struct fl_state_change *fl_states_changes(const struct fl_states *s,
						size_t *n)
{
	settle((struct fl_states *)s, 1); /* see fl_states_path() */
	*n = s->nch;
	return s->ch;
}
