/*
 * fdset.h - which descriptors are (probably) sockets, in O(1).
 *
 * A static bitmap of FL_FDSET_SIZE bits, kept by the hooks that create,
 * duplicate and close descriptors, and seeded at startup from the
 * descriptors the process inherited.  A set bit means "was a socket when
 * the shim last saw it": a socket closed behind the shim's back (a raw
 * system call, glibc-internal close) leaves a stale bit, so every user
 * confirms with getsockopt(SO_TYPE) before it reports anything.  A clear
 * bit is trusted: reads and writes on files cost one test.  Descriptors
 * at or above FL_FDSET_SIZE are always "maybe" and confirmed the same way.
 *
 * Threading: bits are set and cleared with atomic read-modify-writes;
 * no locks.
 */
#ifndef FL_PRELOAD_FDSET_H
#define FL_PRELOAD_FDSET_H

#include <stdbool.h>
#include <stdint.h>

#define FL_FDSET_SIZE 65536

extern uint64_t fl_fdset_bits[FL_FDSET_SIZE / 64];

/* True if fd may be a socket (always true at or above FL_FDSET_SIZE). */
static inline bool fl_fdset_maybe(int fd)
{
	if (fd < 0)
		return false;
	if (fd >= FL_FDSET_SIZE)
		return true;
	return (__atomic_load_n(&fl_fdset_bits[fd / 64], __ATOMIC_RELAXED) >>
	        (fd % 64)) &
	       1;
}

/* Marks fd as a socket (on) or not; ignores fds outside the bitmap. */
void fl_fdset_assign(int fd, bool on);
/* Clears every bit in [first, last] (clipped to the bitmap). */
void fl_fdset_clear_range(unsigned int first, unsigned int last);
/* The lowest set bit in [from, last] (clipped), or -1. */
int fl_fdset_next(unsigned int from, unsigned int last);
/* Forgets everything and marks every socket open now (reads /proc/self/fd,
 * or probes the descriptors below 1024 if /proc is not mounted). */
void fl_fdset_seed(void);

#endif
