/*
 * trace.h - the JSON Lines trace (--trace FILE): one event per line, keys
 * as DESIGN.md's contract says.  Times are seconds since the run's start
 * with microsecond precision.  Buffered stdio, flushed at the end and
 * every second or so, so a killed run still leaves most of its trace.
 * Single-threaded.  Every function is a no-op on a NULL trace.
 */
#ifndef FL_TRACE_H
#define FL_TRACE_H

#include <stdint.h>
#include <stdio.h>

struct fl_trace;

/* Opens path for writing ("-" is stdout).  Returns NULL with errno set. */
struct fl_trace *fl_trace_open(const char *path);
/* Flushes and closes; returns 0 or -errno of the last write error. */
int fl_trace_close(struct fl_trace *t);

struct fl_trace_pkt {
	uint64_t t_ns;
	uint32_t flow;
	const char *from;    /* "client" / "server" */
	uint8_t flags;
	uint32_t seq, ack;   /* relative */
	uint32_t len;        /* payload bytes */
	uint16_t win;
	const char *verdict; /* pass drop delay rewrite inject ... */
	const char *rule;    /* "file:line" or NULL */
	uint64_t delay_ns;   /* for delay: how long it is held */
	const char *detail;  /* optional free text (e.g. "flags FIN,ACK->RST"), or NULL */
};

void fl_trace_pkt(struct fl_trace *t, const struct fl_trace_pkt *p);
/* what: "start", "exit"; code >= 0 for an exit code, sig > 0 for a signal. */
/* pid as the sandbox sees it (the same as in call events), host_pid as
 * the host does. */
void fl_trace_proc(struct fl_trace *t, uint64_t t_ns, int pid, int host_pid,
		   const char *role, const char *what, int code, int sig);
void fl_trace_check(struct fl_trace *t, uint64_t t_ns, const char *name,
		    int ok, const char *detail);
/* The header line: {"t":0,"ev":"run",...}; argv NULL-terminated. */
void fl_trace_run(struct fl_trace *t, const char *version, uint64_t seed,
		  char *const *argv, const char *const *rule_files,
		  size_t nrule_files);
/* A free-form harness note: {"ev":"note","what":...}. */
void fl_trace_note(struct fl_trace *t, uint64_t t_ns, const char *what,
		   const char *detail);

/* {"t":..,"ev":"EV",BODY} where body is pre-formatted JSON members. */
void fl_trace_raw(struct fl_trace *t, uint64_t t_ns, const char *ev,
		  const char *body);

/* Writes s as a JSON string (with quotes) to f. */
void fl_json_str(FILE *f, const char *s);

#endif
