/*
 * match.c - decide which rule, if any, applies to a TCP segment.
 *
 * Rules are tried in file order and the first whose every condition holds
 * wins (rules/README.md, "Matching", gives the exact order of the tests and
 * what each counter counts).  The matcher knows nothing about NFQUEUE or
 * clocks: the engine hands in a decoded segment, the flow's matcher state
 * and the time, so tests drive it from plain structs.
 *
 * Randomness is a pure function of (seed, flow, rule, draw number), so a run
 * is reproducible from its seed and adding a rule never changes the draws
 * another rule sees.  Not thread-safe: one matcher per thread.
 */
#include <errno.h>
#include <stdlib.h>

#include "rules.h"

struct fl_matcher {
	const struct fl_ruleset *rs;
	uint64_t seed;
	uint64_t *fired; /* per rule, across all flows: what "times" limits */
};

struct fl_matcher *fl_matcher_new(const struct fl_ruleset *rs, uint64_t seed)
{
	struct fl_matcher *m = NULL;

	if (!rs)
		goto out;
	m = calloc(1, sizeof(*m));
	if (!m)
		goto out;
	m->rs = rs;
	m->seed = seed;
	m->fired = calloc(rs->nrules ? rs->nrules : 1, sizeof(*m->fired));
	if (!m->fired) {
		free(m);
		m = NULL;
	}
out:
	return m;
}

void fl_matcher_free(struct fl_matcher *m)
{
	if (!m)
		return;
	free(m->fired);
	free(m);
}

uint64_t fl_matcher_fired(const struct fl_matcher *m, size_t i)
{
	return m && i < m->rs->nrules ? m->fired[i] : 0;
}

/* splitmix64's finalizer (Steele, Lea, Flood 2014): a bijection with good
 * avalanche, enough to turn counters into independent-looking values. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t fl_random(uint64_t seed, uint32_t flow, uint32_t rule, uint32_t draw)
{
	uint64_t h = mix64(seed);

	h = mix64(h ^ ((uint64_t)flow << 32 | rule));
	h = mix64(h ^ draw);
	return (uint32_t)(h >> 32);
}

int fl_rule_needs_payload(const struct fl_rule *r)
{
	switch (r->action) {
	case FL_ACT_REWRITE:   /* checksum is recomputed over the payload */
	case FL_ACT_CORRUPT:   /* likewise: "correct checksum + 1" */
	case FL_ACT_TRUNCATE:
	case FL_ACT_DUPLICATE: /* the copies are injected whole */
		return 1;
	case FL_ACT_DROP:
	case FL_ACT_DELAY:
	case FL_ACT_RESET:
	case FL_ACT_BLACKHOLE:
	case FL_ACT_REORDER:
		return 0;
	}
	return 0;
}

static int side_ok(enum fl_side want, const struct fl_segment *seg)
{
	switch (want) {
	case FL_SIDE_ANY:
		return 1;
	case FL_SIDE_CLIENT:
	case FL_SIDE_SERVER:
		return seg->from == want;
	case FL_SIDE_TARGET:
		/* Both ends in the target: every segment is the target's. */
		return seg->target_side == FL_SIDE_BOTH ||
		       (seg->target_side != FL_SIDE_ANY && seg->from == seg->target_side);
	case FL_SIDE_PEER:
		/* ... and none is a peer's. */
		return seg->target_side != FL_SIDE_ANY &&
		       seg->target_side != FL_SIDE_BOTH &&
		       (seg->from == FL_SIDE_CLIENT || seg->from == FL_SIDE_SERVER) &&
		       seg->from != seg->target_side;
	case FL_SIDE_BOTH:
		return 0; /* not a match a rule can write */
	}
	return 0;
}

static int cmp_ok(enum fl_cmp op, uint32_t a, uint32_t b)
{
	switch (op) {
	case FL_CMP_EQ:
		return a == b;
	case FL_CMP_NE:
		return a != b;
	case FL_CMP_LT:
		return a < b;
	case FL_CMP_LE:
		return a <= b;
	case FL_CMP_GT:
		return a > b;
	case FL_CMP_GE:
		return a >= b;
	}
	return 0;
}

/* Every match and the time/byte limits: no counter is touched. */
static int static_ok(const struct fl_rule *r, const struct fl_segment *seg,
		     const struct fl_flow_match *fm, uint64_t elapsed)
{
	if (!side_ok(r->from, seg))
		return 0;
	if (r->port && seg->sport != r->port && seg->dport != r->port)
		return 0;
	if ((seg->flags & r->flags_set) != r->flags_set)
		return 0;
	if (seg->flags & r->flags_clear)
		return 0;
	if (r->data && seg->payload_len == 0)
		return 0;
	if (r->has_len && !cmp_ok(r->len_op, seg->payload_len, r->len_val))
		return 0;
	/* truncate N acts only on segments it can shorten: shorter ones are
	 * not its (they count for neither nth nor times; later rules try) */
	if (r->action == FL_ACT_TRUNCATE && seg->payload_len <= r->truncate_len)
		return 0;
	if (r->conn && fm->conn != r->conn)
		return 0;
	if (r->has_after && elapsed < r->after_us)
		return 0;
	if (r->has_before && elapsed >= r->before_us)
		return 0;
	if (r->has_after_bytes) {
		/* a segment counts once any of its payload lies past the mark;
		 * a bare control segment (FIN, ACK) once the stream reached it */
		if (seg->payload_len > 0 &&
		    seg->stream_off + seg->payload_len <= r->after_bytes)
			return 0;
		if (seg->payload_len == 0 && seg->stream_off < r->after_bytes)
			return 0;
	}
	return 1;
}

int fl_matcher_match(struct fl_matcher *m, const struct fl_segment *seg,
		     struct fl_flow_match *fm, uint64_t now_us)
{
	uint64_t elapsed;
	size_t i;
	int ret = -1, counted;

	if (!m || !seg || !fm)
		goto out;
	elapsed = now_us >= fm->first_us ? now_us - fm->first_us : 0;
	for (i = 0; i < m->rs->nrules; i++) {
		const struct fl_rule *r = &m->rs->rules[i];

		if (!static_ok(r, seg, fm, elapsed))
			continue;
		if (r->has_prob) {
			/* P(draw < ppm * 2^32 / 10^6) = ppm / 10^6 */
			uint64_t limit = ((uint64_t)r->prob_ppm << 32) / 1000000;

			if (!fm->draws)
				continue;
			if (fl_random(m->seed, fm->flow_id, (uint32_t)i,
				      fm->draws[i]++) >= limit)
				continue;
		}
		/* hits saturates; nth matches only on the step that reaches it */
		counted = fm->hits && fm->hits[i] < UINT32_MAX;
		if (counted)
			fm->hits[i]++;
		if (r->nth && (!counted || fm->hits[i] != r->nth))
			continue;
		if (r->times && m->fired[i] >= r->times)
			continue;
		m->fired[i]++;
		ret = (int)i;
		goto out;
	}
out:
	return ret;
}
