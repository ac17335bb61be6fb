/*
 * timeline.c - the one sink of the engine's segment events: the trace
 * line, the flow's ladder record and its delivery facts, then the
 * observer; and the per-flow records those two are kept in; see
 * timeline.h.
 *
 * The engine hands over what it did (struct fl_seg_event); what that
 * means for the checks (a segment's fate, whether it is a keepalive
 * probe, the highest sequence number sent) is worked out here, once per
 * segment, from the event's enums and numbers.
 *
 * A flow's record is allocated when its first segment is recorded and
 * found by id from then on (an array of pointers in id order, grown by
 * doubling), so a pointer to it stays valid as long as the timeline.
 *
 * Single-threaded (the engine's thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "flow.h"
#include "timeline.h"
#include "trace.h"

/* One flow's record: its facts and its ladder. */
struct flow_rec {
	struct fl_flow_facts facts;
	struct fl_pkt_rec *log; /* up to HEAD + TAIL records */
	uint64_t nlog;          /* records ever logged */
	uint32_t logcap;        /* records log has room for */
};

struct fl_timeline {
	struct fl_timeline_cfg cfg;
	char **rule_names; /* "file:line" per rule */
	size_t nrules;
	struct flow_rec **flows; /* [id - 1], NULL: nothing recorded yet */
	size_t nflows;           /* room in flows */
};

/* The facts of a flow with no record. */
static const struct fl_flow_facts no_facts;

/* The trace's names of a segment's sender, by FL_DIR_*. */
static const char *const side_names[2] = {"client", "server"};

int fl_timeline_new(struct fl_timeline **out, const struct fl_timeline_cfg *cfg)
{
	struct fl_timeline *tl = calloc(1, sizeof(*tl));
	size_t nrules = cfg->rs ? cfg->rs->nrules : 0;

	if (!tl)
		return -ENOMEM;
	tl->cfg = *cfg;
	tl->rule_names = calloc(nrules ? nrules : 1, sizeof(char *));
	if (!tl->rule_names)
		goto fail;
	tl->nrules = nrules;
	for (size_t i = 0; i < nrules; i++) {
		const struct fl_rule *r = &cfg->rs->rules[i];
		char name[512];

		snprintf(name, sizeof(name), "%s:%u", r->file, r->line);
		tl->rule_names[i] = strdup(name);
		if (!tl->rule_names[i])
			goto fail;
	}
	*out = tl;
	return 0;
fail:
	fl_timeline_free(tl);
	return -ENOMEM;
}

void fl_timeline_free(struct fl_timeline *tl)
{
	if (!tl)
		return;
	for (size_t i = 0; i < tl->nflows; i++) {
		if (tl->flows[i])
			free(tl->flows[i]->log);
		free(tl->flows[i]);
	}
	free(tl->flows);
	if (tl->rule_names)
		for (size_t i = 0; i < tl->nrules; i++)
			free(tl->rule_names[i]);
	free(tl->rule_names);
	free(tl);
}

const char *fl_timeline_rule_name(const struct fl_timeline *tl, int i)
{
	if (i < 0 || (size_t)i >= tl->nrules)
		return NULL;
	return tl->rule_names[i];
}

/* ---- the per-flow records ---- */

static const struct flow_rec *rec_find(const struct fl_timeline *tl,
				       uint32_t id)
{
	if (!tl || id == 0 || id > tl->nflows)
		return NULL;
	return tl->flows[id - 1];
}

/* Flow id's record, made when absent; NULL for id 0 or out of memory. */
static struct flow_rec *rec_get(struct fl_timeline *tl, uint32_t id)
{
	if (id == 0)
		return NULL;
	if (id > tl->nflows) {
		size_t cap = tl->nflows ? tl->nflows * 2 : 64;
		struct flow_rec **v;

		while (cap < id)
			cap *= 2;
		v = realloc(tl->flows, cap * sizeof(*v));
		if (!v)
			return NULL;
		for (size_t i = tl->nflows; i < cap; i++)
			v[i] = NULL;
		tl->flows = v;
		tl->nflows = cap;
	}
	if (!tl->flows[id - 1])
		tl->flows[id - 1] = calloc(1, sizeof(struct flow_rec));
	return tl->flows[id - 1];
}

const struct fl_flow_facts *fl_timeline_facts(const struct fl_timeline *tl,
					      uint32_t id)
{
	const struct flow_rec *fr = rec_find(tl, id);

	return fr ? &fr->facts : &no_facts;
}

struct fl_flow_facts *fl_timeline_facts_edit(struct fl_timeline *tl,
					     uint32_t id)
{
	struct flow_rec *fr = rec_get(tl, id);

	return fr ? &fr->facts : NULL;
}

/* The log's room: a few records, then the head, then head and tail; so a
 * short connection keeps a few records, not HEAD + TAIL. */
#define LOG_FIRST 8u

static int ladder_add(struct flow_rec *fr, const struct fl_pkt_rec *r)
{
	uint64_t i = fr->nlog;

	if (i >= fr->logcap && fr->logcap < FL_LADDER_HEAD + FL_LADDER_TAIL) {
		uint32_t cap = fr->logcap < LOG_FIRST ? LOG_FIRST
			       : fr->logcap < FL_LADDER_HEAD
				       ? FL_LADDER_HEAD
				       : FL_LADDER_HEAD + FL_LADDER_TAIL;
		struct fl_pkt_rec *v = realloc(fr->log, cap * sizeof(*v));

		if (!v)
			return -ENOMEM; /* not logged: the ladder misses it */
		fr->log = v;
		fr->logcap = cap;
	}
	fr->nlog++;
	if (i < FL_LADDER_HEAD)
		fr->log[i] = *r;
	else
		fr->log[FL_LADDER_HEAD + (i - FL_LADDER_HEAD) % FL_LADDER_TAIL] = *r;
	return 0;
}

int fl_timeline_ladder_add(struct fl_timeline *tl, uint32_t id,
			   const struct fl_pkt_rec *r)
{
	struct flow_rec *fr;

	if (id == 0)
		return -EINVAL;
	fr = rec_get(tl, id);
	return fr ? ladder_add(fr, r) : -ENOMEM;
}

uint64_t fl_timeline_ladder_walk(const struct fl_timeline *tl, uint32_t id,
				 void (*fn)(void *ctx, const struct fl_pkt_rec *r),
				 void *ctx)
{
	const struct flow_rec *fr = rec_find(tl, id);
	uint64_t n, tail, start;

	if (!fr || !fr->log)
		return 0;
	n = fr->nlog;
	for (uint64_t i = 0; i < n && i < FL_LADDER_HEAD; i++)
		fn(ctx, &fr->log[i]);
	if (n <= FL_LADDER_HEAD)
		return 0;
	tail = n - FL_LADDER_HEAD;
	if (tail > FL_LADDER_TAIL)
		tail = FL_LADDER_TAIL;
	start = n - tail; /* first kept index of the tail */
	for (uint64_t i = start; i < n; i++)
		fn(ctx, &fr->log[FL_LADDER_HEAD +
				 (i - FL_LADDER_HEAD) % FL_LADDER_TAIL]);
	return n - FL_LADDER_HEAD - tail;
}

/* ---- recording a segment ---- */

/* The trace's pkt line: the segment as it arrived, at the time it was
 * read; a segment held only to keep its direction's order says so. */
static void trace_line(struct fl_timeline *tl, const struct fl_seg_event *ev,
		       uint32_t ack, uint64_t frame, uint64_t delivered_frame)
{
	struct fl_trace_pkt tp = {
		.t_ns = ev->read_ns,
		.flow = ev->f->id,
		.from = side_names[ev->dir != FL_DIR_C2S],
		.flags = ev->flags,
		.seq = ev->rseq,
		.ack = ack,
		.len = ev->len,
		.win = ev->win,
		.verdict = ev->verdict,
		.rule = fl_timeline_rule_name(tl, ev->rule),
		.delay_ns = ev->delay_ns,
		.detail = ev->detail,
		.frame = frame,
		.delivered_frame = delivered_frame,
	};
	char buf[192];

	if (!tl->cfg.trace)
		return;
	if (ev->queued) {
		snprintf(buf, sizeof(buf), "%s%squeued behind a held segment",
			 ev->detail ? ev->detail : "", ev->detail ? "; " : "");
		tp.detail = buf;
	}
	fl_trace_pkt(tl->cfg.trace, &tp);
}

/*
 * What dead-peer needs: when each side was last heard, when a rule last
 * lost a segment, and the probes each side sent.  A probe is a bare ACK
 * one below the highest sequence number sent (RFC 9293 3.8.4; Linux's
 * tcp_xmit_probe_skb): a keepalive when the peer's window is open, a
 * zero-window probe when it is shut.
 */
static void note_liveness(struct fl_flow_facts *fa, const struct fl_seg_event *ev)
{
	enum fl_fate fate = fl_verdict_fate(ev->verdict);
	int d = ev->dir;
	uint32_t end = ev->rseq + ev->len + !!(ev->flags & FL_TCP_SYN) +
		       !!(ev->flags & FL_TCP_FIN);

	/* A zero-window probe looks the same: not counted. */
	if (ev->flags == FL_TCP_ACK && ev->len <= 1 && fa->snd_max_known[d] &&
	    ev->rseq == fa->snd_max[d] - 1 &&
	    !(fa->arrived_ns[!d] && fa->last_win[!d] == 0))
		fa->ka_probes[d]++;
	if (!fa->snd_max_known[d] || (int32_t)(end - fa->snd_max[d]) > 0) {
		fa->snd_max[d] = end;
		fa->snd_max_known[d] = 1;
	}
	end -= !!(ev->flags & FL_TCP_FIN);
	if ((int32_t)(end - fa->data_max[d]) > 0)
		fa->data_max[d] = end;
	if (ev->delivered || fate == FL_FATE_CHANGED) {
		fa->arrived_ns[d] = ev->t_ns;
		fa->last_win[d] = ev->win;
		if ((ev->flags & FL_TCP_ACK) &&
		    (!fa->acked_known[d] ||
		     (int32_t)(ev->rack - fa->acked[d]) > 0)) {
			fa->acked[d] = ev->rack;
			fa->acked_known[d] = 1;
		}
	} else if (fate == FL_FATE_LOST) {
		fa->lost_ns = ev->t_ns;
	}
}

/* The first FIN and RST each side got through to its peer (not the ones a
 * rule dropped or changed, nor the engine's own), for the checks'
 * CLOSE_WAIT timing. */
static void note_delivery(struct fl_flow_facts *fa,
			  const struct fl_seg_event *ev)
{
	if (!ev->delivered || ev->forged)
		return;
	if ((ev->flags & FL_TCP_FIN) && !fa->fin_ns[ev->dir])
		fa->fin_ns[ev->dir] = ev->t_ns;
	if ((ev->flags & FL_TCP_RST) && !fa->rst_ns[ev->dir])
		fa->rst_ns[ev->dir] = ev->t_ns;
}

/* The blackhole that took the flow: the rule of the first segment a
 * blackhole rule dropped (the engine drops every later one by it). */
static void note_blackhole(const struct fl_timeline *tl,
			   struct fl_flow_facts *fa,
			   const struct fl_seg_event *ev)
{
	if (!fa->blackholed && ev->verdict == FL_V_DROP && ev->rule >= 0 &&
	    (size_t)ev->rule < tl->nrules &&
	    tl->cfg.rs->rules[ev->rule].action == FL_ACT_BLACKHOLE)
		fa->blackholed = ev->rule + 1;
}

void fl_timeline_segment(void *ctx, const struct fl_seg_event *ev)
{
	struct fl_timeline *tl = ctx;
	/* The trace and the ladder show an ack only where ACK says it is. */
	uint32_t ack = (ev->flags & FL_TCP_ACK) ? ev->rack : 0;

	if (ev->f) {
		/* Out of memory for a new flow's record: traced, but its
		 * ladder and facts stay empty. */
		struct flow_rec *fr = rec_get(tl, ev->f->id);
		struct fl_pkt_rec rec = {
			.t_ns = ev->read_ns,
			.seq = ev->rseq,
			.ack = ack,
			.len = ev->len,
			.dir = (uint8_t)ev->dir,
			.flags = ev->flags,
			.rule = (int16_t)(ev->rule >= 0 && ev->rule < INT16_MAX
						  ? ev->rule : -1),
			.verdict = (uint8_t)ev->verdict,
		};

		uint64_t frame = 0, out_frame = 0;

		/* As sent when it was read; changed or made bytes when they
		 * reach the receiver (a held one's due time). */
		if (ev->sent)
			frame = fl_capture_write(tl->cfg.capture, ev->read_ns,
						 ev->sent, ev->sent_cap,
						 ev->sent_len);
		if (ev->out)
			out_frame = fl_capture_write(tl->cfg.capture,
						     ev->sent ? ev->t_ns : ev->read_ns,
						     ev->out, ev->out_cap,
						     ev->out_len);
		/* A segment the engine made has only its bytes as made. */
		if (!ev->sent) {
			frame = out_frame;
			out_frame = 0;
		}
		trace_line(tl, ev, ack, frame, out_frame);
		if (fr) {
			ladder_add(fr, &rec);
			if (!ev->forged)
				note_liveness(&fr->facts, ev);
			note_delivery(&fr->facts, ev);
			note_blackhole(tl, &fr->facts, ev);
		}
	}
	/* The observer (states) reads none of the facts above: it is told
	 * last, so what it sees is already on the record. */
	if (tl->cfg.observe)
		tl->cfg.observe(tl->cfg.observe_ctx, ev);
}
