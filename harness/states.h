/*
 * states.h - TCP state tracking.  The segments the engine decides on move
 * each side through RFC 9293's state machine (fl_states_segment), which
 * catches states as short as one round trip.  What no segment shows (a
 * handshake that times out, FIN_WAIT2 and TIME_WAIT expiring, a side that
 * gives up after losses, a socket that vanished) is asked of the kernel by
 * exact 4-tuple lookups of those sides only, never by a dump: the run's
 * thread collects the lookups due (fl_states_due), a sampler thread makes
 * them (sampler.h), and their answers come back (fl_states_looked).  So no
 * verdict waits for the kernel's socket table, and the cost grows neither
 * with the host's hash table nor with idle flows.
 * Not thread-safe: the run's thread only.
 */
#ifndef FL_STATES_H
#define FL_STATES_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "flow.h"
#include "verdict.h"

#define FL_STATES_PATH_MAX 16

struct fl_trace;
struct fl_states;

/* diag: for fl_states_look_all() only (NULL: no lookups). */
int fl_states_new(struct fl_states **out, struct fl_sdiag *diag);
void fl_states_free(struct fl_states *s);

/*
 * Feeds one segment the engine decided on (engine.h, via timeline.h): the
 * RFC 9293 state machine of each side moves on the segments, which
 * catches the states too short for sampling.  A segment moves its sender
 * at once (it has left its socket) and its receiver only when it is
 * delivered: at the end of its batch (an event with f NULL, engine.h) or,
 * if held, at t_ns.  So segments that waited in the queue together act as
 * they did in the kernel: all sent before any arrived (crossing FINs are
 * a simultaneous close).
 */
void fl_states_segment(struct fl_states *s, const struct fl_seg_event *ev,
		       struct fl_trace *trace);

/* From t_ns on, faultline is stopping the target: the state events
 * written from then are marked "after_stop" (the stop's doing). */
void fl_states_set_stop(struct fl_states *s, uint64_t t_ns);

struct fl_look;

/* What is due by now_ns without the kernel: deliveries of held segments,
 * and held decisions whose time is up. */
void fl_states_tick(struct fl_states *s, const struct fl_flow_table *flows,
		    struct fl_trace *trace, uint64_t now_ns);

/*
 * Fills out[0..max) with the lookups due by now_ns (sides in states that
 * can end without a segment: 1 ms after they got there, then ever more
 * rarely), marks them on their way, and returns how many; *next_ns (if
 * not NULL) is when the next one falls due (UINT64_MAX: none).
 */
size_t fl_states_due(struct fl_states *s, const struct fl_flow_table *flows,
		     uint64_t now_ns, struct fl_look *out, size_t max,
		     uint64_t *next_ns);

/* Applies the answers of lookups fl_states_due() asked for. */
void fl_states_looked(struct fl_states *s, const struct fl_flow_table *flows,
		      struct fl_trace *trace, const struct fl_look *v,
		      size_t n, uint64_t now_ns);

/* At the end of a run: looks up every side not yet CLOSE, here and now
 * (through the diag given to fl_states_new()).  0 or -errno. */
int fl_states_look_all(struct fl_states *s, const struct fl_flow_table *flows,
		       struct fl_trace *trace, uint64_t now_ns);

/*
 * What `expect time-wait <= N` judges: how many sides of the target
 * (fl_flow_target_dir) are in TIME_WAIT.  At the end of a run, after
 * fl_states_look_all(), these are the kernel's states as of that last
 * lookup; before it, what the segments and the lookups so far showed.
 */
int fl_states_time_wait(const struct fl_states *s,
			const struct fl_flow_table *flows);

/*
 * The states flow id's side dir (FL_DIR_C2S = client) went through, in
 * order, as kernel state numbers (include/net/tcp_states.h).  Returns how
 * many were copied into out (at most max).
 */
struct fl_state_change {
	uint64_t t_ns;
	uint32_t flow;
	uint8_t dir, from, to;
};

/* Every change seen, in time order. */
const struct fl_state_change *fl_states_changes(const struct fl_states *s,
						size_t *n);

size_t fl_states_path(const struct fl_states *s, uint32_t id, int dir,
		      uint8_t *out, size_t max);
/* The same, and in ns[] (if not NULL) when the side got to each state. */
size_t fl_states_path_ns(const struct fl_states *s, uint32_t id, int dir,
			 uint8_t *out, uint64_t *ns, size_t max);

#endif
