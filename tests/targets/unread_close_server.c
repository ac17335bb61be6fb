/* unread_close_server: a server with one bug: it reads only the first few
 * bytes of each request and closes the socket with the rest unread, so the
 * kernel sends an RST instead of a FIN (RFC 2525 2.17).
 *
 * unread_close_server [-p PORT] [-n CONNS] [-r BYTES] [-w MS]
 *
 * Serves CONNS connections (default 1) one after the other on
 * 127.0.0.1:PORT (default 7000): reads exactly BYTES bytes (default 4),
 * waits MS milliseconds (default 200) so the rest of the request is in,
 * and closes.  unread= is SIOCINQ (FIONREAD) just before close().
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=I fd=N peer=ADDR:PORT t_us=T
 *   READ conn=I fd=N bytes=B t_us=T
 *   CLOSE what=conn conn=I fd=N unread=U t_us=T
 *   CLOSE what=listener fd=N t_us=T
 *   DONE conns=N
 * Errors print NAME_ERROR conn=I errno=NAME and exit 1.  Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <sys/ioctl.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: unread_close_server [-p PORT] [-n CONNS] [-r BYTES] [-w MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, nconns = 1, want = 4, wait_ms = 200;
	int opt, lfd;

	start_clock();
	while ((opt = getopt(argc, argv, "p:n:r:w:")) != -1) {
		if (opt == 'p' && parse_u64(optarg, 1, 65535, &port))
			continue;
		if (opt == 'n' && parse_u64(optarg, 1, 1000000, &nconns))
			continue;
		if (opt == 'r' && parse_u64(optarg, 1, 4096, &want))
			continue;
		if (opt == 'w' && parse_u64(optarg, 0, 60000, &wait_ms))
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
		struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000};
		size_t got = 0;
		int fd, unread = -1;

		do
			fd = accept(lfd, (struct sockaddr *)&peer, &pl);
		while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			printf("ACCEPT_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(errno));
			return 1;
		}
		format_addr(&peer, addr, sizeof(addr));
		printf("ACCEPT conn=%" PRIu64 " fd=%d peer=%s t_us=%lld\n", i, fd, addr, t_us());
		while (got < want) {
			ssize_t r = read(fd, buf + got, (size_t)want - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				printf("READ_ERROR conn=%" PRIu64 " errno=%s\n", i,
				       r ? errno_name(errno) : "EOF");
				return 1;
			}
			got += (size_t)r;
		}
		printf("READ conn=%" PRIu64 " fd=%d bytes=%zu t_us=%lld\n", i, fd, got, t_us());
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ioctl(fd, FIONREAD, &unread);
		/* The bug: the rest of the request is still in the socket. */
		close(fd);
		printf("CLOSE what=conn conn=%" PRIu64 " fd=%d unread=%d t_us=%lld\n", i, fd,
		       unread, t_us());
	}
	close(lfd);
	printf("CLOSE what=listener fd=%d t_us=%lld\n", lfd, t_us());
	printf("DONE conns=%" PRIu64 "\n", nconns);
	return 0;
}
