/*
 * timeline.h - the one sink of the engine's segment events.  The engine
 * (engine.h) tells each segment it decided on as one struct fl_seg_event
 * (verdict.h) and writes nothing itself; the timeline records it
 * everywhere the run keeps segments:
 *
 *  - the trace's `pkt` line (trace.h), the rule named "file:line";
 *  - the flow's ladder record (flow.h's fl_flow_log), for the report;
 *  - the flow's delivery facts in struct fl_flow, for the checks and the
 *    dead-peer analysis: the first FIN and RST each side got through
 *    (fin_ns, rst_ns), and its liveness (arrived_ns, lost_ns, snd_max,
 *    data_max, acked, last_win, ka_probes);
 *
 * and then forwards the event, unchanged, to its observer (the run's TCP
 * states, states.h), batch ends (f NULL) included.
 *
 * Nothing on the path of a segment allocates (but the ladder's growth,
 * flow.h) or compares a string: the rules' names are made once, here.
 * Single-threaded: called from the engine's thread, within the engine's
 * calls.
 */
#ifndef FL_TIMELINE_H
#define FL_TIMELINE_H

#include "rules.h"
#include "verdict.h"

struct fl_trace;
struct fl_timeline;

struct fl_timeline_cfg {
	const struct fl_ruleset *rs; /* the run's rules (for their names);
					may be NULL: no rule has a name */
	struct fl_trace *trace;      /* may be NULL: no trace lines */
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

#endif
