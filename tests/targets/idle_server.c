/* idle_server: sample target for the idle / blackholed-peer scenarios: an
 * echo server whose only defences against a peer that vanished without a
 * FIN or RST are the ones asked for on the command line.
 *
 * idle_server [-p PORT] [--keepalive IDLE,INTVL,CNT] [--user-timeout-ms N]
 *             [--idle-timeout-ms N] [--on-listener]
 *
 *   -p PORT             listen on 127.0.0.1:PORT (default 7000)
 *   --keepalive I,V,C   SO_KEEPALIVE 1, TCP_KEEPIDLE I s, TCP_KEEPINTVL V s,
 *                       TCP_KEEPCNT C probes (I, V 1..32767; C 1..127)
 *   --user-timeout-ms N TCP_USER_TIMEOUT N ms (0 = the kernel's default)
 *   --idle-timeout-ms N the program's own timeout: close after N ms with
 *                       nothing received (1..86400000)
 *   --on-listener       set the socket options above on the LISTENING
 *                       socket, before accept (the accepted socket inherits
 *                       them), instead of on the accepted one
 * Without any option a peer that vanishes leaves the server waiting
 * forever: that is the bug the blackhole scenarios catch.  So does
 * --user-timeout-ms alone on an idle connection (it only bounds data or
 * probes left unacknowledged, and an idle socket sends none); with
 * --keepalive it replaces CNT: the first keepalive run at least N ms after
 * the last byte received, with a probe unanswered, aborts (Linux's
 * tcp_keepalive_timer()).  The abort is ETIMEDOUT on read() and an RST on
 * the wire.
 *
 * Accepts ONE connection and echoes what it reads (non-blocking, poll();
 * reading pauses while more than 1 MiB of echo is pending) until EOF, a
 * read or write error, or --idle-timeout-ms without data; then closes the
 * socket and exits 0.  Output, one event per line (see target_common.h):
 *   LISTENING port=P pid=PID
 *   SETSOCKOPT on=listener|conn fd=N opt=NAME val=V t_us=T
 *       one per option, NAME = SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 *       TCP_KEEPCNT, TCP_USER_TIMEOUT; on=listener lines come before ACCEPT
 *   ACCEPT conn=1 fd=N peer=ADDR:PORT t_us=T
 *   SOCKOPTS fd=N keepalive=0|1 idle=I intvl=V cnt=C user_timeout_ms=U
 *       (read back with getsockopt() from the accepted socket, after any
 *       on=conn SETSOCKOPT: shows what --on-listener passed on)
 *   then exactly one of
 *   EOF bytes=B t_us=T
 *   READ_ERROR errno=NAME idle_ms=I bytes=B t_us=T
 *   WRITE_ERROR errno=NAME idle_ms=I bytes=B t_us=T
 *   IDLE_TIMEOUT idle_ms=I bytes=B t_us=T
 *       (I = ms since the last byte was received, or since accept if none
 *       was; B = bytes received)
 *   CLOSE t_us=T
 *   DONE t_us=T
 *   TERM t_us=T     (SIGTERM at any point: exit 0 at once, socket left open)
 * Errors outside the echo itself print NAME_ERROR errno=NAME t_us=T
 * (LISTEN_, ACCEPT_, SOCKOPT_, POLL_) and exit 1.  Exit: 0 ok, 1 error, 2 usage.
 */
#include "target_common.h"

#include <getopt.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define OUT_HIGH_WATER (1024 * 1024)

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: idle_server [-p PORT] [--keepalive IDLE,INTVL,CNT] "
			"[--user-timeout-ms N] [--idle-timeout-ms N] [--on-listener]\n");
	exit(2);
}

static _Noreturn void fail(const char *what, int err)
{
	printf("%s_ERROR errno=%s t_us=%lld\n", what, errno_name(err), t_us());
	exit(1);
}

static _Noreturn void term_exit(void)
{
	printf("TERM t_us=%lld\n", t_us());
	exit(0);
}

/* "I,V,C" strictly: three decimals, in range, nothing else. */
static bool parse_keepalive(const char *s, uint64_t v[3])
{
	static const uint64_t max[3] = {32767, 32767, 127};
	char buf[64];
	char *p = buf;

	if (strlen(s) >= sizeof buf)
		return false;
	memcpy(buf, s, strlen(s) + 1);
	for (int i = 0; i < 3; i++) {
		char *comma = strchr(p, ',');
		if ((comma == NULL) != (i == 2))
			return false;
		if (comma != NULL)
			*comma = '\0';
		if (!parse_u64(p, 1, max[i], &v[i]))
			return false;
		p = comma + 1;
	}
	return true;
}

static void set_int(int fd, const char *on, int level, int name, const char *label, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof val) < 0)
		fail("SOCKOPT", errno);
	printf("SETSOCKOPT on=%s fd=%d opt=%s val=%d t_us=%lld\n", on, fd, label, val, t_us());
}

/* ka: IDLE, INTVL, CNT, or NULL for no keepalive. */
static void set_opts(int fd, const char *on, const uint64_t *ka, bool user_timeout,
		     uint64_t user_timeout_ms)
{
	if (ka != NULL) {
		set_int(fd, on, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1);
		set_int(fd, on, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", (int)ka[0]);
		set_int(fd, on, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", (int)ka[1]);
		set_int(fd, on, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", (int)ka[2]);
	}
	if (user_timeout)
		set_int(fd, on, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT",
			(int)user_timeout_ms);
}

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof v;
	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -1;
	return v;
}

static long long ms_since(int64_t ns)
{
	return (long long)((mono_ns() - ns) / 1000000);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, ka[3] = {0, 0, 0}, user_timeout_ms = 0, idle_timeout_ms = 0;
	bool keepalive = false, user_timeout = false, on_listener = false;

	start_clock();
	enum { O_KEEPALIVE = 256, O_USER_TIMEOUT, O_IDLE_TIMEOUT, O_ON_LISTENER };
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"keepalive", required_argument, NULL, O_KEEPALIVE},
		{"user-timeout-ms", required_argument, NULL, O_USER_TIMEOUT},
		{"idle-timeout-ms", required_argument, NULL, O_IDLE_TIMEOUT},
		{"on-listener", no_argument, NULL, O_ON_LISTENER},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'p': ok = parse_u64(optarg, 1, 65535, &port); break;
		case O_KEEPALIVE:
			ok = parse_keepalive(optarg, ka);
			keepalive = true;
			break;
		case O_USER_TIMEOUT:
			ok = parse_u64(optarg, 0, INT_MAX, &user_timeout_ms);
			user_timeout = true;
			break;
		case O_IDLE_TIMEOUT:
			ok = parse_u64(optarg, 1, 86400000, &idle_timeout_ms);
			break;
		case O_ON_LISTENER: on_listener = true; break;
		default: ok = false;
		}
		if (!ok)
			usage();
	}
	if (optind != argc)
		usage();

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

	int lfd = listen_loopback((uint16_t)port, 4);
	if (lfd < 0)
		fail("LISTEN", errno);
	printf("LISTENING port=%u pid=%d\n", (unsigned)port, (int)getpid());

	if (on_listener)
		set_opts(lfd, "listener", keepalive ? ka : NULL, user_timeout, user_timeout_ms);
	struct pollfd lp = {.fd = lfd, .events = POLLIN};
	for (;;) {
		int n = ppoll(&lp, 1, NULL, &waitmask);
		if (got_term)
			term_exit();
		if (n < 0 && errno != EINTR)
			fail("POLL", errno);
		if (n > 0)
			break;
	}
	struct sockaddr_storage peer;
	socklen_t pl = sizeof peer;
	int fd;
	do
		fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0)
		fail("ACCEPT", errno);
	char addr[INET6_ADDRSTRLEN + 16];
	format_addr(&peer, addr, sizeof addr);
	printf("ACCEPT conn=1 fd=%d peer=%s t_us=%lld\n", fd, addr, t_us());
	close(lfd);
	if (!on_listener)
		set_opts(fd, "conn", keepalive ? ka : NULL, user_timeout, user_timeout_ms);
	printf("SOCKOPTS fd=%d keepalive=%d idle=%d intvl=%d cnt=%d user_timeout_ms=%d\n", fd,
	       get_int(fd, SOL_SOCKET, SO_KEEPALIVE), get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE),
	       get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), get_int(fd, IPPROTO_TCP, TCP_KEEPCNT),
	       get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));

	/* Echo loop. */
	static unsigned char out[OUT_HIGH_WATER + READ_CHUNK], in[READ_CHUNK];
	size_t out_off = 0, out_len = 0;
	uint64_t bytes = 0;
	int64_t last_rx = mono_ns();
	for (;;) {
		struct pollfd p = {.fd = fd, .events = 0};
		if (out_len - out_off <= OUT_HIGH_WATER)
			p.events |= POLLIN;
		if (out_len > out_off)
			p.events |= POLLOUT;
		struct timespec ts, *tsp = NULL;
		if (idle_timeout_ms > 0) {
			int64_t left = last_rx + (int64_t)idle_timeout_ms * 1000000 - mono_ns();
			if (left < 0)
				left = 0;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			tsp = &ts;
		}
		int n = ppoll(&p, 1, tsp, &waitmask);
		if (got_term)
			term_exit();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("POLL", errno);
		}
		if (n == 0) {
			if (idle_timeout_ms > 0 &&
			    mono_ns() - last_rx >= (int64_t)idle_timeout_ms * 1000000) {
				printf("IDLE_TIMEOUT idle_ms=%lld bytes=%" PRIu64 " t_us=%lld\n",
				       ms_since(last_rx), bytes, t_us());
				break;
			}
			continue;
		}
		/* Read first on POLLERR/POLLHUP, so a pending socket error (the
		 * keepalive or user timeout's ETIMEDOUT) shows as READ_ERROR. */
		if ((p.revents & (POLLIN | POLLERR | POLLHUP)) &&
		    out_len - out_off <= OUT_HIGH_WATER) {
			ssize_t r = read(fd, in, sizeof in);
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				printf("READ_ERROR errno=%s idle_ms=%lld bytes=%" PRIu64
				       " t_us=%lld\n",
				       errno_name(errno), ms_since(last_rx), bytes, t_us());
				break;
			}
			if (r == 0) {
				printf("EOF bytes=%" PRIu64 " t_us=%lld\n", bytes, t_us());
				break;
			}
			if (r > 0) {
				last_rx = mono_ns();
				bytes += (uint64_t)r;
				if (out_off == out_len)
					out_off = out_len = 0;
				if (out_len + (size_t)r > sizeof out) {
					memmove(out, out + out_off, out_len - out_off);
					out_len -= out_off;
					out_off = 0;
				}
				memcpy(out + out_len, in, (size_t)r);
				out_len += (size_t)r;
			}
		}
		if (out_len > out_off) {
			ssize_t w = write(fd, out + out_off, out_len - out_off);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				printf("WRITE_ERROR errno=%s idle_ms=%lld bytes=%" PRIu64
				       " t_us=%lld\n",
				       errno_name(errno), ms_since(last_rx), bytes, t_us());
				break;
			}
			if (w > 0)
				out_off += (size_t)w;
		}
	}
	close(fd);
	printf("CLOSE t_us=%lld\n", t_us());
	printf("DONE t_us=%lld\n", t_us());
	return 0;
}
