/*
 * util.c - the pieces every rule-language module shares: the ruleset's
 * lifetime, compiler-style diagnostics, strict number parsing (durations,
 * sizes, percentages), "did you mean" suggestions and the word lists of
 * "expected one of" messages.
 *
 * No I/O: diagnostics are formatted into a caller-owned buffer.  Reentrant.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "rules_int.h"

/* ---- ruleset ---- */

struct fl_ruleset *fl_ruleset_new(void)
{
	return calloc(1, sizeof(struct fl_ruleset));
}

void fl_ruleset_free(struct fl_ruleset *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->nfiles; i++) {
		free(rs->files[i]);
		free(rs->texts[i]);
	}
	for (i = 0; i < rs->nexpects; i++)
		free(rs->expects[i].text);
	for (i = 0; i < FL_CMD_COUNT; i++)
		free(rs->commands[i].text);
	free(rs->files);
	free(rs->texts);
	free(rs->text_lens);
	free(rs->rules);
	free(rs->expects);
	free(rs);
}

void fl__word_list(char *buf, size_t n, const char *const *words,
		   size_t nwords, const char *sep, const char *last)
{
	size_t len = 0, k;

	if (!n)
		return;
	buf[0] = '\0';
	for (k = 0; k < nwords && len < n; k++) {
		int w = snprintf(buf + len, n - len, "%s%s",
				 !k ? "" : k + 1 == nwords ? last : sep, words[k]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

char *fl__strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ---- diagnostics ---- */

void fl_diag_free(struct fl_diag *d)
{
	if (!d)
		return;
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

static int diag_reserve(struct fl_diag *d, size_t more)
{
	size_t cap;
	char *buf;

	if (d->len + more + 1 <= d->cap)
		return 0;
	cap = d->cap ? d->cap : 256;
	while (cap < d->len + more + 1)
		cap *= 2;
	buf = realloc(d->buf, cap);
	if (!buf)
		return -ENOMEM;
	d->buf = buf;
	d->cap = cap;
	return 0;
}

static int diag_putc(struct fl_diag *d, char c)
{
	int ret = diag_reserve(d, 1);

	if (ret < 0)
		return ret;
	d->buf[d->len++] = c;
	d->buf[d->len] = '\0';
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int diag_printf(struct fl_diag *d, const char *fmt, ...)
{
	va_list ap;
	int n, ret = 0;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ret = -EINVAL;
		goto out;
	}
	ret = diag_reserve(d, (size_t)n);
	if (ret < 0)
		goto out;
	va_start(ap, fmt);
	vsnprintf(d->buf + d->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	d->len += (size_t)n;
out:
	return ret;
}

int fl__diag_report(struct fl_diag *d, int is_error, const char *file,
		    unsigned line, unsigned col, const char *src, size_t srclen,
		    const char *msg)
{
	size_t i;
	int ret = 0;

	if (!d)
		goto out;
	if (is_error)
		d->nerrors++;
	else
		d->nwarnings++;
	ret = diag_printf(d, "%s:%u:%u: %s: %s\n", file, line, col,
			  is_error ? "error" : "warning", msg);
	if (ret < 0 || !src)
		goto out;
	/* The line as written, with control characters made visible-safe so
	 * a stray escape can't garble the terminal. */
	for (i = 0; i < srclen && ret == 0; i++) {
		unsigned char c = (unsigned char)src[i];

		ret = diag_putc(d, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c);
	}
	if (ret == 0)
		ret = diag_putc(d, '\n');
	/* Caret line: keep tabs so the caret lines up whatever the tab width;
	 * one column per character, not per UTF-8 byte. */
	for (i = 0; col > 0 && i < col - 1 && ret == 0; i++) {
		unsigned char c = i < srclen ? (unsigned char)src[i] : ' ';

		if (c == '\t')
			ret = diag_putc(d, '\t');
		else if ((c & 0xc0) != 0x80)
			ret = diag_putc(d, ' ');
	}
	if (ret == 0)
		ret = diag_printf(d, "^\n");
out:
	return ret;
}

/* ---- strict numbers ---- */

/* Digits from s[*i]: returns how many; *ovf set when the value overflowed. */
static size_t digits(const char *s, size_t n, size_t *i, uint64_t *v, int *ovf)
{
	size_t start = *i;

	*v = 0;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		unsigned d = (unsigned)(s[*i] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			*ovf = 1;
		else
			*v = *v * 10 + d;
		(*i)++;
	}
	return *i - start;
}

/* A fraction's digits s[start..start+nd) with trailing zeros dropped: its
 * significant digit count and, when that is at most maxd, its value. */
static size_t frac_digits(const char *s, size_t start, size_t nd, size_t maxd,
			  uint64_t *f)
{
	size_t k;

	while (nd > 0 && s[start + nd - 1] == '0')
		nd--;
	*f = 0;
	if (nd > maxd)
		return nd;
	for (k = 0; k < nd; k++)
		*f = *f * 10 + (uint64_t)(s[start + k] - '0');
	return nd;
}

static const uint64_t pow10_tab[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };

int fl__num_u64(const char *s, size_t n, uint64_t *v, size_t *bad)
{
	size_t i = 0;
	int ovf = 0;
	uint64_t x;

	*bad = 0;
	if (n == 0)
		return FL_NUM_EMPTY;
	if (digits(s, n, &i, &x, &ovf) == 0)
		return FL_NUM_JUNK;
	if (i < n) {
		*bad = i;
		return FL_NUM_JUNK;
	}
	if (ovf)
		return FL_NUM_RANGE;
	*v = x;
	return FL_NUM_OK;
}

int fl__num_dur(const char *s, size_t n, uint64_t *us, size_t *bad)
{
	static const struct {
		const char *name;
		uint64_t mult;
		size_t maxfrac;
	} units[] = { { "us", 1, 0 }, { "ms", 1000, 3 }, { "s", 1000000, 6 } };
	size_t i = 0, fstart = 0, nf = 0, u, sig;
	uint64_t ip, f = 0, v;
	int ovf = 0;

	*bad = 0;
	if (n == 0)
		return FL_NUM_EMPTY;
	if (digits(s, n, &i, &ip, &ovf) == 0)
		return FL_NUM_JUNK;
	if (i < n && s[i] == '.') {
		i++;
		fstart = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		nf = i - fstart;
		if (nf == 0) {
			*bad = i - 1;
			return FL_NUM_JUNK;
		}
	}
	*bad = i;
	if (i == n)
		return FL_NUM_NOUNIT;
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (fl__word_eq(s + i, n - i, units[u].name))
			break;
	if (u == sizeof(units) / sizeof(units[0]))
		return FL_NUM_UNIT;
	sig = frac_digits(s, fstart, nf, units[u].maxfrac, &f);
	if (sig > units[u].maxfrac)
		return FL_NUM_PRECISION;
	if (ovf || __builtin_mul_overflow(ip, units[u].mult, &v))
		return FL_NUM_RANGE;
	/* exact: sig <= maxfrac, so 10^sig divides the unit's multiplier */
	if (__builtin_add_overflow(v, f * (units[u].mult / pow10_tab[sig]), &v))
		return FL_NUM_RANGE;
	if (v > (uint64_t)INT64_MAX)
		return FL_NUM_RANGE;
	*us = v;
	return FL_NUM_OK;
}

int fl__num_size(const char *s, size_t n, uint64_t *v, size_t *bad)
{
	size_t i = 0;
	uint64_t x, mult = 1;
	int ovf = 0;

	*bad = 0;
	if (n == 0)
		return FL_NUM_EMPTY;
	if (digits(s, n, &i, &x, &ovf) == 0)
		return FL_NUM_JUNK;
	*bad = i;
	if (i < n && s[i] == '.')
		return FL_NUM_FRAC;
	if (i < n) {
		if (i + 1 != n)
			return FL_NUM_UNIT;
		switch (s[i]) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			break;
		default:
			return FL_NUM_UNIT;
		}
	}
	if (ovf || __builtin_mul_overflow(x, mult, &x))
		return FL_NUM_RANGE;
	*v = x;
	return FL_NUM_OK;
}

int fl__num_pct(const char *s, size_t n, uint32_t *ppm, size_t *bad)
{
	size_t i = 0, fstart = 0, nf = 0, sig;
	uint64_t ip, f = 0, v;
	int ovf = 0;

	*bad = 0;
	if (n == 0)
		return FL_NUM_EMPTY;
	if (digits(s, n, &i, &ip, &ovf) == 0)
		return FL_NUM_JUNK;
	if (i < n && s[i] == '.') {
		i++;
		fstart = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		nf = i - fstart;
		if (nf == 0) {
			*bad = i - 1;
			return FL_NUM_JUNK;
		}
	}
	*bad = i;
	if (i == n)
		return FL_NUM_NOUNIT;
	if (s[i] != '%' || i + 1 != n)
		return FL_NUM_JUNK;
	/* resolution: 1 ppm = 0.0001% */
	sig = frac_digits(s, fstart, nf, 4, &f);
	if (sig > 4)
		return FL_NUM_PRECISION;
	if (ovf || ip > 100)
		return FL_NUM_RANGE;
	v = ip * 10000 + f * pow10_tab[4 - sig];
	if (v > 1000000)
		return FL_NUM_RANGE;
	*ppm = (uint32_t)v;
	return FL_NUM_OK;
}

static int numerr_to_errno(int e)
{
	return e == FL_NUM_OK ? 0 : e == FL_NUM_RANGE ? -ERANGE : -EINVAL;
}

int fl_parse_u64(const char *s, uint64_t *v)
{
	size_t bad;
	uint64_t x;
	int e;

	if (!s || !v)
		return -EINVAL;
	e = fl__num_u64(s, strlen(s), &x, &bad);
	if (e == FL_NUM_OK)
		*v = x;
	return numerr_to_errno(e);
}

int fl_parse_duration(const char *s, uint64_t *us)
{
	size_t bad;
	uint64_t x;
	int e;

	if (!s || !us)
		return -EINVAL;
	e = fl__num_dur(s, strlen(s), &x, &bad);
	if (e == FL_NUM_OK)
		*us = x;
	return numerr_to_errno(e);
}

int fl_parse_size(const char *s, uint64_t *v)
{
	size_t bad;
	uint64_t x;
	int e;

	if (!s || !v)
		return -EINVAL;
	e = fl__num_size(s, strlen(s), &x, &bad);
	if (e == FL_NUM_OK)
		*v = x;
	return numerr_to_errno(e);
}

/* ---- words ---- */

int fl__word_eq(const char *s, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(s, kw, n) == 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions, so "dorp" is one edit from "drop"), case-insensitive. */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
	enum { MAX = 32 };
	size_t d[MAX + 1][MAX + 1];
	size_t i, j;

	if (na > MAX || nb > MAX)
		return (size_t)-1;
	for (i = 0; i <= na; i++)
		d[i][0] = i;
	for (j = 0; j <= nb; j++)
		d[0][j] = j;
	for (i = 1; i <= na; i++) {
		for (j = 1; j <= nb; j++) {
			size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
			size_t best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[na][nb];
}

const char *fl__suggest(const char *s, size_t n, const char *const *cands,
			size_t ncands)
{
	/* Short words tolerate one edit, longer ones a little more: enough
	 * for typos, not so much that "x" suggests "nth". */
	size_t limit = n <= 3 ? 1 : n <= 8 ? 2 : 3;
	size_t best = (size_t)-1, k;
	const char *pick = NULL;

	for (k = 0; k < ncands; k++) {
		size_t dist = edit_distance(s, n, cands[k], strlen(cands[k]));

		if (dist <= limit && dist < best) {
			best = dist;
			pick = cands[k];
		}
	}
	return pick;
}
