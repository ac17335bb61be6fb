/* thread_server: a correct server with one thread per connection.
 *
 * thread_server [-p PORT] [-n CONNS]
 *
 * Accepts CONNS connections (default 3) on 127.0.0.1:PORT (default 7000)
 * and starts a thread for each, which echoes until read() returns 0 and
 * then closes the socket.  After CONNS accepts the main thread closes the
 * listener and joins every thread.
 *   LISTENING port=P pid=PID
 *   ACCEPT conn=I fd=N peer=ADDR:PORT t_us=T
 *   EOF conn=I tid=TID fd=N bytes=B t_us=T               (the thread)
 *   CLOSE what=conn conn=I tid=TID fd=N t_us=T           (the thread)
 *   CLOSE what=listener fd=N t_us=T
 *   DONE conns=N errors=E
 * Errors print NAME_ERROR conn=I errno=NAME.  Exit: 0, 1 error, 2 usage.
 */
#include "target_common.h"

#include <pthread.h>
#include <unistd.h>

struct job {
	uint64_t conn;
	int fd;
	int err;
	pthread_t th;
};

static void usage(void)
{
	fprintf(stderr, "usage: thread_server [-p PORT] [-n CONNS]\n");
	exit(2);
}

static void *serve(void *arg)
{
	struct job *j = arg;
	unsigned char buf[4096];
	uint64_t bytes = 0;
	int tid = gettid();

	for (;;) {
		ssize_t r = read(j->fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			printf("READ_ERROR conn=%" PRIu64 " errno=%s\n", j->conn,
			       errno_name(errno));
			j->err = 1;
			break;
		}
		if (r == 0) {
			printf("EOF conn=%" PRIu64 " tid=%d fd=%d bytes=%" PRIu64 " t_us=%lld\n",
			       j->conn, tid, j->fd, bytes, t_us());
			break;
		}
		bytes += (uint64_t)r;
		if (write(j->fd, buf, (size_t)r) != r) {
			printf("WRITE_ERROR conn=%" PRIu64 " errno=%s\n", j->conn,
			       errno_name(errno));
			j->err = 1;
			break;
		}
	}
	close(j->fd);
	printf("CLOSE what=conn conn=%" PRIu64 " tid=%d fd=%d t_us=%lld\n", j->conn, tid, j->fd,
	       t_us());
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t port = 7000, nconns = 3;
	struct job *jobs;
	int opt, lfd, errors = 0;

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
	jobs = calloc((size_t)nconns, sizeof(*jobs));
	lfd = listen_loopback((uint16_t)port, 16);
	if (!jobs || lfd < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("LISTENING port=%u pid=%d\n", (unsigned)port, (int)getpid());
	for (uint64_t i = 1; i <= nconns; i++) {
		struct job *j = &jobs[i - 1];
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		char addr[INET6_ADDRSTRLEN + 16];
		int e;

		do
			j->fd = accept(lfd, (struct sockaddr *)&peer, &pl);
		while (j->fd < 0 && errno == EINTR);
		if (j->fd < 0) {
			printf("ACCEPT_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(errno));
			return 1;
		}
		j->conn = i;
		format_addr(&peer, addr, sizeof(addr));
		printf("ACCEPT conn=%" PRIu64 " fd=%d peer=%s t_us=%lld\n", i, j->fd, addr,
		       t_us());
		e = pthread_create(&j->th, NULL, serve, j);
		if (e != 0) {
			printf("THREAD_ERROR conn=%" PRIu64 " errno=%s\n", i, errno_name(e));
			return 1;
		}
	}
	close(lfd);
	printf("CLOSE what=listener fd=%d t_us=%lld\n", lfd, t_us());
	for (uint64_t i = 0; i < nconns; i++) {
		pthread_join(jobs[i].th, NULL);
		errors += jobs[i].err;
	}
	free(jobs);
	printf("DONE conns=%" PRIu64 " errors=%d\n", nconns, errors);
	return errors ? 1 : 0;
}
