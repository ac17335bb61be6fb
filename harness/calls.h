/*
 * calls.h - the harness's end of the shim's event channel: an abstract
 * AF_UNIX datagram socket in the sandbox's network namespace (so its name
 * is private to the run), one struct fl_ev per datagram (preload/event.h).
 *
 * Every call event is traced ("ev":"call"), linked to its flow by the
 * socket's endpoints, counted by function, and kept for the checks.
 * Single-threaded.
 */
#ifndef FL_CALLS_H
#define FL_CALLS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "flow.h"

struct fl_trace;
struct fl_calls;

/* One socket call as the checks see it. */
struct fl_call {
	uint64_t t_ns;     /* relative to the run's start */
	int pid, tid, fd, newfd;
	uint16_t fn;       /* enum fl_ev_fn */
	uint32_t flags;    /* FL_EVF_* */
	int64_t ret;
	int err;
	uint8_t state;     /* TCP state at the call, 0 unknown */
	uint32_t flow;     /* flow id, 0 if none */
	int dir;           /* FL_DIR_C2S if the caller's socket is the client */
	int level, optname;
	int arg;           /* shutdown how, recv flags, wait: the signal */
	int64_t val;
	int linger_onoff, linger_secs;
	uint32_t unread, unsent;
	uint64_t dur_ns;   /* close: how long the call took */
	int listening;     /* the socket was a listener (accept) */
	int sock_family;   /* AF_INET, AF_INET6, AF_UNIX ...; 0 unknown */
	int sock_type;     /* SOCK_STREAM, SOCK_DGRAM ...; 0 unknown */
	char local[64], peer[64];
	/* Links between the calls on one socket (index + 1; 0: none): the
	 * next and the previous call on this (pid, fd), and for an accept
	 * the first call on the fd it returned (it starts that chain). */
	uint32_t next_fd, prev_fd, next_ret;
};

/* One hello as received: a process image that loaded the shim, or the
 * shim naming its re-created channel (why FL_HELLO_REOPEN). */
struct fl_hello {
	uint64_t t_ns;     /* relative to the run's start */
	int pid;           /* the sandbox's pid, as call events have it */
	int ppid;          /* its parent's, as the shim said (getppid()) */
	unsigned why;      /* enum fl_ev_hello_why */
	uint64_t chan_ino; /* inode of the shim's socket, 0 unknown */
	char exe[164];
};

/* A privileged operation the kernel refused a process (preload/event.h's
 * struct fl_ev_priv), the same refusals of one process counted once. */
struct fl_denial {
	uint64_t t_ns;     /* the first, relative to the run's start */
	uint64_t count;
	int role;          /* FL_DENIAL_TARGET, _DRIVER, _PEER or _UNKNOWN */
	int pid, fd;
	uint16_t fn;       /* FL_FN_BIND ... FL_FN_FCHOWNAT */
	int err;
	unsigned nids;
	uint32_t ids[3];
	uint32_t euid, egid;
	uint64_t cap_eff;
	int family, port, unpriv_port_start, flags;
	char path[144];
};

enum { FL_DENIAL_UNKNOWN, FL_DENIAL_TARGET, FL_DENIAL_DRIVER, FL_DENIAL_PEER };

/* "target", "driver" or "peer" (an unknown one is shown as the target's). */
const char *fl_denial_role_name(int role);

/* Binds a fresh abstract name; *name gets it (for FAULTLINE_SOCK).
 * Returns 0 or -errno with err filled. */
int fl_calls_new(struct fl_calls **out, char *name, size_t namelen,
		 char *err, size_t errlen);
void fl_calls_free(struct fl_calls *c);
int fl_calls_fd(const struct fl_calls *c);

/* host_proc: /proc of the harness's pid namespace (the sandbox's
 * fl_sandbox_host_proc), to map the pid the kernel gives for each sender to
 * the sandbox's; without it (-1, the default) no event's pid is verified. */
void fl_calls_set_proc(struct fl_calls *c, int host_proc);

/* Decodes one datagram buf[0..n) as the shim's event: anything but exactly
 * one event of this version is counted as malformed.  sender is the
 * sandbox's pid of the process that sent it as the kernel says, 0 when not
 * known (counted as unverified); an event naming another pid is counted as
 * forged, noted in the trace (the first 16) and taken as sender's. */
void fl_calls_feed(struct fl_calls *c, const void *buf, size_t n, int sender,
		   const struct fl_flow_table *flows, struct fl_trace *trace);

/* Reads every pending event.  flows (may be NULL) links calls to flows. */
void fl_calls_process(struct fl_calls *c, const struct fl_flow_table *flows,
		      struct fl_trace *trace);

const struct fl_call *fl_calls_get(const struct fl_calls *c, size_t *n);
/* Events received per function (index enum fl_ev_fn). */
uint64_t fl_calls_count(const struct fl_calls *c, unsigned fn);
/* Process images that said hello (loaded the shim); a REOPEN is not one. */
size_t fl_calls_shimmed(const struct fl_calls *c);
/* Every hello in the order received (FL_HELLO_REOPEN ones too). */
const struct fl_hello *fl_calls_hellos(const struct fl_calls *c, size_t *n);
/* Events the shim counted as lost, summed over processes, and the events
 * not kept past the bounds on calls, processes and hellos. */
uint64_t fl_calls_lost(const struct fl_calls *c);
/* Datagrams that were not events (wrong size, magic or version). */
uint64_t fl_calls_malformed(const struct fl_calls *c);
/* Events whose body named another pid than the kernel's for its sender. */
uint64_t fl_calls_forged(const struct fl_calls *c);
/* Who a refusal's process is (FL_DENIAL_*), asked when it arrives (the
 * driver has the shim too under --preload-driver); without it, unknown. */
void fl_calls_set_role(struct fl_calls *c, int (*role)(void *ctx, int pid),
		       void *ctx);
/* The refusals received, distinct ones in the order they came (at most
 * FL_CALLS_KEEP_DENIALS; more count as lost). */
const struct fl_denial *fl_calls_denials(const struct fl_calls *c, size_t *n);
#define FL_CALLS_KEEP_DENIALS 256
/* Events whose sender could not be told (exited before it was read). */
uint64_t fl_calls_unverified(const struct fl_calls *c);

/* What a call means, for everyone who reads the calls. */
static inline int fl_call_is_read(unsigned fn)
{
	return fn == FL_FN_READ || fn == FL_FN_RECV || fn == FL_FN_RECVFROM ||
	       fn == FL_FN_RECVMSG || fn == FL_FN_READV;
}

static inline int fl_call_is_write(unsigned fn)
{
	return fn == FL_FN_WRITE || fn == FL_FN_SEND || fn == FL_FN_SENDTO ||
	       fn == FL_FN_SENDMSG || fn == FL_FN_WRITEV;
}

/* It released its fd (a close() that worked, or one the shim saw implied:
 * dup2 over it, exec with FD_CLOEXEC...). */
static inline int fl_call_closes(const struct fl_call *k)
{
	return (k->fn == FL_FN_CLOSE && k->ret == 0) ||
	       (k->flags & FL_EVF_IMPLICIT_CLOSE);
}

/* It told the program its connection ended: a read that returned 0 (end
 * of stream), or with error set, a read or write that failed (not
 * EAGAIN/EWOULDBLOCK, not EINTR). */
static inline int fl_call_ends_conn(const struct fl_call *k, int error)
{
	if (!error)
		return fl_call_is_read(k->fn) && k->ret == 0;
	return (fl_call_is_read(k->fn) || fl_call_is_write(k->fn)) &&
	       k->ret < 0 && k->err != EAGAIN && k->err != EINTR;
}

/* 1 if every call's next_fd/prev_fd/next_ret links are there (0 after an
 * allocation failure: then follow the calls in order instead). */
int fl_calls_linked(const struct fl_calls *c);

/* "ECONNRESET", or "an error". */
const char *fl_err_name(int e);
/* A socket option's name ("SO_LINGER", "TCP_NODELAY"), or NULL for one
 * the trace does not name. */
const char *fl_call_opt_name(int level, int opt);

#endif
