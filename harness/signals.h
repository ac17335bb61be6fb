/*
 * signals.h - faultline's termination signals.  fl_signals_catch() is
 * called first in main(), before anything can block.  Outside the run's
 * event loop a signal ends faultline at once, by that signal, after a
 * line on stderr saying in which phase; while the loop runs
 * (fl_signals_graceful(1, ...)) the handler only writes to a self-pipe the
 * loop polls (fl_signals_fd()) and drains (fl_signals_take()): the loop
 * stops the target at the first, kills it at the second, and a third
 * ends faultline.  Single-threaded apart from the handler.
 */
#ifndef FL_SIGNALS_H
#define FL_SIGNALS_H

/* Installs the handler for SIGINT, SIGTERM and SIGHUP.  0, or -errno. */
int fl_signals_catch(void);
/* From here on a termination signal is the loop's (graceful) or, with
 * words, ends faultline at once (they follow "faultline: SIGTERM"; NULL
 * keeps the last ones). */
void fl_signals_graceful(int graceful, const char *words);
/* The self-pipe's read end, for poll(). */
int fl_signals_fd(void);
/* How many signals the loop was told of since the last call. */
int fl_signals_take(void);

#endif
