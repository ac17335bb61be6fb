/*
 * event.h - the wire protocol between libfaultline-preload.so (the shim in
 * every target process) and the harness.
 *
 * Transport: one AF_UNIX SOCK_DGRAM datagram per event, sent to the
 * abstract address "\0" + $FAULTLINE_SOCK (e.g. FAULTLINE_SOCK=faultline-812
 * means the abstract name "\0faultline-812", no trailing NUL).  The harness
 * binds that address before it starts the target; if the variable is absent
 * the shim does nothing at all.
 *
 * Every datagram is exactly one struct fl_ev (256 bytes), host byte order,
 * the same machine on both ends.  A reader checks it with fl_ev_check():
 * length == sizeof(struct fl_ev), magic FL_EV_MAGIC, version FL_EV_VERSION.
 * A change of layout bumps FL_EV_VERSION; fields are only ever added in the
 * reserved tail of a union, never moved.
 *
 * Ordering and loss: t_ns is CLOCK_MONOTONIC (the harness's clock too).
 * seq counts the events a process tried to send (1, 2, ...; restarts at 1
 * in a fork child and after exec).  dropped counts the events this process
 * could not send before this one (receive queue full for ~2 ms, channel
 * closed); so seq - dropped is what a reader should have received, and a
 * gap in seq with a matching rise in dropped is a counted loss.
 *
 * Each process announces itself with a FL_EV_HELLO (at startup in every
 * exec'd image, and in every fork child); a target that sends no hello did
 * not load the shim (static binary, cleared environment).  The hello names
 * the inode of the shim's socket, and a hello with why FL_HELLO_REOPEN
 * names the new one after close_range()/closefrom() made the shim
 * re-create it: so the harness can tell, from the process's descriptors,
 * whether the channel is still open (a raw close_range system call, or an
 * exec into an image without the shim, closes it behind the shim's back).
 * At exit() (not _exit() or a signal) it sends a FL_EV_BYE, so losses at
 * the very end are counted too.  dropped and seq belong to a process
 * image: they restart after exec and in a fork child, so sum losses per
 * image (hello to hello; a REOPEN hello is not a new image), not per pid.
 *
 * Header-only: the harness includes it, nothing to link.
 */
#ifndef FL_PRELOAD_EVENT_H
#define FL_PRELOAD_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define FL_EV_MAGIC 0x464c4556u /* "FLEV" read as a host-order integer */
#define FL_EV_VERSION 3 /* 2: hello.chan_ino, FL_HELLO_REOPEN; 3: the
			  * privileged calls (FL_FN_BIND...), u.priv */
/* The environment variable naming the abstract socket. */
#define FL_EV_SOCK_ENV "FAULTLINE_SOCK"

enum fl_ev_kind {
	FL_EV_HELLO = 1, /* u.hello is valid; fn is FL_FN_NONE */
	FL_EV_CALL = 2,  /* u.call is valid */
	FL_EV_BYE = 3,   /* exit(): the image's last event; only the header */
};

/*
 * The intercepted function.  Numbers are part of the wire format.
 * The fortify variants (__read_chk, __recv_chk, __recvfrom_chk) report as
 * read/recv/recvfrom with FL_EVF_CHK set.
 */
enum fl_ev_fn {
	FL_FN_NONE = 0,
	FL_FN_SOCKET = 1,
	FL_FN_SOCKETPAIR = 2,
	FL_FN_ACCEPT = 3,
	FL_FN_ACCEPT4 = 4,
	FL_FN_CONNECT = 5,
	FL_FN_CLOSE = 6,
	FL_FN_CLOSE_RANGE = 7,
	FL_FN_CLOSEFROM = 8,
	FL_FN_SHUTDOWN = 9,
	FL_FN_SETSOCKOPT = 10,
	FL_FN_DUP = 11,
	FL_FN_DUP2 = 12,
	FL_FN_DUP3 = 13,
	FL_FN_FCNTL = 14, /* F_DUPFD and F_DUPFD_CLOEXEC only */
	FL_FN_READ = 15,
	FL_FN_RECV = 16,
	FL_FN_RECVFROM = 17,
	FL_FN_RECVMSG = 18,
	FL_FN_READV = 19,
	FL_FN_WRITE = 20,
	FL_FN_SEND = 21,
	FL_FN_SENDTO = 22,
	FL_FN_SENDMSG = 23,
	FL_FN_WRITEV = 24,
	FL_FN_WAIT = 25, /* wait/waitpid/wait4 reaped a child a signal killed */
	/* Privileged operations, reported only when refused (u.priv): */
	FL_FN_BIND = 26,
	FL_FN_SETUID = 27,
	FL_FN_SETGID = 28,
	FL_FN_SETREUID = 29,
	FL_FN_SETREGID = 30,
	FL_FN_SETRESUID = 31,
	FL_FN_SETRESGID = 32,
	FL_FN_SETGROUPS = 33,
	FL_FN_INITGROUPS = 34, /* glibc's calls setgroups inside libc */
	FL_FN_CHOWN = 35,
	FL_FN_FCHOWN = 36,
	FL_FN_LCHOWN = 37,
	FL_FN_FCHOWNAT = 38,
};
#define FL_FN_COUNT 39

/* A privileged operation: its event has u.priv, not u.call. */
static inline int fl_ev_fn_is_priv(unsigned fn)
{
	return fn >= FL_FN_BIND && fn <= FL_FN_FCHOWNAT;
}

/* struct fl_ev.flags */
enum {
	/* sock_family, sock_type, local, peer, tcp_state describe a socket */
	FL_EVF_SOCK = 1u << 0,
	/* close info valid: unread (SIOCINQ), unsent (SIOCOUTQ), SO_LINGER */
	FL_EVF_UNREAD = 1u << 1,
	FL_EVF_UNSENT = 1u << 2,
	FL_EVF_LINGER = 1u << 3,
	/*
	 * The call closed the socket at fd as a side effect: dup2/dup3 onto an
	 * open socket, or close_range/closefrom over it.  Such an event carries
	 * the close info of that socket, read just before the call.
	 */
	FL_EVF_IMPLICIT_CLOSE = 1u << 4,
	/* The fortify variant (__read_chk, ...) was called. */
	FL_EVF_CHK = 1u << 5,
	/* connect: peer is the argument (getpeername failed: EINPROGRESS) */
	FL_EVF_PEER_ARG = 1u << 6,
};

/* u.call.val_kind: how setsockopt's value was decoded */
enum fl_ev_val {
	FL_VAL_NONE = 0,    /* not decoded (the call failed, or optlen 0) */
	FL_VAL_INT = 1,     /* val = the int (optlen == sizeof(int)) */
	FL_VAL_LINGER = 2,  /* linger_onoff / linger_secs (SO_LINGER) */
	FL_VAL_TIMEVAL = 3, /* val = microseconds (SO_RCVTIMEO, SO_SNDTIMEO) */
	FL_VAL_BYTES = 4,   /* val = the first min(optlen, 8) bytes, memcpy'd */
};

/* u.hello.why */
enum fl_ev_hello_why {
	FL_HELLO_START = 1, /* the constructor ran (process start, exec) */
	FL_HELLO_FORK = 2,  /* a fork child (pthread_atfork or _Fork) */
	FL_HELLO_REOPEN = 3, /* the channel was re-created (close_range,
				closefrom over it): same image, new chan_ino */
};

/*
 * A socket address as the kernel returned it, truncated to 28 bytes:
 * AF_INET and AF_INET6 fit whole (ports and addresses in network order, as
 * in any sockaddr); AF_UNIX keeps the family and the first bytes of the
 * path.  family 0 means unknown.
 */
union fl_ev_sockaddr {
	sa_family_t family;
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * A call.  Fields a function does not use are 0.
 *   socket          fd = ret (the new socket); arg = type argument as
 *                   passed (with SOCK_NONBLOCK/SOCK_CLOEXEC); protocol
 *   socketpair      fd = sv[0], newfd = sv[1]; arg = type; protocol
 *   accept/accept4  fd = the listening socket, newfd = ret; the socket
 *                   fields describe the new connection (the listener when
 *                   ret < 0); accept4: arg = flags.  EAGAIN is not reported.
 *   connect         peer: getpeername, else the argument (FL_EVF_PEER_ARG)
 *   close           unread, unsent, linger_* (flags say which are valid),
 *                   socket fields read just before the close; dur_ns =
 *                   how long the close itself took
 *   close_range     a summary event after the call: fd = -1, first, last,
 *   closefrom       arg = flags (closefrom: last = ~0u); before it, one
 *                   FL_EVF_IMPLICIT_CLOSE event per socket closed
 *                   (fd = that socket, ret 0, below fd 65536)
 *   shutdown        arg = how; tcp_state after the call
 *   setsockopt      level, optname, optlen; val_kind + val/linger_* when
 *                   the call succeeded
 *   dup/dup2/dup3   fd = oldfd, newfd = ret (dup2/dup3: the requested
 *                   newfd); dup3: arg = flags.  dup2/dup3 onto an open
 *                   socket also sends an FL_EVF_IMPLICIT_CLOSE event for it,
 *                   before the dup event.
 *   fcntl           F_DUPFD/F_DUPFD_CLOEXEC: arg = cmd, first = the minimum
 *                   fd asked for, newfd = ret
 *   read, recv*, readv    on stream sockets only: ret 0 (EOF, with len > 0)
 *                   or ret -1 with err other than EAGAIN; len = bytes asked
 *                   for (readv/recvmsg: the iovec total); recv*: arg = flags
 *   write, send*, writev  on stream sockets only: ret -1, err not EAGAIN
 *   wait            wait, wait3, waitpid or wait4 reaped a child a signal
 *                   killed: fd = -1, ret = the child's pid, arg = the
 *                   signal, val = the raw status (children that exit are
 *                   not reported)
 * Events are sent only for calls on sockets: a call on a file, a pipe or
 * a descriptor that is not open sends nothing (socket and socketpair send
 * even when they fail).  newfd is 0 where a function does not use it.
 * The shim's own descriptor is invisible: close, dup2/dup3 onto it and
 * close_range/closefrom over it behave as if it were not there, and so
 * does using it as the source of dup/dup2/dup3/fcntl(F_DUPFD) (EBADF).
 * close/dup/close_range/closefrom in a vfork child (before its exec) are
 * not reported: that child shares the shim's memory, not its descriptors.
 */
struct fl_ev_call {
	int32_t sock_family; /* AF_INET, AF_INET6, AF_UNIX ...; 0 = unknown */
	int32_t sock_type;   /* SOCK_STREAM, SOCK_DGRAM ... */
	uint8_t tcp_state;   /* tcpi_state (fl_ev_tcp_state_name); 0: not TCP */
	uint8_t val_kind;    /* enum fl_ev_val */
	uint16_t reserved0;
	int32_t newfd;
	union fl_ev_sockaddr local; /* getsockname */
	union fl_ev_sockaddr peer;  /* getpeername */
	int32_t arg;
	int32_t level;   /* setsockopt */
	int32_t optname; /* setsockopt */
	uint32_t optlen; /* setsockopt */
	int64_t val;     /* setsockopt, see val_kind */
	/* setsockopt(SO_LINGER): the value set; close: SO_LINGER in force */
	int32_t linger_onoff;
	int32_t linger_secs;
	uint32_t unread; /* close: SIOCINQ, bytes received and not read */
	uint32_t unsent; /* close: SIOCOUTQ, bytes sent and not yet acked */
	uint64_t len;
	uint32_t first, last; /* close_range, closefrom, fcntl F_DUPFD */
	int32_t protocol;     /* socket, socketpair */
	uint32_t reserved1;
	/* close: how long the real close() took (SO_LINGER {1,N} blocks) */
	uint64_t dur_ns;
};

/*
 * A privileged operation the kernel refused (fn FL_FN_BIND ...
 * FL_FN_FCHOWNAT; kind FL_EV_CALL, ret -1, err the errno):
 *   setuid, setgid          EPERM or EINVAL; ids[0]
 *   setreuid, setregid      EPERM or EINVAL; ids[0..1] (r, e; -1 as ~0u)
 *   setresuid, setresgid    EPERM or EINVAL; ids[0..2] (r, e, s)
 *   setgroups               EPERM or EINVAL; ids[0] = the count, ids[1..2]
 *                           the first two groups (nids = min(count, 2) + 1)
 *   initgroups              EPERM or EINVAL; ids[0] = the group, path =
 *                           the user's name
 *   chown, lchown, fchownat EPERM or EINVAL; ids[0..1] (uid, gid), path;
 *                           fchownat: fd = dirfd, flags
 *   fchown                  EPERM or EINVAL; fd, ids[0..1]
 *   bind                    EACCES or EPERM on an AF_INET/AF_INET6 socket
 *                           to a port below ip_unprivileged_port_start:
 *                           fd, family, port, unpriv_port_start
 * Calls that succeed, and other errors, send nothing.  cap_eff is the
 * caller's effective set (capget) after the call, euid/egid its ids: a
 * refusal with the capability in cap_eff was not for lack of it.
 */
struct fl_ev_priv {
	uint32_t nids;
	uint32_t ids[3];
	uint32_t euid, egid;
	uint64_t cap_eff;   /* bit N: capability N */
	int32_t family;
	int32_t port;
	int32_t unpriv_port_start; /* -1: unknown */
	int32_t flags;
	char path[144];     /* NUL-terminated, truncated */
};

struct fl_ev_hello {
	int32_t ppid;
	uint32_t uid, gid; /* real ids */
	uint16_t why;      /* enum fl_ev_hello_why */
	uint16_t reserved0;
	int32_t chan_fd;   /* the shim's own descriptor (diagnostics) */
	/* /proc/self/exe (else argv[0]), NUL-terminated, truncated */
	char exe[164];
	/* st_ino of the channel's socket (what /proc/PID/fd/N shows as
	 * "socket:[ino]"); 0 if the channel is not open */
	uint64_t chan_ino;
};

struct fl_ev {
	uint32_t magic;   /* FL_EV_MAGIC */
	uint16_t version; /* FL_EV_VERSION */
	uint16_t size;    /* sizeof(struct fl_ev) */
	uint16_t kind;    /* enum fl_ev_kind */
	uint16_t fn;      /* enum fl_ev_fn */
	uint32_t flags;   /* FL_EVF_* */
	uint64_t t_ns;    /* CLOCK_MONOTONIC, after the call returned */
	uint64_t seq;     /* 1, 2, ... per process image */
	uint64_t dropped; /* events this image failed to send before this one */
	int32_t pid;
	int32_t tid;
	int32_t fd;  /* the descriptor of the call (see struct fl_ev_call) */
	int32_t err; /* errno after the call when it failed, else 0 */
	int64_t ret; /* the call's return value */
	union {
		struct fl_ev_call call;
		struct fl_ev_hello hello;
		struct fl_ev_priv priv;
		uint8_t reserved[192];
	} u;
};

_Static_assert(sizeof(struct fl_ev) == 256, "struct fl_ev is 256 bytes");
_Static_assert(sizeof(union fl_ev_sockaddr) == 28, "sockaddr is 28 bytes");
_Static_assert(offsetof(struct fl_ev, u) == 64, "header is 64 bytes");
_Static_assert(sizeof(struct fl_ev_call) <= 192, "call fits");
_Static_assert(sizeof(struct fl_ev_hello) == 192, "hello fits");
_Static_assert(sizeof(struct fl_ev_priv) == 192, "priv fits");

/* Returns 0 if buf[0..n) is an event this header describes, else -EPROTO. */
static inline int fl_ev_check(const void *buf, size_t n)
{
	const struct fl_ev *ev = (const struct fl_ev *)buf;

	if (n != sizeof(struct fl_ev) || ev->magic != FL_EV_MAGIC ||
	    ev->version != FL_EV_VERSION || ev->size != sizeof(struct fl_ev))
		return -71; /* EPROTO, without pulling in errno.h */
	return 0;
}

/* The function's name as a target's source spells it, or NULL if unknown. */
static inline const char *fl_ev_fn_name(unsigned fn)
{
	switch ((enum fl_ev_fn)fn) {
	case FL_FN_NONE: return "none";
	case FL_FN_SOCKET: return "socket";
	case FL_FN_SOCKETPAIR: return "socketpair";
	case FL_FN_ACCEPT: return "accept";
	case FL_FN_ACCEPT4: return "accept4";
	case FL_FN_CONNECT: return "connect";
	case FL_FN_CLOSE: return "close";
	case FL_FN_CLOSE_RANGE: return "close_range";
	case FL_FN_CLOSEFROM: return "closefrom";
	case FL_FN_SHUTDOWN: return "shutdown";
	case FL_FN_SETSOCKOPT: return "setsockopt";
	case FL_FN_DUP: return "dup";
	case FL_FN_DUP2: return "dup2";
	case FL_FN_DUP3: return "dup3";
	case FL_FN_FCNTL: return "fcntl";
	case FL_FN_READ: return "read";
	case FL_FN_RECV: return "recv";
	case FL_FN_RECVFROM: return "recvfrom";
	case FL_FN_RECVMSG: return "recvmsg";
	case FL_FN_READV: return "readv";
	case FL_FN_WRITE: return "write";
	case FL_FN_SEND: return "send";
	case FL_FN_SENDTO: return "sendto";
	case FL_FN_SENDMSG: return "sendmsg";
	case FL_FN_WRITEV: return "writev";
	case FL_FN_WAIT: return "wait";
	case FL_FN_BIND: return "bind";
	case FL_FN_SETUID: return "setuid";
	case FL_FN_SETGID: return "setgid";
	case FL_FN_SETREUID: return "setreuid";
	case FL_FN_SETREGID: return "setregid";
	case FL_FN_SETRESUID: return "setresuid";
	case FL_FN_SETRESGID: return "setresgid";
	case FL_FN_SETGROUPS: return "setgroups";
	case FL_FN_INITGROUPS: return "initgroups";
	case FL_FN_CHOWN: return "chown";
	case FL_FN_FCHOWN: return "fchown";
	case FL_FN_LCHOWN: return "lchown";
	case FL_FN_FCHOWNAT: return "fchownat";
	}
	return NULL;
}

/* The kernel's name of a tcpi_state (include/net/tcp_states.h), or NULL. */
static inline const char *fl_ev_tcp_state_name(unsigned state)
{
	static const char *const names[] = {
#define FL_TCP_STATE(name, num) [num] = #name,
#include "tcp_states.def"
#undef FL_TCP_STATE
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : NULL;
}

#endif
