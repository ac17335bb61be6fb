/*
 * cover.c - whether a flow's socket calls were observed; see cover.h.
 *
 * Cost: learning is incremental (each hello, call and flow is looked at
 * once).  A look at a process is one readdir of /proc/PID/fd and a
 * readlink per descriptor until the shim's inode turns up, plus one read
 * of /proc/PID/stat (and of /proc/PID/exe) only when it does not.  Only
 * processes that own a flow's socket and said hello are looked at: when
 * they first own one, every FL_COVER_PERIOD_NS while they live, and once
 * before the target is stopped.  Nothing here runs on a packet's path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "cover.h"

#define PF_EXITING_FLAG 0x00000004u /* include/linux/sched.h */

enum proc_state {
	P_LIVE,   /* watched (or not yet a flow's owner) */
	P_EXITED, /* gone, or exiting, with its channel seen to the end */
	P_LOST,   /* its channel closed behind the shim's back */
	P_EXECD,  /* it exec'd a program without the shim */
};

struct proc {
	int pid;
	int hello;            /* some image of this pid said hello */
	uint64_t ino;         /* the channel's inode it named last, 0 unknown */
	int ino_fd;           /* the fd it was found at last, -1 unknown */
	char hello_exe[164];  /* the program that said hello (not REOPEN) */
	uint64_t seen_ns;     /* last time the channel was known open */
	int owner;            /* owns a flow's socket: watched */
	enum proc_state state;
	int suspect;          /* the last look missed the inode */
	int exe_changed;      /* ... and the program was another one */
	char exe_now[64];     /* that program's name */
	char comm[16];        /* when it first owned a flow */
};

struct frec {
	int known;
	int side_dir;    /* the target's side: FL_DIR_*, or -1 */
	int proc_pid;    /* its owner from /proc, -1 none */
	int call_pid[2]; /* the first accept/connect per side, 0 none */
};

struct fl_cover_db {
	struct proc *pv;
	size_t np, capp;
	struct frec *fv; /* index flow id */
	size_t nf;
	size_t hellos_seen, calls_seen;
	uint32_t flows_seen;
	uint64_t next_look_ns;
	int final_done, finished;
};

int fl_cover_new(struct fl_cover_db **out)
{
	struct fl_cover_db *db = calloc(1, sizeof(*db));

	if (!db)
		return -ENOMEM;
	*out = db;
	return 0;
}

void fl_cover_free(struct fl_cover_db *db)
{
	if (!db)
		return;
	free(db->pv);
	free(db->fv);
	free(db);
}

/* A linear search: a sandbox holds few processes that own flows. */
static struct proc *proc_find(const struct fl_cover_db *db, int pid)
{
	for (size_t i = 0; i < db->np; i++)
		if (db->pv[i].pid == pid)
			return &db->pv[i];
	return NULL;
}

static struct proc *proc_get(struct fl_cover_db *db, int pid)
{
	struct proc *p = proc_find(db, pid);

	if (p)
		return p;
	if (db->np == db->capp) {
		size_t cap = db->capp ? db->capp * 2 : 16;
		struct proc *v = realloc(db->pv, cap * sizeof(*v));

		if (!v)
			return NULL;
		db->pv = v;
		db->capp = cap;
	}
	p = &db->pv[db->np++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ino_fd = -1;
	return p;
}

static struct frec *frec_get(struct fl_cover_db *db, uint32_t id)
{
	if (id >= db->nf) {
		size_t n = db->nf ? db->nf : 64;
		struct frec *v;

		while (n <= id)
			n *= 2;
		v = realloc(db->fv, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + db->nf, 0, (n - db->nf) * sizeof(*v));
		db->fv = v;
		db->nf = n;
	}
	return &db->fv[id];
}

static void read_comm(int pid, char *buf, size_t n)
{
	char path[64];
	ssize_t len;
	int fd;

	snprintf(buf, n, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, buf, n - 1);
	close(fd);
	if (len <= 0) {
		snprintf(buf, n, "?");
		return;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* 1: inode ino is among pid's descriptors; 0: it is not; -ESRCH: no such
 * process; other -errno: cannot tell. */
/* Whether pid has the socket ino open: at *fd first (where it was last
 * time: one readlink, however many sockets the process has), else by a
 * walk of its fds, which sets *fd. */
static int has_inode(int pid, uint64_t ino, int *fd)
{
	char path[64], want[48], link[64];
	struct dirent *e;
	DIR *d;
	ssize_t n;
	int ret = 0;

	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)ino);
	if (*fd >= 0) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, *fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			if (strcmp(link, want) == 0)
				return 1;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, want) == 0) {
			*fd = atoi(e->d_name);
			ret = 1;
			break;
		}
	}
	closedir(d);
	return ret;
}

/* The process is gone, a zombie, or on its way out (PF_EXITING is set
 * before the kernel closes an exiting process's files, so reading this
 * after a look that missed the inode tells an exit from a loss). */
static int exiting(int pid)
{
	char path[64], buf[512];
	unsigned flags;
	char state;
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	/* "pid (comm) S ppid pgrp session tty tpgid flags ..." */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		return 0;
	return state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG);
}

static void read_exe(int pid, char *buf, size_t n)
{
	char path[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, buf, n - 1);
	buf[len > 0 ? len : 0] = 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void confirm_loss(struct proc *p)
{
	p->state = p->exe_changed ? P_EXECD : P_LOST;
	p->suspect = 0;
}

static void look(struct proc *p, uint64_t now_ns)
{
	char exe[4096];
	size_t len;
	int r;

	if (!p->owner || !p->hello || !p->ino || p->state != P_LIVE)
		return;
	r = has_inode(p->pid, p->ino, &p->ino_fd);
	if (r == 1) {
		p->seen_ns = now_ns;
		p->suspect = 0;
		return;
	}
	if (r < 0 && r != -ESRCH)
		return; /* cannot tell: leave it as it was */
	if (r == -ESRCH || exiting(p->pid)) {
		/* An exit closes the channel; a miss while it was alive
		 * before that is still a loss. */
		if (p->suspect)
			confirm_loss(p);
		else
			p->state = P_EXITED;
		return;
	}
	if (p->suspect) {
		confirm_loss(p);
		return;
	}
	/* Maybe a hello naming a new channel is still on its way: confirm
	 * at the next look, or at the end. */
	p->suspect = 1;
	read_exe(p->pid, exe, sizeof(exe));
	p->exe_changed = exe[0] && p->hello_exe[0] && strcmp(exe, p->hello_exe);
	/* The name only, truncated: it is for the explanation. */
	len = strnlen(base_name(exe), sizeof(p->exe_now) - 1);
	memcpy(p->exe_now, base_name(exe), len);
	p->exe_now[len] = 0;
}

/* pid owns a flow's socket from now on; looked at at once. */
static void become_owner(struct fl_cover_db *db, int pid, uint64_t now_ns,
			 int look_now)
{
	struct proc *p = proc_get(db, pid);

	if (!p || p->owner)
		return;
	p->owner = 1;
	read_comm(pid, p->comm, sizeof(p->comm));
	if (look_now)
		look(p, now_ns);
}

static void learn(struct fl_cover_db *db, const struct fl_calls *calls,
		  const struct fl_owner *owner, const struct fl_flow_table *flows,
		  uint64_t now_ns, int may_look)
{
	const struct fl_hello *hv;
	const struct fl_call *cv;
	size_t nh = 0, nc = 0;

	hv = calls ? fl_calls_hellos(calls, &nh) : NULL;
	for (; db->hellos_seen < nh; db->hellos_seen++) {
		const struct fl_hello *h = &hv[db->hellos_seen];
		struct proc *p = proc_get(db, h->pid);

		if (!p)
			continue;
		if (p->state == P_EXITED) {
			/* The pid was reused. */
			p->state = P_LIVE;
			p->owner = 0;
		}
		if (p->state != P_LIVE)
			continue; /* what it missed stays missed */
		p->hello = 1;
		if (p->ino != h->chan_ino)
			p->ino_fd = -1;
		p->ino = h->chan_ino;
		p->suspect = 0;
		if (h->t_ns > p->seen_ns)
			p->seen_ns = h->t_ns;
		if (h->why != FL_HELLO_REOPEN)
			memcpy(p->hello_exe, h->exe, sizeof(p->hello_exe));
	}
	cv = calls ? fl_calls_get(calls, &nc) : NULL;
	for (; db->calls_seen < nc; db->calls_seen++) {
		const struct fl_call *k = &cv[db->calls_seen];
		struct frec *fr;
		struct proc *p;

		if (!k->flow || k->dir < 0 || k->dir > 1 ||
		    !(((k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4) &&
		       k->ret >= 0) || k->fn == FL_FN_CONNECT))
			continue;
		fr = frec_get(db, k->flow);
		if (!fr || fr->call_pid[k->dir])
			continue;
		fr->call_pid[k->dir] = k->pid;
		/* It sent an event, so it has the shim even if its hello
		 * was lost (then there is no inode to watch). */
		p = proc_get(db, k->pid);
		if (p && !p->hello && p->state == P_LIVE) {
			p->hello = 1;
			p->seen_ns = k->t_ns;
		}
		become_owner(db, k->pid, now_ns, may_look);
	}
	for (uint32_t id = db->flows_seen + 1;
	     flows && id <= fl_flow_count(flows); id++) {
		const struct fl_flow *f = fl_flow_get(flows, id);
		struct frec *fr = frec_get(db, id);

		if (!fr)
			break;
		db->flows_seen = id;
		fr->known = 1;
		/* Both ends the target's: the accepting side is watched. */
		fr->side_dir = f->target_side == FL_SIDE_SERVER ||
			       f->target_side == FL_SIDE_BOTH ? FL_DIR_S2C
			       : f->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S
								   : -1;
		fr->proc_pid = owner ? fl_owner_flow_pid(owner, id) : -1;
		if (fr->side_dir >= 0 && fr->proc_pid > 0)
			become_owner(db, fr->proc_pid, now_ns, may_look);
	}
}

static void look_all(struct fl_cover_db *db, uint64_t now_ns)
{
	for (size_t i = 0; i < db->np; i++)
		look(&db->pv[i], now_ns);
	db->next_look_ns = now_ns + FL_COVER_PERIOD_NS;
}

void fl_cover_poll(struct fl_cover_db *db, const struct fl_calls *calls,
		   const struct fl_owner *owner,
		   const struct fl_flow_table *flows, uint64_t now_ns)
{
	if (!db || db->finished)
		return;
	learn(db, calls, owner, flows, now_ns, !db->final_done);
	if (!db->final_done && now_ns >= db->next_look_ns)
		look_all(db, now_ns);
}

void fl_cover_final(struct fl_cover_db *db, const struct fl_calls *calls,
		    const struct fl_owner *owner,
		    const struct fl_flow_table *flows, uint64_t now_ns)
{
	if (!db || db->final_done || db->finished)
		return;
	learn(db, calls, owner, flows, now_ns, 1);
	look_all(db, now_ns);
	db->final_done = 1;
}

void fl_cover_finish(struct fl_cover_db *db, const struct fl_calls *calls,
		     const struct fl_owner *owner,
		     const struct fl_flow_table *flows)
{
	if (!db || db->finished)
		return;
	/* Owners first seen now are not looked at: their processes may be
	 * gone. */
	learn(db, calls, owner, flows, 0, 0);
	for (size_t i = 0; i < db->np; i++)
		if (db->pv[i].suspect)
			confirm_loss(&db->pv[i]);
	db->finished = 1;
}

static int owner_of(const struct fl_cover_db *db, uint32_t id, int dir)
{
	const struct frec *fr;

	if (!db || id >= db->nf || dir < 0 || dir > 1)
		return -1;
	fr = &db->fv[id];
	if (fr->call_pid[dir] > 0)
		return fr->call_pid[dir];
	if (fr->known && fr->side_dir == dir && fr->proc_pid > 0)
		return fr->proc_pid;
	return -1;
}

enum fl_cover fl_cover_flow(const struct fl_cover_db *db, uint32_t flow_id,
			    int dir, int *pid, uint64_t *lost_ns)
{
	int o = owner_of(db, flow_id, dir);
	const struct proc *p;

	if (pid)
		*pid = o;
	if (lost_ns)
		*lost_ns = 0;
	if (o <= 0)
		return FL_COVER_UNKNOWN;
	p = proc_find(db, o);
	if (!p || !p->hello)
		return FL_COVER_NO_SHIM;
	switch (p->state) {
	case P_LIVE:
	case P_EXITED:
		/* Before fl_cover_finish() a miss is not yet confirmed. */
		if (!p->suspect)
			return FL_COVER_YES;
		if (p->exe_changed)
			return FL_COVER_NO_SHIM;
		break;
	case P_EXECD:
		return FL_COVER_NO_SHIM;
	case P_LOST:
		break;
	}
	if (lost_ns)
		*lost_ns = p->seen_ns;
	return FL_COVER_LOST;
}

enum fl_cover fl_cover_target(const struct fl_cover_db *db,
			      const struct fl_flow *f, int *pid,
			      uint64_t *lost_ns)
{
	int dir = f->target_side == FL_SIDE_SERVER ||
		  f->target_side == FL_SIDE_BOTH     ? FL_DIR_S2C
		  : f->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S
						     : -1;

	if (dir < 0) {
		if (pid)
			*pid = -1;
		if (lost_ns)
			*lost_ns = 0;
		return FL_COVER_UNKNOWN;
	}
	return fl_cover_flow(db, f->id, dir, pid, lost_ns);
}

const char *fl_cover_name(enum fl_cover c)
{
	switch (c) {
	case FL_COVER_YES: return "yes";
	case FL_COVER_NO_SHIM: return "no-shim";
	case FL_COVER_LOST: return "lost";
	case FL_COVER_UNKNOWN: return "unknown";
	}
	return "?";
}

int fl_cover_explain(const struct fl_cover_db *db, uint32_t flow_id, int dir,
		     char *buf, size_t n)
{
	uint64_t lost = 0;
	int pid = -1;
	enum fl_cover c = fl_cover_flow(db, flow_id, dir, &pid, &lost);
	const struct proc *p = pid > 0 ? proc_find(db, pid) : NULL;
	const char *comm = p && p->comm[0] ? p->comm : "?";
	const char *side = dir == FL_DIR_C2S ? "client" : "server";

	switch (c) {
	case FL_COVER_YES:
		return snprintf(buf, n, "flow %u: pid %d (%s) reported its calls",
				flow_id, pid, comm);
	case FL_COVER_NO_SHIM:
		if (p && p->hello)
			return snprintf(buf, n,
					"flow %u: pid %d (%s) never loaded the "
					"shim (it said hello as %s, then exec'd "
					"%s without it)",
					flow_id, pid, comm,
					base_name(p->hello_exe), p->exe_now);
		return snprintf(buf, n, "flow %u: pid %d (%s) never loaded the shim",
				flow_id, pid, comm);
	case FL_COVER_LOST:
		return snprintf(buf, n,
				"flow %u: pid %d (%s) lost the shim's channel "
				"after %.3fs (closed behind the shim's back, "
				"e.g. by a raw close_range system call): its "
				"calls since are not known",
				flow_id, pid, comm, (double)lost / 1e9);
	case FL_COVER_UNKNOWN:
		return snprintf(buf, n,
				"flow %u: no process found that owns the %s's socket",
				flow_id, side);
	}
	return snprintf(buf, n, "flow %u: ?", flow_id);
}
