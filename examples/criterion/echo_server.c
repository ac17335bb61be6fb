/*
 * echo_server.c - the program under test of the example: a TCP echo
 * server that must close each connection once its peer has closed (read()
 * returns 0), or the connection sits in CLOSE_WAIT.  --no-close is the
 * bug the example's test catches: it keeps the socket after EOF.
 * Serves one connection at a time until SIGTERM.  Single-threaded.
 *
 *   echo_server [-p PORT] [--no-close]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int port = 7000, no_close = 0, one = 1, ls;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-close"))
			no_close = 1;
		else {
			fprintf(stderr, "usage: %s [-p PORT] [--no-close]\n", argv[0]);
			return 2;
		}
	}
	a.sin_port = htons((unsigned short)port);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 16) < 0) {
		perror("echo_server: listen");
		return 1;
	}
	for (;;) {
		char buf[4096];
		ssize_t n;
		int c = accept(ls, NULL, NULL);

		if (c < 0) {
			perror("echo_server: accept");
			return 1;
		}
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				break;
		/* EOF (n == 0): the peer closed; so do we.  The bug: not. */
		if (!no_close)
			close(c);
	}
}
