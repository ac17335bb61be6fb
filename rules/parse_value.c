/*
 * parse_value.c - the rule parser's readers of one value (an integer, a
 * duration, a size, a flag list, a side) and its error reporting: one
 * message per way a value can be wrong, naming the keyword it follows,
 * "did you mean" for a misspelt word.  Used by parse.c and parse_expect.c
 * through parse_int.h.  No I/O; reentrant.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse_int.h"

__attribute__((format(printf, 3, 4)))
void fl__perr(struct parser *p, size_t off, const char *fmt, ...)
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

/* How an error names a token: 'word', ',' or "end of line". */
const char *fl__tdesc(const struct parser *p, const struct fl_tok *t,
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

int fl__tlookup(const struct parser *p, const struct fl_tok *t,
		const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; t->kind == FL_TK_WORD && i < n; i++)
		if (fl__word_eq(ttext(p, t), t->len, names[i]))
			return (int)i;
	return -1;
}

/* "unknown WHAT 'x'; did you mean 'y'?" or "unknown WHAT 'x': LIST" */
void fl__perr_unknown(struct parser *p, const struct fl_tok *t,
		      const char *what, const char *const *cands,
		      size_t ncands, const char *list)
{
	const char *s = fl__suggest(ttext(p, t), t->len, cands, ncands);

	if (s)
		fl__perr(p, t->off, "unknown %s '%.*s'; did you mean '%s'?", what,
			 tlen(t), ttext(p, t), s);
	else
		fl__perr(p, t->off, "unknown %s '%.*s': expected %s", what, tlen(t),
			 ttext(p, t), list);
}

/* The next token must be a number-like token: "'kw' needs WHAT, got X". */
struct fl_tok *fl__need_num(struct parser *p, const char *kw, const char *what)
{
	struct fl_tok *t = peek(p);
	char d[96];

	if (t->kind != FL_TK_NUM) {
		fl__perr(p, t->off, "'%s' needs %s, got %s", kw, what,
			 fl__tdesc(p, t, d, sizeof(d)));
		return NULL;
	}
	return next(p);
}

int fl__get_u64(struct parser *p, const char *kw, const char *what,
		uint64_t min, uint64_t max, uint64_t *v)
{
	struct fl_tok *t = fl__need_num(p, kw, what);
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
		fl__perr(p, t->off, "'%s%s%.*s' is too large: at most %llu", kw, sp,
			 tlen(t), ttext(p, t), (unsigned long long)max);
		return -1;
	}
	if (e != FL_NUM_OK) {
		fl__perr(p, t->off, "invalid number '%.*s' after '%s': expected %s",
			 tlen(t), ttext(p, t), kw, what);
		return -1;
	}
	if (x < min) {
		fl__perr(p, t->off, "'%s%s%.*s' is out of range: expected %s", kw, sp,
			 tlen(t), ttext(p, t), what);
		return -1;
	}
	*v = x;
	return 0;
}

int fl__get_dur(struct parser *p, const char *kw, uint64_t *us)
{
	struct fl_tok *t = fl__need_num(p, kw, "a duration such as 200ms or 1.5s");
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
		fl__perr(p, t->off, "missing unit in duration '%.*s': write %.*sms or "
			 "%.*ss (units: us, ms, s)", n, s, n, s, n, s);
		break;
	case FL_NUM_UNIT:
		fl__perr(p, t->off + bad, "unknown unit '%.*s' in duration '%.*s': "
			 "expected us, ms or s%s", (int)(t->len - bad), s + bad, n, s,
			 fl__word_eq(s + bad, t->len - bad, "m") ||
					 fl__word_eq(s + bad, t->len - bad, "min")
				 ? " (minutes are written in seconds, e.g. 300s)"
				 : "");
		break;
	case FL_NUM_PRECISION:
		fl__perr(p, t->off, "duration '%.*s' is finer than the 1us resolution",
			 n, s);
		break;
	case FL_NUM_RANGE:
		fl__perr(p, t->off, "duration '%.*s' is too large", n, s);
		break;
	default:
		fl__perr(p, t->off, "invalid duration '%.*s': expected a number and "
			 "a unit, e.g. 50ms, 1.5s or 200us", n, s);
		break;
	}
	return -1;
}

int fl__get_size(struct parser *p, const char *kw, uint64_t max, uint64_t *v)
{
	struct fl_tok *t = fl__need_num(p, kw, "a byte count such as 1500 or 64k");
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
		fl__perr(p, t->off, "'%s %.*s' is too large: at most %llu bytes", kw,
			 n, s, (unsigned long long)max);
		break;
	case FL_NUM_UNIT:
		fl__perr(p, t->off + bad, "unknown suffix '%.*s' in size '%.*s': "
			 "expected k, m or g (1024, 1024^2, 1024^3)",
			 (int)(t->len - bad), s + bad, n, s);
		break;
	case FL_NUM_FRAC:
		fl__perr(p, t->off, "size '%.*s' must be a whole number of bytes", n, s);
		break;
	default:
		fl__perr(p, t->off, "invalid size '%.*s': expected a byte count "
			 "such as 1500 or 64k", n, s);
		break;
	}
	return -1;
}

/* F[,F]... into *out; kw names the context for messages */
int fl__get_flags(struct parser *p, const char *kw, uint8_t *out)
{
	struct fl_tok *t = peek(p);
	char d[96], list[64];
	int i;

	if (t->kind != FL_TK_WORD) {
		fl__perr(p, t->off, "'%s' needs TCP flags such as FIN or SYN,ACK, got %s",
			 kw, fl__tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	for (;;) {
		t = next(p);
		i = fl__tlookup(p, t, fl__flag_names, 8);
		if (i < 0) {
			fl__word_list(list, sizeof(list), fl__flag_names, 8, ", ",
				      " or ");
			fl__perr_unknown(p, t, "TCP flag", fl__flag_names, 8, list);
			return -1;
		}
		if (*out & (1u << i)) {
			fl__perr(p, t->off, "flag %s is listed twice", fl__flag_names[i]);
			return -1;
		}
		*out |= (uint8_t)(1u << i);
		if (peek(p)->kind != FL_TK_COMMA)
			return 0;
		next(p);
		t = peek(p);
		if (t->kind != FL_TK_WORD) {
			fl__perr(p, t->off, "expected a flag after ',', got %s",
				 fl__tdesc(p, t, d, sizeof(d)));
			return -1;
		}
	}
}

int fl__get_side(struct parser *p, const char *kw, enum fl_side *out)
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
		fl__perr(p, t->off, "'%s' needs a side: %s, got %s", kw, list,
			 fl__tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	next(p);
	i = fl__tlookup(p, t, sides, NSIDES);
	if (i < 0) {
		fl__word_list(list, sizeof(list), sides, NSIDES, ", ", " or ");
		fl__perr_unknown(p, t, "side", sides, NSIDES, list);
		return -1;
	}
	*out = (enum fl_side)(FL_SIDE_CLIENT + i);
	return 0;
}

