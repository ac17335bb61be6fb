/* sigpipe_client: a client with one bug: it keeps the default SIGPIPE
 * disposition and writes to a connection the peer has reset, so it dies
 * of SIGPIPE.
 *
 * sigpipe_client [-p PORT]
 *
 * Connects to 127.0.0.1:PORT (default 7000; ECONNREFUSED is retried for
 * 2 s), sends a one-line request, waits until the peer has closed the
 * connection (read() returns 0 or fails), then writes once every 10 ms.
 *   CONNECTED fd=N local=ADDR:PORT pid=PID t_us=T
 *   SENT bytes=B t_us=T
 *   PEER_CLOSED how=EOF|errno-NAME t_us=T
 *   WRITE i=I t_us=T                 (printed before each write)
 *   WRITE_ERROR i=I errno=NAME t_us=T    (a write that failed and returned)
 *   DONE                             (20 writes and still alive: exit 0)
 *   CONNECT_ERROR errno=NAME t_us=T  (then exit 1)
 * Exit: killed by SIGPIPE (the bug), 0 if it survived, 1 error, 2 usage.
 */
#include "target_common.h"

#include <poll.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: sigpipe_client [-p PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char req[] = "GET /slow HTTP/1.0\r\n\r\n";
	uint64_t port = 7000;
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	char addr[INET6_ADDRSTRLEN + 16], buf[256];
	int64_t give_up;
	int opt, fd;

	start_clock();
	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p' || !parse_u64(optarg, 1, 65535, &port))
			usage();
	}
	if (optind != argc)
		usage();
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	give_up = mono_ns() + 2000000000;
	for (;;) {
		struct timespec ts = {0, 20000000};

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (fd < 0 || errno != ECONNREFUSED || mono_ns() > give_up) {
			printf("CONNECT_ERROR errno=%s t_us=%lld\n", errno_name(errno),
			       t_us());
			return 1;
		}
		close(fd);
		nanosleep(&ts, NULL);
	}
	getsockname(fd, (struct sockaddr *)&local, &ll);
	format_addr(&local, addr, sizeof(addr));
	printf("CONNECTED fd=%d local=%s pid=%d t_us=%lld\n", fd, addr, (int)getpid(),
	       t_us());
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		printf("WRITE_ERROR i=0 errno=%s t_us=%lld\n", errno_name(errno), t_us());
		return 1;
	}
	printf("SENT bytes=%zu t_us=%lld\n", sizeof(req) - 1, t_us());
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0)
			continue;
		if (r == 0)
			printf("PEER_CLOSED how=EOF t_us=%lld\n", t_us());
		else
			printf("PEER_CLOSED how=errno-%s t_us=%lld\n", errno_name(errno),
			       t_us());
		break;
	}
	/* The bug: SIGPIPE was never ignored, and no MSG_NOSIGNAL. */
	for (int i = 1; i <= 20; i++) {
		struct timespec ts = {0, 10000000};

		printf("WRITE i=%d t_us=%lld\n", i, t_us());
		if (write(fd, req, sizeof(req) - 1) < 0)
			printf("WRITE_ERROR i=%d errno=%s t_us=%lld\n", i,
			       errno_name(errno), t_us());
		nanosleep(&ts, NULL);
	}
	printf("DONE\n");
	close(fd);
	return 0;
}
