/*
 * lint.c - warnings about rules that parse but are probably not what the
 * author meant: a rule no segment can ever reach, a rule that can never
 * match, a delay long enough that TCP retransmits, randomness without a
 * seed, a check that no rule gives anything to judge.  Runs over a parsed ruleset and points at the source with the same
 * file:line:col and caret as parse errors.  No I/O; reentrant.
 */
#include <errno.h>
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

/* The source line of rule r, if the ruleset kept its file's text. */
static const char *src_line(const struct fl_ruleset *rs, const char *file,
			    unsigned line, size_t *len)
{
	const char *s, *end, *nl;
	size_t k;
	unsigned n = 1;

	for (k = 0; k < rs->nfiles; k++)
		if (rs->files[k] == file)
			break;
	if (k == rs->nfiles || !rs->texts || !rs->texts[k])
		return NULL;
	s = rs->texts[k];
	end = s + rs->text_lens[k];
	while (n < line) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return NULL;
		s = nl + 1;
		n++;
	}
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
	line = src_line(l->rs, r->file, r->line, &len);
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

	for (i = 0; i < j && !never_matches(r); i++) {
		const struct fl_rule *e = &l->rs->rules[i];

		if (!shadows(e, r))
			continue;
		fl_rule_format(e, text, sizeof(text));
		warn(l, r, NULL, "this rule never fires: the rule at %s:%u ('%s') "
		     "matches every segment it matches and has no limit, %s or "
		     "%s, so it always wins", e->file ? e->file : "<rules>",
		     e->line, text, kw_prob, fl__kw[FL_KW_NTH].name);
		break;
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
		line = src_line(rs, e->file, e->line, &len);
		l->count++;
		if (fl__diag_report(l->diag, 0, e->file ? e->file : "<rules>",
				    e->line, e->col, line, len, msg) < 0)
			l->nomem = 1;
	}
}

int fl_rules_lint(const struct fl_ruleset *rs, struct fl_diag *diag)
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
	for (j = 0; j < rs->nrules && !l.nomem; j++)
		lint_rule(&l, j, &prob_warned);
	if (!l.nomem)
		lint_expects(&l);
	ret = l.nomem ? -ENOMEM : l.count;
out:
	free(l.toks.v);
	return ret;
}
