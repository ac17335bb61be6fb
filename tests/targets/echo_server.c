/* echo_server: sample target for faultline integration tests.
 *
 * echo_server [-p PORT] [-6] [-n CONNS] [--sink] [--close-after-eof-ms N] [-v]
 *             [--sigpipe] [--keep-on-error]
 *
 * Listens on 127.0.0.1 (or ::1 with -6), serves several connections at once
 * with poll(), echoes (or with --sink discards) what it reads, and reports
 * each event on stdout (see target_common.h for the line format):
 *   LISTENING port=P
 *   ACCEPT conn=N peer=ADDR:PORT t_us=T     (ADDR of IPv6 is [..])
 *   EOF conn=N bytes=B fnv=HEX t_us=T
 *   CLOSE conn=N t_us=T
 *   READ_ERROR conn=N errno=NAME bytes=B t_us=T
 *   WRITE_ERROR conn=N errno=NAME bytes=B t_us=T
 *   DONE conns=N            (after CONNS connections ended; 0 = never)
 *   TERM                    (on SIGTERM, exit 0)
 * bytes= is always the number of bytes received on the connection.
 * --sigpipe keeps SIGPIPE's default action (a write to a reset peer kills).
 * --keep-on-error is a bug on purpose ("error ignored, socket forgotten"):
 * after a READ_ERROR or WRITE_ERROR (other than EAGAIN/EINTR) the server
 * stops polling that connection but never closes its fd, and never counts
 * it as ended, so with -n it runs until SIGTERM (no CLOSE line for it;
 * the fd is still open when the process exits).
 * Exit: 0 ok, 1 if any error was reported, 2 usage.
 */
#include "target_common.h"

#include <fcntl.h>
#include <getopt.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#define OUT_HIGH_WATER (1024 * 1024) /* stop reading above this much pending output */
#define READ_CHUNK 65536

struct conn {
	int fd;
	unsigned id;
	uint64_t bytes_in;
	uint64_t fnv;
	unsigned char *out; /* pending output: out[out_off .. out_len) */
	size_t out_off, out_len, out_cap;
	bool eof;           /* read() returned 0 */
	bool forgotten;     /* --keep-on-error: failed, fd left open, never polled */
	int64_t close_at_ns; /* when eof: earliest close time */
};

static volatile sig_atomic_t got_term;
static bool sink, verbose, keep_on_error;
static int had_error;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo_server [-p PORT] [-6] [-n CONNS] [--sink] "
			"[--close-after-eof-ms N] [-v] [--sigpipe] [--keep-on-error]\n");
	exit(2);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	printf("CLOSE conn=%u t_us=%lld\n", c->id, t_us());
}

static void conn_fail(struct conn *c, const char *what, int err)
{
	printf("%s conn=%u errno=%s bytes=%" PRIu64 " t_us=%lld\n", what, c->id,
	       errno_name(err), c->bytes_in, t_us());
	had_error = 1;
	if (keep_on_error)
		c->forgotten = true; /* the bug: fd stays open, nobody looks at it */
	else
		conn_close(c);
}

/* Append to pending output. */
static bool out_append(struct conn *c, const unsigned char *p, size_t n)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		if (c->out_len + n > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : READ_CHUNK;
			while (cap < c->out_len + n)
				cap *= 2;
			unsigned char *q = realloc(c->out, cap);
			if (q == NULL)
				return false;
			c->out = q;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

/* Write as much pending output as the socket takes. false: conn failed
 * (closed, or forgotten with --keep-on-error). */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			conn_fail(c, "WRITE_ERROR", errno);
			return false;
		}
		if (verbose)
			fprintf(stderr, "echo_server: conn=%u wrote %zd\n", c->id, w);
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return true;
}

/* Read once. false: conn failed (closed or forgotten). */
static bool conn_read(struct conn *c, long close_after_eof_ms)
{
	static unsigned char buf[READ_CHUNK];
	ssize_t r;
	do
		r = read(c->fd, buf, sizeof buf);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		conn_fail(c, "READ_ERROR", errno);
		return false;
	}
	if (r == 0) {
		c->eof = true;
		c->close_at_ns = mono_ns() + (int64_t)close_after_eof_ms * 1000000;
		printf("EOF conn=%u bytes=%" PRIu64 " fnv=%016" PRIx64 " t_us=%lld\n", c->id,
		       c->bytes_in, c->fnv, t_us());
		return true;
	}
	if (verbose)
		fprintf(stderr, "echo_server: conn=%u read %zd\n", c->id, r);
	c->bytes_in += (uint64_t)r;
	c->fnv = fnv1a(c->fnv, buf, (size_t)r);
	if (sink)
		return true;
	if (!out_append(c, buf, (size_t)r)) {
		conn_fail(c, "WRITE_ERROR", ENOMEM);
		return false;
	}
	return conn_flush(c);
}

int main(int argc, char **argv)
{
	start_clock();
	uint64_t port = 7000, nconns = 1, close_after_eof_ms = 0;
	bool v6 = false, keep_sigpipe = false;

	enum { O_SINK = 256, O_CLOSE_AFTER, O_SIGPIPE, O_KEEP_ON_ERROR };
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'n'},
		{"sink", no_argument, NULL, O_SINK},
		{"close-after-eof-ms", required_argument, NULL, O_CLOSE_AFTER},
		{"sigpipe", no_argument, NULL, O_SIGPIPE},
		{"keep-on-error", no_argument, NULL, O_KEEP_ON_ERROR},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "p:6n:v", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (!parse_u64(optarg, 0, 65535, &port))
				usage();
			break;
		case '6': v6 = true; break;
		case 'n':
			if (!parse_u64(optarg, 0, 1000000000, &nconns))
				usage();
			break;
		case 'v': verbose = true; break;
		case O_SINK: sink = true; break;
		case O_CLOSE_AFTER:
			if (!parse_u64(optarg, 0, 86400000, &close_after_eof_ms))
				usage();
			break;
		case O_SIGPIPE: keep_sigpipe = true; break;
		case O_KEEP_ON_ERROR: keep_on_error = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	if (!keep_sigpipe)
		signal(SIGPIPE, SIG_IGN);
	/* SIGTERM is blocked except inside ppoll(): no lost wake-up. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);

	int lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t sl;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	}
	if (bind(lfd, (struct sockaddr *)&ss, sl) < 0 || listen(lfd, 16) < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	sl = sizeof ss;
	getsockname(lfd, (struct sockaddr *)&ss, &sl);
	printf("LISTENING port=%u\n",
	       ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			: ((struct sockaddr_in *)&ss)->sin_port));

	struct conn *conns = NULL; /* live connections */
	size_t nlive = 0, cap = 0;
	struct pollfd *pfds = NULL;
	uint64_t accepted = 0, ended = 0;

	for (;;) {
		if (nconns != 0 && ended >= nconns)
			break;
		if (lfd >= 0 && nconns != 0 && accepted >= nconns) {
			close(lfd);
			lfd = -1;
		}

		/* Build the poll set: [0] = listener, then one per live conn. */
		if (cap < nlive + 1) {
			cap = (nlive + 1) * 2;
			pfds = realloc(pfds, cap * sizeof *pfds);
			if (pfds == NULL) {
				fprintf(stderr, "echo_server: out of memory\n");
				return 1;
			}
		}
		pfds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		int64_t now = mono_ns(), wake_ns = -1;
		for (size_t i = 0; i < nlive; i++) {
			struct conn *c = &conns[i];
			short ev = 0;
			size_t pending = c->out_len - c->out_off;
			if (c->forgotten) { /* never polled again */
				pfds[i + 1] = (struct pollfd){.fd = -1};
				continue;
			}
			if (!c->eof && pending <= OUT_HIGH_WATER)
				ev |= POLLIN;
			if (pending > 0)
				ev |= POLLOUT;
			if (c->eof && pending == 0) {
				/* Only waiting for the close delay. */
				int64_t d = c->close_at_ns > now ? c->close_at_ns - now : 0;
				if (wake_ns < 0 || d < wake_ns)
					wake_ns = d;
			}
			/* Never poll an fd for nothing: POLLHUP would spin. */
			pfds[i + 1] = (struct pollfd){.fd = ev ? c->fd : -1, .events = ev};
		}
		struct timespec ts, *tsp = NULL;
		if (wake_ns >= 0) {
			ts.tv_sec = wake_ns / 1000000000;
			ts.tv_nsec = wake_ns % 1000000000;
			tsp = &ts;
		}
		int n = ppoll(pfds, nlive + 1, tsp, &waitmask);
		if (got_term) {
			printf("TERM\n");
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "echo_server: poll: %s\n", strerror(errno));
			return 1;
		}

		/* Existing connections first (indices stay valid until compaction). */
		for (size_t i = 0; i < nlive; i++) {
			struct conn *c = &conns[i];
			short re = pfds[i + 1].revents;
			if (c->forgotten)
				continue;
			if (re & (POLLOUT | POLLERR | POLLHUP)) {
				if (c->out_len > c->out_off && !conn_flush(c))
					continue;
			}
			if (re & (POLLIN | POLLERR | POLLHUP)) {
				if (!c->eof && !conn_read(c, (long)close_after_eof_ms))
					continue;
			}
			if (c->fd >= 0 && c->eof && c->out_len == c->out_off &&
			    mono_ns() >= c->close_at_ns)
				conn_close(c);
		}
		size_t j = 0;
		for (size_t i = 0; i < nlive; i++) {
			if (conns[i].fd >= 0)
				conns[j++] = conns[i];
			else
				ended++;
		}
		nlive = j;

		if (lfd >= 0 && (pfds[0].revents & POLLIN)) {
			while (nconns == 0 || accepted < nconns) {
				struct sockaddr_storage peer;
				socklen_t pl = sizeof peer;
				int fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0) {
					if (errno == EINTR || errno == ECONNABORTED)
						continue;
					if (errno != EAGAIN && errno != EWOULDBLOCK) {
						printf("ACCEPT_ERROR errno=%s t_us=%lld\n",
						       errno_name(errno), t_us());
						had_error = 1;
					}
					break;
				}
				struct conn *nc = realloc(conns, (nlive + 1) * sizeof *conns);
				if (nc == NULL) {
					fprintf(stderr, "echo_server: out of memory\n");
					return 1;
				}
				conns = nc;
				accepted++;
				struct conn *c = &conns[nlive++];
				memset(c, 0, sizeof *c);
				c->fd = fd;
				c->id = (unsigned)accepted;
				c->fnv = FNV_OFFSET;
				char addr[INET6_ADDRSTRLEN + 16];
				format_addr(&peer, addr, sizeof addr);
				printf("ACCEPT conn=%u peer=%s t_us=%lld\n", c->id, addr, t_us());
			}
		}
	}
	for (size_t i = 0; i < nlive; i++) {
		/* A forgotten fd stays open to the end: only the kernel's
		 * cleanup at exit closes it, as in the bug it stands for. */
		if (!conns[i].forgotten)
			close(conns[i].fd);
		free(conns[i].out);
	}
	free(conns);
	free(pfds);
	if (lfd >= 0)
		close(lfd);
	if (got_term)
		return 0;
	printf("DONE conns=%" PRIu64 "\n", ended);
	return had_error ? 1 : 0;
}
