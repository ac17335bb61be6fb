/* rst_server: a driver (not a target) that resets its connection: it
 * accepts one connection, reads a request up to its blank line (or EOF),
 * and closes with SO_LINGER {1,0}, so the peer gets an RST.
 *
 * rst_server [-p PORT]
 *   LISTENING port=P
 *   ACCEPT conn=1 peer=ADDR:PORT t_us=T
 *   REQUEST bytes=B t_us=T
 *   RESET t_us=T                    (after close(); exit 0)
 * Errors print LISTEN_ERROR / ACCEPT_ERROR / READ_ERROR errno=NAME, exit 1.
 */
#include "target_common.h"

#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: rst_server [-p PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000;
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	char addr[INET6_ADDRSTRLEN + 16], req[4096];
	size_t got = 0;
	int opt, lfd, fd;

	start_clock();
	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p' || !parse_u64(optarg, 1, 65535, &port))
			usage();
	}
	if (optind != argc)
		usage();
	lfd = listen_loopback((uint16_t)port, 4);
	if (lfd < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("LISTENING port=%u\n", (unsigned)port);
	do
		fd = accept(lfd, (struct sockaddr *)&peer, &pl);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		printf("ACCEPT_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
		return 1;
	}
	close(lfd);
	format_addr(&peer, addr, sizeof(addr));
	printf("ACCEPT conn=1 peer=%s t_us=%lld\n", addr, t_us());
	while (got < sizeof(req) - 1) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
			return 1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	printf("REQUEST bytes=%zu t_us=%lld\n", got, t_us());
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	printf("RESET t_us=%lld\n", t_us());
	return 0;
}
