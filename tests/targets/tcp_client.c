/* tcp_client: sample client target for faultline integration tests.
 *
 * tcp_client [-p PORT] [-6] [--host ADDR] [--connect-timeout-ms N]
 *            [--send BYTES] [--chunk BYTES] [--rtt N] [--rtt-size BYTES]
 *            [--half-close] [--rcvtimeo-ms N] [--user-timeout-ms N]
 *            [--linger-zero] [--no-read] [--sigpipe] [--hold-ms N] [--drain]
 *            [--after-eof-ms N] [--skip-eof]
 *
 * Steps, in order, each reported on stdout (format: see target_common.h):
 *   CONNECTED local=ADDR:PORT t_us=T  |  CONNECT_ERROR errno=NAME t_us=T
 *       (ECONNREFUSED is retried for 2 s; only the final result is printed)
 *   RTT i=I us=U                      (--rtt N; I = 1..N)
 *   SENT bytes=B fnv=HEX              (--send; once every byte is written)
 *   SHUTDOWN_WR t_us=T                (--half-close)
 *   RECEIVED bytes=B fnv=HEX          (--send without --no-read; full echo)
 *   EOF t_us=T bytes=B                (--half-close: peer's FIN; bytes = all received)
 *                                     (--skip-eof: not read, no EOF line)
 *   CLOSE t_us=T                      (after --hold-ms)
 *   DONE t_us=T
 * --drain (not with --send, --rtt or --half-close): a silent reader.  After
 * CONNECTED (and the socket options) it sleeps --hold-ms, reading nothing, so
 * the peer's data piles up; then reads until EOF or an error, never sending:
 *   EOF t_us=T bytes=B fnv=HEX        (exit 0; B, fnv: all bytes received)
 *   CLOSE t_us=T, DONE t_us=T         (at once after EOF, or --after-eof-ms
 *                                     later; --linger-zero honoured)
 * or READ_ERROR as below (exit 1; elapsed_ms counts from CONNECTED).
 * --rcvtimeo-ms bounds each read of the drain.
 * --skip-eof (with --half-close) is a bug on purpose: after SHUTDOWN_WR (and
 * RECEIVED, unless --no-read) it goes straight to --hold-ms and close(),
 * never reading until EOF; a reply still unread then makes the kernel send
 * RST instead of letting the peer finish (with --no-read: the whole echo).
 * Errors, then exit 1:
 *   READ_ERROR errno=NAME t_us=T elapsed_ms=E sent=S received=R
 *       (elapsed since the last write completed)
 *   WRITE_ERROR errno=NAME t_us=T sent=S received=R
 *   EOF t_us=T bytes=B                (peer closed before the echo was complete)
 *   SOCKOPT_ERROR opt=NAME errno=NAME, SHUTDOWN_ERROR errno=NAME t_us=T,
 *   RESOLVE_ERROR host=H
 * Data of --send: xorshift64 (13,7,17) seeded with 1, each state emitted as
 * 8 bytes little-endian; fnv = FNV-1a 64.
 * Exit: 0 ok, 1 error reported, 2 usage.
 */
#include "target_common.h"

#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#define RETRY_REFUSED_MS 2000
#define RETRY_SLEEP_MS 20
#define RECV_BUF 65536

static int fd = -1;
static uint64_t n_sent, n_recv;
static uint64_t fnv_sent = FNV_OFFSET, fnv_recv = FNV_OFFSET;
static int64_t last_write_ns;

static void usage(void)
{
	fprintf(stderr,
		"usage: tcp_client [-p PORT] [-6] [--host ADDR] [--connect-timeout-ms N]\n"
		"                  [--send BYTES] [--chunk BYTES] [--rtt N] [--rtt-size BYTES]\n"
		"                  [--half-close] [--rcvtimeo-ms N] [--user-timeout-ms N]\n"
		"                  [--linger-zero] [--no-read] [--sigpipe] [--hold-ms N] [--drain]\n"
		"                  [--after-eof-ms N] [--skip-eof]\n");
	exit(2);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static _Noreturn void read_error(int err)
{
	printf("READ_ERROR errno=%s t_us=%lld elapsed_ms=%lld sent=%" PRIu64 " received=%" PRIu64
	       "\n",
	       errno_name(err), t_us(), (long long)((mono_ns() - last_write_ns) / 1000000), n_sent,
	       n_recv);
	exit(1);
}

static _Noreturn void write_error(int err)
{
	printf("WRITE_ERROR errno=%s t_us=%lld sent=%" PRIu64 " received=%" PRIu64 "\n",
	       errno_name(err), t_us(), n_sent, n_recv);
	exit(1);
}

static _Noreturn void early_eof(void)
{
	printf("EOF t_us=%lld bytes=%" PRIu64 "\n", t_us(), n_recv);
	exit(1);
}

/* Blocking write of everything (SO_SNDTIMEO is not set: only errors stop it). */
static void write_all(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			write_error(errno);
		}
		p += w;
		len -= (size_t)w;
		n_sent += (uint64_t)w;
	}
	last_write_ns = mono_ns();
}

/* Blocking read (honours SO_RCVTIMEO). Returns >0 bytes, or 0 on EOF. */
static size_t read_some(void *buf, size_t len)
{
	for (;;) {
		ssize_t r = read(fd, buf, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			read_error(errno);
		}
		n_recv += (uint64_t)r;
		fnv_recv = fnv1a(fnv_recv, buf, (size_t)r);
		return (size_t)r;
	}
}

static void set_opt(int level, int name, const char *label, const void *val, socklen_t len)
{
	if (setsockopt(fd, level, name, val, len) < 0) {
		printf("SOCKOPT_ERROR opt=%s errno=%s\n", label, errno_name(errno));
		exit(1);
	}
}

/* Connect with timeout; retry ECONNREFUSED for RETRY_REFUSED_MS. */
static void do_connect(const struct sockaddr *sa, socklen_t salen, uint64_t timeout_ms)
{
	int64_t retry_until = mono_ns() + (int64_t)RETRY_REFUSED_MS * 1000000;
	for (;;) {
		int err = 0;
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			printf("CONNECT_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
			exit(1);
		}
		if (connect(fd, sa, salen) < 0) {
			err = errno;
			if (err == EINPROGRESS || err == EINTR) {
				int64_t deadline = mono_ns() + (int64_t)timeout_ms * 1000000;
				struct pollfd p = {.fd = fd, .events = POLLOUT};
				for (;;) {
					int64_t left = deadline - mono_ns();
					if (left < 0)
						left = 0;
					int n = poll(&p, 1, (int)((left + 999999) / 1000000));
					if (n < 0 && errno == EINTR)
						continue;
					if (n < 0) {
						err = errno;
					} else if (n == 0) {
						err = ETIMEDOUT;
					} else {
						socklen_t el = sizeof err;
						if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
							err = errno;
					}
					break;
				}
			}
		}
		if (err == 0)
			return;
		close(fd);
		fd = -1;
		if (err == ECONNREFUSED && mono_ns() < retry_until) {
			sleep_ms(RETRY_SLEEP_MS);
			continue;
		}
		printf("CONNECT_ERROR errno=%s t_us=%lld\n", errno_name(err), t_us());
		exit(1);
	}
}

/* xorshift64, seed 1; each state gives 8 bytes little-endian. */
static uint64_t rng_state = 1;
static void fill_random(unsigned char *buf, size_t len)
{
	static unsigned char word[8];
	static unsigned word_left; /* bytes of word[] not yet used */
	for (size_t i = 0; i < len; i++) {
		if (word_left == 0) {
			uint64_t x = rng_state;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			rng_state = x;
			for (int k = 0; k < 8; k++)
				word[k] = (unsigned char)(x >> (8 * k));
			word_left = 8;
		}
		buf[i] = word[8 - word_left--];
	}
}

/* Send `total` bytes while reading the echo concurrently (unless no_read).
 * Returns once everything is written. */
static void send_phase(uint64_t total, size_t chunk, bool no_read, uint64_t rcvtimeo_ms)
{
	unsigned char *out = malloc(chunk);
	static unsigned char in[RECV_BUF];
	if (out == NULL) {
		fprintf(stderr, "tcp_client: out of memory\n");
		exit(1);
	}
	size_t out_off = 0, out_len = 0;
	uint64_t generated = 0;
	int64_t last_progress = mono_ns();
	last_write_ns = last_progress;

	while (n_sent < total) {
		if (out_off == out_len) {
			uint64_t left = total - generated;
			out_len = left < chunk ? (size_t)left : chunk;
			out_off = 0;
			fill_random(out, out_len);
			generated += out_len;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		bool reading = !no_read && n_recv < total;
		if (reading)
			p.events |= POLLIN;
		int timeout = -1;
		if (reading && rcvtimeo_ms > 0) {
			int64_t left = last_progress + (int64_t)rcvtimeo_ms * 1000000 - mono_ns();
			timeout = left > 0 ? (int)((left + 999999) / 1000000) : 0;
		}
		int n = poll(&p, 1, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tcp_client: poll: %s\n", strerror(errno));
			exit(1);
		}
		if (n == 0) /* emulated SO_RCVTIMEO: no progress either way */
			read_error(EAGAIN);
		if (reading && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
			ssize_t r = recv(fd, in, sizeof in, MSG_DONTWAIT);
			if (r > 0) {
				n_recv += (uint64_t)r;
				fnv_recv = fnv1a(fnv_recv, in, (size_t)r);
				last_progress = mono_ns();
			} else if (r == 0) {
				early_eof();
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				read_error(errno);
			}
		}
		if (p.revents & (POLLOUT | POLLERR | POLLHUP)) {
			/* send() without MSG_NOSIGNAL: SIGPIPE behaves like write(). */
			ssize_t w = send(fd, out + out_off, out_len - out_off, MSG_DONTWAIT);
			if (w > 0) {
				fnv_sent = fnv1a(fnv_sent, out + out_off, (size_t)w);
				out_off += (size_t)w;
				n_sent += (uint64_t)w;
				last_write_ns = last_progress = mono_ns();
			} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				   errno != EINTR) {
				write_error(errno);
			}
		}
	}
	free(out);
	printf("SENT bytes=%" PRIu64 " fnv=%016" PRIx64 "\n", n_sent, fnv_sent);
}

static void shutdown_wr(void)
{
	if (shutdown(fd, SHUT_WR) < 0) {
		printf("SHUTDOWN_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
		exit(1);
	}
	printf("SHUTDOWN_WR t_us=%lld\n", t_us());
}

int main(int argc, char **argv)
{
	start_clock();
	uint64_t port = 7000, connect_timeout_ms = 5000, send_bytes = 0, chunk = 16384;
	uint64_t rtt = 0, rtt_size = 1, rcvtimeo_ms = 0, user_timeout_ms = 0, hold_ms = 0;
	uint64_t after_eof_ms = 0;
	bool v6 = false, do_send = false, half_close = false, linger_zero = false;
	bool no_read = false, keep_sigpipe = false, drain = false, skip_eof = false;
	const char *host = NULL;

	enum {
		O_HOST = 256, O_CTIMEOUT, O_SEND, O_CHUNK, O_RTT, O_RTT_SIZE, O_HALF_CLOSE,
		O_RCVTIMEO, O_USER_TIMEOUT, O_LINGER_ZERO, O_NO_READ, O_SIGPIPE, O_HOLD,
		O_DRAIN, O_SKIP_EOF, O_AFTER_EOF,
	};
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, O_HOST},
		{"connect-timeout-ms", required_argument, NULL, O_CTIMEOUT},
		{"send", required_argument, NULL, O_SEND},
		{"chunk", required_argument, NULL, O_CHUNK},
		{"rtt", required_argument, NULL, O_RTT},
		{"rtt-size", required_argument, NULL, O_RTT_SIZE},
		{"half-close", no_argument, NULL, O_HALF_CLOSE},
		{"rcvtimeo-ms", required_argument, NULL, O_RCVTIMEO},
		{"user-timeout-ms", required_argument, NULL, O_USER_TIMEOUT},
		{"linger-zero", no_argument, NULL, O_LINGER_ZERO},
		{"no-read", no_argument, NULL, O_NO_READ},
		{"sigpipe", no_argument, NULL, O_SIGPIPE},
		{"hold-ms", required_argument, NULL, O_HOLD},
		{"drain", no_argument, NULL, O_DRAIN},
		{"skip-eof", no_argument, NULL, O_SKIP_EOF},
		{"after-eof-ms", required_argument, NULL, O_AFTER_EOF},
		{NULL, 0, NULL, 0},
	};
	const uint64_t MS_MAX = 86400000; /* one day */
	int opt;
	while ((opt = getopt_long(argc, argv, "p:6", opts, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'p': ok = parse_u64(optarg, 1, 65535, &port); break;
		case '6': v6 = true; break;
		case O_HOST: host = optarg; break;
		case O_CTIMEOUT: ok = parse_u64(optarg, 1, MS_MAX, &connect_timeout_ms); break;
		case O_SEND:
			ok = parse_u64(optarg, 0, UINT64_C(1) << 48, &send_bytes);
			do_send = true;
			break;
		case O_CHUNK: ok = parse_u64(optarg, 1, 64 << 20, &chunk); break;
		case O_RTT: ok = parse_u64(optarg, 0, 1000000000, &rtt); break;
		case O_RTT_SIZE: ok = parse_u64(optarg, 1, 64 << 20, &rtt_size); break;
		case O_HALF_CLOSE: half_close = true; break;
		case O_RCVTIMEO: ok = parse_u64(optarg, 1, MS_MAX, &rcvtimeo_ms); break;
		case O_USER_TIMEOUT: ok = parse_u64(optarg, 1, UINT32_MAX, &user_timeout_ms); break;
		case O_LINGER_ZERO: linger_zero = true; break;
		case O_NO_READ: no_read = true; break;
		case O_SIGPIPE: keep_sigpipe = true; break;
		case O_HOLD: ok = parse_u64(optarg, 0, MS_MAX, &hold_ms); break;
		case O_DRAIN: drain = true; break;
		case O_SKIP_EOF: skip_eof = true; break;
		case O_AFTER_EOF: ok = parse_u64(optarg, 0, MS_MAX, &after_eof_ms); break;
		default: ok = false;
		}
		if (!ok)
			usage();
	}
	if (optind != argc)
		usage();
	if (drain && (do_send || rtt > 0 || half_close))
		usage();
	if (skip_eof && !half_close)
		usage();
	if (!keep_sigpipe)
		signal(SIGPIPE, SIG_IGN);

	/* Resolve. */
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (host == NULL) {
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
	} else {
		struct addrinfo hints, *res;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = v6 ? AF_INET6 : AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		char portstr[8];
		snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
		if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL) {
			printf("RESOLVE_ERROR host=%s\n", host);
			return 1;
		}
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		sl = res->ai_addrlen;
		freeaddrinfo(res);
	}

	do_connect((struct sockaddr *)&ss, sl, connect_timeout_ms);
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	struct sockaddr_storage local;
	socklen_t ll = sizeof local;
	char addr[INET6_ADDRSTRLEN + 16] = "?:0";
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
		format_addr(&local, addr, sizeof addr);
	printf("CONNECTED local=%s t_us=%lld\n", addr, t_us());
	last_write_ns = mono_ns();

	if (rcvtimeo_ms > 0) {
		struct timeval tv = {.tv_sec = (time_t)(rcvtimeo_ms / 1000),
				     .tv_usec = (suseconds_t)(rcvtimeo_ms % 1000) * 1000};
		set_opt(SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO", &tv, sizeof tv);
	}
	if (user_timeout_ms > 0) {
		unsigned int ut = (unsigned int)user_timeout_ms;
		set_opt(IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", &ut, sizeof ut);
	}

	if (rtt > 0) {
		unsigned char *buf = malloc(rtt_size);
		if (buf == NULL) {
			fprintf(stderr, "tcp_client: out of memory\n");
			return 1;
		}
		for (uint64_t i = 1; i <= rtt; i++) {
			memset(buf, 'a' + (int)(i % 26), rtt_size);
			int64_t start = mono_ns();
			write_all(buf, rtt_size);
			for (size_t got = 0; got < rtt_size;) {
				size_t r = read_some(buf + got, rtt_size - got);
				if (r == 0)
					early_eof();
				got += r;
			}
			printf("RTT i=%" PRIu64 " us=%lld\n", i,
			       (long long)((mono_ns() - start) / 1000));
		}
		free(buf);
		/* The RTT bytes are not part of --send's accounting. */
		n_sent = n_recv = 0;
		fnv_recv = FNV_OFFSET;
	}

	static unsigned char in[RECV_BUF];
	if (drain) {
		/* Hold first: the point of a slow reader is the data it lets
		 * pile up before it starts reading. */
		if (hold_ms > 0)
			sleep_ms(hold_ms);
		hold_ms = 0;
		while (read_some(in, sizeof in) > 0)
			;
		printf("EOF t_us=%lld bytes=%" PRIu64 " fnv=%016" PRIx64 "\n", t_us(), n_recv,
		       fnv_recv);
		if (after_eof_ms > 0)
			sleep_ms(after_eof_ms);
	} else if (do_send) {
		send_phase(send_bytes, (size_t)chunk, no_read, rcvtimeo_ms);
		if (half_close)
			shutdown_wr();
		if (!no_read) {
			while (n_recv < n_sent) {
				uint64_t want = n_sent - n_recv;
				if (read_some(in, want < sizeof in ? (size_t)want : sizeof in) == 0)
					early_eof();
			}
			printf("RECEIVED bytes=%" PRIu64 " fnv=%016" PRIx64 "\n", n_recv, fnv_recv);
		}
	} else if (half_close) {
		shutdown_wr();
	}
	if (half_close && !skip_eof) {
		while (read_some(in, sizeof in) > 0)
			;
		printf("EOF t_us=%lld bytes=%" PRIu64 "\n", t_us(), n_recv);
	}

	if (hold_ms > 0)
		sleep_ms(hold_ms);
	if (linger_zero) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		set_opt(SOL_SOCKET, SO_LINGER, "SO_LINGER", &lg, sizeof lg);
	}
	close(fd);
	printf("CLOSE t_us=%lld\n", t_us());
	printf("DONE t_us=%lld\n", t_us());
	return 0;
}
