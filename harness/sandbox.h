/*
 * sandbox.h - the private network the target runs in.
 *
 * fl_sandbox_enter() moves the calling process (the harness) into new
 * network and mount namespaces, plus a user namespace when it is not root,
 * and makes a new PID namespace whose init is a small child of the harness
 * that starts every process of the sandbox (target, driver, iptables) as
 * its own child and reports their exits.  When the harness dies, even by
 * SIGKILL, the init sees its socket close (and gets PR_SET_PDEATHSIG),
 * exits, and the kernel kills every process in the namespace; being their
 * parent, the init reaps them itself, so nothing waits on the host's init
 * to reap (what stays, until the host reaps it, is the init's own zombie).
 * The network namespace, and the iptables rules in it, go with the last
 * process.  Nothing outside the sandbox is ever changed.
 *
 * Single-threaded; call from main() before starting any thread.
 */
#ifndef FL_SANDBOX_H
#define FL_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fl_sandbox_cfg {
	unsigned mtu;         /* of lo, default 1500 */
	uint16_t queue_num;
	uint32_t mark;        /* segments with this mark bypass the queue */
	int queue_all;        /* queue every TCP segment, not only SYN/FIN/RST */
	const uint16_t *ports; /* ...or also every segment to/from these ports */
	size_t nports;
	int verbose;
	int have_user;        /* run target and driver as uid/gid below */
	uid_t uid;
	gid_t gid;
	uint64_t keep_caps;   /* 1ULL << CAP_x the target keeps (--keep-cap),
			       * only through fl_sandbox_spawn_target() */
};

struct fl_sandbox;

/*
 * Enters the sandbox.  Returns 0, or -errno with a message naming the fix in
 * err (exit status 3 for the caller).  Free with fl_sandbox_free().
 */
int fl_sandbox_enter(struct fl_sandbox **out, const struct fl_sandbox_cfg *cfg,
		     char *err, size_t errlen);

/* Installs the NFQUEUE rules (IPv4 and IPv6): one iptables-restore per
 * family, both at once, with the nft backend, or the legacy one if nft
 * fails.  Call once the queue is bound.  Returns 0, or -errno with a
 * message naming the fix in err. */
int fl_sandbox_install_queue(struct fl_sandbox *sb, char *err, size_t errlen);
/* Which iptables backend is in use ("nft" or "legacy"). */
const char *fl_sandbox_backend(const struct fl_sandbox *sb);

/*
 * Starts argv (argv[0] searched in PATH) inside the sandbox, as a child of
 * its init, with every capability dropped and no_new_privs, in its own
 * process group, with the harness's environment and its stdin, stdout and
 * stderr as they are now, plus extra environment entries env
 * (NULL-terminated "K=V", may be NULL).  Returns its pid (in the harness's
 * view), or -errno with err filled when it could not be executed.
 */
pid_t fl_sandbox_spawn(struct fl_sandbox *sb, char *const argv[],
		       char *const env[], char *err, size_t errlen);

/*
 * fl_sandbox_spawn() for the target itself: the same, except that it keeps
 * the capabilities cfg.keep_caps names (permitted, effective, inheritable
 * and ambient, and only those in its bounding set), over the sandbox's
 * namespaces; with keep_caps 0 it is fl_sandbox_spawn().  Nothing else
 * (driver, peer, a tool) ever keeps one.
 */
pid_t fl_sandbox_spawn_target(struct fl_sandbox *sb, char *const argv[],
			      char *const env[], char *err, size_t errlen);

/*
 * The processes fl_sandbox_spawn() started are not the harness's children:
 * their exits come from the init.  fl_sandbox_fd() is readable when one
 * may wait, and fl_sandbox_pending() nonzero when one was read already (a
 * spawn reads past the exits that came before its answer).
 * fl_sandbox_wait() is waitpid(-1, status, WNOHANG) for them: returns 1
 * with *pid (the harness's view) and *status (as waitpid gives it), 0 when
 * none has ended, or -ECHILD when the init is gone.  A process stays a
 * zombie (its /proc entry readable) until its exit is returned.
 */
int fl_sandbox_fd(const struct fl_sandbox *sb);
int fl_sandbox_pending(const struct fl_sandbox *sb);
int fl_sandbox_wait(struct fl_sandbox *sb, pid_t *pid, int *status);

/* An O_PATH descriptor of the host's /proc (valid for the harness, which
 * is outside the sandbox's PID namespace).  /proc itself is the sandbox's. */
int fl_sandbox_host_proc(const struct fl_sandbox *sb);

/* Kills everything in the sandbox and frees it. */
void fl_sandbox_free(struct fl_sandbox *sb);

#endif
