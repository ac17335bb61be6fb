/*
 * runner.h - helpers for the integration tests: run the real faultline
 * binary (as root or as an unprivileged user), capture its output, read its
 * JSON Lines trace and JSON report.
 */
#ifndef FL_TEST_RUNNER_H
#define FL_TEST_RUNNER_H

#include <json-c/json.h>
#include <sys/types.h>

#define FL_BIN FL_BINARY_DIR "/faultline"
#define FL_TARGETS FL_BINARY_DIR "/targets"
#define FL_RULES FL_SOURCE_DIR "/rules"

/* As whom a test runs faultline. */
enum as_user { AS_ROOT, AS_NOBODY };

struct run_result {
	int status;   /* exit status, or 128 + signal */
	char *out;    /* stdout, NUL-terminated */
	char *err;    /* stderr */
	char dir[64]; /* a scratch directory, writable by both users */
};

/* A new scratch directory (mode 0777) in r->dir. */
void rr_init(struct run_result *r);
void rr_free(struct run_result *r);
/* "DIR/name" into a static ring of buffers. */
const char *rr_path(const struct run_result *r, const char *name);
/* Writes text to DIR/name and returns the path. */
const char *rr_write(const struct run_result *r, const char *name,
		     const char *text);

/*
 * Runs argv (NULL-terminated) as user, waiting at most timeout_s seconds
 * (then SIGKILL, status 137).  Fills status, out, err.
 */
void rr_run(struct run_result *r, enum as_user user, char *const argv[],
	    int timeout_s);
/* Starts argv in the background; returns its pid. stdout/stderr to files in dir. */
pid_t rr_spawn(struct run_result *r, enum as_user user, char *const argv[]);

/* Lines of the trace DIR/trace.jsonl that parse, as a json array (caller puts). */
json_object *rr_trace(const struct run_result *r);
/* The JSON report DIR/report.json, or NULL. */
json_object *rr_report(const struct run_result *r);

/* Helpers for json objects: string/int field or NULL/-1. */
const char *js(json_object *o, const char *key);
long long ji(json_object *o, const char *key);
double jd(json_object *o, const char *key);

/* Value of word=VALUE in the first line of text starting with KEY, or NULL
 * (static buffer). */
const char *line_field(const char *text, const char *key, const char *word);
/* Number of lines starting with key. */
int count_lines(const char *text, const char *key);

/* The contents of DIR/name ("" if unreadable), in a static buffer of
 * 64 KiB that the next call reuses. */
const char *rr_read(const struct run_result *r, const char *name);
/* The report's check by its expectation as written ("no-close-wait 1s")
 * or its bare name ("no-close-wait", "driver"), or NULL. */
json_object *report_check(json_object *rep, const char *name);

#endif
