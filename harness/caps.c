/*
 * caps.c - capability names, the ones the target may not keep, and the
 * --keep-cap list; see caps.h.  Pure functions over a constant table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <linux/capability.h>

#include "caps.h"

/* capabilities(7), by number (linux/capability.h). */
static const char *const names[FL_CAP_MAX + 1] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

_Static_assert(sizeof(names) / sizeof(names[0]) == FL_CAP_MAX + 1 &&
		       CAP_CHECKPOINT_RESTORE == FL_CAP_MAX,
	       "one name per capability");

const char *fl_cap_name(unsigned cap)
{
	return cap <= FL_CAP_MAX ? names[cap] : NULL;
}

/*
 * The sandbox holds because the target cannot leave its namespaces, undo
 * its mounts, reach the sandbox's init (which holds every capability and
 * the channel to faultline) or change the running kernel.  Each of these
 * would let it do one of those.  As root there is no user namespace: a
 * kept capability is the host's own, so these act on the host.
 */
const char *fl_cap_refused(unsigned cap)
{
	switch (cap) {
	case CAP_SYS_ADMIN:
		return "it can unmount the sandbox's /proc and /proc/sys, "
		       "mount anything and enter other namespaces (setns): it "
		       "undoes the sandbox";
	case CAP_SYS_PTRACE:
		return "it can ptrace the sandbox's init, which holds every "
		       "capability and faultline's control socket, and read "
		       "any process's memory";
	case CAP_SYS_MODULE:
		return "it loads code into the host's kernel";
	case CAP_SYS_RAWIO:
		return "it gives raw access to the host's memory and I/O ports";
	case CAP_BPF:
		return "it loads BPF programs into the host's kernel, which "
		       "see every namespace";
	case CAP_PERFMON:
		return "it observes every process on the host, faultline's "
		       "own included";
	}
	return NULL;
}

/* The capability named by s[0..len), or -1. */
static int lookup(const char *s, size_t len)
{
	if (len > 4 && !strncasecmp(s, "CAP_", 4)) {
		s += 4;
		len -= 4;
	}
	for (unsigned c = 0; c <= FL_CAP_MAX; c++)
		if (strlen(names[c]) - 4 == len && !strncasecmp(names[c] + 4, s, len))
			return (int)c;
	return -1;
}

int fl_caps_parse(const char *list, uint64_t *mask, char *err, size_t errlen)
{
	uint64_t m = 0;

	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		int c = lookup(p, len);
		size_t at;

		if (c < 0) {
			at = (size_t)snprintf(err, errlen, "%s '%.*s'; the valid "
					      "names (case-insensitive, with or "
					      "without CAP_):", len ? "unknown capability"
					      : "empty capability name", (int)len, p);
			for (unsigned k = 0, i = 0; k <= FL_CAP_MAX && at < errlen; k++)
				if (!fl_cap_refused(k))
					at += (size_t)snprintf(err + at, errlen - at,
							       "%s%s", i++ ? ", " : " ",
							       names[k] + 4);
			for (unsigned k = 0, i = 0; k <= FL_CAP_MAX && at < errlen; k++)
				if (fl_cap_refused(k))
					at += (size_t)snprintf(err + at, errlen - at,
							       "%s%s", i++ ? ", " : " (never "
							       "kept: ", names[k] + 4);
			if (at < errlen)
				snprintf(err + at, errlen - at, ")");
			return -EINVAL;
		}
		if (fl_cap_refused((unsigned)c)) {
			snprintf(err, errlen, "%s is never kept for the target: %s",
				 names[c], fl_cap_refused((unsigned)c));
			return -EPERM;
		}
		m |= 1ull << c;
		p += len;
		if (!*p)
			break;
	}
	*mask |= m;
	return 0;
}

void fl_caps_format(uint64_t mask, char *buf, size_t n)
{
	size_t at = 0;

	if (n)
		buf[0] = 0;
	for (unsigned c = 0; c <= FL_CAP_MAX && at < n; c++)
		if (mask & (1ull << c))
			at += (size_t)snprintf(buf + at, n - at, "%s%s",
					       at ? "," : "", names[c]);
}
