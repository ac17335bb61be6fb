/* tw_pile_server: a server with one bug: it closes first (active close)
 * right after sending each reply, so every connection leaves a TIME_WAIT
 * socket on the server's side (RFC 9293 3.6.1) and they pile up.
 *
 * tw_pile_server [-p PORT] [-n CONNS]
 *
 * Serves CONNS connections (default 1) one after the other on
 * 127.0.0.1:PORT (default 7000): reads one request (one read()), writes it
 * back as the reply, and closes without waiting for the client's FIN.
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=I fd=N peer=ADDR:PORT t_us=T
 *   REPLY conn=I fd=N bytes=B t_us=T     (after the close)
 *   CLOSE what=conn conn=I fd=N t_us=T
 *   CLOSE what=listener fd=N t_us=T
 *   DONE conns=N
 * Errors print NAME_ERROR conn=I errno=NAME and exit 1.  Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: tw_pile_server [-p PORT] [-n CONNS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, nconns = 1;
	int opt, lfd;

	start_clock();
	while ((opt = getopt(argc, argv, "p:n:")) != -1) {
		if (opt == 'p' && parse_u64(optarg, 1, 65535, &port))
			continue;
		if (opt == 'n' && parse_u64(optarg, 1, 100000, &nconns))
			continue;
		usage();
	}
	if (optind != argc)
		usage();
	lfd = listen_loopback((uint16_t)port, 64);
	if (lfd < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("LISTENING port=%u pid=%d\n", (unsigned)port, (int)getpid());
	for (uint64_t i = 1; i <= nconns; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		char addr[INET6_ADDRSTRLEN + 16];
		unsigned char buf[4096];
		ssize_t r;
		int fd;

		do
			fd = accept(lfd, (struct sockaddr *)&peer, &pl);
		while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			printf("ACCEPT_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(errno));
			return 1;
		}
		format_addr(&peer, addr, sizeof(addr));
		printf("ACCEPT conn=%" PRIu64 " fd=%d peer=%s t_us=%lld\n", i, fd, addr, t_us());
		do
			r = read(fd, buf, sizeof(buf));
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			printf("READ_ERROR conn=%" PRIu64 " errno=%s\n", i,
			       r ? errno_name(errno) : "EOF");
			return 1;
		}
		if (write(fd, buf, (size_t)r) != r) {
			printf("WRITE_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(errno));
			return 1;
		}
		/* The bug: the server closes first, so it holds the TIME_WAIT. */
		close(fd);
		printf("REPLY conn=%" PRIu64 " fd=%d bytes=%zd t_us=%lld\n", i, fd, r, t_us());
		printf("CLOSE what=conn conn=%" PRIu64 " fd=%d t_us=%lld\n", i, fd, t_us());
	}
	close(lfd);
	printf("CLOSE what=listener fd=%d t_us=%lld\n", lfd, t_us());
	printf("DONE conns=%" PRIu64 "\n", nconns);
	return 0;
}
