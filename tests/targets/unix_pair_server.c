/* unix_pair_server: a correct echo server that also closes an AF_UNIX
 * socketpair end with bytes still unread in it.  An AF_UNIX socket has
 * no RST and loses nothing anyone was promised, so no-unread-close (a TCP
 * check) must hold.
 *
 * unix_pair_server [-p PORT]
 *
 * First makes a socketpair, writes 5 bytes into one end, closes the other
 * end without reading them (then the writing end); then accepts ONE
 * connection on 127.0.0.1:PORT (default 7000), echoes it until read()
 * returns 0, closes it and exits 0.  Output (see target_common.h):
 *   PAIR fd0=A fd1=B
 *   PAIR_CLOSE fd=B unread=5 t_us=T      (FIONREAD just before the close)
 *   PAIR_CLOSE fd=A t_us=T
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=1 fd=N peer=ADDR:PORT t_us=T
 *   EOF conn=1 fd=N bytes=B t_us=T
 *   CLOSE conn=1 fd=N t_us=T
 *   DONE
 * Errors print NAME_ERROR errno=NAME and exit 1.  Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <sys/ioctl.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: unix_pair_server [-p PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, bytes = 0;
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	char addr[INET6_ADDRSTRLEN + 16];
	unsigned char buf[4096];
	int opt, sv[2], lfd, fd, unread = -1;

	start_clock();
	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p' || !parse_u64(optarg, 1, 65535, &port))
			usage();
	}
	if (optind != argc)
		usage();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		printf("SOCKETPAIR_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("PAIR fd0=%d fd1=%d\n", sv[0], sv[1]);
	if (write(sv[0], "hello", 5) != 5) {
		printf("WRITE_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	if (ioctl(sv[1], FIONREAD, &unread) < 0) {
		printf("IOCTL_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	/* Closed with its 5 bytes unread: nothing is sent anywhere. */
	close(sv[1]);
	printf("PAIR_CLOSE fd=%d unread=%d t_us=%lld\n", sv[1], unread, t_us());
	close(sv[0]);
	printf("PAIR_CLOSE fd=%d t_us=%lld\n", sv[0], t_us());

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
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR errno=%s\n", errno_name(errno));
			return 1;
		}
		if (r == 0)
			break;
		bytes += (uint64_t)r;
		if (write(fd, buf, (size_t)r) != r) {
			printf("WRITE_ERROR errno=%s\n", errno_name(errno));
			return 1;
		}
	}
	printf("EOF conn=1 fd=%d bytes=%" PRIu64 " t_us=%lld\n", fd, bytes, t_us());
	close(fd);
	printf("CLOSE conn=1 fd=%d t_us=%lld\n", fd, t_us());
	printf("DONE\n");
	return 0;
}
