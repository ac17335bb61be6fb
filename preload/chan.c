/*
 * chan.c - the channel to the harness (see chan.h).  System calls only,
 * through syscall(2): none of them is a cancellation point, and none goes
 * through the shim's own hooks or another interposer.
 */
#include "chan.h"
#include "fdset.h"
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long a mover waits for senders that may hold the old descriptor. */
#define DRAIN_BUDGET_NS 20000000

static struct sockaddr_un chan_addr;
static socklen_t chan_addrlen;
static int chan_fd = -1;
static unsigned int chan_senders;
static uint64_t chan_drops;

uint64_t fl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pause_briefly(unsigned int round)
{
	/* Yield first (the harness may just need the CPU on a 2-core box),
	 * then sleep 50 us at a time.  Raw nanosleep: not a cancellation point.
	 */
	if (round < 8) {
		sched_yield();
	} else {
		struct timespec ts = {0, 50000};

		syscall(SYS_nanosleep, &ts, NULL);
	}
}

int fl_chan_setup(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > sizeof(chan_addr.sun_path) - 1)
		return -EINVAL;
	memset(&chan_addr, 0, sizeof(chan_addr));
	chan_addr.sun_family = AF_UNIX;
	memcpy(chan_addr.sun_path + 1, name, n);
	chan_addrlen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	return 0;
}

/* A close-on-exec duplicate of fd high in the descriptor space, or -1. */
static int dup_high(int fd)
{
	struct rlimit rl;
	unsigned long hi = 1024;
	int nfd;

	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 &&
	    rl.rlim_cur < hi)
		hi = rl.rlim_cur;
	nfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, (int)(hi - hi / 8));
	if (nfd < 0)
		nfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	return nfd;
}

int fl_chan_open(void)
{
	int fd, high, err;

	if (chan_addrlen == 0)
		return -EINVAL;
	fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_connect, fd, &chan_addr, chan_addrlen) < 0) {
		err = errno;
		syscall(SYS_close, fd);
		return -err;
	}
	high = dup_high(fd);
	if (high >= 0 && high != fd) {
		syscall(SYS_close, fd);
		fd = high;
	}
	/* A stale bit for this number must not make it look like the
	 * target's socket (close_range would report it). */
	fl_fdset_assign(fd, false);
	__atomic_store_n(&chan_fd, fd, __ATOMIC_SEQ_CST);
	return 0;
}

int fl_chan_fd(void)
{
	return __atomic_load_n(&chan_fd, __ATOMIC_RELAXED);
}

uint64_t fl_chan_dropped(void)
{
	return __atomic_load_n(&chan_drops, __ATOMIC_RELAXED);
}

void fl_chan_count_drop(void)
{
	__atomic_fetch_add(&chan_drops, 1, __ATOMIC_RELAXED);
}

void fl_chan_send(const void *buf, size_t len, uint64_t budget_ns)
{
	uint64_t deadline = 0;
	unsigned int round = 0;
	bool sent = false;
	int fd;

	/* Announce ourselves before reading the descriptor: a mover stores
	 * the new one and then waits for chan_senders to drain (both
	 * sequentially consistent), so it never closes a number we hold. */
	__atomic_fetch_add(&chan_senders, 1, __ATOMIC_SEQ_CST);
	fd = __atomic_load_n(&chan_fd, __ATOMIC_SEQ_CST);
	while (fd >= 0) {
		if (syscall(SYS_sendto, fd, buf, len,
		            MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0) >= 0) {
			sent = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			break;
		if (deadline == 0)
			deadline = fl_now_ns() + budget_ns;
		else if (fl_now_ns() >= deadline)
			break;
		pause_briefly(round++);
	}
	__atomic_fetch_sub(&chan_senders, 1, __ATOMIC_SEQ_CST);
	if (!sent)
		__atomic_fetch_add(&chan_drops, 1, __ATOMIC_RELAXED);
}

/* Waits (bounded) until no sender may still use a descriptor it read
 * before the last store to chan_fd.  A sender interrupted by a signal
 * handler that is now the mover would never finish: hence the bound. */
static void drain_senders(void)
{
	uint64_t deadline = 0;
	unsigned int round = 0;

	while (__atomic_load_n(&chan_senders, __ATOMIC_SEQ_CST) != 0) {
		if (deadline == 0)
			deadline = fl_now_ns() + DRAIN_BUDGET_NS;
		else if (fl_now_ns() >= deadline)
			break;
		pause_briefly(round++);
	}
}

void fl_chan_protect(int fd)
{
	int cur = __atomic_load_n(&chan_fd, __ATOMIC_SEQ_CST);
	int nfd;

	if (fd < 0 || fd != cur)
		return;
	/* A vfork child (or a raw clone) shares our memory but not our
	 * descriptor table: moving would break the parent.  Leave it. */
	if (syscall(SYS_getpid) != fl_pid)
		return;
	nfd = dup_high(cur);
	if (!__atomic_compare_exchange_n(&chan_fd, &cur, nfd, false,
	                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		/* Another thread moved it meanwhile. */
		if (nfd >= 0)
			syscall(SYS_close, nfd);
		return;
	}
	if (nfd >= 0)
		fl_fdset_assign(nfd, false);
	drain_senders();
	syscall(SYS_close, fd);
}

int fl_chan_suspend(void)
{
	int old;

	if (syscall(SYS_getpid) != fl_pid)
		return -1;
	old = __atomic_exchange_n(&chan_fd, -1, __ATOMIC_SEQ_CST);
	drain_senders();
	return old;
}

void fl_chan_resume(int fd)
{
	__atomic_store_n(&chan_fd, fd, __ATOMIC_SEQ_CST);
}

void fl_chan_after_fork(void)
{
	int old = __atomic_exchange_n(&chan_fd, -1, __ATOMIC_RELAXED);

	/* Only the forking thread exists here; senders that were in flight
	 * in other threads of the parent are gone. */
	__atomic_store_n(&chan_senders, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&chan_drops, 0, __ATOMIC_RELAXED);
	if (old >= 0)
		syscall(SYS_close, old);
	fl_chan_open();
}
