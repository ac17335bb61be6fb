/*
 * sandbox_queue.c - the sandbox's NFQUEUE rules: written as one
 * iptables-restore input per family and run by the sandbox's init
 * (sandbox.c), with the nft backend or the legacy one; see sandbox.h.
 * Single-threaded (the harness's thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sandbox.h"
#include "sandbox_int.h"

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
 * Starts `bin -w --noflush`, a child of the sandbox's init, with the
 * ruleset (write_ruleset() with connmark, or with flush write_flush()) as
 * its stdin.  The child gets CAP_NET_ADMIN/CAP_NET_RAW as ambient
 * capabilities, so an iptables exec'd by a non-root harness keeps them.
 * Returns 0 with r->pid set, or -errno with r's descriptors closed.
 */
static int restore_start(struct fl_sandbox *sb, struct restore *r,
			 const char *bin, int connmark, int flush)
{
	char *argv[] = {(char *)bin, "-w", "--noflush", NULL};
	char msg[256];
	int devnull = -1;
	int ret;

	r->bin = bin;
	r->pid = -1;
	r->in = memfd_create("faultline-rules", MFD_CLOEXEC);
	r->err = memfd_create("faultline-iptables-stderr", MFD_CLOEXEC);
	if (r->in < 0 || r->err < 0) {
		ret = -errno;
		goto fail;
	}
	ret = flush ? write_flush(r->in)
		    : write_ruleset(r->in, &sb->cfg, connmark);
	if (ret < 0)
		goto fail;
	if (lseek(r->in, 0, SEEK_SET) < 0) {
		ret = -errno;
		goto fail;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	r->pid = fl__sandbox_spawn(sb, SPAWN_TOOL, argv, NULL,
			     (int[3]){r->in, devnull, r->err}, msg, sizeof(msg));
	if (r->pid < 0) {
		ret = r->pid;
		goto fail;
	}
	close(devnull);
	return 0;
fail:
	if (devnull >= 0)
		close(devnull);
	restore_close(r);
	return ret;
}

/* Waits for r and puts its stderr, without the trailing newlines, into
 * msg.  Returns its exit status (128 + the signal if killed), or -errno. */
static int restore_wait(struct fl_sandbox *sb, struct restore *r, char *msg,
			size_t msglen)
{
	ssize_t n;
	int st, ret;

	ret = fl__sandbox_wait_child(sb, r->pid, &st);
	if (ret < 0)
		goto out;
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
static void restore_families(struct fl_sandbox *sb, struct family fam[2],
			     int flush)
{
	struct restore r[2];
	int started[2] = {0, 0};

	for (size_t f = 0; f < 2; f++) {
		if (!fam[f].todo)
			continue;
		fam[f].ret = restore_start(sb, &r[f], fam[f].bin,
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
			fam[f].ret = restore_wait(sb, &r[f], fam[f].msg,
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
	restore_families(sb, fam, 0);
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
			restore_families(sb, fam, 0);
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
			restore_families(sb, fam, 1);
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

