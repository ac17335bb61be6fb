/*
 * sandbox.c - namespaces, loopback, iptables NFQUEUE rules, and spawning
 * the target and driver with no privileges; see sandbox.h.
 *
 * Process layout:
 *   harness (new user?/net/mount namespaces, host PID namespace)
 *     +- reaper (PID 1 of the new PID namespace: mounts /proc, reaps orphans)
 *     +- target, driver, iptables (children of the harness, inside the
 *        new PID namespace, so the harness can wait for them directly)
 */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "sandbox.h"

struct fl_sandbox {
	struct fl_sandbox_cfg cfg;
	int userns;
	pid_t reaper;
	int reaper_pipe; /* write end; the reaper exits when it closes */
	int host_proc;   /* O_PATH fd of the host's /proc */
	char iptables[2][64]; /* chosen binaries for IPv4, IPv6 */
	const char *backend;
	int close_tracking; /* every segment of closing flows is queued */
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

/* PID 1 of the sandbox: mount /proc, reap orphans, and exit as soon as the
 * harness is gone, which makes the kernel kill everything in the namespace. */
static void reaper_main(int rfd, int ready_fd)
{
	struct pollfd pfd = {.fd = rfd, .events = POLLIN};
	char c = 0;
	sigset_t all;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "faultline-init");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		c = (char)errno;
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;) {
		/* POLLHUP when the harness's end closes, however it died. */
		int n = poll(&pfd, 1, 100);

		if (n > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLIN)))
			_exit(0);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

static int start_reaper(struct fl_sandbox *sb, char *err, size_t errlen)
{
	int life[2], ready[2];
	char c;
	pid_t pid;

	if (pipe2(life, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start the sandbox's init: %s",
			 strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		close(life[1]);
		close(ready[0]);
		reaper_main(life[0], ready[1]);
	}
	close(life[0]);
	close(ready[1]);
	sb->reaper = pid;
	sb->reaper_pipe = life[1];
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		snprintf(err, errlen, "the sandbox's init died at start");
		return -ECHILD;
	}
	close(ready[0]);
	if (c) {
		snprintf(err, errlen, "cannot mount /proc in the sandbox: %s",
			 strerror(c));
		return -c;
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
	sb->reaper_pipe = -1;
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
	ret = start_reaper(sb, err, errlen);
	if (ret < 0)
		goto fail;
	*out = sb;
	return 0;
fail:
	fl_sandbox_free(sb);
	return ret;
}

/* ---- running iptables ---- */

/*
 * The rules go in with one iptables-restore per family (iptables and
 * ip6tables), both at once: each exec of iptables costs ~10 ms of loading
 * (xtables-*-multi, its libraries and extensions), and one `iptables -A`
 * per rule made a dozen of them, one after the other.  A restore commits
 * its table in one transaction (nft) or one replace (legacy), so a ruleset
 * that fails leaves nothing behind.  Both families' restores may run at
 * the same time: nft serialises transactions in the kernel, and the legacy
 * backend's -w waits on the sandbox's xtables lock.
 */

static int find_in_path(const char *name, char *buf, size_t n)
{
	const char *path = getenv("PATH");
	char dirs[1024];
	char *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin:/bin",
		 path ? path : "");
	for (char *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		snprintf(buf, n, "%s/%s", d, name);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Text written to fd line by line; the first error sticks and the rest is
 * skipped, so a ruleset is written without a check per line. */
struct rules_out {
	int fd;
	int err; /* 0 or -errno */
};

static void emit(struct rules_out *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;
	ssize_t w;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		o->err = -EOVERFLOW;
		return;
	}
	/* A memfd takes the whole write or fails. */
	w = write(o->fd, line, (size_t)n);
	if (w < 0)
		o->err = -errno;
	else if (w != n)
		o->err = -EIO;
}

/* The NFQUEUE rules, appended to OUTPUT, as iptables-restore reads them:
 * the same text for iptables and ip6tables.  connmark: with the rules that
 * queue every segment of a closing flow.  Returns 0 or -errno. */
static int write_ruleset(int fd, const struct fl_sandbox_cfg *cfg,
			 int connmark)
{
	struct rules_out o = {.fd = fd};
	const char *q = "-j NFQUEUE --queue-num";
	unsigned qn = cfg->queue_num;

	emit(&o, "*filter\n");
	/* Segments the engine injects carry the mark and are not queued
	 * again. */
	emit(&o, "-A OUTPUT -o lo -p tcp -m mark --mark 0x%x -j ACCEPT\n",
	     (unsigned)cfg->mark);
	if (!cfg->queue_all) {
		for (size_t i = 0; i < cfg->nports; i++) {
			unsigned port = cfg->ports[i];

			emit(&o, "-A OUTPUT -o lo -p tcp --sport %u %s %u\n",
			     port, q, qn);
			emit(&o, "-A OUTPUT -o lo -p tcp --dport %u %s %u\n",
			     port, q, qn);
		}
		/* Once a connection has sent a FIN or RST, queue all its
		 * segments: the ACKs of the close are what move its states
		 * (FIN_WAIT1 -> FIN_WAIT2, LAST_ACK -> CLOSE). */
		if (connmark) {
			emit(&o, "-A OUTPUT -o lo -p tcp --tcp-flags FIN FIN "
			     "-j CONNMARK --set-xmark 0x1/0x1\n");
			emit(&o, "-A OUTPUT -o lo -p tcp --tcp-flags RST RST "
			     "-j CONNMARK --set-xmark 0x1/0x1\n");
			emit(&o, "-A OUTPUT -o lo -p tcp -m connmark --mark "
			     "0x1/0x1 %s %u\n", q, qn);
		}
		/* No rule looks at plain data or ACK segments: they never
		 * leave the kernel. */
		emit(&o, "-A OUTPUT -o lo -p tcp --tcp-flags SYN,FIN,RST NONE "
		     "-j ACCEPT\n");
	}
	emit(&o, "-A OUTPUT -o lo -p tcp %s %u\n", q, qn);
	emit(&o, "COMMIT\n");
	return o.err;
}

/* Undoes write_ruleset()'s rules of a family whose partner failed, so the
 * next backend does not queue its segments twice. */
static int write_flush(int fd)
{
	struct rules_out o = {.fd = fd};

	emit(&o, "*filter\n-F OUTPUT\nCOMMIT\n");
	return o.err;
}

/* One iptables-restore: its stdin and stderr are memfds, so neither side
 * blocks on a pipe whatever the ruleset's or the message's size. */
struct restore {
	const char *bin;
	pid_t pid;
	int in;  /* the ruleset, read from its start */
	int err; /* what the restore wrote on stderr */
};

static void restore_close(struct restore *r)
{
	if (r->in >= 0)
		close(r->in);
	if (r->err >= 0)
		close(r->err);
	r->in = r->err = -1;
}

/*
 * Starts `bin -w --noflush` with the text that write() puts into its stdin
 * (write_ruleset() or write_flush(); cfg and connmark are for the former).
 * The child gets CAP_NET_ADMIN/CAP_NET_RAW as ambient capabilities, so an
 * iptables exec'd by a non-root harness keeps them.  Returns 0 with r->pid
 * set, or -errno with r's descriptors closed.
 */
static int restore_start(struct restore *r, const char *bin,
			 const struct fl_sandbox_cfg *cfg, int connmark,
			 int flush)
{
	char *argv[] = {(char *)bin, "-w", "--noflush", NULL};
	int ret;

	r->bin = bin;
	r->pid = -1;
	r->in = memfd_create("faultline-rules", MFD_CLOEXEC);
	r->err = memfd_create("faultline-iptables-stderr", MFD_CLOEXEC);
	if (r->in < 0 || r->err < 0) {
		ret = -errno;
		goto fail;
	}
	ret = flush ? write_flush(r->in) : write_ruleset(r->in, cfg, connmark);
	if (ret < 0)
		goto fail;
	if (lseek(r->in, 0, SEEK_SET) < 0) {
		ret = -errno;
		goto fail;
	}
	r->pid = fork();
	if (r->pid < 0) {
		ret = -errno;
		goto fail;
	}
	if (r->pid == 0) {
		cap_value_t caps[] = {CAP_NET_ADMIN, CAP_NET_RAW};
		cap_t c = cap_get_proc();
		int devnull = open("/dev/null", O_RDWR);

		if (c) {
			cap_set_flag(c, CAP_INHERITABLE, 2, caps, CAP_SET);
			cap_set_proc(c);
			cap_free(c);
		}
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0);
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0);
		dup2(r->in, 0);
		dup2(devnull, 1);
		dup2(r->err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return 0;
fail:
	restore_close(r);
	return ret;
}

/* Waits for r and puts its stderr, without the trailing newlines, into
 * msg.  Returns its exit status (128 + the signal if killed), or -errno. */
static int restore_wait(struct restore *r, char *msg, size_t msglen)
{
	ssize_t n;
	int st, ret;

	while (waitpid(r->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	}
	ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (msglen) {
		n = pread(r->err, msg, msglen - 1, 0);
		msg[n > 0 ? n : 0] = 0;
		for (char *p = msg + strlen(msg); p > msg && p[-1] == '\n'; p--)
			p[-1] = 0;
		if (ret == 127 && !msg[0])
			snprintf(msg, msglen, "cannot run %s", r->bin);
	}
out:
	restore_close(r);
	return ret;
}

/* One family's restore within a backend's attempt. */
struct family {
	char bin[256]; /* path of iptables-BACKEND-restore or ip6tables-... */
	int todo;      /* run in this round */
	int connmark;  /* its ruleset tracks closes */
	int ret;       /* the last round's result: 0, exit status or -errno */
	char msg[512]; /* and its message */
};

/* Runs the restores of every family marked todo at the same time: their
 * rulesets, or (flush) the flush of what they installed. */
static void restore_families(const struct fl_sandbox_cfg *cfg,
			     struct family fam[2], int flush)
{
	struct restore r[2];
	int started[2] = {0, 0};

	for (size_t f = 0; f < 2; f++) {
		if (!fam[f].todo)
			continue;
		fam[f].ret = restore_start(&r[f], fam[f].bin, cfg,
					   fam[f].connmark, flush);
		if (fam[f].ret < 0)
			snprintf(fam[f].msg, sizeof(fam[f].msg),
				 "cannot run %s: %s", fam[f].bin,
				 strerror(-fam[f].ret));
		else
			started[f] = 1;
	}
	for (size_t f = 0; f < 2; f++)
		if (started[f])
			fam[f].ret = restore_wait(&r[f], fam[f].msg,
						  sizeof(fam[f].msg));
}

/*
 * Installs the rules of both families with one backend.  Returns 0, or the
 * result of the restore that failed (an exit status or -errno) with its
 * message in msg; a failure leaves no rule of this backend behind.
 */
static int install_backend(struct fl_sandbox *sb, struct family fam[2],
			   char *msg, size_t msglen)
{
	int want = !sb->cfg.queue_all;
	char note[sizeof(fam->msg)] = "";
	int ret = 0;

	for (size_t f = 0; f < 2; f++) {
		fam[f].todo = 1;
		fam[f].connmark = want;
	}
	restore_families(&sb->cfg, fam, 0);
	/* Close tracking is optional: a kernel without conntrack just gives
	 * coarser state paths.  A restore is all or nothing, so a family
	 * that failed is tried once more without it. */
	if (want) {
		for (size_t f = 0; f < 2; f++) {
			fam[f].todo = fam[f].ret != 0;
			if (!fam[f].todo)
				continue;
			if (!note[0])
				memcpy(note, fam[f].msg, sizeof(note));
			fam[f].connmark = 0;
		}
		if (fam[0].todo || fam[1].todo)
			restore_families(&sb->cfg, fam, 0);
	}
	for (size_t f = 0; f < 2 && !ret; f++) {
		if (fam[f].ret != 0) {
			ret = fam[f].ret;
			snprintf(msg, msglen, "%s", fam[f].msg);
		}
	}
	if (ret) {
		/* The other family's rules go, or the next backend's would
		 * queue its segments a second time. */
		for (size_t f = 0; f < 2; f++)
			fam[f].todo = fam[f].ret == 0;
		if (fam[0].todo || fam[1].todo)
			restore_families(&sb->cfg, fam, 1);
		return ret;
	}
	sb->close_tracking = fam[0].connmark && fam[1].connmark;
	if (want && !sb->close_tracking && sb->cfg.verbose)
		fprintf(stderr, "faultline: no CONNMARK (%s): closing "
			"segments are sampled, not all queued\n", note);
	return 0;
}

int fl_sandbox_install_queue(struct fl_sandbox *sb, char *err, size_t errlen)
{
	static const char *const backends[] = {"nft", "legacy"};
	static const char *const fams[] = {"iptables", "ip6tables"};
	struct family fam[2];
	char msg[1024] = "", name[64];
	int ret = -ENOENT;

	for (size_t b = 0; b < 2; b++) {
		int found = 1;

		memset(fam, 0, sizeof(fam));
		for (size_t f = 0; f < 2 && found; f++) {
			snprintf(name, sizeof(name), "%s-%s-restore", fams[f],
				 backends[b]);
			if (find_in_path(name, fam[f].bin,
					 sizeof(fam[f].bin)) < 0) {
				snprintf(msg, sizeof(msg), "%s not found", name);
				ret = -ENOENT;
				found = 0;
			}
		}
		if (found) {
			ret = install_backend(sb, fam, msg, sizeof(msg));
			if (ret == 0) {
				for (size_t f = 0; f < 2; f++)
					snprintf(sb->iptables[f],
						 sizeof(sb->iptables[f]),
						 "%s-%s", fams[f], backends[b]);
				sb->backend = backends[b];
				return 0;
			}
		}
		if (b == 0 && sb->cfg.verbose)
			fprintf(stderr, "faultline: iptables-nft failed (%s), "
				"trying iptables-legacy\n", msg);
	}
	snprintf(err, errlen,
		 "cannot install the NFQUEUE rules with iptables (nft or legacy "
		 "backend): %s; install them with 'apt-get install iptables' "
		 "and make sure the kernel has NETFILTER_NETLINK_QUEUE and "
		 "NETFILTER_XT_TARGET_NFQUEUE",
		 msg[0] ? msg : "unknown error");
	return ret < 0 ? ret : -EPERM;
}

const char *fl_sandbox_backend(const struct fl_sandbox *sb)
{
	return sb->backend ? sb->backend : "none";
}

int fl_sandbox_host_proc(const struct fl_sandbox *sb)
{
	return sb->host_proc;
}

/* ---- spawning ---- */

/* In the child: drop every capability for good.  Returns 0 or -errno. */
static int drop_privileges(const struct fl_sandbox_cfg *cfg)
{
	cap_t none;
	int ret = 0;

	/* A process with uid 0 regains all capabilities at execve unless
	 * told not to (capabilities(7), "Capabilities and execution of
	 * programs by root"). */
	prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
					 SECBIT_NO_SETUID_FIXUP |
					 SECBIT_NO_SETUID_FIXUP_LOCKED,
	      0, 0, 0);
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (cfg->have_user) {
		if (setgroups(1, &cfg->gid) < 0 || setresgid(cfg->gid, cfg->gid, cfg->gid) < 0 ||
		    setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
			return -errno;
	}
	none = cap_init();
	if (!none || cap_set_proc(none) < 0)
		ret = -errno;
	cap_free(none);
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

pid_t fl_sandbox_spawn(struct fl_sandbox *sb, char *const argv[],
		       char *const env[], char *err, size_t errlen)
{
	int pfd[2];
	pid_t pid;
	int cerr = 0;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		sigset_t none;
		int e;

		close(pfd[0]);
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		unsetenv("XTABLES_LOCKFILE");
		e = drop_privileges(&sb->cfg);
		if (e == 0) {
			execvp(argv[0], argv);
			e = -errno;
		}
		e = -e;
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	/* The pipe closes on a successful exec; otherwise it carries errno. */
	n = read(pfd[0], &cerr, sizeof(cerr));
	close(pfd[0]);
	if (n == (ssize_t)sizeof(cerr)) {
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "cannot run '%s': %s", argv[0],
			 strerror(cerr));
		return -cerr;
	}
	return pid;
}

void fl_sandbox_free(struct fl_sandbox *sb)
{
	if (!sb)
		return;
	if (sb->reaper_pipe >= 0)
		close(sb->reaper_pipe);
	if (sb->reaper > 0) {
		kill(sb->reaper, SIGKILL);
		waitpid(sb->reaper, NULL, 0);
	}
	if (sb->host_proc >= 0)
		close(sb->host_proc);
	free(sb);
}
