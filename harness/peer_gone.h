/*
 * peer_gone.h - the dead-peer analysis: for each flow, whether its peer
 * went silent (no FIN, no RST: a rule lost its segments) while the target
 * held the connection, and how the target learnt it (keepalive, the
 * retransmission timeout, an error, its own timer, its exit, or not at
 * all).  Read from the segments and the socket calls; computed once per
 * flow when the run is over (fl_peer_gone_all), on demand while it runs.
 * Single-threaded.
 */
#ifndef FL_PEER_GONE_H
#define FL_PEER_GONE_H

#include <stddef.h>
#include <stdint.h>

struct fl_run_facts;

/* How a target learnt that its peer went silent (no FIN, no RST). */
enum fl_dp_how {
	FL_DP_KEEPALIVE,  /* keepalive probes unanswered: ETIMEDOUT */
	FL_DP_RETRANSMIT, /* data unacknowledged: ETIMEDOUT (TCP_USER_TIMEOUT
			     or tcp_retries2) */
	FL_DP_ERROR,      /* another error from a read or write */
	FL_DP_PROGRAM,    /* the program closed it with no error: its own timer */
	FL_DP_EXIT,       /* the target exited with the socket open */
	FL_DP_NONE,       /* nothing: still open when the run ended */
};

/* One flow whose peer went silent while the target still held it. */
struct fl_dead_peer {
	int silent;          /* 0: its peer did not go silent (the rest is 0) */
	uint64_t since_ns;   /* the peer's last segment that arrived */
	uint64_t noticed_ns; /* the error reached the program (0: none) */
	int err;             /* that error, from a call to err_fn */
	unsigned err_fn;
	uint64_t closed_ns;  /* close() or the target's exit (0: neither) */
	enum fl_dp_how how;
	uint32_t probes;     /* keepalive probes the target's side sent */
	uint32_t unacked;    /* bytes the target sent that the peer never
				acknowledged */
	int pid, fd;         /* the target's socket, fd -1 if unknown */
	/* What the program set on that socket or on the listener it came
	 * from; -1: never set (kernel defaults). */
	int keepalive, keepidle, keepintvl, keepcnt;
	int64_t user_timeout_ms;
};

/* 1 and *out filled if flow id's peer went silent (a rule lost segments
 * after the peer's last one arrived, no FIN or RST from it) while the
 * target's socket was open; else 0. */
int fl_dead_peer(const struct fl_run_facts *f, uint32_t id,
		 struct fl_dead_peer *out);
/* "keepalive", "retransmission-timeout", "error", "program", "exit",
 * "none". */
const char *fl_dead_peer_how(enum fl_dp_how h);
/* One sentence on it into buf. */
void fl_dead_peer_describe(const struct fl_dead_peer *d, char *buf, size_t n);

/* Every flow's, into a new array (index id - 1) of *n entries, or NULL
 * (out of memory).  The caller frees it. */
struct fl_dead_peer *fl_peer_gone_all(const struct fl_run_facts *f, size_t *n);

#endif
