/* Helpers shared by the sample targets echo_server.c and tcp_client.c.
 *
 * Output protocol: one event per line on stdout, "KEY word=value ...",
 * line-buffered; times are microseconds of CLOCK_MONOTONIC since program
 * start (t_us=); errno values are printed by symbolic name.
 */
#ifndef FL_TARGET_COMMON_H
#define FL_TARGET_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static inline uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static int64_t t0_ns;

static inline int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Call first thing in main(). */
static inline void start_clock(void)
{
	t0_ns = mono_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Microseconds since program start. */
static inline long long t_us(void)
{
	return (long long)((mono_ns() - t0_ns) / 1000);
}

static inline const char *errno_name(int e)
{
	static char num[16];
	switch (e) {
#define E(x) case x: return #x;
	E(EPIPE) E(ECONNRESET) E(ETIMEDOUT) E(EAGAIN) E(ECONNREFUSED)
	E(EHOSTUNREACH) E(ENETUNREACH) E(ENOTCONN) E(EINTR) E(EINVAL)
	E(ECONNABORTED) E(ENETRESET) E(ENETDOWN) E(EHOSTDOWN) E(ESHUTDOWN)
	E(EADDRINUSE) E(EADDRNOTAVAIL) E(EAFNOSUPPORT) E(EPROTO)
	E(EPROTONOSUPPORT) E(ENOPROTOOPT) E(EOPNOTSUPP) E(EINPROGRESS)
	E(EALREADY) E(EISCONN) E(EMSGSIZE) E(ENOBUFS) E(ENOMEM) E(EMFILE)
	E(ENFILE) E(EBADF) E(EFAULT) E(EIO) E(EACCES) E(EPERM) E(ENOENT)
	E(ENOSPC)
#undef E
	default:
		snprintf(num, sizeof num, "%d", e);
		return num;
	}
}

/* Strict decimal parse into [min, max]; false on garbage or overflow. */
static inline bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "1.2.3.4:80" or "[::1]:80". */
static inline void format_addr(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, outlen, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, outlen, "[%s]:%u", host, port);
	} else {
		snprintf(out, outlen, "?:0");
	}
}


/* A TCP socket listening on 127.0.0.1:port (SO_REUSEADDR, close-on-exec),
 * or -1 with errno set. */
static inline int listen_loopback(uint16_t port, int backlog)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e;

	if (fd < 0)
		return -1;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

#endif
