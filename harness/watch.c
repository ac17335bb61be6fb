/* watch.c - a run's TCP states kept current between queue reads; see
 * watch.h.  Single-threaded (the run's thread). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sampler.h"
#include "states.h"
#include "watch.h"

#define SAMPLE_NS 10000000u /* the states' timers run at least this often */
#define LOOKS_MAX 4096u     /* socket lookups in one batch */

struct fl_watch {
	struct fl_states *states;
	struct fl_trace *trace;
	struct fl_sampler *sampler; /* socket lookups, between queue reads */
	struct fl_look *looks;      /* a batch being put together */
	uint64_t next_sample_ns, last_sample_ns;
	uint64_t next_look_ns;      /* the next lookup falls due */
	uint64_t look_batch_ns;     /* when the batch on its way was made */
	uint64_t sampled_segments; /* engine segment count at the last sample */
};

int fl_watch_new(struct fl_watch **out, struct fl_states *states,
		 struct fl_trace *trace, char *err, size_t errlen)
{
	struct fl_watch *w = calloc(1, sizeof(*w));
	struct fl_sdiag *d;
	int ret;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->states = states;
	w->trace = trace;
	w->next_look_ns = UINT64_MAX;
	w->looks = calloc(LOOKS_MAX, sizeof(*w->looks));
	if (!w->looks) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fl_sdiag_new(&d);
	if (ret == 0 && (ret = fl_sampler_new(&w->sampler, d)) < 0)
		fl_sdiag_free(d);
	if (ret < 0)
		snprintf(err, errlen, "cannot open the state sampler's "
			 "NETLINK_SOCK_DIAG socket: %s", strerror(-ret));
out:
	if (ret < 0)
		fl_watch_free(w);
	else
		*out = w;
	return ret;
}

void fl_watch_free(struct fl_watch *w)
{
	if (!w)
		return;
	fl_sampler_free(w->sampler);
	free(w->looks);
	free(w);
}

static int segments_moved(struct fl_watch *w, uint64_t segments)
{
	if (segments == w->sampled_segments)
		return 0;
	w->sampled_segments = segments;
	return 1;
}

/* The sampler's answers, into the states. */
static void take_looks(struct fl_watch *w, const struct fl_flow_table *flows)
{
	size_t n;
	const struct fl_look *v = fl_sampler_take(w->sampler, &n);

	if (!n)
		return;
	fl_states_looked(w->states, flows, w->trace, v, n,
			 fl_clock_now_rel_ns());
	w->next_look_ns = 0; /* the next batch, if any is due */
}

/* The states' own timers, and the lookups due, handed to the sampler:
 * nothing here asks the kernel (the lookups are made in slices while the
 * queue is idle, see lookup_slice()). */
static void sample(struct fl_watch *w, const struct fl_flow_table *flows)
{
	uint64_t now = fl_clock_now_rel_ns();
	size_t n;

	w->last_sample_ns = now;
	w->next_sample_ns = now + SAMPLE_NS;
	fl_states_tick(w->states, flows, w->trace, now);
	if (!w->sampler || fl_sampler_busy(w->sampler)) {
		/* Looked again when the answers are in. */
		w->next_look_ns = UINT64_MAX;
		return;
	}
	n = fl_states_due(w->states, flows, now, w->looks,
			  LOOKS_MAX, &w->next_look_ns);
	if (n && fl_sampler_submit(w->sampler, w->looks, n) == 0) {
		w->next_look_ns = UINT64_MAX; /* until the answers come */
		w->look_batch_ns = now;
	}
	else if (n)
		w->next_look_ns = now + SAMPLE_NS;
}

/* Lookups of the batch on its way, while the queue is idle. */
static void lookup_slice(struct fl_watch *w, const struct fl_flow_table *flows,
			 int (*queue_waiting)(void *ctx), void *ctx)
{
	if (!w->sampler || !fl_sampler_busy(w->sampler))
		return;
	/* A queue that is never idle still gets one lookup per turn once
	 * the batch has waited 5ms. */
	if (fl_clock_now_rel_ns() > w->look_batch_ns + 5000000u)
		fl_sampler_step(w->sampler, 1, NULL, NULL);
	if (fl_sampler_step(w->sampler, 64, queue_waiting, ctx))
		take_looks(w, flows);
}

void fl_watch_turn(struct fl_watch *w, const struct fl_flow_table *flows,
		   uint64_t segments, int (*queue_waiting)(void *ctx),
		   void *ctx)
{
	if (fl_clock_now_rel_ns() >= w->next_sample_ns ||
	    fl_clock_now_rel_ns() >= w->next_look_ns ||
	    (segments_moved(w, segments) &&
	     fl_clock_now_rel_ns() >= w->last_sample_ns + 1000000u))
		sample(w, flows);
	lookup_slice(w, flows, queue_waiting, ctx);
}

int fl_watch_busy(const struct fl_watch *w)
{
	return w && w->sampler && fl_sampler_busy(w->sampler);
}

uint64_t fl_watch_next_ns(const struct fl_watch *w)
{
	if (!w)
		return UINT64_MAX;
	return w->next_look_ns < w->next_sample_ns ? w->next_look_ns
						   : w->next_sample_ns;
}

void fl_watch_finish(struct fl_watch *w, const struct fl_flow_table *flows,
		     struct fl_sdiag_stats *st)
{
	if (!w || !w->sampler)
		return;
	while (fl_sampler_busy(w->sampler)) {
		fl_sampler_step(w->sampler, 4096, NULL, NULL);
		take_looks(w, flows);
	}
	fl_sampler_get_stats(w->sampler, st);
}
