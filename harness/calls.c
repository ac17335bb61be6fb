/*
 * calls.c - receiving the shim's events; see calls.h.  Single-threaded.
 *
 * The channel is untrusted: any process of the target can write to it.  So
 * a datagram is only decoded when it is exactly one event of this version
 * (copied into an aligned struct), the sender's pid is the kernel's
 * (SCM_CREDENTIALS, mapped to the sandbox's pid from /proc's NSpid) and not
 * the event's, and what is kept per event is bounded (FL_CALLS_KEEP calls,
 * FL_CALLS_KEEP_PROCS processes and hellos); the rest is counted, never
 * silently dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "event.h"
#include "calls.h"
#include "clock.h"
#include "trace.h"
#include "utf8.h"

struct proc_loss {
	int pid;
	uint64_t dropped; /* the highest count this process reported */
};

/* The last call on one (pid, fd), for the links in struct fl_call. */
struct fd_last {
	int pid, fd;
	uint32_t id;     /* index + 1, 0: empty slot */
	int via_ret;     /* that call is an accept that returned fd */
};

/* Bounds on what a target's events can make the harness keep. */
#define FL_CALLS_KEEP (1u << 20)
#define FL_CALLS_KEEP_PROCS (1u << 16)
#define FL_PIDMAP_SIZE (1u << 16) /* a power of two; cleared when half full */

/* The kernel's pid of a sender (the harness's namespace) and the same
 * process's pid in the sandbox. */
struct pid_entry {
	int host, ns;
};

struct fl_calls {
	int fd;
	int host_proc;        /* /proc of the harness's pid namespace, or -1 */
	struct pid_entry *pidmap;
	size_t pidmap_used;
	uint64_t forged;      /* events whose pid was not their sender's */
	uint64_t unverified;  /* events whose sender the kernel did not name */
	uint64_t over;        /* events past FL_CALLS_KEEP(_PROCS), not kept */
	struct fl_call *v;
	size_t n, cap;
	struct fd_last *last; /* open addressing, nlast a power of two */
	size_t nlast, used;
	int unlinked;         /* out of memory once: the links are not whole */
	uint64_t count[FL_FN_COUNT];
	struct proc_loss *procs;
	size_t nprocs, capprocs;
	size_t hellos;
	struct fl_hello *hv;
	size_t nhv, caphv;
	uint64_t malformed;
	struct fl_denial *dv;
	size_t ndv, capdv;
	int (*role)(void *ctx, int pid);
	void *role_ctx;
};

int fl_calls_new(struct fl_calls **out, char *name, size_t namelen,
		 char *err, size_t errlen)
{
	struct fl_calls *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint32_t rnd = 0;
	int bufsz = 8 << 20;
	socklen_t len;
	int ret;

	if (!c)
		return -ENOMEM;
	c->host_proc = -1;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)fl_clock_ns();
	snprintf(name, namelen, "faultline-%d-%08x", getpid(), rnd);
	c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		goto fail;
	/* A deep buffer: the shim waits at most ~2 ms for room, then counts
	 * the event as lost. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	/* The kernel names every sender (SCM_CREDENTIALS): the pid of an
	 * event is the sender's, whatever its body says. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0)
		goto fail;
	memcpy(sun.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	if (bind(c->fd, (struct sockaddr *)&sun, len) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot open the shim's event socket: %s",
		 strerror(errno));
	fl_calls_free(c);
	return ret;
}

void fl_calls_free(struct fl_calls *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->v);
	free(c->last);
	free(c->procs);
	free(c->hv);
	free(c->pidmap);
	free(c->dv);
	free(c);
}

void fl_calls_set_proc(struct fl_calls *c, int host_proc)
{
	c->host_proc = host_proc;
}

int fl_calls_fd(const struct fl_calls *c)
{
	return c->fd;
}

static int to_endpoint(const union fl_ev_sockaddr *sa, struct fl_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->family == AF_INET) {
		ep->family = AF_INET;
		memcpy(ep->addr, &sa->in.sin_addr, 4);
		ep->port = ntohs(sa->in.sin_port);
		return 0;
	}
	if (sa->family == AF_INET6) {
		ep->family = AF_INET6;
		memcpy(ep->addr, &sa->in6.sin6_addr, 16);
		ep->port = ntohs(sa->in6.sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static void note_loss(struct fl_calls *c, int pid, uint64_t dropped)
{
	for (size_t i = 0; i < c->nprocs; i++) {
		if (c->procs[i].pid == pid) {
			if (dropped > c->procs[i].dropped)
				c->procs[i].dropped = dropped;
			return;
		}
	}
	if (c->nprocs == FL_CALLS_KEEP_PROCS) {
		c->over++;
		return;
	}
	if (c->nprocs == c->capprocs) {
		size_t cap = c->capprocs ? c->capprocs * 2 : 16;
		struct proc_loss *p = realloc(c->procs, cap * sizeof(*p));

		if (!p)
			return;
		c->procs = p;
		c->capprocs = cap;
	}
	c->procs[c->nprocs].pid = pid;
	c->procs[c->nprocs++].dropped = dropped;
}

static void note_hello(struct fl_calls *c, const struct fl_ev *ev)
{
	struct fl_hello *h;

	if (c->nhv == FL_CALLS_KEEP_PROCS) {
		c->over++;
		return;
	}
	if (c->nhv == c->caphv) {
		size_t cap = c->caphv ? c->caphv * 2 : 16;
		struct fl_hello *v = realloc(c->hv, cap * sizeof(*v));

		if (!v)
			return;
		c->hv = v;
		c->caphv = cap;
	}
	h = &c->hv[c->nhv++];
	h->t_ns = fl_clock_rel_ns(ev->t_ns);
	h->pid = ev->pid;
	h->ppid = ev->u.hello.ppid;
	h->why = ev->u.hello.why;
	h->chan_ino = ev->u.hello.chan_ino;
	memcpy(h->exe, ev->u.hello.exe, sizeof(h->exe));
	h->exe[sizeof(h->exe) - 1] = 0;
}

const char *fl_call_opt_name(int level, int opt)
{
	if (level == SOL_SOCKET) {
		switch (opt) {
		case SO_LINGER: return "SO_LINGER";
		case SO_KEEPALIVE: return "SO_KEEPALIVE";
		case SO_RCVTIMEO: return "SO_RCVTIMEO";
		case SO_SNDTIMEO: return "SO_SNDTIMEO";
		case SO_REUSEADDR: return "SO_REUSEADDR";
		case SO_REUSEPORT: return "SO_REUSEPORT";
		case SO_RCVBUF: return "SO_RCVBUF";
		case SO_SNDBUF: return "SO_SNDBUF";
		}
	} else if (level == IPPROTO_TCP) {
		switch (opt) {
		case TCP_NODELAY: return "TCP_NODELAY";
		case TCP_KEEPIDLE: return "TCP_KEEPIDLE";
		case TCP_KEEPINTVL: return "TCP_KEEPINTVL";
		case TCP_KEEPCNT: return "TCP_KEEPCNT";
		case TCP_USER_TIMEOUT: return "TCP_USER_TIMEOUT";
		}
	}
	return NULL;
}

static void trace_call(struct fl_trace *t, const struct fl_call *k)
{
	char buf[1024];
	const char *st = fl_ev_tcp_state_name(k->state);
	const char *en = k->err ? strerrorname_np(k->err) : NULL;
	int n;

	n = snprintf(buf, sizeof(buf),
		     "\"pid\":%d,\"tid\":%d,\"fd\":%d,\"fn\":\"%s\",\"ret\":%lld,",
		     k->pid, k->tid, k->fd, fl_ev_fn_name(k->fn),
		     (long long)k->ret);
	if (en)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"errno\":\"%s\",", en);
	else if (k->err)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"errno\":%d,", k->err);
	else
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"errno\":null,");
	if (k->flow)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"flow\":%u,", k->flow);
	else
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"flow\":null,");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"state\":%s%s%s",
		      st ? "\"" : "", st ? st : "null", st ? "\"" : "");
	if (k->local[0])
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      ",\"local\":\"%s\",\"peer\":%s%s%s", k->local,
			      k->peer[0] ? "\"" : "", k->peer[0] ? k->peer : "null",
			      k->peer[0] ? "\"" : "");
	if (k->flags & (FL_EVF_UNREAD | FL_EVF_UNSENT))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      ",\"unread\":%u,\"unsent\":%u", k->unread, k->unsent);
	if (k->flags & FL_EVF_IMPLICIT_CLOSE)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"implicit_close\":true");
	if (k->fn == FL_FN_CLOSE)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"dur\":%.6f",
			      (double)k->dur_ns / 1e9);
	if (k->newfd >= 0 && (k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4 ||
			      k->fn == FL_FN_DUP || k->fn == FL_FN_DUP2 ||
			      k->fn == FL_FN_DUP3 || k->fn == FL_FN_FCNTL))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"newfd\":%d", k->newfd);
	if (k->fn == FL_FN_WAIT) {
		const char *sn = sigabbrev_np(k->arg);

		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      ",\"child\":%lld,\"signal\":\"SIG%s\"",
			      (long long)k->ret, sn ? sn : "?");
	}
	if (k->fn == FL_FN_SETSOCKOPT) {
		const char *on = fl_call_opt_name(k->level, k->optname);

		if (on)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"opt\":\"%s\"", on);
		else
			n += snprintf(buf + n, sizeof(buf) - (size_t)n,
				      ",\"opt\":\"%d:%d\"", k->level, k->optname);
		if (k->level == SOL_SOCKET && k->optname == SO_LINGER)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n,
				      ",\"val\":{\"onoff\":%d,\"linger\":%d}",
				      k->linger_onoff, k->linger_secs);
		else
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"val\":%lld",
				      (long long)k->val);
	}
	fl_trace_raw(t, k->t_ns, "call", buf);
}

/* The flow of an fd from its earlier calls, for a call made once its socket
 * has no peer any more (after a reset getpeername fails); the addresses
 * come from there too.  Looks back a bounded number of calls, and not past
 * a close of that fd. */
static uint32_t earlier_flow(const struct fl_calls *c, struct fl_call *k,
			    int *dir)
{
	size_t stop = c->n > 1024 ? c->n - 1024 : 0;

	for (size_t i = c->n - 1; i-- > stop;) {
		const struct fl_call *x = &c->v[i];
		int accepted = (x->fn == FL_FN_ACCEPT || x->fn == FL_FN_ACCEPT4) &&
			       x->ret == k->fd;

		if (x->pid != k->pid || (x->fd != k->fd && !accepted))
			continue;
		if (!accepted && x->fn == FL_FN_CLOSE)
			return 0;
		if (x->flow && (accepted || (x->fn != FL_FN_ACCEPT &&
					     x->fn != FL_FN_ACCEPT4))) {
			*dir = x->dir;
			/* The peer's address, which getpeername no longer
			 * gives, for the reports. */
			if (!k->peer[0] && x->peer[0]) {
				memcpy(k->local, x->local, sizeof(k->local));
				memcpy(k->peer, x->peer, sizeof(k->peer));
			}
			return x->flow;
		}
	}
	return 0;
}

static struct fd_last *last_slot(struct fd_last *t, size_t n, int pid, int fd)
{
	size_t i = ((uint32_t)pid * 2654435761u ^ (uint32_t)fd * 40503u) & (n - 1);

	while (t[i].id && (t[i].pid != pid || t[i].fd != fd))
		i = (i + 1) & (n - 1);
	return &t[i];
}

/* Makes call id the last one on (pid, fd), linking it after the one
 * before.  Out of memory: the links stay 0 (readers then scan). */
static void link_call(struct fl_calls *c, int pid, int fd, uint32_t id,
		      int via_ret)
{
	struct fd_last *e;

	if (fd < 0)
		return;
	if (2 * (c->used + 1) > c->nlast) {
		size_t n = c->nlast ? c->nlast * 2 : 1024;
		struct fd_last *t = calloc(n, sizeof(*t));

		if (!t) {
			c->unlinked = 1;
			return;
		}
		for (size_t i = 0; i < c->nlast; i++)
			if (c->last[i].id)
				*last_slot(t, n, c->last[i].pid,
					   c->last[i].fd) = c->last[i];
		free(c->last);
		c->last = t;
		c->nlast = n;
	}
	e = last_slot(c->last, c->nlast, pid, fd);
	if (!e->id) {
		c->used++;
	} else if (e->via_ret && !via_ret) {
		c->v[e->id - 1].next_ret = id; /* the new socket's first call */
	} else if (!via_ret) {
		c->v[e->id - 1].next_fd = id;
		c->v[id - 1].prev_fd = e->id;
	} /* else: an accept returned fd, a new socket: a new chain */
	*e = (struct fd_last){.pid = pid, .fd = fd, .id = id,
			      .via_ret = via_ret};
}

/* s as a JSON string (quotes included) into out[0..n): the bytes outside
 * valid UTF-8 as \udcXX (utf8.h); cut at a whole escape when it does not
 * fit.  Returns 0, or -ENOSPC when not even "" fits. */
static int json_str(char *out, size_t n, const char *s)
{
	size_t at = 0;

	if (n < 3)
		return -ENOSPC;
	out[at++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		char piece[8];
		size_t k = *p >= 0x80 ? fl_utf8_seq(p, strnlen((const char *)p, 4)) : 1;
		size_t len;

		if (*p == '"' || *p == '\\')
			len = (size_t)snprintf(piece, sizeof(piece), "\\%c", *p);
		else if (*p < 0x20)
			len = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", *p);
		else if (k == 0)
			len = (size_t)snprintf(piece, sizeof(piece), "\\udc%02x", *p);
		else
			len = (size_t)snprintf(piece, sizeof(piece), "%.*s", (int)k, p);
		if (at + len + 2 > n)
			break;
		memcpy(out + at, piece, len);
		at += len;
		p += k ? k : 1;
	}
	out[at++] = '"';
	out[at] = 0;
	return 0;
}

/* The refused operation's arguments as its caller wrote them. */
static void denial_trace(struct fl_trace *t, const struct fl_denial *d,
			 int tid)
{
	char buf[1024], path[600];
	const char *en = strerrorname_np(d->err);
	int n;

	n = snprintf(buf, sizeof(buf), "\"pid\":%d,\"tid\":%d,\"fd\":%d,"
		     "\"fn\":\"%s\",\"ret\":-1,", d->pid, tid, d->fd,
		     fl_ev_fn_name(d->fn));
	if (en)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"errno\":\"%s\",", en);
	else
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\"errno\":%d,", d->err);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		      "\"flow\":null,\"state\":null,\"ids\":[");
	for (unsigned i = 0; i < d->nids; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%d", i ? "," : "",
			      (int)d->ids[i]);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		      "],\"euid\":%u,\"egid\":%u,\"cap_eff\":\"%llx\"", d->euid,
		      d->egid, (unsigned long long)d->cap_eff);
	if (d->fn == FL_FN_BIND)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      ",\"port\":%d,\"unprivileged_port_start\":%d",
			      d->port, d->unpriv_port_start);
	if (d->path[0] && json_str(path, sizeof(path), d->path) >= 0)
		snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"path\":%s", path);
	fl_trace_raw(t, d->t_ns, "call", buf);
}

/* A refusal (u.priv): counted with the same refusals of its process. */
static void on_denial(struct fl_calls *c, const struct fl_ev *ev,
		      struct fl_trace *trace)
{
	const struct fl_ev_priv *p = &ev->u.priv;
	struct fl_denial d = {0};

	d.t_ns = fl_clock_rel_ns(ev->t_ns);
	d.count = 1;
	d.role = c->role ? c->role(c->role_ctx, ev->pid) : FL_DENIAL_UNKNOWN;
	/* Gone before its event was read (a setpriv whose setresgid failed
	 * exits at once), its ancestry with it: its parent's role, the
	 * parent as its latest hello said, if that one is still known.  A
	 * process could lie about its parent, but only to be named after
	 * another of the run's processes. */
	for (size_t i = c->nhv; c->role && d.role == FL_DENIAL_UNKNOWN && i-- > 0;)
		if (c->hv[i].pid == ev->pid) {
			if (c->hv[i].ppid > 0 && c->hv[i].ppid != ev->pid)
				d.role = c->role(c->role_ctx, c->hv[i].ppid);
			break;
		}
	d.pid = ev->pid;
	d.fd = ev->fd;
	d.fn = ev->fn;
	d.err = ev->err;
	d.nids = p->nids < 3 ? p->nids : 3;
	memcpy(d.ids, p->ids, d.nids * sizeof(d.ids[0]));
	d.euid = p->euid;
	d.egid = p->egid;
	d.cap_eff = p->cap_eff;
	d.family = p->family;
	d.port = p->port;
	d.unpriv_port_start = p->unpriv_port_start;
	d.flags = p->flags;
	memcpy(d.path, p->path, sizeof(d.path));
	d.path[sizeof(d.path) - 1] = 0;
	for (size_t i = 0; i < c->ndv; i++) {
		struct fl_denial *x = &c->dv[i];

		if (x->pid == d.pid && x->fn == d.fn && x->err == d.err &&
		    x->nids == d.nids && !memcmp(x->ids, d.ids, sizeof(d.ids)) &&
		    x->port == d.port && !strcmp(x->path, d.path)) {
			x->count++;
			return;
		}
	}
	if (c->ndv == FL_CALLS_KEEP_DENIALS) {
		c->over++;
		return;
	}
	if (c->ndv == c->capdv) {
		size_t cap = c->capdv ? c->capdv * 2 : 8;
		struct fl_denial *v = realloc(c->dv, cap * sizeof(*v));

		if (!v)
			return;
		c->dv = v;
		c->capdv = cap;
	}
	c->dv[c->ndv++] = d;
	denial_trace(trace, &d, ev->tid);
}

static void on_event(struct fl_calls *c, const struct fl_ev *ev,
		     const struct fl_flow_table *flows, struct fl_trace *trace)
{
	struct fl_call *k;
	struct fl_endpoint l, p;
	struct fl_flow *f;

	if (ev->dropped)
		note_loss(c, ev->pid, ev->dropped);
	if (ev->kind == FL_EV_HELLO) {
		if (ev->u.hello.why != FL_HELLO_REOPEN)
			c->hellos++;
		note_hello(c, ev);
		return;
	}
	if (ev->kind != FL_EV_CALL || ev->fn >= FL_FN_COUNT)
		return;
	c->count[ev->fn]++;
	if (fl_ev_fn_is_priv(ev->fn)) {
		on_denial(c, ev, trace);
		return;
	}
	if (c->n == FL_CALLS_KEEP) {
		c->over++;
		return;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct fl_call *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	k = &c->v[c->n++];
	memset(k, 0, sizeof(*k));
	k->t_ns = fl_clock_rel_ns(ev->t_ns);
	k->pid = ev->pid;
	k->tid = ev->tid;
	k->fd = ev->fd;
	k->newfd = ev->u.call.newfd;
	k->fn = ev->fn;
	k->flags = ev->flags;
	k->ret = ev->ret;
	k->err = ev->err;
	k->state = ev->u.call.tcp_state;
	k->level = ev->u.call.level;
	k->optname = ev->u.call.optname;
	k->val = ev->u.call.val;
	k->linger_onoff = ev->u.call.linger_onoff;
	k->arg = ev->u.call.arg;
	k->linger_secs = ev->u.call.linger_secs;
	k->unread = ev->u.call.unread;
	k->unsent = ev->u.call.unsent;
	k->dur_ns = ev->u.call.dur_ns;
	k->listening = k->state == FL_TCP_LISTEN;
	k->sock_family = ev->u.call.sock_family;
	k->sock_type = ev->u.call.sock_type;
	if ((ev->flags & FL_EVF_SOCK) && to_endpoint(&ev->u.call.local, &l) == 0) {
		fl_endpoint_format(&l, k->local, sizeof(k->local));
		if (to_endpoint(&ev->u.call.peer, &p) == 0) {
			fl_endpoint_format(&p, k->peer, sizeof(k->peer));
			f = flows ? fl_flow_find(flows, &l, &p, &k->dir) : NULL;
			if (f)
				k->flow = f->id;
		}
	}
	if (!k->flow && k->fd >= 0)
		k->flow = earlier_flow(c, k, &k->dir);
	link_call(c, k->pid, k->fd, (uint32_t)c->n, 0);
	if ((k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4) && k->ret >= 0)
		link_call(c, k->pid, (int)k->ret, (uint32_t)c->n, 1);
	trace_call(trace, k);
}

/* The pid in the innermost pid namespace of host pid pid (NSpid's last
 * field), or -1 when /proc no longer has it. */
static int read_ns_pid(int host_proc, int pid)
{
	char path[32], buf[2048], *p, *end;
	ssize_t n;
	long v, last = -1;
	int fd;

	snprintf(path, sizeof(path), "%d/status", pid);
	fd = openat(host_proc, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return -1;
	for (p += 7; *p && *p != '\n'; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		last = v;
	}
	return last > 0 && last <= INT32_MAX ? (int)last : -1;
}

/* The sandbox's pid of the sender the kernel names (host pid), cached; a
 * hello (a new process image or a fork child) reads it again, since a host
 * pid may have been reused.  0 when it cannot be told. */
static int sender_ns_pid(struct fl_calls *c, int host, int fresh)
{
	struct pid_entry *e;
	size_t i;
	int ns;

	if (c->host_proc < 0 || host <= 0)
		return 0;
	if (!c->pidmap || 2 * (c->pidmap_used + 1) > FL_PIDMAP_SIZE) {
		free(c->pidmap);
		c->pidmap = calloc(FL_PIDMAP_SIZE, sizeof(*c->pidmap));
		c->pidmap_used = 0;
		if (!c->pidmap)
			return 0;
	}
	i = ((uint32_t)host * 2654435761u) & (FL_PIDMAP_SIZE - 1);
	while (c->pidmap[i].host && c->pidmap[i].host != host)
		i = (i + 1) & (FL_PIDMAP_SIZE - 1);
	e = &c->pidmap[i];
	if (e->host && !fresh)
		return e->ns;
	ns = read_ns_pid(c->host_proc, host);
	if (ns <= 0)
		return e->host ? e->ns : 0;
	if (!e->host)
		c->pidmap_used++;
	*e = (struct pid_entry){.host = host, .ns = ns};
	return ns;
}

void fl_calls_feed(struct fl_calls *c, const void *buf, size_t n, int sender,
		   const struct fl_flow_table *flows, struct fl_trace *trace)
{
	struct fl_ev ev;
	char detail[96];

	if (n != sizeof(ev) || fl_ev_check(buf, n) < 0) {
		c->malformed++;
		return;
	}
	memcpy(&ev, buf, sizeof(ev)); /* aligned, and ours to change */
	if (sender <= 0) {
		c->unverified++;
	} else if (ev.pid != sender) {
		if (c->forged++ < 16) {
			snprintf(detail, sizeof(detail), "an event says pid %d, the "
				 "kernel says its sender is pid %d", (int)ev.pid, sender);
			fl_trace_note(trace, fl_clock_rel_ns(fl_clock_ns()),
				      "forged-pid", detail);
		}
		ev.pid = sender;
	}
	on_event(c, &ev, flows, trace);
}

void fl_calls_process(struct fl_calls *c, const struct fl_flow_table *flows,
		      struct fl_trace *trace)
{
	union {
		struct fl_ev ev;
		char bytes[sizeof(struct fl_ev)];
	} u;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;

	for (;;) {
		struct iovec iov = {.iov_base = &u, .iov_len = sizeof(u)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = &ctl, .msg_controllen = sizeof(ctl)};
		struct cmsghdr *cm;
		struct ucred cr = {0};
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
		int sender = 0;

		if (n < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(cr)))
				memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
		if (cr.pid > 0)
			sender = sender_ns_pid(c, cr.pid, (size_t)n == sizeof(u.ev) &&
					       u.ev.kind == FL_EV_HELLO);
		fl_calls_feed(c, &u, (size_t)n, sender, flows, trace);
	}
}

void fl_calls_set_role(struct fl_calls *c, int (*role)(void *ctx, int pid),
		       void *ctx)
{
	c->role = role;
	c->role_ctx = ctx;
}

const struct fl_denial *fl_calls_denials(const struct fl_calls *c, size_t *n)
{
	*n = c->ndv;
	return c->dv;
}

const struct fl_call *fl_calls_get(const struct fl_calls *c, size_t *n)
{
	*n = c->n;
	return c->v;
}

uint64_t fl_calls_count(const struct fl_calls *c, unsigned fn)
{
	return fn < FL_FN_COUNT ? c->count[fn] : 0;
}

size_t fl_calls_shimmed(const struct fl_calls *c)
{
	return c->hellos;
}

const struct fl_hello *fl_calls_hellos(const struct fl_calls *c, size_t *n)
{
	*n = c->nhv;
	return c->hv;
}

uint64_t fl_calls_lost(const struct fl_calls *c)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < c->nprocs; i++)
		sum += c->procs[i].dropped;
	return sum + c->over;
}

uint64_t fl_calls_malformed(const struct fl_calls *c)
{
	return c->malformed;
}

uint64_t fl_calls_forged(const struct fl_calls *c)
{
	return c->forged;
}

uint64_t fl_calls_unverified(const struct fl_calls *c)
{
	return c->unverified;
}

const char *fl_err_name(int e)
{
	const char *s = e ? strerrorname_np(e) : NULL;

	return s ? s : "an error";
}

int fl_calls_linked(const struct fl_calls *c)
{
	return !c->unlinked;
}
