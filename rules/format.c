/*
 * format.c - print rules and expects: the canonical one-line form (which
 * parses back to the identical rule), a plain-English explanation, and the
 * names of actions, match keywords, sides, flags, signals, checks and TCP
 * states.
 *
 * Canonical form: tokens separated by one space; the action and its
 * arguments, then the matches and limits in rules/matches.def's order.
 * Defaults are left out (reset in-window, duplicate 1, jitter 0, reorder
 * without a timeout).  A duration is printed in the largest unit
 * in which it is a whole number (2000000us -> 2s, 1500000us -> 1500ms), a
 * byte count likewise with k, m, g = 2^10, 2^20, 2^30 (4096 -> 4k, 1500 ->
 * 1500).  No I/O; reentrant.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rules.h"
#include "rules_int.h"

/* ---- a bounded string builder ---- */

struct sbuf {
	char *buf;
	size_t n, len;
	int full;
};

static void sb_init(struct sbuf *sb, char *buf, size_t n)
{
	sb->buf = buf;
	sb->n = n;
	sb->len = 0;
	sb->full = 0;
	if (n)
		buf[0] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (sb->full)
		return;
	va_start(ap, fmt);
	w = vsnprintf(sb->buf + sb->len, sb->n - sb->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sb->n - sb->len) {
		sb->full = 1;
		sb->len = sb->n ? sb->n - 1 : 0;
		return;
	}
	sb->len += (size_t)w;
}

static int sb_done(const struct sbuf *sb)
{
	return sb->full ? -ENOSPC : (int)sb->len;
}

/* ---- names ---- */

const struct fl_kw_desc fl__kw[FL_KW_COUNT] = {
#define FL_MATCH(id, nm, c) [FL_KW_##id] = {.name = nm, .cls = c},
#include "matches.def"
#undef FL_MATCH
};

const char *const fl__rw_field_names[4] = {
	[__builtin_ctz(FL_RW_FLAGS)] = "flags",
	[__builtin_ctz(FL_RW_WINDOW)] = "window",
	[__builtin_ctz(FL_RW_SEQ)] = "seq",
	[__builtin_ctz(FL_RW_ACK)] = "ack",
};

const char *const fl__reset_mode_names[2] = {
	[FL_RESET_IN_WINDOW] = "in-window",
	[FL_RESET_OUT_OF_WINDOW] = "out-of-window",
};

const char fl__jitter_name[] = "jitter";

const char *const fl__flag_names[8] = { "FIN", "SYN", "RST", "PSH",
					"ACK", "URG", "ECE", "CWR" };

static const struct fl_check_desc check_table[FL_CHK_COUNT] = {
#define FL_CHECK(id, nm, a, calls, ex) \
	[FL_CHK_##id] = {.name = nm, .arg = a, .on_calls = calls, .explain = ex},
#include "checks.def"
#undef FL_CHECK
};

const char *const fl__check_names[FL_CHK_COUNT] = {
#define FL_CHECK(id, nm, a, calls, ex) [FL_CHK_##id] = nm,
#include "checks.def"
#undef FL_CHECK
};

static const struct fl_setting_desc setting_table[FL_SET_COUNT] = {
#define FL_SETTING(id, nm, a, lo, hi, opt, ex) \
	[FL_SET_##id] = {.name = nm, .arg = a, .min = lo, .max = hi, .option = opt, .explain = ex},
#include "settings.def"
#undef FL_SETTING
};

static const char *const command_table[FL_CMD_COUNT][2] = {
#define FL_COMMAND(id, nm, ex) [FL_CMD_##id] = {nm, ex},
#include "commands.def"
#undef FL_COMMAND
};

const struct fl_setting_desc *fl_setting_desc(enum fl_setting_kind k)
{
	return (unsigned)k < FL_SET_COUNT ? &setting_table[k] : NULL;
}

const char *fl_command_name(enum fl_command_kind k)
{
	return (unsigned)k < FL_CMD_COUNT ? command_table[k][0] : NULL;
}

const struct fl_check_desc *fl_check_desc(enum fl_check_kind k)
{
	return (unsigned)k < FL_CHK_COUNT ? &check_table[k] : NULL;
}

const char *fl_check_name(enum fl_check_kind k)
{
	return (unsigned)k < FL_CHK_COUNT ? fl__check_names[k] : NULL;
}

const char *fl_action_name(enum fl_action a)
{
	static const char *const names[FL_ACT_COUNT] = {
#define FL_ACTION(id, name) [FL_ACT_##id] = name,
#include "actions.def"
#undef FL_ACTION
	};

	return (unsigned)a < FL_ACT_COUNT ? names[a] : "?";
}

const char *fl_side_name(enum fl_side s)
{
	switch (s) {
	case FL_SIDE_ANY:
		return "any";
	case FL_SIDE_CLIENT:
		return "client";
	case FL_SIDE_SERVER:
		return "server";
	case FL_SIDE_TARGET:
		return "target";
	case FL_SIDE_PEER:
		return "peer";
	case FL_SIDE_BOTH:
		return "both";
	}
	return "?";
}

const char *fl__cmp_name(enum fl_cmp c)
{
	switch (c) {
	case FL_CMP_EQ:
		return "==";
	case FL_CMP_NE:
		return "!=";
	case FL_CMP_LT:
		return "<";
	case FL_CMP_LE:
		return "<=";
	case FL_CMP_GT:
		return ">";
	case FL_CMP_GE:
		return ">=";
	}
	return "?";
}

int fl_flags_format(uint8_t flags, char *buf, size_t n)
{
	/* the trace's order (DESIGN.md), not the bit order */
	static const uint8_t order[] = { FL_TCP_SYN, FL_TCP_FIN, FL_TCP_RST,
					 FL_TCP_PSH, FL_TCP_ACK, FL_TCP_URG,
					 FL_TCP_ECE, FL_TCP_CWR };
	struct sbuf sb;
	size_t i;
	const char *sep = "";

	if (!buf || !n)
		return -EINVAL;
	sb_init(&sb, buf, n);
	for (i = 0; i < sizeof(order); i++) {
		if (!(flags & order[i]))
			continue;
		sb_printf(&sb, "%s%s", sep, fl__flag_names[__builtin_ctz(order[i])]);
		sep = ",";
	}
	return sb_done(&sb);
}

static const struct {
	const char *name;
	int num;
} signals[] = {
	{ "SIGHUP", SIGHUP },	{ "SIGINT", SIGINT },	  { "SIGQUIT", SIGQUIT },
	{ "SIGILL", SIGILL },	{ "SIGTRAP", SIGTRAP },	  { "SIGABRT", SIGABRT },
	{ "SIGBUS", SIGBUS },	{ "SIGFPE", SIGFPE },	  { "SIGKILL", SIGKILL },
	{ "SIGUSR1", SIGUSR1 }, { "SIGSEGV", SIGSEGV },	  { "SIGUSR2", SIGUSR2 },
	{ "SIGPIPE", SIGPIPE }, { "SIGALRM", SIGALRM },	  { "SIGTERM", SIGTERM },
	{ "SIGCHLD", SIGCHLD }, { "SIGCONT", SIGCONT },	  { "SIGSTOP", SIGSTOP },
	{ "SIGTSTP", SIGTSTP }, { "SIGTTIN", SIGTTIN },	  { "SIGTTOU", SIGTTOU },
	{ "SIGURG", SIGURG },	{ "SIGXCPU", SIGXCPU },	  { "SIGXFSZ", SIGXFSZ },
	{ "SIGVTALRM", SIGVTALRM }, { "SIGPROF", SIGPROF }, { "SIGWINCH", SIGWINCH },
	{ "SIGIO", SIGIO },	{ "SIGSYS", SIGSYS },
};

const char *fl_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].num == sig)
			return signals[i].name;
	return NULL;
}

int fl_signal_number(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(name, signals[i].name) == 0 ||
		    strcasecmp(name, signals[i].name + 3) == 0)
			return signals[i].num;
	return -1;
}

/* The other spellings rule files accept: RFC 793's and ss(8)'s.
 * STATE_ALIAS(ALIAS, STATE) for the two tables below. */
#define STATE_ALIASES                              \
	STATE_ALIAS(CLOSED, CLOSE)                 \
	STATE_ALIAS(FIN_WAIT_1, FIN_WAIT1)         \
	STATE_ALIAS(FIN_WAIT_2, FIN_WAIT2)         \
	STATE_ALIAS(SYN_RECEIVED, SYN_RECV)        \
	STATE_ALIAS(ESTAB, ESTABLISHED)

/* Canonical names first, then the aliases, each with the state it stands
 * for.  Lookup ignores case and treats '-' like '_'. */
static const struct {
	const char *name;
	int state;
} state_tab[] = {
#define FL_TCP_STATE(name, num) { #name, num },
#include "tcp_states.def"
#undef FL_TCP_STATE
#define STATE_ALIAS(alias, st) { #alias, FL_TCP_##st },
	STATE_ALIASES
#undef STATE_ALIAS
};

/* The same words, for "did you mean". */
const char *const fl__state_words[] = {
#define FL_TCP_STATE(name, num) #name,
#include "tcp_states.def"
#undef FL_TCP_STATE
#define STATE_ALIAS(alias, st) #alias,
	STATE_ALIASES
#undef STATE_ALIAS
};
const size_t fl__nstate_words = sizeof(fl__state_words) / sizeof(fl__state_words[0]);

const char *fl_state_name(int state)
{
	/* by the kernel's number, whatever the .def's order */
	static const char *const names[] = {
#define FL_TCP_STATE(name, num) [num] = #name,
#include "tcp_states.def"
#undef FL_TCP_STATE
	};

	if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[state];
}

int fl_state_parse(const char *name)
{
	size_t i, k, n;

	if (!name)
		return -1;
	n = strlen(name);
	for (i = 0; i < sizeof(state_tab) / sizeof(state_tab[0]); i++) {
		const char *s = state_tab[i].name;

		if (strlen(s) != n)
			continue;
		for (k = 0; k < n; k++) {
			char c = name[k] == '-' ? '_' : name[k];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (c != s[k])
				break;
		}
		if (k == n)
			return state_tab[i].state;
	}
	return -1;
}

/* ---- numbers ---- */

int fl__dur_format(uint64_t us, char *buf, size_t n)
{
	struct sbuf sb;

	sb_init(&sb, buf, n);
	if (us % 1000000 == 0)
		sb_printf(&sb, "%llus", (unsigned long long)(us / 1000000));
	else if (us % 1000 == 0)
		sb_printf(&sb, "%llums", (unsigned long long)(us / 1000));
	else
		sb_printf(&sb, "%lluus", (unsigned long long)us);
	return sb_done(&sb);
}

int fl__size_format(uint64_t v, char *buf, size_t n)
{
	struct sbuf sb;

	sb_init(&sb, buf, n);
	if (v && v % (1ull << 30) == 0)
		sb_printf(&sb, "%llug", (unsigned long long)(v >> 30));
	else if (v && v % (1ull << 20) == 0)
		sb_printf(&sb, "%llum", (unsigned long long)(v >> 20));
	else if (v && v % (1ull << 10) == 0)
		sb_printf(&sb, "%lluk", (unsigned long long)(v >> 10));
	else
		sb_printf(&sb, "%llu", (unsigned long long)v);
	return sb_done(&sb);
}

/* ppm as a percentage without trailing zeros: 100000 -> "10", 5000 -> "0.5" */
static void pct_format(uint32_t ppm, char *buf, size_t n)
{
	unsigned whole = ppm / 10000, frac = ppm % 10000;
	int digits = 4;

	if (!frac) {
		snprintf(buf, n, "%u", whole);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, n, "%u.%0*u", whole, digits, frac);
}

/* ---- rules ---- */

#define RW_NAME(bit) fl__rw_field_names[__builtin_ctz(bit)]

/* " KEYWORD VALUE" for one match or limit of r, nothing when r lacks it. */
static void match_format(struct sbuf *sb, const struct fl_rule *r, enum fl_kw k)
{
	const char *kw = fl__kw[k].name;
	char a[64];

	switch (k) {
	case FL_KW_FROM:
		if (r->from != FL_SIDE_ANY)
			sb_printf(sb, " %s %s", kw, fl_side_name(r->from));
		break;
	case FL_KW_PORT:
		if (r->port)
			sb_printf(sb, " %s %u", kw, (unsigned)r->port);
		break;
	case FL_KW_FLAGS:
	case FL_KW_NFLAGS: {
		uint8_t f = k == FL_KW_FLAGS ? r->flags_set : r->flags_clear;

		if (f) {
			fl_flags_format(f, a, sizeof(a));
			sb_printf(sb, " %s %s", kw, a);
		}
		break;
	}
	case FL_KW_DATA:
		if (r->data)
			sb_printf(sb, " %s", kw);
		break;
	case FL_KW_LEN:
		if (r->has_len) {
			fl__size_format(r->len_val, a, sizeof(a));
			sb_printf(sb, " %s %s %s", kw, fl__cmp_name(r->len_op), a);
		}
		break;
	case FL_KW_CONN:
		if (r->conn)
			sb_printf(sb, " %s %u", kw, (unsigned)r->conn);
		break;
	case FL_KW_NTH:
		if (r->nth)
			sb_printf(sb, " %s %u", kw, (unsigned)r->nth);
		break;
	case FL_KW_PROB:
		if (r->has_prob) {
			pct_format(r->prob_ppm, a, sizeof(a));
			sb_printf(sb, " %s %s%%", kw, a);
		}
		break;
	case FL_KW_TIMES:
		if (r->times)
			sb_printf(sb, " %s %llu", kw, (unsigned long long)r->times);
		break;
	case FL_KW_AFTER:
	case FL_KW_BEFORE:
		if (k == FL_KW_AFTER ? r->has_after : r->has_before) {
			fl__dur_format(k == FL_KW_AFTER ? r->after_us : r->before_us,
				       a, sizeof(a));
			sb_printf(sb, " %s %s", kw, a);
		}
		break;
	case FL_KW_AFTER_BYTES:
		if (r->has_after_bytes) {
			fl__size_format(r->after_bytes, a, sizeof(a));
			sb_printf(sb, " %s %s", kw, a);
		}
		break;
	case FL_KW_COUNT:
		break;
	}
}

int fl_rule_format(const struct fl_rule *r, char *buf, size_t n)
{
	char a[64];
	struct sbuf sb;

	if (!r || !buf || !n)
		return -EINVAL;
	sb_init(&sb, buf, n);
	sb_printf(&sb, "%s", fl_action_name(r->action));
	switch (r->action) {
	case FL_ACT_DROP:
	case FL_ACT_BLACKHOLE:
	case FL_ACT_CORRUPT:
		break;
	case FL_ACT_DELAY:
		fl__dur_format(r->delay_us, a, sizeof(a));
		sb_printf(&sb, " %s", a);
		if (r->jitter_us) {
			fl__dur_format(r->jitter_us, a, sizeof(a));
			sb_printf(&sb, " %s %s", fl__jitter_name, a);
		}
		break;
	case FL_ACT_REWRITE:
		if (r->rw_mask & FL_RW_FLAGS) {
			fl_flags_format(r->rw_flags, a, sizeof(a));
			sb_printf(&sb, " %s=%s", RW_NAME(FL_RW_FLAGS), a);
		}
		if (r->rw_mask & FL_RW_WINDOW)
			sb_printf(&sb, " %s=%u", RW_NAME(FL_RW_WINDOW),
				  (unsigned)r->rw_window);
		if (r->rw_mask & FL_RW_SEQ)
			sb_printf(&sb, " %s=%+lld", RW_NAME(FL_RW_SEQ),
				  (long long)r->rw_seq);
		if (r->rw_mask & FL_RW_ACK)
			sb_printf(&sb, " %s=%+lld", RW_NAME(FL_RW_ACK),
				  (long long)r->rw_ack);
		break;
	case FL_ACT_RESET:
		if (r->reset_mode == FL_RESET_OUT_OF_WINDOW) /* in-window: the default */
			sb_printf(&sb, " %s",
				  fl__reset_mode_names[FL_RESET_OUT_OF_WINDOW]);
		break;
	case FL_ACT_DUPLICATE:
		if (r->count != 1)
			sb_printf(&sb, " %u", r->count);
		break;
	case FL_ACT_REORDER:
		if (r->reorder_us) {
			fl__dur_format(r->reorder_us, a, sizeof(a));
			sb_printf(&sb, " %s", a);
		}
		break;
	case FL_ACT_TRUNCATE:
		fl__size_format(r->truncate_len, a, sizeof(a));
		sb_printf(&sb, " %s", a);
		break;
	}
	for (int k = 0; k < FL_KW_COUNT; k++)
		match_format(&sb, r, (enum fl_kw)k);
	return sb_done(&sb);
}

static const char *side_phrase(enum fl_side s)
{
	switch (s) {
	case FL_SIDE_ANY:
		return "either side";
	case FL_SIDE_CLIENT:
		return "the client";
	case FL_SIDE_SERVER:
		return "the server";
	case FL_SIDE_TARGET:
		return "the target";
	case FL_SIDE_PEER:
		return "the target's peer";
	case FL_SIDE_BOTH:
		return "both sides";
	}
	return "?";
}

static const char *ordinal_suffix(uint64_t n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	switch (n % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	default:
		return "th";
	}
}

/* "FIN", "FIN and ACK", "SYN, FIN and ACK" */
static void flags_phrase(struct sbuf *sb, uint8_t flags, const char *join)
{
	char list[64], *p = list, *comma;

	fl_flags_format(flags, list, sizeof(list));
	while ((comma = strchr(p, ',')) != NULL) {
		*comma = '\0';
		sb_printf(sb, "%s%s", p, strchr(comma + 1, ',') ? ", " : join);
		p = comma + 1;
	}
	sb_printf(sb, "%s", p);
}

static const char *len_phrase(enum fl_cmp c)
{
	switch (c) {
	case FL_CMP_EQ:
		return "exactly";
	case FL_CMP_NE:
		return "other than";
	case FL_CMP_LT:
		return "less than";
	case FL_CMP_LE:
		return "at most";
	case FL_CMP_GT:
		return "more than";
	case FL_CMP_GE:
		return "at least";
	}
	return "?";
}

static const char *explain_verb(const struct fl_rule *r)
{
	switch (r->action) {
	case FL_ACT_DROP:
		return "Drop";
	case FL_ACT_DELAY:
		return "Delay";
	case FL_ACT_REWRITE:
		return "Rewrite";
	case FL_ACT_RESET:
		return "Replace";
	case FL_ACT_BLACKHOLE:
		return "Black-hole the flow, dropping every segment in both "
		       "directions, starting at its first";
	case FL_ACT_DUPLICATE:
		return "Duplicate";
	case FL_ACT_REORDER:
		return "Hold back";
	case FL_ACT_CORRUPT:
		return "Corrupt the TCP checksum of";
	case FL_ACT_TRUNCATE:
		return "Truncate the payload of";
	}
	return "?";
}

int fl_rule_explain(const struct fl_rule *r, char *buf, size_t n)
{
	char a[64], b[64];
	struct sbuf sb;
	int any = r && (r->from || r->port || r->flags_set || r->flags_clear ||
			r->data || r->has_len || r->conn);

	if (!r || !buf || !n)
		return -EINVAL;
	sb_init(&sb, buf, n);
	if (r->action == FL_ACT_BLACKHOLE)
		sb_printf(&sb, "%s segment", explain_verb(r));
	else
		sb_printf(&sb, "%s %ssegments", explain_verb(r), any ? "" : "all ");
	if (r->from)
		sb_printf(&sb, " from %s", side_phrase(r->from));
	if (r->port)
		sb_printf(&sb, " on port %u", (unsigned)r->port);
	if (r->flags_set) {
		sb_printf(&sb, " with ");
		flags_phrase(&sb, r->flags_set, " and ");
		sb_printf(&sb, " set");
	}
	if (r->flags_clear) {
		sb_printf(&sb, r->flags_set ? " and " : " with ");
		if (__builtin_popcount(r->flags_clear) > 1) {
			sb_printf(&sb, "neither ");
			flags_phrase(&sb, r->flags_clear, " nor ");
		} else {
			flags_phrase(&sb, r->flags_clear, "");
			sb_printf(&sb, " not");
		}
		sb_printf(&sb, " set");
	}
	if (r->data)
		sb_printf(&sb, " carrying data");
	if (r->has_len)
		sb_printf(&sb, " with a payload of %s %u byte%s",
			  len_phrase(r->len_op), (unsigned)r->len_val,
			  r->len_val == 1 ? "" : "s");
	if (r->conn)
		sb_printf(&sb, " on the %u%s connection", (unsigned)r->conn,
			  ordinal_suffix(r->conn));
	switch (r->action) {
	case FL_ACT_DROP:
	case FL_ACT_BLACKHOLE:
		break;
	case FL_ACT_DELAY:
		fl__dur_format(r->delay_us, a, sizeof(a));
		sb_printf(&sb, " by %s", a);
		if (r->jitter_us) {
			fl__dur_format(r->jitter_us, a, sizeof(a));
			sb_printf(&sb, " give or take %s", a);
		}
		break;
	case FL_ACT_REWRITE: {
		const char *sep = " so that ";

		if (r->rw_mask & FL_RW_FLAGS) {
			sb_printf(&sb, "%sthe flags become ", sep);
			flags_phrase(&sb, r->rw_flags, " and ");
			sep = ", ";
		}
		if (r->rw_mask & FL_RW_WINDOW) {
			sb_printf(&sb, "%sthe window becomes %u", sep,
				  (unsigned)r->rw_window);
			sep = ", ";
		}
		if (r->rw_mask & FL_RW_SEQ) {
			sb_printf(&sb, "%sthe sequence number moves by %+lld", sep,
				  (long long)r->rw_seq);
			sep = ", ";
		}
		if (r->rw_mask & FL_RW_ACK)
			sb_printf(&sb, "%sthe acknowledgment number moves by %+lld",
				  sep, (long long)r->rw_ack);
		sb_printf(&sb, " (checksum recomputed)");
		break;
	}
	case FL_ACT_RESET:
		if (r->reset_mode == FL_RESET_IN_WINDOW)
			sb_printf(&sb, " with an in-window RST sent to their receiver");
		else
			sb_printf(&sb, " with an out-of-window RST sent to their "
				       "receiver (which should answer with a challenge ACK)");
		break;
	case FL_ACT_DUPLICATE:
		sb_printf(&sb, " (%u extra cop%s)", r->count, r->count == 1 ? "y" : "ies");
		break;
	case FL_ACT_REORDER:
		fl__dur_format(r->reorder_us ? r->reorder_us : FL_REORDER_DEFAULT_US,
			       a, sizeof(a));
		sb_printf(&sb, " until the next segment of the flow in the same "
			       "direction has passed, or %s elapse%s", a,
			  r->reorder_us ? "" : " (the default)");
		break;
	case FL_ACT_CORRUPT:
		sb_printf(&sb, " so the receiver's kernel discards them");
		break;
	case FL_ACT_TRUNCATE:
		sb_printf(&sb, " to %u bytes", r->truncate_len);
		break;
	}
	if (r->nth)
		sb_printf(&sb, ", only the %u%s such segment of each flow",
			  (unsigned)r->nth, ordinal_suffix(r->nth));
	if (r->has_prob) {
		pct_format(r->prob_ppm, a, sizeof(a));
		sb_printf(&sb, ", with probability %s%%", a);
	}
	if (r->has_after && r->has_before) {
		fl__dur_format(r->after_us, a, sizeof(a));
		fl__dur_format(r->before_us, b, sizeof(b));
		sb_printf(&sb, ", between %s and %s after the flow's first packet", a, b);
	} else if (r->has_after) {
		fl__dur_format(r->after_us, a, sizeof(a));
		sb_printf(&sb, ", from %s after the flow's first packet on", a);
	} else if (r->has_before) {
		fl__dur_format(r->before_us, b, sizeof(b));
		sb_printf(&sb, ", only in the first %s of the flow", b);
	}
	if (r->has_after_bytes)
		sb_printf(&sb, ", once the sender's stream passes byte %llu",
			  (unsigned long long)r->after_bytes);
	if (r->times == 1)
		sb_printf(&sb, ", once");
	else if (r->times)
		sb_printf(&sb, ", at most %llu times", (unsigned long long)r->times);
	sb_printf(&sb, ".");
	return sb_done(&sb);
}

/* ---- expects ---- */

/* The argument of e as written ("1s", "100", "SIGTERM", "0"). */
static void arg_text(const struct fl_expect *e, char *buf, size_t n)
{
	const struct fl_check_desc *d = fl_check_desc(e->kind);
	const char *name;

	buf[0] = 0;
	switch (d ? d->arg : FL_ARG_NONE) {
	case FL_ARG_STATUS:
	case FL_ARG_LE_COUNT:
		snprintf(buf, n, "%lld", (long long)e->arg);
		break;
	case FL_ARG_SIGNAL:
		name = fl_signal_name((int)e->arg);
		if (name)
			snprintf(buf, n, "%s", name);
		else
			snprintf(buf, n, "%lld", (long long)e->arg);
		break;
	case FL_ARG_DUR:
	case FL_ARG_LE_DUR:
		fl__dur_format((uint64_t)e->arg, buf, n);
		break;
	case FL_ARG_NONE:
	case FL_ARG_PATH:
		break;
	}
}

int fl__expect_text(const struct fl_expect *e, char *buf, size_t n)
{
	const struct fl_check_desc *d;
	char a[64];
	struct sbuf sb;
	unsigned i;

	if (!e || !buf || !n)
		return -EINVAL;
	d = fl_check_desc(e->kind);
	sb_init(&sb, buf, n);
	sb_printf(&sb, "%s", d ? d->name : "?");
	arg_text(e, a, sizeof(a));
	switch (d ? d->arg : FL_ARG_NONE) {
	case FL_ARG_STATUS:
	case FL_ARG_SIGNAL:
	case FL_ARG_DUR:
		sb_printf(&sb, " %s", a);
		break;
	case FL_ARG_LE_DUR:
	case FL_ARG_LE_COUNT:
		sb_printf(&sb, " <= %s", a);
		break;
	case FL_ARG_NONE:
		break;
	case FL_ARG_PATH:
		sb_printf(&sb, " %s", fl_side_name(e->path_side));
		for (i = 0; i < e->npath && i < FL_PATH_MAX; i++) {
			const char *s = fl_state_name(e->path[i]);

			sb_printf(&sb, "%s%s", i ? " > " : " ", s ? s : "?");
		}
		break;
	}
	return sb_done(&sb);
}

int fl_expect_format(const struct fl_expect *e, char *buf, size_t n)
{
	char text[512];
	struct sbuf sb;
	int w;

	if (!e || !buf || !n)
		return -EINVAL;
	w = fl__expect_text(e, text, sizeof(text));
	if (w < 0)
		return w;
	sb_init(&sb, buf, n);
	sb_printf(&sb, "expect %s", text);
	return sb_done(&sb);
}

int fl_expect_explain(const struct fl_expect *e, char *buf, size_t n)
{
	const struct fl_check_desc *d;
	char a[64];
	struct sbuf sb;
	unsigned i;

	if (!e || !buf || !n || !(d = fl_check_desc(e->kind)))
		return -EINVAL;
	sb_init(&sb, buf, n);
	if (d->explain) {
		arg_text(e, a, sizeof(a));
		if (e->kind == FL_CHK_SIGNAL && !fl_signal_name((int)e->arg))
			snprintf(a, sizeof(a), "a signal");
		const char *at = strstr(d->explain, "%s");

		if (at)
			sb_printf(&sb, "%.*s%s%s", (int)(at - d->explain),
				  d->explain, a, at + 2);
		else
			sb_printf(&sb, "%s", d->explain);
	} else {
		/* path: "The server's socket goes through A, B in that order." */
		const char *side = side_phrase(e->path_side);

		sb_printf(&sb, "%c%s's socket goes through ", side[0] - 'a' + 'A', side + 1);
		for (i = 0; i < e->npath && i < FL_PATH_MAX; i++) {
			const char *s = fl_state_name(e->path[i]);

			sb_printf(&sb, "%s%s", i ? ", " : "", s ? s : "?");
		}
		sb_printf(&sb, e->npath > 1 ? " in that order." : ".");
	}
	return sb_done(&sb);
}

/* ---- commands and settings ---- */

/* fmt with its one "%s" replaced by arg (the tables' sentences). */
static void sb_fill(struct sbuf *sb, const char *fmt, const char *arg)
{
	const char *at = strstr(fmt, "%s");

	if (at)
		sb_printf(sb, "%.*s%s%s", (int)(at - fmt), fmt, arg, at + 2);
	else
		sb_printf(sb, "%s", fmt);
}

int fl_command_format(const struct fl_ruleset *rs, enum fl_command_kind k,
		      char *buf, size_t n)
{
	struct sbuf sb;

	if (!rs || !buf || !n || (unsigned)k >= FL_CMD_COUNT || !rs->commands[k].text)
		return -EINVAL;
	sb_init(&sb, buf, n);
	sb_printf(&sb, "%s %s", command_table[k][0], rs->commands[k].text);
	return sb_done(&sb);
}

int fl_command_explain(const struct fl_ruleset *rs, enum fl_command_kind k,
		       char *buf, size_t n)
{
	struct sbuf sb;

	if (!rs || !buf || !n || (unsigned)k >= FL_CMD_COUNT || !rs->commands[k].text)
		return -EINVAL;
	sb_init(&sb, buf, n);
	sb_fill(&sb, command_table[k][1], rs->commands[k].text);
	return sb_done(&sb);
}

/* The value of setting k as written: "20s", "9000", "" for a flag. */
static void setting_value(const struct fl_ruleset *rs, enum fl_setting_kind k,
			  char *buf, size_t n)
{
	const struct fl_setting_desc *d = &setting_table[k];

	buf[0] = '\0';
	switch (d->arg) {
	case FL_SETARG_NUM:
		snprintf(buf, n, "%llu", (unsigned long long)rs->settings[k].value);
		break;
	case FL_SETARG_DUR:
		fl__dur_format(rs->settings[k].value, buf, n);
		break;
	case FL_SETARG_FLAG:
		break;
	}
}

int fl_setting_format(const struct fl_ruleset *rs, enum fl_setting_kind k,
		      char *buf, size_t n)
{
	struct sbuf sb;
	char v[64];

	if (!rs || !buf || !n || (unsigned)k >= FL_SET_COUNT || !rs->settings[k].given)
		return -EINVAL;
	setting_value(rs, k, v, sizeof(v));
	sb_init(&sb, buf, n);
	sb_printf(&sb, "set %s%s%s", setting_table[k].name, v[0] ? " " : "", v);
	return sb_done(&sb);
}

int fl_setting_explain(const struct fl_ruleset *rs, enum fl_setting_kind k,
		       char *buf, size_t n)
{
	struct sbuf sb;
	char v[64];

	if (!rs || !buf || !n || (unsigned)k >= FL_SET_COUNT || !rs->settings[k].given)
		return -EINVAL;
	setting_value(rs, k, v, sizeof(v));
	sb_init(&sb, buf, n);
	sb_fill(&sb, setting_table[k].explain, v);
	/* "... after 20s (as --timeout)." */
	if (!sb.full && sb.len && sb.buf[sb.len - 1] == '.')
		sb.buf[--sb.len] = '\0';
	sb_printf(&sb, " (as %s).", setting_table[k].option);
	return sb_done(&sb);
}
