/* ktrace.c - the kernel's TCP state changes from tracefs; see ktrace.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ktrace.h"

#define TRACEFS "/sys/kernel/tracing"
#define TRACEFS_MAGIC 0x74726163
#define INSTANCE_PREFIX "faultline-test-"
#define BUFFER_KB "4096" /* per CPU: the whole machine's TCP events of a run */

/* Kernel state numbers used here (include/net/tcp_states.h). */
enum { ST_FIN_WAIT2 = 5, ST_TIME_WAIT = 6, ST_CLOSE = 7, ST_LISTEN = 10,
       ST_CLOSING = 11 };

struct kt {
	char dir[160]; /* the instance, "" once removed */
	struct kt_sock *socks;
	size_t nsocks, cap;
	uint8_t *rst_pending; /* per sock: an RST since its last step */
};

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	int fd, ret = 0;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Mounts tracefs where the kernel documents it, if nothing is there. */
static int mount_tracefs(void)
{
	struct statfs sf;

	if (statfs(TRACEFS, &sf) < 0)
		return -errno;
	if ((unsigned long)sf.f_type == TRACEFS_MAGIC)
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) < 0)
		return -errno;
	return 0;
}

/* Removes the instances of test processes that died without removing
 * theirs (a test killed by its timeout).  Only ours, by name and a dead
 * pid. */
static void remove_stale(void)
{
	DIR *d = opendir(TRACEFS "/instances");
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, INSTANCE_PREFIX,
			    strlen(INSTANCE_PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(INSTANCE_PREFIX), &end, 10);
		if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), TRACEFS "/instances/%s",
			 de->d_name);
		rmdir(path);
	}
	closedir(d);
}

int kt_start(struct kt **out, char *why, size_t whylen)
{
	static unsigned seq;
	static const char *const setup[][2] = {
		{"trace_clock", "mono"},
		{"options/fields", "1"},
		{"buffer_size_kb", BUFFER_KB},
		{"events/sock/inet_sock_set_state/filter", "protocol == 6"},
		{"events/sock/inet_sock_set_state/enable", "1"},
		{"events/tcp/tcp_send_reset/enable", "1"},
		{"events/tcp/tcp_receive_reset/enable", "1"},
	};
	struct kt *k = NULL;
	int ret;

	*out = NULL;
	if (geteuid() != 0) {
		snprintf(why, whylen, "not root: cannot use tracefs");
		return -EPERM;
	}
	ret = mount_tracefs();
	if (ret < 0) {
		snprintf(why, whylen, "no tracefs at " TRACEFS ": %s",
			 strerror(-ret));
		return ret;
	}
	remove_stale();
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	snprintf(k->dir, sizeof(k->dir), TRACEFS "/instances/" INSTANCE_PREFIX
		 "%d-%u", (int)getpid(), seq++);
	if (mkdir(k->dir, 0700) < 0) {
		ret = -errno;
		snprintf(why, whylen, "mkdir %s: %s", k->dir, strerror(-ret));
		k->dir[0] = 0;
		goto fail;
	}
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		ret = write_file(k->dir, setup[i][0], setup[i][1]);
		if (ret < 0) {
			snprintf(why, whylen, "%s/%s: %s", k->dir, setup[i][0],
				 strerror(-ret));
			goto fail;
		}
	}
	*out = k;
	return 0;
fail:
	kt_free(k);
	return ret;
}

/* The value of " key=" in an event line (fields format: "0x1b58 (7000)"). */
static int field(const char *line, const char *key, unsigned long long *v)
{
	char pat[32];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return -ENOENT;
	errno = 0;
	*v = strtoull(p + strlen(pat), &end, 0);
	if (errno || end == p + strlen(pat))
		return -EINVAL;
	return 0;
}

/* "A.B.C.D:PORT" from a __u8[4] field printed as a host-order number. */
static void endpoint(char *out, size_t n, unsigned long long a,
		     unsigned long long port)
{
	snprintf(out, n, "%llu.%llu.%llu.%llu:%llu", a & 0xff, (a >> 8) & 0xff,
		 (a >> 16) & 0xff, (a >> 24) & 0xff, port);
}

/* The newest socket with this skaddr, or -1. */
static long find_sk(const struct kt *k, uint64_t sk)
{
	for (size_t i = k->nsocks; i-- > 0;)
		if (k->socks[i].skaddr == sk)
			return (long)i;
	return -1;
}

static int sock_closed(const struct kt_sock *s)
{
	return s->nsteps && s->steps[s->nsteps - 1].to == ST_CLOSE;
}

static long new_sock(struct kt *k, uint64_t sk)
{
	if (k->nsocks == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct kt_sock *v = realloc(k->socks, cap * sizeof(*v));
		uint8_t *r;

		if (!v)
			return -1;
		k->socks = v;
		r = realloc(k->rst_pending, cap);
		if (!r)
			return -1;
		k->rst_pending = r;
		k->cap = cap;
	}
	memset(&k->socks[k->nsocks], 0, sizeof(k->socks[0]));
	k->socks[k->nsocks].skaddr = sk;
	k->rst_pending[k->nsocks] = 0;
	return (long)k->nsocks++;
}

static void on_state(struct kt *k, const char *line, uint64_t t)
{
	unsigned long long sk, from, to, sport, dport, sa, da, family;
	char local[48] = "", remote[48] = "";
	struct kt_sock *s;
	long i;

	if (field(line, "skaddr", &sk) || field(line, "oldstate", &from) ||
	    field(line, "newstate", &to) || field(line, "sport", &sport) ||
	    field(line, "dport", &dport) || field(line, "saddr", &sa) ||
	    field(line, "daddr", &da) || field(line, "family", &family))
		return;
	/* A listener's own events: not a connection. */
	if (to == ST_LISTEN || (from == ST_LISTEN && to == ST_CLOSE))
		return;
	if (sport && dport && family == AF_INET6) {
		/* "fields" cannot print a __u8[16] (<INVALID-SIZE>): an
		 * IPv6 socket is known by its ports (see kt_find()). */
		snprintf(local, sizeof(local), "[*]:%llu", sport);
		snprintf(remote, sizeof(remote), "[*]:%llu", dport);
	} else if (sport && dport) {
		endpoint(local, sizeof(local), sa, sport);
		endpoint(remote, sizeof(remote), da, dport);
	}
	i = find_sk(k, sk);
	/* A freed socket's memory may hold a new one; a closed socket may
	 * also connect again: either way a new socket from here. */
	if (i >= 0 && (sock_closed(&k->socks[i]) ||
		       (local[0] && k->socks[i].local[0] &&
			(strcmp(local, k->socks[i].local) ||
			 strcmp(remote, k->socks[i].remote)))))
		i = -1;
	if (i < 0 && (i = new_sock(k, sk)) < 0)
		return;
	s = &k->socks[i];
	if (local[0] && !s->local[0]) {
		memcpy(s->local, local, sizeof(local));
		memcpy(s->remote, remote, sizeof(remote));
	}
	if (s->nsteps < sizeof(s->steps) / sizeof(s->steps[0]))
		s->steps[s->nsteps++] = (struct kt_step){
			.t_ns = t, .from = (uint8_t)from, .to = (uint8_t)to,
			.after_rst = k->rst_pending[i]};
	k->rst_pending[i] = 0;
}

/* An RST sent or received by socket skaddr: it belongs to the step
 * before it (tcp_reset: the event, then CLOSE) or, when the socket just
 * closed, to its CLOSE (tcp_disconnect: CLOSE, then the RST). */
static void on_rst(struct kt *k, const char *line)
{
	unsigned long long sk;
	long i;

	if (field(line, "skaddr", &sk) || !sk || (i = find_sk(k, sk)) < 0)
		return;
	if (sock_closed(&k->socks[i]))
		k->socks[i].steps[k->socks[i].nsteps - 1].after_rst = 1;
	else
		k->rst_pending[i] = 1;
}

/* The timestamp before ": event:" ("  746.626927"), in ns. */
static uint64_t stamp(const char *line, const char *ev)
{
	const char *p = ev;
	unsigned long long sec = 0, frac = 0, scale = 1000000000ull;

	while (p > line && p[-1] != ' ')
		p--;
	if (sscanf(p, "%llu", &sec) != 1)
		return 0;
	p = strchr(p, '.');
	if (p)
		for (p++; *p >= '0' && *p <= '9' && scale > 1; p++) {
			scale /= 10;
			frac += (unsigned long long)(*p - '0') * scale;
		}
	return sec * 1000000000ull + frac;
}

/* Events lost to a full buffer, summed over the CPUs. */
static unsigned long long lost_events(const char *dir)
{
	char path[512], line[128];
	unsigned long long lost = 0, v;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/per_cpu", dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;

		if (strncmp(de->d_name, "cpu", 3) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/per_cpu/%s/stats", dir,
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "overrun: %llu", &v) == 1 ||
			    sscanf(line, "dropped events: %llu", &v) == 1)
				lost += v;
		fclose(f);
	}
	closedir(d);
	return lost;
}

int kt_stop(struct kt *k, char *why, size_t whylen)
{
	char path[sizeof(k->dir) + 16];
	char *line = NULL;
	size_t cap = 0;
	unsigned long long lost;
	FILE *f;
	int ret = 0;

	if (!k->dir[0]) {
		snprintf(why, whylen, "not recording");
		return -EINVAL;
	}
	ret = write_file(k->dir, "events/enable", "0");
	if (ret < 0) {
		snprintf(why, whylen, "%s/events/enable: %s", k->dir,
			 strerror(-ret));
		goto out;
	}
	lost = lost_events(k->dir);
	if (lost) {
		snprintf(why, whylen, "%llu trace events lost (buffer of "
			 BUFFER_KB " KiB per CPU overran)", lost);
		ret = -EOVERFLOW;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/trace", k->dir);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(-ret));
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		const char *ev;

		if (line[0] == '#')
			continue;
		if ((ev = strstr(line, ": inet_sock_set_state: ")))
			on_state(k, line, stamp(line, ev));
		else if ((ev = strstr(line, ": tcp_send_reset: ")) ||
			 (ev = strstr(line, ": tcp_receive_reset: ")))
			on_rst(k, line);
	}
	free(line);
	fclose(f);
out:
	if (rmdir(k->dir) < 0 && !ret) {
		ret = -errno;
		snprintf(why, whylen, "rmdir %s: %s", k->dir, strerror(-ret));
	}
	k->dir[0] = 0;
	return ret;
}

void kt_free(struct kt *k)
{
	if (!k)
		return;
	if (k->dir[0])
		rmdir(k->dir);
	free(k->socks);
	free(k->rst_pending);
	free(k);
}

/* "[*]:PORT" for an IPv6 endpoint "[ADDR]:PORT" (see on_state()). */
static const char *v6_key(const char *ep, char *buf, size_t n)
{
	const char *port = strstr(ep, "]:");

	if (ep[0] != '[' || !port)
		return ep;
	snprintf(buf, n, "[*]%s", port + 1);
	return buf;
}

size_t kt_find(const struct kt *k, const char *local, const char *remote,
	       const struct kt_sock **out, size_t max)
{
	char lb[48], rb[48];
	size_t n = 0;

	local = v6_key(local, lb, sizeof(lb));
	remote = v6_key(remote, rb, sizeof(rb));
	for (size_t i = 0; i < k->nsocks; i++) {
		if (strcmp(k->socks[i].local, local) ||
		    strcmp(k->socks[i].remote, remote))
			continue;
		if (n < max)
			out[n] = &k->socks[i];
		n++;
	}
	return n;
}

size_t kt_sock_path(const struct kt_sock *s, int peer_fin, uint8_t *out,
		    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nsteps && n < max; i++) {
		const struct kt_step *st = &s->steps[i];
		uint8_t to = st->to;

		/* tcp_time_wait() ends with tcp_done(): the full socket
		 * closes, the minisock that replaces it is not traced. */
		if (to == ST_CLOSE && !st->after_rst && st->from == ST_CLOSING)
			to = ST_TIME_WAIT;
		else if (to == ST_CLOSE && !st->after_rst &&
			 st->from == ST_FIN_WAIT2) {
			if (!peer_fin)
				continue; /* the minisock is in FIN_WAIT2 */
			to = ST_TIME_WAIT;
		}
		/* tcp_set_state() is traced even when the state does not
		 * change: shutdown(SHUT_WR) then close() logs FIN_WAIT1 ->
		 * FIN_WAIT1 (tcp_close_state() again), CLOSE_WAIT's close()
		 * after shutdown LAST_ACK -> LAST_ACK.  Not a change. */
		if (st->from == to && n && out[n - 1] == to)
			continue;
		out[n++] = to;
	}
	return n;
}
