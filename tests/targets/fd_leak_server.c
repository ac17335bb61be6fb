/* fd_leak_server: a server with one bug: it never closes the sockets it
 * accepts.  Each connection is read to EOF (and echoed), then the fd is
 * forgotten; after CONNS connections the server exits normally, and only
 * the kernel's cleanup at exit closes them.
 *
 * fd_leak_server [-p PORT] [-n CONNS]
 *
 * Serves CONNS connections (default 3) one after the other on
 * 127.0.0.1:PORT (default 7000).
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=I fd=N peer=ADDR:PORT t_us=T
 *   EOF conn=I fd=N bytes=B t_us=T          (fd N is now leaked)
 *   CLOSE what=listener fd=N t_us=T
 *   DONE conns=N leaked=N
 * Errors print NAME_ERROR conn=I errno=NAME and exit 1.  Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: fd_leak_server [-p PORT] [-n CONNS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, nconns = 3;
	int opt, lfd;

	start_clock();
	while ((opt = getopt(argc, argv, "p:n:")) != -1) {
		if (opt == 'p' && parse_u64(optarg, 1, 65535, &port))
			continue;
		if (opt == 'n' && parse_u64(optarg, 1, 1000, &nconns))
			continue;
		usage();
	}
	if (optind != argc)
		usage();
	lfd = listen_loopback((uint16_t)port, 16);
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
		uint64_t bytes = 0;
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
		for (;;) {
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				printf("READ_ERROR conn=%" PRIu64 " errno=%s\n", i,
				       errno_name(errno));
				return 1;
			}
			if (r == 0)
				break;
			bytes += (uint64_t)r;
			if (write(fd, buf, (size_t)r) != r) {
				printf("WRITE_ERROR conn=%" PRIu64 " errno=%s\n", i,
				       errno_name(errno));
				return 1;
			}
		}
		printf("EOF conn=%" PRIu64 " fd=%d bytes=%" PRIu64 " t_us=%lld\n", i, fd, bytes,
		       t_us());
		/* The bug: no close(fd); the next accept gets a new fd. */
	}
	close(lfd);
	printf("CLOSE what=listener fd=%d t_us=%lld\n", lfd, t_us());
	printf("DONE conns=%" PRIu64 " leaked=%" PRIu64 "\n", nconns, nconns);
	return 0;
}
