/*
 * parse_int.h - what the rule parser's files share: the parser's state (one
 * struct parser per fl_rules_parse() call, on its stack), the token cursor,
 * and the readers of one value (parse_value.c).  parse.c walks a file and
 * parses rule lines, parse_expect.c the expect lines, parse_run.c the set
 * and command lines.  Nothing
 * outside those three files includes this.  Reentrant, no globals.
 */
#ifndef FL_PARSE_INT_H
#define FL_PARSE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "rules_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What a line may start with (parse.c): the actions (in enum order), then
 * the other line words, then the commands (in enum order). */
enum { W_EXPECT = FL_ACT_COUNT, W_SET, W_CMD, W_COUNT = W_CMD + FL_CMD_COUNT };
extern const char *const fl__line_words[W_COUNT];

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
	unsigned check_line[FL_CHK_COUNT]; /* first line of each check */
	struct fl_command cmds[FL_CMD_COUNT];  /* text owned until commit */
	struct fl_setting sets[FL_SET_COUNT];
};

/* ---- the token cursor ---- */

static inline struct fl_tok *peek(struct parser *p)
{
	return &p->toks.v[p->pos];
}

static inline struct fl_tok *peek2(struct parser *p)
{
	return p->pos + 1 < p->toks.n ? &p->toks.v[p->pos + 1] : peek(p);
}

static inline struct fl_tok *next(struct parser *p)
{
	struct fl_tok *t = &p->toks.v[p->pos];

	if (t->kind != FL_TK_EOL)
		p->pos++;
	return t;
}

static inline const char *ttext(const struct parser *p, const struct fl_tok *t)
{
	return p->line + t->off;
}

static inline int tlen(const struct fl_tok *t)
{
	return t->len > 64 ? 64 : (int)t->len;
}

static inline int teq(const struct parser *p, const struct fl_tok *t,
		      const char *kw)
{
	return t->kind == FL_TK_WORD && fl__word_eq(ttext(p, t), t->len, kw);
}

/* ---- reporting and reading one value (parse_value.c) ---- */

/* An error at byte off of the current line; counts it, notes ENOMEM. */
__attribute__((format(printf, 3, 4)))
void fl__perr(struct parser *p, size_t off, const char *fmt, ...);
/* How an error names a token: 'word', ',' or "end of line". */
const char *fl__tdesc(const struct parser *p, const struct fl_tok *t,
		      char *buf, size_t n);
/* Index of the word t among names[0..n) (any case), or -1. */
int fl__tlookup(const struct parser *p, const struct fl_tok *t,
		const char *const *names, size_t n);
/* "unknown WHAT 'x'; did you mean 'y'?" or "unknown WHAT 'x': expected LIST" */
void fl__perr_unknown(struct parser *p, const struct fl_tok *t,
		      const char *what, const char *const *cands,
		      size_t ncands, const char *list);

/*
 * Each reads the value after keyword kw (named in its messages) and
 * returns 0, or -1 after reporting what is wrong with it.
 */
/* an integer in [min, max]; what says what is expected ("a port number") */
int fl__get_u64(struct parser *p, const char *kw, const char *what,
		uint64_t min, uint64_t max, uint64_t *v);
int fl__get_dur(struct parser *p, const char *kw, uint64_t *us);
int fl__get_size(struct parser *p, const char *kw, uint64_t max, uint64_t *v);
/* F[,F]...; a flag listed twice is an error */
int fl__get_flags(struct parser *p, const char *kw, uint8_t *out);
/* a side a rule can name (FL_SIDE_CLIENT .. FL_SIDE_PEER) */
int fl__get_side(struct parser *p, const char *kw, enum fl_side *out);
/* A number-like token, else "'kw' needs WHAT, got X" and NULL. */
struct fl_tok *fl__need_num(struct parser *p, const char *kw, const char *what);

/* ---- expect lines (parse_expect.c), set and command lines (parse_run.c) ---- */

/* The rest of the line after 'expect' (at) / 'set'; errors are reported. */
void fl__parse_expect(struct parser *p, const struct fl_tok *at);
void fl__parse_set(struct parser *p);
/* A command line: its keyword is the token at (command k); the command
 * is the line's raw text after it. */
void fl__parse_command(struct parser *p, const struct fl_tok *at,
		       enum fl_command_kind k);

#endif
