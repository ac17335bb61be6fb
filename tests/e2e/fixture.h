/*
 * fixture.h - what every e2e test shares: a scratch directory, the real
 * faultline binary run with one argv builder (as root or as uid 65534),
 * its output, trace and JSON report read back, the drivers' commands
 * (tcp_client, a listener wait), dump on failure, and the report queries
 * the tests ask most.  Every run that writes a report is also compared
 * with the kernel's own state paths (kcompare.h).
 *
 * Runs in the Criterion test process, single-threaded.  Buffers the
 * functions return are static (rings where a test holds several at once):
 * copy what must outlive the next call.
 */
#ifndef FL_TEST_FIXTURE_H
#define FL_TEST_FIXTURE_H

#include <json-c/json.h>
#include <sys/types.h>

#define FL_BIN FL_BINARY_DIR "/faultline"
#define FL_TARGETS FL_BINARY_DIR "/targets"
#define FL_RULES FL_SOURCE_DIR "/rules"
/* A shipped scenario file, rules/scenarios/NAME. */
#define SC(name) FL_RULES "/scenarios/" name

/* As whom a test runs faultline. */
enum as_user { AS_ROOT, AS_NOBODY };

/* Defines Test(suite, name_root) and Test(suite, name_nobody), each with
 * a timeout of secs seconds, from one body taking `enum as_user u`; a
 * test file says `#define BOTH(name) FX_BOTH(suite, name, secs)`. */
#define FX_BOTH(suite, name, secs)                                            \
	static void name(enum as_user u);                                     \
	Test(suite, name##_root, .timeout = secs) { name(AS_ROOT); }          \
	Test(suite, name##_nobody, .timeout = secs) { name(AS_NOBODY); }      \
	static void name(enum as_user u)

struct run_result {
	int status;   /* exit status, or 128 + signal */
	char *out;    /* stdout, NUL-terminated */
	char *err;    /* stderr */
	char dir[64]; /* a scratch directory, writable by both users */
	/* The run's name for the kernel comparison's known differences and
	 * its messages; "" means the Criterion test's name. */
	char name[64];
};

/* A new scratch directory (mode 0777) in r->dir. */
void rr_init(struct run_result *r);
void rr_free(struct run_result *r);
/* "DIR/name" into a static ring of buffers. */
const char *rr_path(const struct run_result *r, const char *name);
/* Writes text to DIR/name and returns the path. */
const char *rr_write(const struct run_result *r, const char *name,
		     const char *text);
/* text with every "{dir}" replaced by DIR, into a static ring of
 * buffers: a command can name the scratch directory before it exists. */
const char *rr_expand(const struct run_result *r, const char *text);

/*
 * Runs argv (NULL-terminated) as user, waiting at most timeout_s seconds
 * (then SIGKILL, status 137).  Fills status, out, err.  A faultline run
 * with --report is compared with the kernel's record (kcompare.h).
 */
void rr_run(struct run_result *r, enum as_user user, char *const argv[],
	    int timeout_s);
/* Starts argv in the background; returns its pid. stdout/stderr to files in dir. */
pid_t rr_spawn(struct run_result *r, enum as_user user, char *const argv[]);

/*
 * One `faultline run`: the argv builder of every e2e test.  Fields left
 * zero are left out.  The options are given in this order:
 *   -r RULES... | -r DIR/test.rules (rules_text)
 *   --trace DIR/trace.jsonl (unless no_trace)
 *   --report DIR/report.json (unless no_report)
 *   --timeout T --settle S --seed N OPTS... EXTRA... --driver CMD
 *   --peer CMD -- TARGET
 * where the target is sh (run by /bin/sh -c), words (split at spaces) or
 * argv.  "{dir}" in driver, peer, sh and words is the scratch directory.
 */
struct fl_args {
	const char *rules[4];       /* rule files, NULL-terminated */
	const char *rules_text;     /* or rules written to DIR/test.rules */
	int no_trace;               /* no --trace */
	int no_report;              /* no --report */
	const char *timeout;        /* --timeout */
	const char *settle;         /* --settle */
	const char *seed;           /* --seed */
	const char *opts;           /* more options, split at spaces */
	const char *const *extra;   /* more options, NULL-terminated */
	const char *driver;         /* --driver */
	const char *peer;           /* --peer (after --driver) */
	const char *sh;             /* target: /bin/sh -c sh */
	const char *words;          /* target: these words */
	const char *const *argv;    /* target: this argv, NULL-terminated */
	int wait_s;                 /* rr_run's limit (default 60s) */
};

/* Runs faultline with a as user (rr_run), then rr_dump(). */
void rr_faultline(struct run_result *r, enum as_user user,
		  const struct fl_args *a);
/* With FL_TEST_VERBOSE set: the scratch directory, faultline's stdout and
 * stderr, and the programs' outputs (DIR/client.out, server.out,
 * driver.out, those that exist) to stderr. */
void rr_dump(const struct run_result *r);

/* ---- commands for the driver and the target ---- */

/* A shell command's prefix that waits until something listens on
 * 127.0.0.1:7000 (state 0A in /proc/net/tcp, which is per network
 * namespace), so a client started first never meets a refused SYN (each
 * refused attempt would be a flow of its own in the report). */
#define WAIT_7000 "while ! grep -q ':1B58 00000000:0000 0A' /proc/net/tcp; do sleep 0.01; done; "

/* tcp_client ARGS (a string literal) with its stdout in DIR/client.out, as
 * a command for rr_expand() (the fixture expands driver and target). */
#define CLIENT_CMD(args) "exec " FL_TARGETS "/tcp_client " args " > {dir}/client.out"

/* How client_cmd() runs tcp_client. */
enum {
	CL_WAIT = 1, /* after WAIT_7000 */
	CL_NET = 2,  /* then the namespace's /proc/net/snmp and
		      * /proc/net/netstat into DIR/net.out; the status is
		      * tcp_client's */
};

/* CLIENT_CMD(args) for args known only at run time, expanded (with
 * CL_NET, not exec'd: the counters come after it); how is 0 or CL_*
 * or'ed. */
const char *client_cmd(const struct run_result *r, int how, const char *args);
/* A driver command: `{ the printf of fmt; } > DIR/driver.out`. */
__attribute__((format(printf, 2, 3)))
const char *drv(const struct run_result *r, const char *fmt, ...);

/* ---- reading what a run left ---- */

/* The JSON Lines file at path, the lines that parse, as a json array
 * (caller puts; empty when there is no such file). */
json_object *jsonl_load(const char *path);
/* Lines of the trace DIR/trace.jsonl that parse, as a json array (caller puts). */
json_object *rr_trace(const struct run_result *r);
/* The JSON report DIR/report.json, or NULL. */
json_object *rr_report(const struct run_result *r);
/* The contents of DIR/name ("" if unreadable), in a static buffer of
 * 64 KiB that the next call reuses. */
const char *rr_read(const struct run_result *r, const char *name);

/* Helpers for json objects: string/int field or NULL/-1. */
const char *js(json_object *o, const char *key);
long long ji(json_object *o, const char *key);
double jd(json_object *o, const char *key);

/* Value of word=VALUE in the first line of text starting with KEY, or NULL
 * (static buffer). */
const char *line_field(const char *text, const char *key, const char *word);
/* Number of lines starting with key. */
int count_lines(const char *text, const char *key);
/* The number after `after` in s (e.g. "at " -> 1.234 of "at 1.234s");
 * fails the test if there is none. */
double num_after(const char *s, const char *after);

/* ---- the report ---- */

/* The report's check by its expectation as written ("no-close-wait 1s")
 * or its bare name ("no-close-wait", "driver"), or NULL. */
json_object *report_check(json_object *rep, const char *name);
/* The verdict of that check; fails the test if there is none. */
int check_ok(json_object *rep, const char *name);
/* The report's only flow; fails the test unless there is exactly one. */
json_object *only_flow(json_object *rep);
/* A flow's state list (key client_states, server_states or states) as
 * "A > B > C", in a static ring of buffers. */
const char *path_of(json_object *flow, const char *key);
/* Whether ev is a segment ("pkt") from `from` whose flags include
 * flags_has ("FIN", "SYN,ACK"). */
int is_pkt(json_object *ev, const char *from, const char *flags_has);

#endif
