/*
 * nfq.h - the engine on NFQUEUE: the engine (engine.h) wired to one netlink
 * queue that the sandbox's iptables rules feed, and to raw sockets for the
 * segments it injects.
 *
 * Single-threaded: the caller polls fl_engine_fd() and fl_engine_timer_fd()
 * and calls fl_engine_process() / fl_engine_timer() when they are readable.
 * Uses the libmnl-based libnetfilter_queue API with NFQA_CFG_F_GSO, copies
 * headers only unless a rule needs the payload, reads segments in batches
 * (one recvmmsg per batch) and sends their verdicts in batches (one sendto
 * per batch).
 */
#ifndef FL_NFQ_H
#define FL_NFQ_H

#include <stddef.h>

#include "engine.h"

/*
 * Opens and configures the queue (cfg's queue_num, mark, verbose,
 * proc_fd) and an engine on it.  On failure returns -errno and writes a
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

/* Reads the kernel's queue counters into the stats (end of run). */
void fl_engine_read_kernel_stats(struct fl_engine *e);
/* The engine's counters and the queue's. */
void fl_engine_get_stats(const struct fl_engine *e, struct fl_engine_stats *s);

#endif
