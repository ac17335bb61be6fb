/*
 * sandbox_int.h - what sandbox.c and sandbox_queue.c (the NFQUEUE rules,
 * installed with iptables-restore run by the sandbox's init) share: the
 * sandbox's state and spawning a child of the init.  Not for other
 * modules.  Single-threaded.
 */
#ifndef FL_SANDBOX_INT_H
#define FL_SANDBOX_INT_H

#include <stddef.h>
#include <sys/types.h>

#include "sandbox.h"

enum spawn_kind {
	SPAWN_TARGET, /* own process group, every capability dropped */
	SPAWN_TARGET_KEEP, /* the target itself: the same, but keeping
			    * cfg.keep_caps (--keep-cap) */
	SPAWN_TOOL,   /* iptables: CAP_NET_ADMIN/CAP_NET_RAW kept (ambient) */
};

/* A spawned child: the init's pid for it and the harness's. */
struct child {
	pid_t ns, host;
};

struct fl_sandbox {
	struct fl_sandbox_cfg cfg;
	int userns;
	pid_t reaper;    /* the init, in the harness's view */
	int ctl;         /* the harness's end of the pair; the init exits
			  * when it closes */
	int host_proc;   /* O_PATH fd of the host's /proc */
	struct child *kids; /* spawned and not yet reaped */
	size_t nkids, capkids;
	struct ctl_msg *exits; /* EXITs read while waiting for something else */
	size_t nexits, capexits;
	char iptables[2][64]; /* chosen binaries for IPv4, IPv6 */
	const char *backend;
	int close_tracking; /* every segment of closing flows is queued */
};

/* Starts argv as a child of the sandbox's init, of the given kind, with
 * stdio[0..2] as its stdin, stdout and stderr (-1 or a closed fd: the
 * init's own, not passed).  Returns
 * its pid in the harness's view, or -errno with err filled. */
pid_t fl__sandbox_spawn(struct fl_sandbox *sb, enum spawn_kind kind,
			char *const argv[], char *const env[],
			const int stdio[3], char *err, size_t errlen);
/* Waits for that child's exit: its wait status into *status.  Returns 0
 * or -errno. */
int fl__sandbox_wait_child(struct fl_sandbox *sb, pid_t pid, int *status);

#endif
