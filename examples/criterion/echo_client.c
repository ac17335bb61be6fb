/*
 * echo_client.c - the example's test client (faultline's driver): sends
 * a line to 127.0.0.1:PORT, reads the echo back, and closes.  Exit 0
 * when the echo came back whole.  Single-threaded.
 *
 *   echo_client [-p PORT]
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
	static const char msg[] = "hello, faultline\n";
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char buf[sizeof(msg)];
	size_t got = 0;
	int s;

	a.sin_port = htons(argc > 2 && !strcmp(argv[1], "-p")
			   ? (unsigned short)atoi(argv[2]) : 7000);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("echo_client: connect");
		return 1;
	}
	if (write(s, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1) {
		perror("echo_client: write");
		return 1;
	}
	while (got < sizeof(msg) - 1) {
		ssize_t n = read(s, buf + got, sizeof(msg) - 1 - got);

		if (n <= 0) {
			fprintf(stderr, "echo_client: echo cut short\n");
			return 1;
		}
		got += (size_t)n;
	}
	close(s); /* our FIN: the server must answer with its own */
	return memcmp(buf, msg, got) != 0;
}
