/*
 * clock.h - the run's time base.
 *
 * Every event is stamped with CLOCK_MONOTONIC (the clock the shim uses too)
 * and written relative to the run's start.  Single-threaded.
 */
#ifndef FL_CLOCK_H
#define FL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t fl_clock_ns(void);
/* Marks the run's start; fl_clock_rel_us() counts from here. */
void fl_clock_start(void);
uint64_t fl_clock_start_ns(void);
/* Nanoseconds since the run's start (0 before it, or for earlier times). */
uint64_t fl_clock_rel_ns(uint64_t abs_ns);
uint64_t fl_clock_now_rel_ns(void);

#endif
