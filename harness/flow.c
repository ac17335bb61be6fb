/*
 * flow.c - the flow table: open addressing with linear probing over
 * pointers, plus an array in id order for reporting.  See flow.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

struct fl_flow_table {
	struct fl_flow **slots; /* hash slots, nslots a power of two */
	size_t nslots;
	struct fl_flow **byid;  /* byid[id - 1] */
	size_t n, cap;
};

struct fl_flow_table *fl_flow_table_new(void)
{
	struct fl_flow_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nslots = 256;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void fl_flow_table_free(struct fl_flow_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->byid[i]);
	free(t->byid);
	free(t->slots);
	free(t);
}

static int ep_equal(const struct fl_endpoint *a, const struct fl_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Symmetric in the two endpoints, so both directions find one slot. */
static uint64_t pair_hash(const struct fl_endpoint *a,
			  const struct fl_endpoint *b)
{
	uint64_t ha = mix(0xcbf29ce484222325ull, a->addr, 16);
	uint64_t hb = mix(0xcbf29ce484222325ull, b->addr, 16);

	ha = mix(ha, &a->port, 2);
	hb = mix(hb, &b->port, 2);
	return (ha ^ hb) * 0x9e3779b97f4a7c15ull;
}

static int grow(struct fl_flow_table *t)
{
	size_t nslots = t->nslots * 2;
	struct fl_flow **slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		struct fl_flow *f = t->byid[i];
		size_t j = pair_hash(&f->ep[0], &f->ep[1]) & (nslots - 1);

		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = f;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

struct fl_flow *fl_flow_lookup(struct fl_flow_table *t,
			       const struct fl_endpoint *src,
			       const struct fl_endpoint *dst, uint8_t flags,
			       uint64_t now_ns, int *dir)
{
	struct fl_flow *f = fl_flow_find(t, src, dst, dir);
	size_t j;

	if (f)
		return f;
	if ((t->n + 1) * 2 > t->nslots) {
		if (grow(t) < 0)
			return NULL;
		return fl_flow_lookup(t, src, dst, flags, now_ns, dir);
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct fl_flow **byid = realloc(t->byid, cap * sizeof(*byid));

		if (!byid)
			return NULL;
		t->byid = byid;
		t->cap = cap;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	j = pair_hash(src, dst) & (t->nslots - 1);
	while (t->slots[j])
		j = (j + 1) & (t->nslots - 1);
	/* RFC 9293 3.5: the SYN (without ACK) opens; a SYN-ACK answers. */
	if ((flags & (FL_TCP_SYN | FL_TCP_ACK)) == (FL_TCP_SYN | FL_TCP_ACK)) {
		f->ep[0] = *dst;
		f->ep[1] = *src;
		*dir = FL_DIR_S2C;
	} else {
		f->ep[0] = *src;
		f->ep[1] = *dst;
		*dir = FL_DIR_C2S;
	}
	f->id = (uint32_t)t->n + 1;
	f->first_ns = now_ns;
	f->target_side = FL_SIDE_ANY;
	t->byid[t->n++] = f;
	t->slots[j] = f;
	return f;
}

struct fl_flow *fl_flow_find(const struct fl_flow_table *t,
			     const struct fl_endpoint *src,
			     const struct fl_endpoint *dst, int *dir)
{
	size_t mask = t->nslots - 1;
	struct fl_flow *f;

	for (size_t j = pair_hash(src, dst) & mask; (f = t->slots[j]) != NULL;
	     j = (j + 1) & mask) {
		if (ep_equal(&f->ep[0], src) && ep_equal(&f->ep[1], dst)) {
			*dir = FL_DIR_C2S;
			return f;
		}
		if (ep_equal(&f->ep[1], src) && ep_equal(&f->ep[0], dst)) {
			*dir = FL_DIR_S2C;
			return f;
		}
	}
	return NULL;
}

size_t fl_flow_count(const struct fl_flow_table *t)
{
	return t->n;
}

struct fl_flow *fl_flow_get(const struct fl_flow_table *t, uint32_t id)
{
	if (id == 0 || id > t->n)
		return NULL;
	return t->byid[id - 1];
}

int fl_endpoint_format(const struct fl_endpoint *ep, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(ep->family, ep->addr, a, sizeof(a)))
		return -EINVAL;
	if (ep->family == AF_INET6)
		return snprintf(buf, n, "[%s]:%u", a, ep->port);
	return snprintf(buf, n, "%s:%u", a, ep->port);
}
