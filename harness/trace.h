/*
 * trace.h - the JSON Lines trace (--trace FILE): one event per line, keys
 * as DESIGN.md's contract says.  Times are seconds since the run's start
 * with microsecond precision.
 *
 * Lines are in time order (by the nanosecond value; equal times in arrival
 * order), the `run` header first.  Events arrive out of order (a shim call
 * is stamped at the call, and reaches the harness later than segments that
 * followed it), so each line waits in a reorder buffer until it is older
 * than the window (FL_TRACE_WINDOW_NS) by the run's clock, and everything
 * left is written at close.  An event that arrives later than that, after
 * a newer line was written, is written anyway with its own t (never
 * clamped), out of order, marked "late":true; fl_trace_late() counts them
 * and a `note` (what "late-events") at close says how many.
 *
 * Lines are drained on each event and on fl_trace_tick() (the event
 * loop's), and the file is flushed every second or so and once a proc
 * event is out, so a killed run still leaves its trace up to a second
 * and a window before its end.
 * Single-threaded.  Every function is a no-op on a NULL trace.
 */
#ifndef FL_TRACE_H
#define FL_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "verdict.h"

struct fl_trace;

/* How long a line waits for older events that may still arrive: well over
 * the shim's delivery delay (about 12 ms on an idle 2-core machine). */
#define FL_TRACE_WINDOW_NS 250000000ull

/* Opens path for writing ("-" is stdout); the caller closes it with
 * fl_trace_close().  Returns NULL with errno set. */
struct fl_trace *fl_trace_open(const char *path);
/* The same on a stream the caller opened, which fl_trace_close() then
 * fcloses; on NULL (ENOMEM) f is still the caller's. */
struct fl_trace *fl_trace_open_stream(FILE *f);
/* Writes every pending line, flushes and closes; returns 0, -ENOMEM if a
 * line could not be buffered, or -errno of a write error. */
int fl_trace_close(struct fl_trace *t);
/* Writes out what has become older than the window: call it from the
 * event loop (cheap: a clock read), so a quiet run's last events still
 * reach the file. */
void fl_trace_tick(struct fl_trace *t);
/* Writes every pending line now and flushes: for the end of a run, once
 * every event is in (before a report on the same stdout). */
void fl_trace_flush(struct fl_trace *t);
/* For tests: a window and the clock it is measured by (relative ns; NULL
 * for the run's clock). */
void fl_trace_set_clock(struct fl_trace *t, uint64_t window_ns,
			uint64_t (*now)(void *ctx), void *ctx);
/* Lines so far that were written behind a newer one ("late":true). */
uint64_t fl_trace_late(const struct fl_trace *t);

struct fl_trace_pkt {
	uint64_t t_ns;
	uint32_t flow;
	const char *from;    /* "client" / "server" */
	uint8_t flags;
	uint32_t seq, ack;   /* relative */
	uint32_t len;        /* payload bytes */
	uint16_t win;
	enum fl_verdict verdict;
	const char *rule;    /* "file:line" or NULL */
	uint64_t delay_ns;   /* for delay: how long it is held */
	const char *detail;  /* optional free text (e.g. "flags FIN,ACK->RST"), or NULL */
	uint64_t frame;      /* its frame in the pcap (capture.h), 0 none */
	uint64_t delivered_frame; /* the frame of its changed bytes as
				     delivered, 0 none */
};

void fl_trace_pkt(struct fl_trace *t, const struct fl_trace_pkt *p);
/* what: "start", "exit"; code >= 0 for an exit code, sig > 0 for a signal. */
/* pid as the sandbox sees it (the same as in call events), host_pid as
 * the host does. */
void fl_trace_proc(struct fl_trace *t, uint64_t t_ns, int pid, int host_pid,
		   const char *role, const char *what, int code, int sig);
void fl_trace_check(struct fl_trace *t, uint64_t t_ns, const char *name,
		    int ok, const char *detail);
/* The header line: {"t":0,"ev":"run",...}, written at once, before any
 * other line; argv NULL-terminated.  The seed is there twice: "seed" as a
 * number and "seed_text" as its decimal string (exact in any reader). */
void fl_trace_run(struct fl_trace *t, const char *version, uint64_t seed,
		  char *const *argv, const char *const *rule_files,
		  size_t nrule_files);
/* A free-form harness note: {"ev":"note","what":...}. */
void fl_trace_note(struct fl_trace *t, uint64_t t_ns, const char *what,
		   const char *detail);

/* {"t":..,"ev":"EV",BODY} where body is pre-formatted JSON members. */
void fl_trace_raw(struct fl_trace *t, uint64_t t_ns, const char *ev,
		  const char *body);

/* The decimal text of a seed into buf; returns buf.  For a "seed_text"
 * key: readers that hold JSON numbers as doubles (jq, JavaScript) change
 * a seed >= 2^53 (44466580438189697 reads as 44466580438189700). */
#define FL_SEED_TEXT_SIZE 21
const char *fl_seed_text(uint64_t seed, char buf[FL_SEED_TEXT_SIZE]);

#endif
