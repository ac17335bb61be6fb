/* sampler.c - socket lookups in slices between queue reads; see
 * sampler.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

struct fl_sampler {
	struct fl_sdiag *diag;
	struct fl_look *v;  /* the batch */
	size_t n, done, cap;
	int busy;
};

int fl_sampler_new(struct fl_sampler **out, struct fl_sdiag *d)
{
	struct fl_sampler *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->diag = d;
	*out = s;
	return 0;
}

void fl_sampler_free(struct fl_sampler *s)
{
	if (!s)
		return;
	fl_sdiag_free(s->diag);
	free(s->v);
	free(s);
}

int fl_sampler_busy(const struct fl_sampler *s)
{
	return s->busy;
}

int fl_sampler_submit(struct fl_sampler *s, const struct fl_look *v,
		      size_t n)
{
	if (s->busy)
		return -EBUSY;
	if (n > s->cap) {
		struct fl_look *nv = realloc(s->v, n * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = n;
	}
	memcpy(s->v, v, n * sizeof(*v));
	s->n = n;
	s->done = 0;
	s->busy = n > 0;
	return 0;
}

int fl_sampler_step(struct fl_sampler *s, unsigned budget,
		    int (*yield)(void *ctx), void *ctx)
{
	while (s->busy && s->done < s->n && budget--) {
		struct fl_look *l = &s->v[s->done];

		if (yield && yield(ctx))
			break;
		l->found = fl_sdiag_lookup(s->diag, l->family, l->src, l->sport,
					   l->dst, l->dport, l->cookie,
					   &l->sock);
		s->done++;
	}
	return s->busy && s->done == s->n;
}

const struct fl_look *fl_sampler_take(struct fl_sampler *s, size_t *n)
{
	if (!s->busy || s->done < s->n) {
		*n = 0;
		return NULL;
	}
	s->busy = 0;
	*n = s->n;
	return s->v;
}

void fl_sampler_get_stats(const struct fl_sampler *s,
			  struct fl_sdiag_stats *st)
{
	fl_sdiag_get_stats(s->diag, st);
}
