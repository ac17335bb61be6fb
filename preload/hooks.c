/*
 * hooks.c - the functions libfaultline-preload.so interposes: the only
 * symbols the library exports.
 *
 * Each hook calls the real function (real.h) and, when the shim is active
 * and the call concerns a socket, reports it (emit.h).  The contract of
 * the real call is kept: same arguments, same return value, same errno
 * (saved before the shim's own system calls and restored after), same
 * cancellation points (the shim's own calls are raw syscall(2)s, none of
 * which is one).  No allocation, no stdio, no locks.
 *
 * Reads and writes are the hot path: a read that returned data, or a
 * write that did not fail, returns after one test; only EOF and errors
 * look at the socket bitmap (fdset.h), and only sockets go further.
 *
 * Threading: every hook may run in any thread at once; shared state is the
 * bitmap and the channel, both atomic.  fl_in_shim marks this thread as
 * inside shim code: a hook entered then (from dlsym during resolution, or
 * from a signal handler that interrupted the shim) calls straight through,
 * keeps the bitmap, and counts a socket event it cannot send as dropped.
 *
 * The privileged operations (bind to a low port, the uid/gid calls,
 * setgroups/initgroups, the chown family) are reported only when the
 * kernel refused them (the bottom of the file).
 */
#undef _FORTIFY_SOURCE
#include "chan.h"
#include "emit.h"
#include "fdset.h"
#include "preload.h"
#include "real.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#define FL_EXPORT __attribute__((visibility("default")))

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       __SOCKADDR_ARG addr, socklen_t *addrlen);
pid_t _Fork(void);

/* Makes sure the real functions are resolved (one load once they are). */
static inline void ready(void)
{
	if (__builtin_expect(!__atomic_load_n(&fl_real_ready, __ATOMIC_ACQUIRE),
	                     0) &&
	    !fl_in_shim)
		fl_real_init();
}

static inline int active(void)
{
	return __atomic_load_n(&fl_active, __ATOMIC_RELAXED);
}

/* A socket event this thread cannot send right now (see the top). */
static void missed(int fd)
{
	if (fd >= 0 && fd < FL_FDSET_SIZE && fl_fdset_maybe(fd))
		fl_chan_count_drop();
}

/*
 * A vfork child (or a raw clone without pthread_atfork) runs on our memory
 * but with a descriptor table of its own: its close/dup must not change
 * the bitmap or the channel the parent uses.  Such calls go straight
 * through, unreported.  One getpid per close/dup of a socket.
 */
static int foreign_process(void)
{
	return (int)syscall(SYS_getpid) != fl_pid;
}

/* Is fd the shim's own descriptor?  The target cannot know it: without
 * the shim it would be closed, so calls that use it fail with EBADF. */
static inline int is_chan(int fd)
{
	return fd >= 0 && fd == fl_chan_fd();
}

/* ---- socket, socketpair, accept, connect, shutdown, setsockopt ---- */

FL_EXPORT int socket(int domain, int type, int protocol)
{
	struct fl_ev ev;
	int r, e;

	ready();
	r = FL_REAL(socket)(domain, type, protocol);
	if (!active())
		return r;
	e = errno;
	fl_fdset_assign(r, true);
	if (fl_in_shim) {
		fl_chan_count_drop();
		goto out;
	}
	fl_in_shim++;
	fl_emit_init(&ev, FL_FN_SOCKET, r);
	if (r < 0 || !fl_emit_sock(&ev, r)) {
		ev.u.call.sock_family = domain;
		ev.u.call.sock_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	ev.u.call.arg = type;
	ev.u.call.protocol = protocol;
	fl_emit_send(&ev, r, e);
	fl_in_shim--;
out:
	errno = e;
	return r;
}

FL_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	struct fl_ev ev;
	int r, e;

	ready();
	r = FL_REAL(socketpair)(domain, type, protocol, sv);
	if (!active())
		return r;
	e = errno;
	if (r == 0) {
		fl_fdset_assign(sv[0], true);
		fl_fdset_assign(sv[1], true);
	}
	if (fl_in_shim) {
		fl_chan_count_drop();
		goto out;
	}
	fl_in_shim++;
	fl_emit_init(&ev, FL_FN_SOCKETPAIR, r == 0 ? sv[0] : -1);
	if (r != 0 || !fl_emit_sock(&ev, sv[0])) {
		ev.u.call.sock_family = domain;
		ev.u.call.sock_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	ev.u.call.newfd = r == 0 ? sv[1] : -1;
	ev.u.call.arg = type;
	ev.u.call.protocol = protocol;
	fl_emit_send(&ev, r, e);
	fl_in_shim--;
out:
	errno = e;
	return r;
}

static int after_accept(enum fl_ev_fn fn, int fd, int r, int flags)
{
	struct fl_ev ev;
	int e = errno;

	if (!active())
		goto out;
	fl_fdset_assign(r, true);
	/* A non-blocking server polls accept() until EAGAIN: not news. */
	if (r < 0 &&
	    (e == EAGAIN || e == EWOULDBLOCK || e == EBADF || e == ENOTSOCK))
		goto out;
	if (fl_in_shim) {
		fl_chan_count_drop();
		goto out;
	}
	fl_in_shim++;
	fl_emit_init(&ev, fn, fd);
	if (fl_emit_sock(&ev, r >= 0 ? r : fd)) {
		ev.u.call.newfd = r;
		ev.u.call.arg = flags;
		fl_emit_send(&ev, r, e);
	}
	fl_in_shim--;
out:
	errno = e;
	return r;
}

FL_EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	int r;

	ready();
	r = FL_REAL(accept)(fd, addr, len);
	return after_accept(FL_FN_ACCEPT, fd, r, 0);
}

FL_EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len,
                      int flags)
{
	int r;

	ready();
	r = FL_REAL(accept4)(fd, addr, len, flags);
	return after_accept(FL_FN_ACCEPT4, fd, r, flags);
}

FL_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	struct fl_ev ev;
	int r, e;

	ready();
	r = FL_REAL(connect)(fd, addr, len);
	if (!active())
		return r;
	e = errno;
	if (fl_in_shim) {
		missed(fd);
		goto out;
	}
	fl_in_shim++;
	fl_emit_init(&ev, FL_FN_CONNECT, fd);
	if (fl_emit_sock(&ev, fd)) {
		/* In progress (or failed): no peer yet, report the one asked
		 * for.  The kernel has read addr unless it said EFAULT. */
		if (ev.u.call.peer.family == 0 && sa != NULL &&
		    len >= sizeof(sa_family_t) && !(r < 0 && e == EFAULT)) {
			memcpy(&ev.u.call.peer, sa,
			       len < sizeof(ev.u.call.peer)
			           ? len
			           : sizeof(ev.u.call.peer));
			ev.flags |= FL_EVF_PEER_ARG;
		}
		fl_emit_send(&ev, r, e);
	}
	fl_in_shim--;
out:
	errno = e;
	return r;
}

FL_EXPORT int shutdown(int fd, int how)
{
	struct fl_ev ev;
	int r, e;

	ready();
	r = FL_REAL(shutdown)(fd, how);
	if (!active())
		return r;
	e = errno;
	if (fl_in_shim) {
		missed(fd);
		goto out;
	}
	fl_in_shim++;
	fl_emit_init(&ev, FL_FN_SHUTDOWN, fd);
	if (fl_emit_sock(&ev, fd)) {
		ev.u.call.arg = how;
		fl_emit_send(&ev, r, e);
	}
	fl_in_shim--;
out:
	errno = e;
	return r;
}

/* Decodes a value the kernel accepted (so it is readable). */
static void sockopt_decode(struct fl_ev_call *c, int level, int name,
                           const void *val, socklen_t len)
{
	if (level == SOL_SOCKET && name == SO_LINGER &&
	    len >= sizeof(struct linger)) {
		struct linger lg;

		memcpy(&lg, val, sizeof(lg));
		c->val_kind = FL_VAL_LINGER;
		c->linger_onoff = lg.l_onoff;
		c->linger_secs = lg.l_linger;
		return;
	}
	if (level == SOL_SOCKET &&
	    (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
	    len >= sizeof(struct timeval)) {
		struct timeval tv;

		memcpy(&tv, val, sizeof(tv));
		c->val_kind = FL_VAL_TIMEVAL;
		c->val = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
		return;
	}
#if defined(SO_RCVTIMEO_NEW) && defined(SO_SNDTIMEO_NEW)
	if (level == SOL_SOCKET &&
	    (name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW) &&
	    len >= 2 * sizeof(int64_t)) {
		int64_t tv[2]; /* struct __kernel_sock_timeval */

		memcpy(tv, val, sizeof(tv));
		c->val_kind = FL_VAL_TIMEVAL;
		c->val = tv[0] * 1000000 + tv[1];
		return;
	}
#endif
	if (len == sizeof(int)) {
		int v;

		memcpy(&v, val, sizeof(v));
		c->val_kind = FL_VAL_INT;
		c->val = v;
		return;
	}
	c->val_kind = FL_VAL_BYTES;
	memcpy(&c->val, val, len < sizeof(c->val) ? len : sizeof(c->val));
}

FL_EXPORT int setsockopt(int fd, int level, int name, const void *val,
                         socklen_t len)
{
	struct fl_ev ev;
	int r, e;

	ready();
	r = FL_REAL(setsockopt)(fd, level, name, val, len);
	if (!active())
		return r;
	e = errno;
	if (fl_in_shim) {
		missed(fd);
		goto out;
	}
	fl_in_shim++;
	fl_emit_init(&ev, FL_FN_SETSOCKOPT, fd);
	if (fl_emit_sock(&ev, fd)) {
		ev.u.call.level = level;
		ev.u.call.optname = name;
		ev.u.call.optlen = len;
		/* Only a value the kernel read is known to be readable. */
		if (r == 0 && val != NULL && len > 0)
			sockopt_decode(&ev.u.call, level, name, val, len);
		fl_emit_send(&ev, r, e);
	}
	fl_in_shim--;
out:
	errno = e;
	return r;
}

/* ---- close, close_range, closefrom ---- */

FL_EXPORT int close(int fd)
{
	struct fl_ev ev;
	uint64_t t0 = 0;
	int sock = 0;
	int r, e = errno;

	ready();
	if (!active())
		return FL_REAL(close)(fd);
	if (fl_in_shim) {
		missed(fd);
		fl_fdset_assign(fd, false);
		return FL_REAL(close)(fd);
	}
	if ((fl_fdset_maybe(fd) || is_chan(fd)) && foreign_process())
		return FL_REAL(close)(fd);
	fl_in_shim++;
	fl_chan_protect(fd);
	if (fl_fdset_maybe(fd)) {
		fl_emit_init(&ev, FL_FN_CLOSE, fd);
		sock = fl_emit_sock(&ev, fd);
		if (sock)
			fl_emit_closeinfo(&ev, fd);
		/* Before the close: afterwards another thread may get fd. */
		fl_fdset_assign(fd, false);
	}
	fl_in_shim--;
	if (sock)
		t0 = fl_now_ns();
	errno = e;
	r = FL_REAL(close)(fd);
	e = errno;
	if (sock) {
		fl_in_shim++;
		ev.u.call.dur_ns = fl_now_ns() - t0;
		fl_emit_send(&ev, r, e);
		fl_in_shim--;
	}
	errno = e;
	return r;
}

/*
 * Before a call that closes [first, last]: reports each socket in range
 * (the bitmap's part of it) with its close info, as the call cannot be
 * asked afterwards, and detaches the channel if it is in range.  Returns
 * the channel's old descriptor, or -1.
 */
static int range_before(enum fl_ev_fn fn, unsigned int first, unsigned int last)
{
	int chan = fl_chan_fd();
	struct fl_ev ev;

	for (int fd = fl_fdset_next(first, last); fd >= 0;
	     fd = fl_fdset_next((unsigned int)fd + 1, last)) {
		if (fd == chan)
			continue;
		fl_emit_init(&ev, fn, fd);
		if (fl_emit_sock(&ev, fd)) {
			fl_emit_closeinfo(&ev, fd);
			ev.flags |= FL_EVF_IMPLICIT_CLOSE;
			ev.u.call.first = first;
			ev.u.call.last = last;
			fl_emit_send(&ev, 0, 0);
		}
	}
	fl_fdset_clear_range(first, last);
	if (chan >= 0 && (unsigned int)chan >= first &&
	    (unsigned int)chan <= last)
		return fl_chan_suspend();
	return -1;
}

static void range_after(enum fl_ev_fn fn, unsigned int first, unsigned int last,
                        int flags, int chan_old, int r, int e)
{
	struct fl_ev ev;

	if (chan_old >= 0) {
		/* A new socket, so a new inode: name it to the harness, which
		 * watches for the old one in our descriptors. */
		if (r == 0 && fl_chan_open() == 0)
			fl_emit_hello(FL_HELLO_REOPEN);
		else if (r != 0)
			fl_chan_resume(chan_old);
	}
	fl_emit_init(&ev, fn, -1);
	ev.u.call.first = first;
	ev.u.call.last = last;
	ev.u.call.arg = flags;
	fl_emit_send(&ev, r, e);
}

FL_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int chan_old = -1;
	int r, e = errno;

	ready();
	if (!active() || fl_in_shim || foreign_process())
		return FL_REAL(close_range)(first, last, flags);
	fl_in_shim++;
	/* Only a call the kernel will accept closes anything. */
	if (first <= last && !(flags & CLOSE_RANGE_CLOEXEC) &&
	    !(flags & ~(int)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
		chan_old = range_before(FL_FN_CLOSE_RANGE, first, last);
	fl_in_shim--;
	errno = e;
	r = FL_REAL(close_range)(first, last, flags);
	e = errno;
	fl_in_shim++;
	range_after(FL_FN_CLOSE_RANGE, first, last, flags, chan_old, r, e);
	fl_in_shim--;
	errno = e;
	return r;
}

FL_EXPORT void closefrom(int lowfd)
{
	unsigned int first = lowfd < 0 ? 0 : (unsigned int)lowfd;
	int chan_old;
	int e = errno;

	ready();
	if (!active() || fl_in_shim || foreign_process()) {
		FL_REAL(closefrom)(lowfd);
		return;
	}
	fl_in_shim++;
	chan_old = range_before(FL_FN_CLOSEFROM, first, ~0u);
	fl_in_shim--;
	errno = e;
	/* glibc's closefrom succeeds or aborts the process. */
	FL_REAL(closefrom)(lowfd);
	e = errno;
	fl_in_shim++;
	range_after(FL_FN_CLOSEFROM, first, ~0u, 0, chan_old, 0, 0);
	fl_in_shim--;
	errno = e;
}

/* ---- dup, dup2, dup3, fcntl(F_DUPFD*) ---- */

struct dup_call {
	enum fl_ev_fn fn;
	int oldfd;
	int newfd;           /* requested (dup2, dup3), else -1 */
	int arg;             /* dup3 flags, fcntl cmd */
	int minfd;           /* fcntl F_DUPFD's minimum */
	struct fl_ev closed; /* the socket at newfd the call replaces */
	int closes_sock;
};

/* dup2/dup3 onto newfd: keep the channel out of the way, and read the
 * close info of a socket the call is about to replace. */
static void dup_before(struct dup_call *d)
{
	d->closes_sock = 0;
	if (d->newfd < 0 || d->newfd == d->oldfd)
		return;
	fl_chan_protect(d->newfd);
	if (!fl_fdset_maybe(d->newfd))
		return;
	fl_emit_init(&d->closed, d->fn, d->newfd);
	d->closes_sock = fl_emit_sock(&d->closed, d->newfd);
	if (d->closes_sock) {
		fl_emit_closeinfo(&d->closed, d->newfd);
		d->closed.flags |= FL_EVF_IMPLICIT_CLOSE;
		d->closed.u.call.newfd = d->newfd;
		d->closed.u.call.arg = d->arg;
	}
}

static void dup_after(struct dup_call *d, int r, int e)
{
	struct fl_ev ev;
	int osock = 0;

	if (fl_fdset_maybe(d->oldfd)) {
		fl_emit_init(&ev, d->fn, d->oldfd);
		osock = fl_emit_sock(&ev, d->oldfd);
	}
	if (r >= 0 && r != d->oldfd)
		fl_fdset_assign(r, osock);
	if (d->closes_sock && r >= 0)
		fl_emit_send(&d->closed, r, e);
	if (osock) {
		ev.u.call.newfd = d->newfd >= 0 ? d->newfd : r;
		ev.u.call.arg = d->arg;
		ev.u.call.first = (uint32_t)d->minfd;
		fl_emit_send(&ev, r, e);
	}
}

/* Runs a dup-family call described by d; call() makes the real call. */
#define DUP_HOOK(d, call)                                                      \
	do {                                                                   \
		int r_, e_ = errno;                                            \
		ready();                                                       \
		if (!active())                                                 \
			return (call);                                         \
		if (is_chan((d)->oldfd)) {                                     \
			errno = EBADF;                                         \
			return -1;                                             \
		}                                                              \
		if ((fl_fdset_maybe((d)->oldfd) ||                             \
		     fl_fdset_maybe((d)->newfd) || is_chan((d)->newfd)) &&     \
		    foreign_process())                                         \
			return (call);                                         \
		if (fl_in_shim) {                                              \
			missed((d)->oldfd);                                    \
			r_ = (call);                                           \
			if (r_ >= 0 && r_ != (d)->oldfd)                       \
				fl_fdset_assign(r_,                            \
				                fl_fdset_maybe((d)->oldfd));   \
			return r_;                                             \
		}                                                              \
		fl_in_shim++;                                                  \
		dup_before(d);                                                 \
		fl_in_shim--;                                                  \
		errno = e_;                                                    \
		r_ = (call);                                                   \
		e_ = errno;                                                    \
		fl_in_shim++;                                                  \
		dup_after((d), r_, e_);                                        \
		fl_in_shim--;                                                  \
		errno = e_;                                                    \
		return r_;                                                     \
	} while (0)

FL_EXPORT int dup(int oldfd)
{
	struct dup_call d = {.fn = FL_FN_DUP, .oldfd = oldfd, .newfd = -1};

	DUP_HOOK(&d, FL_REAL(dup)(oldfd));
}

FL_EXPORT int dup2(int oldfd, int newfd)
{
	struct dup_call d = {.fn = FL_FN_DUP2, .oldfd = oldfd, .newfd = newfd};

	DUP_HOOK(&d, FL_REAL(dup2)(oldfd, newfd));
}

FL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	struct dup_call d = {
	    .fn = FL_FN_DUP3, .oldfd = oldfd, .newfd = newfd, .arg = flags};

	DUP_HOOK(&d, FL_REAL(dup3)(oldfd, newfd, flags));
}

static int fcntl_dup(int (*real)(int, int, ...), int fd, int cmd, int minfd)
{
	struct dup_call d = {.fn = FL_FN_FCNTL,
	                     .oldfd = fd,
	                     .newfd = -1,
	                     .arg = cmd,
	                     .minfd = minfd};

	DUP_HOOK(&d, real(fd, cmd, minfd));
}

/*
 * fcntl is variadic; like glibc, take the optional argument as a pointer
 * (every fcntl argument, int or pointer, travels in a pointer-sized slot)
 * and pass it on unchanged.
 */
FL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	ready();
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return fcntl_dup(FL_REAL(fcntl), fd, cmd, (int)(intptr_t)arg);
	return FL_REAL(fcntl)(fd, cmd, arg);
}

FL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	ready();
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return fcntl_dup(FL_REAL(fcntl64), fd, cmd, (int)(intptr_t)arg);
	return FL_REAL(fcntl64)(fd, cmd, arg);
}

/* ---- reads and writes on stream sockets ---- */

struct io_call {
	enum fl_ev_fn fn;
	uint32_t flags; /* FL_EVF_CHK */
	int fd;
	int input;               /* read side: ret 0 is EOF */
	size_t len;              /* bytes asked for (scalar calls) */
	const struct iovec *iov; /* vector calls */
	int iovcnt;
	const struct msghdr *msg; /* recvmsg, sendmsg */
	int msgflags;
};

static size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += iov[i].iov_len;
	return sum;
}

/*
 * The bytes asked for.  A vector or msghdr is read only when the kernel
 * read it too: it returned 0, or failed for a reason that comes after
 * copying them in (not EFAULT, EINVAL, EMSGSIZE, ENOMEM).
 */
static size_t io_len(const struct io_call *io, ssize_t r, int e)
{
	if (r < 0 &&
	    (e == EFAULT || e == EINVAL || e == EMSGSIZE || e == ENOMEM))
		return io->len;
	if (io->msg != NULL) {
		if (io->msg->msg_iov == NULL || io->msg->msg_iovlen > IOV_MAX)
			return 0;
		return iov_total(io->msg->msg_iov, io->msg->msg_iovlen);
	}
	if (io->iov != NULL)
		return io->iovcnt < 0 || io->iovcnt > IOV_MAX
		           ? 0
		           : iov_total(io->iov, (size_t)io->iovcnt);
	return io->len;
}

/* EOF or an error: report it if fd is a stream socket.  Keeps errno. */
static __attribute__((noinline)) ssize_t io_slow(const struct io_call *io,
                                                 ssize_t r)
{
	struct fl_ev ev;
	int e = errno;
	size_t len;

	if (!active() || !fl_fdset_maybe(io->fd))
		goto out;
	if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK))
		goto out;
	if (fl_in_shim) {
		missed(io->fd);
		goto out;
	}
	fl_in_shim++;
	len = io_len(io, r, e);
	/* read(fd, buf, 0) returns 0 without meaning EOF. */
	if (r == 0 && io->input && len == 0)
		goto leave;
	fl_emit_init(&ev, io->fn, io->fd);
	if (!fl_emit_sock(&ev, io->fd)) {
		fl_fdset_assign(io->fd, false); /* a stale bit */
		goto leave;
	}
	if (ev.u.call.sock_type != SOCK_STREAM)
		goto leave;
	ev.flags |= io->flags;
	ev.u.call.len = len;
	ev.u.call.arg = io->msgflags;
	fl_emit_send(&ev, r, e);
leave:
	fl_in_shim--;
out:
	errno = e;
	return r;
}

#define READ_DONE(r, ...)                                                      \
	do {                                                                   \
		if (__builtin_expect((r) > 0, 1))                              \
			return (r);                                            \
		struct io_call io_ = {.input = 1, __VA_ARGS__};                \
		return io_slow(&io_, (r));                                     \
	} while (0)

#define WRITE_DONE(r, ...)                                                     \
	do {                                                                   \
		if (__builtin_expect((r) >= 0, 1))                             \
			return (r);                                            \
		struct io_call io_ = {.input = 0, __VA_ARGS__};                \
		return io_slow(&io_, (r));                                     \
	} while (0)

FL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	ssize_t r;

	ready();
	r = FL_REAL(read)(fd, buf, n);
	READ_DONE(r, .fn = FL_FN_READ, .fd = fd, .len = n);
}

FL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ssize_t r;

	ready();
	r = FL_REAL(read_chk)(fd, buf, n, buflen);
	READ_DONE(r, .fn = FL_FN_READ, .flags = FL_EVF_CHK, .fd = fd, .len = n);
}

FL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	ssize_t r;

	ready();
	r = FL_REAL(recv)(fd, buf, n, flags);
	READ_DONE(r, .fn = FL_FN_RECV, .fd = fd, .len = n, .msgflags = flags);
}

FL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
                             int flags)
{
	ssize_t r;

	ready();
	r = FL_REAL(recv_chk)(fd, buf, n, buflen, flags);
	READ_DONE(r, .fn = FL_FN_RECV, .flags = FL_EVF_CHK, .fd = fd, .len = n,
	          .msgflags = flags);
}

FL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
                           __SOCKADDR_ARG addr, socklen_t *restrict addrlen)
{
	ssize_t r;

	ready();
	r = FL_REAL(recvfrom)(fd, buf, n, flags, addr, addrlen);
	READ_DONE(r, .fn = FL_FN_RECVFROM, .fd = fd, .len = n,
	          .msgflags = flags);
}

FL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
                                 int flags, __SOCKADDR_ARG addr,
                                 socklen_t *restrict addrlen)
{
	ssize_t r;

	ready();
	r = FL_REAL(recvfrom_chk)(fd, buf, n, buflen, flags, addr, addrlen);
	READ_DONE(r, .fn = FL_FN_RECVFROM, .flags = FL_EVF_CHK, .fd = fd,
	          .len = n, .msgflags = flags);
}

/* Descriptors received with SCM_RIGHTS are sockets we did not create. */
static __attribute__((noinline)) void note_rights(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			struct stat st;
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (syscall(SYS_fstat, fd, &st) == 0)
				fl_fdset_assign(fd, S_ISSOCK(st.st_mode));
		}
	}
}

FL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t r;

	ready();
	r = FL_REAL(recvmsg)(fd, msg, flags);
	if (__builtin_expect(r > 0, 1)) {
		if (msg->msg_controllen != 0 && active()) {
			int e = errno;

			note_rights(msg);
			errno = e;
		}
		return r;
	}
	READ_DONE(r, .fn = FL_FN_RECVMSG, .fd = fd, .msg = msg,
	          .msgflags = flags);
}

FL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t r;

	ready();
	r = FL_REAL(readv)(fd, iov, iovcnt);
	READ_DONE(r, .fn = FL_FN_READV, .fd = fd, .iov = iov, .iovcnt = iovcnt);
}

FL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t r;

	ready();
	r = FL_REAL(write)(fd, buf, n);
	WRITE_DONE(r, .fn = FL_FN_WRITE, .fd = fd, .len = n);
}

FL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	ssize_t r;

	ready();
	r = FL_REAL(send)(fd, buf, n, flags);
	WRITE_DONE(r, .fn = FL_FN_SEND, .fd = fd, .len = n, .msgflags = flags);
}

FL_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                         __CONST_SOCKADDR_ARG addr, socklen_t addrlen)
{
	ssize_t r;

	ready();
	r = FL_REAL(sendto)(fd, buf, n, flags, addr, addrlen);
	WRITE_DONE(r, .fn = FL_FN_SENDTO, .fd = fd, .len = n,
	           .msgflags = flags);
}

FL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t r;

	ready();
	r = FL_REAL(sendmsg)(fd, msg, flags);
	WRITE_DONE(r, .fn = FL_FN_SENDMSG, .fd = fd, .msg = msg,
	           .msgflags = flags);
}

FL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t r;

	ready();
	r = FL_REAL(writev)(fd, iov, iovcnt);
	WRITE_DONE(r, .fn = FL_FN_WRITEV, .fd = fd, .iov = iov,
	           .iovcnt = iovcnt);
}

/* ---- _Fork (fork() itself is covered by pthread_atfork) ---- */

FL_EXPORT pid_t _Fork(void)
{
	pid_t r;

	ready();
	r = FL_REAL(fork_)();
	if (r == 0 && active()) {
		int e = errno;

		fl_in_shim++;
		fl_preload_after_fork();
		fl_in_shim--;
		errno = e;
	}
	return r;
}

/* ---- wait, waitpid, wait4 ---- */

/*
 * A child that a signal killed, as its parent reaps it: the one way to see
 * a SIGPIPE death below the target's first process (a process killed by
 * SIGPIPE dies inside its write, before it can report anything).  The real
 * call gets a status pointer even when the caller passed NULL; what the
 * caller sees is unchanged.
 */
static void report_reaped(pid_t r, int st)
{
	struct fl_ev ev;
	int e = errno;

	if (r <= 0 || !WIFSIGNALED(st) || !active() || fl_in_shim)
		goto out;
	fl_in_shim++;
	fl_emit_init(&ev, FL_FN_WAIT, -1);
	ev.u.call.arg = WTERMSIG(st);
	ev.u.call.val = st;
	fl_emit_send(&ev, r, 0);
	fl_in_shim--;
out:
	errno = e;
}

FL_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	int st = 0;
	pid_t r;

	ready();
	r = FL_REAL(wait4)(pid, &st, options, ru);
	if (r > 0 && status)
		*status = st;
	report_reaped(r, st);
	return r;
}

FL_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	int st = 0;
	pid_t r;

	ready();
	r = FL_REAL(waitpid)(pid, &st, options);
	if (r > 0 && status)
		*status = st;
	report_reaped(r, st);
	return r;
}

FL_EXPORT pid_t wait(int *status)
{
	int st = 0;
	pid_t r;

	ready();
	r = FL_REAL(wait)(&st);
	if (r > 0 && status)
		*status = st;
	report_reaped(r, st);
	return r;
}

FL_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
	int st = 0;
	pid_t r;

	ready();
	r = FL_REAL(wait3)(&st, options, ru);
	if (r > 0 && status)
		*status = st;
	report_reaped(r, st);
	return r;
}

/* ---- privileged operations: reported only when refused ---- */

/*
 * A target that runs as root in the sandbox has no capabilities unless
 * --keep-cap gave some, so the calls with which a server drops its
 * privileges (setgid, initgroups, setuid), hands files to its workers
 * (chown) or binds a low port fail, often with nothing but a log line.
 * The shim reports each refusal with what the caller held (capget), so
 * the report can say which capability it lacked.  Successes send nothing;
 * the failure path pays a few system calls.
 */

/* The effective capability set of this thread, bits 0..63. */
static uint64_t cap_effective(void)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
	struct {
		uint32_t effective, permitted, inheritable;
	} d[2] = {{0, 0, 0}, {0, 0, 0}};

	if (syscall(SYS_capget, &hdr, d) < 0)
		return 0;
	return (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
}

/* net.ipv4.ip_unprivileged_port_start of this network namespace, or -1. */
static int unpriv_port_start(void)
{
	char buf[16];
	long n;
	int fd = (int)syscall(SYS_openat, AT_FDCWD,
	                      "/proc/sys/net/ipv4/ip_unprivileged_port_start",
	                      O_RDONLY | O_CLOEXEC);
	int v = 0;

	if (fd < 0)
		return -1;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	return v;
}

/* Sends the refusal of fn; e is its errno (restored by the caller). */
static void priv_send(enum fl_ev_fn fn, int fd, int e, const uint32_t *ids,
                      unsigned nids, const char *path, int flags)
{
	struct fl_ev ev;
	struct fl_ev_priv *p = &ev.u.priv;

	if (fl_in_shim) {
		fl_chan_count_drop();
		return;
	}
	fl_in_shim++;
	fl_emit_init(&ev, fn, fd);
	p->nids = nids;
	for (unsigned i = 0; i < nids && i < 3; i++)
		p->ids[i] = ids[i];
	p->euid = (uint32_t)syscall(SYS_geteuid);
	p->egid = (uint32_t)syscall(SYS_getegid);
	p->cap_eff = cap_effective();
	p->flags = flags;
	p->unpriv_port_start = -1;
	if (path) {
		size_t n = strnlen(path, sizeof(p->path) - 1);

		memcpy(p->path, path, n);
		p->path[n] = '\0';
	}
	fl_emit_send(&ev, -1, e);
	fl_in_shim--;
}

/* The refusals worth a report: EPERM (no capability, or not allowed in
 * a user namespace) and EINVAL (an id not mapped in it). */
static inline int priv_refused(int r, int e)
{
	return r < 0 && (e == EPERM || e == EINVAL) && active();
}

#define PRIV_HOOK(fn, FN, proto, call, nids, ...)                              \
	FL_EXPORT int fn proto                                                 \
	{                                                                      \
		int r, e;                                                      \
                                                                               \
		ready();                                                       \
		r = FL_REAL(fn) call;                                          \
		e = errno;                                                     \
		if (priv_refused(r, e))                                        \
			priv_send(FN, -1, e, (const uint32_t[]){__VA_ARGS__},  \
			          nids, NULL, 0);                              \
		errno = e;                                                     \
		return r;                                                      \
	}

PRIV_HOOK(setuid, FL_FN_SETUID, (uid_t u), (u), 1, u)
PRIV_HOOK(setgid, FL_FN_SETGID, (gid_t g), (g), 1, g)
PRIV_HOOK(setreuid, FL_FN_SETREUID, (uid_t a, uid_t b), (a, b), 2, a, b)
PRIV_HOOK(setregid, FL_FN_SETREGID, (gid_t a, gid_t b), (a, b), 2, a, b)
PRIV_HOOK(setresuid, FL_FN_SETRESUID, (uid_t a, uid_t b, uid_t c), (a, b, c),
          3, a, b, c)
PRIV_HOOK(setresgid, FL_FN_SETRESGID, (gid_t a, gid_t b, gid_t c), (a, b, c),
          3, a, b, c)

FL_EXPORT int setgroups(size_t n, const gid_t *list)
{
	uint32_t ids[3] = {(uint32_t)n, 0, 0};
	int r, e;

	ready();
	r = FL_REAL(setgroups)(n, list);
	e = errno;
	if (priv_refused(r, e)) {
		/* The kernel read the list unless it said EFAULT. */
		for (size_t i = 0; list && i < n && i < 2; i++)
			ids[i + 1] = list[i];
		priv_send(FL_FN_SETGROUPS, -1, e, ids,
		          1 + (unsigned)(n < 2 ? n : 2), NULL, 0);
	}
	errno = e;
	return r;
}

FL_EXPORT int initgroups(const char *user, gid_t group)
{
	int r, e;

	ready();
	r = FL_REAL(initgroups)(user, group);
	e = errno;
	if (priv_refused(r, e))
		priv_send(FL_FN_INITGROUPS, -1, e, (const uint32_t[]){group}, 1,
		          user, 0);
	errno = e;
	return r;
}

FL_EXPORT int chown(const char *path, uid_t u, gid_t g)
{
	int r, e;

	ready();
	r = FL_REAL(chown)(path, u, g);
	e = errno;
	if (priv_refused(r, e))
		priv_send(FL_FN_CHOWN, -1, e, (const uint32_t[]){u, g}, 2, path, 0);
	errno = e;
	return r;
}

FL_EXPORT int lchown(const char *path, uid_t u, gid_t g)
{
	int r, e;

	ready();
	r = FL_REAL(lchown)(path, u, g);
	e = errno;
	if (priv_refused(r, e))
		priv_send(FL_FN_LCHOWN, -1, e, (const uint32_t[]){u, g}, 2, path, 0);
	errno = e;
	return r;
}

FL_EXPORT int fchown(int fd, uid_t u, gid_t g)
{
	int r, e;

	ready();
	r = FL_REAL(fchown)(fd, u, g);
	e = errno;
	if (priv_refused(r, e))
		priv_send(FL_FN_FCHOWN, fd, e, (const uint32_t[]){u, g}, 2, NULL, 0);
	errno = e;
	return r;
}

FL_EXPORT int fchownat(int dfd, const char *path, uid_t u, gid_t g, int flags)
{
	int r, e;

	ready();
	r = FL_REAL(fchownat)(dfd, path, u, g, flags);
	e = errno;
	if (priv_refused(r, e))
		priv_send(FL_FN_FCHOWNAT, dfd, e, (const uint32_t[]){u, g}, 2, path,
		          flags);
	errno = e;
	return r;
}

FL_EXPORT int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	int r, e, port = -1, start;

	ready();
	r = FL_REAL(bind)(fd, addr, len);
	e = errno;
	if (r == 0 || (e != EACCES && e != EPERM) || !active() || !sa)
		goto out;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	start = port > 0 ? unpriv_port_start() : -1;
	/* Only a low port is a capability's matter (CAP_NET_BIND_SERVICE);
	 * an unknown bound is taken as the kernel's default, 1024. */
	if (port > 0 && port < (start >= 0 ? start : 1024)) {
		struct fl_ev ev;
		struct fl_ev_priv *p = &ev.u.priv;

		if (fl_in_shim) {
			fl_chan_count_drop();
			goto out;
		}
		fl_in_shim++;
		fl_emit_init(&ev, FL_FN_BIND, fd);
		p->euid = (uint32_t)syscall(SYS_geteuid);
		p->egid = (uint32_t)syscall(SYS_getegid);
		p->cap_eff = cap_effective();
		p->family = sa->sa_family;
		p->port = port;
		p->unpriv_port_start = start;
		fl_emit_send(&ev, -1, e);
		fl_in_shim--;
	}
out:
	errno = e;
	return r;
}
