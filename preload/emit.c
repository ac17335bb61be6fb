/*
 * emit.c - building and sending events (see emit.h).  System calls go
 * through syscall(2): no cancellation points, no recursion into the
 * shim's hooks, nothing allocated.
 */
#include "emit.h"
#include "chan.h"
#include "preload.h"

#include <errno.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t emit_seq;

void fl_emit_init(struct fl_ev *ev, enum fl_ev_fn fn, int fd)
{
	memset(ev, 0, sizeof(*ev));
	ev->magic = FL_EV_MAGIC;
	ev->version = FL_EV_VERSION;
	ev->size = sizeof(*ev);
	ev->kind = FL_EV_CALL;
	ev->fn = (uint16_t)fn;
	ev->pid = fl_pid;
	ev->tid = fl_tid();
	ev->fd = fd;
}

static int sockopt_int(int fd, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);

	return (int)syscall(SYS_getsockopt, fd, level, name, v, &len);
}

/* Copies what a getsockname-style call returned, truncated. */
static void addr_get(long nr, int fd, union fl_ev_sockaddr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (syscall(nr, fd, &ss, &len) < 0 || len < sizeof(sa_family_t))
		return;
	if (len > sizeof(ss))
		len = sizeof(ss);
	memcpy(out, &ss, len < sizeof(*out) ? len : sizeof(*out));
}

bool fl_emit_sock(struct fl_ev *ev, int fd)
{
	struct fl_ev_call *c = &ev->u.call;
	int type, domain;

	if (sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) < 0)
		return false;
	if (sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &domain) < 0)
		domain = 0;
	ev->flags |= FL_EVF_SOCK;
	c->sock_type = type;
	c->sock_family = domain;
	addr_get(SYS_getsockname, fd, &c->local);
	addr_get(SYS_getpeername, fd, &c->peer);
	if ((domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM) {
		/* tcpi_state is the first byte of struct tcp_info, and the
		 * kernel copies min(optlen, sizeof(info)). */
		uint8_t state = 0;
		socklen_t len = sizeof(state);

		if (syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &state,
		            &len) == 0)
			c->tcp_state = state;
	}
	return true;
}

void fl_emit_closeinfo(struct fl_ev *ev, int fd)
{
	struct fl_ev_call *c = &ev->u.call;
	struct linger lg;
	socklen_t len = sizeof(lg);
	int v;

	if (syscall(SYS_ioctl, fd, SIOCINQ, &v) == 0 && v >= 0) {
		c->unread = (uint32_t)v;
		ev->flags |= FL_EVF_UNREAD;
	}
	if (syscall(SYS_ioctl, fd, SIOCOUTQ, &v) == 0 && v >= 0) {
		c->unsent = (uint32_t)v;
		ev->flags |= FL_EVF_UNSENT;
	}
	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_LINGER, &lg, &len) ==
	    0) {
		c->linger_onoff = lg.l_onoff;
		c->linger_secs = lg.l_linger;
		ev->flags |= FL_EVF_LINGER;
	}
}

static void stamp_and_send(struct fl_ev *ev, uint64_t budget_ns)
{
	ev->t_ns = fl_now_ns();
	ev->seq = __atomic_add_fetch(&emit_seq, 1, __ATOMIC_RELAXED);
	ev->dropped = fl_chan_dropped();
	fl_chan_send(ev, sizeof(*ev), budget_ns);
}

void fl_emit_send(struct fl_ev *ev, int64_t ret, int err)
{
	ev->ret = ret;
	ev->err = ret < 0 ? err : 0;
	stamp_and_send(ev, FL_CHAN_BUDGET_NS);
}

void fl_emit_hello(enum fl_ev_hello_why why)
{
	struct fl_ev ev;
	struct fl_ev_hello *h = &ev.u.hello;
	struct stat st;
	long n;

	fl_emit_init(&ev, FL_FN_NONE, -1);
	ev.kind = FL_EV_HELLO;
	h->ppid = (int32_t)syscall(SYS_getppid);
	h->uid = (uint32_t)syscall(SYS_getuid);
	h->gid = (uint32_t)syscall(SYS_getgid);
	h->why = (uint16_t)why;
	h->chan_fd = fl_chan_fd();
	if (h->chan_fd >= 0 && syscall(SYS_fstat, h->chan_fd, &st) == 0)
		h->chan_ino = (uint64_t)st.st_ino;
	n = syscall(SYS_readlink, "/proc/self/exe", h->exe, sizeof(h->exe) - 1);
	if (n < 0) {
		n = (long)strnlen(program_invocation_name, sizeof(h->exe) - 1);
		memcpy(h->exe, program_invocation_name, (size_t)n);
	}
	h->exe[n] = '\0';
	stamp_and_send(&ev, FL_CHAN_BUDGET_NS);
}

void fl_emit_bye(void)
{
	struct fl_ev ev;

	fl_emit_init(&ev, FL_FN_NONE, -1);
	ev.kind = FL_EV_BYE;
	stamp_and_send(&ev, 10 * FL_CHAN_BUDGET_NS);
}

void fl_emit_after_fork(void)
{
	__atomic_store_n(&emit_seq, 0, __ATOMIC_RELAXED);
}
