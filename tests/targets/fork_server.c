/* fork_server: a correct server that forks one child per connection.
 *
 * fork_server [-p PORT] [-n CONNS]
 *
 * Accepts CONNS connections (default 3) on 127.0.0.1:PORT (default 7000).
 * For each, the parent forks and closes its copy of the socket; the child
 * closes its copy of the listener, echoes until read() returns 0, closes
 * the socket and exits 0.  After CONNS accepts the parent closes the
 * listener and reaps every child.  Every close() is reported:
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=I fd=N peer=ADDR:PORT t_us=T
 *   FORK conn=I child=PID t_us=T
 *   CLOSE what=conn conn=I pid=PID fd=N t_us=T         (parent and child)
 *   CLOSE what=listener pid=PID fd=N t_us=T             (children and parent)
 *   EOF conn=I pid=PID fd=N bytes=B t_us=T              (child)
 *   REAPED conn=I child=PID status=S
 *   DONE conns=N
 * Errors print NAME_ERROR conn=I errno=NAME (the child exits 1).
 * Exit: 0 when every child exited 0, 1 otherwise, 2 usage.
 */
#include "target_common.h"

#include <sys/wait.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: fork_server [-p PORT] [-n CONNS]\n");
	exit(2);
}

/* The child: echo until EOF, then close. */
static int serve(uint64_t conn, int fd)
{
	unsigned char buf[4096];
	uint64_t bytes = 0;

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR conn=%" PRIu64 " errno=%s\n", conn, errno_name(errno));
			return 1;
		}
		if (r == 0)
			break;
		bytes += (uint64_t)r;
		if (write(fd, buf, (size_t)r) != r) {
			printf("WRITE_ERROR conn=%" PRIu64 " errno=%s\n", conn, errno_name(errno));
			return 1;
		}
	}
	printf("EOF conn=%" PRIu64 " pid=%d fd=%d bytes=%" PRIu64 " t_us=%lld\n", conn,
	       (int)getpid(), fd, bytes, t_us());
	close(fd);
	printf("CLOSE what=conn conn=%" PRIu64 " pid=%d fd=%d t_us=%lld\n", conn, (int)getpid(),
	       fd, t_us());
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, nconns = 3;
	pid_t *kids;
	int opt, lfd, failed = 0;

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
	kids = calloc((size_t)nconns, sizeof(*kids));
	lfd = listen_loopback((uint16_t)port, 16);
	if (!kids || lfd < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("LISTENING port=%u pid=%d\n", (unsigned)port, (int)getpid());
	for (uint64_t i = 1; i <= nconns; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		char addr[INET6_ADDRSTRLEN + 16];
		int fd;
		pid_t pid;

		do
			fd = accept(lfd, (struct sockaddr *)&peer, &pl);
		while (fd < 0 && errno == EINTR);
		if (fd < 0) {
			printf("ACCEPT_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(errno));
			return 1;
		}
		format_addr(&peer, addr, sizeof(addr));
		printf("ACCEPT conn=%" PRIu64 " fd=%d peer=%s t_us=%lld\n", i, fd, addr, t_us());
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			printf("FORK_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(errno));
			return 1;
		}
		if (pid == 0) {
			close(lfd);
			printf("CLOSE what=listener pid=%d fd=%d t_us=%lld\n", (int)getpid(), lfd,
			       t_us());
			exit(serve(i, fd));
		}
		kids[i - 1] = pid;
		printf("FORK conn=%" PRIu64 " child=%d t_us=%lld\n", i, (int)pid, t_us());
		close(fd);
		printf("CLOSE what=conn conn=%" PRIu64 " pid=%d fd=%d t_us=%lld\n", i,
		       (int)getpid(), fd, t_us());
	}
	close(lfd);
	printf("CLOSE what=listener pid=%d fd=%d t_us=%lld\n", (int)getpid(), lfd, t_us());
	for (uint64_t i = 1; i <= nconns; i++) {
		int st;

		while (waitpid(kids[i - 1], &st, 0) < 0 && errno == EINTR)
			;
		printf("REAPED conn=%" PRIu64 " child=%d status=%d\n", i, (int)kids[i - 1],
		       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	free(kids);
	printf("DONE conns=%" PRIu64 "\n", nconns);
	return failed;
}
