/*
 * queue.c - the NFQUEUE engine; see queue.h.
 *
 * One netlink socket bound to one queue.  Segments are read up to
 * RECV_SLOTS at a time with one recvmmsg(); each is parsed
 * (harness/packet.c), assigned to its flow (flow.c), matched (rules/) and
 * given a verdict.  Verdicts are appended to a batch that is sent with one
 * sendto() at the end of each such round, or before when it is full or
 * carries FLUSH_BYTES of segments.  Nothing on this path allocates, once
 * a flow exists, or compares a string: verdicts are enum fl_verdict
 * (flow.h), named only where the trace is written.
 *
 * Held segments (delay, reorder, and segments queued behind a held one) sit
 * in a min-heap ordered by release time then arrival, with one timerfd armed
 * for the earliest.  Order is kept per flow and direction, as on a real
 * path: a direction's release_floor_ns is the latest release time among its
 * held segments, and a later segment of that direction is never released
 * before it (it waits, even if no rule touched it).  The two directions of a
 * flow are independent: a delay of the client's data never holds the
 * server's segments.  A segment held by `reorder` is the one exception: it
 * does not hold later segments back, it waits for the next one (see
 * act_reorder()).
 *
 * Injected segments (RST of `reset`, copies of `duplicate`) go out through
 * raw sockets whose SO_MARK the sandbox's iptables rules accept before the
 * NFQUEUE rule, so they are never queued again.  A copy is injected after
 * the original's verdict has been sent (the batch is flushed first), so on
 * loopback it arrives after the original.
 *
 * Single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "clock.h"
#include "packet.h"
#include "queue.h"
#include "trace.h"

#define HDR_COPY 256u        /* enough for IPv6 + ext headers + TCP options */
/* Messages read with one recvmmsg(): each netlink datagram carries one
 * segment, so this is the receive batch. */
#define RECV_SLOTS 64u
/* Room per message beyond the copied bytes: the netlink and nfqueue
 * headers and attributes (packet header, mark, interfaces, hw address,
 * timestamp, uid/gid, conntrack info) take well under this. */
#define SLOT_EXTRA 4096u
#define RECV_ROUNDS 8u       /* recvmmsg() calls per fl_engine_process() */
#define BATCH_BUF (1u << 18)
/* The kernel takes a batch's accepted segments on to their receivers
 * within our sendto() (nfqnl_reinject: the receiver's TCP input runs
 * there), about 10 us per 64 KB GSO packet here: a batch is sent once it
 * carries this many bytes, so a release that falls due meanwhile waits
 * for a few of those, not for a whole round of them. */
#define FLUSH_BYTES (128u << 10)
#define SPARES_MAX 64u       /* held_data kept for reuse */
/*
 * Sizes that keep the kernel from dropping a segment we did not ask it to
 * (fail-open is no answer: it would pass segments unjudged).  The queue
 * holds every segment between its arrival and its verdict, held ones
 * included: at most rate x delay of them, and one per flow when every
 * flow sends at once (10 000 flows of a request each).  Its length costs
 * nothing until used, and what it holds is bounded anyway by the senders'
 * socket buffers (a queued skb stays charged to its sender).  The netlink
 * socket holds the messages not yet read: one per waiting segment, about
 * 1 KB each with headers only (the skb's truesize: 832 bytes for a SYN on
 * Linux 6.18), up to 66 KB with the payload, so 128 MB take over 100 000
 * small ones, or 2 000 GSO packets of 64 KB (a bulk sender has at most
 * its send buffer, 4 MB, in flight).  The kernel doubles what
 * SO_RCVBUFFORCE asks for, and charges only what the socket holds.
 * Without CAP_NET_ADMIN in the host's user namespace (faultline run as a
 * user) SO_RCVBUFFORCE is refused and net.core.rmem_max bounds the buffer
 * (4 MB here, so 8 MB: still no drop at 10 000 flows); what overflows is
 * counted as user_dropped and reported.
 */
#define QUEUE_MAXLEN (1u << 17)
#define RCVBUF (64 << 20)
#define SCRATCH_BUF 65536u   /* one injected segment: at most the MTU */
#define DEFAULT_MTU 1500u

enum held_kind {
	HELD_ORDERED, /* delay, or queued behind one: keeps direction order */
	HELD_REORDER, /* held by reorder: valid while it is the flow's token */
};

/* How a segment leaves the engine once it may go on. */
enum out_kind {
	OUT_PASS,       /* accepted as it came (then copies injected, if any) */
	OUT_PASS_BYTES, /* accepted with changed bytes (rewrite, corrupt, truncate) */
	OUT_REPLACE,    /* dropped, and its (changed) bytes injected instead,
			   cut into MTU-sized segments: see is_gso() */
};

struct out {
	enum out_kind kind;
	unsigned copies; /* OUT_PASS: copies to inject after it */
	int corrupt;     /* OUT_REPLACE: inject with broken checksums */
	int rule;        /* for the trace of injected segments */
};

/*
 * What a held segment carries besides its id, for the rare fault that
 * meets a direction already holding segments: how it leaves and the bytes
 * that takes.  Taken from the engine's spares (or allocated when none is
 * large enough) only then; given back at release (data_put()).
 */
struct held_data {
	struct out o;
	size_t len;
	size_t cap;              /* room in bytes[] */
	struct held_data *next;  /* in the spares */
	uint8_t bytes[];
};

struct held {
	uint64_t release_ns; /* relative to the run's start */
	uint64_t order;      /* arrival number (from 1), ties broken by it */
	uint32_t id;
	uint32_t len;        /* its length, for the batch's weight (0: unknown) */
	uint8_t dir;
	uint8_t kind;        /* enum held_kind */
	struct fl_flow *flow;
	struct held_data *data; /* NULL for a plain accept */
};

struct fl_engine {
	struct fl_engine_cfg cfg;
	struct mnl_socket *nl;
	unsigned portid;
	int tfd;
	int raw4, raw6;
	unsigned mtu;      /* of lo in the sandbox: largest segment we inject */
	struct fl_matcher *matcher;
	struct fl_flow_table *flows;
	int copy_full;

	char *rbuf;        /* RECV_SLOTS slots of slot_len bytes */
	size_t slot_len;
	struct mmsghdr *msgs;
	struct iovec *iov;
	char *bbuf;        /* verdict batch */
	size_t blen;
	size_t bbytes;     /* bytes of the segments whose verdicts it holds */
	uint8_t *scratch;  /* one injected segment being built */

	struct held *heap;
	size_t nheld, capheld;
	uint64_t order;
	uint64_t armed_ns; /* what the timer is set for, 0 = disarmed */
	struct held_data *spares; /* released held_data, for the next ones */
	size_t nspares;

	uint64_t *fired;   /* per rule: segments it acted on */
	struct fl_engine_stats st;
	char **rule_names; /* "file:line" per rule */
};

int fl_rule_needs_data_segments(const struct fl_rule *r)
{
	switch (r->action) {
	case FL_ACT_BLACKHOLE: /* once triggered, every segment of the flow */
	case FL_ACT_REORDER:   /* released by the next segment, whatever it is */
		return 1;
	case FL_ACT_DROP:
	case FL_ACT_DELAY:
	case FL_ACT_REWRITE:
	case FL_ACT_RESET:
	case FL_ACT_DUPLICATE:
	case FL_ACT_CORRUPT:
	case FL_ACT_TRUNCATE:
		break;
	}
	return !(r->flags_set & (FL_TCP_SYN | FL_TCP_FIN | FL_TCP_RST));
}

/* ---- the heap of held segments ---- */

static int held_before(const struct held *a, const struct held *b)
{
	if (a->release_ns != b->release_ns)
		return a->release_ns < b->release_ns;
	return a->order < b->order;
}

static int heap_push(struct fl_engine *e, const struct held *h)
{
	size_t i;

	if (e->nheld == e->capheld) {
		size_t cap = e->capheld ? e->capheld * 2 : 256;
		struct held *p = realloc(e->heap, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		e->heap = p;
		e->capheld = cap;
	}
	i = e->nheld++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!held_before(h, &e->heap[parent]))
			break;
		e->heap[i] = e->heap[parent];
		i = parent;
	}
	e->heap[i] = *h;
	if (e->nheld > e->st.max_held)
		e->st.max_held = e->nheld;
	return 0;
}

static struct held heap_pop(struct fl_engine *e)
{
	struct held top = e->heap[0];
	struct held last = e->heap[--e->nheld];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= e->nheld)
			break;
		if (c + 1 < e->nheld && held_before(&e->heap[c + 1], &e->heap[c]))
			c++;
		if (!held_before(&e->heap[c], &last))
			break;
		e->heap[i] = e->heap[c];
		i = c;
	}
	if (e->nheld)
		e->heap[i] = last;
	return top;
}

/* A held_data with room for len bytes: a spare if one is large enough,
 * else a new one.  NULL when out of memory. */
static struct held_data *data_get(struct fl_engine *e, size_t len)
{
	struct held_data **pp, *d;

	for (pp = &e->spares; (d = *pp) != NULL; pp = &d->next) {
		if (d->cap >= len) {
			*pp = d->next;
			e->nspares--;
			return d;
		}
	}
	/* At least an MTU-sized segment's worth, so a spare fits most. */
	if (len < 2048)
		len = 2048;
	d = malloc(sizeof(*d) + len);
	if (d)
		d->cap = len;
	return d;
}

/* Gives d (may be NULL) back to the spares, or frees it. */
static void data_put(struct fl_engine *e, struct held_data *d)
{
	if (!d)
		return;
	if (e->nspares >= SPARES_MAX) {
		free(d);
		return;
	}
	d->next = e->spares;
	e->spares = d;
	e->nspares++;
}

static void arm_timer(struct fl_engine *e)
{
	struct itimerspec its = {0};
	uint64_t want = e->nheld ? e->heap[0].release_ns : 0;
	uint64_t abs;

	if (want == e->armed_ns)
		return;
	e->armed_ns = want;
	if (want) {
		abs = fl_clock_start_ns() + want;
		its.it_value.tv_sec = (time_t)(abs / 1000000000u);
		its.it_value.tv_nsec = (long)(abs % 1000000000u);
	}
	timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- verdicts ---- */

static int batch_flush(struct fl_engine *e)
{
	int ret = 0;

	if (!e->blen)
		return 0;
	if (mnl_socket_sendto(e->nl, e->bbuf, e->blen) < 0) {
		e->st.send_errors++;
		ret = -errno;
	}
	e->blen = 0;
	e->bbytes = 0;
	return ret;
}

/* Tells the observer that the verdicts sent so far are out (queue.h). */
static void batch_done(struct fl_engine *e)
{
	if (e->cfg.observe)
		e->cfg.observe(e->cfg.observe_ctx, NULL, 0, 0, 0, 0, 0, 0, 0,
			       fl_clock_now_rel_ns());
}

static void verdict(struct fl_engine *e, uint32_t id, int v,
		    const void *pkt, size_t pktlen)
{
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + 256 + MNL_ALIGN(pktlen);
	struct nlmsghdr *nlh;

	if (e->blen + need > BATCH_BUF)
		batch_flush(e);
	nlh = nfq_nlmsg_put(e->bbuf + e->blen, NFQNL_MSG_VERDICT,
			    e->cfg.queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, v);
	if (pkt)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)pktlen);
	e->blen += nlh->nlmsg_len;
}

/* ---- injection ---- */

static int inject(struct fl_engine *e, const uint8_t *pkt, size_t len,
		  int family, const void *dst)
{
	ssize_t n;

	if (family == AF_INET) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		memcpy(&sin.sin_addr, dst, 4);
		n = sendto(e->raw4, pkt, len, 0, (struct sockaddr *)&sin,
			   sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

		memcpy(&sin6.sin6_addr, dst, 16);
		n = sendto(e->raw6, pkt, len, 0, (struct sockaddr *)&sin6,
			   sizeof(sin6));
	}
	if (n < 0) {
		e->st.send_errors++;
		return -errno;
	}
	e->st.injected++;
	return 0;
}

/* ---- one segment ---- */

struct seg_ctx {
	struct fl_pkt p;
	struct fl_flow *f;
	int dir;
	uint32_t rseq, rack;
	uint64_t now_ns;
	uint32_t id;
	/* set when the segment ends up held in order (for reorder) */
	uint64_t held_order, held_ns;
	int reorder_hold; /* this segment is the one a reorder rule holds */
	int forged;       /* made by the engine: 1 resets its receiver, 2 does
			     not (RFC 5961 challenge ACK); its sender sent
			     nothing */
};

/*
 * What dead-peer needs: when each side was last heard, when a rule last
 * lost a segment, and the probes each side sent.  A probe is a bare ACK
 * one below the highest sequence number sent (RFC 9293 3.8.4; Linux's
 * tcp_xmit_probe_skb): a keepalive when the peer's window is open, a
 * zero-window probe when it is shut.
 */
static void note_liveness(struct fl_flow *f, const struct seg_ctx *s,
			  enum fl_fate fate, int delivered, uint64_t t)
{
	int d = s->dir;
	uint32_t end = s->rseq + s->p.payload_len +
		       !!(s->p.flags & FL_TCP_SYN) + !!(s->p.flags & FL_TCP_FIN);

	/* A zero-window probe looks the same: not counted. */
	if (s->p.flags == FL_TCP_ACK && s->p.payload_len <= 1 &&
	    f->snd_max_known[d] && s->rseq == f->snd_max[d] - 1 &&
	    !(f->arrived_ns[!d] && f->last_win[!d] == 0))
		f->ka_probes[d]++;
	if (!f->snd_max_known[d] || (int32_t)(end - f->snd_max[d]) > 0) {
		f->snd_max[d] = end;
		f->snd_max_known[d] = 1;
	}
	end -= !!(s->p.flags & FL_TCP_FIN);
	if ((int32_t)(end - f->data_max[d]) > 0)
		f->data_max[d] = end;
	if (delivered || fate == FL_FATE_CHANGED) {
		f->arrived_ns[d] = t;
		f->last_win[d] = s->p.window;
		if ((s->p.flags & FL_TCP_ACK) &&
		    (!f->acked_known[d] || (int32_t)(s->rack - f->acked[d]) > 0)) {
			f->acked[d] = s->rack;
			f->acked_known[d] = 1;
		}
	} else if (fate == FL_FATE_LOST) {
		f->lost_ns = t;
	}
}

/* The first FIN and RST each side got through to its peer (not the ones a
 * rule dropped or changed), for the checks' CLOSE_WAIT timing. */
static void note_delivery(struct fl_engine *e, const struct seg_ctx *s,
			  enum fl_verdict v, uint64_t delay_ns)
{
	uint64_t t = (s->now_ns + delay_ns) | 1;
	enum fl_fate fate = fl_verdicts[v].fate;
	int delivered = fate == FL_FATE_DELIVERED && s->forged != 2;

	if (e->cfg.observe)
		e->cfg.observe(e->cfg.observe_ctx, s->f, s->dir, s->p.flags,
			       s->rseq, s->rack, s->p.payload_len, delivered,
			       s->forged != 0, t);
	if (!s->forged)
		note_liveness(s->f, s, fate, delivered, t);
	if (!delivered || s->forged)
		return;
	if ((s->p.flags & FL_TCP_FIN) && !s->f->fin_ns[s->dir])
		s->f->fin_ns[s->dir] = t;
	if ((s->p.flags & FL_TCP_RST) && !s->f->rst_ns[s->dir])
		s->f->rst_ns[s->dir] = t;
}

static void trace_seg(struct fl_engine *e, const struct seg_ctx *s,
		      enum fl_verdict v, int rule, uint64_t delay_ns,
		      const char *detail)
{
	struct fl_trace_pkt tp = {
		.t_ns = s->now_ns,
		.flow = s->f->id,
		.from = s->dir == FL_DIR_C2S ? "client" : "server",
		.flags = s->p.flags,
		.seq = s->rseq,
		.ack = (s->p.flags & FL_TCP_ACK) ? s->rack : 0,
		.len = s->p.payload_len,
		.win = s->p.window,
		.verdict = fl_verdict_name(v),
		.rule = rule >= 0 ? e->rule_names[rule] : NULL,
		.delay_ns = delay_ns,
		.detail = detail,
	};
	struct fl_pkt_rec rec = {
		.t_ns = s->now_ns,
		.seq = tp.seq,
		.ack = tp.ack,
		.len = tp.len,
		.dir = (uint8_t)s->dir,
		.flags = s->p.flags,
		.rule = (int16_t)(rule >= 0 && rule < INT16_MAX ? rule : -1),
		.verdict = fl_verdict_name(v),
	};

	fl_trace_pkt(e->cfg.trace, &tp);
	fl_flow_log(s->f, &rec);
	note_delivery(e, s, v, delay_ns);
}

/* Relative seq/ack of a segment of flow f sent in direction dir. */
static void rel_seq_ack(const struct fl_flow *f, int dir, const struct fl_pkt *p,
			uint32_t *rseq, uint32_t *rack)
{
	*rseq = p->seq - f->isn[dir];
	*rack = f->isn_known[!dir] ? p->ack - f->isn[!dir] : p->ack;
}

/*
 * Injects copies copies of p (a segment of flow f sent in direction dir)
 * toward its receiver, each traced as an "inject" line.  The captured
 * bytes may carry a partial checksum (local traffic with NFQA_CFG_F_GSO:
 * NFQA_SKB_CSUMNOTREADY), so every copy is rebuilt with both checksums
 * computed (and then broken again if corrupt).  A GSO packet larger than
 * the MTU cannot go through a raw socket whole: each copy is cut into
 * MTU-sized segments as TSO would (fl_pkt_slice), one inject line per
 * segment.  replace: the copy stands in for the dropped original.
 */
static void inject_copies(struct fl_engine *e, struct fl_flow *f, int dir,
			  const struct fl_pkt *p, unsigned copies, int corrupt,
			  int replace, int rule)
{
	size_t hdr = p->l4off + p->thlen;
	uint32_t mss = e->mtu > hdr ? (uint32_t)(e->mtu - hdr) : 0;
	uint32_t pieces = p->payload_len && mss ? (p->payload_len + mss - 1) / mss : 1;
	char detail[96];

	if (!mss) {
		e->st.send_errors++;
		return;
	}
	for (unsigned c = 1; c <= copies; c++) {
		uint32_t off = 0, i = 0;

		do {
			uint32_t n = p->payload_len - off < mss ? p->payload_len - off : mss;
			struct seg_ctx is = {.f = f, .dir = dir};

			if (fl_pkt_slice(p, off, n, e->scratch, SCRATCH_BUF, &is.p) < 0 ||
			    (corrupt && fl_pkt_corrupt(&is.p) < 0) ||
			    inject(e, is.p.buf, is.p.len, p->family, &p->dst) < 0)
				return;
			i++;
			is.now_ns = fl_clock_now_rel_ns();
			rel_seq_ack(f, dir, &is.p, &is.rseq, &is.rack);
			if (replace)
				snprintf(detail, sizeof(detail),
					 "segment %u of %u in place of the GSO "
					 "packet%s", i, pieces,
					 corrupt ? ", TCP checksum broken" : "");
			else if (pieces > 1)
				snprintf(detail, sizeof(detail),
					 "copy %u of %u, segment %u of %u", c,
					 copies, i, pieces);
			else
				snprintf(detail, sizeof(detail), "copy %u of %u",
					 c, copies);
			trace_seg(e, &is, FL_V_INJECT, rule, 0, detail);
			off += n;
		} while (off < p->payload_len);
	}
}

/* Sends the verdict of a segment leaving the engine, then what it
 * injects. */
static void finish(struct fl_engine *e, struct fl_flow *f, int dir, uint32_t id,
		   struct fl_pkt *p, const struct out *o)
{
	switch (o->kind) {
	case OUT_PASS:
		verdict(e, id, NF_ACCEPT, NULL, 0);
		if (o->copies) {
			batch_flush(e); /* the original first */
			inject_copies(e, f, dir, p, o->copies, 0, 0, o->rule);
		}
		break;
	case OUT_PASS_BYTES:
		verdict(e, id, NF_ACCEPT, p->buf, p->len);
		break;
	case OUT_REPLACE:
		verdict(e, id, NF_DROP, NULL, 0);
		batch_flush(e);
		inject_copies(e, f, dir, p, 1, o->corrupt, 1, o->rule);
		break;
	}
}

/* Puts h on the heap; if that fails, lets the segment go now (passing it
 * beats losing it) and returns -ENOMEM. */
static int hold_push(struct fl_engine *e, struct held *h)
{
	struct fl_pkt p;

	h->order = ++e->order;
	if (heap_push(e, h) == 0)
		return 0;
	if (h->data && fl_pkt_parse(&p, h->data->bytes, h->data->len) == 0)
		finish(e, h->flow, h->dir, h->id, &p, &h->data->o);
	else
		verdict(e, h->id, NF_ACCEPT, NULL, 0);
	data_put(e, h->data);
	return -ENOMEM;
}

/* Holds s in order until release_ns (never before the earlier held
 * segments of its direction), with d (may be NULL, owned from here). */
static void hold(struct fl_engine *e, struct seg_ctx *s, uint64_t release_ns,
		 struct held_data *d)
{
	struct fl_flow *f = s->f;
	struct held h = {0};

	if (release_ns < f->release_floor_ns[s->dir])
		release_ns = f->release_floor_ns[s->dir];
	h.release_ns = release_ns;
	h.id = s->id;
	h.len = (uint32_t)s->p.len;
	h.dir = (uint8_t)s->dir;
	h.kind = HELD_ORDERED;
	h.flow = f;
	h.data = d;
	if (hold_push(e, &h) < 0)
		return;
	f->held[s->dir]++;
	f->release_floor_ns[s->dir] = release_ns;
	s->held_order = h.order;
	s->held_ns = release_ns;
}

/*
 * The common exit of a segment that goes on (possibly changed): traced as
 * shown (how it arrived) with verdict v, then sent on as o says now, or,
 * when its direction holds earlier segments, held behind them so the
 * direction's order is kept.
 */
static void emit(struct fl_engine *e, struct seg_ctx *s,
		 const struct seg_ctx *shown, enum fl_verdict v, const char *detail,
		 const struct out *o)
{
	struct fl_flow *f = s->f;
	struct held_data *d = NULL;
	char buf[192];

	if (!f->held[s->dir]) {
		trace_seg(e, shown, v, o->rule, 0, detail);
		finish(e, f, s->dir, s->id, &s->p, o);
		return;
	}
	/* The detail is the trace's alone: not formatted without one. */
	if (e->cfg.trace)
		snprintf(buf, sizeof(buf), "%s%squeued behind a held segment",
			 detail ? detail : "", detail ? "; " : "");
	trace_seg(e, shown, v, o->rule, f->release_floor_ns[s->dir] - s->now_ns,
		  e->cfg.trace ? buf : NULL);
	if (o->kind != OUT_PASS || o->copies) {
		d = data_get(e, s->p.len);
		if (!d) {
			finish(e, f, s->dir, s->id, &s->p, o);
			return;
		}
		d->o = *o;
		d->len = s->p.len;
		memcpy(d->bytes, s->p.buf, s->p.len);
	}
	hold(e, s, f->release_floor_ns[s->dir], d);
}

/* emit() unchanged, traced with verdict v (normally "pass"). */
static void emit_plain(struct fl_engine *e, struct seg_ctx *s, enum fl_verdict v,
		       int rule, const char *detail)
{
	struct out o = {.kind = OUT_PASS, .rule = rule};

	emit(e, s, s, v, detail, &o);
}

static void pass(struct fl_engine *e, struct seg_ctx *s)
{
	emit_plain(e, s, FL_V_PASS, -1, NULL);
	e->st.passed++;
}

static uint64_t delay_for(struct fl_engine *e, const struct fl_rule *r,
			  const struct seg_ctx *s, int rule)
{
	uint64_t d = r->delay_us * 1000u;

	if (r->jitter_us) {
		/* The draw number is the sender's segment count: the same
		 * traffic with the same seed gives the same delays. */
		uint32_t draw = (uint32_t)s->f->packets[s->dir];
		uint32_t x = fl_random(e->cfg.seed, s->f->id,
				       (uint32_t)rule | 0x80000000u,
				       draw * 2u + (uint32_t)s->dir);
		uint64_t span = 2u * r->jitter_us * 1000u + 1u;
		uint64_t off = (uint64_t)x * span >> 32;

		d = d + off >= r->jitter_us * 1000u ? d + off - r->jitter_us * 1000u
						    : 0;
	}
	return d;
}

static void act_reset(struct fl_engine *e, struct seg_ctx *s,
		      const struct fl_rule *r, int rule)
{
	uint8_t out[80];
	/*
	 * RFC 5961 section 3.2: an RST whose seq is exactly RCV.NXT resets
	 * the connection; one elsewhere inside the receive window earns a
	 * challenge ACK instead (and one outside the window is dropped
	 * silently).  The dropped segment's seq is RCV.NXT when it is the
	 * next in order, which a segment the engine sees on loopback
	 * normally is.  "out-of-window" means "not exactly RCV.NXT": seq + 1
	 * is inside any open window, so the receiver answers with a
	 * challenge ACK (Linux rate-limits those per netns,
	 * net.ipv4.tcp_challenge_ack_limit).
	 */
	uint32_t seq = s->p.seq;
	int len;
	char detail[96];

	if (r->reset_mode == FL_RESET_OUT_OF_WINDOW)
		seq += 1;
	len = fl_pkt_build(out, sizeof(out), s->p.family, &s->p.src, &s->p.dst,
			   s->p.sport, s->p.dport, seq, 0, FL_TCP_RST, 0);
	trace_seg(e, s, FL_V_DROP, rule, 0, "replaced by an injected RST");
	verdict(e, s->id, NF_DROP, NULL, 0);
	e->st.dropped++;
	if (len > 0 && inject(e, out, (size_t)len, s->p.family, &s->p.dst) == 0) {
		struct seg_ctx is = *s;

		is.p.flags = FL_TCP_RST;
		is.p.payload_len = 0;
		is.p.window = 0;
		is.rseq = s->rseq + (seq - s->p.seq);
		is.forged = r->reset_mode == FL_RESET_OUT_OF_WINDOW ? 2 : 1;
		snprintf(detail, sizeof(detail), "RST %s",
			 r->reset_mode == FL_RESET_OUT_OF_WINDOW
				 ? "at RCV.NXT+1, in the window but not exact "
				   "(challenge ACK expected)"
				 : "at RCV.NXT");
		trace_seg(e, &is, FL_V_INJECT, rule, 0, detail);
	}
}

static void act_rewrite(struct fl_engine *e, struct seg_ctx *s,
			const struct fl_rule *r, int rule)
{
	char detail[128], a[32], b[32];
	struct seg_ctx orig = *s; /* traced as it arrived */
	struct out o = {.kind = OUT_PASS_BYTES, .rule = rule};
	size_t n;
	int ret = 0;

	if (s->p.caplen < s->p.len) {
		emit_plain(e, s, FL_V_PASS, rule,
			   "rewrite skipped: only part of the packet was copied");
		return;
	}
	detail[0] = 0;
	if (r->rw_mask & FL_RW_FLAGS) {
		fl_flags_format(s->p.flags, a, sizeof(a));
		fl_flags_format(r->rw_flags, b, sizeof(b));
		snprintf(detail, sizeof(detail), "flags %s->%s", a, b);
		ret = fl_pkt_set_flags(&s->p, r->rw_flags);
	}
	if (!ret && (r->rw_mask & FL_RW_WINDOW)) {
		n = strlen(detail);
		snprintf(detail + n, sizeof(detail) - n, "%swindow %u->%u",
			 n ? " " : "", s->p.window, r->rw_window);
		ret = fl_pkt_set_window(&s->p, r->rw_window);
	}
	/* Offsets are added modulo 2^32, as sequence numbers are
	 * (RFC 9293 section 3.4): seq=-5 is seq + 2^32 - 5. */
	if (!ret && (r->rw_mask & FL_RW_SEQ)) {
		n = strlen(detail);
		snprintf(detail + n, sizeof(detail) - n, "%sseq %+lld",
			 n ? " " : "", (long long)r->rw_seq);
		ret = fl_pkt_set_seq(&s->p, s->p.seq + (uint32_t)r->rw_seq);
	}
	if (!ret && (r->rw_mask & FL_RW_ACK)) {
		n = strlen(detail);
		snprintf(detail + n, sizeof(detail) - n, "%sack %+lld",
			 n ? " " : "", (long long)r->rw_ack);
		ret = fl_pkt_set_ack(&s->p, s->p.ack + (uint32_t)r->rw_ack);
	}
	if (ret) {
		/* OUT_PASS: the kernel keeps its own, unchanged copy. */
		emit_plain(e, &orig, FL_V_PASS, rule, "rewrite failed");
		return;
	}
	emit(e, s, &orig, FL_V_REWRITE, detail[0] ? detail : NULL, &o);
	e->st.rewritten++;
}

/*
 * Whether changed bytes must not go back through the verdict: the packet
 * is a GSO packet (longer than the MTU).  A verdict with bytes sets
 * ip_summed = CHECKSUM_NONE (nfqnl_mangle), so lo's transmit path must
 * segment the packet in software (netif_needs_gso).  tcp4_gso_segment then
 * recomputes the TCP checksum, undoing a corrupt, and refuses a packet no
 * longer than its gso_size (tcp_gso_segment: skb->len <= mss), so a
 * truncated one is silently lost (seen on Linux 6.18).  Such packets are
 * dropped and their changed bytes injected instead, as MTU-sized
 * segments (OUT_REPLACE).  Header rewrites keep the verdict: segmentation
 * recomputes a correct checksum, which is what they want.
 */
static int is_gso(const struct fl_engine *e, const struct fl_pkt *p)
{
	return p->len > e->mtu;
}

static void act_corrupt(struct fl_engine *e, struct seg_ctx *s, int rule)
{
	struct seg_ctx orig = *s;
	struct out o = {.kind = OUT_PASS_BYTES, .rule = rule};

	if (s->p.caplen < s->p.len) {
		emit_plain(e, s, FL_V_PASS, rule,
			   "corrupt skipped: only part of the packet was copied");
		return;
	}
	if (is_gso(e, &s->p)) {
		o.kind = OUT_REPLACE;
		o.corrupt = 1;
		emit(e, s, s, FL_V_CORRUPT,
		     "GSO packet: dropped, its segments injected with broken "
		     "TCP checksums", &o);
		e->st.rewritten++;
		return;
	}
	if (fl_pkt_corrupt(&s->p) < 0) {
		emit_plain(e, s, FL_V_PASS, rule, "corrupt failed");
		return;
	}
	emit(e, s, &orig, FL_V_CORRUPT, "TCP checksum broken", &o);
	e->st.rewritten++;
}

/*
 * The receiver keeps the first N bytes and acknowledges only those; the
 * sender still holds the rest in its send queue and retransmits it (its
 * later segments arrive above a hole: SACK, fast retransmit or RTO), so the
 * byte stream stays intact without shifting any seq or ack.  A FIN on the
 * cut segment is removed with the tail: it sits after the last byte
 * (RFC 9293 section 3.4), which the receiver no longer gets, and comes
 * back with the retransmission.
 */
static void act_truncate(struct fl_engine *e, struct seg_ctx *s,
			 const struct fl_rule *r, int rule)
{
	struct seg_ctx orig = *s;
	struct out o = {.kind = OUT_PASS_BYTES, .rule = rule};
	uint32_t was = s->p.payload_len;
	uint8_t fin = s->p.flags & FL_TCP_FIN;
	char detail[128];
	int ret;

	if (was <= r->truncate_len) { /* the matcher never hands us these */
		emit_plain(e, s, FL_V_PASS, rule, "not longer than the truncation");
		return;
	}
	if (s->p.caplen < s->p.len) {
		emit_plain(e, s, FL_V_PASS, rule,
			   "truncate skipped: only part of the packet was copied");
		return;
	}
	if (is_gso(e, &s->p))
		o.kind = OUT_REPLACE;
	ret = fl_pkt_truncate(&s->p, r->truncate_len);
	if (!ret && fin)
		ret = fl_pkt_set_flags(&s->p, (uint8_t)(s->p.flags & ~FL_TCP_FIN));
	if (ret) {
		emit_plain(e, &orig, FL_V_PASS, rule, "truncate failed");
		return;
	}
	snprintf(detail, sizeof(detail), "payload %u->%u bytes%s%s", was,
		 r->truncate_len, fin ? ", FIN removed" : "",
		 o.kind == OUT_REPLACE ? "; GSO packet: dropped, the rest injected"
				       : "");
	emit(e, s, &orig, FL_V_TRUNCATE, detail, &o);
	e->st.rewritten++;
}

static void act_duplicate(struct fl_engine *e, struct seg_ctx *s,
			  const struct fl_rule *r, int rule)
{
	struct out o = {.kind = OUT_PASS, .copies = r->count, .rule = rule};
	size_t hdr = s->p.l4off + s->p.thlen;
	char detail[128];

	if (s->p.caplen < s->p.len) {
		emit_plain(e, s, FL_V_PASS, rule,
			   "duplicate skipped: only part of the packet was copied");
		return;
	}
	if (is_gso(e, &s->p))
		snprintf(detail, sizeof(detail),
			 "%u cop%s; GSO packet: each copy cut into segments "
			 "of at most %zu bytes", r->count,
			 r->count == 1 ? "y" : "ies",
			 e->mtu > hdr ? e->mtu - hdr : (size_t)0);
	else
		snprintf(detail, sizeof(detail), "%u cop%s", r->count,
			 r->count == 1 ? "y" : "ies");
	emit(e, s, s, FL_V_DUPLICATE, detail, &o);
	e->st.passed++;
}

/*
 * reorder: the segment is held, without holding back the later segments
 * of its direction, until the next segment of the flow in the same
 * direction has been dealt with: passed (it goes right after), dropped,
 * or held itself (then it goes right after that one's release).  If none
 * comes within the rule's duration (FL_REORDER_DEFAULT_US without one), it
 * is released then.  One segment per direction is held this way at a time;
 * a second match while one is held is the "next segment" and passes.
 */
static void act_reorder(struct fl_engine *e, struct seg_ctx *s,
			const struct fl_rule *r, int rule)
{
	struct fl_flow *f = s->f;
	uint64_t us = r->reorder_us ? r->reorder_us : FL_REORDER_DEFAULT_US;
	struct held h = {0};
	char detail[128], dur[32];

	if (f->reorder_tok[s->dir]) {
		e->fired[rule]--;
		f->faults--;
		emit_plain(e, s, FL_V_PASS, rule,
			   "not reordered: an earlier segment is held for "
			   "reordering; this one is the next segment it waits for");
		e->st.passed++;
		return;
	}
	h.release_ns = s->now_ns + us * 1000u;
	/* After the direction's earlier held segments, never before. */
	if (h.release_ns < f->release_floor_ns[s->dir])
		h.release_ns = f->release_floor_ns[s->dir];
	h.id = s->id;
	h.len = (uint32_t)s->p.len;
	h.dir = (uint8_t)s->dir;
	h.kind = HELD_REORDER;
	h.flow = f;
	if (us % 1000u)
		snprintf(dur, sizeof(dur), "%" PRIu64 "us", us);
	else
		snprintf(dur, sizeof(dur), "%" PRIu64 "ms", us / 1000u);
	snprintf(detail, sizeof(detail),
		 "held until the next segment from the %s, at most %s",
		 s->dir == FL_DIR_C2S ? "client" : "server", dur);
	trace_seg(e, s, FL_V_REORDER, rule, 0, detail);
	if (hold_push(e, &h) < 0)
		return;
	f->reorder_tok[s->dir] = h.order;
	f->reorder_id[s->dir] = s->id;
	f->reorder_attached[s->dir] = 0;
	s->reorder_hold = 1;
	e->st.delayed++;
}

/* s is the next segment after one a reorder rule holds in its direction:
 * let the held one go right after s. */
static void reorder_follow(struct fl_engine *e, struct seg_ctx *s)
{
	struct fl_flow *f = s->f;
	int d = s->dir;
	struct held h = {0};

	if (s->held_order) {
		/* s waits itself: the held one leaves right behind it.  Its
		 * old heap entry goes stale (the token moves on). */
		h.release_ns = s->held_ns;
		h.id = f->reorder_id[d];
		h.dir = (uint8_t)d;
		h.kind = HELD_REORDER;
		h.flow = f;
		if (hold_push(e, &h) == 0) {
			f->reorder_tok[d] = h.order;
			f->reorder_attached[d] = 1;
			return;
		}
	} else {
		verdict(e, f->reorder_id[d], NF_ACCEPT, NULL, 0);
	}
	f->reorder_tok[d] = 0;
	f->reorder_attached[d] = 0;
}

static void decide_rules(struct fl_engine *e, struct seg_ctx *s)
{
	const struct fl_ruleset *rs = e->cfg.rs;
	struct fl_segment seg;
	const struct fl_rule *r;
	int rule;

	if (s->f->blackholed) {
		rule = s->f->blackholed - 1;
		trace_seg(e, s, FL_V_DROP, rule, 0, "blackholed flow");
		verdict(e, s->id, NF_DROP, NULL, 0);
		e->st.dropped++;
		e->fired[rule]++;
		s->f->faults++;
		return;
	}
	seg.from = s->dir == FL_DIR_C2S ? FL_SIDE_CLIENT : FL_SIDE_SERVER;
	seg.target_side = s->f->target_side;
	seg.flags = s->p.flags;
	seg.payload_len = s->p.payload_len;
	seg.sport = s->p.sport;
	seg.dport = s->p.dport;
	seg.stream_off = s->rseq ? (uint64_t)s->rseq - 1 : 0;
	rule = e->matcher ? fl_matcher_match(e->matcher, &seg, &s->f->fm,
					     s->now_ns / 1000u)
			  : -1;
	if (rule < 0) {
		pass(e, s);
		return;
	}
	r = &rs->rules[rule];
	e->fired[rule]++;
	s->f->faults++;
	switch (r->action) {
	case FL_ACT_DROP:
		trace_seg(e, s, FL_V_DROP, rule, 0, NULL);
		verdict(e, s->id, NF_DROP, NULL, 0);
		e->st.dropped++;
		break;
	case FL_ACT_DELAY: {
		uint64_t d = delay_for(e, r, s, rule);
		uint64_t rel = s->now_ns + d;

		if (rel < s->f->release_floor_ns[s->dir])
			rel = s->f->release_floor_ns[s->dir];
		trace_seg(e, s, FL_V_DELAY, rule, rel - s->now_ns, NULL);
		hold(e, s, rel, NULL);
		e->st.delayed++;
		break;
	}
	case FL_ACT_REWRITE:
		act_rewrite(e, s, r, rule);
		break;
	case FL_ACT_RESET:
		act_reset(e, s, r, rule);
		break;
	case FL_ACT_BLACKHOLE:
		s->f->blackholed = rule + 1;
		trace_seg(e, s, FL_V_DROP, rule, 0, "blackhole begins");
		verdict(e, s->id, NF_DROP, NULL, 0);
		e->st.dropped++;
		break;
	case FL_ACT_CORRUPT:
		act_corrupt(e, s, rule);
		break;
	case FL_ACT_DUPLICATE:
		act_duplicate(e, s, r, rule);
		break;
	case FL_ACT_REORDER:
		act_reorder(e, s, r, rule);
		break;
	case FL_ACT_TRUNCATE:
		act_truncate(e, s, r, rule);
		break;
	}
}

static void decide(struct fl_engine *e, struct seg_ctx *s)
{
	decide_rules(e, s);
	if (!s->reorder_hold && s->f->reorder_tok[s->dir] &&
	    !s->f->reorder_attached[s->dir])
		reorder_follow(e, s);
}

static void endpoint_of(struct fl_endpoint *ep, const struct fl_pkt *p,
			int src)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = p->family;
	if (p->family == AF_INET)
		memcpy(ep->addr, src ? (const void *)&p->src.v4
				     : (const void *)&p->dst.v4, 4);
	else
		memcpy(ep->addr, src ? (const void *)&p->src.v6
				     : (const void *)&p->dst.v6, 16);
	ep->port = src ? p->sport : p->dport;
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct fl_engine *e = data;
	struct nlattr *attr[NFQA_MAX + 1] = {0};
	struct nfqnl_msg_packet_hdr *ph;
	struct fl_endpoint src, dst;
	struct seg_ctx s;
	uint8_t *payload;
	size_t plen;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(&s, 0, sizeof(s));
	s.id = ntohl(ph->packet_id);
	s.now_ns = fl_clock_now_rel_ns();
	e->st.packets++;
	if (!attr[NFQA_PAYLOAD]) {
		verdict(e, s.id, NF_ACCEPT, NULL, 0);
		e->st.unparsed++;
		return MNL_CB_OK;
	}
	payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	plen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (fl_pkt_parse(&s.p, payload, plen) < 0) {
		verdict(e, s.id, NF_ACCEPT, NULL, 0);
		e->st.unparsed++;
		return MNL_CB_OK;
	}
	endpoint_of(&src, &s.p, 1);
	endpoint_of(&dst, &s.p, 0);
	s.f = fl_flow_lookup(e->flows, &src, &dst, s.p.flags, s.now_ns, &s.dir);
	if (!s.f) {
		verdict(e, s.id, NF_ACCEPT, NULL, 0);
		return MNL_CB_OK;
	}
	if (s.f->packets[0] + s.f->packets[1] == 0 && e->cfg.resolve_side)
		s.f->target_side = e->cfg.resolve_side(e->cfg.resolve_ctx, s.f);
	if (s.p.flags & FL_TCP_SYN) {
		s.f->isn[s.dir] = s.p.seq;
		s.f->isn_known[s.dir] = 1;
	} else if (!s.f->isn_known[s.dir]) {
		/* Joined mid-stream: count from here, like tcpdump. */
		s.f->isn[s.dir] = s.p.seq - 1;
		s.f->isn_known[s.dir] = 1;
	}
	s.rseq = s.p.seq - s.f->isn[s.dir];
	s.rack = s.f->isn_known[!s.dir] ? s.p.ack - s.f->isn[!s.dir] : s.p.ack;
	s.f->packets[s.dir]++;
	s.f->bytes[s.dir] += s.p.payload_len;
	s.f->flags_seen[s.dir] |= s.p.flags;
	s.f->last_ns = s.now_ns;
	decide(e, &s);
	e->bbytes += s.p.len;
	if (e->bbytes >= FLUSH_BYTES)
		batch_flush(e);
	return MNL_CB_OK;
}

static void release(struct fl_engine *e, const struct held *h)
{
	struct fl_flow *f = h->flow;
	struct fl_pkt p;

	if (h->kind == HELD_REORDER) {
		/* A stale entry: the segment already left, or moved behind
		 * the next segment (reorder_follow). */
		if (f->reorder_tok[h->dir] != h->order)
			return;
		f->reorder_tok[h->dir] = 0;
		f->reorder_attached[h->dir] = 0;
	} else {
		if (f->held[h->dir])
			f->held[h->dir]--;
		if (!f->held[h->dir])
			f->release_floor_ns[h->dir] = 0;
	}
	if (h->data && fl_pkt_parse(&p, h->data->bytes, h->data->len) == 0)
		finish(e, f, h->dir, h->id, &p, &h->data->o);
	else
		verdict(e, h->id, NF_ACCEPT, NULL, 0);
	data_put(e, h->data);
	e->bbytes += h->len;
	if (e->bbytes >= FLUSH_BYTES)
		batch_flush(e);
}

/* Releases the held segments due by now, earliest first. */
static void release_due(struct fl_engine *e, uint64_t now)
{
	while (e->nheld && e->heap[0].release_ns <= now) {
		struct held h = heap_pop(e);

		release(e, &h);
	}
}

/*
 * One recvmmsg() reads what the kernel has queued, up to RECV_SLOTS
 * segments (one netlink datagram each), and their verdicts leave with one
 * sendto(): a round.  Every segment of a round was read before any of its
 * verdicts went out, which is what batch_done() tells the observer.
 * Held segments that have become due are released before each round, so
 * a busy queue never makes a release wait for the timer's turn.
 */
int fl_engine_process(struct fl_engine *e)
{
	int fd = mnl_socket_get_fd(e->nl);
	int ret = 0, told = 0;

	for (unsigned round = 0; round < RECV_ROUNDS; round++) {
		int n;

		if (e->nheld && e->heap[0].release_ns <= fl_clock_now_rel_ns())
			release_due(e, fl_clock_now_rel_ns());
		n = recvmmsg(fd, e->msgs, RECV_SLOTS, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == ENOBUFS) {
			e->st.enobufs++;
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			/* A netlink error message (e.g. a verdict for an id
			 * the kernel no longer has) is not fatal. */
			if (mnl_cb_run(e->rbuf + (size_t)i * e->slot_len,
				       e->msgs[i].msg_len, 0, e->portid,
				       on_packet, e) < 0 &&
			    errno != EINTR)
				e->st.send_errors++;
			/* What fell due meanwhile leaves with this batch. */
			if (e->nheld && e->heap[0].release_ns <= fl_clock_now_rel_ns())
				release_due(e, fl_clock_now_rel_ns());
		}
		if (e->blen) {
			batch_flush(e);
			batch_done(e);
			told = 1;
		}
		if ((unsigned)n < RECV_SLOTS)
			break; /* drained */
	}
	if (e->blen || !told) {
		batch_flush(e);
		batch_done(e);
	}
	arm_timer(e);
	return ret;
}

int fl_engine_timer(struct fl_engine *e)
{
	uint64_t exp;

	if (read(e->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return -errno;
	e->armed_ns = 0;
	/* The clock is read after the wakeup: nothing leaves early. */
	release_due(e, fl_clock_now_rel_ns());
	batch_flush(e);
	batch_done(e);
	arm_timer(e);
	return 0;
}

void fl_engine_release_all(struct fl_engine *e)
{
	while (e->nheld) {
		struct held h = heap_pop(e);

		release(e, &h);
	}
	batch_flush(e);
	batch_done(e);
	arm_timer(e);
}

/* ---- setup ---- */

static int queue_config(struct fl_engine *e, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, e->cfg.queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(e->nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, e->cfg.queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
				 e->copy_full ? 0xffff : (int)HDR_COPY);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAXLEN);
	if (mnl_socket_sendto(e->nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot configure NFQUEUE %u: %s (is the "
		 "nfnetlink_queue kernel module available?)",
		 e->cfg.queue_num, strerror(errno));
	return -errno;
}

static int open_raw(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The MTU of the sandbox's lo (faultline run --mtu), which bounds what a
 * raw socket can send. */
static unsigned lo_mtu(int fd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu < 100 ||
	    ifr.ifr_mtu > (int)SCRATCH_BUF)
		return DEFAULT_MTU;
	return (unsigned)ifr.ifr_mtu;
}

/* The timer slack the harness had, for the processes it starts. */
static int slack_ns = -1;

static void restore_slack(void)
{
	prctl(PR_SET_TIMERSLACK, (unsigned long)slack_ns, 0UL, 0UL, 0UL);
}

/*
 * The thread that serves the queue waits as exactly as asked: its poll()
 * timeouts take no slack (50 us by default; the timerfd's own expiry
 * takes none either way).  A child inherits its parent's slack, so every
 * process forked from here on (target, driver) gets the harness's own
 * back first.
 */
static void set_slack(void)
{
	if (slack_ns < 0) {
		slack_ns = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
		if (slack_ns < 0)
			return;
		pthread_atfork(NULL, NULL, restore_slack);
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

int fl_engine_new(struct fl_engine **out, const struct fl_engine_cfg *cfg,
		  char *err, size_t errlen)
{
	struct fl_engine *e = calloc(1, sizeof(*e));
	size_t nrules = cfg->rs ? cfg->rs->nrules : 0;
	int one = 1, bufsz = RCVBUF;
	socklen_t sl = sizeof(bufsz);
	int ret = -ENOMEM;

	if (!e)
		goto fail;
	e->cfg = *cfg;
	e->tfd = e->raw4 = e->raw6 = -1;
	e->bbuf = malloc(BATCH_BUF);
	e->scratch = malloc(SCRATCH_BUF);
	e->fired = calloc(nrules ? nrules : 1, sizeof(*e->fired));
	e->rule_names = calloc(nrules ? nrules : 1, sizeof(char *));
	e->flows = fl_flow_table_new(nrules);
	if (!e->bbuf || !e->scratch || !e->fired ||
	    !e->rule_names || !e->flows)
		goto fail;
	for (size_t i = 0; i < nrules; i++) {
		const struct fl_rule *r = &cfg->rs->rules[i];
		char name[512];

		snprintf(name, sizeof(name), "%s:%u", r->file, r->line);
		e->rule_names[i] = strdup(name);
		if (!e->rule_names[i])
			goto fail;
		if (fl_rule_needs_payload(r))
			e->copy_full = 1;
	}
	/* The receive slots: what the copy range lets one message hold. */
	e->slot_len = MNL_ALIGN((e->copy_full ? 0xffffu : HDR_COPY) + SLOT_EXTRA);
	e->rbuf = malloc(RECV_SLOTS * e->slot_len);
	e->msgs = calloc(RECV_SLOTS, sizeof(*e->msgs));
	e->iov = calloc(RECV_SLOTS, sizeof(*e->iov));
	if (!e->rbuf || !e->msgs || !e->iov)
		goto fail;
	for (size_t i = 0; i < RECV_SLOTS; i++) {
		e->iov[i].iov_base = e->rbuf + i * e->slot_len;
		e->iov[i].iov_len = e->slot_len;
		e->msgs[i].msg_hdr.msg_iov = &e->iov[i];
		e->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	if (nrules) {
		e->matcher = fl_matcher_new(cfg->rs, cfg->seed);
		if (!e->matcher)
			goto fail;
	}
	e->st.queue_dropped = e->st.user_dropped = -1;

	set_slack();
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->tfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
		goto fail;
	}
	e->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!e->nl || mnl_socket_bind(e->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open a netfilter netlink socket: %s",
			 strerror(errno));
		goto fail;
	}
	e->portid = mnl_socket_get_portid(e->nl);
	/* Never block the kernel on us: a full buffer drops the packet and
	 * nfnetlink_queue counts it (user_dropped), which we report. */
	setsockopt(mnl_socket_get_fd(e->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(e->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &bufsz, sizeof(bufsz)) < 0)
		setsockopt(mnl_socket_get_fd(e->nl), SOL_SOCKET, SO_RCVBUF,
			   &bufsz, sizeof(bufsz));
	fcntl(mnl_socket_get_fd(e->nl), F_SETFL,
	      fcntl(mnl_socket_get_fd(e->nl), F_GETFL) | O_NONBLOCK);
	ret = queue_config(e, err, errlen);
	if (ret < 0)
		goto fail;
	if (cfg->verbose &&
	    getsockopt(mnl_socket_get_fd(e->nl), SOL_SOCKET, SO_RCVBUF, &bufsz,
		       &sl) == 0)
		fprintf(stderr, "faultline: queue %u: up to %u segments, receive "
			"buffer %d bytes, %s copied\n", cfg->queue_num,
			QUEUE_MAXLEN, bufsz,
			e->copy_full ? "whole segments" : "headers");
	e->raw4 = open_raw(AF_INET, cfg->mark);
	e->raw6 = open_raw(AF_INET6, cfg->mark);
	if (e->raw4 < 0 || e->raw6 < 0) {
		ret = e->raw4 < 0 ? e->raw4 : e->raw6;
		snprintf(err, errlen, "cannot open a raw socket for injected "
			 "segments: %s", strerror(-ret));
		goto fail;
	}
	e->mtu = lo_mtu(e->raw4);
	*out = e;
	return 0;
fail:
	if (ret == -ENOMEM && err[0] == 0)
		snprintf(err, errlen, "out of memory");
	fl_engine_free(e);
	return ret;
}

void fl_engine_free(struct fl_engine *e)
{
	if (!e)
		return;
	if (e->nl)
		mnl_socket_close(e->nl);
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->raw4 >= 0)
		close(e->raw4);
	if (e->raw6 >= 0)
		close(e->raw6);
	fl_matcher_free(e->matcher);
	fl_flow_table_free(e->flows);
	if (e->rule_names)
		for (size_t i = 0; i < (e->cfg.rs ? e->cfg.rs->nrules : 0); i++)
			free(e->rule_names[i]);
	free(e->rule_names);
	free(e->fired);
	for (size_t i = 0; i < e->nheld; i++)
		free(e->heap[i].data);
	while (e->spares) {
		struct held_data *d = e->spares;

		e->spares = d->next;
		free(d);
	}
	free(e->heap);
	free(e->scratch);
	free(e->rbuf);
	free(e->msgs);
	free(e->iov);
	free(e->bbuf);
	free(e);
}

int fl_engine_fd(const struct fl_engine *e)
{
	return mnl_socket_get_fd(e->nl);
}

int fl_engine_timer_fd(const struct fl_engine *e)
{
	return e->tfd;
}

void fl_engine_read_kernel_stats(struct fl_engine *e)
{
	int fd = openat(e->cfg.proc_fd >= 0 ? e->cfg.proc_fd : AT_FDCWD,
			e->cfg.proc_fd >= 0 ? "self/net/netfilter/nfnetlink_queue"
					    : "/proc/self/net/netfilter/nfnetlink_queue",
			O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	unsigned q, portid, total, mode, range;
	unsigned long long qd, ud, idseq;
	int one;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (fscanf(f, "%u %u %u %u %u %llu %llu %llu %d", &q, &portid,
		      &total, &mode, &range, &qd, &ud, &idseq, &one) == 9) {
		if (q == e->cfg.queue_num) {
			e->st.queue_dropped = (int64_t)qd;
			e->st.user_dropped = (int64_t)ud;
		}
	}
	fclose(f);
}

void fl_engine_get_stats(const struct fl_engine *e, struct fl_engine_stats *s)
{
	*s = e->st;
}

const struct fl_flow_table *fl_engine_flows(const struct fl_engine *e)
{
	return e->flows;
}

uint64_t fl_engine_rule_fired(const struct fl_engine *e, size_t i)
{
	return e->fired[i];
}

size_t fl_engine_held(const struct fl_engine *e)
{
	return e->nheld;
}
