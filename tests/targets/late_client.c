/* late_client: a client (driver) that sends a request, reads the answer,
 * and then sends more: with --wait-eof only after the server's FIN has
 * arrived (so certainly after the server's close()).  It never fails on
 * what the server does with those bytes: it reports it and exits 0.
 *
 * late_client [-p PORT] [--request BYTES] [--late BYTES] [--wait-eof]
 *
 * Connects to 127.0.0.1:PORT (default 7000; ECONNREFUSED is retried for
 * 2 s), writes BYTES (default 16) of request, reads as many back, then
 * (--wait-eof) reads until read() returns 0, writes --late BYTES (default
 * 1000) in one write(), and then: with --wait-eof closes at once (the
 * server is gone: there is nothing to read); without, shuts down its
 * sending side and reads until EOF or an error, then closes.  Output (see
 * target_common.h):
 *   CONNECTED local=ADDR:PORT t_us=T
 *   ANSWER bytes=B t_us=T
 *   PEER_EOF t_us=T                      (--wait-eof)
 *   LATE_SENT bytes=B t_us=T  |  LATE_ERROR errno=NAME t_us=T
 *   END how=eof|errno-NAME t_us=T        (without --wait-eof)
 *   CLOSE t_us=T
 *   DONE
 * Exit: 0 once connected, 1 if it could not connect or the answer was
 * short, 2 usage.
 */
#include "target_common.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: late_client [-p PORT] [--request BYTES] [--late BYTES] "
			"[--wait-eof]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"request", required_argument, NULL, 'r'},
		{"late", required_argument, NULL, 'l'},
		{"wait-eof", no_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	uint64_t port = 7000, req = 16, late = 1000, got = 0;
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	char addr[INET6_ADDRSTRLEN + 16] = "?:0";
	static unsigned char buf[65536];
	int64_t until;
	int opt, fd, wait_eof = 0;
	ssize_t r;

	start_clock();
	while ((opt = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (opt == 'p' && parse_u64(optarg, 1, 65535, &port))
			continue;
		if (opt == 'r' && parse_u64(optarg, 1, sizeof(buf), &req))
			continue;
		if (opt == 'l' && parse_u64(optarg, 1, sizeof(buf), &late))
			continue;
		if (opt == 'w') {
			wait_eof = 1;
			continue;
		}
		usage();
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	until = mono_ns() + 2000000000;
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (fd < 0 || errno != ECONNREFUSED || mono_ns() > until) {
			printf("CONNECT_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
			return 1;
		}
		close(fd);
		usleep(20000);
	}
	if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
		format_addr(&local, addr, sizeof(addr));
	printf("CONNECTED local=%s t_us=%lld\n", addr, t_us());
	memset(buf, 'q', req);
	if (write(fd, buf, (size_t)req) != (ssize_t)req) {
		printf("WRITE_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	while (got < req) {
		r = read(fd, buf, (size_t)(req - got));
		if (r <= 0) {
			printf("SHORT_ANSWER bytes=%" PRIu64 "\n", got);
			return 1;
		}
		got += (uint64_t)r;
	}
	printf("ANSWER bytes=%" PRIu64 " t_us=%lld\n", got, t_us());
	if (wait_eof) {
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		printf("PEER_EOF t_us=%lld\n", t_us());
	}
	memset(buf, 'L', late);
	r = write(fd, buf, (size_t)late);
	if (r < 0)
		printf("LATE_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
	else
		printf("LATE_SENT bytes=%zd t_us=%lld\n", r, t_us());
	if (!wait_eof) {
		shutdown(fd, SHUT_WR);
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		if (r == 0)
			printf("END how=eof t_us=%lld\n", t_us());
		else
			printf("END how=errno-%s t_us=%lld\n", errno_name(errno), t_us());
	}
	close(fd);
	printf("CLOSE t_us=%lld\n", t_us());
	printf("DONE\n");
	return 0;
}
