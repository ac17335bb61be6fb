/*
 * emit.h - building and sending events (struct fl_ev, see event.h).
 *
 * An event is built on the caller's stack: fl_emit_init() fills the
 * header, fl_emit_sock() and fl_emit_closeinfo() ask the kernel about a
 * socket, the caller fills the function's own fields, and fl_emit_send()
 * stamps time, sequence and drop count and sends it with one system call.
 * Reentrant and async-signal-safe; clobbers errno (callers restore it).
 */
#ifndef FL_PRELOAD_EMIT_H
#define FL_PRELOAD_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

void fl_emit_init(struct fl_ev *ev, enum fl_ev_fn fn, int fd);
/* Fills the socket fields for fd.  False if fd is not an open socket. */
bool fl_emit_sock(struct fl_ev *ev, int fd);
/* Fills unread, unsent and SO_LINGER of socket fd (before it is closed). */
void fl_emit_closeinfo(struct fl_ev *ev, int fd);
/* Stamps and sends a call event; err is ignored when ret >= 0. */
void fl_emit_send(struct fl_ev *ev, int64_t ret, int err);
/* Sends a hello event (with the channel's inode). */
void fl_emit_hello(enum fl_ev_hello_why why);
/* Sends the bye event (at exit; waits up to 20 ms on a full queue). */
void fl_emit_bye(void);
/* A fork child starts its sequence again. */
void fl_emit_after_fork(void);

#endif
