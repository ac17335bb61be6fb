/*
 * owner.c - socket owner resolution; see owner.h.
 *
 * Listening sockets are resolved once per port and cached: a server's
 * connections cost one lookup in all.  A client socket (the target as
 * client) costs one sock_diag dump and one scan of the sandbox's /proc,
 * which holds only the sandbox's few processes.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "owner.h"

#define TCP_LISTEN_STATE 10
#define TCP_SYN_SENT_STATE 2

struct fl_owner {
	struct fl_sdiag *diag;
	int host_proc;
	pid_t root[3];    /* harness-view pid per role */
	pid_t nsroot[3];  /* the same in the sandbox's PID namespace */
	uint8_t port_role[65536]; /* listener port -> role + 1, 0 = unknown */
	pid_t port_pid[65536];    /* listener port -> its owner (sandbox pid) */
	pid_t *flow_pid;          /* flow id -> owner of the target's socket */
	size_t nflow_pid;
};

int fl_owner_new(struct fl_owner **out, struct fl_sdiag *diag, int host_proc)
{
	struct fl_owner *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->diag = diag;
	o->host_proc = host_proc;
	*out = o;
	return 0;
}

void fl_owner_free(struct fl_owner *o)
{
	if (o)
		free(o->flow_pid);
	free(o);
}

/* The pid in the innermost namespace, from "NSpid:\t1234\t5". */
static pid_t ns_pid(int host_proc, pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	pid_t last = -1;
	int fd;

	snprintf(path, sizeof(path), "%d/status", pid);
	fd = openat(host_proc, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (p = line + 6; *p;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			last = (pid_t)v;
			p = end;
		}
	}
	fclose(f);
	return last;
}

void fl_owner_set_root(struct fl_owner *o, enum fl_role role, pid_t pid)
{
	o->root[role] = pid;
	o->nsroot[role] = ns_pid(o->host_proc, pid);
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	char *p;
	int fd;
	ssize_t n;
	long ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

static enum fl_role role_of(struct fl_owner *o, pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (pid == o->nsroot[FL_ROLE_TARGET])
			return FL_ROLE_TARGET;
		if (pid == o->nsroot[FL_ROLE_DRIVER])
			return FL_ROLE_DRIVER;
		pid = parent_of(pid);
	}
	return FL_ROLE_NONE;
}

/* The sandbox pid holding socket inode, or -1. */
static pid_t pid_of_inode(uint32_t inode)
{
	char want[32], path[600], link[64];
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	pid_t found = -1;

	if (!proc)
		return -1;
	snprintf(want, sizeof(want), "socket:[%u]", inode);
	while (found < 0 && (pe = readdir(proc))) {
		DIR *fds;
		struct dirent *fe;

		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", pe->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
				 pe->d_name, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (strcmp(link, want) == 0) {
				found = (pid_t)strtol(pe->d_name, NULL, 10);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

struct find_ctx {
	const struct fl_endpoint *ep;
	uint32_t inode;
};

static void find_sock(void *ctx, const struct fl_sdiag_sock *s)
{
	struct find_ctx *c = ctx;

	if (c->inode || s->sport != c->ep->port || !s->inode)
		return;
	c->inode = s->inode;
}

/* The role of the process holding the socket at ep in one of states, and
 * its pid in *pid (or -1). */
static enum fl_role sock_role(struct fl_owner *o, const struct fl_endpoint *ep,
			      uint32_t states, pid_t *pid)
{
	struct find_ctx c = {.ep = ep};

	*pid = -1;
	if (fl_sdiag_dump(o->diag, states, find_sock, &c) < 0 || !c.inode)
		return FL_ROLE_NONE;
	*pid = pid_of_inode(c.inode);
	return *pid > 0 ? role_of(o, *pid) : FL_ROLE_NONE;
}

/* The role of the process holding flow f's client socket (in SYN_SENT
 * while its SYN is queued), found by an exact 4-tuple lookup. */
static enum fl_role client_role(struct fl_owner *o, const struct fl_flow *f,
				pid_t *pid)
{
	struct fl_sdiag_sock k;

	*pid = -1;
	if (fl_sdiag_find(o->diag, f->ep[0].family, f->ep[0].addr, f->ep[0].port,
			  f->ep[1].addr, f->ep[1].port, &k) <= 0 || !k.inode)
		return FL_ROLE_NONE;
	*pid = pid_of_inode(k.inode);
	return *pid > 0 ? role_of(o, *pid) : FL_ROLE_NONE;
}

/* Remembers who owns the target's side of flow id (no cost beyond the
 * lookups that found the side). */
static void note_flow_pid(struct fl_owner *o, uint32_t id, pid_t pid)
{
	if (id >= o->nflow_pid) {
		size_t n = o->nflow_pid ? o->nflow_pid : 64;
		pid_t *v;

		while (n <= id)
			n *= 2;
		v = realloc(o->flow_pid, n * sizeof(*v));
		if (!v)
			return;
		for (size_t i = o->nflow_pid; i < n; i++)
			v[i] = -1;
		o->flow_pid = v;
		o->nflow_pid = n;
	}
	o->flow_pid[id] = pid;
}

enum fl_side fl_owner_target_side(struct fl_owner *o, const struct fl_flow *f)
{
	uint16_t sport = f->ep[1].port;
	enum fl_role r;
	pid_t pid;

	if (!o->port_role[sport]) {
		r = sock_role(o, &f->ep[1], 1u << TCP_LISTEN_STATE, &pid);
		if (r != FL_ROLE_NONE) {
			o->port_role[sport] = (uint8_t)(r + 1);
			o->port_pid[sport] = pid;
		}
	}
	r = client_role(o, f, &pid);
	if (o->port_role[sport] == FL_ROLE_TARGET + 1) {
		note_flow_pid(o, f->id, o->port_pid[sport]);
		/* A proxy and its backend, or a client and a server in one
		 * target: both sockets are the target's. */
		return r == FL_ROLE_TARGET ? FL_SIDE_BOTH : FL_SIDE_SERVER;
	}
	if (r == FL_ROLE_TARGET) {
		note_flow_pid(o, f->id, pid);
		return FL_SIDE_CLIENT;
	}
	return FL_SIDE_ANY;
}

pid_t fl_owner_flow_pid(const struct fl_owner *o, uint32_t id)
{
	return id < o->nflow_pid ? o->flow_pid[id] : -1;
}

pid_t fl_owner_ns_pid(const struct fl_owner *o, enum fl_role role)
{
	return o->nsroot[role] > 0 ? o->nsroot[role] : -1;
}
