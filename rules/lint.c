/*
 * lint.c - warnings about rules that parse but are probably not what the
 * author meant: a rule no segment can ever reach, a rule that can never
 * match, a delay long enough that TCP retransmits, randomness without a
 * seed, a check that no rule gives anything to judge.  Runs over a parsed
 * ruleset and points at the source with the same file:line:col and caret as
 * parse errors.  No I/O; reentrant.
 *
 * Shadowing is found in O(n log n), not by comparing every pair: the rules
 * that can shadow (no limit, prob or nth) are filed by their exact key (side,
 * port, conn, flags, hole in the lengths) and each later rule asks only the
 * keys that can cover its own (at most 2*2*2 sides/ports/conns times the
 * subsets of its flags), each key answering "the first rule whose lengths
 * hold all of mine" by a sweep over the lengths' low ends with a Fenwick
 * tree over their high ends.  The warnings are the ones the pairwise loop
 * gave: the first earlier rule that shadows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"

struct linter {
	const struct fl_ruleset *rs;
	struct fl_diag *diag;
	struct fl_toks toks;
	int count, nomem;
	size_t *shadow;    /* per rule: the first earlier rule that shadows it,
			      or SIZE_MAX */
	size_t **lines;    /* per file: offsets of its lines' starts, lazily */
	size_t *nlines;
	uint64_t work;     /* steps of the shadow search (tests bound it) */
};

/* Payload lengths a rule accepts: [lo, hi] minus an optional hole. */
struct lrange {
	uint64_t lo, hi;
	int has_hole;
	uint64_t hole;
};

static void len_range(const struct fl_rule *r, int with_data, struct lrange *lr)
{
	uint64_t v = r->len_val;

	lr->lo = with_data && r->data ? 1 : 0;
	lr->hi = UINT32_MAX;
	lr->has_hole = 0;
	lr->hole = 0;
	if (r->has_len) {
		switch (r->len_op) {
		case FL_CMP_EQ:
			lr->lo = lr->lo > v ? lr->lo : v;
			lr->hi = v;
			break;
		case FL_CMP_NE:
			lr->has_hole = 1;
			lr->hole = v;
			break;
		case FL_CMP_LT:
			if (v == 0) { /* nothing is below 0: empty */
				lr->lo = 1;
				lr->hi = 0;
			} else {
				lr->hi = v - 1;
			}
			break;
		case FL_CMP_LE:
			lr->hi = v;
			break;
		case FL_CMP_GT:
			lr->lo = lr->lo > v + 1 ? lr->lo : v + 1;
			break;
		case FL_CMP_GE:
			lr->lo = lr->lo > v ? lr->lo : v;
			break;
		}
	}
	/* truncate N takes only segments with more than N bytes */
	if (r->action == FL_ACT_TRUNCATE && lr->lo <= r->truncate_len)
		lr->lo = (uint64_t)r->truncate_len + 1;
	/* a hole at an end just moves the end */
	if (lr->has_hole && lr->lo <= lr->hi && lr->hole == lr->lo) {
		lr->lo++;
		lr->has_hole = 0;
	} else if (lr->has_hole && lr->lo <= lr->hi && lr->hole == lr->hi) {
		lr->hi--;
		lr->has_hole = 0;
	}
}

static int lrange_empty(const struct lrange *lr)
{
	return lr->lo > lr->hi;
}

/* every length j accepts, i accepts too */
static int lrange_subset(const struct lrange *j, const struct lrange *i)
{
	if (lrange_empty(j))
		return 1;
	if (j->lo < i->lo || j->hi > i->hi)
		return 0;
	if (i->has_hole && i->hole >= j->lo && i->hole <= j->hi &&
	    !(j->has_hole && j->hole == i->hole))
		return 0;
	return 1;
}

static int never_matches(const struct fl_rule *r)
{
	struct lrange lr;

	len_range(r, 1, &lr);
	return (r->flags_set & r->flags_clear) || lrange_empty(&lr);
}

/* i matches whenever j does, and nothing (limit, prob, nth) stops it */
static int shadows(const struct fl_rule *i, const struct fl_rule *j)
{
	struct lrange li, lj;

	if (i->times || i->has_after || i->has_before || i->has_after_bytes ||
	    i->has_prob || i->nth || never_matches(i))
		return 0;
	if (i->from != FL_SIDE_ANY && i->from != j->from)
		return 0;
	if (i->port && i->port != j->port)
		return 0;
	if ((i->flags_set & ~j->flags_set) || (i->flags_clear & ~j->flags_clear))
		return 0;
	if (i->conn && i->conn != j->conn)
		return 0;
	len_range(i, 1, &li);
	len_range(j, 1, &lj);
	return lrange_subset(&lj, &li);
}

/* ---- the shadow search ---- */

/* One length interval of a rule that can shadow, under its exact key.  A
 * hole inside the interval splits it in two for the rules without that
 * hole, and files the whole interval under the hole's key for the rules
 * with the same hole (lrange_subset's two cases). */
struct sh_item {
	uint64_t k1, k2; /* conn, port, flags | side, hole key */
	uint64_t lo, hi;
	size_t rule;
};

/* A question: the first rule under key group g whose interval holds
 * [lo, hi]. */
struct sh_query {
	size_t g;
	uint64_t lo, hi;
	size_t rule;
};

static uint64_t key1(uint32_t conn, uint16_t port, uint8_t set, uint8_t clear)
{
	return (uint64_t)conn << 32 | (uint64_t)port << 16 | (uint64_t)set << 8 | clear;
}

static uint64_t key2(enum fl_side from, uint64_t hole_key)
{
	return (uint64_t)from << 40 | hole_key;
}

static int item_cmp(const void *a, const void *b)
{
	const struct sh_item *x = a, *y = b;

	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int query_cmp(const void *a, const void *b)
{
	const struct sh_query *x = a, *y = b;

	if (x->g != y->g)
		return x->g < y->g ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int u64_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

struct shadow_search {
	struct sh_item *items;
	size_t nitems, capitems;
	size_t *gstart; /* group g is items[gstart[g] .. gstart[g + 1]) */
	size_t ngroups;
	struct sh_query *q;
	size_t nq, capq;
};

static int push_item(struct shadow_search *ss, uint64_t k1, uint64_t k2,
		     uint64_t lo, uint64_t hi, size_t rule)
{
	struct sh_item *v;
	size_t cap;

	if (lo > hi)
		return 0;
	if (ss->nitems == ss->capitems) {
		cap = ss->capitems ? ss->capitems * 2 : 64;
		v = realloc(ss->items, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ss->items = v;
		ss->capitems = cap;
	}
	ss->items[ss->nitems++] = (struct sh_item){ k1, k2, lo, hi, rule };
	return 0;
}

/* The group with exactly this key, or SIZE_MAX. */
static size_t find_group(struct linter *l, const struct shadow_search *ss,
			 uint64_t k1, uint64_t k2)
{
	size_t a = 0, b = ss->ngroups, m;

	while (a < b) {
		const struct sh_item *it;

		m = a + (b - a) / 2;
		it = &ss->items[ss->gstart[m]];
		l->work++;
		if (it->k1 < k1 || (it->k1 == k1 && it->k2 < k2))
			a = m + 1;
		else
			b = m;
	}
	if (a < ss->ngroups && ss->items[ss->gstart[a]].k1 == k1 &&
	    ss->items[ss->gstart[a]].k2 == k2)
		return a;
	return SIZE_MAX;
}

static int push_query(struct linter *l, struct shadow_search *ss, uint64_t k1,
		      uint64_t k2, const struct lrange *lr, size_t rule)
{
	struct sh_query *v;
	size_t g = find_group(l, ss, k1, k2), cap;

	if (g == SIZE_MAX)
		return 0;
	if (ss->nq == ss->capq) {
		cap = ss->capq ? ss->capq * 2 : 64;
		v = realloc(ss->q, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ss->q = v;
		ss->capq = cap;
	}
	ss->q[ss->nq++] = (struct sh_query){ g, lr->lo, lr->hi, rule };
	return 0;
}

/* File rule i if it can shadow (shadows()'s first test, inverted). */
static int file_rule(struct shadow_search *ss, const struct fl_rule *r, size_t i)
{
	struct lrange lr;
	uint64_t k1 = key1(r->conn, r->port, r->flags_set, r->flags_clear);
	int ret = 0;

	if (r->times || r->has_after || r->has_before || r->has_after_bytes ||
	    r->has_prob || r->nth || never_matches(r))
		goto out;
	len_range(r, 1, &lr);
	if (lr.has_hole && lr.hole >= lr.lo && lr.hole <= lr.hi) {
		/* the lengths of a rule without this hole, below or above it */
		ret = push_item(ss, k1, key2(r->from, 0), lr.lo, lr.hole - 1, i);
		if (ret == 0)
			ret = push_item(ss, k1, key2(r->from, 0), lr.hole + 1, lr.hi, i);
		/* a rule with the same hole: the whole interval */
		if (ret == 0)
			ret = push_item(ss, k1, key2(r->from, lr.hole + 1), lr.lo, lr.hi, i);
	} else {
		ret = push_item(ss, k1, key2(r->from, 0), lr.lo, lr.hi, i);
	}
out:
	return ret;
}

/* Ask every key that could shadow rule j: its side or any, its port or
 * any, its conn or any, every subset of its flags and of its !flags, no
 * hole or its own. */
static int ask_rule(struct linter *l, struct shadow_search *ss,
		    const struct fl_rule *r, size_t j)
{
	enum fl_side froms[2] = { FL_SIDE_ANY, r->from };
	uint16_t ports[2] = { 0, r->port };
	uint32_t conns[2] = { 0, r->conn };
	struct lrange lr;
	unsigned f, p, c, set, clear;
	int ret = 0;

	if (never_matches(r))
		goto out;
	len_range(r, 1, &lr);
	for (f = 0; f < (r->from == FL_SIDE_ANY ? 1u : 2u); f++)
	for (p = 0; p < (r->port ? 2u : 1u); p++)
	for (c = 0; c < (r->conn ? 2u : 1u); c++) {
		set = r->flags_set;
		for (;;) {
			clear = r->flags_clear;
			for (;;) {
				uint64_t k1 = key1(conns[c], ports[p], (uint8_t)set,
						   (uint8_t)clear);

				ret = push_query(l, ss, k1, key2(froms[f], 0), &lr, j);
				if (ret == 0 && lr.has_hole)
					ret = push_query(l, ss, k1,
							 key2(froms[f], lr.hole + 1), &lr, j);
				if (ret < 0 || clear == 0)
					break;
				clear = (clear - 1) & r->flags_clear;
			}
			if (ret < 0 || set == 0)
				break;
			set = (set - 1) & r->flags_set;
		}
		if (ret < 0)
			goto out;
	}
out:
	return ret;
}

/* Answer group g's questions qs[0..nq): a sweep over the low ends, with a
 * Fenwick tree of the smallest rule index by high end (largest first), so
 * each answer is the first rule with lo <= q.lo and hi >= q.hi. */
static int answer_group(struct linter *l, const struct sh_item *it, size_t n,
			const struct sh_query *qs, size_t nq, size_t *shadow)
{
	uint64_t *his = malloc(n * sizeof(*his));
	size_t *fen = malloc((n + 1) * sizeof(*fen));
	size_t nh = 0, k, x, pos, best, a, b, m;
	size_t qi, ii = 0;
	int ret = 0;

	if (!his || !fen) {
		ret = -ENOMEM;
		goto out;
	}
	for (k = 0; k < n; k++)
		his[k] = it[k].hi;
	qsort(his, n, sizeof(*his), u64_cmp);
	for (k = 0; k < n; k++)
		if (nh == 0 || his[nh - 1] != his[k])
			his[nh++] = his[k];
	for (k = 0; k <= nh; k++)
		fen[k] = SIZE_MAX;
	for (qi = 0; qi < nq; qi++) {
		for (; ii < n && it[ii].lo <= qs[qi].lo; ii++) {
			/* position of it[ii].hi counted from the largest, 1-based */
			for (a = 0, b = nh; a < b; l->work++) {
				m = a + (b - a) / 2;
				if (his[m] < it[ii].hi)
					a = m + 1;
				else
					b = m;
			}
			for (x = nh - a; x <= nh; x += x & -x, l->work++)
				if (it[ii].rule < fen[x])
					fen[x] = it[ii].rule;
		}
		/* how many high ends are >= q.hi */
		for (a = 0, b = nh; a < b; l->work++) {
			m = a + (b - a) / 2;
			if (his[m] < qs[qi].hi)
				a = m + 1;
			else
				b = m;
		}
		best = SIZE_MAX;
		for (pos = nh - a; pos > 0; pos -= pos & -pos, l->work++)
			if (fen[pos] < best)
				best = fen[pos];
		if (best < shadow[qs[qi].rule])
			shadow[qs[qi].rule] = best;
	}
out:
	free(his);
	free(fen);
	return ret;
}

/* l->shadow[j] = the first rule before j that shadows it, else SIZE_MAX. */
static int find_shadows(struct linter *l)
{
	const struct fl_ruleset *rs = l->rs;
	struct shadow_search ss;
	size_t i, g, q0, q1;
	int ret = 0;

	memset(&ss, 0, sizeof(ss));
	for (i = 0; i < rs->nrules; i++)
		l->shadow[i] = SIZE_MAX;
	for (i = 0; i < rs->nrules && ret == 0; i++)
		ret = file_rule(&ss, &rs->rules[i], i);
	if (ret < 0 || ss.nitems == 0)
		goto out;
	qsort(ss.items, ss.nitems, sizeof(*ss.items), item_cmp);
	ss.gstart = malloc((ss.nitems + 1) * sizeof(*ss.gstart));
	if (!ss.gstart) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ss.nitems; i++)
		if (i == 0 || ss.items[i].k1 != ss.items[i - 1].k1 ||
		    ss.items[i].k2 != ss.items[i - 1].k2)
			ss.gstart[ss.ngroups++] = i;
	ss.gstart[ss.ngroups] = ss.nitems;
	for (i = 0; i < rs->nrules && ret == 0; i++)
		ret = ask_rule(l, &ss, &rs->rules[i], i);
	if (ret < 0)
		goto out;
	qsort(ss.q, ss.nq, sizeof(*ss.q), query_cmp);
	for (q0 = 0; q0 < ss.nq && ret == 0; q0 = q1) {
		g = ss.q[q0].g;
		for (q1 = q0; q1 < ss.nq && ss.q[q1].g == g; q1++)
			;
		ret = answer_group(l, ss.items + ss.gstart[g],
				   ss.gstart[g + 1] - ss.gstart[g], ss.q + q0,
				   q1 - q0, l->shadow);
	}
out:
	free(ss.items);
	free(ss.gstart);
	free(ss.q);
	return ret;
}

/* Offsets of the starts of every line of file k's text; built once per
 * file, so a warning costs its own line, not the lines above it. */
static int line_index(struct linter *l, size_t k)
{
	const struct fl_ruleset *rs = l->rs;
	const char *s = rs->texts[k], *end = s + rs->text_lens[k], *nl;
	size_t n = 1, *v;

	if (l->lines[k])
		return 0;
	for (nl = s; (nl = memchr(nl, '\n', (size_t)(end - nl))); nl++)
		n++;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[0] = 0;
	n = 1;
	for (nl = s; (nl = memchr(nl, '\n', (size_t)(end - nl))); nl++)
		v[n++] = (size_t)(nl + 1 - s);
	l->lines[k] = v;
	l->nlines[k] = n;
	return 0;
}

/* The source line of rule r, if the ruleset kept its file's text. */
static const char *src_line(struct linter *l, const char *file,
			    unsigned line, size_t *len)
{
	const struct fl_ruleset *rs = l->rs;
	const char *s, *end, *nl;
	size_t k;

	for (k = 0; k < rs->nfiles; k++)
		if (rs->files[k] == file)
			break;
	if (k == rs->nfiles || !rs->texts || !rs->texts[k] || !l->lines || line == 0)
		return NULL;
	if (line_index(l, k) < 0) {
		l->nomem = 1;
		return NULL;
	}
	if (line > l->nlines[k])
		return NULL;
	s = rs->texts[k] + l->lines[k][line - 1];
	end = rs->texts[k] + rs->text_lens[k];
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = nl ? (size_t)(nl - s) : (size_t)(end - s);
	if (*len && s[*len - 1] == '\r')
		(*len)--;
	return s;
}

/* Column of keyword kw (an action's name, a match's, "!flags" too) in r's
 * line, else the rule's. */
__attribute__((format(printf, 4, 5)))
static void warn(struct linter *l, const struct fl_rule *r, const char *kw,
		 const char *fmt, ...)
{
	char msg[768];
	const char *line;
	size_t len = 0, i;
	unsigned col = r->col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = src_line(l, r->file, r->line, &len);
	if (line && kw && fl__lex(line, len, &l->toks) == 0) {
		for (i = 0; i < l->toks.n; i++) {
			const struct fl_tok *t = &l->toks.v[i];
			const struct fl_tok *u = i + 1 < l->toks.n ? t + 1 : t;

			if (kw[0] == '!' && t->kind == FL_TK_BANG &&
			    u->kind == FL_TK_WORD && fl__word_eq(line + u->off, u->len, kw + 1))
				break;
			if (kw[0] != '!' && t->kind == FL_TK_WORD &&
			    fl__word_eq(line + t->off, t->len, kw))
				break;
		}
		if (i < l->toks.n)
			col = (unsigned)l->toks.v[i].off + 1;
	}
	l->count++;
	if (fl__diag_report(l->diag, 0, r->file ? r->file : "<rules>", r->line,
			    col, line, len, msg) < 0)
		l->nomem = 1;
}

static void lint_rule(struct linter *l, size_t j, int *prob_warned)
{
	const struct fl_rule *r = &l->rs->rules[j];
	const char *kw_nflags = fl__kw[FL_KW_NFLAGS].name,
		   *kw_len = fl__kw[FL_KW_LEN].name,
		   *kw_prob = fl__kw[FL_KW_PROB].name;
	struct lrange alone, with;
	char a[64], b[64], text[256];
	size_t i;

	if (r->flags_set & r->flags_clear) {
		fl_flags_format(r->flags_set & r->flags_clear, a, sizeof(a));
		warn(l, r, kw_nflags, "'%s' and '%s' both name %s: this rule "
		     "never matches", fl__kw[FL_KW_FLAGS].name, kw_nflags, a);
	}
	len_range(r, 0, &alone);
	len_range(r, 1, &with);
	fl__size_format(r->len_val, a, sizeof(a));
	if (r->has_len && lrange_empty(&alone))
		warn(l, r, kw_len, "'%s %s %s' never holds: this rule never matches",
		     kw_len, fl__cmp_name(r->len_op), a);
	else if (lrange_empty(&with))
		warn(l, r, kw_len, "'%s' and '%s %s %s' contradict: this rule "
		     "never matches", fl__kw[FL_KW_DATA].name, kw_len,
		     fl__cmp_name(r->len_op), a);

	i = l->shadow[j];
	if (i < j && shadows(&l->rs->rules[i], r)) {
		const struct fl_rule *e = &l->rs->rules[i];

		fl_rule_format(e, text, sizeof(text));
		warn(l, r, NULL, "this rule never fires: the rule at %s:%u ('%s') "
		     "matches every segment it matches and has no limit, %s or "
		     "%s, so it always wins", e->file ? e->file : "<rules>",
		     e->line, text, kw_prob, fl__kw[FL_KW_NTH].name);
	}

	/* RFC 6298 section 2.1: RTO starts at 1s (Linux TCP_TIMEOUT_INIT). */
	if (r->action == FL_ACT_DELAY && r->delay_us + r->jitter_us >= 1000000) {
		fl__dur_format(r->delay_us + r->jitter_us, b, sizeof(b));
		warn(l, r, fl_action_name(FL_ACT_DELAY), "a delay of up to %s reaches the initial "
		     "retransmission timeout (1s on Linux, RFC 6298 section 2.1): "
		     "the sender will retransmit while the segment is held", b);
	}
	if (r->has_prob && !l->rs->has_seed && !*prob_warned) {
		*prob_warned = 1;
		warn(l, r, kw_prob, "'%s' without 'set seed': runs are not "
		     "reproducible unless --seed is given", kw_prob);
	}
}

/* An expect that cannot judge anything with these rules. */
static void lint_expects(struct linter *l)
{
	const struct fl_ruleset *rs = l->rs;
	/* the actions that lose a segment, so that its sender's peer may
	 * hear nothing more */
	static const enum fl_action losing[] = { FL_ACT_DROP, FL_ACT_BLACKHOLE,
						 FL_ACT_CORRUPT };
	const char *names[sizeof(losing) / sizeof(losing[0])];
	char list[128], msg[256];
	int loses = 0;
	size_t i, k, len = 0;

	for (k = 0; k < sizeof(losing) / sizeof(losing[0]); k++)
		names[k] = fl_action_name(losing[k]);
	fl__word_list(list, sizeof(list), names, k, ", ", ", ");
	snprintf(msg, sizeof(msg), "no rule loses segments (%s): no peer can go "
		 "silent, and %s judges nothing", list,
		 fl_check_name(FL_CHK_DEAD_PEER));
	for (i = 0; i < rs->nrules; i++)
		for (k = 0; k < sizeof(losing) / sizeof(losing[0]); k++)
			loses |= rs->rules[i].action == losing[k];
	for (i = 0; i < rs->nexpects && !loses; i++) {
		const struct fl_expect *e = &rs->expects[i];
		const char *line;

		if (e->kind != FL_CHK_DEAD_PEER)
			continue;
		line = src_line(l, e->file, e->line, &len);
		l->count++;
		if (fl__diag_report(l->diag, 0, e->file ? e->file : "<rules>",
				    e->line, e->col, line, len, msg) < 0)
			l->nomem = 1;
	}
}

int fl__rules_lint_work(const struct fl_ruleset *rs, struct fl_diag *diag,
			uint64_t *work)
{
	struct linter l;
	int prob_warned = 0, ret;
	size_t j;

	memset(&l, 0, sizeof(l));
	l.rs = rs;
	l.diag = diag;
	if (!rs) {
		ret = -EINVAL;
		goto out;
	}
	l.shadow = malloc((rs->nrules ? rs->nrules : 1) * sizeof(*l.shadow));
	l.lines = calloc(rs->nfiles ? rs->nfiles : 1, sizeof(*l.lines));
	l.nlines = calloc(rs->nfiles ? rs->nfiles : 1, sizeof(*l.nlines));
	if (!l.shadow || !l.lines || !l.nlines || find_shadows(&l) < 0)
		l.nomem = 1;
	for (j = 0; j < rs->nrules && !l.nomem; j++)
		lint_rule(&l, j, &prob_warned);
	if (!l.nomem)
		lint_expects(&l);
	ret = l.nomem ? -ENOMEM : l.count;
out:
	if (work)
		*work = l.work;
	for (j = 0; l.lines && j < rs->nfiles; j++)
		free(l.lines[j]);
	free(l.lines);
	free(l.nlines);
	free(l.shadow);
	free(l.toks.v);
	return ret;
}

int fl_rules_lint(const struct fl_ruleset *rs, struct fl_diag *diag)
{
	return fl__rules_lint_work(rs, diag, NULL);
}
