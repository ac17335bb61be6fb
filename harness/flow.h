/*
 * flow.h - the flows the engine has seen: each one's identity and
 * counters.
 *
 * A flow is one TCP connection, keyed by its two endpoints.  The side that
 * sent the first SYN (without ACK) is the client.  The table only grows
 * during a run: flows are reported at the end, so nothing is evicted.
 * What else is kept of a flow is kept by id by the module it belongs to:
 * the matcher's state and a blackhole (engine.c), the hold state
 * (hold.c), the delivery facts and the ladder (timeline.c).
 * Single-threaded (the engine's thread).
 */
#ifndef FL_FLOW_H
#define FL_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "verdict.h"

/* Index of a direction: the side that sent the segment. */
enum { FL_DIR_C2S = 0, FL_DIR_S2C = 1 };

struct fl_endpoint {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
};

struct fl_flow {
	uint32_t id;                 /* 1-based, in order of first packet */
	struct fl_endpoint ep[2];    /* [0] client, [1] server */
	int isn_known[2];
	uint32_t isn[2];             /* initial sequence number of each side */
	uint64_t packets[2];
	uint64_t bytes[2];           /* payload bytes seen */
	uint64_t faults;             /* segments a rule acted on */
	uint64_t first_ns, last_ns;  /* relative to the run's start */
	uint8_t flags_seen[2];       /* union of flags each side sent */
	enum fl_side target_side;    /* FL_SIDE_CLIENT/_SERVER/_BOTH (a proxy
					and its backend in the target), or
					_ANY (unknown, or neither) */
};

/* 1 if side dir (FL_DIR_C2S: the client) of f is the target's socket. */
static inline int fl_flow_target_dir(const struct fl_flow *f, int dir)
{
	return f->target_side == FL_SIDE_BOTH ||
	       (f->target_side == FL_SIDE_CLIENT && dir == FL_DIR_C2S) ||
	       (f->target_side == FL_SIDE_SERVER && dir == FL_DIR_S2C);
}

struct fl_flow_table;

/* Returns a new, empty table, or NULL; free with fl_flow_table_free(). */
struct fl_flow_table *fl_flow_table_new(void);
void fl_flow_table_free(struct fl_flow_table *t);

/*
 * Finds the flow of a segment from src to dst, creating it when absent.
 * *dir is set to FL_DIR_C2S or FL_DIR_S2C.  A new flow's client is the
 * sender of a SYN without ACK; for a flow first seen mid-stream, the
 * sender of that first segment.  Returns NULL on allocation failure.
 */
struct fl_flow *fl_flow_lookup(struct fl_flow_table *t,
			       const struct fl_endpoint *src,
			       const struct fl_endpoint *dst, uint8_t flags,
			       uint64_t now_ns, int *dir);

/* Finds the flow of a segment from src to dst without creating one;
 * NULL when unknown.  *dir as for fl_flow_lookup(). */
struct fl_flow *fl_flow_find(const struct fl_flow_table *t,
			     const struct fl_endpoint *src,
			     const struct fl_endpoint *dst, int *dir);

size_t fl_flow_count(const struct fl_flow_table *t);
/* Flow with id i (1-based), or NULL. */
struct fl_flow *fl_flow_get(const struct fl_flow_table *t, uint32_t id);

/* "127.0.0.1:7000" or "[::1]:7000" into buf. */
int fl_endpoint_format(const struct fl_endpoint *ep, char *buf, size_t n);

#endif
