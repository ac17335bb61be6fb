/*
 * parse_run.c - the rule parser's lines that make a file one test: `set
 * NAME [VALUE]` (the run options of rules/settings.def) and the commands
 * of rules/commands.def (`target CMD`, `driver CMD`, `peer CMD`, the rest
 * of the line taken verbatim as a shell command).  The files of one run
 * give each at most once, a setting in two files the same value, and
 * never both a driver and a peer.  Called by parse.c's line loop through
 * parse_int.h.  No I/O; reentrant.
 */
#include <stdio.h>
#include <string.h>

#include "parse_int.h"

static const char *const setting_names[FL_SET_COUNT] = {
#define FL_SETTING(id, name, arg, min, max, opt, explain) [FL_SET_##id] = name,
#include "settings.def"
#undef FL_SETTING
};

/* The value after 'set NAME' as desc says it is written; 0 or -1. */
static int get_value(struct parser *p, const struct fl_setting_desc *d,
		     uint64_t *v)
{
	char kw[64], what[96], x[32], y[32];
	size_t off = peek(p)->off;

	snprintf(kw, sizeof(kw), "%s %s", fl__line_words[W_SET], d->name);
	switch (d->arg) {
	case FL_SETARG_FLAG:
		*v = 1;
		return 0;
	case FL_SETARG_NUM:
		if (d->min == 0 && d->max == UINT64_MAX)
			snprintf(what, sizeof(what), "a number");
		else
			snprintf(what, sizeof(what), "a number from %llu to %llu",
				 (unsigned long long)d->min,
				 (unsigned long long)d->max);
		return fl__get_u64(p, kw, what, d->min, d->max, v);
	case FL_SETARG_DUR:
		if (fl__get_dur(p, kw, v) < 0)
			return -1;
		if (*v < d->min || *v > d->max) {
			fl__dur_format(*v, x, sizeof(x));
			fl__dur_format(d->max, y, sizeof(y));
			fl__perr(p, off, "'%s %s' is too large: at most %s", kw, x, y);
			return -1;
		}
		return 0;
	}
	return -1;
}

void fl__parse_set(struct parser *p)
{
	struct fl_tok *t = peek(p);
	const struct fl_setting_desc *d;
	const struct fl_setting *prev;
	char d_[96], list[256], x[64], y[64];
	uint64_t v;
	int k;

	fl__word_list(list, sizeof(list), setting_names, FL_SET_COUNT, ", ", " or ");
	if (t->kind != FL_TK_WORD) {
		fl__perr(p, t->off, "'%s' needs a setting (%s), got %s",
			 fl__line_words[W_SET], list, fl__tdesc(p, t, d_, sizeof(d_)));
		return;
	}
	next(p);
	k = fl__tlookup(p, t, setting_names, FL_SET_COUNT);
	if (k < 0) {
		fl__perr_unknown(p, t, "setting", setting_names, FL_SET_COUNT, list);
		return;
	}
	d = fl_setting_desc((enum fl_setting_kind)k);
	if (get_value(p, d, &v) < 0)
		return;
	if (peek(p)->kind != FL_TK_EOL) {
		struct fl_setting one = {.given = 1, .value = v};
		struct fl_ruleset tmp = {0};

		tmp.settings[k] = one;
		fl_setting_format(&tmp, (enum fl_setting_kind)k, x, sizeof(x));
		fl__perr(p, peek(p)->off, "unexpected %s after '%s'",
			 fl__tdesc(p, peek(p), d_, sizeof(d_)), x);
		return;
	}
	if (p->sets[k].given) {
		fl__perr(p, t->off, "%s already set on line %u", d->name,
			 p->sets[k].line);
		return;
	}
	prev = &p->rs->settings[k];
	if (prev->given && prev->value != v) {
		/* "set NAME VALUE": the value from its last space */
		fl_setting_format(p->rs, (enum fl_setting_kind)k, y, sizeof(y));
		fl__perr(p, t->off, "%s already set to %s by an earlier file (%s:%u)",
			 d->name, strrchr(y, ' ') + 1, prev->file, prev->line);
		return;
	}
	p->sets[k] = (struct fl_setting){.given = 1, .value = v, .line = p->lineno};
}

/* Where command k was given before, in this file or an earlier one:
 * "line 3" or "a.rules:3" into buf; 0 when it was not. */
static int given_at(const struct parser *p, enum fl_command_kind k, char *buf,
		    size_t n)
{
	const struct fl_command *c = &p->rs->commands[k];

	if (p->cmds[k].text)
		return snprintf(buf, n, "line %u", p->cmds[k].line) > 0;
	if (c->text)
		return snprintf(buf, n, "%s:%u", c->file, c->line) > 0;
	return 0;
}

void fl__parse_command(struct parser *p, const struct fl_tok *at,
		       enum fl_command_kind k)
{
	const char *name = fl_command_name(k);
	size_t off = at->off + at->len, end = p->linelen;
	const char *nul;
	char where[300];
	enum fl_command_kind other = k == FL_CMD_DRIVER ? FL_CMD_PEER : FL_CMD_DRIVER;

	/* The command is the raw text: the tokens the lexer made of it
	 * (a '$' or a quote is no token of the language) are not used. */
	p->pos = p->toks.n - 1;
	if (off < end && p->line[off] != ' ' && p->line[off] != '\t') {
		fl__perr(p, off, "'%s' must be followed by a space and a command", name);
		return;
	}
	while (off < end && (p->line[off] == ' ' || p->line[off] == '\t'))
		off++;
	while (end > off && (p->line[end - 1] == ' ' || p->line[end - 1] == '\t'))
		end--;
	if (off == end || p->line[off] == '#') {
		fl__perr(p, off, "'%s' needs a command: '%s PROGRAM [ARG]...' (a shell "
			 "command line)", name, name);
		return;
	}
	nul = memchr(p->line + off, '\0', end - off);
	if (nul) {
		fl__perr(p, (size_t)(nul - p->line), "a command cannot hold a NUL byte");
		return;
	}
	if (given_at(p, k, where, sizeof(where))) {
		fl__perr(p, at->off, "a second '%s': already given on %s (the files of "
			 "one run give one)", name, where);
		return;
	}
	if (k != FL_CMD_TARGET && given_at(p, other, where, sizeof(where))) {
		fl__perr(p, at->off, "'%s' conflicts with '%s' on %s: a run has a "
			 "driver (a client of the target) or a peer (a server the "
			 "target uses), not both", name, fl_command_name(other), where);
		return;
	}
	p->cmds[k].text = fl__strndup(p->line + off, end - off);
	if (!p->cmds[k].text) {
		p->nomem = 1;
		return;
	}
	p->cmds[k].line = p->lineno;
	p->cmds[k].col = (unsigned)off + 1;
}
