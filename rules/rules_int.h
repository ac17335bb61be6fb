/*
 * rules_int.h - internals shared by the rule-language modules (lexer,
 * parser, printer, linter).  Not part of the library's API: nothing outside
 * rules/ includes this.  Same threading model as rules.h: no globals that
 * change, so every function is reentrant.
 */
#ifndef FL_RULES_INT_H
#define FL_RULES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

/* ---- lexer (lex.c) ---- */

enum fl_tok_kind {
	FL_TK_EOL,   /* always the last token of a line */
	FL_TK_WORD,  /* [A-Za-z_][A-Za-z0-9_-]* */
	FL_TK_NUM,   /* [0-9.][A-Za-z0-9.%]* : checked later by its parser */
	FL_TK_EQ,    /* = */
	FL_TK_COMMA, /* , */
	FL_TK_PLUS,  /* + */
	FL_TK_MINUS, /* - */
	FL_TK_BANG,  /* ! (not followed by =) */
	FL_TK_CMP,   /* == != < <= > >= */
	FL_TK_BAD,   /* a character the language has no use for */
};

struct fl_tok {
	enum fl_tok_kind kind;
	enum fl_cmp cmp; /* FL_TK_CMP */
	size_t off, len; /* byte offset in the line (column - 1), length */
};

struct fl_toks {
	struct fl_tok *v;
	size_t n, cap;
};

/*
 * Split one line (no newline) into tokens, replacing tv's contents.  A '#'
 * starts a comment.  Lexing stops after an FL_TK_BAD token.  The last token
 * is always FL_TK_EOL, placed just after the last real token.  Returns 0 or
 * -ENOMEM.  The caller frees tv->v.
 */
int fl__lex(const char *line, size_t len, struct fl_toks *tv);

/* ---- strict numbers (util.c) ---- */

enum fl_numerr {
	FL_NUM_OK,
	FL_NUM_EMPTY,     /* no digits at all */
	FL_NUM_JUNK,      /* malformed: bad is the offending offset */
	FL_NUM_RANGE,     /* overflow or out of the representable range */
	FL_NUM_NOUNIT,    /* duration without unit, prob without % */
	FL_NUM_UNIT,      /* unknown unit/suffix starting at bad */
	FL_NUM_FRAC,      /* a fraction where only whole numbers go */
	FL_NUM_PRECISION, /* finer than the resolution (1us, 0.0001%) */
};

/* Each parses exactly n bytes of s and returns an enum fl_numerr. */
int fl__num_u64(const char *s, size_t n, uint64_t *v, size_t *bad);
int fl__num_dur(const char *s, size_t n, uint64_t *us, size_t *bad);
int fl__num_size(const char *s, size_t n, uint64_t *v, size_t *bad);
int fl__num_pct(const char *s, size_t n, uint32_t *ppm, size_t *bad);

/* ---- diagnostics (util.c) ---- */

/*
 * Append "file:line:col: error|warning: msg\n" then the source line and a
 * caret line (src may be NULL: no source shown).  Counts the message in
 * d->nerrors or d->nwarnings.  d may be NULL.  Returns 0 or -ENOMEM.
 */
int fl__diag_report(struct fl_diag *d, int is_error, const char *file,
		    unsigned line, unsigned col, const char *src, size_t srclen,
		    const char *msg);

/* ---- the keywords after a rule's action (rules/matches.def) ---- */

enum fl_kw {
#define FL_MATCH(id, name, cls) FL_KW_##id,
#include "matches.def"
#undef FL_MATCH
	FL_KW_COUNT
};

enum fl_kw_class {
	FL_KWC_MATCH, /* a test on the segment or its flow */
	FL_KWC_LIMIT, /* when and how often the rule may act */
};

struct fl_kw_desc {
	const char *name; /* "after-bytes"; "!flags" is two tokens */
	enum fl_kw_class cls;
};

/* Indexed by enum fl_kw, in the canonical order (format.c). */
extern const struct fl_kw_desc fl__kw[FL_KW_COUNT];

/* ---- small helpers (util.c) ---- */

/* Case-insensitive compare of s[0..n) with the NUL-terminated kw. */
int fl__word_eq(const char *s, size_t n, const char *kw);
/* The candidate closest to s[0..n) by edit distance, if close enough. */
const char *fl__suggest(const char *s, size_t n, const char *const *cands,
			size_t ncands);
/*
 * words[0..nwords) into buf as "a, b, c<last>d" (sep between the others):
 * the lists of the "expected one of" messages.  Always NUL-terminates a
 * non-empty buf; a list that does not fit is cut.
 */
void fl__word_list(char *buf, size_t n, const char *const *words,
		   size_t nwords, const char *sep, const char *last);
/* malloc'ed NUL-terminated copy of s[0..n); NULL when out of memory. */
char *fl__strndup(const char *s, size_t n);

/* ---- printing pieces (format.c) ---- */

/* Canonical text of an expect without the "expect " prefix. */
int fl__expect_text(const struct fl_expect *e, char *buf, size_t n);
int fl__dur_format(uint64_t us, char *buf, size_t n);
int fl__size_format(uint64_t v, char *buf, size_t n);
const char *fl__cmp_name(enum fl_cmp c);

/* Names the parser looks words up in, in their enum's order. */
extern const char *const fl__flag_names[8];   /* FIN SYN ... by bit */
extern const char *const fl__state_words[];   /* names and aliases */
extern const size_t fl__nstate_words;
extern const char *const fl__check_names[FL_CHK_COUNT];
/* The words of actions' arguments (format.c): rewrite's fields by the bit
 * of their FL_RW_* (flags window seq ack, each written "NAME="), reset's
 * modes by enum fl_reset_mode, delay's option. */
extern const char *const fl__rw_field_names[4];
extern const char *const fl__reset_mode_names[2];
extern const char fl__jitter_name[];

/* ---- lint.c ---- */

/* fl_rules_lint, and into *work (if not NULL) the steps its shadow search
 * took (binary-search and Fenwick-tree steps): tests bound its growth. */
int fl__rules_lint_work(const struct fl_ruleset *rs, struct fl_diag *diag,
			uint64_t *work);

#endif
