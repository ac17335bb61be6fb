/*
 * rules.h - the faultline rule language: parser, printer and matcher.
 *
 * This library makes no system calls (no I/O, no clock): the caller hands it
 * text to parse and segments to match, with the current time.  That keeps it
 * testable from bytes alone and fuzzable.  Not thread-safe per object; use
 * one matcher per thread.
 *
 * The reference for the language is rules/README.md.
 */
#ifndef FL_RULES_H
#define FL_RULES_H

#include <stddef.h>
#include <stdint.h>

/* TCP flag bits, as on the wire (RFC 9293 section 3.1, byte 13). */
enum {
	FL_TCP_FIN = 0x01,
	FL_TCP_SYN = 0x02,
	FL_TCP_RST = 0x04,
	FL_TCP_PSH = 0x08,
	FL_TCP_ACK = 0x10,
	FL_TCP_URG = 0x20,
	FL_TCP_ECE = 0x40,
	FL_TCP_CWR = 0x80,
};

enum fl_action {
#define FL_ACTION(id, name) FL_ACT_##id,
#include "actions.def"
#undef FL_ACTION
};
/* How many (apart from the enum, so switches over it stay exhaustive). */
enum { FL_ACT_COUNT = 0
#define FL_ACTION(id, name) + 1
#include "actions.def"
#undef FL_ACTION
};

/* Which side sent a segment.  client = the side that sent the SYN. */
enum fl_side {
	FL_SIDE_ANY,
	FL_SIDE_CLIENT,
	FL_SIDE_SERVER,
	FL_SIDE_TARGET,
	FL_SIDE_PEER,
	FL_SIDE_BOTH, /* a flow's target_side only: both sockets are the
			 target's (a proxy and its backend) */
};

enum fl_cmp { FL_CMP_EQ, FL_CMP_NE, FL_CMP_LT, FL_CMP_LE, FL_CMP_GT, FL_CMP_GE };

/* rewrite fields present (bit set in fl_rule.rw_mask) */
enum {
	FL_RW_FLAGS = 1u << 0,
	FL_RW_WINDOW = 1u << 1,
	FL_RW_SEQ = 1u << 2, /* seq offset, signed */
	FL_RW_ACK = 1u << 3, /* ack offset, signed */
};

enum fl_reset_mode { FL_RESET_IN_WINDOW, FL_RESET_OUT_OF_WINDOW };

/* How long `reorder` without a duration holds a segment when no later one
 * comes: 100ms, under Linux's 200ms minimum retransmission timeout
 * (TCP_RTO_MIN), so the sender has not retransmitted it yet. */
#define FL_REORDER_DEFAULT_US 100000u

struct fl_rule {
	const char *file; /* owned by the ruleset */
	unsigned line, col;
	enum fl_action action;

	/* action arguments */
	uint64_t delay_us;  /* delay */
	uint64_t jitter_us; /* delay: uniform in [-jitter, +jitter] */
	unsigned rw_mask;   /* rewrite: FL_RW_* */
	uint8_t rw_flags;
	uint16_t rw_window;
	int64_t rw_seq, rw_ack;
	unsigned count;            /* duplicate N (default 1) */
	uint32_t truncate_len;     /* truncate N: keep N payload bytes */
	enum fl_reset_mode reset_mode;
	uint64_t reorder_us;       /* reorder: release after this if no later
				      segment came; 0 = not given, the engine
				      uses FL_REORDER_DEFAULT_US */

	/* matches; a zero/ANY value matches everything */
	enum fl_side from;
	uint16_t port;       /* 0 = any; else either endpoint's port */
	uint8_t flags_set;   /* all of these set */
	uint8_t flags_clear; /* none of these set (!flags) */
	int data;            /* payload length > 0 */
	int has_len;
	enum fl_cmp len_op;
	uint32_t len_val;
	uint32_t conn;       /* 0 = any; else the Nth connection (1-based) */
	uint32_t nth;        /* 0 = any; else Nth segment of the flow that
				matched everything else (1-based) */
	uint32_t prob_ppm;   /* 0 = no prob match; else parts per million */
	int has_prob;

	/* limits */
	uint64_t times;       /* 0 = unlimited */
	int has_after, has_before;
	uint64_t after_us, before_us; /* relative to the flow's first packet */
	int has_after_bytes;
	uint64_t after_bytes; /* sender's stream offset */
};

/* The expect checks (rules/checks.def defines each once). */
enum fl_check_kind {
#define FL_CHECK(id, name, arg, on_calls, explain) FL_CHK_##id,
#include "checks.def"
#undef FL_CHECK
	FL_CHK_COUNT
};

/* How an expect line's argument is written. */
enum fl_check_arg {
	FL_ARG_NONE,     /* expect no-sigpipe */
	FL_ARG_STATUS,   /* expect exit 0 (0..255) */
	FL_ARG_SIGNAL,   /* expect signal SIGTERM */
	FL_ARG_DUR,      /* expect eof-close 1s */
	FL_ARG_LE_DUR,   /* expect close-time <= 2s */
	FL_ARG_LE_COUNT, /* expect time-wait <= 100 */
	FL_ARG_PATH,     /* expect path server SYN_RECV > ESTABLISHED */
};

/* One check as rules/checks.def defines it. */
struct fl_check_desc {
	const char *name;    /* "no-close-wait" */
	enum fl_check_arg arg;
	int on_calls;        /* judged on the target's socket calls */
	const char *explain; /* one sentence, %s = the argument; NULL: path */
};

/* The check's entry (k < FL_CHK_COUNT), or NULL. */
const struct fl_check_desc *fl_check_desc(enum fl_check_kind k);

/* TCP states, numbered as the kernel's include/net/tcp_states.h. */
enum fl_tcp_state {
#define FL_TCP_STATE(name, num) FL_TCP_##name = num,
#include "tcp_states.def"
#undef FL_TCP_STATE
};

#define FL_PATH_MAX 16 /* states in one "expect path" */

struct fl_expect {
	const char *file;
	unsigned line, col;
	enum fl_check_kind kind;
	int64_t arg;      /* exit code, signal number, duration in us, count */
	char *text;       /* canonical text of the line, e.g. "exit 0" */
	/* FL_CHK_PATH: the side whose socket must go through path[0..npath)
	   (enum fl_tcp_state values) in that order */
	enum fl_side path_side;
	unsigned npath;
	uint8_t path[FL_PATH_MAX];
};

/* What a rule file says to start (rules/commands.def): `target CMD`,
 * `driver CMD`, `peer CMD`, each a shell command taken verbatim. */
enum fl_command_kind {
#define FL_COMMAND(id, name, explain) FL_CMD_##id,
#include "commands.def"
#undef FL_COMMAND
	FL_CMD_COUNT
};

/* The run options a rule file may set (rules/settings.def). */
#define FL_SET_DUR_MAX (1000000000ull * 1000000u) /* 10^9 s, as the CLI's */
enum fl_setting_kind {
#define FL_SETTING(id, name, arg, min, max, opt, explain) FL_SET_##id,
#include "settings.def"
#undef FL_SETTING
	FL_SET_COUNT
};

enum fl_setting_arg {
	FL_SETARG_NUM,  /* set mtu 9000 */
	FL_SETARG_DUR,  /* set timeout 20s (the value in us) */
	FL_SETARG_FLAG, /* set allow-skip (the value 1) */
};

/* One setting as rules/settings.def defines it. */
struct fl_setting_desc {
	const char *name;    /* "ready-delay" */
	enum fl_setting_arg arg;
	uint64_t min, max;
	const char *option;  /* "--ready-delay" */
	const char *explain; /* one sentence, %s = the value */
};

/* The setting's entry (k < FL_SET_COUNT), or NULL. */
const struct fl_setting_desc *fl_setting_desc(enum fl_setting_kind k);
const char *fl_command_name(enum fl_command_kind k); /* "target", ... */

/* A command line of the files: text NULL when none gave it. */
struct fl_command {
	char *text;       /* the command, owned by the ruleset */
	const char *file; /* owned by the ruleset */
	unsigned line, col;
};

/* A set line of the files: given 0 when none gave it. */
struct fl_setting {
	int given;
	uint64_t value;   /* number, duration in us, 1 for a flag */
	const char *file; /* owned by the ruleset */
	unsigned line;
};

struct fl_ruleset {
	char **files; /* names given to fl_rules_parse, owned */
	size_t nfiles;
	struct fl_rule *rules;
	size_t nrules;
	struct fl_expect *expects;
	size_t nexpects;
	int has_seed; /* = settings[FL_SET_SEED], kept for its readers */
	uint64_t seed;
	/* what the files say to run, and the run options they set: at most
	 * one of each in the files of one run (a value set by two files must
	 * be the same), never both a driver and a peer */
	struct fl_command commands[FL_CMD_COUNT];
	struct fl_setting settings[FL_SET_COUNT];
	/* the text of each file, parallel to files (for fl_rules_lint), owned */
	char **texts;
	size_t *text_lens;
};

/* Diagnostics: a growing text buffer of compiler-style messages. */
struct fl_diag {
	char *buf; /* NUL-terminated, owned; NULL when empty */
	size_t len, cap;
	unsigned nerrors, nwarnings;
};

void fl_diag_free(struct fl_diag *d);

/* Returns a new empty ruleset; the caller frees it with fl_ruleset_free(). */
struct fl_ruleset *fl_ruleset_new(void);
void fl_ruleset_free(struct fl_ruleset *rs);

/*
 * Parse the rule file text (len bytes, need not be NUL-terminated) named
 * name, appending its rules, expects, commands and settings to rs.  Every
 * error in the file is appended to diag as
 * "name:line:col: error: message\n<line>\n<caret>\n".
 * Returns 0, -EINVAL when the file had errors (nothing is appended to rs
 * then: a file with an error is refused whole; a setting that differs
 * from an earlier file's, a second target, driver or peer, or a driver
 * with a peer, also across files, are such errors), -E2BIG past 2^31
 * rules, or -ENOMEM.
 */
int fl_rules_parse(struct fl_ruleset *rs, const char *name, const char *text,
		   size_t len, struct fl_diag *diag);

/*
 * Warnings about rules that parse but probably don't do what the author
 * meant: a rule shadowed by an earlier rule that always wins, contradictory
 * matches (flags X with !flags X, data with len == 0), a delay reaching the
 * initial retransmission timeout, prob without "set seed".  Appended to diag
 * as "file:line:col: warning: message" plus the line and a caret.  Returns
 * the number of warnings added, or -ENOMEM.
 */
int fl_rules_lint(const struct fl_ruleset *rs, struct fl_diag *diag);

/*
 * Canonical one-line form of a rule / expect (parses back to the same).
 * These and the other *_format / *_explain functions write a NUL-terminated
 * string and return its length, or -ENOSPC when it did not fit (buf then
 * holds a truncated string), or -EINVAL.
 */
int fl_rule_format(const struct fl_rule *r, char *buf, size_t n);
int fl_expect_format(const struct fl_expect *e, char *buf, size_t n);
/* One plain-English sentence saying what the rule does. */
int fl_rule_explain(const struct fl_rule *r, char *buf, size_t n);
int fl_expect_explain(const struct fl_expect *e, char *buf, size_t n);

/* "target CMD" / "set timeout 20s": the line's canonical form, and one
 * sentence saying what it does; -EINVAL when the files gave no such
 * line. */
int fl_command_format(const struct fl_ruleset *rs, enum fl_command_kind k,
		      char *buf, size_t n);
int fl_command_explain(const struct fl_ruleset *rs, enum fl_command_kind k,
		       char *buf, size_t n);
int fl_setting_format(const struct fl_ruleset *rs, enum fl_setting_kind k,
		      char *buf, size_t n);
int fl_setting_explain(const struct fl_ruleset *rs, enum fl_setting_kind k,
		       char *buf, size_t n);

/* Names */
const char *fl_action_name(enum fl_action a); /* "drop", ... */
/* "SYN,FIN,ACK": order SYN,FIN,RST,PSH,ACK,URG,ECE,CWR; "" for none */
int fl_flags_format(uint8_t flags, char *buf, size_t n);
const char *fl_side_name(enum fl_side s);
const char *fl_signal_name(int sig); /* "SIGPIPE"; NULL if unknown */
int fl_signal_number(const char *name); /* "SIGPIPE"/"PIPE"; -1 unknown */
const char *fl_check_name(enum fl_check_kind k); /* "no-close-wait", ... */
/* "ESTABLISHED", ... as the kernel names them; NULL if not 1..12 */
const char *fl_state_name(int state);
/* State name or alias (CLOSED, FIN_WAIT_1, FIN-WAIT-1, SYN_RECEIVED, ESTAB,
   any case) to enum fl_tcp_state; -1 unknown */
int fl_state_parse(const char *name);

/* 1 if the engine needs the whole packet (not just headers) to apply r's
   action: rewrite, corrupt, truncate, duplicate. */
int fl_rule_needs_payload(const struct fl_rule *r);

/* ---- matching ---- */

/* One TCP segment as the matcher sees it. */
struct fl_segment {
	enum fl_side from;      /* FL_SIDE_CLIENT or FL_SIDE_SERVER */
	enum fl_side target_side; /* which side is the target's socket:
				     FL_SIDE_CLIENT, _SERVER or _ANY if unknown */
	uint8_t flags;
	uint32_t payload_len;
	uint16_t sport, dport;
	uint64_t stream_off;    /* sender's stream offset of the first payload
				   byte (relative seq - 1 after the SYN) */
};

/* Per-flow matcher state; the caller embeds it in its flow and zeroes it. */
struct fl_flow_match {
	uint32_t flow_id;   /* 1-based, for the random stream */
	uint32_t conn;      /* 1-based connection number */
	uint64_t first_us;  /* time of the flow's first packet */
	uint32_t *hits;     /* per rule: segments that passed every match, the
			       after/before/after-bytes limits and prob, i.e.
			       what nth counts (nrules entries, caller-allocated,
			       zeroed; NULL: rules with nth never match) */
	uint32_t *draws;    /* per rule: random draws made (nrules entries;
			       NULL: rules with prob never match) */
};

struct fl_matcher;

/*
 * Returns a matcher over rs (rs must outlive it); free with fl_matcher_free.
 * seed feeds prob: the caller picks --seed, else rs->seed, else its own.
 * NULL when out of memory.
 */
struct fl_matcher *fl_matcher_new(const struct fl_ruleset *rs, uint64_t seed);
void fl_matcher_free(struct fl_matcher *m);

/*
 * First matching rule wins; rules/README.md ("Matching: the exact
 * semantics") gives the order of the tests and what hits, draws and the
 * times counter count.  now_us is the time since the run began.
 * Returns the index of the rule that matched (its times counter is
 * consumed), or -1 when none did.
 */
int fl_matcher_match(struct fl_matcher *m, const struct fl_segment *seg,
		     struct fl_flow_match *fm, uint64_t now_us);
/* Times rule i has fired so far. */
uint64_t fl_matcher_fired(const struct fl_matcher *m, size_t i);

/* Random value in [0, 2^32) for (seed, flow, rule, draw); pure function. */
uint32_t fl_random(uint64_t seed, uint32_t flow, uint32_t rule, uint32_t draw);

/* Parse helpers shared with the CLI (strict; trailing junk is an error).
   Return 0, -EINVAL (malformed, missing unit) or -ERANGE (overflow). */
int fl_parse_duration(const char *s, uint64_t *us); /* "50ms" "1.5s" "200us" */
int fl_parse_size(const char *s, uint64_t *v);      /* "1500" "64k" "1m" */
int fl_parse_u64(const char *s, uint64_t *v);

#endif
