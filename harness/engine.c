/*
 * engine.c - the engine: decide and act on each segment; see engine.h.
 *
 * Each segment is parsed (harness/packet.c), assigned to its flow
 * (flow.c), matched (rules/), given a verdict through the I/O operations
 * and told to the sink as one struct fl_seg_event (verdict.h): the trace
 * line, the flow's ladder and its delivery facts are the timeline's to
 * write (timeline.c), not the engine's.  Nothing on this path allocates,
 * once a flow exists, or compares a string: verdicts are enum fl_verdict
 * (verdict.h), named only where the trace is written.
 *
 * Besides the flow table's identity and counters (flow.c), the engine
 * keeps what it decides a flow's segments by per flow id: the matcher's
 * state and the blackhole that took the flow (struct eng_flow, made when
 * the flow's first segment comes, as hold.c's state is).
 *
 * Held segments (delay, reorder, and segments queued behind a held one)
 * live in hold.c, which keeps each direction's order; io's arm() is told
 * when the earliest is due.  A segment held by `reorder` waits for the next
 * one (see act_reorder()).
 *
 * Injected segments (RST of `reset`, copies of `duplicate`) go out through
 * io's inject().  A copy is injected after the original's verdict has been
 * flushed, so on loopback it arrives after the original.
 *
 * Single-threaded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine.h"
#include "hold.h"
#include "packet.h"

#define SCRATCH_BUF FL_ENGINE_MTU_MAX /* one injected segment: at most the MTU */
/* One queued packet: an IPv6 one is up to 40 + 65535 bytes. */
#define SENT_BUF (FL_ENGINE_MTU_MAX + 64u)

/* What the engine decides one flow's segments by. */
struct eng_flow {
	struct fl_flow_match fm; /* the matcher's state of the flow */
	int blackholed;          /* rule index + 1 of the blackhole, or 0 */
	uint32_t counts[];       /* fm.hits, then fm.draws: nrules each */
};

struct fl_engine {
	struct fl_engine_cfg cfg;
	struct fl_io io;
	struct fl_matcher *matcher;
	struct fl_flow_table *flows;
	struct eng_flow **eflows; /* [flow id - 1], NULL: not yet made */
	size_t neflows;           /* room in eflows */
	struct fl_hold *hold;
	uint8_t *scratch;  /* one injected segment being built */
	uint8_t *sent;     /* the bytes of the segment being changed, as sent */

	uint64_t *acted;   /* per rule: segments it acted on */
	struct fl_engine_stats st;
};

/* ---- the I/O operations ---- */

static inline void io_verdict(struct fl_engine *e, uint32_t id,
			      enum fl_io_verdict v, const void *pkt, size_t len,
			      size_t weight)
{
	e->io.ops->verdict(e->io.ctx, id, v, pkt, len, weight);
}

static inline int io_inject(struct fl_engine *e, const uint8_t *pkt,
			    size_t len, int family, const void *dst)
{
	int ret = e->io.ops->inject(e->io.ctx, pkt, len, family, dst);

	if (ret == 0)
		e->st.injected++;
	return ret;
}

static inline void io_flush(struct fl_engine *e)
{
	e->io.ops->flush(e->io.ctx);
}

static inline uint64_t io_now(struct fl_engine *e)
{
	return e->io.ops->now(e->io.ctx);
}

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

/* Tells the sink that the verdicts sent so far are out (engine.h). */
void fl_engine_sent(struct fl_engine *e)
{
	struct fl_seg_event ev = {.rule = -1};

	if (e->cfg.sink) {
		ev.t_ns = io_now(e);
		e->cfg.sink(e->cfg.sink_ctx, &ev);
	}
}

/* ---- one segment ---- */

struct seg_ctx {
	struct fl_pkt p;
	struct fl_flow *f;
	struct eng_flow *ef;    /* f's decision state */
	struct fl_hold_dir *hd; /* f's hold state in direction dir */
	int dir;
	uint32_t rseq, rack;
	uint64_t now_ns;
	uint32_t id;
	/* set when the segment ends up held in order (for reorder) */
	uint64_t held_order, held_ns;
	int reorder_hold; /* this segment is the one a reorder rule holds */
	enum fl_forged forged; /* made by the engine: its sender sent nothing */
	/* The bytes its receiver is handed when the engine changed them
	 * (the event's out), NULL: p's bytes as they are. */
	const struct fl_pkt *changed;
};

/*
 * Tells the sink (the run's timeline) about segment s and what the engine
 * did with it: verdict v, decided by rule (-1 none), held delay_ns (0:
 * goes on now), held only behind its direction's earlier segments
 * (queued), with the trace's words (detail, may be NULL).  The engine
 * writes nothing of its own: the trace line, the ladder and the delivery
 * facts are the timeline's.
 */
static void tell(struct fl_engine *e, const struct seg_ctx *s,
		 enum fl_verdict v, int rule, uint64_t delay_ns, int queued,
		 const char *detail)
{
	int delivered = fl_verdict_fate(v) == FL_FATE_DELIVERED &&
			s->forged != FL_FORGED_CHALLENGED;
	struct fl_seg_event ev = {
		.f = s->f,
		.dir = s->dir,
		.flags = s->p.flags,
		.win = s->p.window,
		.rseq = s->rseq,
		.rack = s->rack,
		.len = s->p.payload_len,
		.delivered = delivered,
		.forged = s->forged,
		.verdict = v,
		.rule = rule,
		.read_ns = s->now_ns,
		.delay_ns = delay_ns,
		.queued = queued,
		.detail = detail,
		.t_ns = (s->now_ns + delay_ns) | 1,
	};
	/* What the engine made has no bytes as sent: its bytes are what
	 * the receiver is handed. */
	const struct fl_pkt *out = v == FL_V_INJECT ? &s->p : s->changed;

	if (v != FL_V_INJECT && s->p.buf) {
		ev.sent = s->p.buf;
		ev.sent_cap = (uint32_t)s->p.caplen;
		ev.sent_len = (uint32_t)s->p.len;
	}
	if (out && out->buf) {
		ev.out = out->buf;
		ev.out_cap = (uint32_t)out->caplen;
		ev.out_len = (uint32_t)out->len;
	}
	if (e->cfg.sink)
		e->cfg.sink(e->cfg.sink_ctx, &ev);
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
	uint32_t mss = e->io.mtu > hdr ? (uint32_t)(e->io.mtu - hdr) : 0;
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
			    io_inject(e, is.p.buf, is.p.len, p->family, &p->dst) < 0)
				return;
			i++;
			is.now_ns = io_now(e);
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
			tell(e, &is, FL_V_INJECT, rule, 0, 0, detail);
			off += n;
		} while (off < p->payload_len);
	}
}

/* Sends the verdict of a segment leaving the engine, then what it
 * injects. */
static void finish(struct fl_engine *e, struct fl_flow *f, int dir, uint32_t id,
		   struct fl_pkt *p, const struct fl_out *o, size_t weight)
{
	switch (o->kind) {
	case FL_OUT_PASS:
		io_verdict(e, id, FL_IO_ACCEPT, NULL, 0, weight);
		if (o->copies) {
			io_flush(e); /* the original first */
			inject_copies(e, f, dir, p, o->copies, 0, 0, o->rule);
		}
		break;
	case FL_OUT_PASS_BYTES:
		io_verdict(e, id, FL_IO_ACCEPT, p->buf, p->len, weight);
		break;
	case FL_OUT_REPLACE:
		io_verdict(e, id, FL_IO_DROP, NULL, 0, weight);
		io_flush(e);
		inject_copies(e, f, dir, p, 1, o->corrupt, 1, o->rule);
		break;
	}
}

/* Lets a segment go now that could not be held (passing it beats losing
 * it), with d (may be NULL, given back here). */
static void unheld(struct fl_engine *e, struct fl_flow *f, int dir, uint32_t id,
		   struct fl_held_data *d)
{
	struct fl_pkt p;

	if (d && fl_pkt_parse(&p, d->bytes, d->len) == 0)
		finish(e, f, dir, id, &p, &d->o, 0);
	else
		io_verdict(e, id, FL_IO_ACCEPT, NULL, 0, 0);
	fl_hold_data_put(e->hold, d);
}

/* Holds s in order until release_ns (never before the earlier held
 * segments of its direction), with d (may be NULL, owned from here). */
static void hold(struct fl_engine *e, struct seg_ctx *s, uint64_t release_ns,
		 struct fl_held_data *d)
{
	struct fl_held h = {
		.release_ns = release_ns,
		.id = s->id,
		.len = (uint32_t)s->p.len,
		.dir = (uint8_t)s->dir,
		.flow = s->f,
		.data = d,
	};

	if (fl_hold_ordered(e->hold, &h) < 0) {
		unheld(e, s->f, s->dir, s->id, d);
		return;
	}
	s->held_order = h.order;
	s->held_ns = h.release_ns;
}

/*
 * The common exit of a segment that goes on (possibly changed): traced as
 * shown (how it arrived) with verdict v, then sent on as o says now, or,
 * when its direction holds earlier segments, held behind them so the
 * direction's order is kept.
 */
static void emit(struct fl_engine *e, struct seg_ctx *s,
		 const struct seg_ctx *shown, enum fl_verdict v, const char *detail,
		 const struct fl_out *o)
{
	struct fl_flow *f = s->f;
	struct fl_held_data *d = NULL;
	struct seg_ctx sh = *shown;

	/* Changed bytes the verdict carries are what the receiver gets; a
	 * replaced GSO packet's are told as the segments injected for it. */
	if (shown != s && o->kind == FL_OUT_PASS_BYTES)
		sh.changed = &s->p;
	shown = &sh;
	if (!s->hd->held) {
		tell(e, shown, v, o->rule, 0, 0, detail);
		finish(e, f, s->dir, s->id, &s->p, o, s->p.len);
		return;
	}
	tell(e, shown, v, o->rule, s->hd->floor_ns - s->now_ns, 1, detail);
	if (o->kind != FL_OUT_PASS || o->copies) {
		d = fl_hold_data_get(e->hold, s->p.len);
		if (!d) {
			finish(e, f, s->dir, s->id, &s->p, o, s->p.len);
			return;
		}
		d->o = *o;
		d->len = s->p.len;
		memcpy(d->bytes, s->p.buf, s->p.len);
	}
	hold(e, s, s->hd->floor_ns, d);
}

/* emit() unchanged, traced with verdict v (normally "pass"). */
static void emit_plain(struct fl_engine *e, struct seg_ctx *s, enum fl_verdict v,
		       int rule, const char *detail)
{
	struct fl_out o = {.kind = FL_OUT_PASS, .rule = rule};

	emit(e, s, s, v, detail, &o);
}

/* Passes s untouched because rule r could not be carried out: the
 * trace says "<action> <why>". */
static void not_done(struct fl_engine *e, struct seg_ctx *s,
		     const struct fl_rule *r, int rule, const char *why)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "%s %s", fl_action_name(r->action), why);
	emit_plain(e, s, FL_V_PASS, rule, detail);
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

/*
 * orig, a copy of s made before s's bytes are changed in place, keeps
 * them as they were sent (the event's sent bytes), in the engine's own
 * buffer: one segment at a time is changed.
 */
static void keep_sent(struct fl_engine *e, struct seg_ctx *orig)
{
	size_t n = orig->p.caplen < SENT_BUF ? orig->p.caplen : SENT_BUF;

	memcpy(e->sent, orig->p.buf, n);
	orig->p.buf = e->sent;
	orig->p.caplen = n;
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
	tell(e, s, FL_V_DROP, rule, 0, 0, "replaced by an injected RST");
	io_verdict(e, s->id, FL_IO_DROP, NULL, 0, s->p.len);
	e->st.dropped++;
	if (len > 0 && io_inject(e, out, (size_t)len, s->p.family, &s->p.dst) == 0) {
		struct seg_ctx is = *s;

		is.p.buf = out;
		is.p.caplen = is.p.len = (size_t)len;
		is.p.flags = FL_TCP_RST;
		is.p.payload_len = 0;
		is.p.window = 0;
		is.rseq = s->rseq + (seq - s->p.seq);
		is.forged = r->reset_mode == FL_RESET_OUT_OF_WINDOW
				    ? FL_FORGED_CHALLENGED
				    : FL_FORGED_TAKES;
		snprintf(detail, sizeof(detail), "RST %s",
			 r->reset_mode == FL_RESET_OUT_OF_WINDOW
				 ? "at RCV.NXT+1, in the window but not exact "
				   "(challenge ACK expected)"
				 : "at RCV.NXT");
		tell(e, &is, FL_V_INJECT, rule, 0, 0, detail);
	}
}

static void act_rewrite(struct fl_engine *e, struct seg_ctx *s,
			const struct fl_rule *r, int rule)
{
	char detail[128], a[32], b[32];
	struct seg_ctx orig = *s; /* traced as it arrived */
	struct fl_out o = {.kind = FL_OUT_PASS_BYTES, .rule = rule};
	size_t n;
	int ret = 0;

	if (s->p.caplen < s->p.len) {
		not_done(e, s, r, rule, "skipped: only part of the packet was copied");
		return;
	}
	keep_sent(e, &orig);
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
		/* FL_OUT_PASS: the kernel keeps its own, unchanged copy. */
		not_done(e, &orig, r, rule, "failed");
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
 * segments (FL_OUT_REPLACE).  Header rewrites keep the verdict: segmentation
 * recomputes a correct checksum, which is what they want.
 */
static int is_gso(const struct fl_engine *e, const struct fl_pkt *p)
{
	return p->len > e->io.mtu;
}

static void act_corrupt(struct fl_engine *e, struct seg_ctx *s,
			const struct fl_rule *r, int rule)
{
	struct seg_ctx orig = *s;
	struct fl_out o = {.kind = FL_OUT_PASS_BYTES, .rule = rule};

	if (s->p.caplen < s->p.len) {
		not_done(e, s, r, rule, "skipped: only part of the packet was copied");
		return;
	}
	if (is_gso(e, &s->p)) {
		o.kind = FL_OUT_REPLACE;
		o.corrupt = 1;
		emit(e, s, s, FL_V_CORRUPT,
		     "GSO packet: dropped, its segments injected with broken "
		     "TCP checksums", &o);
		e->st.rewritten++;
		return;
	}
	keep_sent(e, &orig);
	if (fl_pkt_corrupt(&s->p) < 0) {
		not_done(e, s, r, rule, "failed");
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
	struct fl_out o = {.kind = FL_OUT_PASS_BYTES, .rule = rule};
	uint32_t was = s->p.payload_len;
	uint8_t fin = s->p.flags & FL_TCP_FIN;
	char detail[128];
	int ret;

	if (was <= r->truncate_len) { /* the matcher never hands us these */
		emit_plain(e, s, FL_V_PASS, rule, "not longer than the truncation");
		return;
	}
	if (s->p.caplen < s->p.len) {
		not_done(e, s, r, rule, "skipped: only part of the packet was copied");
		return;
	}
	keep_sent(e, &orig);
	if (is_gso(e, &s->p))
		o.kind = FL_OUT_REPLACE;
	ret = fl_pkt_truncate(&s->p, r->truncate_len);
	if (!ret && fin)
		ret = fl_pkt_set_flags(&s->p, (uint8_t)(s->p.flags & ~FL_TCP_FIN));
	if (ret) {
		not_done(e, &orig, r, rule, "failed");
		return;
	}
	snprintf(detail, sizeof(detail), "payload %u->%u bytes%s%s", was,
		 r->truncate_len, fin ? ", FIN removed" : "",
		 o.kind == FL_OUT_REPLACE ? "; GSO packet: dropped, the rest injected"
				       : "");
	emit(e, s, &orig, FL_V_TRUNCATE, detail, &o);
	e->st.rewritten++;
}

static void act_duplicate(struct fl_engine *e, struct seg_ctx *s,
			  const struct fl_rule *r, int rule)
{
	struct fl_out o = {.kind = FL_OUT_PASS, .copies = r->count, .rule = rule};
	size_t hdr = s->p.l4off + s->p.thlen;
	char detail[128];

	if (s->p.caplen < s->p.len) {
		not_done(e, s, r, rule, "skipped: only part of the packet was copied");
		return;
	}
	if (is_gso(e, &s->p))
		snprintf(detail, sizeof(detail),
			 "%u cop%s; GSO packet: each copy cut into segments "
			 "of at most %zu bytes", r->count,
			 r->count == 1 ? "y" : "ies",
			 e->io.mtu > hdr ? e->io.mtu - hdr : (size_t)0);
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
	struct fl_held h = {0};
	char detail[128], dur[32];

	/* After the direction's earlier held segments, never before
	 * (fl_hold_reorder()). */
	h.release_ns = s->now_ns + us * 1000u;
	h.id = s->id;
	h.len = (uint32_t)s->p.len;
	h.dir = (uint8_t)s->dir;
	h.flow = f;
	if (us % 1000u)
		snprintf(dur, sizeof(dur), "%" PRIu64 "us", us);
	else
		snprintf(dur, sizeof(dur), "%" PRIu64 "ms", us / 1000u);
	snprintf(detail, sizeof(detail),
		 "held until the next segment from the %s, at most %s",
		 s->dir == FL_DIR_C2S ? "client" : "server", dur);
	tell(e, s, FL_V_REORDER, rule, 0, 0, detail);
	if (fl_hold_reorder(e->hold, &h) < 0) {
		unheld(e, f, s->dir, s->id, NULL);
		return;
	}
	s->reorder_hold = 1;
	e->st.delayed++;
}

/* s is the next segment after one a reorder rule holds in its direction:
 * let the held one go right after s. */
static void reorder_follow(struct fl_engine *e, struct seg_ctx *s)
{
	uint32_t id = s->hd->reorder_id;

	/* s waits itself: the held one leaves right behind it. */
	if (s->held_order &&
	    fl_hold_reorder_attach(e->hold, s->f, s->dir, s->held_ns) == 0)
		return;
	fl_hold_reorder_clear(e->hold, s->f->id, s->dir);
	io_verdict(e, id, FL_IO_ACCEPT, NULL, 0, 0);
}

static void decide_rules(struct fl_engine *e, struct seg_ctx *s)
{
	const struct fl_ruleset *rs = e->cfg.rs;
	struct fl_segment seg;
	const struct fl_rule *r;
	int rule;

	if (s->ef->blackholed) {
		rule = s->ef->blackholed - 1;
		tell(e, s, FL_V_DROP, rule, 0, 0, "blackholed flow");
		io_verdict(e, s->id, FL_IO_DROP, NULL, 0, s->p.len);
		e->st.dropped++;
		e->acted[rule]++;
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
	rule = e->matcher ? fl_matcher_match(e->matcher, &seg, &s->ef->fm,
					     s->now_ns / 1000u)
			  : -1;
	if (rule < 0) {
		pass(e, s);
		return;
	}
	r = &rs->rules[rule];
	if (r->action == FL_ACT_REORDER && s->hd->reorder_tok) {
		/* One held per direction: this is the next segment it waits
		 * for, which the rule does not act on. */
		emit_plain(e, s, FL_V_PASS, rule,
			   "not reordered: an earlier segment is held for "
			   "reordering; this one is the next segment it waits for");
		e->st.passed++;
		return;
	}
	e->acted[rule]++;
	s->f->faults++;
	switch (r->action) {
	case FL_ACT_DROP:
		tell(e, s, FL_V_DROP, rule, 0, 0, NULL);
		io_verdict(e, s->id, FL_IO_DROP, NULL, 0, s->p.len);
		e->st.dropped++;
		break;
	case FL_ACT_DELAY: {
		uint64_t d = delay_for(e, r, s, rule);
		uint64_t rel = s->now_ns + d;

		if (rel < s->hd->floor_ns)
			rel = s->hd->floor_ns;
		tell(e, s, FL_V_DELAY, rule, rel - s->now_ns, 0, NULL);
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
	case FL_ACT_BLACKHOLE: {
		char detail[32];

		snprintf(detail, sizeof(detail), "%s begins",
			 fl_action_name(r->action));
		s->ef->blackholed = rule + 1;
		tell(e, s, FL_V_DROP, rule, 0, 0, detail);
		io_verdict(e, s->id, FL_IO_DROP, NULL, 0, s->p.len);
		e->st.dropped++;
		break;
	}
	case FL_ACT_CORRUPT:
		act_corrupt(e, s, r, rule);
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
	if (!s->reorder_hold && s->hd->reorder_tok && !s->hd->reorder_attached)
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

/* Flow f's decision state, made with its first segment (the matcher's
 * counters zeroed after it, in one allocation).  NULL when out of
 * memory. */
static struct eng_flow *eng_flow(struct fl_engine *e, const struct fl_flow *f)
{
	size_t nrules = e->cfg.rs && e->cfg.rs->nrules ? e->cfg.rs->nrules : 1;
	struct eng_flow *ef;

	if (f->id > e->neflows) {
		size_t cap = e->neflows ? e->neflows * 2 : 64;
		struct eng_flow **v;

		while (cap < f->id)
			cap *= 2;
		v = realloc(e->eflows, cap * sizeof(*v));
		if (!v)
			return NULL;
		for (size_t i = e->neflows; i < cap; i++)
			v[i] = NULL;
		e->eflows = v;
		e->neflows = cap;
	}
	ef = e->eflows[f->id - 1];
	if (ef)
		return ef;
	ef = calloc(1, sizeof(*ef) + 2 * nrules * sizeof(uint32_t));
	if (!ef)
		return NULL;
	ef->fm.flow_id = f->id;
	ef->fm.conn = f->id;
	ef->fm.first_us = f->first_ns / 1000;
	ef->fm.hits = ef->counts;
	ef->fm.draws = ef->counts + nrules;
	e->eflows[f->id - 1] = ef;
	return ef;
}

static void release(struct fl_engine *e, const struct fl_held *h)
{
	struct fl_pkt p;

	if (h->data && fl_pkt_parse(&p, h->data->bytes, h->data->len) == 0)
		finish(e, h->flow, h->dir, h->id, &p, &h->data->o, h->len);
	else
		io_verdict(e, h->id, FL_IO_ACCEPT, NULL, 0, h->len);
	fl_hold_data_put(e->hold, h->data);
}

void fl_engine_segment(struct fl_engine *e, uint32_t id, uint8_t *pkt,
		       size_t len)
{
	struct fl_endpoint src, dst;
	struct seg_ctx s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.now_ns = io_now(e);
	e->st.packets++;
	if (!pkt || fl_pkt_parse(&s.p, pkt, len) < 0) {
		io_verdict(e, s.id, FL_IO_ACCEPT, NULL, 0, 0);
		e->st.unparsed++;
		return;
	}
	endpoint_of(&src, &s.p, 1);
	endpoint_of(&dst, &s.p, 0);
	s.f = fl_flow_lookup(e->flows, &src, &dst, s.p.flags, s.now_ns, &s.dir);
	if (s.f && s.f->packets[0] + s.f->packets[1] == 0 &&
	    fl_hold_track(e->hold, s.f->id) < 0)
		s.f = NULL;
	if (s.f && !(s.ef = eng_flow(e, s.f)))
		s.f = NULL;
	if (!s.f) {
		io_verdict(e, s.id, FL_IO_ACCEPT, NULL, 0, 0);
		return;
	}
	s.hd = fl_hold_dir(e->hold, s.f->id, s.dir);
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
}

void fl_engine_release_due(struct fl_engine *e)
{
	struct fl_held h;
	uint64_t now;
	int r;

	if (!fl_hold_next_due(e->hold))
		return;
	now = io_now(e);
	while ((r = fl_hold_pop(e->hold, now, &h)) != 0)
		if (r == 1)
			release(e, &h);
}

void fl_engine_release_all(struct fl_engine *e)
{
	struct fl_held h;
	int r;

	while ((r = fl_hold_pop(e->hold, UINT64_MAX, &h)) != 0)
		if (r == 1)
			release(e, &h);
	io_flush(e);
	fl_engine_sent(e);
	e->io.ops->arm(e->io.ctx, 0);
}

uint64_t fl_engine_next_due(const struct fl_engine *e)
{
	return fl_hold_next_due(e->hold);
}

size_t fl_engine_held(const struct fl_engine *e)
{
	return fl_hold_count(e->hold);
}

/* ---- setup ---- */

int fl_engine_open(struct fl_engine **out, const struct fl_engine_cfg *cfg,
		   const struct fl_io *io)
{
	struct fl_engine *e = calloc(1, sizeof(*e));
	size_t nrules = cfg->rs ? cfg->rs->nrules : 0;

	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->io = *io;
	e->scratch = malloc(SCRATCH_BUF);
	e->sent = malloc(SENT_BUF);
	e->acted = calloc(nrules ? nrules : 1, sizeof(*e->acted));
	e->flows = fl_flow_table_new();
	e->hold = fl_hold_new();
	if (!e->scratch || !e->sent || !e->acted || !e->flows || !e->hold)
		goto fail;
	if (nrules) {
		e->matcher = fl_matcher_new(cfg->rs, cfg->seed);
		if (!e->matcher)
			goto fail;
	}
	e->st.queue_dropped = e->st.user_dropped = -1;
	*out = e;
	return 0;
fail:
	fl_engine_close(e);
	return -ENOMEM;
}

void fl_engine_close(struct fl_engine *e)
{
	if (!e)
		return;
	fl_matcher_free(e->matcher);
	fl_flow_table_free(e->flows);
	for (size_t i = 0; i < e->neflows; i++)
		free(e->eflows[i]);
	free(e->eflows);
	free(e->acted);
	fl_hold_free(e->hold);
	free(e->scratch);
	free(e->sent);
	free(e);
}

const struct fl_io *fl_engine_io(const struct fl_engine *e)
{
	return &e->io;
}

void fl_engine_counters(const struct fl_engine *e, struct fl_engine_stats *s)
{
	*s = e->st;
	s->max_held = fl_hold_max(e->hold);
}

const struct fl_flow_table *fl_engine_flows(const struct fl_engine *e)
{
	return e->flows;
}

uint64_t fl_engine_rule_fired(const struct fl_engine *e, size_t i)
{
	return e->acted[i];
}
