/*
 * parse_expect.c - the rule parser's expect lines: a check from
 * rules/checks.def with the argument its table row says it takes (a status,
 * a signal, a duration, "<= N", a path of TCP states), one of each check
 * per file (paths excepted) and one outcome (exit or signal).  Called by
 * parse.c's line loop through parse_int.h.  No I/O; reentrant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

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

static int parse_path(struct parser *p, struct fl_expect *e)
{
	struct fl_tok *t;
	char d[96], name[64], list[96];
	int st;

	snprintf(name, sizeof(name), "%s %s", fl__line_words[W_EXPECT],
		 fl__check_names[FL_CHK_PATH]);
	if (fl__get_side(p, name, &e->path_side) < 0)
		return -1;
	for (;;) {
		t = peek(p);
		if (t->kind != FL_TK_WORD) {
			fl__perr(p, t->off, "expected a TCP state such as %s, got %s",
				 fl_state_name(FL_TCP_ESTABLISHED),
				 fl__tdesc(p, t, d, sizeof(d)));
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
			fl__perr_unknown(p, t, "TCP state", fl__state_words,
					 fl__nstate_words, list);
			return -1;
		}
		if (e->npath == FL_PATH_MAX) {
			fl__perr(p, t->off, "a path has at most %d states", FL_PATH_MAX);
			return -1;
		}
		e->path[e->npath++] = (uint8_t)st;
		t = peek(p);
		if (t->kind == FL_TK_EOL)
			return 0;
		if (t->kind != FL_TK_CMP || t->cmp != FL_CMP_GT) {
			fl__perr(p, t->off, "expected '>' between states, got %s",
				 fl__tdesc(p, t, d, sizeof(d)));
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
		fl__perr(p, t->off, "'expect %s' needs '<= %s', got %s", check, what,
			 fl__tdesc(p, t, d, sizeof(d)));
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

void fl__parse_expect(struct parser *p, const struct fl_tok *at)
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
		fl__perr(p, t->off, "'expect' needs a check (%s), got %s", text,
			 fl__tdesc(p, t, d, sizeof(d)));
		return;
	}
	next(p);
	k = fl__tlookup(p, t, fl__check_names, FL_CHK_COUNT);
	if (k < 0) {
		check_list(text, sizeof(text), " or ");
		fl__perr_unknown(p, t, "check", fl__check_names, FL_CHK_COUNT, text);
		return;
	}
	e.kind = (enum fl_check_kind)k;
	switch (fl_check_desc(e.kind)->arg) {
	case FL_ARG_STATUS:
		snprintf(text, sizeof(text), "expect %s", fl__check_names[k]);
		if (fl__get_u64(p, text, "an exit status from 0 to 255", 0, 255, &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_SIGNAL:
		t = peek(p);
		if (t->kind != FL_TK_WORD) {
			fl__perr(p, t->off, "'expect %s' needs a signal name such as "
				 "SIGTERM or SIGPIPE, got %s", fl__check_names[k],
				 fl__tdesc(p, t, d, sizeof(d)));
			return;
		}
		next(p);
		snprintf(text, sizeof(text), "%.*s", tlen(t), ttext(p, t));
		sig = fl_signal_number(text);
		if (sig < 0) {
			fl__perr(p, t->off, "unknown signal '%s': expected a name such as "
				 "SIGTERM, SIGKILL or SIGPIPE", text);
			return;
		}
		e.arg = sig;
		break;
	case FL_ARG_DUR:
		if (fl__get_dur(p, fl__check_names[k], &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_LE_DUR:
		snprintf(text, sizeof(text), "%s <=", fl__check_names[k]);
		if (need_le(p, fl__check_names[k], "DURATION") < 0 ||
		    fl__get_dur(p, text, &v) < 0)
			return;
		e.arg = (int64_t)v;
		break;
	case FL_ARG_NONE:
		break;
	case FL_ARG_LE_COUNT:
		snprintf(text, sizeof(text), "%s <=", fl__check_names[k]);
		if (need_le(p, fl__check_names[k], "N") < 0 ||
		    fl__get_u64(p, text, "a count of sockets", 0, UINT32_MAX, &v) < 0)
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
		fl__perr(p, t->off, "unexpected %s after 'expect %s'",
			 fl__tdesc(p, t, d, sizeof(d)), fl__check_names[k]);
		return;
	}

	/* one outcome, one of each check (paths may be several) */
	prev = p->check_line[k];
	if (e.kind == FL_CHK_EXIT || e.kind == FL_CHK_SIGNAL) {
		int other = e.kind == FL_CHK_EXIT ? FL_CHK_SIGNAL : FL_CHK_EXIT;

		if (p->check_line[other]) {
			fl__perr(p, at->off, "'expect %s' conflicts with 'expect %s' on "
				 "line %u: the target either exits or is killed",
				 fl__check_names[k], fl__check_names[other],
				 p->check_line[other]);
			return;
		}
	}
	if (prev && e.kind != FL_CHK_PATH) {
		fl__perr(p, at->off, "duplicate 'expect %s': already given on line %u",
			 fl__check_names[k], prev);
		return;
	}
	if (fl__expect_text(&e, text, sizeof(text)) < 0) {
		fl__perr(p, at->off, "expectation too long");
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
