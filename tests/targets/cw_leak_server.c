/* cw_leak_server: a server with one bug, a CLOSE_WAIT leak.
 *
 * cw_leak_server [-p PORT]
 *
 * Accepts one connection on 127.0.0.1:PORT (default 7000), echoes what it
 * reads, and when read() returns 0 reports EOF and then never closes the
 * socket: it waits for SIGTERM and exits 0 with the socket still open, so
 * the connection sits in CLOSE_WAIT until the process is gone.
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=1 fd=N peer=ADDR:PORT t_us=T
 *   EOF conn=1 fd=N bytes=B t_us=T
 *   TERM t_us=T                      (SIGTERM; exit 0, the fd still open)
 *   READ_ERROR conn=1 errno=NAME t_us=T   (then exit 1)
 * Exit: 0 after SIGTERM, 1 on errors, 2 usage.
 */
#include "target_common.h"

#include <signal.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: cw_leak_server [-p PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, bytes = 0;
	unsigned char buf[4096];
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	char addr[INET6_ADDRSTRLEN + 16];
	sigset_t term;
	int opt, lfd, fd, sig;

	start_clock();
	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p' || !parse_u64(optarg, 1, 65535, &port))
			usage();
	}
	if (optind != argc)
		usage();
	/* SIGTERM is taken with sigwait() once the leak is in place. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);

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
		printf("ACCEPT_ERROR errno=%s t_us=%lld\n", errno_name(errno), t_us());
		return 1;
	}
	format_addr(&peer, addr, sizeof(addr));
	printf("ACCEPT conn=1 fd=%d peer=%s t_us=%lld\n", fd, addr, t_us());
	close(lfd);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR conn=1 errno=%s t_us=%lld\n", errno_name(errno),
			       t_us());
			return 1;
		}
		if (r == 0)
			break;
		bytes += (uint64_t)r;
		if (write(fd, buf, (size_t)r) != r) {
			printf("WRITE_ERROR conn=1 errno=%s t_us=%lld\n", errno_name(errno),
			       t_us());
			return 1;
		}
	}
	printf("EOF conn=1 fd=%d bytes=%" PRIu64 " t_us=%lld\n", fd, bytes, t_us());
	/* The bug: fd is never closed. */
	while (sigwait(&term, &sig) != 0)
		;
	printf("TERM t_us=%lld\n", t_us());
	return 0;
}
