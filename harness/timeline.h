/*
 * timeline.h - the one sink of the engine's segment events.  The engine
 * (engine.h) tells each segment it decided on as one struct fl_seg_event
 * (verdict.h) and writes nothing itself; the timeline records it
 * everywhere the run keeps segments:
 *
 *  - the pcap's frames (capture.h): the segment as sent (its read time),
 *    and as delivered when the engine changed or made it (its due
 *    time); the trace's `pkt` line names them ("frame",
 *    "delivered_frame");
 *  - the trace's `pkt` line (trace.h), the rule named "file:line";
 *  - the flow's ladder record (struct fl_pkt_rec), for the report and the
 *    checks that look at a flow's segments;
 *  - the flow's delivery facts (struct fl_flow_facts), for the checks and
 *    the dead-peer analysis: the first FIN and RST each side got through,
 *    its liveness, and the blackhole that took it;
 *
 * and then forwards the event, unchanged, to its observer (the run's TCP
 * states, states.h), batch ends (f NULL) included.
 *
 * The facts and the ladders are the timeline's own, kept per flow id (as
 * hold.c keeps the hold state): struct fl_flow (flow.h) is the flow's
 * identity and counters only.  The checks and the report read them
 * through fl_timeline_facts() and fl_timeline_ladder_walk(), from the
 * run's facts (checks.h's struct fl_run_facts).
 *
 * Nothing on the path of a segment allocates (but once per flow, for its
 * record, and the ladder's growth: at most three times in a flow's life)
 * or compares a string: the rules' names are made once, here.
 * Single-threaded: called from the engine's thread, within the engine's
 * calls; read by the checks and the report on the same thread.
 */
#ifndef FL_TIMELINE_H
#define FL_TIMELINE_H

#include <stdint.h>

#include "rules.h"
#include "verdict.h"

struct fl_capture;
struct fl_trace;
struct fl_timeline;

/* One segment as the ladder shows it: as it was read (seq and ack
 * relative, ack 0 unless ACK is set), and what the engine did. */
struct fl_pkt_rec {
	uint64_t t_ns;       /* when the engine read it */
	uint32_t seq, ack, len;
	uint8_t dir, flags;  /* dir: FL_DIR_*, its sender */
	int16_t rule;        /* rule index, -1 none */
	uint8_t verdict;     /* enum fl_verdict */
};

/* Segments kept per flow for the ladder: the first and the last ones. */
#define FL_LADDER_HEAD 40
#define FL_LADDER_TAIL 40

/*
 * What one flow's segments said, per direction d (FL_DIR_*: its sender),
 * times relative to the run's start and never 0 once seen.  Segments the
 * engine forged say nothing of their apparent sender here.
 */
struct fl_flow_facts {
	/* The first FIN / RST side d got through to its peer (not one a
	 * rule dropped or changed), at its due time: */
	uint64_t fin_ns[2], rst_ns[2];
	/* Liveness, for dead-peer: */
	uint64_t arrived_ns[2];      /* last segment that reached its receiver */
	uint64_t lost_ns;            /* last segment a rule lost (either way) */
	uint32_t snd_max[2];         /* highest relative seq + len sent */
	int snd_max_known[2];
	uint32_t data_max[2];        /* the same without FINs */
	uint32_t acked[2];           /* highest relative ack that arrived */
	int acked_known[2];
	uint16_t last_win[2];        /* window field of the last arrival */
	uint32_t ka_probes[2];       /* keepalive probes sent (seq snd_max-1,
					no data, while the peer's window is
					open) */
	/* The blackhole that took the flow (a rule that drops every segment
	 * of it from then on): its rule index + 1, or 0. */
	int blackholed;
};

struct fl_timeline_cfg {
	const struct fl_ruleset *rs; /* the run's rules (for their names);
					may be NULL: no rule has a name */
	struct fl_trace *trace;      /* may be NULL: no trace lines */
	struct fl_capture *capture;  /* may be NULL: no pcap frames */
	fl_segment_sink observe;     /* told every event after it is
					recorded; may be NULL */
	void *observe_ctx;
};

/*
 * A new timeline for cfg (copied; rs and trace must outlive it).  Returns
 * 0 or -ENOMEM; *out is freed with fl_timeline_free().
 */
int fl_timeline_new(struct fl_timeline **out,
		    const struct fl_timeline_cfg *cfg);
void fl_timeline_free(struct fl_timeline *tl);

/*
 * The engine's sink (engine.h's cfg.sink, with ctx the timeline): records
 * ev as the header says and forwards it to the observer.  A segment the
 * engine forged (ev->forged) is traced and logged, but says nothing of
 * its apparent sender's liveness, and is no FIN or RST that sender got
 * through.
 */
void fl_timeline_segment(void *ctx, const struct fl_seg_event *ev);

/* "file:line" of rule i of the timeline's rules, NULL for -1 or one out
 * of range. */
const char *fl_timeline_rule_name(const struct fl_timeline *tl, int i);

/* ---- reading a flow's record ---- */

/*
 * The facts of flow id; never NULL: all zero for a flow the timeline
 * recorded nothing of (or tl NULL).  Valid as long as tl.
 */
const struct fl_flow_facts *fl_timeline_facts(const struct fl_timeline *tl,
					      uint32_t id);
/*
 * Calls fn for the segments kept on flow id's ladder, in the order they
 * were read: the first FL_LADDER_HEAD and the last FL_LADDER_TAIL.
 * Returns how many in the middle were not kept.
 */
uint64_t fl_timeline_ladder_walk(const struct fl_timeline *tl, uint32_t id,
				 void (*fn)(void *ctx, const struct fl_pkt_rec *r),
				 void *ctx);

/*
 * Writing a flow's record by hand.  In a run the timeline writes it
 * itself, from the events (fl_timeline_segment()), and nothing else does;
 * these are for a test that builds a run's facts without events
 * (tests/unit/test_judge.c).  fl_timeline_facts_edit() returns flow id's
 * facts for writing (valid as long as tl), NULL for id 0 or out of
 * memory; fl_timeline_ladder_add() puts r on its ladder, 0 or -ENOMEM
 * (-EINVAL for id 0).
 */
struct fl_flow_facts *fl_timeline_facts_edit(struct fl_timeline *tl,
					     uint32_t id);
int fl_timeline_ladder_add(struct fl_timeline *tl, uint32_t id,
			   const struct fl_pkt_rec *r);

#endif
