/*
 * pl_calls.c - the program test_preload runs under the shim.
 *
 * Usage: pl_calls SCENARIO.  Each scenario makes socket calls on loopback
 * and prints, per pl_common.h, the event it expects the shim to send for
 * each call (E), or the result of a call that must not be reported (R).
 * Exit status 0 unless a setup step failed (98).
 */
#include "pl_chk.h"
#include "pl_common.h"

#include <dirent.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define ADDRS 256

static const char *fam(int d)
{
	return d == AF_INET ? "inet" : d == AF_INET6 ? "inet6" : "unix";
}

static const char *typ(int t)
{
	t &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	return t == SOCK_STREAM  ? "stream"
	       : t == SOCK_DGRAM ? "dgram"
	                         : "other";
}

/* "laddr=.. lport=.. paddr=.. pport=.." of fd, as the program sees it. */
static const char *addrs(int fd, char *buf)
{
	char l[ADDRS / 2], p[ADDRS / 2];

	snprintf(buf, ADDRS, "%s %s", pl_addr(fd, 0, l, sizeof(l)),
	         pl_addr(fd, 1, p, sizeof(p)));
	return buf;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int p_socket(int domain, int type)
{
	char a[ADDRS];
	int fd = socket(domain, type, 0), e = errno;
	bool tcp = domain != AF_UNIX && typ(type)[0] == 's';

	E("fn=socket fd=%d ret=%d errno=%s family=%s type=%s state=%s %s", fd,
	  fd, pl_err(fd, e), fam(domain), typ(type), tcp ? "CLOSE" : "-",
	  fd >= 0 ? addrs(fd, a) : "");
	PL_CHECK(fd >= 0);
	return fd;
}

static void p_setint(int fd, int level, int opt, int val)
{
	int r = setsockopt(fd, level, opt, &val, sizeof(val)), e = errno;

	E("fn=setsockopt fd=%d ret=%d errno=%s level=%d opt=%d vk=int val=%d",
	  fd, r, pl_err(r, e), level, opt, val);
}

static void p_close(int fd, const char *extra)
{
	int r = close(fd), e = errno;

	E("fn=close fd=%d ret=%d errno=%s %s", fd, r, pl_err(r, e),
	  extra ? extra : "");
}

/* A close that must not be reported (not a socket). */
static void r_close(int fd)
{
	int r = close(fd), e = errno;

	R("fn=close fd=%d ret=%d errno=%s", fd, r, pl_err(r, e));
}

static void loopback(int domain, int port, struct sockaddr_storage *ss,
                     socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (domain == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		in6->sin6_addr = in6addr_loopback;
		*len = sizeof(*in6);
	}
}

/* socket + SO_REUSEADDR (reported) + bind + listen (not hooked). */
static int p_listener(int domain, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l = p_socket(domain, SOCK_STREAM);

	p_setint(l, SOL_SOCKET, SO_REUSEADDR, 1);
	loopback(domain, 0, &ss, &len);
	PL_CHECK(bind(l, (struct sockaddr *)&ss, len) == 0);
	PL_CHECK(listen(l, 16) == 0);
	len = sizeof(ss);
	PL_CHECK(getsockname(l, (struct sockaddr *)&ss, &len) == 0);
	*port =
	    ntohs(domain == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return l;
}

static int p_connect_fd(int c, int domain, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char a[ADDRS];
	int r, e;

	loopback(domain, port, &ss, &len);
	r = connect(c, (struct sockaddr *)&ss, len);
	e = errno;
	if (r == 0)
		E("fn=connect fd=%d ret=0 errno=0 state=ESTABLISHED %s", c,
		  addrs(c, a));
	else
		E("fn=connect fd=%d ret=%d errno=%s peerarg=1 paddr=%s "
		  "pport=%d",
		  c, r, pl_err(r, e), domain == AF_INET ? "127.0.0.1" : "::1",
		  port);
	return r;
}

static int p_connect(int domain, int port)
{
	int c = p_socket(domain, SOCK_STREAM);

	PL_CHECK(p_connect_fd(c, domain, port) == 0);
	return c;
}

static int p_accept(int l, bool four, int flags)
{
	char a[ADDRS];
	int fd = four ? accept4(l, NULL, NULL, flags) : accept(l, NULL, NULL);
	int e = errno;

	if (four)
		E("fn=accept4 fd=%d newfd=%d ret=%d errno=%s flags=%d "
		  "state=ESTABLISHED family=%s %s",
		  l, fd, fd, pl_err(fd, e), flags, "inet", addrs(fd, a));
	else
		E("fn=accept fd=%d newfd=%d ret=%d errno=%s state=ESTABLISHED "
		  "%s",
		  l, fd, fd, pl_err(fd, e), addrs(fd, a));
	PL_CHECK(fd >= 0);
	return fd;
}

static int sock_ioctl(int fd, unsigned long req)
{
	int v = -1;

	PL_CHECK(ioctl(fd, req, &v) == 0);
	return v;
}

/* Sockets of ours the shim does not know: its channel.  Returns the
 * lowest such fd >= 3 that is not in skip[], or -1. */
static int find_foreign_socket(const int *skip, int nskip)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	PL_CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int fd = atoi(de->d_name);
		bool skipped = false;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd < 3 ||
		    fd == dirfd(d))
			continue;
		for (int i = 0; i < nskip; i++)
			skipped |= skip[i] == fd;
		if (!skipped && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    (found < 0 || fd < found))
			found = fd;
	}
	closedir(d);
	return found;
}

/* ---- scenarios ---- */

/* Every hook once on sockets, and the same calls where they must not be
 * reported (files, EAGAIN, zero-length reads, dgram sockets). */
static void sc_basic(void)
{
	char buf[128], a[ADDRS];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int port, port6, r, e;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);
	int c2 = p_connect(AF_INET, port);
	int s2 = p_accept(l, true, SOCK_CLOEXEC);
	int l6 = p_listener(AF_INET6, &port6);
	int c6 = p_connect(AF_INET6, port6);
	int s6 = p_accept(l6, false, 0);
	int sv[2];

	/* socketpair */
	r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	e = errno;
	E("fn=socketpair fd=%d newfd=%d ret=%d errno=%s family=unix "
	  "type=stream",
	  sv[0], sv[1], r, pl_err(r, e));

	/* dup family */
	r = dup(c);
	e = errno;
	E("fn=dup fd=%d newfd=%d ret=%d errno=%s state=ESTABLISHED %s", c, r, r,
	  pl_err(r, e), addrs(c, a));
	int d1 = r;
	r = dup2(c, 50);
	e = errno;
	E("fn=dup2 fd=%d newfd=50 ret=%d errno=%s", c, r, pl_err(r, e));
	r = dup3(c, 51, O_CLOEXEC);
	e = errno;
	E("fn=dup3 fd=%d newfd=51 ret=%d errno=%s flags=%d", c, r, pl_err(r, e),
	  O_CLOEXEC);
	r = fcntl(c, F_DUPFD, 60);
	e = errno;
	E("fn=fcntl fd=%d newfd=%d ret=%d errno=%s cmd=%d min=60", c, r, r,
	  pl_err(r, e), F_DUPFD);
	r = fcntl(c, F_DUPFD_CLOEXEC, 70);
	e = errno;
	E("fn=fcntl fd=%d newfd=%d ret=%d errno=%s cmd=%d min=70", c, r, r,
	  pl_err(r, e), F_DUPFD_CLOEXEC);
	r = fcntl64(c, F_DUPFD, 80);
	e = errno;
	E("fn=fcntl fd=%d newfd=%d ret=%d errno=%s cmd=%d min=80", c, r, r,
	  pl_err(r, e), F_DUPFD);
	p_close(r, NULL);
	/* fcntl's other commands pass their argument through untouched */
	r = fcntl(c, F_GETFD);
	R("fn=fcntl-getfd fd=%d ret=%d", c, r);
	r = fcntl(70, F_GETFD);
	R("fn=fcntl-getfd fd=70 ret=%d", r);
	r = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	R("fn=fcntl-setfl fd=%d ret=%d nonblock=%d", c, r,
	  !!(fcntl(c, F_GETFL) & O_NONBLOCK));
	r = fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
	R("fn=fcntl-setfl fd=%d ret=%d nonblock=%d", c, r,
	  !!(fcntl(c, F_GETFL) & O_NONBLOCK));
	{
		char path[] = "/tmp/pl-lock-XXXXXX";
		int f = mkstemp(path);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

		PL_CHECK(f >= 0);
		unlink(path);
		r = fcntl(f, F_SETLK, &fl);
		e = errno;
		R("fn=fcntl-setlk ret=%d errno=%s", r, pl_err(r, e));
		fl.l_type = F_UNLCK;
		r = fcntl(f, F_GETLK, &fl);
		R("fn=fcntl-getlk ret=%d type=%d", r, fl.l_type);
		/* dup2 of a file over a socket: the socket closes implicitly */
		r = dup2(f, 51);
		e = errno;
		E("fn=dup2 fd=51 implicit=1 ret=%d errno=%s", r, pl_err(r, e));
		r = (int)read(51, buf, sizeof(buf));
		R("fn=read fd=51 ret=%d", r);
		r_close(51);
		r_close(f);
	}
	/* dup2 of a socket over another socket */
	r = dup2(d1, 50);
	e = errno;
	E("fn=dup2 fd=50 implicit=1 ret=%d errno=%s unread=0", r, pl_err(r, e));
	E("fn=dup2 fd=%d newfd=50 ret=%d errno=%s", d1, r, pl_err(r, e));
	/* dup2(fd, fd) closes nothing */
	r = dup2(d1, d1);
	e = errno;
	E("fn=dup2 fd=%d newfd=%d ret=%d errno=%s", d1, d1, r, pl_err(r, e));
	/* failing dups on sockets are reported, on bad fds not */
	r = dup2(c, -1);
	e = errno;
	E("fn=dup2 fd=%d newfd=-1 ret=%d errno=%s", c, r, pl_err(r, e));
	r = dup(555);
	e = errno;
	R("fn=dup fd=555 ret=%d errno=%s", r, pl_err(r, e));
	p_close(50, NULL);
	p_close(60, NULL);
	p_close(70, NULL);
	p_close(d1, NULL);

	/* EAGAIN is not reported */
	r = fcntl(l, F_SETFL, O_NONBLOCK);
	r = accept(l, NULL, NULL);
	e = errno;
	R("fn=accept fd=%d ret=%d errno=%s", l, r, pl_err(r, e));
	r = (int)recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	e = errno;
	R("fn=recv fd=%d ret=%d errno=%s", c, r, pl_err(r, e));

	/* shutdown, then every read function sees EOF on the other end */
	r = shutdown(s, SHUT_WR);
	e = errno;
	E("fn=shutdown fd=%d how=%d ret=%d errno=%s", s, SHUT_WR, r,
	  pl_err(r, e));
	r = (int)read(c, buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s len=%zu state=CLOSE_WAIT %s", c, r,
	  pl_err(r, e), sizeof(buf), addrs(c, a));
	r = (int)recv(c, buf, 10, MSG_PEEK);
	e = errno;
	E("fn=recv fd=%d ret=%d errno=%s len=10 flags=%d", c, r, pl_err(r, e),
	  MSG_PEEK);
	r = (int)recvfrom(c, buf, 20, 0, NULL, NULL);
	e = errno;
	E("fn=recvfrom fd=%d ret=%d errno=%s len=20", c, r, pl_err(r, e));
	r = (int)recvmsg(c, &mh, 0);
	e = errno;
	E("fn=recvmsg fd=%d ret=%d errno=%s len=%zu", c, r, pl_err(r, e),
	  sizeof(buf));
	r = (int)readv(c, &iov, 1);
	e = errno;
	E("fn=readv fd=%d ret=%d errno=%s len=%zu", c, r, pl_err(r, e),
	  sizeof(buf));
	r = (int)pl_chk_read(c, 30);
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s len=30 chk=1", c, r, pl_err(r, e));
	r = (int)pl_chk_recv(c, 31, 0);
	e = errno;
	E("fn=recv fd=%d ret=%d errno=%s len=31 chk=1", c, r, pl_err(r, e));
	r = (int)pl_chk_recvfrom(c, 32, 0);
	e = errno;
	E("fn=recvfrom fd=%d ret=%d errno=%s len=32 chk=1", c, r, pl_err(r, e));
	/* a zero-length read is not EOF */
	r = (int)read(c, buf, 0);
	R("fn=read fd=%d len=0 ret=%d", c, r);
	/* data is not reported */
	r = (int)write(c, "hello", 5);
	R("fn=write fd=%d ret=%d", c, r);
	r = (int)read(s, buf, sizeof(buf));
	R("fn=read fd=%d ret=%d", s, r);

	/* writes after our own shutdown fail with EPIPE */
	signal(SIGPIPE, SIG_IGN);
	r = shutdown(c2, SHUT_WR);
	e = errno;
	E("fn=shutdown fd=%d how=%d ret=%d errno=%s", c2, SHUT_WR, r,
	  pl_err(r, e));
	r = (int)write(c2, "x", 1);
	e = errno;
	E("fn=write fd=%d ret=%d errno=%s len=1", c2, r, pl_err(r, e));
	r = (int)send(c2, "xy", 2, MSG_NOSIGNAL);
	e = errno;
	E("fn=send fd=%d ret=%d errno=%s len=2 flags=%d", c2, r, pl_err(r, e),
	  MSG_NOSIGNAL);
	r = (int)sendto(c2, "xyz", 3, 0, NULL, 0);
	e = errno;
	E("fn=sendto fd=%d ret=%d errno=%s len=3", c2, r, pl_err(r, e));
	iov.iov_len = 4;
	r = (int)sendmsg(c2, &mh, 0);
	e = errno;
	E("fn=sendmsg fd=%d ret=%d errno=%s len=4", c2, r, pl_err(r, e));
	iov.iov_len = 5;
	r = (int)writev(c2, &iov, 1);
	e = errno;
	E("fn=writev fd=%d ret=%d errno=%s len=5", c2, r, pl_err(r, e));

	/* a datagram socket's errors are not reported */
	{
		int u = p_socket(AF_INET, SOCK_DGRAM);

		r = (int)recv(u, buf, sizeof(buf), MSG_DONTWAIT);
		e = errno;
		R("fn=recv fd=%d ret=%d errno=%s", u, r, pl_err(r, e));
		r = (int)send(u, "x", 1, 0);
		e = errno;
		R("fn=send fd=%d ret=%d errno=%s", u, r, pl_err(r, e));
		p_close(u, "family=inet type=dgram state=-");
	}

	/* a refused connect reports the address it asked for */
	{
		int dead = p_socket(AF_INET, SOCK_STREAM), dport;
		struct sockaddr_storage ss;
		socklen_t len;

		loopback(AF_INET, 0, &ss, &len);
		PL_CHECK(bind(dead, (struct sockaddr *)&ss, len) == 0);
		len = sizeof(ss);
		PL_CHECK(getsockname(dead, (struct sockaddr *)&ss, &len) == 0);
		dport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		p_close(dead, "state=CLOSE");
		int x = p_socket(AF_INET, SOCK_STREAM);
		r = p_connect_fd(x, AF_INET, dport);
		PL_CHECK(r < 0);
		p_close(x, NULL);
	}

	/* a unix stream pair: EOF is reported there too */
	p_close(sv[1], "family=unix type=stream");
	r = (int)read(sv[0], buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s family=unix state=-", sv[0], r,
	  pl_err(r, e));
	p_close(sv[0], NULL);

	/* close_range over one socket, and with CLOEXEC (closes nothing) */
	r = close_range((unsigned)c6, (unsigned)c6, 0);
	e = errno;
	E("fn=close_range fd=%d implicit=1 ret=0 errno=0 first=%d last=%d "
	  "family=inet6 state=ESTABLISHED",
	  c6, c6, c6);
	E("fn=close_range fd=-1 ret=%d errno=%s first=%d last=%d flags=0", r,
	  pl_err(r, e), c6, c6);
	r = close_range((unsigned)s6, ~0u, CLOSE_RANGE_CLOEXEC);
	e = errno;
	E("fn=close_range fd=-1 ret=%d errno=%s first=%d last=%u flags=%d", r,
	  pl_err(r, e), s6, ~0u, CLOSE_RANGE_CLOEXEC);
	r = close_range(9, 3, 0);
	e = errno;
	E("fn=close_range fd=-1 ret=%d errno=%s first=9 last=3 flags=0", r,
	  pl_err(r, e));

	/* calls on things that are not sockets are not reported */
	{
		struct sockaddr_in in = {.sin_family = AF_INET};
		int one = 1;

		r = shutdown(0, SHUT_RD);
		e = errno;
		R("fn=shutdown fd=0 ret=%d errno=%s", r, pl_err(r, e));
		r = setsockopt(1, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		e = errno;
		R("fn=setsockopt fd=1 ret=%d errno=%s", r, pl_err(r, e));
		r = connect(0, (struct sockaddr *)&in, sizeof(in));
		e = errno;
		R("fn=connect fd=0 ret=%d errno=%s", r, pl_err(r, e));
		r = accept(0, NULL, NULL);
		e = errno;
		R("fn=accept fd=0 ret=%d errno=%s", r, pl_err(r, e));
		r = close(-1);
		e = errno;
		R("fn=close fd=-1 ret=%d errno=%s", r, pl_err(r, e));
		r = close(777);
		e = errno;
		R("fn=close fd=777 ret=%d errno=%s", r, pl_err(r, e));
	}

	p_close(s6, NULL);
	p_close(l6, "state=LISTEN");
	p_close(c, "state=CLOSE_WAIT");
	p_close(s, NULL);
	p_close(c2, NULL);
	p_close(s2, NULL);
	p_close(l, "state=LISTEN");
}

static void p_setlinger(int fd, int onoff, int secs)
{
	struct linger lg = {onoff, secs};
	int r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
	    e = errno;

	E("fn=setsockopt fd=%d ret=%d errno=%s level=%d opt=%d vk=linger "
	  "linger=%d,%d",
	  fd, r, pl_err(r, e), SOL_SOCKET, SO_LINGER, onoff, secs);
}

static void p_settv(int fd, int opt, long sec, long usec)
{
	struct timeval tv = {sec, usec};
	int r = setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)), e = errno;

	E("fn=setsockopt fd=%d ret=%d errno=%s level=%d opt=%d vk=timeval "
	  "val=%ld",
	  fd, r, pl_err(r, e), SOL_SOCKET, opt, sec * 1000000 + usec);
}

/* A socket received with SCM_RIGHTS is known as one: its EOF is reported. */
static void sc_rights(void)
{
	char buf[16], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {buf, 1};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = cbuf,
	                    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	int port, r, e, sv[2], x;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);

	r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	E("fn=socketpair fd=%d newfd=%d ret=%d", sv[0], sv[1], r);
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &c, sizeof(int));
	r = (int)sendmsg(sv[0], &mh, 0);
	R("fn=sendmsg ret=%d", r);
	mh.msg_controllen = sizeof(cbuf);
	r = (int)recvmsg(sv[1], &mh, 0);
	cm = CMSG_FIRSTHDR(&mh);
	PL_CHECK(r == 1 && cm != NULL && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&x, CMSG_DATA(cm), sizeof(int));
	R("fn=recvmsg ret=%d received=%d", r, x);
	p_close(c, NULL);
	r = shutdown(s, SHUT_WR);
	E("fn=shutdown fd=%d ret=%d", s, r);
	r = (int)read(x, buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s state=CLOSE_WAIT", x, r, pl_err(r, e));
	p_close(x, NULL);
	p_close(s, NULL);
	p_close(sv[0], NULL);
	p_close(sv[1], NULL);
	p_close(l, NULL);
}

/* setsockopt decoding, including calls that fail. */
static void sc_sockopt(void)
{
	int s = p_socket(AF_INET, SOCK_STREAM);
	int r, e, v = 1;

	p_setlinger(s, 1, 5);
	p_setint(s, SOL_SOCKET, SO_KEEPALIVE, 1);
	p_setint(s, IPPROTO_TCP, TCP_KEEPIDLE, 30);
	p_setint(s, IPPROTO_TCP, TCP_KEEPINTVL, 5);
	p_setint(s, IPPROTO_TCP, TCP_KEEPCNT, 3);
	p_setint(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 10000);
	p_setint(s, IPPROTO_TCP, TCP_NODELAY, 1);
	p_setint(s, IPPROTO_IP, IP_TOS, 0x10);
	p_settv(s, SO_RCVTIMEO, 1, 500000);
	p_settv(s, SO_SNDTIMEO, 0, 250000);
	/* failures: the value is not decoded (nor read) */
	r = setsockopt(s, SOL_SOCKET, SO_LINGER, &v, 2);
	e = errno;
	E("fn=setsockopt fd=%d ret=%d errno=%s level=%d opt=%d vk=none", s, r,
	  pl_err(r, e), SOL_SOCKET, SO_LINGER);
	r = setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, (void *)8, sizeof(int));
	e = errno;
	E("fn=setsockopt fd=%d ret=%d errno=%s level=%d opt=%d vk=none", s, r,
	  pl_err(r, e), SOL_SOCKET, SO_KEEPALIVE);
	r = setsockopt(s, 9999, 1, &v, sizeof(v));
	e = errno;
	E("fn=setsockopt fd=%d ret=%d errno=%s level=9999 opt=1 vk=none", s, r,
	  pl_err(r, e));
	/* a value that is neither an int nor a known struct */
	{
		char dev[] = "lo";

		r = setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, 3);
		e = errno;
		if (r == 0)
			E("fn=setsockopt fd=%d ret=0 errno=0 level=%d opt=%d "
			  "vk=bytes val=%d",
			  s, SOL_SOCKET, SO_BINDTODEVICE, 'l' | 'o' << 8);
		else
			E("fn=setsockopt fd=%d ret=%d errno=%s level=%d "
			  "opt=%d vk=none",
			  s, r, pl_err(r, e), SOL_SOCKET, SO_BINDTODEVICE);
	}
	p_setlinger(s, 1, 0);
	p_close(s, "linger=1,0 unread=0 unsent=0 state=CLOSE");
}

/* The peer aborts (SO_LINGER {1,0}): ECONNRESET, then EOF. */
static void sc_reset(void)
{
	char buf[100], a[ADDRS];
	int port, r, e;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);

	p_setlinger(s, 1, 0);
	p_close(s, "linger=1,0 unread=0 unsent=0 state=ESTABLISHED");
	r = (int)read(c, buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s len=%zu state=CLOSE %s", c, r,
	  pl_err(r, e), sizeof(buf), addrs(c, a));
	r = (int)read(c, buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s state=CLOSE", c, r, pl_err(r, e));
	p_close(c, "state=CLOSE");
	p_close(l, "state=LISTEN");
}

/* Writing to a peer that closed: one write goes out, the RST comes back,
 * the next write fails with EPIPE. */
static void sc_epipe(void)
{
	char buf[16];
	struct iovec iov = {buf, 6};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int port, r = 0, e = 0;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);

	signal(SIGPIPE, SIG_IGN);
	memset(buf, 'x', sizeof(buf));
	p_close(s, "unread=0 state=ESTABLISHED");
	r = (int)read(c, buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s state=CLOSE_WAIT", c, r, pl_err(r, e));
	for (int i = 0; i < 200; i++) {
		r = (int)write(c, "x", 1);
		e = errno;
		if (r < 0)
			break;
		I("write %d went out", i);
		sleep_ms(5);
	}
	E("fn=write fd=%d ret=%d errno=%s len=1 state=CLOSE", c, r,
	  pl_err(r, e));
	r = (int)send(c, buf, 2, MSG_NOSIGNAL);
	e = errno;
	E("fn=send fd=%d ret=%d errno=%s len=2", c, r, pl_err(r, e));
	r = (int)sendto(c, buf, 3, MSG_NOSIGNAL, NULL, 0);
	e = errno;
	E("fn=sendto fd=%d ret=%d errno=%s len=3", c, r, pl_err(r, e));
	r = (int)sendmsg(c, &mh, MSG_NOSIGNAL);
	e = errno;
	E("fn=sendmsg fd=%d ret=%d errno=%s len=6", c, r, pl_err(r, e));
	r = (int)writev(c, &iov, 1);
	e = errno;
	E("fn=writev fd=%d ret=%d errno=%s len=6", c, r, pl_err(r, e));
	p_close(c, "state=CLOSE");
	p_close(l, NULL);
}

/* Unread bytes (SIOCINQ) and unsent bytes (SIOCOUTQ) at close. */
static void sc_unread(void)
{
	static char chunk[65536];
	char extra[64];
	int port, r, unread, unsent;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);

	r = (int)write(c, "0123456789", 10);
	R("fn=write fd=%d ret=%d", c, r);
	sleep_ms(50);
	unread = sock_ioctl(s, SIOCINQ);
	R("unread=%d", unread);
	snprintf(extra, sizeof(extra), "unread=%d unsent=0 state=ESTABLISHED",
	         unread);
	p_close(s, extra);
	p_close(c, NULL);

	/* a peer that does not read, small buffers, write until EAGAIN */
	p_setint(l, SOL_SOCKET, SO_RCVBUF, 4096);
	c = p_connect(AF_INET, port);
	s = p_accept(l, false, 0);
	p_setint(c, SOL_SOCKET, SO_SNDBUF, 16384);
	PL_CHECK(fcntl(c, F_SETFL, O_NONBLOCK) == 0);
	for (int i = 0; i < 10000; i++) {
		r = (int)write(c, chunk, sizeof(chunk));
		if (r < 0)
			break;
	}
	R("fill ended errno=%s", pl_err(r, errno));
	sleep_ms(100);
	unsent = sock_ioctl(c, SIOCOUTQ);
	unread = sock_ioctl(s, SIOCINQ);
	I("unsent=%d unread=%d", unsent, unread);
	PL_CHECK(unsent > 0 && unread > 0);
	snprintf(extra, sizeof(extra), "unsent=%d state=ESTABLISHED", unsent);
	p_close(c, extra);
	snprintf(extra, sizeof(extra), "unread=%d", unread);
	p_close(s, extra);
	p_close(l, "state=LISTEN");
}

/* fork() and _Fork(): a child's events carry the child's pid. */
static void sc_fork(void)
{
	int port, status;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);
	pid_t parent = getpid(), pid;

	for (int round = 0; round < 2; round++) {
		pid = round == 0 ? fork() : _Fork();
		PL_CHECK(pid >= 0);
		if (pid == 0) {
			I("hello-expect pid=%d ppid=%d why=fork", (int)getpid(),
			  (int)parent);
			p_close(c, "state=ESTABLISHED");
			int x = p_socket(AF_INET6, SOCK_STREAM);
			p_close(x, NULL);
			_exit(0);
		}
		PL_CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	}
	p_close(c, "state=ESTABLISHED");
	p_close(s, NULL);
	p_close(l, NULL);
}

/* A vfork child's close of its copy of a socket changes nothing for the
 * parent: the parent's later EOF on that socket is still reported. */
static void sc_vfork(void)
{
	char buf[16];
	int port, r, e, status;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);
	pid_t pid = vfork();

	if (pid == 0)
		_exit(close(c) == 0 && dup2(s, 40) == 40 && close(s) == 0 ? 0
		                                                          : 1);
	PL_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	R("vfork child status=%d", status);
	r = shutdown(s, SHUT_WR);
	E("fn=shutdown fd=%d ret=%d", s, r);
	r = (int)read(c, buf, sizeof(buf));
	e = errno;
	E("fn=read fd=%d ret=%d errno=%s state=CLOSE_WAIT", c, r, pl_err(r, e));
	p_close(c, NULL);
	p_close(s, NULL);
	p_close(l, NULL);
}

static void *thread_main(void *arg)
{
	int n = (int)(intptr_t)arg;

	for (int i = 0; i < n; i++) {
		int s = p_socket(i % 2 ? AF_INET : AF_INET6, SOCK_STREAM);

		p_setint(s, SOL_SOCKET, SO_KEEPALIVE, i);
		p_close(s, NULL);
	}
	return NULL;
}

/* Threads: each thread's events come in its order, with its tid. */
static void sc_threads(void)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		PL_CHECK(pthread_create(&t[i], NULL, thread_main,
		                        (void *)(intptr_t)25) == 0);
	thread_main((void *)(intptr_t)10);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
}

/* closefrom(3) closes the shim's channel too: later events still arrive. */
static void sc_closefrom(void)
{
	int port, r, f;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);
	int sv[2];

	f = open("/dev/null", O_RDONLY);
	PL_CHECK(f >= 0);
	R("fn=open ret=%d", f);
	r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	E("fn=socketpair fd=%d newfd=%d ret=%d", sv[0], sv[1], r);
	I("shim channel before: %d", find_foreign_socket(NULL, 0));
	closefrom(3);
	/* ascending order, each with its close info, then the summary */
	E("fn=closefrom fd=%d implicit=1 ret=0 state=LISTEN", l);
	E("fn=closefrom fd=%d implicit=1 ret=0 state=ESTABLISHED unread=0", c);
	E("fn=closefrom fd=%d implicit=1 ret=0 state=ESTABLISHED", s);
	E("fn=closefrom fd=%d implicit=1 ret=0 family=unix", sv[0]);
	E("fn=closefrom fd=%d implicit=1 ret=0 family=unix", sv[1]);
	E("fn=closefrom fd=-1 ret=0 errno=0 first=3 last=%u", ~0u);
	r = fcntl(f, F_GETFD);
	R("fn=fcntl-getfd fd=%d ret=%d", f, r);
	I("shim channel after: %d", find_foreign_socket(NULL, 0));
	/* the target gets the numbers it would get without the shim */
	c = p_socket(AF_INET, SOCK_STREAM);
	R("first socket after closefrom: fd=%d", c);
	p_close(c, NULL);
	closefrom(10);
	E("fn=closefrom fd=-1 ret=0 errno=0 first=10 last=%u", ~0u);
	c = p_socket(AF_INET, SOCK_STREAM);
	p_close(c, NULL);
}

/* close_range over everything (with and without UNSHARE). */
static void sc_close_range(void)
{
	int port, r, e;
	int l = p_listener(AF_INET, &port);
	int c = p_connect(AF_INET, port);
	int s = p_accept(l, false, 0);

	r = close_range(3, ~0u, CLOSE_RANGE_UNSHARE);
	e = errno;
	E("fn=close_range fd=%d implicit=1 ret=0", l);
	E("fn=close_range fd=%d implicit=1 ret=0", c);
	E("fn=close_range fd=%d implicit=1 ret=0", s);
	E("fn=close_range fd=-1 ret=%d errno=%s first=3 last=%u flags=%d", r,
	  pl_err(r, e), ~0u, CLOSE_RANGE_UNSHARE);
	l = p_listener(AF_INET, &port);
	R("first socket after close_range: fd=%d", l);
	c = p_connect(AF_INET, port);
	s = p_accept(l, false, 0);
	r = close_range(3, ~0u, 0);
	e = errno;
	E("fn=close_range fd=%d implicit=1 ret=0", l);
	E("fn=close_range fd=%d implicit=1 ret=0", c);
	E("fn=close_range fd=%d implicit=1 ret=0", s);
	E("fn=close_range fd=-1 ret=%d errno=%s first=3 last=%u flags=0", r,
	  pl_err(r, e), ~0u);
	c = p_socket(AF_INET, SOCK_STREAM);
	p_close(c, NULL);
}

/* The target hits the shim's descriptor with dup2, dup3, close and a
 * close-everything loop; it sees what it would see without the shim. */
static void sc_shimfd(void)
{
	int own[4], nown = 0;
	int chan, r, e, ok;
	int s = p_socket(AF_INET, SOCK_STREAM);

	own[nown++] = s;
	chan = find_foreign_socket(own, nown);
	if (chan < 0) {
		I("no shim channel found");
		return;
	}
	I("channel=%d", chan);
	/* dup2 over it: the target's socket lands there, nothing else closes */
	r = dup2(s, chan);
	e = errno;
	E("fn=dup2 fd=%d newfd=%d ret=%d errno=%s", s, chan, r, pl_err(r, e));
	own[nown++] = chan;
	int chan2 = find_foreign_socket(own, nown);
	I("channel moved to %d", chan2);
	PL_CHECK(chan2 >= 0 && chan2 != chan);
	p_close(chan, NULL);
	nown--;
	/* the channel as the source of a dup or as a close: EBADF, as if
	 * it were not there (and it moves on, so look for it each time) */
	r = close(chan2);
	e = errno;
	R("fn=close fd=channel ret=%d errno=%s", r, pl_err(r, e));
	chan2 = find_foreign_socket(own, nown);
	I("channel now %d", chan2);
	r = dup(chan2);
	e = errno;
	R("fn=dup fd=channel ret=%d errno=%s", r, pl_err(r, e));
	r = dup2(chan2, 40);
	e = errno;
	R("fn=dup2 fd=channel ret=%d errno=%s", r, pl_err(r, e));
	r = dup3(chan2, 41, 0);
	e = errno;
	R("fn=dup3 fd=channel ret=%d errno=%s", r, pl_err(r, e));
	r = fcntl(chan2, F_DUPFD_CLOEXEC, 0);
	e = errno;
	R("fn=fcntl fd=channel ret=%d errno=%s", r, pl_err(r, e));
	int chan3 = find_foreign_socket(own, nown);
	I("channel now %d", chan3);
	/* dup3 over it */
	r = dup3(s, chan3, O_CLOEXEC);
	e = errno;
	E("fn=dup3 fd=%d newfd=%d ret=%d errno=%s flags=%d", s, chan3, r,
	  pl_err(r, e), O_CLOEXEC);
	p_close(chan3, NULL);
	/* close every descriptor but the standard ones */
	ok = 0;
	for (int fd = 3; fd < 2048; fd++) {
		if (fd == s) {
			p_close(fd, NULL);
			ok++;
		} else if (close(fd) == 0) {
			ok++;
		}
	}
	R("close loop closed=%d", ok);
	I("channel after the loop: %d", find_foreign_socket(NULL, 0));
	s = p_socket(AF_INET, SOCK_STREAM);
	p_close(s, NULL);
}

/* Files, pipes and bad descriptors: nothing is reported. */
static void sc_files(void)
{
	char path[] = "/tmp/pl-file-XXXXXX", buf[64];
	struct iovec iov = {buf, sizeof(buf)};
	int f = mkstemp(path), p[2], r, e;

	PL_CHECK(f >= 0);
	unlink(path);
	signal(SIGPIPE, SIG_IGN);
	r = (int)write(f, "hello", 5);
	R("fn=write ret=%d", r);
	lseek(f, 0, SEEK_SET);
	r = (int)read(f, buf, sizeof(buf));
	R("fn=read ret=%d", r);
	r = (int)read(f, buf, sizeof(buf));
	R("fn=read ret=%d", r);
	r = (int)readv(f, &iov, 1);
	R("fn=readv ret=%d", r);
	r = (int)writev(f, &iov, 1);
	R("fn=writev ret=%d", r);
	r = (int)read(999, buf, sizeof(buf));
	e = errno;
	R("fn=read fd=999 ret=%d errno=%s", r, pl_err(r, e));
	r = (int)write(999, buf, 1);
	e = errno;
	R("fn=write fd=999 ret=%d errno=%s", r, pl_err(r, e));
	r = (int)recv(f, buf, 1, 0);
	e = errno;
	R("fn=recv fd=file ret=%d errno=%s", r, pl_err(r, e));
	r = (int)send(f, buf, 1, 0);
	e = errno;
	R("fn=send fd=file ret=%d errno=%s", r, pl_err(r, e));
	PL_CHECK(pipe(p) == 0);
	r_close(p[1]);
	r = (int)read(p[0], buf, sizeof(buf));
	R("fn=read pipe ret=%d", r);
	r_close(p[0]);
	PL_CHECK(pipe(p) == 0);
	r_close(p[0]);
	r = (int)write(p[1], "x", 1);
	e = errno;
	R("fn=write pipe ret=%d errno=%s", r, pl_err(r, e));
	r_close(p[1]);
	r = dup(f);
	R("fn=dup ret=%d", r);
	r_close(r);
	r = dup2(f, 40);
	R("fn=dup2 ret=%d", r);
	r = dup3(f, 40, O_CLOEXEC);
	R("fn=dup3 ret=%d", r);
	r = fcntl(f, F_DUPFD, 50);
	R("fn=fcntl ret=%d", r);
	r_close(50);
	r_close(40);
	r_close(f);
}

/* exec: the new image's constructor says hello again and reports. */
static void sc_exec(char *argv0)
{
	int s = p_socket(AF_INET, SOCK_STREAM);

	p_close(s, NULL);
	execl("/proc/self/exe", argv0, "exec2", (char *)NULL);
	PL_CHECK(0);
}

static void sc_exec2(void)
{
	int s;

	I("hello-expect pid=%d ppid=%d why=start", (int)getpid(),
	  (int)getppid());
	s = p_socket(AF_INET, SOCK_STREAM);
	p_close(s, NULL);
}

/* More events than the test reads: they are counted, not lost silently. */
static void sc_flood(void)
{
	char c;

	for (int i = 0; i < 300; i++)
		close(socket(AF_INET, SOCK_STREAM, 0));
	I("release");
	PL_CHECK(read(0, &c, 1) == 1);
	close(socket(AF_INET, SOCK_STREAM, 0));
}

/*
 * priv: the privileged calls, run as a user with no capability (uid
 * 65534): the refused ones are reported (E, with their ids), the ones
 * that succeed are not (R).
 */
static void sc_priv(void)
{
	char path[64];
	gid_t root[1] = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r, fd, s;

	PL_CHECK(geteuid() != 0);
	r = setgid(0);
	E("fn=setgid ret=%d errno=%s ids=0", r, pl_err(r, errno));
	r = setuid(0);
	E("fn=setuid ret=%d errno=%s ids=0", r, pl_err(r, errno));
	r = setuid((uid_t)-1);
	E("fn=setuid ret=%d errno=%s ids=-1", r, pl_err(r, errno));
	r = setreuid(0, 0);
	E("fn=setreuid ret=%d errno=%s ids=0,0", r, pl_err(r, errno));
	r = setregid(0, 0);
	E("fn=setregid ret=%d errno=%s ids=0,0", r, pl_err(r, errno));
	r = setresuid(0, 0, 0);
	E("fn=setresuid ret=%d errno=%s ids=0,0,0", r, pl_err(r, errno));
	r = setresgid(0, 0, 0);
	E("fn=setresgid ret=%d errno=%s ids=0,0,0", r, pl_err(r, errno));
	r = setgroups(1, root);
	E("fn=setgroups ret=%d errno=%s ids=1,0", r, pl_err(r, errno));
	r = initgroups("root", 0);
	E("fn=initgroups ret=%d errno=%s ids=0 path=root", r, pl_err(r, errno));
	r = setuid(geteuid());
	R("fn=setuid ret=%d errno=%s", r, pl_err(r, errno));
	snprintf(path, sizeof(path), "/tmp/pl_priv.uid%d", (int)getuid());
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	PL_CHECK(fd >= 0);
	r = chown(path, 0, 0);
	E("fn=chown ret=%d errno=%s ids=0,0 path=%s", r, pl_err(r, errno), path);
	r = lchown(path, 0, 0);
	E("fn=lchown ret=%d errno=%s ids=0,0 path=%s", r, pl_err(r, errno), path);
	r = fchown(fd, 0, 0);
	E("fn=fchown fd=%d ret=%d errno=%s ids=0,0", fd, r, pl_err(r, errno));
	r = fchownat(AT_FDCWD, path, 0, 0, AT_SYMLINK_NOFOLLOW);
	E("fn=fchownat ret=%d errno=%s ids=0,0 path=%s flags=%d", r,
	  pl_err(r, errno), path, AT_SYMLINK_NOFOLLOW);
	r = chown(path, (uid_t)-1, (gid_t)-1);
	R("fn=chown ret=%d errno=%s", r, pl_err(r, errno));
	close(fd);
	unlink(path);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	E("fn=socket fd=%d ret=%d errno=0", s, s);
	sa.sin_port = htons(80);
	r = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	E("fn=bind fd=%d ret=%d errno=%s family=inet port=80", s, r,
	  pl_err(r, errno));
	sa.sin_port = 0;
	r = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	R("fn=bind ret=%d errno=%s", r, pl_err(r, errno));
	r = close(s);
	E("fn=close fd=%d ret=%d errno=0", s, r);
}

int main(int argc, char **argv)
{
	const char *sc = argc > 1 ? argv[1] : "";

	if (strcmp(sc, "basic") == 0)
		sc_basic();
	else if (strcmp(sc, "rights") == 0)
		sc_rights();
	else if (strcmp(sc, "sockopt") == 0)
		sc_sockopt();
	else if (strcmp(sc, "reset") == 0)
		sc_reset();
	else if (strcmp(sc, "epipe") == 0)
		sc_epipe();
	else if (strcmp(sc, "unread") == 0)
		sc_unread();
	else if (strcmp(sc, "fork") == 0)
		sc_fork();
	else if (strcmp(sc, "vfork") == 0)
		sc_vfork();
	else if (strcmp(sc, "threads") == 0)
		sc_threads();
	else if (strcmp(sc, "closefrom") == 0)
		sc_closefrom();
	else if (strcmp(sc, "close_range") == 0)
		sc_close_range();
	else if (strcmp(sc, "shimfd") == 0)
		sc_shimfd();
	else if (strcmp(sc, "files") == 0)
		sc_files();
	else if (strcmp(sc, "exec") == 0)
		sc_exec(argv[0]);
	else if (strcmp(sc, "exec2") == 0)
		sc_exec2();
	else if (strcmp(sc, "flood") == 0)
		sc_flood();
	else if (strcmp(sc, "priv") == 0)
		sc_priv();
	else {
		fprintf(stderr, "usage: pl_calls SCENARIO\n");
		return 2;
	}
	return 0;
}
