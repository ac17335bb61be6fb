/*
 * queue.h - the NFQUEUE engine: receives the sandbox's TCP segments from
 * the kernel, asks the matcher which rule applies, and carries out the
 * verdict: pass, drop, hold (delay, reorder), change the bytes (rewrite,
 * corrupt, truncate), or inject segments (reset, duplicate).
 *
 * Single-threaded: the caller polls fl_engine_fd() and fl_engine_timer_fd()
 * and calls fl_engine_process() / fl_engine_timer() when they are readable.
 * Uses the libmnl-based libnetfilter_queue API with NFQA_CFG_F_GSO, copies
 * headers only unless a rule needs the payload, reads segments in batches
 * (one recvmmsg per batch) and sends their verdicts in batches (one sendto
 * per batch).
 */
#ifndef FL_QUEUE_H
#define FL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "rules.h"

struct fl_trace;
struct fl_engine;

/* Called for a flow when its first segment is seen, to tell which side
 * belongs to the target: returns FL_SIDE_CLIENT, _SERVER or _ANY. */
typedef enum fl_side (*fl_side_resolver)(void *ctx, const struct fl_flow *f);

/* Called for every segment the engine decided on: delivered says whether
 * it reaches the receiver and takes effect there (passed, delayed,
 * duplicated, reordered, injected) or not (dropped, changed so its flags no
 * longer hold, an RST the receiver only challenges); forged says the engine
 * made it, so its apparent sender did nothing.
 *
 * Segments are told in the order the engine read them; t_ns is when the
 * segment is due at its receiver (its release time if held).  The
 * segments read in one batch (one fl_engine_process()) were all sent
 * before any of them was delivered, since none had its verdict yet: the
 * engine says when a batch's verdicts have gone out with one more call,
 * f NULL (the other arguments 0, t_ns now), at the end of each
 * fl_engine_process(), fl_engine_timer() and fl_engine_release_all(). */
typedef void (*fl_segment_observer)(void *ctx, const struct fl_flow *f,
				    int dir, uint8_t flags, uint32_t rseq,
				    uint32_t rack, uint32_t len, int delivered,
				    int forged, uint64_t t_ns);

struct fl_engine_cfg {
	const struct fl_ruleset *rs;
	uint64_t seed;
	uint16_t queue_num;
	uint32_t mark;          /* mark of the segments the engine injects */
	struct fl_trace *trace; /* may be NULL */
	fl_side_resolver resolve_side;
	void *resolve_ctx;
	fl_segment_observer observe;
	void *observe_ctx;
	int verbose;
	int proc_fd;             /* dirfd of a /proc showing the harness */
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

/*
 * Opens and configures the queue.  On failure returns -errno and writes a
 * sentence for the user into err.  *out is freed with fl_engine_free().
 */
int fl_engine_new(struct fl_engine **out, const struct fl_engine_cfg *cfg,
		  char *err, size_t errlen);
void fl_engine_free(struct fl_engine *e);

int fl_engine_fd(const struct fl_engine *e);
int fl_engine_timer_fd(const struct fl_engine *e);
/* Drains the netlink socket.  Returns 0 or -errno on a fatal error. */
int fl_engine_process(struct fl_engine *e);
/* Releases held segments whose time has come. */
int fl_engine_timer(struct fl_engine *e);
/* Releases every held segment now (end of run). */
void fl_engine_release_all(struct fl_engine *e);
/* Segments held right now. */
size_t fl_engine_held(const struct fl_engine *e);

/* Reads the kernel's queue counters into the stats (end of run). */
void fl_engine_read_kernel_stats(struct fl_engine *e);
void fl_engine_get_stats(const struct fl_engine *e, struct fl_engine_stats *s);
const struct fl_flow_table *fl_engine_flows(const struct fl_engine *e);
/* Times rule i acted. */
uint64_t fl_engine_rule_fired(const struct fl_engine *e, size_t i);

/* Whether segments with none of SYN, FIN, RST set must be queued for rule
 * r: it can match them, or it acts on every later segment of a flow
 * (blackhole drops them all; any segment releases what reorder holds). */
int fl_rule_needs_data_segments(const struct fl_rule *r);

#endif
