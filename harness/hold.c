/*
 * hold.c - the segments the engine holds back; see hold.h.
 *
 * The heap is an array of struct fl_held by value (no allocation per held
 * segment once it has grown); the per-flow table is indexed by flow id and
 * grows by doubling when a flow is new.  Single-threaded.
 */
#include <errno.h>
#include <stdlib.h>

#include "flow.h"
#include "hold.h"

#define SPARES_MAX 64u /* held_data kept for reuse */

struct fl_hold {
	struct fl_held *heap;
	size_t n, cap, max;
	uint64_t order;
	struct fl_hold_dir (*dirs)[2]; /* [flow id - 1][FL_DIR_*] */
	size_t ndirs;
	struct fl_held_data *spares;
	size_t nspares;
};

struct fl_hold *fl_hold_new(void)
{
	return calloc(1, sizeof(struct fl_hold));
}

void fl_hold_free(struct fl_hold *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->heap[i].data);
	while (h->spares) {
		struct fl_held_data *d = h->spares;

		h->spares = d->next;
		free(d);
	}
	free(h->heap);
	free(h->dirs);
	free(h);
}

int fl_hold_track(struct fl_hold *h, uint32_t id)
{
	size_t cap;
	struct fl_hold_dir (*p)[2];

	if (id <= h->ndirs)
		return 0;
	cap = h->ndirs ? h->ndirs * 2 : 64;
	while (cap < id)
		cap *= 2;
	p = realloc(h->dirs, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (size_t i = h->ndirs; i < cap; i++)
		p[i][0] = p[i][1] = (struct fl_hold_dir){0};
	h->dirs = p;
	h->ndirs = cap;
	return 0;
}

struct fl_hold_dir *fl_hold_dir(struct fl_hold *h, uint32_t id, int dir)
{
	return &h->dirs[id - 1][dir];
}

/* ---- the heap ---- */

static int held_before(const struct fl_held *a, const struct fl_held *b)
{
	if (a->release_ns != b->release_ns)
		return a->release_ns < b->release_ns;
	return a->order < b->order;
}

static int heap_push(struct fl_hold *h, struct fl_held *x)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct fl_held *p = realloc(h->heap, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		h->heap = p;
		h->cap = cap;
	}
	x->order = ++h->order;
	i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!held_before(x, &h->heap[parent]))
			break;
		h->heap[i] = h->heap[parent];
		i = parent;
	}
	h->heap[i] = *x;
	if (h->n > h->max)
		h->max = h->n;
	return 0;
}

static struct fl_held heap_pop(struct fl_hold *h)
{
	struct fl_held top = h->heap[0];
	struct fl_held last = h->heap[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && held_before(&h->heap[c + 1], &h->heap[c]))
			c++;
		if (!held_before(&h->heap[c], &last))
			break;
		h->heap[i] = h->heap[c];
		i = c;
	}
	if (h->n)
		h->heap[i] = last;
	return top;
}

/* ---- holding and releasing ---- */

int fl_hold_ordered(struct fl_hold *h, struct fl_held *x)
{
	struct fl_hold_dir *d = fl_hold_dir(h, x->flow->id, x->dir);

	if (x->release_ns < d->floor_ns)
		x->release_ns = d->floor_ns;
	x->kind = FL_HELD_ORDERED;
	if (heap_push(h, x) < 0)
		return -ENOMEM;
	d->held++;
	d->floor_ns = x->release_ns;
	return 0;
}

int fl_hold_reorder(struct fl_hold *h, struct fl_held *x)
{
	struct fl_hold_dir *d = fl_hold_dir(h, x->flow->id, x->dir);

	if (x->release_ns < d->floor_ns)
		x->release_ns = d->floor_ns;
	x->kind = FL_HELD_REORDER;
	if (heap_push(h, x) < 0)
		return -ENOMEM;
	d->reorder_tok = x->order;
	d->reorder_id = x->id;
	d->reorder_attached = 0;
	return 0;
}

int fl_hold_reorder_attach(struct fl_hold *h, struct fl_flow *f, int dir,
			   uint64_t release_ns)
{
	struct fl_hold_dir *d = fl_hold_dir(h, f->id, dir);
	struct fl_held x = {
		.release_ns = release_ns,
		.id = d->reorder_id,
		.dir = (uint8_t)dir,
		.kind = FL_HELD_REORDER,
		.flow = f,
	};

	if (heap_push(h, &x) < 0) {
		d->reorder_tok = 0;
		d->reorder_attached = 0;
		return -ENOMEM;
	}
	d->reorder_tok = x.order;
	d->reorder_attached = 1;
	return 0;
}

void fl_hold_reorder_clear(struct fl_hold *h, uint32_t id, int dir)
{
	struct fl_hold_dir *d = fl_hold_dir(h, id, dir);

	d->reorder_tok = 0;
	d->reorder_attached = 0;
}

uint64_t fl_hold_next_due(const struct fl_hold *h)
{
	return h->n ? h->heap[0].release_ns : 0;
}

int fl_hold_pop(struct fl_hold *h, uint64_t now_ns, struct fl_held *x)
{
	struct fl_hold_dir *d;

	if (!h->n || h->heap[0].release_ns > now_ns)
		return 0;
	*x = heap_pop(h);
	d = fl_hold_dir(h, x->flow->id, x->dir);
	if (x->kind == FL_HELD_REORDER) {
		/* A stale entry: the segment already left, or moved behind
		 * the next segment (fl_hold_reorder_attach). */
		if (d->reorder_tok != x->order)
			return 2;
		d->reorder_tok = 0;
		d->reorder_attached = 0;
		return 1;
	}
	if (d->held)
		d->held--;
	if (!d->held)
		d->floor_ns = 0;
	return 1;
}

size_t fl_hold_count(const struct fl_hold *h)
{
	return h->n;
}

size_t fl_hold_max(const struct fl_hold *h)
{
	return h->max;
}

/* ---- the pool of held bytes ---- */

struct fl_held_data *fl_hold_data_get(struct fl_hold *h, size_t len)
{
	struct fl_held_data **pp, *d;

	for (pp = &h->spares; (d = *pp) != NULL; pp = &d->next) {
		if (d->cap >= len) {
			*pp = d->next;
			h->nspares--;
			return d;
		}
	}
	/* At least an MTU-sized segment's worth, so a spare fits most. */
	if (len < 2048)
		len = 2048;
	d = malloc(sizeof(*d) + len);
	if (d)
		d->cap = len;
	return d;
}

void fl_hold_data_put(struct fl_hold *h, struct fl_held_data *d)
{
	if (!d)
		return;
	if (h->nspares >= SPARES_MAX) {
		free(d);
		return;
	}
	d->next = h->spares;
	h->spares = d;
	h->nspares++;
}
