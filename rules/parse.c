/*
 * parse.c - recursive-descent parser for rule files.
 *
 * A file is parsed a line at a time (the lexer splits the line, the parser
 * walks its tokens).  An error is reported with the line and a caret and the
 * parser moves on to the next line, so one run reports every bad line.  A
 * file with any error adds nothing to the ruleset.  All state lives in a
 * struct parser on the caller's stack: reentrant, no globals.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What a line may start with: the actions (in enum order), then the rest. */
#define NACTIONS FL_ACT_COUNT
enum { W_EXPECT = NACTIONS, W_SET };
static const char *const line_words[] = {
#define FL_ACTION(id, name) name,
#include "actions.def"
#undef FL_ACTION
	[W_EXPECT] = "expect",
	[W_SET] = "set",
};


struct parser {
	const char *name;
	const struct fl_ruleset *rs;
	struct fl_diag *diag;

	const char *line; /* current line, without its newline */
	size_t linelen;
	unsigned lineno;
	struct fl_toks toks;
	size_t pos;

	unsigned nerrors;
	int nomem;

	/* what the file contributes, appended to rs only if error-free */
	struct fl_rule *rules;
	size_t nrules, rcap;
	struct fl_expect *exps;
	size_t nexps, ecap;
	int has_seed;
	uint64_t seed;
	unsigned seed_line;
	unsigned check_line[FL_CHK_COUNT]; /* first line of each check */
};

__attribute__((format(printf, 3, 4)))
static void perr(struct parser *p, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerrors++;
	if (fl__diag_report(p->diag, 1, p->name, p->lineno, (unsigned)off + 1,
			    p->line, p->linelen, msg) < 0)
		p->nomem = 1;
}

static struct fl_tok *peek(struct parser *p)
{
	return &p->toks.v[p->pos];
}

static struct fl_tok *peek2(struct parser *p)
{
	return p->pos + 1 < p->toks.n ? &p->toks.v[p->pos + 1] : peek(p);
}

static struct fl_tok *next(struct parser *p)
{
	struct fl_tok *t = &p->toks.v[p->pos];

	if (t->kind != FL_TK_EOL)
		p->pos++;
	return t;
}

static const char *ttext(const struct parser *p, const struct fl_tok *t)
{
	return p->line + t->off;
}

static int tlen(const struct fl_tok *t)
{
	return t->len > 64 ? 64 : (int)t->len;
}

/* How an error names a token: 'word', ',' or "end of line". */
static const char *tdesc(const struct parser *p, const struct fl_tok *t,
			 char *buf, size_t n)
{
	/* an EOL token may sit just past the end of the text */
	unsigned char c = t->len ? (unsigned char)ttext(p, t)[0] : 0;

	if (t->kind == FL_TK_EOL)
		snprintf(buf, n, "end of line");
	else if (t->kind == FL_TK_BAD && (c < 0x20 || c >= 0x7f) && t->len == 1)
		snprintf(buf, n, "character '\\x%02x'", c);
	else if (t->kind == FL_TK_BAD)
		snprintf(buf, n, "character '%.*s'", tlen(t), ttext(p, t));
	else
		snprintf(buf, n, "'%.*s%s'", tlen(t), ttext(p, t), t->len > 64 ? "..." : "");
	return buf;
}

static int teq(const struct parser *p, const struct fl_tok *t, const char *kw)
{
	return t->kind == FL_TK_WORD && fl__word_eq(ttext(p, t), t->len, kw);
}

static int tlookup(const struct parser *p, const struct fl_tok *t,
		   const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; t->kind == FL_TK_WORD && i < n; i++)
		if (fl__word_eq(ttext(p, t), t->len, names[i]))
			return (int)i;
	return -1;
}

/* The match or limit keyword t is (never FL_KW_NFLAGS: that is '!' and
 * "flags"), or -1. */
static int kw_lookup(const struct parser *p, const struct fl_tok *t)
{
	int k;

	for (k = 0; t->kind == FL_TK_WORD && k < FL_KW_COUNT; k++)
		if (fl__word_eq(ttext(p, t), t->len, fl__kw[k].name))
			return k;
	return -1;
}

/* "a match (from, port, ...) or a limit (times, ...)", from matches.def */
static void kw_list(char *buf, size_t n)
{
	const char *words[2][FL_KW_COUNT];
	size_t nw[2] = { 0, 0 };
	char list[2][128];
	int k;

	for (k = 0; k < FL_KW_COUNT; k++) {
		int c = fl__kw[k].cls == FL_KWC_LIMIT;

		words[c][nw[c]++] = fl__kw[k].name;
	}
	fl__word_list(list[0], sizeof(list[0]), words[0], nw[0], ", ", ", ");
	fl__word_list(list[1], sizeof(list[1]), words[1], nw[1], ", ", ", ");
	snprintf(buf, n, "a match (%s) or a limit (%s)", list[0], list[1]);
}

/* "unknown WHAT 'x'; did you mean 'y'?" or "unknown WHAT 'x': LIST" */
static void perr_unknown(struct parser *p, const struct fl_tok *t,
			 const char *what, const char *const *cands,
			 size_t ncands, const char *list)
{
	const char *s = fl__suggest(ttext(p, t), t->len, cands, ncands);

	if (s)
		perr(p, t->off, "unknown %s '%.*s'; did you mean '%s'?", what,
		     tlen(t), ttext(p, t), s);
	else
		perr(p, t->off, "unknown %s '%.*s': expected %s", what, tlen(t),
		     ttext(p, t), list);
}

/* The next token must be a number-like token: "'kw' needs WHAT, got X". */
static struct fl_tok *need_num(struct parser *p, const char *kw, const char *what)
{
	struct fl_tok *t = peek(p);
	char d[96];

	if (t->kind != FL_TK_NUM) {
		perr(p, t->off, "'%s' needs %s, got %s", kw, what, tdesc(p, t, d, sizeof(d)));
		return NULL;
	}
	return next(p);
}

static int get_u64(struct parser *p, const char *kw, const char *what,
		   uint64_t min, uint64_t max, uint64_t *v)
{
	struct fl_tok *t = need_num(p, kw, what);
	const char *sp;
	size_t bad;
	uint64_t x;
	int e;

	if (!t)
		return -1;
	e = fl__num_u64(ttext(p, t), t->len, &x, &bad);
	/* "port 0" but "window=0" */
	sp = kw[strlen(kw) - 1] == '=' ? "" : " ";
	if (e == FL_NUM_RANGE || (e == FL_NUM_OK && x > max)) {
		perr(p, t->off, "'%s%s%.*s' is too large: at most %llu", kw, sp,
		     tlen(t), ttext(p, t), (unsigned long long)max);
		return -1;
	}
	if (e != FL_NUM_OK) {
		perr(p, t->off, "invalid number '%.*s' after '%s': expected %s",
		     tlen(t), ttext(p, t), kw, what);
		return -1;
	}
	if (x < min) {
		perr(p, t->off, "'%s%s%.*s' is out of range: expected %s", kw, sp,
		     tlen(t), ttext(p, t), what);
		return -1;
	}
	*v = x;
	return 0;
}

static int get_dur(struct parser *p, const char *kw, uint64_t *us)
{
	struct fl_tok *t = need_num(p, kw, "a duration such as 200ms or 1.5s");
	const char *s;
	size_t bad;
	int e, n;

	if (!t)
		return -1;
	s = ttext(p, t);
	n = tlen(t);
	e = fl__num_dur(s, t->len, us, &bad);
	switch (e) {
	case FL_NUM_OK:
		return 0;
	case FL_NUM_NOUNIT:
		perr(p, t->off, "missing unit in duration '%.*s': write %.*sms or "
		     "%.*ss (units: us, ms, s)", n, s, n, s, n, s);
		break;
	case FL_NUM_UNIT:
		perr(p, t->off + bad, "unknown unit '%.*s' in duration '%.*s': "
		     "expected us, ms or s%s", (int)(t->len - bad), s + bad, n, s,
		     fl__word_eq(s + bad, t->len - bad, "m") ||
				     fl__word_eq(s + bad, t->len - bad, "min")
			     ? " (minutes are written in seconds, e.g. 300s)"
			     : "");
		break;
	case FL_NUM_PRECISION:
		perr(p, t->off, "duration '%.*s' is finer than the 1us resolution",
		     n, s);
		break;
	case FL_NUM_RANGE:
		perr(p, t->off, "duration '%.*s' is too large", n, s);
		break;
	default:
		perr(p, t->off, "invalid duration '%.*s': expected a number and "
		     "a unit, e.g. 50ms, 1.5s or 200us", n, s);
		break;
	}
	return -1;
}

static int get_size(struct parser *p, const char *kw, uint64_t max, uint64_t *v)
{
	struct fl_tok *t = need_num(p, kw, "a byte count such as 1500 or 64k");
	const char *s;
	size_t bad;
	int e, n;

	if (!t)
		return -1;
	s = ttext(p, t);
	n = tlen(t);
	e = fl__num_size(s, t->len, v, &bad);
	switch (e) {
	case FL_NUM_OK:
		if (*v <= max)
			return 0;
		/* fall through */
	case FL_NUM_RANGE:
		perr(p, t->off, "'%s %.*s' is too large: at most %llu bytes", kw,
		     n, s, (unsigned long long)max);
		break;
	case FL_NUM_UNIT:
		perr(p, t->off + bad, "unknown suffix '%.*s' in size '%.*s': "
		     "expected k, m or g (1024, 1024^2, 1024^3)",
		     (int)(t->len - bad), s + bad, n, s);
		break;
	case FL_NUM_FRAC:
		perr(p, t->off, "size '%.*s' must be a whole number of bytes", n, s);
		break;
	default:
		perr(p, t->off, "invalid size '%.*s': expected a byte count "
		     "such as 1500 or 64k", n, s);
		break;
	}
	return -1;
}

/* F[,F]... into *out; kw names the context for messages */
static int get_flags(struct parser *p, const char *kw, uint8_t *out)
{
	struct fl_tok *t = peek(p);
	char d[96], list[64];
	int i;

	if (t->kind != FL_TK_WORD) {
		perr(p, t->off, "'%s' needs TCP flags such as FIN or SYN,ACK, got %s",
		     kw, tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	for (;;) {
		t = next(p);
		i = tlookup(p, t, fl__flag_names, 8);
		if (i < 0) {
			fl__word_list(list, sizeof(list), fl__flag_names, 8, ", ",
				      " or ");
			perr_unknown(p, t, "TCP flag", fl__flag_names, 8, list);
			return -1;
		}
		if (*out & (1u << i)) {
			perr(p, t->off, "flag %s is listed twice", fl__flag_names[i]);
			return -1;
		}
		*out |= (uint8_t)(1u << i);
		if (peek(p)->kind != FL_TK_COMMA)
			return 0;
		next(p);
		t = peek(p);
		if (t->kind != FL_TK_WORD) {
			perr(p, t->off, "expected a flag after ',', got %s",
			     tdesc(p, t, d, sizeof(d)));
			return -1;
		}
	}
}

static int get_side(struct parser *p, const char *kw, enum fl_side *out)
{
	/* what a rule names: client..peer (not any, not both) */
	enum { NSIDES = FL_SIDE_PEER - FL_SIDE_CLIENT + 1 };
	const char *sides[NSIDES];
	struct fl_tok *t = peek(p);
	char d[96], list[64];
	int i;

	for (i = 0; i < NSIDES; i++)
		sides[i] = fl_side_name((enum fl_side)(FL_SIDE_CLIENT + i));
	if (t->kind != FL_TK_WORD) {
		fl__word_list(list, sizeof(list), sides, NSIDES, ", ", " or ");
		perr(p, t->off, "'%s' needs a side: %s, got %s", kw, list,
		     tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	next(p);
	i = tlookup(p, t, sides, NSIDES);
	if (i < 0) {
		fl__word_list(list, sizeof(list), sides, NSIDES, ", ", " or ");
		perr_unknown(p, t, "side", sides, NSIDES, list);
		return -1;
	}
	*out = (enum fl_side)(FL_SIDE_CLIENT + i);
	return 0;
}

static int push_rule(struct parser *p, const struct fl_rule *r)
{
	if (p->nrules == p->rcap) {
		size_t cap = p->rcap ? p->rcap * 2 : 16;
		struct fl_rule *v = realloc(p->rules, cap * sizeof(*v));

		if (!v) {
			p->nomem = 1;
			return -1;
		}
		p->rules = v;
		p->rcap = cap;
	}
	p->rules[p->nrules++] = *r;
	return 0;
}

static int push_expect(struct parser *p, const struct fl_expect *e)
{
	if (p->nexps == p->ecap) {
		size_t cap = p->ecap ? p->ecap * 2 : 8;
		struct fl_expect *v = realloc(p->exps, cap * sizeof(*v));

		if (!v) {
			p->nomem = 1;
			return -1;
		}
		p->exps = v;
		p->ecap = cap;
	}
	p->exps[p->nexps++] = *e;
	return 0;
}

/* ---- rules ---- */

static int parse_rewrite(struct parser *p, struct fl_rule *r)
{
	const char *const *fields = fl__rw_field_names;
	size_t nfields = NELEM(fl__rw_field_names);
	struct fl_tok *t = peek(p);
	char d[96], kw[16], list[96], eq[NELEM(fl__rw_field_names)][16];
	const char *eqs[NELEM(fl__rw_field_names)];
	uint64_t v;
	size_t i;

	if (t->kind != FL_TK_WORD || peek2(p)->kind != FL_TK_EQ) {
		for (i = 0; i < nfields; i++) {
			snprintf(eq[i], sizeof(eq[i]), "%s=", fields[i]);
			eqs[i] = eq[i];
		}
		fl__word_list(list, sizeof(list), eqs, nfields, ", ", " or ");
		perr(p, t->off, "'%s' needs FIELD=VALUE (%s), got %s",
		     fl_action_name(FL_ACT_REWRITE), list,
		     tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	while (peek(p)->kind == FL_TK_WORD && peek2(p)->kind == FL_TK_EQ) {
		int f;

		t = next(p);
		next(p); /* = */
		f = tlookup(p, t, fields, nfields);
		if (f < 0) {
			fl__word_list(list, sizeof(list), fields, nfields, ", ", " or ");
			perr_unknown(p, t, "rewrite field", fields, nfields, list);
			return -1;
		}
		if (r->rw_mask & (1u << f)) {
			perr(p, t->off, "'%s=' is given twice", fields[f]);
			return -1;
		}
		r->rw_mask |= 1u << f;
		snprintf(kw, sizeof(kw), "%s=", fields[f]);
		switch (1u << f) {
		case FL_RW_FLAGS:
			if (get_flags(p, kw, &r->rw_flags) < 0)
				return -1;
			break;
		case FL_RW_WINDOW:
			if (get_u64(p, kw, "a window of 0 to 65535", 0,
				    UINT16_MAX, &v) < 0)
				return -1;
			r->rw_window = (uint16_t)v;
			break;
		default: { /* seq, ack: a signed offset */
			struct fl_tok *sign = peek(p);

			if (sign->kind != FL_TK_PLUS && sign->kind != FL_TK_MINUS) {
				perr(p, sign->off, "'%s' takes a signed offset such as "
				     "%s+100 or %s-100, got %s", kw, kw, kw,
				     tdesc(p, sign, d, sizeof(d)));
				return -1;
			}
			next(p);
			if (get_u64(p, kw, "an offset of at most 4294967295", 0,
				    UINT32_MAX, &v) < 0)
				return -1;
			if ((1u << f) == FL_RW_SEQ)
				r->rw_seq = sign->kind == FL_TK_MINUS ? -(int64_t)v : (int64_t)v;
			else
				r->rw_ack = sign->kind == FL_TK_MINUS ? -(int64_t)v : (int64_t)v;
			break;
		}
		}
	}
	return 0;
}

static int parse_action_args(struct parser *p, struct fl_rule *r, size_t *jitter_off)
{
	uint64_t v;

	switch (r->action) {
	case FL_ACT_DROP:
	case FL_ACT_BLACKHOLE:
	case FL_ACT_CORRUPT:
		return 0;
	case FL_ACT_DELAY: {
		size_t off = peek(p)->off;

		if (get_dur(p, fl_action_name(r->action), &r->delay_us) < 0)
			return -1;
		if (r->delay_us == 0) {
			perr(p, off, "a delay of 0 does nothing: give a duration above 0");
			return -1;
		}
		if (teq(p, peek(p), fl__jitter_name)) {
			next(p);
			*jitter_off = peek(p)->off;
			if (get_dur(p, fl__jitter_name, &r->jitter_us) < 0)
				return -1;
		}
		return 0;
	}
	case FL_ACT_REWRITE:
		return parse_rewrite(p, r);
	case FL_ACT_RESET:
		if (teq(p, peek(p), fl__reset_mode_names[FL_RESET_IN_WINDOW])) {
			next(p);
			r->reset_mode = FL_RESET_IN_WINDOW;
		} else if (teq(p, peek(p), fl__reset_mode_names[FL_RESET_OUT_OF_WINDOW])) {
			next(p);
			r->reset_mode = FL_RESET_OUT_OF_WINDOW;
		}
		return 0;
	case FL_ACT_DUPLICATE:
		if (peek(p)->kind != FL_TK_NUM)
			return 0;
		if (get_u64(p, fl_action_name(r->action),
			    "a number of copies from 1 to 100", 1, 100, &v) < 0)
			return -1;
		r->count = (unsigned)v;
		return 0;
	case FL_ACT_REORDER: {
		size_t off = peek(p)->off;

		if (peek(p)->kind != FL_TK_NUM)
			return 0;
		if (get_dur(p, fl_action_name(r->action), &r->reorder_us) < 0)
			return -1;
		if (r->reorder_us == 0) {
			perr(p, off, "'%s 0' would release the segment at "
			     "once: give a duration above 0, or none for the "
			     "default %ums", fl_action_name(r->action),
			     FL_REORDER_DEFAULT_US / 1000u);
			return -1;
		}
		return 0;
	}
	case FL_ACT_TRUNCATE: {
		size_t off = peek(p)->off;

		if (get_size(p, fl_action_name(r->action), UINT32_MAX, &v) < 0)
			return -1;
		if (v == 0) {
			perr(p, off, "'%s 0' would remove the whole payload: "
			     "keep at least 1 byte, or use '%s'",
			     fl_action_name(r->action), fl_action_name(FL_ACT_DROP));
			return -1;
		}
		r->truncate_len = (uint32_t)v;
		return 0;
	}
	}
	return 0;
}

/* Explain a word that is not a match or limit as well as we can. */
static void perr_not_match(struct parser *p, const struct fl_rule *r,
			   const struct fl_tok *t)
{
	const char *cands[FL_KW_COUNT + NELEM(fl__reset_mode_names)];
	size_t ncands = 0, i;
	char d[96], list[512];
	int a = tlookup(p, t, line_words, NACTIONS);

	kw_list(list, sizeof(list));
	if (t->kind != FL_TK_WORD) {
		perr(p, t->off, "expected %s, got %s", list,
		     tdesc(p, t, d, sizeof(d)));
	} else if (a >= 0) {
		perr(p, t->off, "a rule has one action: '%s' cannot follow '%s'",
		     line_words[a], fl_action_name(r->action));
	} else if (tlookup(p, t, fl__flag_names, 8) >= 0) {
		perr(p, t->off, "unexpected flag '%.*s': join flags with commas, "
		     "e.g. '%s FIN,ACK'", tlen(t), ttext(p, t),
		     fl__kw[FL_KW_FLAGS].name);
	} else if (teq(p, t, fl__jitter_name)) {
		perr(p, t->off, "'%s' must directly follow '%s DURATION'",
		     fl__jitter_name, fl_action_name(FL_ACT_DELAY));
	} else if (tlookup(p, t, fl__rw_field_names,
			   NELEM(fl__rw_field_names)) >= 0 &&
		   peek2(p)->kind == FL_TK_EQ) {
		perr(p, t->off, "'%.*s=' is a rewrite field: it must directly "
		     "follow '%s'", tlen(t), ttext(p, t),
		     fl_action_name(FL_ACT_REWRITE));
	} else if (tlookup(p, t, fl__reset_mode_names,
			   NELEM(fl__reset_mode_names)) >= 0) {
		perr(p, t->off, r->action != FL_ACT_RESET
				 ? "'%.*s' is an option of '%s' only"
				 : "'%.*s' must directly follow '%s'",
		     tlen(t), ttext(p, t), fl_action_name(FL_ACT_RESET));
	} else {
		/* the words one can mistype: not "!flags", and reset's modes
		 * only after a reset */
		for (i = 0; i < FL_KW_COUNT; i++)
			if (i != FL_KW_NFLAGS)
				cands[ncands++] = fl__kw[i].name;
		for (i = 0; r->action == FL_ACT_RESET &&
			    i < NELEM(fl__reset_mode_names); i++)
			cands[ncands++] = fl__reset_mode_names[i];
		perr_unknown(p, t, "match", cands, ncands, list);
	}
}

static int parse_match(struct parser *p, struct fl_rule *r, unsigned *seen,
		       size_t *seen_off)
{
	struct fl_tok *t = peek(p);
	const char *kw;
	char d[96];
	uint64_t v;
	int k;

	if (t->kind == FL_TK_BANG) {
		/* "!flags": the name after its '!' */
		const char *word = fl__kw[FL_KW_NFLAGS].name + 1;

		if (!teq(p, peek2(p), word)) {
			perr(p, peek2(p)->off, "expected '%s' after '!', got %s",
			     word, tdesc(p, peek2(p), d, sizeof(d)));
			return -1;
		}
		next(p);
		k = FL_KW_NFLAGS;
	} else {
		k = kw_lookup(p, t);
		if (k < 0) {
			perr_not_match(p, r, t);
			return -1;
		}
	}
	next(p);
	kw = fl__kw[k].name;
	if (*seen & (1u << k)) {
		perr(p, t->off, "duplicate '%s': already given at column %zu",
		     kw, seen_off[k] + 1);
		return -1;
	}
	*seen |= 1u << k;
	seen_off[k] = t->off;

	switch ((enum fl_kw)k) {
	case FL_KW_FROM:
		return get_side(p, kw, &r->from);
	case FL_KW_PORT:
		if (get_u64(p, kw, "a port number from 1 to 65535", 1,
			    UINT16_MAX, &v) < 0)
			return -1;
		r->port = (uint16_t)v;
		return 0;
	case FL_KW_FLAGS:
		return get_flags(p, kw, &r->flags_set);
	case FL_KW_NFLAGS:
		return get_flags(p, kw, &r->flags_clear);
	case FL_KW_DATA:
		r->data = 1;
		return 0;
	case FL_KW_LEN:
		t = peek(p);
		if (t->kind == FL_TK_EQ) {
			perr(p, t->off, "use '==' to compare: '%s == N'", kw);
			return -1;
		}
		if (t->kind != FL_TK_CMP) {
			perr(p, t->off, "'%s' needs a comparison (==, !=, <, <=, >, >=) "
			     "and a byte count, got %s", kw, tdesc(p, t, d, sizeof(d)));
			return -1;
		}
		next(p);
		if (get_size(p, kw, UINT32_MAX, &v) < 0)
			return -1;
		r->has_len = 1;
		r->len_op = t->cmp;
		r->len_val = (uint32_t)v;
		return 0;
	case FL_KW_CONN:
		if (get_u64(p, kw, "a connection number, 1 for the first", 1,
			    UINT32_MAX, &v) < 0)
			return -1;
		r->conn = (uint32_t)v;
		return 0;
	case FL_KW_NTH:
		if (get_u64(p, kw, "a count, 1 for the first matching segment",
			    1, UINT32_MAX, &v) < 0)
			return -1;
		r->nth = (uint32_t)v;
		return 0;
	case FL_KW_PROB: {
		const char *s;
		size_t bad;
		int e, n;

		t = need_num(p, kw, "a percentage such as 10% or 0.5%");
		if (!t)
			return -1;
		s = ttext(p, t);
		n = tlen(t);
		e = fl__num_pct(s, t->len, &r->prob_ppm, &bad);
		if (e == FL_NUM_OK && r->prob_ppm > 0) {
			r->has_prob = 1;
			return 0;
		}
		if (e == FL_NUM_NOUNIT)
			perr(p, t->off, "missing '%%' in '%s %.*s': write '%s %.*s%%'",
			     kw, n, s, kw, n, s);
		else if (e == FL_NUM_PRECISION)
			perr(p, t->off, "'%s %.*s' is finer than the 0.0001%% resolution",
			     kw, n, s);
		else if (e == FL_NUM_RANGE || e == FL_NUM_OK)
			perr(p, t->off, "'%s %.*s' is out of range: expected more "
			     "than 0%% and at most 100%%", kw, n, s);
		else
			perr(p, t->off, "invalid percentage '%.*s': expected e.g. "
			     "10%% or 0.5%%", n, s);
		return -1;
	}
	case FL_KW_TIMES:
		if (get_u64(p, kw, "a count of at least 1", 1, UINT64_MAX, &v) < 0)
			return -1;
		r->times = v;
		return 0;
	case FL_KW_AFTER:
		r->has_after = 1;
		return get_dur(p, kw, &r->after_us);
	case FL_KW_BEFORE:
		r->has_before = 1;
		return get_dur(p, kw, &r->before_us);
	case FL_KW_AFTER_BYTES:
		r->has_after_bytes = 1;
		return get_size(p, kw, UINT64_MAX, &r->after_bytes);
	case FL_KW_COUNT:
		break;
	}
	return -1;
}

static void parse_rule(struct parser *p, const struct fl_tok *at, enum fl_action a)
{
	struct fl_rule r;
	size_t seen_off[FL_KW_COUNT] = { 0 }, jitter_off = 0;
	unsigned seen = 0;
	char x[32], y[32];

	memset(&r, 0, sizeof(r));
	r.line = p->lineno;
	r.col = (unsigned)at->off + 1;
	r.action = a;
	r.from = FL_SIDE_ANY;
	r.reset_mode = FL_RESET_IN_WINDOW;
	if (a == FL_ACT_DUPLICATE)
		r.count = 1;
	if (parse_action_args(p, &r, &jitter_off) < 0)
		return;
	while (peek(p)->kind != FL_TK_EOL)
		if (parse_match(p, &r, &seen, seen_off) < 0)
			return;

	/* what parses but can never make sense */
	if (r.jitter_us > r.delay_us) {
		fl__dur_format(r.jitter_us, x, sizeof(x));
		fl__dur_format(r.delay_us, y, sizeof(y));
		perr(p, jitter_off, "%s %s is larger than the delay %s: a "
		     "segment cannot be released before it arrived",
		     fl__jitter_name, x, y);
		return;
	}
	if (r.has_before && r.before_us == 0) {
		perr(p, seen_off[FL_KW_BEFORE], "'%s 0s' never holds: the rule "
		     "could never match", fl__kw[FL_KW_BEFORE].name);
		return;
	}
	if (r.has_after && r.has_before && r.after_us >= r.before_us) {
		fl__dur_format(r.after_us, x, sizeof(x));
		fl__dur_format(r.before_us, y, sizeof(y));
		perr(p, seen_off[FL_KW_BEFORE], "'%s %s' is not later than "
		     "'%s %s': the rule could never match",
		     fl__kw[FL_KW_BEFORE].name, y, fl__kw[FL_KW_AFTER].name, x);
		return;
	}
	push_rule(p, &r);
}

/* ---- expect and set ---- */

static int parse_path(struct parser *p, struct fl_expect *e)
{
	struct fl_tok *t;
	char d[96], name[64], list[96];
	int st;

	snprintf(name, sizeof(name), "%s %s", line_words[W_EXPECT],
		 fl__check_names[FL_CHK_PATH]);
	if (get_side(p, name, &e->path_side) < 0)
		return -1;
	for (;;) {
		t = peek(p);
		if (t->kind != FL_TK_WORD) {
			perr(p, t->off, "expected a TCP state such as %s, got %s",
			     fl_state_name(FL_TCP_ESTABLISHED),
			     tdesc(p, t, d, sizeof(d)));
			return -1;
		}
		next(p);
		snprintf(name, sizeof(name), "%.*s", tlen(t), ttext(p, t));
		st = fl_state_parse(name);
		if (st < 0) {
			snprintf(list, sizeof(list), "a state such as %s, %s or %s",
				 fl_state_name(FL_TCP_ESTABLISHED),
				 fl_state_name(FL_TCP_FIN_WAIT1),
				 fl_state_name(FL_TCP_CLOSE_WAIT));
			perr_unknown(p, t, "TCP state", fl__state_words,
				     fl__nstate_words, list);
			return -1;
		}
		if (e->npath == FL_PATH_MAX) {
			perr(p, t->off, "a path has at most %d states", FL_PATH_MAX);
			return -1;
		}
		e->path[e->npath++] = (uint8_t)st;
		t = peek(p);
		if (t->kind == FL_TK_EOL)
			return 0;
		if (t->kind != FL_TK_CMP || t->cmp != FL_CMP_GT) {
			perr(p, t->off, "expected '>' between states, got %s",
			     tdesc(p, t, d, sizeof(d)));
			return -1;
		}
		next(p);
	}
}

/* The "<=" of "expect CHECK <= WHAT"; -1 (reported) if absent. */
static int need_le(struct parser *p, const char *check, const char *what)
{
	const struct fl_tok *t = peek(p);
	char d[96];

	if (t->kind != FL_TK_CMP || t->cmp != FL_CMP_LE) {
		perr(p, t->off, "'expect %s' needs '<= %s', got %s", check, what,
		     tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	next(p);
	return 0;
}

/* "exit, signal, ..., dead-peer<last>path": every check's name. */
static void check_list(char *buf, size_t n, const char *last)
{
	fl__word_list(buf, n, fl__check_names, FL_CHK_COUNT, ", ", last);
}

static void parse_expect(struct parser *p, const struct fl_tok *at)
{
	struct fl_expect e;
	struct fl_tok *t = peek(p);
	char d[96], text[512];
	uint64_t v;
	unsigned prev;
	int k, sig;

	memset(&e, 0, sizeof(e));
	e.line = p->lineno;
	e.col = (unsigned)at->off + 1;
	if (t->kind != FL_TK_WORD) {
		check_list(text, sizeof(text), ", ");
		perr(p, t->off, "'expect' needs a check (%s), got %s", text,
		     tdesc(p, t, d, sizeof(d)));
		return;
	}
	next(p);
	k = tlookup(p, t, fl__check_names, FL_CHK_COUNT);
	if (k < 0) {
		check_list(text, sizeof(text), " or ");
		perr_unknown(p, t, "check", fl__check_names, FL_CHK_COUNT, text);
		return;
	}
	e.kind = (enum fl_check_kind)k;
	switch (fl_check_desc(e.kind)->arg) {
	case FL_ARG_STATUS:
		snprintf(text, sizeof(text), "expect %s", fl__check_names[k]);
		if (get_u64(p, text, "an exit status from 0 to 255", 0, 255, &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_SIGNAL:
		t = peek(p);
		if (t->kind != FL_TK_WORD) {
			perr(p, t->off, "'expect %s' needs a signal name such as "
			     "SIGTERM or SIGPIPE, got %s", fl__check_names[k],
			     tdesc(p, t, d, sizeof(d)));
			return;
		}
		next(p);
		snprintf(text, sizeof(text), "%.*s", tlen(t), ttext(p, t));
		sig = fl_signal_number(text);
		if (sig < 0) {
			perr(p, t->off, "unknown signal '%s': expected a name such as "
			     "SIGTERM, SIGKILL or SIGPIPE", text);
			return;
		}
		e.arg = sig;
		break;
	case FL_ARG_DUR:
		if (get_dur(p, fl__check_names[k], &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_LE_DUR:
		snprintf(text, sizeof(text), "%s <=", fl__check_names[k]);
		if (need_le(p, fl__check_names[k], "DURATION") < 0 ||
		    get_dur(p, text, &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_NONE:
		break;
	case FL_ARG_LE_COUNT:
		snprintf(text, sizeof(text), "%s <=", fl__check_names[k]);
		if (need_le(p, fl__check_names[k], "N") < 0 ||
		    get_u64(p, text, "a count of sockets", 0, UINT32_MAX, &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_PATH:
		if (parse_path(p, &e) < 0)
			return;
		break;
	}
	t = peek(p);
	if (t->kind != FL_TK_EOL) {
		perr(p, t->off, "unexpected %s after 'expect %s'",
		     tdesc(p, t, d, sizeof(d)), fl__check_names[k]);
		return;
	}

	/* one outcome, one of each check (paths may be several) */
	prev = p->check_line[k];
	if (e.kind == FL_CHK_EXIT || e.kind == FL_CHK_SIGNAL) {
		int other = e.kind == FL_CHK_EXIT ? FL_CHK_SIGNAL : FL_CHK_EXIT;

		if (p->check_line[other]) {
			perr(p, at->off, "'expect %s' conflicts with 'expect %s' on "
			     "line %u: the target either exits or is killed",
			     fl__check_names[k], fl__check_names[other],
			     p->check_line[other]);
			return;
		}
	}
	if (prev && e.kind != FL_CHK_PATH) {
		perr(p, at->off, "duplicate 'expect %s': already given on line %u",
		     fl__check_names[k], prev);
		return;
	}
	if (fl__expect_text(&e, text, sizeof(text)) < 0) {
		perr(p, at->off, "expectation too long");
		return;
	}
	e.text = fl__strndup(text, strlen(text));
	if (!e.text) {
		p->nomem = 1;
		return;
	}
	if (push_expect(p, &e) < 0) {
		free(e.text);
		return;
	}
	if (!prev)
		p->check_line[k] = p->lineno;
}

static void parse_set(struct parser *p)
{
	static const char *const settings[] = { "seed" };
	struct fl_tok *t = peek(p);
	char d[96];
	uint64_t v;

	if (t->kind != FL_TK_WORD) {
		perr(p, t->off, "'set' needs a setting: 'set seed N', got %s",
		     tdesc(p, t, d, sizeof(d)));
		return;
	}
	next(p);
	if (!teq(p, t, "seed")) {
		perr_unknown(p, t, "setting", settings, 1, "seed");
		return;
	}
	if (get_u64(p, "set seed", "a number", 0, UINT64_MAX, &v) < 0)
		return;
	if (peek(p)->kind != FL_TK_EOL) {
		perr(p, peek(p)->off, "unexpected %s after 'set seed %llu'",
		     tdesc(p, peek(p), d, sizeof(d)), (unsigned long long)v);
		return;
	}
	if (p->has_seed) {
		perr(p, t->off, "seed already set on line %u", p->seed_line);
		return;
	}
	if (p->rs->has_seed && p->rs->seed != v) {
		perr(p, t->off, "seed already set to %llu by an earlier file",
		     (unsigned long long)p->rs->seed);
		return;
	}
	p->has_seed = 1;
	p->seed = v;
	p->seed_line = p->lineno;
}

/* "an action (drop, ...), 'expect' or 'set'": what a line starts with */
static void line_list(char *buf, size_t n)
{
	char actions[256];

	fl__word_list(actions, sizeof(actions), line_words, NACTIONS, ", ", ", ");
	snprintf(buf, n, "an action (%s), '%s' or '%s'", actions,
		 line_words[W_EXPECT], line_words[W_SET]);
}

static void parse_line(struct parser *p)
{
	struct fl_tok *t = peek(p);
	char d[96], list[384];
	int a;

	if (t->kind == FL_TK_EOL)
		return;
	if (t->kind != FL_TK_WORD) {
		line_list(list, sizeof(list));
		perr(p, t->off, "expected %s, got %s", list,
		     tdesc(p, t, d, sizeof(d)));
		return;
	}
	next(p);
	a = tlookup(p, t, line_words, NELEM(line_words));
	if (a < 0 && kw_lookup(p, t) >= 0)
		perr(p, t->off, "a rule starts with its action: put one before "
		     "'%.*s', e.g. '%s %.*s ...'", tlen(t), ttext(p, t),
		     fl_action_name(FL_ACT_DROP), tlen(t), ttext(p, t));
	else if (a < 0) {
		line_list(list, sizeof(list));
		perr_unknown(p, t, "action", line_words, NELEM(line_words), list);
	}
	else if (a < NACTIONS)
		parse_rule(p, t, (enum fl_action)a);
	else if (a == W_EXPECT)
		parse_expect(p, t);
	else
		parse_set(p);
}

/* Move what the file contributed into rs; all or nothing. */
static int commit(struct parser *p, struct fl_ruleset *rs, const char *text,
		  size_t len)
{
	char *name = NULL, *copy = NULL, **files, **texts;
	size_t *lens, i;
	struct fl_rule *rules;
	struct fl_expect *exps;
	int ret = -ENOMEM;

	if (rs->nrules + p->nrules > (size_t)INT32_MAX) {
		ret = -E2BIG;
		goto out;
	}
	name = fl__strndup(p->name, strlen(p->name));
	copy = fl__strndup(text ? text : "", len);
	if (!name || !copy)
		goto out;
	/* Grow every array first; a grown array with the old count is harmless
	 * if a later step fails. */
	files = realloc(rs->files, (rs->nfiles + 1) * sizeof(*files));
	if (!files)
		goto out;
	rs->files = files;
	texts = realloc(rs->texts, (rs->nfiles + 1) * sizeof(*texts));
	if (!texts)
		goto out;
	rs->texts = texts;
	lens = realloc(rs->text_lens, (rs->nfiles + 1) * sizeof(*lens));
	if (!lens)
		goto out;
	rs->text_lens = lens;
	rules = realloc(rs->rules, (rs->nrules + p->nrules + 1) * sizeof(*rules));
	if (!rules)
		goto out;
	rs->rules = rules;
	exps = realloc(rs->expects, (rs->nexpects + p->nexps + 1) * sizeof(*exps));
	if (!exps)
		goto out;
	rs->expects = exps;

	for (i = 0; i < p->nrules; i++) {
		p->rules[i].file = name;
		rs->rules[rs->nrules++] = p->rules[i];
	}
	for (i = 0; i < p->nexps; i++) {
		p->exps[i].file = name;
		rs->expects[rs->nexpects++] = p->exps[i];
	}
	p->nexps = 0; /* the texts belong to rs now */
	rs->files[rs->nfiles] = name;
	rs->texts[rs->nfiles] = copy;
	rs->text_lens[rs->nfiles] = len;
	rs->nfiles++;
	if (p->has_seed) {
		rs->has_seed = 1;
		rs->seed = p->seed;
	}
	name = copy = NULL;
	ret = 0;
out:
	free(name);
	free(copy);
	return ret;
}

int fl_rules_parse(struct fl_ruleset *rs, const char *name, const char *text,
		   size_t len, struct fl_diag *diag)
{
	struct parser p;
	size_t start = 0, i;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	p.name = name ? name : "<rules>";
	p.rs = rs;
	p.diag = diag;
	if (!rs || (!text && len)) {
		ret = -EINVAL;
		goto out;
	}
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;

		p.line = text + start;
		p.linelen = end - start;
		if (p.linelen && p.line[p.linelen - 1] == '\r')
			p.linelen--;
		p.lineno++;
		ret = fl__lex(p.line, p.linelen, &p.toks);
		if (ret < 0)
			goto out;
		p.pos = 0;
		parse_line(&p);
		if (p.nomem) {
			ret = -ENOMEM;
			goto out;
		}
		start = end + 1;
	}
	if (p.nerrors) {
		ret = -EINVAL;
		goto out;
	}
	ret = commit(&p, rs, text, len);
out:
	for (i = 0; i < p.nexps; i++)
		free(p.exps[i].text);
	free(p.exps);
	free(p.rules);
	free(p.toks.v);
	return ret;
}
