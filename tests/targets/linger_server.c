/* linger_server: sample target for the SO_LINGER teardown scenarios: a
 * server that closes with data still queued and a chosen linger setting,
 * and says how long close() took and what it returned.
 *
 * linger_server [-p PORT] [--linger off|0|N] [--send BYTES] [--nonblock]
 *               [--hold-ms N]
 *
 *   -p PORT          listen on 127.0.0.1:PORT (default 7000)
 *   --linger off     SO_LINGER {0,0}, set explicitly (graceful close in the
 *                    background, close() returns at once)
 *   --linger 0       SO_LINGER {1,0} (abortive close: RST, queue discarded)
 *   --linger N       SO_LINGER {1,N}, N seconds: close() blocks until the
 *                    peer's TCP has acknowledged all data and the FIN (not
 *                    until its application read it), or N s; it returns 0
 *                    either way, and an unfinished close goes on in the
 *                    background (FIN_WAIT1, still retransmitting)
 *                    Without --linger no SO_LINGER is set at all.
 *   --send BYTES     bytes to write after accept (default 0), on a
 *                    non-blocking socket: whatever fits in the send buffer
 *                    is written, the rest is dropped at the first EAGAIN
 *   --nonblock       leave the socket O_NONBLOCK for close(); without it the
 *                    socket is switched back to blocking before close()
 *                    (Linux lingers all the same: no EWOULDBLOCK)
 *   --hold-ms N      sleep N ms after accept, before writing (default 0)
 *
 * Accepts ONE connection and reads nothing from it (so anything the peer
 * sends is unread at close(), and Linux then resets whatever --linger says,
 * RFC 2525 2.17).  Reports each step on stdout (format: target_common.h):
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=1 fd=N peer=ADDR:PORT t_us=T
 *   SENT bytes=B wanted=W t_us=T          (B written of W = --send; always)
 *   SETSOCKOPT opt=SO_LINGER onoff=0|1 linger=N t_us=T   (with --linger)
 *   OUTQ outq=U notsent=S t_us=T          (SIOCOUTQ: bytes in the send
 *                                         queue, unacknowledged or unsent;
 *                                         SIOCOUTQNSD: of which never sent)
 *   CLOSE ret=R errno=NAME|0 dur_ms=D outq=U t_us=T
 *                                         (R and errno of close(); D = wall
 *                                         time close() took, CLOCK_MONOTONIC,
 *                                         whole ms, rounded down; U = SIOCOUTQ
 *                                         just before close)
 *   DONE t_us=T
 * Data of --send: xorshift64 (13,7,17) seeded with 1, 8 bytes little-endian
 * per state, as tcp_client --send writes it.
 * Errors print NAME_ERROR errno=NAME t_us=T (LISTEN_, ACCEPT_, WRITE_,
 * SOCKOPT_, IOCTL_, FCNTL_) and exit 1.  Exit: 0 ok, 1 error, 2 usage.
 */
#include "target_common.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/sockios.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CHUNK 65536

static void usage(void)
{
	fprintf(stderr, "usage: linger_server [-p PORT] [--linger off|0|N] [--send BYTES] "
			"[--nonblock] [--hold-ms N]\n");
	exit(2);
}

static _Noreturn void fail(const char *what, int err)
{
	printf("%s_ERROR errno=%s t_us=%lld\n", what, errno_name(err), t_us());
	exit(1);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* xorshift64, seed 1; each state gives 8 bytes little-endian. */
static void fill_random(unsigned char *buf, size_t len)
{
	static uint64_t state = 1;
	static unsigned char word[8];
	static unsigned word_left;
	for (size_t i = 0; i < len; i++) {
		if (word_left == 0) {
			uint64_t x = state;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			state = x;
			for (int k = 0; k < 8; k++)
				word[k] = (unsigned char)(x >> (8 * k));
			word_left = 8;
		}
		buf[i] = word[8 - word_left--];
	}
}

/* Write up to `want` bytes on the non-blocking fd; stop at EAGAIN. */
static uint64_t send_what_fits(int fd, uint64_t want)
{
	static unsigned char buf[CHUNK];
	size_t off = 0, len = 0;
	uint64_t sent = 0;
	while (sent < want) {
		if (off == len) {
			uint64_t left = want - sent;
			len = left < sizeof buf ? (size_t)left : sizeof buf;
			off = 0;
			fill_random(buf, len);
		}
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail("WRITE", errno);
		}
		off += (size_t)w;
		sent += (uint64_t)w;
	}
	return sent;
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, send_bytes = 0, hold_ms = 0, linger_s = 0;
	bool set_linger = false, linger_on = false, nonblock = false;

	start_clock();
	enum { O_LINGER = 256, O_SEND, O_NOBLOCK, O_HOLD };
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"linger", required_argument, NULL, O_LINGER},
		{"send", required_argument, NULL, O_SEND},
		{"nonblock", no_argument, NULL, O_NOBLOCK},
		{"hold-ms", required_argument, NULL, O_HOLD},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'p': ok = parse_u64(optarg, 1, 65535, &port); break;
		case O_LINGER:
			set_linger = true;
			if (strcmp(optarg, "off") == 0) {
				linger_on = false;
				linger_s = 0;
			} else {
				linger_on = true;
				ok = parse_u64(optarg, 0, INT_MAX, &linger_s);
			}
			break;
		case O_SEND: ok = parse_u64(optarg, 0, UINT64_C(1) << 40, &send_bytes); break;
		case O_NOBLOCK: nonblock = true; break;
		case O_HOLD: ok = parse_u64(optarg, 0, 86400000, &hold_ms); break;
		default: ok = false;
		}
		if (!ok)
			usage();
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);

	int lfd = listen_loopback((uint16_t)port, 4);
	if (lfd < 0)
		fail("LISTEN", errno);
	printf("LISTENING port=%u pid=%d\n", (unsigned)port, (int)getpid());

	struct sockaddr_storage peer;
	socklen_t pl = sizeof peer;
	int fd;
	do
		fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		fail("ACCEPT", errno);
	char addr[INET6_ADDRSTRLEN + 16];
	format_addr(&peer, addr, sizeof addr);
	printf("ACCEPT conn=1 fd=%d peer=%s t_us=%lld\n", fd, addr, t_us());
	close(lfd);

	if (hold_ms > 0)
		sleep_ms(hold_ms);

	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		fail("FCNTL", errno);
	uint64_t sent = send_what_fits(fd, send_bytes);
	printf("SENT bytes=%" PRIu64 " wanted=%" PRIu64 " t_us=%lld\n", sent, send_bytes, t_us());

	if (set_linger) {
		struct linger lg = {.l_onoff = linger_on ? 1 : 0, .l_linger = (int)linger_s};
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
			fail("SOCKOPT", errno);
		printf("SETSOCKOPT opt=SO_LINGER onoff=%d linger=%d t_us=%lld\n", lg.l_onoff,
		       lg.l_linger, t_us());
	}

	int outq = 0, notsent = 0;
	if (ioctl(fd, SIOCOUTQ, &outq) < 0 || ioctl(fd, SIOCOUTQNSD, &notsent) < 0)
		fail("IOCTL", errno);
	printf("OUTQ outq=%d notsent=%d t_us=%lld\n", outq, notsent, t_us());

	/* Linux's inet_release() lingers whatever O_NONBLOCK says; --nonblock
	 * is here to show exactly that, against the BSD/POSIX reading that a
	 * non-blocking close returns EWOULDBLOCK at once. */
	if (!nonblock && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		fail("FCNTL", errno);
	int64_t start = mono_ns();
	int ret = close(fd);
	int err = ret < 0 ? errno : 0;
	long long dur_ms = (long long)((mono_ns() - start) / 1000000);
	printf("CLOSE ret=%d errno=%s dur_ms=%lld outq=%d t_us=%lld\n", ret,
	       err ? errno_name(err) : "0", dur_ms, outq, t_us());
	printf("DONE t_us=%lld\n", t_us());
	return 0;
}
