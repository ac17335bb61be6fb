/* linger_loss_server: a server whose SO_LINGER {1,0} close throws data
 * away (RFC 9293 3.10.7.1 ABORT: queued data is dropped, RST is sent).
 *
 * linger_loss_server [-p PORT] (--unread | --unsent)
 *
 * Accepts ONE connection on 127.0.0.1:PORT (default 7000), then
 *   --unread  reads 100 bytes of what the client sends, waits until the
 *             rest has arrived (FIONREAD steady for 100 ms, at most 2 s),
 *             so bytes are left unread;
 *   --unsent  makes the socket non-blocking and writes until EAGAIN (the
 *             client is expected not to read), so bytes are left unsent;
 * then sets SO_LINGER {1,0} and closes.  Output (see target_common.h):
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=1 fd=N peer=ADDR:PORT t_us=T
 *   READ conn=1 bytes=100 t_us=T                (--unread)
 *   WROTE conn=1 bytes=B t_us=T                 (--unsent)
 *   QUEUES conn=1 unread=U unsent=S t_us=T      (FIONREAD, TIOCOUTQ just
 *                                                before the close)
 *   CLOSE conn=1 fd=N linger=0 t_us=T
 *   DONE
 * Errors print NAME_ERROR errno=NAME and exit 1.  Exit: 0, 1, 2 usage.
 */
#include "target_common.h"

#include <fcntl.h>
#include <getopt.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: linger_loss_server [-p PORT] (--unread | --unsent)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"unread", no_argument, NULL, 'r'},
		{"unsent", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	uint64_t port = 7000, wrote = 0;
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	char addr[INET6_ADDRSTRLEN + 16];
	static unsigned char buf[65536];
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int opt, lfd, fd, mode = 0, unread = -1, unsent = -1;

	start_clock();
	while ((opt = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (opt == 'p' && parse_u64(optarg, 1, 65535, &port))
			continue;
		if (opt == 'r' || opt == 's') {
			mode = opt;
			continue;
		}
		usage();
	}
	if (optind != argc || !mode)
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
	if (mode == 'r') {
		size_t got = 0;
		int last = -1, steady = 0;

		while (got < 100) {
			ssize_t r = read(fd, buf + got, 100 - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				printf("READ_ERROR errno=%s\n", r ? errno_name(errno) : "EOF");
				return 1;
			}
			got += (size_t)r;
		}
		printf("READ conn=1 bytes=%zu t_us=%lld\n", got, t_us());
		for (int i = 0; i < 200 && steady < 10; i++) {
			int n = 0;

			usleep(10000);
			ioctl(fd, FIONREAD, &n);
			steady = n == last && n > 0 ? steady + 1 : 0;
			last = n;
		}
	} else {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		memset(buf, 'u', sizeof(buf));
		for (;;) {
			ssize_t w = write(fd, buf, sizeof(buf));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				break;
			if (w < 0) {
				printf("WRITE_ERROR errno=%s\n", errno_name(errno));
				return 1;
			}
			wrote += (uint64_t)w;
		}
		printf("WROTE conn=1 bytes=%" PRIu64 " t_us=%lld\n", wrote, t_us());
	}
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
		printf("SOCKOPT_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	ioctl(fd, FIONREAD, &unread);
	ioctl(fd, TIOCOUTQ, &unsent);
	printf("QUEUES conn=1 unread=%d unsent=%d t_us=%lld\n", unread, unsent, t_us());
	/* The bug: an abortive close with data still queued. */
	close(fd);
	printf("CLOSE conn=1 fd=%d linger=0 t_us=%lld\n", fd, t_us());
	printf("DONE\n");
	return 0;
}
