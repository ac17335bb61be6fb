/*
 * timeline.c - the one sink of the engine's segment events: the trace
 * line, the flow's ladder record and its delivery facts, then the
 * observer; see timeline.h.
 *
 * The engine hands over what it did (struct fl_seg_event); what that
 * means for the checks (a segment's fate, whether it is a keepalive
 * probe, the highest sequence number sent) is worked out here, once per
 * segment, from the event's enums and numbers.
 *
 * Single-threaded (the engine's thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "timeline.h"
#include "trace.h"

struct fl_timeline {
	struct fl_timeline_cfg cfg;
	char **rule_names; /* "file:line" per rule */
	size_t nrules;
};

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

/* The trace's pkt line: the segment as it arrived, at the time it was
 * read; a segment held only to keep its direction's order says so. */
static void trace_line(struct fl_timeline *tl, const struct fl_seg_event *ev,
		       uint32_t ack)
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
static void note_liveness(struct fl_flow *f, const struct fl_seg_event *ev)
{
	enum fl_fate fate = fl_verdict_fate(ev->verdict);
	int d = ev->dir;
	uint32_t end = ev->rseq + ev->len + !!(ev->flags & FL_TCP_SYN) +
		       !!(ev->flags & FL_TCP_FIN);

	/* A zero-window probe looks the same: not counted. */
	if (ev->flags == FL_TCP_ACK && ev->len <= 1 && f->snd_max_known[d] &&
	    ev->rseq == f->snd_max[d] - 1 &&
	    !(f->arrived_ns[!d] && f->last_win[!d] == 0))
		f->ka_probes[d]++;
	if (!f->snd_max_known[d] || (int32_t)(end - f->snd_max[d]) > 0) {
		f->snd_max[d] = end;
		f->snd_max_known[d] = 1;
	}
	end -= !!(ev->flags & FL_TCP_FIN);
	if ((int32_t)(end - f->data_max[d]) > 0)
		f->data_max[d] = end;
	if (ev->delivered || fate == FL_FATE_CHANGED) {
		f->arrived_ns[d] = ev->t_ns;
		f->last_win[d] = ev->win;
		if ((ev->flags & FL_TCP_ACK) &&
		    (!f->acked_known[d] ||
		     (int32_t)(ev->rack - f->acked[d]) > 0)) {
			f->acked[d] = ev->rack;
			f->acked_known[d] = 1;
		}
	} else if (fate == FL_FATE_LOST) {
		f->lost_ns = ev->t_ns;
	}
}

/* The first FIN and RST each side got through to its peer (not the ones a
 * rule dropped or changed, nor the engine's own), for the checks'
 * CLOSE_WAIT timing. */
static void note_delivery(struct fl_flow *f, const struct fl_seg_event *ev)
{
	if (!ev->delivered || ev->forged)
		return;
	if ((ev->flags & FL_TCP_FIN) && !f->fin_ns[ev->dir])
		f->fin_ns[ev->dir] = ev->t_ns;
	if ((ev->flags & FL_TCP_RST) && !f->rst_ns[ev->dir])
		f->rst_ns[ev->dir] = ev->t_ns;
}

void fl_timeline_segment(void *ctx, const struct fl_seg_event *ev)
{
	struct fl_timeline *tl = ctx;
	struct fl_flow *f = ev->f;
	/* The trace and the ladder show an ack only where ACK says it is. */
	uint32_t ack = (ev->flags & FL_TCP_ACK) ? ev->rack : 0;

	if (f) {
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

		trace_line(tl, ev, ack);
		fl_flow_log(f, &rec);
		if (!ev->forged)
			note_liveness(f, ev);
		note_delivery(f, ev);
	}
	/* The observer (states) reads none of the facts above: it is told
	 * last, so what it sees is already on the record. */
	if (tl->cfg.observe)
		tl->cfg.observe(tl->cfg.observe_ctx, ev);
}
