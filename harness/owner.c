/*
 * owner.c - socket owner resolution; see owner.h.
 *
 * This runs at a flow's first segment, while that segment's verdict (a
 * SYN's, so a connect()) waits, so it has to be cheap.  Listening sockets
 * are resolved once per port and cached: a server's connections cost one
 * lookup in all.  A client socket costs one exact sock_diag lookup (its
 * inode) and then a look at the fd tables of the target's, the
 * driver's and the peer's processes, which are the only owners that give
 * an answer other than "neither" (the peer's and the driver's listeners
 * are cached like the target's, so a client target's connections to
 * them cost one lookup each).  The processes are kept between lookups, each with
 * its /proc/PID/fd open, its role, and the fd where its last socket was
 * found: a program that connects again mostly gets that fd back (the
 * lowest free one, after a close) or the next one (its sockets still
 * open), so one or two readlinkat() calls find the new socket.  Only when
 * those guesses miss are the fd tables read in full (and the sandbox's
 * /proc for processes started since).
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

#define OPEN_MAX_KEPT 256 /* fd directories kept open (a forking server's
			     children beyond that are opened per scan) */

/* A process of the sandbox, as last seen. */
struct proc_ent {
	pid_t pid;         /* as the sandbox's /proc shows it */
	enum fl_role role; /* from its ancestry when first seen: a process
			      the target started stays the target's when
			      its parent exits before it */
	int fresh;         /* role to be worked out again (a root changed) */
	int dfd;           /* its /proc/PID/fd (kept open), or -1 */
	int hot;           /* fd where its last socket was found, -1 */
	unsigned listed;   /* scan generation that last listed it */
};

struct fl_owner {
	struct fl_sdiag *diag;
	int host_proc;
	struct proc_ent *procs;
	size_t nprocs, capprocs;
	size_t mru;        /* index of the process of the last hit */
	unsigned gen;
	size_t nopen;      /* procs[].dfd open */
	char dents[32768] __attribute__((aligned(8))); /* getdents64() of one
						  fd directory */
	pid_t root[4];    /* harness-view pid per role */
	pid_t nsroot[4];  /* the same in the sandbox's PID namespace */
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
	if (!o)
		return;
	for (size_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].dfd >= 0)
			close(o->procs[i].dfd);
	free(o->procs);
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
	/* A process seen before this root was known may be in its tree. */
	for (size_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].role == FL_ROLE_NONE)
			o->procs[i].fresh = 1;
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
		if (pid == o->nsroot[FL_ROLE_PEER])
			return FL_ROLE_PEER;
		pid = parent_of(pid);
	}
	return FL_ROLE_NONE;
}

/* The inode of the socket at fd of the process whose fd directory is
 * dfd, or 0 (not a socket, closed, or the process is gone). */
static uint32_t fd_inode(int dfd, long fd)
{
	char name[24], link[64];
	uint64_t v = 0;
	ssize_t n;
	size_t i;

	snprintf(name, sizeof(name), "%ld", fd);
	n = readlinkat(dfd, name, link, sizeof(link) - 1);
	if (n < 10 || memcmp(link, "socket:[", 8) != 0)
		return 0;
	for (i = 8; i < (size_t)n && isdigit((unsigned char)link[i]); i++)
		v = v * 10 + (uint64_t)(link[i] - '0');
	if (i == 8 || i >= (size_t)n || link[i] != ']' || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static struct proc_ent *proc_find(struct fl_owner *o, pid_t pid)
{
	for (size_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].pid == pid)
			return &o->procs[i];
	return NULL;
}

/* p's fd directory, opened (and kept, up to OPEN_MAX_KEPT) if it is not
 * yet; -1 when the process is gone. */
static int proc_dfd(struct fl_owner *o, struct proc_ent *p)
{
	char path[64];

	if (p->dfd >= 0)
		return p->dfd;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)p->pid);
	p->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dfd >= 0)
		o->nopen++;
	return p->dfd;
}

/* Closes p's fd directory if more than OPEN_MAX_KEPT are open. */
static void proc_unkeep(struct fl_owner *o, struct proc_ent *p)
{
	if (p->dfd >= 0 && o->nopen > OPEN_MAX_KEPT) {
		close(p->dfd);
		p->dfd = -1;
		o->nopen--;
	}
}

static void proc_drop(struct fl_owner *o, size_t i)
{
	if (o->procs[i].dfd >= 0) {
		close(o->procs[i].dfd);
		o->nopen--;
	}
	o->procs[i] = o->procs[--o->nprocs];
	if (o->mru >= o->nprocs)
		o->mru = 0;
}

/* Brings the process list up to date with the sandbox's /proc: new
 * processes are added with their role, those gone are dropped. */
static void procs_refresh(struct fl_owner *o)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;

	if (!proc)
		return;
	o->gen++;
	while ((pe = readdir(proc))) {
		struct proc_ent *p;
		char *end;
		long pid;

		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		pid = strtol(pe->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		p = proc_find(o, (pid_t)pid);
		if (!p) {
			if (o->nprocs == o->capprocs) {
				size_t cap = o->capprocs ? o->capprocs * 2 : 16;
				struct proc_ent *v = realloc(o->procs,
							     cap * sizeof(*v));

				if (!v)
					break;
				o->procs = v;
				o->capprocs = cap;
			}
			p = &o->procs[o->nprocs++];
			memset(p, 0, sizeof(*p));
			p->pid = (pid_t)pid;
			p->dfd = -1;
			p->hot = -1;
			p->fresh = 1;
		}
		if (p->fresh) {
			p->role = role_of(o, p->pid);
			p->fresh = 0;
		}
		p->listed = o->gen;
	}
	closedir(proc);
	for (size_t i = o->nprocs; i-- > 0;)
		if (o->procs[i].listed != o->gen)
			proc_drop(o, i);
}

/* Whether process p holds inode at one of the fds it most likely got:
 * the one its last socket had, or the next. */
static int proc_guess(struct proc_ent *p, uint32_t inode)
{
	if (p->dfd < 0 || p->hot < 0 || p->role == FL_ROLE_NONE)
		return 0;
	for (int fd = p->hot; fd <= p->hot + 1; fd++) {
		if (fd_inode(p->dfd, fd) == inode) {
			p->hot = fd;
			return 1;
		}
	}
	return 0;
}

/* Whether process p holds inode, from its whole fd table: 1, or 0 (also
 * when the process is gone). */
static int proc_scan(struct fl_owner *o, struct proc_ent *p, uint32_t inode)
{
	int dfd = proc_dfd(o, p), found = 0;
	long n;

	if (dfd < 0 || lseek(dfd, 0, SEEK_SET) < 0)
		return 0;
	while (!found && (n = getdents64(dfd, o->dents, sizeof(o->dents))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(o->dents + off);
			char *end;
			long fd = strtol(d->d_name, &end, 10);

			off += d->d_reclen;
			if (!isdigit((unsigned char)d->d_name[0]) || *end ||
			    fd > INT32_MAX)
				continue;
			if (fd_inode(dfd, fd) == inode) {
				p->hot = (int)fd;
				found = 1;
				break;
			}
		}
	}
	proc_unkeep(o, p);
	return found;
}

/*
 * The process of the target's, the driver's or the peer's tree holding
 * socket inode:
 * its pid and role, or -1 and FL_ROLE_NONE (no such process: nobody, or a
 * process of neither tree, which tells the same).
 */
static enum fl_role owner_of_inode(struct fl_owner *o, uint32_t inode,
				   pid_t *pid)
{
	size_t i;

	*pid = -1;
	/* The guesses: the process of the last hit first. */
	if (o->mru < o->nprocs && proc_guess(&o->procs[o->mru], inode))
		goto found_mru;
	for (i = 0; i < o->nprocs; i++) {
		if (i != o->mru && proc_guess(&o->procs[i], inode)) {
			o->mru = i;
			goto found_mru;
		}
	}
	/* Every fd of every process of the two trees. */
	procs_refresh(o);
	for (i = 0; i < o->nprocs; i++) {
		struct proc_ent *p = &o->procs[i];
		int r;

		if (p->role == FL_ROLE_NONE)
			continue;
		r = proc_scan(o, p, inode);
		if (r > 0) {
			o->mru = i;
			goto found_mru;
		}
	}
	return FL_ROLE_NONE;
found_mru:
	*pid = o->procs[o->mru].pid;
	return o->procs[o->mru].role;
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
	return owner_of_inode(o, c.inode, pid);
}

/* The role of the process holding the listener that flow f's SYN goes to,
 * and its pid: the exact lookup of f's 4-tuple finds the listener while
 * the SYN waits in the queue (no connection exists yet, and the kernel's
 * lookup falls back on the listening socket).  Anything else found (a
 * flow joined mid-stream) is left to the dump. */
static enum fl_role listener_role(struct fl_owner *o, const struct fl_flow *f,
				  pid_t *pid)
{
	struct fl_sdiag_sock k;

	*pid = -1;
	if (fl_sdiag_find(o->diag, f->ep[1].family, f->ep[1].addr,
			  f->ep[1].port, f->ep[0].addr, f->ep[0].port, &k) > 0 &&
	    k.state == FL_TCP_LISTEN && k.inode && k.sport == f->ep[1].port)
		return owner_of_inode(o, k.inode, pid);
	return sock_role(o, &f->ep[1], 1u << FL_TCP_LISTEN, pid);
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
	return owner_of_inode(o, k.inode, pid);
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
		r = listener_role(o, f, &pid);
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
