/*
 * lex.c - split one line of a rule file into tokens.
 *
 * The language is line based, so the lexer works a line at a time and the
 * parser recovers from an error by moving to the next line.  Numbers are
 * lexed loosely ("50ms", "1.5s", "10%", "64k", and junk like "12x") and
 * judged by the parser that knows what the number means, so the error can
 * say "missing unit" rather than "unexpected character".  Reentrant: all
 * state is in the caller's token vector.
 */
#include <errno.h>
#include <stdlib.h>

#include "rules_int.h"

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int push(struct fl_toks *tv, enum fl_tok_kind kind, enum fl_cmp cmp,
		size_t off, size_t len)
{
	int ret = 0;

	if (tv->n == tv->cap) {
		size_t cap = tv->cap ? tv->cap * 2 : 16;
		struct fl_tok *v = realloc(tv->v, cap * sizeof(*v));

		if (!v) {
			ret = -ENOMEM;
			goto out;
		}
		tv->v = v;
		tv->cap = cap;
	}
	tv->v[tv->n].kind = kind;
	tv->v[tv->n].cmp = cmp;
	tv->v[tv->n].off = off;
	tv->v[tv->n].len = len;
	tv->n++;
out:
	return ret;
}

/* Length of the UTF-8 sequence starting at s[i], so an error can quote a
 * whole character rather than half of one. */
static size_t utf8_len(const char *s, size_t n, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	size_t want = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	size_t k = 1;

	if (c < 0xc0 || c >= 0xf8)
		return 1;
	while (k < want && i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
		k++;
	return k;
}

int fl__lex(const char *s, size_t n, struct fl_toks *tv)
{
	size_t i = 0, end = 0;
	int ret = 0;

	tv->n = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t start = i;
		enum fl_tok_kind kind;
		enum fl_cmp cmp = FL_CMP_EQ;

		if (is_space(c)) {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (is_alpha(c)) {
			kind = FL_TK_WORD;
			while (i < n && (is_alpha((unsigned char)s[i]) ||
					 is_digit((unsigned char)s[i]) || s[i] == '-'))
				i++;
		} else if (is_digit(c) || c == '.') {
			kind = FL_TK_NUM;
			while (i < n && (is_alpha((unsigned char)s[i]) ||
					 is_digit((unsigned char)s[i]) ||
					 s[i] == '.' || s[i] == '%'))
				i++;
		} else if (c == '=' || c == '!' || c == '<' || c == '>') {
			int eq = i + 1 < n && s[i + 1] == '=';

			kind = FL_TK_CMP;
			i += eq ? 2 : 1;
			switch (c) {
			case '=':
				if (!eq)
					kind = FL_TK_EQ;
				cmp = FL_CMP_EQ;
				break;
			case '!':
				if (!eq)
					kind = FL_TK_BANG;
				cmp = FL_CMP_NE;
				break;
			case '<':
				cmp = eq ? FL_CMP_LE : FL_CMP_LT;
				break;
			default:
				cmp = eq ? FL_CMP_GE : FL_CMP_GT;
				break;
			}
		} else if (c == ',' || c == '+' || c == '-') {
			kind = c == ',' ? FL_TK_COMMA : c == '+' ? FL_TK_PLUS : FL_TK_MINUS;
			i++;
		} else {
			ret = push(tv, FL_TK_BAD, cmp, i, utf8_len(s, n, i));
			if (ret < 0)
				goto out;
			end = i + tv->v[tv->n - 1].len;
			break;
		}
		ret = push(tv, kind, cmp, start, i - start);
		if (ret < 0)
			goto out;
		end = i;
	}
	ret = push(tv, FL_TK_EOL, FL_CMP_EQ, end, 0);
out:
	return ret;
}
