/* accept_close_server: a server that closes each connection right after
 * accept(), never reading: the shortest server life a connection can
 * have (SYN_RECV > ESTABLISHED > FIN_WAIT1 > ... on its side).
 *
 * accept_close_server [-p PORT] [-n CONNS]
 *
 * Accepts CONNS connections (default 1) on 127.0.0.1:PORT (default 7000)
 * one after the other, and closes each at once.  Output (see
 * target_common.h):
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=I fd=N peer=ADDR:PORT t_us=T
 *   CLOSE conn=I fd=N t_us=T
 *   DONE conns=N
 * Errors print NAME_ERROR errno=NAME and exit 1.  Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: accept_close_server [-p PORT] [-n CONNS]\n");
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
		if (opt == 'n' && parse_u64(optarg, 1, 1000000, &nconns))
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
		int fd;

		do
			fd = accept(lfd, (struct sockaddr *)&peer, &pl);
		while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			printf("ACCEPT_ERROR errno=%s\n", errno_name(errno));
			return 1;
		}
		format_addr(&peer, addr, sizeof(addr));
		printf("ACCEPT conn=%" PRIu64 " fd=%d peer=%s t_us=%lld\n", i, fd, addr, t_us());
		close(fd);
		printf("CLOSE conn=%" PRIu64 " fd=%d t_us=%lld\n", i, fd, t_us());
	}
	close(lfd);
	printf("DONE conns=%" PRIu64 "\n", nconns);
	return 0;
}
