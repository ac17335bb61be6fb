/*
 * chan.h - the shim's channel to the harness: one connected abstract
 * AF_UNIX SOCK_DGRAM socket per process, kept out of the target's way.
 *
 * The socket is close-on-exec and lives high in the descriptor space
 * (F_DUPFD_CLOEXEC to 7/8 of min(RLIMIT_NOFILE, 1024)), so the target's
 * own descriptors get the numbers they would get without the shim.  When
 * the target closes or dup2()s over it, fl_chan_protect() moves it away
 * first so the target's call does exactly what it would do without the
 * shim; close_range()/closefrom() over it use fl_chan_suspend() and
 * fl_chan_open() to re-create it afterwards.
 *
 * Threading: any thread may send.  The descriptor is published with an
 * atomic store; a count of senders in flight lets a mover wait (bounded)
 * until no sender can still hold the old number before closing it.
 * Sending never blocks: MSG_DONTWAIT, a few yields and short sleeps for
 * at most ~2 ms on a full queue, then the event is counted as dropped.
 */
#ifndef FL_PRELOAD_CHAN_H
#define FL_PRELOAD_CHAN_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds (the clock of every event). */
uint64_t fl_now_ns(void);

/* Remembers the abstract address "\0"+name.  0, or -EINVAL if too long/empty.
 */
int fl_chan_setup(const char *name);
/* Creates, connects and places the socket.  0 or -errno (then every
 * event is counted as dropped). */
int fl_chan_open(void);
/* The channel's descriptor, or -1. */
int fl_chan_fd(void);
/* Sends one datagram; on failure counts it in fl_chan_dropped().  A full
 * queue is retried for budget_ns at most. */
void fl_chan_send(const void *buf, size_t len, uint64_t budget_ns);
#define FL_CHAN_BUDGET_NS 2000000 /* for events sent from hooks */
/* Events this process failed to send. */
uint64_t fl_chan_dropped(void);
/* Counts an event the shim could not even build (see hooks.c). */
void fl_chan_count_drop(void);
/* If fd is the channel's descriptor, moves the channel to another one. */
void fl_chan_protect(int fd);
/* Detaches the channel (senders count drops from now on) and returns its
 * old descriptor, or -1.  The caller lets the target's call close it and
 * then calls fl_chan_open(), or fl_chan_resume() if the call failed. */
int fl_chan_suspend(void);
void fl_chan_resume(int fd);
/* In a fork child: a fresh socket and a fresh drop count. */
void fl_chan_after_fork(void);

#endif
