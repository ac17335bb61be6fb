/*
 * sandbox.c - namespaces, loopback, and spawning the target and driver
 * with no privileges (the target: none but those --keep-cap names); see
 * sandbox.h.  The NFQUEUE rules are sandbox_queue.c's.
 *
 * Process layout:
 *   harness (new user?/net/mount namespaces, host PID namespace)
 *     +- init (PID 1 of the new PID namespace: mounts /proc, starts what
 *        the harness asks for, reports their exits, reaps orphans)
 *          +- target, driver, iptables (children of the init)
 *
 * Everything in the sandbox is a child of its init, never of the harness:
 * were the target a child of the harness, a SIGKILL of the harness would
 * reparent it to the host's init, and the sandbox's init, exiting, would
 * wait in the kernel (zap_pid_ns_processes) until the host reaped it:
 * seconds, or forever under an init that never reaps.  Now the init reaps
 * them itself and what stays is its own zombie, the harness's only child.
 *
 * The harness and the init talk over a SOCK_SEQPACKET pair, one struct
 * ctl_msg a datagram: the harness sends SPAWN (argv and environment in a
 * memfd, and the child's stdin/stdout/stderr, by SCM_RIGHTS) and REAP;
 * the init answers READY once, STARTED per SPAWN (with the child's pid as
 * SCM_CREDENTIALS, which the kernel translates into the harness's PID
 * namespace), and EXIT per spawned child.  A spawned child stays a zombie
 * until the harness's REAP, as it did when it was the harness's child, so
 * its /proc entry (NSpid) can be read until the harness has seen its exit.
 * The init runs single-threaded, blocking only on its poll() and on a
 * spawned child's exec.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "sandbox.h"
#include "sandbox_int.h"

enum ctl_type { CTL_READY, CTL_SPAWN, CTL_STARTED, CTL_EXIT, CTL_REAP };

struct ctl_msg {
	int32_t type;   /* enum ctl_type */
	int32_t kind;   /* SPAWN: enum spawn_kind */
	int32_t pid;    /* STARTED, EXIT, REAP: the child, in the sandbox's view */
	int32_t value;  /* READY, STARTED: 0 or an errno; EXIT: wait status */
};


static int write_file(int dirfd, const char *path, const char *text)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(text))
		ret = -EIO;
	close(fd);
	return ret;
}

static int set_id_maps(char *err, size_t errlen, uid_t uid, gid_t gid)
{
	char map[64];
	int ret;

	ret = write_file(AT_FDCWD, "/proc/self/setgroups", "deny");
	if (ret < 0 && ret != -ENOENT)
		goto fail;
	/* Map the caller to itself (not to 0): the target sees its real
	 * uid, and the harness keeps its namespace capabilities because it
	 * made the namespace itself. */
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	ret = write_file(AT_FDCWD, "/proc/self/uid_map", map);
	if (ret < 0)
		goto fail;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	ret = write_file(AT_FDCWD, "/proc/self/gid_map", map);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot map uid/gid in the user namespace: %s",
		 strerror(-ret));
	return ret;
}

static int link_up(unsigned mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
out:
	if (ret < 0)
		snprintf(err, errlen, "cannot bring up lo with MTU %u: %s", mtu,
			 strerror(-ret));
	if (fd >= 0)
		close(fd);
	return ret;
}

/* ---- the harness and the init: messages ---- */

/*
 * Sends m with nfds descriptors (SCM_RIGHTS) and, when cred_pid > 0, that
 * pid as SCM_CREDENTIALS: a pid the sender names other than its own needs
 * CAP_SYS_ADMIN over its PID namespace, which the init has (it made the
 * namespace's user namespace, or is root).  Returns 0 or -errno.
 */
static int ctl_send(int sock, const struct ctl_msg *m, const int *fds,
		    size_t nfds, pid_t cred_pid)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4) +
			 CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c = (struct cmsghdr *)u.buf;
	size_t len = 0;

	if (nfds > 4)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	if (nfds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		len += CMSG_SPACE(nfds * sizeof(int));
		c = (struct cmsghdr *)(u.buf + len);
	}
	if (cred_pid > 0) {
		struct ucred uc = {.pid = cred_pid, .uid = getuid(),
				   .gid = getgid()};

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		len += CMSG_SPACE(sizeof(uc));
	}
	if (len) {
		mh.msg_control = u.buf;
		mh.msg_controllen = len;
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * Receives one message (flags: 0 or MSG_DONTWAIT): up to 4 descriptors,
 * close-on-exec, into fds (their number into *nfds; more are closed), and
 * the SCM_CREDENTIALS pid, in the receiver's PID namespace, into *cred_pid
 * (0 when none came; only with SO_PASSCRED).  Returns 1, 0 when the peer
 * is gone, or -errno (-EAGAIN: nothing waits; -EPROTO: not a ctl_msg).
 */
static int ctl_recv(int sock, struct ctl_msg *m, int flags, int fds[4],
		    size_t *nfds, pid_t *cred_pid)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8) +
			 CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;

	*nfds = 0;
	*cred_pid = 0;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fd;

			for (size_t i = 0; i < k; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(fd));
				if (*nfds < 4)
					fds[(*nfds)++] = fd;
				else
					close(fd);
			}
		} else if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			*cred_pid = uc.pid;
		}
	}
	if (n == 0 && !(mh.msg_flags & MSG_TRUNC))
		return 0;
	if ((size_t)n != sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return 1;
}

/* ---- privileges ---- */

/*
 * In a target's or driver's child: every capability dropped for good,
 * except keep (1ULL << CAP_x; nonzero only for the target itself,
 * --keep-cap), which stays in the permitted, effective, inheritable and
 * ambient sets so that it survives the execve of the target's command,
 * and alone in the bounding set.  Returns 0 or -errno.
 */
static int drop_privileges(const struct fl_sandbox_cfg *cfg, uint64_t keep)
{
	cap_t caps;
	int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		   SECBIT_NO_SETUID_FIXUP_LOCKED;
	int ret = 0;

	/* A process with uid 0 regains all capabilities at execve unless
	 * told not to (capabilities(7), "Capabilities and execution of
	 * programs by root").  With nothing kept, no uid change may ever
	 * matter; with capabilities kept, a uid change keeps the kernel's
	 * rule (a root target that setuid()s away from 0 loses them, as it
	 * would outside), locked either way. */
	if (!keep)
		bits |= SECBIT_NO_SETUID_FIXUP;
	prctl(PR_SET_SECUREBITS, bits, 0, 0, 0);
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(keep & (1ull << c)))
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (cfg->have_user) {
		/* keep: the permitted set across the uid change below */
		if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return -errno;
		if (setgroups(1, &cfg->gid) < 0 || setresgid(cfg->gid, cfg->gid, cfg->gid) < 0 ||
		    setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
			return -errno;
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	caps = cap_init();
	if (!caps)
		return -errno;
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (!(keep & (1ull << c)))
			continue;
		cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_SET);
		cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET);
		cap_set_flag(caps, CAP_INHERITABLE, 1, &c, CAP_SET);
	}
	if (cap_set_proc(caps) < 0)
		ret = -errno;
	cap_free(caps);
	if (ret)
		return ret;
	/* Ambient: what a program without file capabilities keeps across
	 * execve (the target's own command, a shell's child). */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if ((keep & (1ull << c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* In an iptables child: CAP_NET_ADMIN/CAP_NET_RAW as ambient capabilities,
 * so an iptables exec'd by a non-root harness keeps them. */
static void keep_net_caps(void)
{
	cap_value_t caps[] = {CAP_NET_ADMIN, CAP_NET_RAW};
	cap_t c = cap_get_proc();

	if (c) {
		cap_set_flag(c, CAP_INHERITABLE, 2, caps, CAP_SET);
		cap_set_proc(c);
		cap_free(c);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0);
}

/* ---- the init (PID 1 of the sandbox) ---- */

/* What a SPAWN's memfd holds: this header, then argc + envc + nextra
 * NUL-terminated strings: argv, the harness's environment at the spawn,
 * and the entries that override it. */
struct spawn_block {
	uint32_t argc, envc, nextra;
};

struct init {
	int ctl;
	const struct fl_sandbox_cfg *cfg;
	struct init_kid {
		pid_t pid;
		int reported; /* EXIT sent; reaped at the harness's REAP */
	} *kids;
	size_t nkids, cap;
};

/* The block's strings (*strs) and three NULL-terminated arrays of them in
 * one allocation (*argv; *envp and *extra point into it); the caller frees
 * *argv and *strs.  Returns 0 or -errno. */
static int block_read(int fd, char **strs, char ***argv, char ***envp,
		      char ***extra)
{
	struct spawn_block h;
	struct stat st;
	char *buf = NULL, *p, *end;
	char **v = NULL;
	size_t n, total;
	ssize_t got;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size < sizeof(h))
		return -EPROTO;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	got = pread(fd, buf, (size_t)st.st_size, 0);
	if (got != st.st_size)
		goto proto;
	buf[st.st_size] = 0;
	memcpy(&h, buf, sizeof(h));
	total = (size_t)h.argc + h.envc + h.nextra;
	if (h.argc == 0 || total > (size_t)st.st_size)
		goto proto;
	v = calloc(total + 3, sizeof(*v));
	if (!v) {
		free(buf);
		return -ENOMEM;
	}
	p = buf + sizeof(h);
	end = buf + st.st_size;
	n = 0;
	for (size_t part = 0; part < 3; part++) {
		uint32_t k = part == 0 ? h.argc : part == 1 ? h.envc : h.nextra;

		for (uint32_t i = 0; i < k; i++) {
			if (p >= end)
				goto proto;
			v[n++] = p;
			p += strlen(p) + 1;
		}
		v[n++] = NULL;
	}
	*argv = v;
	*envp = v + h.argc + 1;
	*extra = v + h.argc + 1 + h.envc + 1;
	*strs = buf;
	return 0;
proto:
	free(v);
	free(buf);
	return -EPROTO;
}

/* In the spawned child, before exec: stdio from what the harness sent
 * (bit i of have: fd i was sent), then the kind's privileges.  Never
 * returns; an error goes to errpipe. */
static void child_exec(const struct init *in, enum spawn_kind kind,
		       const int *stdio, int have, char **argv, char **envp,
		       char **extra, int errpipe)
{
	extern char **environ;
	sigset_t none;
	int e = 0;

	for (int i = 0, k = 0; i < 3; i++) {
		if (have & (1 << i)) {
			if (dup2(stdio[k++], i) < 0)
				e = errno;
		} else {
			close(i);
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	environ = envp;
	for (size_t i = 0; extra[i]; i++)
		putenv(extra[i]);
	switch (kind) {
	case SPAWN_TARGET:
	case SPAWN_TARGET_KEEP:
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		unsetenv("XTABLES_LOCKFILE");
		if (!e)
			e = -drop_privileges(in->cfg, kind == SPAWN_TARGET_KEEP
						       ? in->cfg->keep_caps : 0);
		if (!e) {
			execvp(argv[0], argv);
			e = errno;
		}
		break;
	case SPAWN_TOOL:
		keep_net_caps();
		if (!e) {
			execv(argv[0], argv);
			e = errno;
		}
		break;
	}
	if (write(errpipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* One SPAWN: fds[0] the memfd of the block, then the stdio that was sent
 * (m->value's bits).  Answers STARTED with the child's pid (and as
 * credentials) or an errno. */
static void init_spawn(struct init *in, const struct ctl_msg *m, int *fds,
		       size_t nfds)
{
	struct ctl_msg rep = {.type = CTL_STARTED};
	char *strs = NULL;
	char **argv = NULL, **envp = NULL, **extra = NULL;
	int have = m->value & 7;
	size_t want = 1 + (size_t)((have & 1) + ((have >> 1) & 1) + (have >> 2));
	int pfd[2] = {-1, -1};
	int cerr = 0;
	pid_t pid = -1;
	ssize_t n;
	int ret;

	if (nfds != want ||
	    (m->kind != SPAWN_TARGET && m->kind != SPAWN_TARGET_KEEP &&
	     m->kind != SPAWN_TOOL)) {
		rep.value = EPROTO;
		goto out;
	}
	ret = block_read(fds[0], &strs, &argv, &envp, &extra);
	if (ret < 0) {
		rep.value = -ret;
		goto out;
	}
	if (in->nkids == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 8;
		struct init_kid *k = realloc(in->kids, cap * sizeof(*k));

		if (!k) {
			rep.value = ENOMEM;
			goto out;
		}
		in->kids = k;
		in->cap = cap;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rep.value = errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rep.value = errno;
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_exec(in, (enum spawn_kind)m->kind, fds + 1, have, argv,
			   envp, extra, pfd[1]);
	}
	close(pfd[1]);
	pfd[1] = -1;
	/* The pipe closes on a successful exec; otherwise it carries errno. */
	do
		n = read(pfd[0], &cerr, sizeof(cerr));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(cerr)) {
		waitpid(pid, NULL, 0);
		rep.value = cerr ? cerr : EIO;
		goto out;
	}
	in->kids[in->nkids++] = (struct init_kid){.pid = pid};
	rep.pid = pid;
out:
	if (ctl_send(in->ctl, &rep, NULL, 0, rep.value ? 0 : pid) < 0)
		_exit(1);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(argv);
	free(strs);
}

/* A wait status as waitpid() gives it, from waitid()'s siginfo. */
static int wait_status(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff) << 8;
	case CLD_DUMPED:
		return (si->si_status & 0x7f) | 0x80;
	default:
		return si->si_status & 0x7f;
	}
}

/* EXIT for each spawned child that has ended and was not yet reported
 * (it stays a zombie until the harness's REAP); every other child that
 * ended (an orphan of the target's tree) is reaped. */
static void init_reap(struct init *in)
{
	DIR *d;
	struct dirent *e;

	for (size_t i = 0; i < in->nkids; i++) {
		siginfo_t si;

		if (in->kids[i].reported)
			continue;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)in->kids[i].pid, &si,
			   WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid != in->kids[i].pid)
			continue;
		if (ctl_send(in->ctl, &(struct ctl_msg){
				     .type = CTL_EXIT, .pid = in->kids[i].pid,
				     .value = wait_status(&si)},
			     NULL, 0, 0) < 0)
			_exit(1);
		in->kids[i].reported = 1;
	}
	/* waitpid(-1) would reap the spawned ones too, whose exit the
	 * harness has not seen: ask every other process of the namespace
	 * (a live child gives 0, a process not ours ECHILD). */
	d = opendir("/proc");
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		int mine = 0;

		if (*end || end == e->d_name || pid <= 1)
			continue;
		for (size_t i = 0; i < in->nkids && !mine; i++)
			mine = in->kids[i].pid == pid;
		if (!mine)
			waitpid((pid_t)pid, NULL, WNOHANG);
	}
	closedir(d);
}

/* A REAP: the harness has seen that child's exit. */
static void init_release(struct init *in, pid_t pid)
{
	for (size_t i = 0; i < in->nkids; i++) {
		if (in->kids[i].pid != pid)
			continue;
		waitpid(pid, NULL, WNOHANG);
		in->kids[i] = in->kids[--in->nkids];
		return;
	}
}

/* PID 1 of the sandbox: mounts /proc, starts what the harness asks for,
 * reaps, and exits as soon as the harness is gone (its end of ctl closes,
 * and PR_SET_PDEATHSIG), which makes the kernel kill every process in the
 * namespace; they are all the init's children, so it reaps them itself on
 * its way out and waits for no one else. */
static void init_main(int ctl, const struct fl_sandbox_cfg *cfg)
{
	struct init in = {.ctl = ctl, .cfg = cfg};
	struct ctl_msg ready = {.type = CTL_READY};
	struct pollfd pfd[2];
	sigset_t all, chld;
	int sfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "faultline-init");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		ready.value = errno;
	else if (mount("proc", "/proc", "proc",
		       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		ready.value = errno;
	/* /proc/sys read-only: a target running as uid 0 has no
	 * capabilities, but most sysctls check only the file's mode, and
	 * those outside the network namespace are the host's.  The
	 * harness wrote the sandbox's own before. */
	else if (mount("/proc/sys", "/proc/sys", NULL, MS_BIND | MS_REC,
		       NULL) < 0 ||
		 mount(NULL, "/proc/sys", NULL,
		       MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
			       MS_NOEXEC,
		       NULL) < 0)
		ready.value = errno;
	if (ctl_send(ctl, &ready, NULL, 0, 0) < 0 || ready.value)
		_exit(1);
	pfd[0] = (struct pollfd){.fd = ctl, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	for (;;) {
		struct signalfd_siginfo si;
		struct ctl_msg m;
		int fds[4];
		size_t nfds;
		pid_t cred;
		int n = poll(pfd, 2, 1000);

		if (n > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			int r = ctl_recv(ctl, &m, MSG_DONTWAIT, fds, &nfds, &cred);

			if (r == 0 || (r < 0 && r != -EAGAIN && r != -EPROTO))
				_exit(0); /* the harness is gone */
			if (r > 0 && m.type == CTL_SPAWN)
				init_spawn(&in, &m, fds, nfds);
			else if (r > 0 && m.type == CTL_REAP)
				init_release(&in, m.pid);
			else
				for (size_t i = 0; i < nfds; i++)
					close(fds[i]);
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		init_reap(&in);
	}
}

static int start_init(struct fl_sandbox *sb, char *err, size_t errlen)
{
	struct ctl_msg m;
	int sv[2], fds[4];
	size_t nfds;
	pid_t cred;
	int one = 1, ret;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		snprintf(err, errlen, "cannot start the sandbox's init: %s",
			 strerror(-ret));
		return ret;
	}
	if (pid == 0) {
		close(sv[0]);
		init_main(sv[1], &sb->cfg);
		_exit(0);
	}
	close(sv[1]);
	sb->reaper = pid;
	sb->ctl = sv[0];
	/* The pids of STARTED come as credentials, in this namespace. */
	if (setsockopt(sb->ctl, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		snprintf(err, errlen, "SO_PASSCRED: %s", strerror(errno));
		return -errno;
	}
	ret = ctl_recv(sb->ctl, &m, 0, fds, &nfds, &cred);
	if (ret <= 0 || m.type != CTL_READY) {
		snprintf(err, errlen, "the sandbox's init died at start");
		return -ECHILD;
	}
	if (m.value) {
		snprintf(err, errlen, "cannot mount /proc (read-only /proc/sys) in the sandbox: %s",
			 strerror(m.value));
		return -m.value;
	}
	return 0;
}

int fl_sandbox_enter(struct fl_sandbox **out, const struct fl_sandbox_cfg *cfg,
		     char *err, size_t errlen)
{
	struct fl_sandbox *sb = calloc(1, sizeof(*sb));
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID;
	int ret;

	if (!sb)
		return -ENOMEM;
	sb->cfg = *cfg;
	sb->reaper = -1;
	sb->ctl = -1;
	sb->host_proc = -1;
	if (uid != 0) {
		flags |= CLONE_NEWUSER;
		sb->userns = 1;
	}
	if (unshare(flags) < 0) {
		ret = -errno;
		snprintf(err, errlen,
			 "cannot create the sandbox's namespaces (unshare: %s); "
			 "%s",
			 strerror(errno),
			 sb->userns
				 ? "enable unprivileged user namespaces "
				   "(sysctl kernel.unprivileged_userns_clone=1 "
				   "and user.max_user_namespaces > 0) or run as root"
				 : "the kernel needs network, mount and PID "
				   "namespaces (CONFIG_NET_NS, CONFIG_PID_NS)");
		goto fail;
	}
	if (sb->userns) {
		ret = set_id_maps(err, errlen, uid, gid);
		if (ret < 0)
			goto fail;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") <
		    0) {
		ret = -errno;
		snprintf(err, errlen, "cannot set up the sandbox's mounts: %s",
			 strerror(errno));
		goto fail;
	}
	sb->host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ret = link_up(cfg->mtu ? cfg->mtu : 1500, err, errlen);
	if (ret < 0)
		goto fail;
	/* Any target may bind a low port, as it would as root elsewhere. */
	ret = write_file(AT_FDCWD,
			 "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");
	if (ret < 0 && cfg->verbose)
		fprintf(stderr, "faultline: ip_unprivileged_port_start: %s\n",
			strerror(-ret));
	/* The shim's event channel: the per-namespace default of 10 queued
	 * datagrams would make a busy target drop events. */
	ret = write_file(AT_FDCWD, "/proc/sys/net/unix/max_dgram_qlen", "4096");
	if (ret < 0 && cfg->verbose)
		fprintf(stderr, "faultline: max_dgram_qlen: %s\n", strerror(-ret));
	setenv("XTABLES_LOCKFILE", "/run/xtables.lock", 1);
	ret = start_init(sb, err, errlen);
	if (ret < 0)
		goto fail;
	*out = sb;
	return 0;
fail:
	fl_sandbox_free(sb);
	return ret;
}

/* ---- spawning, from the harness ---- */

/* A memfd holding argv, the environment and env's entries as a
 * spawn_block.  Returns the descriptor or -errno. */
static int block_write(char *const argv[], char *const env[])
{
	extern char **environ;
	struct spawn_block h = {0};
	char *buf, *p;
	size_t len = sizeof(h);
	int fd, ret = 0;

	for (size_t i = 0; argv[i]; i++, h.argc++)
		len += strlen(argv[i]) + 1;
	for (size_t i = 0; environ && environ[i]; i++, h.envc++)
		len += strlen(environ[i]) + 1;
	for (size_t i = 0; env && env[i]; i++, h.nextra++)
		len += strlen(env[i]) + 1;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	for (size_t i = 0; i < h.argc; i++)
		p = stpcpy(p, argv[i]) + 1;
	for (size_t i = 0; i < h.envc; i++)
		p = stpcpy(p, environ[i]) + 1;
	for (size_t i = 0; i < h.nextra; i++)
		p = stpcpy(p, env[i]) + 1;
	fd = memfd_create("faultline-spawn", MFD_CLOEXEC);
	if (fd < 0)
		ret = -errno;
	else if (write(fd, buf, len) != (ssize_t)len)
		ret = -EIO;
	free(buf);
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

/* Reads the next message from the init, blocking or (nonblock) not.
 * Returns 1, 0 when nothing waits, or -errno (-ECHILD: the init is gone). */
static int harness_recv(struct fl_sandbox *sb, struct ctl_msg *m, int nonblock,
			pid_t *cred)
{
	int fds[4];
	size_t nfds;
	int ret;

	for (;;) {
		ret = ctl_recv(sb->ctl, m, nonblock ? MSG_DONTWAIT : 0, fds,
			       &nfds, cred);
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		if (ret == -EAGAIN)
			return 0;
		if (ret == 0)
			return -ECHILD;
		if (ret != -EPROTO)
			return ret;
	}
}

/* Keeps an EXIT read while waiting for something else.  Returns 0 or
 * -ENOMEM. */
static int keep_exit(struct fl_sandbox *sb, const struct ctl_msg *m)
{
	if (sb->nexits == sb->capexits) {
		size_t cap = sb->capexits ? sb->capexits * 2 : 8;
		struct ctl_msg *v = realloc(sb->exits, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sb->exits = v;
		sb->capexits = cap;
	}
	sb->exits[sb->nexits++] = *m;
	return 0;
}

/*
 * Asks the init to start argv as kind with stdio (the descriptors of fds
 * 0, 1 and 2 in the child; -1: closed there).  Returns the child's pid in
 * the harness's view, or -errno with err filled.
 */
pid_t fl__sandbox_spawn(struct fl_sandbox *sb, enum spawn_kind kind,
			 char *const argv[], char *const env[],
			 const int stdio[3], char *err, size_t errlen)
{
	struct ctl_msg m = {.type = CTL_SPAWN, .kind = kind};
	int fds[4];
	size_t nfds = 1;
	pid_t cred = 0;
	int ret;

	if (sb->nkids == sb->capkids) {
		size_t cap = sb->capkids ? sb->capkids * 2 : 8;
		struct child *k = realloc(sb->kids, cap * sizeof(*k));

		if (!k) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		sb->kids = k;
		sb->capkids = cap;
	}
	fds[0] = block_write(argv, env);
	if (fds[0] < 0) {
		ret = fds[0];
		snprintf(err, errlen, "cannot pass '%s' to the sandbox: %s",
			 argv[0], strerror(-ret));
		return ret;
	}
	for (int i = 0; i < 3; i++) {
		if (stdio[i] < 0 || fcntl(stdio[i], F_GETFD) < 0)
			continue;
		fds[nfds++] = stdio[i];
		m.value |= 1 << i;
	}
	ret = ctl_send(sb->ctl, &m, fds, nfds, 0);
	close(fds[0]);
	while (ret == 0) {
		ret = harness_recv(sb, &m, 0, &cred);
		if (ret > 0 && m.type == CTL_STARTED)
			break;
		if (ret > 0 && m.type == CTL_EXIT)
			ret = keep_exit(sb, &m);
		else if (ret > 0)
			ret = 0; /* not ours: read on */
	}
	if (ret < 0) {
		snprintf(err, errlen, "cannot run '%s': the sandbox's init: %s",
			 argv[0], ret == -ECHILD ? "gone" : strerror(-ret));
		return ret;
	}
	if (m.value) {
		snprintf(err, errlen, "cannot run '%s': %s", argv[0],
			 strerror(m.value));
		return -m.value;
	}
	if (cred <= 0) {
		/* The init's credentials did not arrive: its child cannot be
		 * signalled or found in /proc. */
		snprintf(err, errlen, "cannot run '%s': no pid from the "
			 "sandbox's init", argv[0]);
		return -EPROTO;
	}
	sb->kids[sb->nkids++] = (struct child){.ns = m.pid, .host = cred};
	return cred;
}

pid_t fl_sandbox_spawn(struct fl_sandbox *sb, char *const argv[],
		       char *const env[], char *err, size_t errlen)
{
	return fl__sandbox_spawn(sb, SPAWN_TARGET, argv, env, (int[3]){0, 1, 2}, err,
			   errlen);
}

pid_t fl_sandbox_spawn_target(struct fl_sandbox *sb, char *const argv[],
			      char *const env[], char *err, size_t errlen)
{
	return fl__sandbox_spawn(sb, SPAWN_TARGET_KEEP, argv, env,
				 (int[3]){0, 1, 2}, err, errlen);
}

int fl_sandbox_fd(const struct fl_sandbox *sb)
{
	return sb->ctl;
}

int fl_sandbox_pending(const struct fl_sandbox *sb)
{
	return sb->nexits > 0;
}

/* The exit m as (*pid, *status), and the init told to reap it.  Returns 1,
 * or 0 for an EXIT of no child of ours. */
static int take_exit(struct fl_sandbox *sb, const struct ctl_msg *m,
		     pid_t *pid, int *status)
{
	for (size_t i = 0; i < sb->nkids; i++) {
		if (sb->kids[i].ns != m->pid)
			continue;
		*pid = sb->kids[i].host;
		*status = m->value;
		sb->kids[i] = sb->kids[--sb->nkids];
		/* When the init is gone, so is the zombie. */
		ctl_send(sb->ctl, &(struct ctl_msg){.type = CTL_REAP,
						    .pid = m->pid},
			 NULL, 0, 0);
		return 1;
	}
	return 0;
}

int fl_sandbox_wait(struct fl_sandbox *sb, pid_t *pid, int *status)
{
	struct ctl_msg m;
	pid_t cred;
	int ret;

	while (sb->nexits) {
		m = sb->exits[0];
		memmove(sb->exits, sb->exits + 1,
			--sb->nexits * sizeof(*sb->exits));
		if (take_exit(sb, &m, pid, status))
			return 1;
	}
	for (;;) {
		ret = harness_recv(sb, &m, 1, &cred);
		if (ret <= 0)
			return ret;
		if (m.type == CTL_EXIT && take_exit(sb, &m, pid, status))
			return 1;
	}
}

/* Waits for the exit of the spawned child pid (the harness's view); other
 * exits are kept for fl_sandbox_wait().  Returns 0 with *status, or
 * -errno. */
int fl__sandbox_wait_child(struct fl_sandbox *sb, pid_t pid, int *status)
{
	struct ctl_msg m;
	pid_t got, cred;
	int ret;

	for (size_t i = 0; i < sb->nexits; i++) {
		m = sb->exits[i];
		for (size_t k = 0; k < sb->nkids; k++) {
			if (sb->kids[k].ns != m.pid || sb->kids[k].host != pid)
				continue;
			memmove(sb->exits + i, sb->exits + i + 1,
				(--sb->nexits - i) * sizeof(*sb->exits));
			take_exit(sb, &m, &got, status);
			return 0;
		}
	}
	for (;;) {
		ret = harness_recv(sb, &m, 0, &cred);
		if (ret < 0)
			return ret;
		if (ret == 0 || m.type != CTL_EXIT)
			continue;
		for (size_t k = 0; k < sb->nkids; k++) {
			if (sb->kids[k].ns == m.pid && sb->kids[k].host == pid) {
				take_exit(sb, &m, &got, status);
				return 0;
			}
		}
		ret = keep_exit(sb, &m);
		if (ret < 0)
			return ret;
	}
}

int fl_sandbox_host_proc(const struct fl_sandbox *sb)
{
	return sb->host_proc;
}

void fl_sandbox_free(struct fl_sandbox *sb)
{
	if (!sb)
		return;
	if (sb->ctl >= 0)
		close(sb->ctl);
	if (sb->reaper > 0) {
		kill(sb->reaper, SIGKILL);
		waitpid(sb->reaper, NULL, 0);
	}
	if (sb->host_proc >= 0)
		close(sb->host_proc);
	free(sb->kids);
	free(sb->exits);
	free(sb);
}
