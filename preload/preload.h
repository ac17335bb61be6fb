/*
 * preload.h - the shim's process state: whether it is active, the cached
 * pid and tid, and the per-thread reentrancy guard.
 *
 * fl_active and fl_pid are written by the constructor (before the target
 * runs threads) and by the fork-child handler (when only one thread
 * exists); everywhere else they are only read.
 */
#ifndef FL_PRELOAD_PRELOAD_H
#define FL_PRELOAD_PRELOAD_H

/* FAULTLINE_SOCK was set: hooks report.  0: every hook calls straight through.
 */
extern int fl_active;
/* getpid(), refreshed in fork children. */
extern int fl_pid;
/* Non-zero while this thread runs shim code: a hook entered then (from
 * dlsym, or a signal handler) calls straight through. */
extern __thread int fl_in_shim __attribute__((tls_model("initial-exec")));

/* This thread's id (cached per thread). */
int fl_tid(void);
/* Re-initialises the process state in a fork child. */
void fl_preload_after_fork(void);

#endif
