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

/* Runs argv with CAP_NET_ADMIN/CAP_NET_RAW as ambient capabilities, so an
 * iptables exec'd by a non-root harness keeps them.  Its stderr goes into
 * msg.  Returns its exit status, or -errno. */
static int run_priv(char *const argv[], char *msg, size_t msglen)
{
	int pfd[2];
	pid_t pid;
	int st;
	ssize_t n;
	size_t got = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
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
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(pfd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < msglen &&
	       (n = read(pfd[0], msg + got, msglen - 1 - got)) > 0)
		got += (size_t)n;
	if (msglen)
		msg[got] = 0;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* iptables BIN -w -A OUTPUT <args...> */
static int ipt(const char *bin, char *msg, size_t msglen, ...)
{
	char *argv[32];
	size_t n = 0;
	va_list ap;
	const char *a;

	argv[n++] = (char *)bin;
	argv[n++] = "-w";
	va_start(ap, msglen);
	while ((a = va_arg(ap, const char *)) != NULL && n < 31)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return run_priv(argv, msg, msglen);
}

static int install_rules(struct fl_sandbox *sb, const char *bin, char *msg,
			 size_t msglen)
{
	char mark[16], qnum[16], port[8];
	int ret;

	snprintf(mark, sizeof(mark), "0x%x", sb->cfg.mark);
	snprintf(qnum, sizeof(qnum), "%u", sb->cfg.queue_num);
	/* Segments the engine injects carry the mark and are not queued
	 * again. */
	ret = ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo", "-p", "tcp",
		  "-m", "mark", "--mark", mark, "-j", "ACCEPT", NULL);
	if (ret)
		return ret;
	if (!sb->cfg.queue_all) {
		for (size_t i = 0; i < sb->cfg.nports; i++) {
			snprintf(port, sizeof(port), "%u", sb->cfg.ports[i]);
			ret = ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo",
				  "-p", "tcp", "--sport", port, "-j", "NFQUEUE",
				  "--queue-num", qnum, NULL);
			if (!ret)
				ret = ipt(bin, msg, msglen, "-A", "OUTPUT", "-o",
					  "lo", "-p", "tcp", "--dport", port,
					  "-j", "NFQUEUE", "--queue-num", qnum,
					  NULL);
			if (ret)
				return ret;
		}
		/* Once a connection has sent a FIN or RST, queue all its
		 * segments: the ACKs of the close are what move its states
		 * (FIN_WAIT1 -> FIN_WAIT2, LAST_ACK -> CLOSE).  Optional: a
		 * kernel without conntrack just gives coarser state paths. */
		if (ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo", "-p",
			"tcp", "--tcp-flags", "FIN", "FIN", "-j", "CONNMARK",
			"--set-xmark", "0x1/0x1", NULL) == 0 &&
		    ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo", "-p",
			"tcp", "--tcp-flags", "RST", "RST", "-j", "CONNMARK",
			"--set-xmark", "0x1/0x1", NULL) == 0 &&
		    ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo", "-p",
			"tcp", "-m", "connmark", "--mark", "0x1/0x1", "-j",
			"NFQUEUE", "--queue-num", qnum, NULL) == 0)
			sb->close_tracking = 1;
		else if (sb->cfg.verbose)
			fprintf(stderr, "faultline: no CONNMARK (%s): closing "
				"segments are sampled, not all queued\n", msg);
		/* No rule looks at plain data or ACK segments: they never
		 * leave the kernel. */
		ret = ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo", "-p",
			  "tcp", "--tcp-flags", "SYN,FIN,RST", "NONE", "-j",
			  "ACCEPT", NULL);
		if (ret)
			return ret;
	}
	return ipt(bin, msg, msglen, "-A", "OUTPUT", "-o", "lo", "-p", "tcp",
		   "-j", "NFQUEUE", "--queue-num", qnum, NULL);
}

int fl_sandbox_install_queue(struct fl_sandbox *sb, char *err, size_t errlen)
{
	static const char *const backends[] = {"nft", "legacy"};
	static const char *const fams[] = {"iptables", "ip6tables"};
	char msg[1024] = "", bin[256], name[64];
	int ret = -ENOENT;

	for (size_t b = 0; b < 2; b++) {
		int ok = 1;

		for (size_t f = 0; f < 2 && ok; f++) {
			snprintf(name, sizeof(name), "%s-%s", fams[f], backends[b]);
			if (find_in_path(name, bin, sizeof(bin)) < 0) {
				snprintf(msg, sizeof(msg), "%s not found", name);
				ok = 0;
				break;
			}
			ret = install_rules(sb, bin, msg, sizeof(msg));
			if (ret) {
				/* Undo what this backend did before trying
				 * the next one. */
				char m2[256];

				ipt(bin, m2, sizeof(m2), "-F", "OUTPUT", NULL);
				ok = 0;
				break;
			}
			snprintf(sb->iptables[f], sizeof(sb->iptables[f]), "%s",
				 name);
		}
		if (ok) {
			sb->backend = backends[b];
			return 0;
		}
		if (b == 0 && sb->cfg.verbose)
			fprintf(stderr, "faultline: iptables-nft failed (%s), "
				"trying iptables-legacy\n", msg);
	}
	for (char *p = msg + strlen(msg); p > msg && p[-1] == '\n'; p--)
		p[-1] = 0;
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
