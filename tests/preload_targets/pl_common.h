/*
 * pl_common.h - output helpers for the preload test programs.
 *
 * A test program states what it did, one line per call, and test_preload
 * compares that with what the shim reported (the way strace's tests print
 * the line they expect strace to print):
 *
 *   E pid=N tid=N fn=close fd=5 ret=0 errno=0 [key=value]...
 *       a call the shim must report, in this order for this thread; every
 *       key given must match the event (keys: see test_preload.c)
 *   R pid=N tid=N fn=... ret=... errno=...
 *       a call the shim must NOT report; its result is still compared
 *       between a run with and a run without the shim
 *   I free text
 *       information; "I release" asks the test to drain the events it
 *       held back and to write one byte to our stdin
 *
 * Each line goes out with one write(2), so lines of threads and forked
 * children never mix.  errno is printed by name, 0 when the call succeeded.
 */
#ifndef FL_PL_COMMON_H
#define FL_PL_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void pl_line(char kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void pl_line(char kind, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (kind == 'I')
		n = snprintf(buf, sizeof(buf), "I ");
	else
		n = snprintf(buf, sizeof(buf), "%c pid=%d tid=%d ", kind,
		             (int)getpid(), (int)gettid());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(1, buf, (size_t)n) != n)
		_exit(99);
}

#define E(...) pl_line('E', __VA_ARGS__)
#define R(...) pl_line('R', __VA_ARGS__)
#define I(...) pl_line('I', __VA_ARGS__)

/* errno as the lines print it: a name, or "0" when the call succeeded. */
static inline const char *pl_err(long ret, int e)
{
	const char *s;

	if (ret >= 0)
		return "0";
	s = strerrorname_np(e);
	return s ? s : "?";
}

/* Stops the program: a setup step failed, not a call under test. */
#define PL_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			I("FAILED %s:%d: %s (%s)", __FILE__, __LINE__, #cond,  \
			  strerror(errno));                                    \
			_exit(98);                                             \
		}                                                              \
	} while (0)

/* "laddr=A lport=P" or "paddr=A pport=P" for an inet/inet6 socket. */
static inline const char *pl_addr(int fd, int peer, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN];
	const char *p = peer ? "p" : "l";
	int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
	             : getsockname(fd, (struct sockaddr *)&ss, &sl);

	if (r < 0) {
		snprintf(buf, len, "%saddr=-", p);
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%saddr=%s %sport=%u", p, a, p,
		         ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "%saddr=%s %sport=%u", p, a, p,
		         ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "%saddr=-", p);
	}
	return buf;
}

#endif
