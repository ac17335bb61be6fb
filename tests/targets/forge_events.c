/*
 * forge_events.c - a hostile target for the shim's channel (issue 12): it
 * writes to the event socket named by $FAULTLINE_SOCK itself, from its own
 * socket: three malformed datagrams (short, wrong magic, too long) and one
 * well-formed event that claims to come from pid 4242 and says that pid set
 * SO_KEEPALIVE 1 on fd 99.  Prints "forged PID" with its own pid (getpid,
 * the sandbox's) so the test can tell whose the call is, and exits 0.
 * Single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "event.h"

int main(void)
{
	const char *name = getenv(FL_EV_SOCK_ENV);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct fl_ev ev;
	struct timespec ts;
	char junk[300];
	socklen_t len;
	int fd;

	if (!name || strlen(name) + 1 >= sizeof(sun.sun_path)) {
		fprintf(stderr, "forge_events: no %s\n", FL_EV_SOCK_ENV);
		return 1;
	}
	memcpy(sun.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	memset(junk, 0xff, sizeof(junk));
	sendto(fd, junk, 7, 0, (struct sockaddr *)&sun, len);
	sendto(fd, junk, sizeof(struct fl_ev), 0, (struct sockaddr *)&sun, len);
	sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&sun, len);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(&ev, 0, sizeof(ev));
	ev.magic = FL_EV_MAGIC;
	ev.version = FL_EV_VERSION;
	ev.size = sizeof(ev);
	ev.kind = FL_EV_CALL;
	ev.fn = FL_FN_SETSOCKOPT;
	ev.t_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	ev.seq = 1;
	ev.pid = 4242;
	ev.tid = 4242;
	ev.fd = 99;
	ev.u.call.level = SOL_SOCKET;
	ev.u.call.optname = SO_KEEPALIVE;
	ev.u.call.val = 1;
	sendto(fd, &ev, sizeof(ev), 0, (struct sockaddr *)&sun, len);
	printf("forged %d\n", (int)getpid());
	fflush(stdout);
	/* stay alive while the harness reads the events */
	sleep(1);
	return 0;
}
