/*
 * engine.h - the engine: takes each TCP segment the sandbox's traffic
 * queues, asks the matcher which rule applies, and carries out the verdict:
 * pass, drop, hold (delay, reorder), change the bytes (rewrite, corrupt,
 * truncate), or inject segments (reset, duplicate).
 *
 * The engine does no I/O itself: it talks to the outside only through a
 * small table of operations (struct fl_io, in the style of packetdrill's
 * netdev_ops) that gives verdicts, injects segments, flushes a batch of
 * verdicts, arms the release timer and tells the time.  nfq.c implements
 * it on NFQUEUE and raw sockets (and builds the engine the run uses with
 * fl_engine_new(), nfq.h); a test can implement it with a recorder and a
 * fake clock, and drive the engine with segments built from bytes.
 *
 * Single-threaded: every call comes from the thread that owns the engine,
 * and the I/O operations are called from within those calls.
 */
#ifndef FL_ENGINE_H
#define FL_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "rules.h"
#include "verdict.h"

struct fl_engine;

/* Called for a flow when its first segment is seen, to tell which side
 * belongs to the target: returns FL_SIDE_CLIENT, _SERVER or _ANY. */
typedef enum fl_side (*fl_side_resolver)(void *ctx, const struct fl_flow *f);

/*
 * The engine's sink (cfg's sink, of verdict.h's type fl_segment_sink) is
 * told every segment the engine decided on, as one struct fl_seg_event:
 * delivered says whether it reaches the receiver and takes effect there
 * (passed, delayed, duplicated, reordered, injected) or not (dropped,
 * changed so its flags no longer hold, an RST the receiver only
 * challenges); forged says the engine made it, so its apparent sender did
 * nothing.  The run's sink is its timeline (timeline.h), which writes the
 * trace line, the flow's ladder record and its delivery facts; the engine
 * writes none of them.
 *
 * Segments are told in the order the engine read them; t_ns is when the
 * segment is due at its receiver (its release time if held).  The
 * segments read in one batch were all sent before any of them was
 * delivered, since none had its verdict yet: the engine says when a
 * batch's verdicts have gone out with one more event, f NULL (the other
 * fields 0, t_ns now), from fl_engine_sent() and
 * fl_engine_release_all().
 */
struct fl_engine_cfg {
	const struct fl_ruleset *rs;
	uint64_t seed;
	fl_side_resolver resolve_side;
	void *resolve_ctx;
	fl_segment_sink sink;   /* may be NULL: nothing is recorded */
	void *sink_ctx;
	/* The queue's, read by fl_engine_new() (nfq.c) only: */
	uint16_t queue_num;
	uint32_t mark;          /* mark of the segments the engine injects */
	int verbose;
	int proc_fd;            /* dirfd of a /proc showing the harness */
};

struct fl_engine_stats {
	uint64_t packets, passed, dropped, delayed, rewritten, injected;
	uint64_t unparsed;       /* not IPv4/IPv6 TCP: passed untouched */
	uint64_t enobufs;        /* recv() reported ENOBUFS */
	uint64_t send_errors;    /* verdict or injection sends that failed */
	int64_t queue_dropped;   /* kernel counters at the end, -1 unknown */
	int64_t user_dropped;
	uint64_t max_held;
};

/* ---- the I/O seam ---- */

enum fl_io_verdict { FL_IO_ACCEPT, FL_IO_DROP };

struct fl_io_ops {
	/* The verdict on queued segment id; for an accept with pkt not
	 * NULL, the segment's new bytes (len of them).  weight: the bytes
	 * the receiver gets from it (for the batch's size).  May be
	 * batched: nothing is sent before flush(). */
	void (*verdict)(void *ctx, uint32_t id, enum fl_io_verdict v,
			const void *pkt, size_t len, size_t weight);
	/* Sends an IP packet the engine made to dst (4 or 16 bytes of
	 * family's address), bypassing the queue.  Returns 0 or -errno. */
	int (*inject)(void *ctx, const uint8_t *pkt, size_t len, int family,
		      const void *dst);
	/* Sends the verdicts given so far. */
	void (*flush)(void *ctx);
	/* The earliest held segment is due at due_ns (relative to the
	 * run's start; 0: nothing is held): fl_engine_release_due() then. */
	void (*arm)(void *ctx, uint64_t due_ns);
	/* Now, in ns relative to the run's start. */
	uint64_t (*now)(void *ctx);
};

/* The largest MTU the engine builds injected segments for. */
#define FL_ENGINE_MTU_MAX 65536u

struct fl_io {
	const struct fl_io_ops *ops;
	void *ctx;
	unsigned mtu; /* the largest packet inject() can send, at most
			 FL_ENGINE_MTU_MAX */
};

/*
 * A new engine for cfg's rules, on io (copied; io->ctx must outlive the
 * engine).  Returns 0 or -ENOMEM.  *out is freed with fl_engine_close()
 * (fl_engine_free() for one from fl_engine_new()).
 */
int fl_engine_open(struct fl_engine **out, const struct fl_engine_cfg *cfg,
		   const struct fl_io *io);
/* Frees e and what it still holds, giving no verdict. */
void fl_engine_close(struct fl_engine *e);
const struct fl_io *fl_engine_io(const struct fl_engine *e);

/*
 * One queued segment: id is its packet id for the verdict, pkt its bytes
 * from the IP header on (len of them, possibly only the headers; changed
 * in place by a rewrite), or NULL when the queue gave none (accepted
 * untouched, like anything that is not IPv4/IPv6 TCP).  The verdict is
 * given before this returns, or later from the hold.
 */
void fl_engine_segment(struct fl_engine *e, uint32_t id, uint8_t *pkt,
		       size_t len);
/* Releases the held segments due by now (io's clock), earliest first. */
void fl_engine_release_due(struct fl_engine *e);
/* The verdicts given so far have gone out: tells the sink. */
void fl_engine_sent(struct fl_engine *e);
/* Releases every held segment now (end of run), flushes, tells the
 * sink and disarms the timer. */
void fl_engine_release_all(struct fl_engine *e);
/* When the earliest held segment is due (relative ns), 0 when none is. */
uint64_t fl_engine_next_due(const struct fl_engine *e);
/* Segments held right now. */
size_t fl_engine_held(const struct fl_engine *e);

/* The engine's own counters (packets .. max_held; the queue's fields 0,
 * queue_dropped and user_dropped -1). */
void fl_engine_counters(const struct fl_engine *e, struct fl_engine_stats *s);
const struct fl_flow_table *fl_engine_flows(const struct fl_engine *e);
/* Times rule i acted on a segment (not the matcher's `times` budget: a
 * second match of a reorder rule while it holds one passes, not acted). */
uint64_t fl_engine_rule_fired(const struct fl_engine *e, size_t i);

/* Whether segments with none of SYN, FIN, RST set must be queued for rule
 * r: it can match them, or it acts on every later segment of a flow
 * (blackhole drops them all; any segment releases what reorder holds). */
int fl_rule_needs_data_segments(const struct fl_rule *r);

#endif
