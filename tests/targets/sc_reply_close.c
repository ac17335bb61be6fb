/* sc_reply_close: a one-shot request/reply server for the teardown
 * scenarios (tests/e2e/test_scenarios.c).  It closes right after its reply,
 * without waiting for the client's EOF, as an HTTP/1.0 server does.
 *
 * sc_reply_close [-p PORT] [-n CONNS] [--read-max BYTES] [--wait-ms N]
 *
 * Listens on 127.0.0.1:PORT and serves CONNS connections (default 1) one
 * after the other: accept, one read() of at most BYTES (default 65536),
 * write the same bytes back, wait N ms (default 0), close().  Whatever the
 * client sent beyond that one read stays unread, so the close sends an RST
 * instead of a FIN (RFC 2525 2.17).  Output on stdout (see
 * target_common.h):
 *   LISTENING port=P
 *   ACCEPT conn=N t_us=T
 *   REPLY conn=N bytes=B t_us=T
 *   CLOSE conn=N t_us=T
 *   READ_ERROR conn=N errno=NAME t_us=T | WRITE_ERROR conn=N errno=NAME t_us=T
 *   DONE conns=N
 * Exit: 0 ok, 1 if an error was reported, 2 usage.
 */
#include "target_common.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: sc_reply_close [-p PORT] [-n CONNS] [--read-max BYTES] "
			"[--wait-ms N]\n");
	exit(2);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	static unsigned char buf[65536];
	uint64_t port = 7000, nconns = 1, read_max = sizeof buf, wait_ms = 0;
	int had_error = 0;

	start_clock();
	enum { O_READ_MAX = 256, O_WAIT };
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'n'},
		{"read-max", required_argument, NULL, O_READ_MAX},
		{"wait-ms", required_argument, NULL, O_WAIT},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "p:n:", opts, NULL)) != -1) {
		bool ok;
		switch (opt) {
		case 'p': ok = parse_u64(optarg, 1, 65535, &port); break;
		case 'n': ok = parse_u64(optarg, 1, 1000000, &nconns); break;
		case O_READ_MAX: ok = parse_u64(optarg, 1, sizeof buf, &read_max); break;
		case O_WAIT: ok = parse_u64(optarg, 0, 86400000, &wait_ms); break;
		default: ok = false;
		}
		if (!ok)
			usage();
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 16) < 0) {
		fprintf(stderr, "sc_reply_close: listen: %s\n", strerror(errno));
		return 1;
	}
	printf("LISTENING port=%u\n", (unsigned)port);

	for (uint64_t n = 1; n <= nconns; n++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR) {
				n--;
				continue;
			}
			fprintf(stderr, "sc_reply_close: accept: %s\n", strerror(errno));
			return 1;
		}
		printf("ACCEPT conn=%" PRIu64 " t_us=%lld\n", n, t_us());
		ssize_t r;
		do
			r = read(fd, buf, (size_t)read_max);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			printf("READ_ERROR conn=%" PRIu64 " errno=%s t_us=%lld\n", n,
			       errno_name(errno), t_us());
			had_error = 1;
		} else {
			size_t off = 0;
			while (off < (size_t)r) {
				ssize_t w = write(fd, buf + off, (size_t)r - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					printf("WRITE_ERROR conn=%" PRIu64 " errno=%s t_us=%lld\n", n,
					       errno_name(errno), t_us());
					had_error = 1;
					break;
				}
				off += (size_t)w;
			}
			printf("REPLY conn=%" PRIu64 " bytes=%zu t_us=%lld\n", n, off, t_us());
		}
		if (wait_ms > 0)
			sleep_ms(wait_ms);
		close(fd);
		printf("CLOSE conn=%" PRIu64 " t_us=%lld\n", n, t_us());
	}
	close(ls);
	printf("DONE conns=%" PRIu64 "\n", nconns);
	return had_error;
}
