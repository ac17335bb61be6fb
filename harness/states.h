/*
 * states.h - TCP state tracking by sampling: every few milliseconds a
 * sock_diag dump of the sandbox's TCP sockets is compared with the last
 * one, and each change of a flow side's state becomes a `state` event.
 * A socket that vanishes from the dump has reached CLOSE.
 *
 * Sampling misses states shorter than the interval (LAST_ACK lasts one
 * round trip on loopback); what it sees is exact, and what lasts (a
 * CLOSE_WAIT leak, an orphan in FIN_WAIT2, TIME_WAIT) it always sees.
 * Single-threaded.
 */
#ifndef FL_STATES_H
#define FL_STATES_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "flow.h"

#define FL_STATES_PATH_MAX 16

struct fl_trace;
struct fl_states;

int fl_states_new(struct fl_states **out, struct fl_sdiag *diag);
void fl_states_free(struct fl_states *s);

/*
 * Feeds one segment the engine decided on (see fl_segment_observer): the
 * RFC 9293 state machine of each side moves on the segments, which
 * catches the states too short for sampling.  A segment moves its sender
 * at once (it has left its socket) and its receiver only when it is
 * delivered: at the end of its batch (a call with f NULL, queue.h) or, if
 * held, at t_ns.  So segments that waited in the queue together act as
 * they did in the kernel: all sent before any arrived (crossing FINs are
 * a simultaneous close).
 */
void fl_states_segment(struct fl_states *s, const struct fl_flow *f, int dir,
		       uint8_t flags, uint32_t rseq, uint32_t rack,
		       uint32_t len, int delivered, int forged, uint64_t t_ns,
		       struct fl_trace *trace);

/* From t_ns on, faultline is stopping the target: the state events
 * written from then are marked "after_stop" (the stop's doing). */
void fl_states_set_stop(struct fl_states *s, uint64_t t_ns);

/* Takes one sample at now_ns (relative to the run's start). */
int fl_states_sample(struct fl_states *s, const struct fl_flow_table *flows,
		     struct fl_trace *trace, uint64_t now_ns);

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

#endif
