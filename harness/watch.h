/*
 * watch.h - keeps a run's TCP states (states.h) current between queue
 * reads: runs the states' own timers (at least every 10 ms, and 1 ms
 * after segments moved), collects the socket lookups that fall due, hands
 * them to the sampler (sampler.h), which makes them in slices while the
 * queue is idle, and feeds its answers back into the states.  Nothing
 * here asks the kernel on the path of a verdict, and nothing here knows
 * the queue: the run says what its engine saw.
 * Not thread-safe: the run's thread only.
 */
#ifndef FL_WATCH_H
#define FL_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "flow.h"

struct fl_states;
struct fl_trace;
struct fl_watch;

/*
 * A watch over states, writing state events to trace (NULL: none), with a
 * sampler on a NETLINK_SOCK_DIAG socket of its own (so its counts are its
 * own: every request it makes is a lookup).  Returns 0, -ENOMEM (err left
 * empty), or another -errno with err saying what could not be opened.
 * Free with fl_watch_free().
 */
int fl_watch_new(struct fl_watch **out, struct fl_states *states,
		 struct fl_trace *trace, char *err, size_t errlen);
void fl_watch_free(struct fl_watch *w);

/*
 * One turn of the run's loop, after the queue was served: the states'
 * timers and the lookups due by now (also 1 ms after the last, when the
 * engine's count of segments is no longer the last turn's), and a slice
 * of the lookups on their way, which stops as soon as queue_waiting(ctx)
 * says a segment or a release waits.
 */
void fl_watch_turn(struct fl_watch *w, const struct fl_flow_table *flows,
		   uint64_t segments, int (*queue_waiting)(void *ctx),
		   void *ctx);

/* Nonzero while lookups are on their way: the loop should not sleep. */
int fl_watch_busy(const struct fl_watch *w);
/* When the next turn has work to do (relative ns; UINT64_MAX: none). */
uint64_t fl_watch_next_ns(const struct fl_watch *w);

/* At the end of the run: makes the lookups still on their way, applies
 * them, and puts what the sampler asked of the kernel into *st.  (The end
 * of the run then looks every side up itself: fl_states_look_all().) */
void fl_watch_finish(struct fl_watch *w, const struct fl_flow_table *flows,
		     struct fl_sdiag_stats *st);

#endif
