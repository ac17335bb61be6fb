/* priv_drop_server: sample target for --keep-cap and the report of
 * refused privileged operations: a server that, like nginx's master,
 * drops its privileges before it serves, and says what it could do.
 *
 * priv_drop_server [-p PORT] [--groups] [--setgid GID] [--setuid UID]
 *                  [--chown PATH] [--strict]
 *
 * In this order: prints its ids and capability sets, then setgroups(0)
 * (--groups), chown(PATH, UID or 0, GID or 0) (--chown), setgid(GID),
 * setuid(UID), each line saying what the call returned:
 *   IDS uid=U euid=E gid=G egid=G
 *   CAPS eff=HEX bnd=HEX amb=HEX      (/proc/self/status; before and after)
 *   CALL fn=NAME arg=ARG ret=R errno=NAME|0
 * then listens on 127.0.0.1:PORT (default 7000), accepts ONE connection,
 * echoes it until EOF, closes and exits 0:
 *   LISTENING port=P pid=PID
 *   EOF bytes=B
 * --strict: a failed call exits 1 at once (FATAL fn=NAME), as most
 * servers do; without it the server goes on as whatever it is.
 */
#include "target_common.h"

#include <fcntl.h>
#include <getopt.h>
#include <grp.h>

static void caps(void)
{
	char line[256], eff[32] = "?", bnd[32] = "?", amb[32] = "?";
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "CapEff: %31s", eff);
		sscanf(line, "CapBnd: %31s", bnd);
		sscanf(line, "CapAmb: %31s", amb);
	}
	if (f)
		fclose(f);
	printf("IDS uid=%u euid=%u gid=%u egid=%u\n", (unsigned)getuid(),
	       (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
	printf("CAPS eff=%s bnd=%s amb=%s\n", eff, bnd, amb);
}

static int strict;

static void said(const char *fn, const char *arg, int r)
{
	int e = errno;

	printf("CALL fn=%s arg=%s ret=%d errno=%s\n", fn, arg, r,
	       r < 0 ? errno_name(e) : "0");
	if (r < 0 && strict) {
		printf("FATAL fn=%s\n", fn);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"groups", no_argument, NULL, 'G'},
		{"setgid", required_argument, NULL, 'g'},
		{"setuid", required_argument, NULL, 'u'},
		{"chown", required_argument, NULL, 'c'},
		{"strict", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *gid = NULL, *uid = NULL, *path = NULL;
	int port = 7000, groups = 0, c, l, fd, one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char buf[4096];
	long long bytes = 0;
	ssize_t n;

	start_clock();
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'G': groups = 1; break;
		case 'g': gid = optarg; break;
		case 'u': uid = optarg; break;
		case 'c': path = optarg; break;
		case 's': strict = 1; break;
		default:
			fprintf(stderr, "usage: priv_drop_server [-p PORT] [--groups] "
				"[--setgid GID] [--setuid UID] [--chown PATH] [--strict]\n");
			return 2;
		}
	}
	caps();
	if (groups)
		said("setgroups", "0", setgroups(0, NULL));
	if (path)
		said("chown", path, chown(path, uid ? (uid_t)atol(uid) : 0,
					  gid ? (gid_t)atol(gid) : 0));
	if (gid)
		said("setgid", gid, setgid((gid_t)atol(gid)));
	if (uid)
		said("setuid", uid, setuid((uid_t)atol(uid)));
	if (groups || path || gid || uid)
		caps();
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)port);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 8) < 0) {
		printf("LISTEN_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	printf("LISTENING port=%d pid=%d\n", port, (int)getpid());
	fd = accept(l, NULL, NULL);
	if (fd < 0) {
		printf("ACCEPT_ERROR errno=%s\n", errno_name(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		bytes += n;
		if (write(fd, buf, (size_t)n) != n)
			break;
	}
	printf("EOF bytes=%lld\n", bytes);
	close(fd);
	close(l);
	return 0;
}
