/*
 * parse.c - recursive-descent parser for rule files.
 *
 * A file is parsed a line at a time (the lexer splits the line, the parser
 * walks its tokens).  An error is reported with the line and a caret and the
 * parser moves on to the next line, so one run reports every bad line.  A
 * file with any error adds nothing to the ruleset.  All state lives in a
 * struct parser on the caller's stack: reentrant, no globals.
 *
 * This file holds the loop over the lines, the rule lines (an action, its
 * arguments, the matches and limits of rules/matches.def) and the commit
 * into the ruleset; parse_expect.c the expect lines; parse_run.c the set
 * and command lines; parse_value.c the readers of one value and the error
 * reporting (parse_int.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

const char *const fl__line_words[W_COUNT] = {
#define FL_ACTION(id, name) [FL_ACT_##id] = name,
#include "actions.def"
#undef FL_ACTION
	[W_EXPECT] = "expect",
	[W_SET] = "set",
#define FL_COMMAND(id, name, explain) [W_CMD + FL_CMD_##id] = name,
#include "commands.def"
#undef FL_COMMAND
};

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
		fl__perr(p, t->off, "'%s' needs FIELD=VALUE (%s), got %s",
			 fl_action_name(FL_ACT_REWRITE), list,
			 fl__tdesc(p, t, d, sizeof(d)));
		return -1;
	}
	while (peek(p)->kind == FL_TK_WORD && peek2(p)->kind == FL_TK_EQ) {
		int f;

		t = next(p);
		next(p); /* = */
		f = fl__tlookup(p, t, fields, nfields);
		if (f < 0) {
			fl__word_list(list, sizeof(list), fields, nfields, ", ", " or ");
			fl__perr_unknown(p, t, "rewrite field", fields, nfields, list);
			return -1;
		}
		if (r->rw_mask & (1u << f)) {
			fl__perr(p, t->off, "'%s=' is given twice", fields[f]);
			return -1;
		}
		r->rw_mask |= 1u << f;
		snprintf(kw, sizeof(kw), "%s=", fields[f]);
		switch (1u << f) {
		case FL_RW_FLAGS:
			if (fl__get_flags(p, kw, &r->rw_flags) < 0)
				return -1;
			break;
		case FL_RW_WINDOW:
			if (fl__get_u64(p, kw, "a window of 0 to 65535", 0,
					UINT16_MAX, &v) < 0)
				return -1;
			r->rw_window = (uint16_t)v;
			break;
		default: { /* seq, ack: a signed offset */
			struct fl_tok *sign = peek(p);

			if (sign->kind != FL_TK_PLUS && sign->kind != FL_TK_MINUS) {
				fl__perr(p, sign->off, "'%s' takes a signed offset such as "
					 "%s+100 or %s-100, got %s", kw, kw, kw,
					 fl__tdesc(p, sign, d, sizeof(d)));
				return -1;
			}
			next(p);
			if (fl__get_u64(p, kw, "an offset of at most 4294967295", 0,
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

		if (fl__get_dur(p, fl_action_name(r->action), &r->delay_us) < 0)
			return -1;
		if (r->delay_us == 0) {
			fl__perr(p, off, "a delay of 0 does nothing: give a duration above 0");
			return -1;
		}
		if (teq(p, peek(p), fl__jitter_name)) {
			next(p);
			*jitter_off = peek(p)->off;
			if (fl__get_dur(p, fl__jitter_name, &r->jitter_us) < 0)
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
		if (fl__get_u64(p, fl_action_name(r->action),
				"a number of copies from 1 to 100", 1, 100, &v) < 0)
			return -1;
		r->count = (unsigned)v;
		return 0;
	case FL_ACT_REORDER: {
		size_t off = peek(p)->off;

		if (peek(p)->kind != FL_TK_NUM)
			return 0;
		if (fl__get_dur(p, fl_action_name(r->action), &r->reorder_us) < 0)
			return -1;
		if (r->reorder_us == 0) {
			fl__perr(p, off, "'%s 0' would release the segment at "
				 "once: give a duration above 0, or none for the "
				 "default %ums", fl_action_name(r->action),
				 FL_REORDER_DEFAULT_US / 1000u);
			return -1;
		}
		return 0;
	}
	case FL_ACT_TRUNCATE: {
		size_t off = peek(p)->off;

		if (fl__get_size(p, fl_action_name(r->action), UINT32_MAX, &v) < 0)
			return -1;
		if (v == 0) {
			fl__perr(p, off, "'%s 0' would remove the whole payload: "
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
	int a = fl__tlookup(p, t, fl__line_words, FL_ACT_COUNT);

	kw_list(list, sizeof(list));
	if (t->kind != FL_TK_WORD) {
		fl__perr(p, t->off, "expected %s, got %s", list,
			 fl__tdesc(p, t, d, sizeof(d)));
	} else if (a >= 0) {
		fl__perr(p, t->off, "a rule has one action: '%s' cannot follow '%s'",
			 fl__line_words[a], fl_action_name(r->action));
	} else if (fl__tlookup(p, t, fl__flag_names, 8) >= 0) {
		fl__perr(p, t->off, "unexpected flag '%.*s': join flags with commas, "
			 "e.g. '%s FIN,ACK'", tlen(t), ttext(p, t),
			 fl__kw[FL_KW_FLAGS].name);
	} else if (teq(p, t, fl__jitter_name)) {
		fl__perr(p, t->off, "'%s' must directly follow '%s DURATION'",
			 fl__jitter_name, fl_action_name(FL_ACT_DELAY));
	} else if (fl__tlookup(p, t, fl__rw_field_names,
			       NELEM(fl__rw_field_names)) >= 0 &&
		   peek2(p)->kind == FL_TK_EQ) {
		fl__perr(p, t->off, "'%.*s=' is a rewrite field: it must directly "
			 "follow '%s'", tlen(t), ttext(p, t),
			 fl_action_name(FL_ACT_REWRITE));
	} else if (fl__tlookup(p, t, fl__reset_mode_names,
			       NELEM(fl__reset_mode_names)) >= 0) {
		fl__perr(p, t->off, r->action != FL_ACT_RESET
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
		fl__perr_unknown(p, t, "match", cands, ncands, list);
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
			fl__perr(p, peek2(p)->off, "expected '%s' after '!', got %s",
				 word, fl__tdesc(p, peek2(p), d, sizeof(d)));
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
		fl__perr(p, t->off, "duplicate '%s': already given at column %zu",
			 kw, seen_off[k] + 1);
		return -1;
	}
	*seen |= 1u << k;
	seen_off[k] = t->off;

	switch ((enum fl_kw)k) {
	case FL_KW_FROM:
		return fl__get_side(p, kw, &r->from);
	case FL_KW_PORT:
		if (fl__get_u64(p, kw, "a port number from 1 to 65535", 1,
				UINT16_MAX, &v) < 0)
			return -1;
		r->port = (uint16_t)v;
		return 0;
	case FL_KW_FLAGS:
		return fl__get_flags(p, kw, &r->flags_set);
	case FL_KW_NFLAGS:
		return fl__get_flags(p, kw, &r->flags_clear);
	case FL_KW_DATA:
		r->data = 1;
		return 0;
	case FL_KW_LEN:
		t = peek(p);
		if (t->kind == FL_TK_EQ) {
			fl__perr(p, t->off, "use '==' to compare: '%s == N'", kw);
			return -1;
		}
		if (t->kind != FL_TK_CMP) {
			fl__perr(p, t->off, "'%s' needs a comparison (==, !=, <, <=, >, >=) "
				 "and a byte count, got %s", kw, fl__tdesc(p, t, d, sizeof(d)));
			return -1;
		}
		next(p);
		if (fl__get_size(p, kw, UINT32_MAX, &v) < 0)
			return -1;
		r->has_len = 1;
		r->len_op = t->cmp;
		r->len_val = (uint32_t)v;
		return 0;
	case FL_KW_CONN:
		if (fl__get_u64(p, kw, "a connection number, 1 for the first", 1,
				UINT32_MAX, &v) < 0)
			return -1;
		r->conn = (uint32_t)v;
		return 0;
	case FL_KW_NTH:
		if (fl__get_u64(p, kw, "a count, 1 for the first matching segment",
				1, UINT32_MAX, &v) < 0)
			return -1;
		r->nth = (uint32_t)v;
		return 0;
	case FL_KW_PROB: {
		const char *s;
		size_t bad;
		int e, n;

		t = fl__need_num(p, kw, "a percentage such as 10% or 0.5%");
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
			fl__perr(p, t->off, "missing '%%' in '%s %.*s': write '%s %.*s%%'",
				 kw, n, s, kw, n, s);
		else if (e == FL_NUM_PRECISION)
			fl__perr(p, t->off, "'%s %.*s' is finer than the 0.0001%% resolution",
				 kw, n, s);
		else if (e == FL_NUM_RANGE || e == FL_NUM_OK)
			fl__perr(p, t->off, "'%s %.*s' is out of range: expected more "
				 "than 0%% and at most 100%%", kw, n, s);
		else
			fl__perr(p, t->off, "invalid percentage '%.*s': expected e.g. "
				 "10%% or 0.5%%", n, s);
		return -1;
	}
	case FL_KW_TIMES:
		if (fl__get_u64(p, kw, "a count of at least 1", 1, UINT64_MAX, &v) < 0)
			return -1;
		r->times = v;
		return 0;
	case FL_KW_AFTER:
		r->has_after = 1;
		return fl__get_dur(p, kw, &r->after_us);
	case FL_KW_BEFORE:
		r->has_before = 1;
		return fl__get_dur(p, kw, &r->before_us);
	case FL_KW_AFTER_BYTES:
		r->has_after_bytes = 1;
		return fl__get_size(p, kw, UINT64_MAX, &r->after_bytes);
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
		fl__perr(p, jitter_off, "%s %s is larger than the delay %s: a "
			 "segment cannot be released before it arrived",
			 fl__jitter_name, x, y);
		return;
	}
	if (r.has_before && r.before_us == 0) {
		fl__perr(p, seen_off[FL_KW_BEFORE], "'%s 0s' never holds: the rule "
			 "could never match", fl__kw[FL_KW_BEFORE].name);
		return;
	}
	if (r.has_after && r.has_before && r.after_us >= r.before_us) {
		fl__dur_format(r.after_us, x, sizeof(x));
		fl__dur_format(r.before_us, y, sizeof(y));
		fl__perr(p, seen_off[FL_KW_BEFORE], "'%s %s' is not later than "
			 "'%s %s': the rule could never match",
			 fl__kw[FL_KW_BEFORE].name, y, fl__kw[FL_KW_AFTER].name, x);
		return;
	}
	push_rule(p, &r);
}

/* "an action (drop, ...), 'expect', 'set' or a command (target, ...)":
 * what a line starts with */
static void line_list(char *buf, size_t n)
{
	char actions[200], cmds[64];

	fl__word_list(actions, sizeof(actions), fl__line_words, FL_ACT_COUNT,
		      ", ", ", ");
	fl__word_list(cmds, sizeof(cmds), fl__line_words + W_CMD, FL_CMD_COUNT,
		      ", ", ", ");
	snprintf(buf, n, "an action (%s), '%s', '%s' or a command (%s)", actions,
		 fl__line_words[W_EXPECT], fl__line_words[W_SET], cmds);
}

static void parse_line(struct parser *p)
{
	struct fl_tok *t = peek(p);
	char d[96], list[512];
	int a;

	if (t->kind == FL_TK_EOL)
		return;
	if (t->kind != FL_TK_WORD) {
		line_list(list, sizeof(list));
		fl__perr(p, t->off, "expected %s, got %s", list,
			 fl__tdesc(p, t, d, sizeof(d)));
		return;
	}
	next(p);
	a = fl__tlookup(p, t, fl__line_words, NELEM(fl__line_words));
	if (a < 0 && kw_lookup(p, t) >= 0) {
		fl__perr(p, t->off, "a rule starts with its action: put one before "
			 "'%.*s', e.g. '%s %.*s ...'", tlen(t), ttext(p, t),
			 fl_action_name(FL_ACT_DROP), tlen(t), ttext(p, t));
	} else if (a < 0) {
		line_list(list, sizeof(list));
		fl__perr_unknown(p, t, "action", fl__line_words,
				 NELEM(fl__line_words), list);
	} else if (a < FL_ACT_COUNT) {
		parse_rule(p, t, (enum fl_action)a);
	} else if (a == W_EXPECT) {
		fl__parse_expect(p, t);
	} else if (a == W_SET) {
		fl__parse_set(p);
	} else {
		fl__parse_command(p, t, (enum fl_command_kind)(a - W_CMD));
	}
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
	for (i = 0; i < FL_CMD_COUNT; i++)
		if (p->cmds[i].text) {
			rs->commands[i] = p->cmds[i];
			rs->commands[i].file = name;
			p->cmds[i].text = NULL; /* rs's now */
		}
	for (i = 0; i < FL_SET_COUNT; i++)
		if (p->sets[i].given && !rs->settings[i].given) {
			/* a later file's equal value: the first stays */
			rs->settings[i] = p->sets[i];
			rs->settings[i].file = name;
		}
	if (p->sets[FL_SET_SEED].given) {
		rs->has_seed = 1;
		rs->seed = p->sets[FL_SET_SEED].value;
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
	for (i = 0; i < FL_CMD_COUNT; i++)
		free(p.cmds[i].text);
	free(p.exps);
	free(p.rules);
	free(p.toks.v);
	return ret;
}
