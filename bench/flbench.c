/* flbench.c - the small programs bench/run.sh measures with.
 *
 * One binary, one subcommand per workload, so run.sh compiles one file with
 * cc and nothing else.  Single-threaded; every figure is taken with
 * CLOCK_MONOTONIC around the work itself (not around process start), and
 * printed as one line of key=value pairs on stdout for run.sh to parse.
 *
 *   flbench server PORT             epoll echo server for any number of flows
 *   flbench rtt PORT N SIZE [GAP_US] one flow, N request/echo round trips of
 *                                    SIZE bytes (TCP_NODELAY), GAP_US between
 *                                    them; prints min/p50/p99/max in us
 *   flbench conns PORT N SIZE       N times: connect, SIZE bytes echoed, close
 *   flbench flows PORT NFLOWS ROUNDS NFLOWS flows open at once; ROUNDS rounds
 *                                    of one 32-byte echo on every flow
 *   flbench stampserver PORT        for each 8-byte request, answers 8 bytes:
 *                                    its CLOCK_MONOTONIC ns just before write()
 *   flbench oneway PORT N [GAP_US]  against stampserver: N requests, each
 *                                    sample = client's read time - server's
 *                                    write time (one host, one clock: the
 *                                    one-way latency server -> client alone,
 *                                    whatever the request's path cost)
 *   flbench time N CMD [ARG]...     run CMD N times, wall time min/p50/p99 ms
 *
 * Clients connect to 127.0.0.1.  Not part of faultline: no test depends on
 * it and no timing from it is asserted anywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "flbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "flbench: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

static void print_dist(const char *unit, double div, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("n=%zu min_%s=%.1f p50_%s=%.1f p99_%s=%.1f max_%s=%.1f\n", n,
	       unit, v[0] / div, unit, pct(v, n, 50) / div, unit,
	       pct(v, n, 99) / div, unit, v[n - 1] / div);
}

static int connect_lo(int port, int nonblock)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
			(nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("socket");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    !(nonblock && errno == EINPROGRESS))
		die("connect");
	return fd;
}

static void write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		b += w;
		n -= (size_t)w;
	}
}

static void read_all(int fd, char *b, size_t n)
{
	while (n) {
		ssize_t r = read(fd, b, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read");
		if (r == 0) {
			fprintf(stderr, "flbench: unexpected EOF\n");
			exit(1);
		}
		b += r;
		n -= (size_t)r;
	}
}

/* ---- server ---- */

static __attribute__((noreturn)) void cmd_server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	struct epoll_event ev, evs[256];
	static char buf[65536];
	int one = 1, lfd, ep;

	raise_nofile();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(lfd, 4096) < 0)
		die("listen");
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY,
						   &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof(buf));

				if (r > 0) {
					/* echoes are small: a short write
					 * here would be a bench bug, not a
					 * faultline one */
					if (write(fd, buf, (size_t)r) != r) {
						close(fd);
						break;
					}
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && errno == EAGAIN)
					break;
				close(fd);
				break;
			}
		}
	}
}

static __attribute__((noreturn)) void cmd_stampserver(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, lfd, c;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(lfd, 16) < 0)
		die("listen");
	/* one client at a time is all oneway needs */
	while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		uint64_t t;

		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (;;) {
			size_t got = 0;

			while (got < sizeof(t)) {
				ssize_t r = read(c, (char *)&t + got, sizeof(t) - got);

				if (r <= 0)
					goto next;
				got += (size_t)r;
			}
			t = now_ns();
			if (write(c, &t, sizeof(t)) != (ssize_t)sizeof(t))
				break;
		}
next:
		close(c);
	}
	die("accept");
}

/* ---- clients ---- */

static int cmd_rtt(int port, long n, long size, long gap_us)
{
	uint64_t *v = calloc((size_t)n, sizeof(*v));
	char *b = calloc(1, (size_t)size);
	int fd = connect_lo(port, 0);

	if (!v || !b || n < 1 || size < 1)
		return 2;
	memset(b, 'x', (size_t)size);
	/* one untimed warm-up round trip */
	write_all(fd, b, (size_t)size);
	read_all(fd, b, (size_t)size);
	for (long i = 0; i < n; i++) {
		uint64_t t0;

		if (gap_us)
			usleep((useconds_t)gap_us);
		t0 = now_ns();
		write_all(fd, b, (size_t)size);
		read_all(fd, b, (size_t)size);
		v[i] = now_ns() - t0;
	}
	close(fd);
	print_dist("us", 1e3, v, (size_t)n);
	return 0;
}

static int cmd_oneway(int port, long n, long gap_us)
{
	uint64_t *v = calloc((size_t)n, sizeof(*v)), t = 0;
	int fd = connect_lo(port, 0);

	if (!v || n < 1)
		return 2;
	write_all(fd, (char *)&t, sizeof(t));	/* untimed warm-up */
	read_all(fd, (char *)&t, sizeof(t));
	for (long i = 0; i < n; i++) {
		if (gap_us)
			usleep((useconds_t)gap_us);
		write_all(fd, (char *)&t, sizeof(t));
		read_all(fd, (char *)&t, sizeof(t));
		v[i] = now_ns() - t;
	}
	close(fd);
	print_dist("us", 1e3, v, (size_t)n);
	return 0;
}

static int cmd_conns(int port, long n, long size)
{
	char *b = calloc(1, (size_t)size);
	uint64_t t0;
	double s;

	if (!b || n < 1 || size < 1)
		return 2;
	memset(b, 'c', (size_t)size);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		int fd = connect_lo(port, 0);

		write_all(fd, b, (size_t)size);
		read_all(fd, b, (size_t)size);
		close(fd);
	}
	s = (double)(now_ns() - t0) / 1e9;
	printf("n=%ld secs=%.4f per_sec=%.1f\n", n, s, (double)n / s);
	return 0;
}

static int cmd_flows(int port, long nflows, long rounds)
{
	struct epoll_event ev, *evs;
	int *fds, *got, ep, open = 0;
	char b[32];
	uint64_t t0, t1;
	long batch = 256;

	raise_nofile();
	fds = calloc((size_t)nflows, sizeof(*fds));
	got = calloc((size_t)nflows, sizeof(*got));
	evs = calloc(256, sizeof(*evs));
	if (!fds || !got || !evs || nflows < 1 || rounds < 1)
		return 2;
	memset(b, 'f', sizeof(b));
	ep = epoll_create1(EPOLL_CLOEXEC);
	t0 = now_ns();
	/* open in batches so the listen backlog never overflows */
	while (open < nflows) {
		int start = open, pending;

		for (; open < nflows && open - start < batch; open++) {
			fds[open] = connect_lo(port, 1);
			ev.events = EPOLLOUT;
			ev.data.u32 = (uint32_t)open;
			epoll_ctl(ep, EPOLL_CTL_ADD, fds[open], &ev);
		}
		pending = open - start;
		while (pending) {
			int n = epoll_wait(ep, evs, 256, 30000);

			if (n <= 0) {
				fprintf(stderr, "flbench: connect stalled\n");
				return 1;
			}
			for (int i = 0; i < n; i++) {
				int k = (int)evs[i].data.u32, err = 0;
				socklen_t l = sizeof(err);

				getsockopt(fds[k], SOL_SOCKET, SO_ERROR, &err, &l);
				if (err) {
					errno = err;
					die("connect");
				}
				ev.events = EPOLLIN;
				ev.data.u32 = (uint32_t)k;
				epoll_ctl(ep, EPOLL_CTL_MOD, fds[k], &ev);
				pending--;
			}
		}
	}
	t1 = now_ns();
	fprintf(stderr, "flbench: %ld flows open in %.2fs\n", nflows,
		(double)(t1 - t0) / 1e9);
	t0 = now_ns();
	for (long r = 0; r < rounds; r++) {
		long left = nflows;

		for (long k = 0; k < nflows; k++) {
			write_all(fds[k], b, sizeof(b));
			got[k] = 0;
		}
		while (left) {
			int n = epoll_wait(ep, evs, 256, 30000);

			if (n <= 0) {
				fprintf(stderr, "flbench: echo stalled\n");
				return 1;
			}
			for (int i = 0; i < n; i++) {
				int k = (int)evs[i].data.u32;
				char rb[64];
				ssize_t m = read(fds[k], rb, sizeof(rb));

				if (m <= 0)
					die("read");
				got[k] += (int)m;
				if (got[k] == (int)sizeof(b))
					left--;
			}
		}
	}
	t1 = now_ns();
	printf("flows=%ld rounds=%ld secs=%.4f us_per_echo=%.3f\n", nflows,
	       rounds, (double)(t1 - t0) / 1e9,
	       (double)(t1 - t0) / 1e3 / (double)(nflows * rounds));
	for (long k = 0; k < nflows; k++)
		close(fds[k]);
	return 0;
}

static int cmd_time(long n, char **argv)
{
	uint64_t *v = calloc((size_t)n, sizeof(*v));
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (!v || n < 1)
		return 2;
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int st;
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
			execvp(argv[0], argv);
			_exit(127);
		}
		waitpid(p, &st, 0);
		v[i] = now_ns() - t0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
			fprintf(stderr, "flbench: cannot run %s\n", argv[0]);
			return 1;
		}
	}
	print_dist("ms", 1e6, v, (size_t)n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (!strcmp(c, "server") && argc == 3)
		cmd_server((int)num(argv[2]));
	if (!strcmp(c, "rtt") && (argc == 5 || argc == 6))
		return cmd_rtt((int)num(argv[2]), num(argv[3]), num(argv[4]),
			       argc == 6 ? num(argv[5]) : 0);
	if (!strcmp(c, "stampserver") && argc == 3)
		cmd_stampserver((int)num(argv[2]));
	if (!strcmp(c, "oneway") && (argc == 4 || argc == 5))
		return cmd_oneway((int)num(argv[2]), num(argv[3]),
				  argc == 5 ? num(argv[4]) : 0);
	if (!strcmp(c, "conns") && argc == 5)
		return cmd_conns((int)num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(c, "flows") && argc == 5)
		return cmd_flows((int)num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(c, "time") && argc >= 4)
		return cmd_time(num(argv[2]), argv + 3);
	fprintf(stderr, "usage: flbench server PORT | rtt PORT N SIZE [GAP_US] | "
		"stampserver PORT | oneway PORT N [GAP_US] | conns PORT N SIZE | flows PORT NFLOWS ROUNDS | time N CMD...\n");
	return 2;
}
