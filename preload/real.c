/*
 * real.c - resolving the wrapped functions (see real.h).
 *
 * Threading: fl_real_init() runs its work once under pthread_once; the
 * shim's constructor calls it, so a hook normally finds the work done and
 * pays one load.  The fallbacks are plain system calls: no cancellation
 * point, no errno other than the kernel's, no allocation.
 */
#undef _FORTIFY_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fortify entry points glibc defines; declared here, not by a header
 * unless the shim were built with _FORTIFY_SOURCE. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       __SOCKADDR_ARG addr, socklen_t *addrlen);
pid_t _Fork(void);

static int fb_socket(int d, int t, int p)
{
	return (int)syscall(SYS_socket, d, t, p);
}

static int fb_socketpair(int d, int t, int p, int *sv)
{
	return (int)syscall(SYS_socketpair, d, t, p, sv);
}

static int fb_accept(int fd, __SOCKADDR_ARG a, socklen_t *l)
{
	return (int)syscall(SYS_accept, fd, a.__sockaddr__, l);
}

static int fb_accept4(int fd, __SOCKADDR_ARG a, socklen_t *l, int fl)
{
	return (int)syscall(SYS_accept4, fd, a.__sockaddr__, l, fl);
}

static int fb_connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t l)
{
	return (int)syscall(SYS_connect, fd, a.__sockaddr__, l);
}

static int fb_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static int fb_close_range(unsigned int first, unsigned int last, int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

static void fb_closefrom(int lowfd)
{
	syscall(SYS_close_range, lowfd < 0 ? 0 : lowfd, ~0u, 0);
}

static int fb_shutdown(int fd, int how)
{
	return (int)syscall(SYS_shutdown, fd, how);
}

static int fb_setsockopt(int fd, int level, int name, const void *v,
                         socklen_t l)
{
	return (int)syscall(SYS_setsockopt, fd, level, name, v, l);
}

static int fb_dup(int fd)
{
	return (int)syscall(SYS_dup, fd);
}

static int fb_dup2(int fd, int nfd)
{
	/* dup3 refuses fd == nfd; dup2 returns nfd if fd is valid. */
	if (fd == nfd)
		return syscall(SYS_fcntl, fd, F_GETFD) < 0 ? -1 : nfd;
	return (int)syscall(SYS_dup3, fd, nfd, 0);
}

static int fb_dup3(int fd, int nfd, int flags)
{
	return (int)syscall(SYS_dup3, fd, nfd, flags);
}

static int fb_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	/* Like glibc: every argument fcntl takes fits a pointer slot. */
	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

static ssize_t fb_read(int fd, void *b, size_t n)
{
	return syscall(SYS_read, fd, b, n);
}

static ssize_t fb_read_chk(int fd, void *b, size_t n, size_t buflen)
{
	if (n > buflen)
		__builtin_trap();
	return syscall(SYS_read, fd, b, n);
}

static ssize_t fb_recv(int fd, void *b, size_t n, int fl)
{
	return syscall(SYS_recvfrom, fd, b, n, fl, NULL, NULL);
}

static ssize_t fb_recv_chk(int fd, void *b, size_t n, size_t buflen, int fl)
{
	if (n > buflen)
		__builtin_trap();
	return syscall(SYS_recvfrom, fd, b, n, fl, NULL, NULL);
}

static ssize_t fb_recvfrom(int fd, void *b, size_t n, int fl, __SOCKADDR_ARG a,
                           socklen_t *l)
{
	return syscall(SYS_recvfrom, fd, b, n, fl, a.__sockaddr__, l);
}

static ssize_t fb_recvfrom_chk(int fd, void *b, size_t n, size_t buflen, int fl,
                               __SOCKADDR_ARG a, socklen_t *l)
{
	if (n > buflen)
		__builtin_trap();
	return syscall(SYS_recvfrom, fd, b, n, fl, a.__sockaddr__, l);
}

static ssize_t fb_recvmsg(int fd, struct msghdr *m, int fl)
{
	return syscall(SYS_recvmsg, fd, m, fl);
}

static ssize_t fb_readv(int fd, const struct iovec *v, int n)
{
	return syscall(SYS_readv, fd, v, n);
}

static ssize_t fb_write(int fd, const void *b, size_t n)
{
	return syscall(SYS_write, fd, b, n);
}

static ssize_t fb_send(int fd, const void *b, size_t n, int fl)
{
	return syscall(SYS_sendto, fd, b, n, fl, NULL, 0);
}

static ssize_t fb_sendto(int fd, const void *b, size_t n, int fl,
                         __CONST_SOCKADDR_ARG a, socklen_t l)
{
	return syscall(SYS_sendto, fd, b, n, fl, a.__sockaddr__, l);
}

static ssize_t fb_sendmsg(int fd, const struct msghdr *m, int fl)
{
	return syscall(SYS_sendmsg, fd, m, fl);
}

static ssize_t fb_writev(int fd, const struct iovec *v, int n)
{
	return syscall(SYS_writev, fd, v, n);
}

static pid_t fb_fork(void)
{
	/* Only reached if libc has no _Fork, which then nothing can call. */
	return fork();
}

static pid_t fb_wait4(pid_t pid, int *st, int options, struct rusage *ru)
{
	return (pid_t)syscall(SYS_wait4, pid, st, options, ru);
}

static pid_t fb_waitpid(pid_t pid, int *st, int options)
{
	return fb_wait4(pid, st, options, NULL);
}

static pid_t fb_wait3(int *st, int options, struct rusage *ru)
{
	return fb_wait4(-1, st, options, ru);
}

static pid_t fb_wait(int *st)
{
	return fb_wait4(-1, st, 0, NULL);
}

static int fb_bind(int fd, __CONST_SOCKADDR_ARG a, socklen_t l)
{
	return (int)syscall(SYS_bind, fd, a.__sockaddr__, l);
}

/* The id calls' fallbacks change this thread's ids only (glibc's own
 * apply them to every thread); reached only before the lookup. */
static int fb_setuid(uid_t u)
{
	return (int)syscall(SYS_setuid, u);
}

static int fb_setgid(gid_t g)
{
	return (int)syscall(SYS_setgid, g);
}

static int fb_setreuid(uid_t r, uid_t e)
{
	return (int)syscall(SYS_setreuid, r, e);
}

static int fb_setregid(gid_t r, gid_t e)
{
	return (int)syscall(SYS_setregid, r, e);
}

static int fb_setresuid(uid_t r, uid_t e, uid_t s)
{
	return (int)syscall(SYS_setresuid, r, e, s);
}

static int fb_setresgid(gid_t r, gid_t e, gid_t s)
{
	return (int)syscall(SYS_setresgid, r, e, s);
}

static int fb_setgroups(size_t n, const gid_t *g)
{
	return (int)syscall(SYS_setgroups, n, g);
}

static int fb_initgroups(const char *user, gid_t g)
{
	/* Only reached if libc has no initgroups, which then nothing can
	 * call; the group alone, as initgroups' last resort does. */
	(void)user;
	return (int)syscall(SYS_setgroups, 1, &g);
}

static int fb_chown(const char *p, uid_t u, gid_t g)
{
	return (int)syscall(SYS_fchownat, AT_FDCWD, p, u, g, 0);
}

static int fb_fchown(int fd, uid_t u, gid_t g)
{
	return (int)syscall(SYS_fchown, fd, u, g);
}

static int fb_lchown(const char *p, uid_t u, gid_t g)
{
	return (int)syscall(SYS_fchownat, AT_FDCWD, p, u, g, AT_SYMLINK_NOFOLLOW);
}

static int fb_fchownat(int dfd, const char *p, uid_t u, gid_t g, int fl)
{
	return (int)syscall(SYS_fchownat, dfd, p, u, g, fl);
}

struct fl_real fl_real = {
    .socket = fb_socket,
    .socketpair = fb_socketpair,
    .accept = fb_accept,
    .accept4 = fb_accept4,
    .connect = fb_connect,
    .close = fb_close,
    .close_range = fb_close_range,
    .closefrom = fb_closefrom,
    .shutdown = fb_shutdown,
    .setsockopt = fb_setsockopt,
    .dup = fb_dup,
    .dup2 = fb_dup2,
    .dup3 = fb_dup3,
    .fcntl = fb_fcntl,
    .fcntl64 = fb_fcntl,
    .read = fb_read,
    .read_chk = fb_read_chk,
    .recv = fb_recv,
    .recv_chk = fb_recv_chk,
    .recvfrom = fb_recvfrom,
    .recvfrom_chk = fb_recvfrom_chk,
    .recvmsg = fb_recvmsg,
    .readv = fb_readv,
    .write = fb_write,
    .send = fb_send,
    .sendto = fb_sendto,
    .sendmsg = fb_sendmsg,
    .writev = fb_writev,
    .fork_ = fb_fork,
    .wait = fb_wait,
    .waitpid = fb_waitpid,
    .wait4 = fb_wait4,
    .wait3 = fb_wait3,
    .bind = fb_bind,
    .setuid = fb_setuid,
    .setgid = fb_setgid,
    .setreuid = fb_setreuid,
    .setregid = fb_setregid,
    .setresuid = fb_setresuid,
    .setresgid = fb_setresgid,
    .setgroups = fb_setgroups,
    .initgroups = fb_initgroups,
    .chown = fb_chown,
    .fchown = fb_fchown,
    .lchown = fb_lchown,
    .fchownat = fb_fchownat,
};

int fl_real_ready;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/*
 * Stores dlsym(RTLD_NEXT, name) into *slot unless the lookup failed or
 * found the hook itself (the shim loaded twice, or no next definition):
 * calling that would recurse forever.
 */
static void resolve(void **slot, const char *name, void *self)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p != NULL && p != self)
		__atomic_store_n(slot, p, __ATOMIC_RELAXED);
}

#define RESOLVE(field, sym) resolve((void **)&fl_real.field, #sym, (void *)sym)

static void real_resolve(void)
{
	RESOLVE(socket, socket);
	RESOLVE(socketpair, socketpair);
	RESOLVE(accept, accept);
	RESOLVE(accept4, accept4);
	RESOLVE(connect, connect);
	RESOLVE(close, close);
	RESOLVE(close_range, close_range);
	RESOLVE(closefrom, closefrom);
	RESOLVE(shutdown, shutdown);
	RESOLVE(setsockopt, setsockopt);
	RESOLVE(dup, dup);
	RESOLVE(dup2, dup2);
	RESOLVE(dup3, dup3);
	RESOLVE(fcntl, fcntl);
	RESOLVE(fcntl64, fcntl64);
	RESOLVE(read, read);
	RESOLVE(read_chk, __read_chk);
	RESOLVE(recv, recv);
	RESOLVE(recv_chk, __recv_chk);
	RESOLVE(recvfrom, recvfrom);
	RESOLVE(recvfrom_chk, __recvfrom_chk);
	RESOLVE(recvmsg, recvmsg);
	RESOLVE(readv, readv);
	RESOLVE(write, write);
	RESOLVE(send, send);
	RESOLVE(sendto, sendto);
	RESOLVE(sendmsg, sendmsg);
	RESOLVE(writev, writev);
	RESOLVE(fork_, _Fork);
	RESOLVE(wait, wait);
	RESOLVE(waitpid, waitpid);
	RESOLVE(wait4, wait4);
	RESOLVE(wait3, wait3);
	RESOLVE(bind, bind);
	RESOLVE(setuid, setuid);
	RESOLVE(setgid, setgid);
	RESOLVE(setreuid, setreuid);
	RESOLVE(setregid, setregid);
	RESOLVE(setresuid, setresuid);
	RESOLVE(setresgid, setresgid);
	RESOLVE(setgroups, setgroups);
	RESOLVE(initgroups, initgroups);
	RESOLVE(chown, chown);
	RESOLVE(fchown, fchown);
	RESOLVE(lchown, lchown);
	RESOLVE(fchownat, fchownat);
	__atomic_store_n(&fl_real_ready, 1, __ATOMIC_RELEASE);
}

void fl_real_init(void)
{
	int e =
	    errno; /* dlsym may set it; the hook's caller must not see that */

	pthread_once(&real_once, real_resolve);
	errno = e;
}
