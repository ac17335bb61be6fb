/*
 * sampler.h - looks sockets up by their 4-tuple in small slices between
 * queue reads, so that no verdict waits for the kernel's socket table.
 *
 * The run's thread hands over a batch of lookups (fl_sampler_submit) and
 * works it off with fl_sampler_step() whenever the queue is idle: one
 * lookup (one sock_diag request, a hash probe in the kernel, never a
 * dump) at a time, stopping as soon as a segment or a timer waits.  Why
 * not a thread of its own: the harness has unshared its PID namespace
 * for its children, and Linux refuses CLONE_THREAD after that (clone(2),
 * EINVAL); a slice of one lookup delays a segment by one lookup at most.
 */
#ifndef FL_SAMPLER_H
#define FL_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* One lookup: the question, then the answer. */
struct fl_look {
	uint32_t flow;
	uint8_t dir;           /* the side looked up (FL_DIR_C2S: client) */
	int family;
	uint8_t src[16], dst[16]; /* its local and remote address */
	uint16_t sport, dport;
	uint64_t cookie;       /* the socket seen before, 0 = any */
	/* Filled by the sampler: */
	int found;             /* 1, 0 (gone), or -errno */
	struct fl_sdiag_sock sock;
};

struct fl_sampler;

/* d is then the sampler's (freed with it). */
int fl_sampler_new(struct fl_sampler **out, struct fl_sdiag *d);
void fl_sampler_free(struct fl_sampler *s);

/* 1 while a batch is being looked up or its answers wait to be taken. */
int fl_sampler_busy(const struct fl_sampler *s);

/* Copies v[0..n) as the next batch: 0, -EBUSY while busy, or -ENOMEM. */
int fl_sampler_submit(struct fl_sampler *s, const struct fl_look *v,
		      size_t n);

/*
 * Makes at most budget lookups of the batch, asking yield(ctx) before
 * each (nonzero: stop, something else is waiting).  Returns 1 when the
 * batch is answered (fl_sampler_take), else 0.
 */
int fl_sampler_step(struct fl_sampler *s, unsigned budget,
		    int (*yield)(void *ctx), void *ctx);

/* The answered batch, valid until the next submit; *n = 0 if none. */
const struct fl_look *fl_sampler_take(struct fl_sampler *s, size_t *n);

void fl_sampler_get_stats(const struct fl_sampler *s,
			  struct fl_sdiag_stats *st);

#endif
