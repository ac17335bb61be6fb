/* cover_server - a one-connection echo server for the tests of whether a
 * flow's calls were observed (tests/e2e/test_cover.c).
 *
 * cover_server [-p PORT] [--raw-close-range] [--close-range]
 *
 * Listens on 127.0.0.1:PORT (default 7000), accepts one connection,
 * echoes until EOF, closes it and exits 0.  --raw-close-range first closes
 * every descriptor from 3 up with the raw close_range system call, which
 * no preload hook sees: the shim's channel goes with them.  --close-range
 * does the same through libc's close_range(), which the shim hooks (it
 * re-creates its channel and names the new one).  Built twice:
 * dynamic (cover_server) and static (static_echo_server: the shim cannot
 * load into it).  Prints nothing; exit 1 on an error.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int port = 7000, one = 1, ls, c;
	char buf[4096];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			port = (int)strtol(argv[++i], &end, 10);
			if (*end || port <= 0 || port > 65535)
				return 2;
		} else if (!strcmp(argv[i], "--raw-close-range")) {
			syscall(SYS_close_range, 3u, ~0u, 0u);
		} else if (!strcmp(argv[i], "--close-range")) {
			close_range(3u, ~0u, 0);
		} else {
			return 2;
		}
	}
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(ls, 8) < 0)
		return 1;
	c = accept(ls, NULL, NULL);
	if (c < 0)
		return 1;
	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (write(c, buf, (size_t)n) != n)
			return 1;
	close(c);
	close(ls);
	return n < 0;
}
