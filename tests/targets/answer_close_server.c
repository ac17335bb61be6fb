/* answer_close_server: a request/answer server that, by default, closes as
 * soon as it has answered, whatever the client still sends: bytes that
 * arrive after its close() make its kernel reset the connection (RFC 1122
 * 4.2.2.13; Linux: TCPAbortOnData), and are thrown away although the
 * receive queue was empty at the close.  With --drain it reads until EOF
 * before closing (correct).
 *
 * answer_close_server [-p PORT] [--request BYTES] [--drain]
 *
 * Accepts ONE connection on 127.0.0.1:PORT (default 7000), reads exactly
 * BYTES (default 16) of request, writes them back as the answer, then
 * (--drain) reads and discards until read() returns 0, and closes.
 * Output (see target_common.h):
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=1 fd=N peer=ADDR:PORT t_us=T
 *   ANSWER conn=1 bytes=B t_us=T
 *   DRAINED conn=1 bytes=B t_us=T     (--drain: bytes read after the answer)
 *   CLOSE conn=1 fd=N unread=U t_us=T (U: FIONREAD just before close())
 *   DONE
 * Errors print NAME_ERROR errno=NAME (or EARLY_EOF) and exit 1.
 * Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <getopt.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: answer_close_server [-p PORT] [--request BYTES] [--drain]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"request", required_argument, NULL, 'r'},
		{"drain", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	uint64_t port = 7000, req = 16, got = 0, drained = 0;
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	char addr[INET6_ADDRSTRLEN + 16];
	unsigned char buf[65536];
	int opt, lfd, fd, drain = 0, unread = -1;

	start_clock();
	while ((opt = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (opt == 'p' && parse_u64(optarg, 1, 65535, &port))
			continue;
		if (opt == 'r' && parse_u64(optarg, 1, sizeof(buf), &req))
			continue;
		if (opt == 'd') {
			drain = 1;
			continue;
		}
		usage();
	}
	if (optind != argc)
		usage();
	lfd = listen_loopback((uint16_t)port, 4);
	if (lfd < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("LISTENING port=%u pid=%d\n", (unsigned)port, (int)getpid());
	do
		fd = accept(lfd, (struct sockaddr *)&peer, &pl);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		printf("ACCEPT_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	close(lfd);
	format_addr(&peer, addr, sizeof(addr));
	printf("ACCEPT conn=1 fd=%d peer=%s t_us=%lld\n", fd, addr, t_us());
	while (got < req) {
		ssize_t r = read(fd, buf + got, (size_t)(req - got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR errno=%s\n", errno_name(errno));
			return 1;
		}
		if (r == 0) {
			printf("EARLY_EOF bytes=%" PRIu64 "\n", got);
			return 1;
		}
		got += (uint64_t)r;
	}
	if (write(fd, buf, (size_t)req) != (ssize_t)req) {
		printf("WRITE_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("ANSWER conn=1 bytes=%" PRIu64 " t_us=%lld\n", req, t_us());
	while (drain) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR errno=%s\n", errno_name(errno));
			return 1;
		}
		if (r == 0) {
			printf("DRAINED conn=1 bytes=%" PRIu64 " t_us=%lld\n", drained, t_us());
			break;
		}
		drained += (uint64_t)r;
	}
	ioctl(fd, FIONREAD, &unread);
	/* Without --drain, the bug: what the client still sends is lost. */
	close(fd);
	printf("CLOSE conn=1 fd=%d unread=%d t_us=%lld\n", fd, unread, t_us());
	printf("DONE\n");
	return 0;
}
