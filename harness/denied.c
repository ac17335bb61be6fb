/*
 * denied.c - the meaning of a refused privileged operation; see denied.h.
 * The rules are capabilities(7)'s and user_namespaces(7)'s: an id change
 * needs CAP_SETUID/CAP_SETGID, a chown CAP_CHOWN, a bind below
 * ip_unprivileged_port_start CAP_NET_BIND_SERVICE; in a user namespace a
 * capability covers only the ids it maps, an unmapped id is EINVAL
 * whatever the capabilities, and setgroups is refused outright when the
 * namespace was made by an unprivileged user ("deny" in
 * /proc/PID/setgroups, as the sandbox must write it).  Pure functions.
 */
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "denied.h"

int fl_denial_cap(const struct fl_denial *d)
{
	/* an integer from the wire, not only the enum's values */
	switch ((unsigned)d->fn) {
	case FL_FN_SETUID:
	case FL_FN_SETREUID:
	case FL_FN_SETRESUID:
		return CAP_SETUID;
	case FL_FN_SETGID:
	case FL_FN_SETREGID:
	case FL_FN_SETRESGID:
	case FL_FN_SETGROUPS:
	case FL_FN_INITGROUPS:
		return CAP_SETGID;
	case FL_FN_CHOWN:
	case FL_FN_FCHOWN:
	case FL_FN_LCHOWN:
	case FL_FN_FCHOWNAT:
		return CAP_CHOWN;
	case FL_FN_BIND:
		return CAP_NET_BIND_SERVICE;
	default:
		break;
	}
	return -1;
}

/* An id as the caller passed it: -1 for "unchanged". */
static int id_text(char *buf, size_t n, uint32_t id)
{
	return id == ~0u ? snprintf(buf, n, "-1") : snprintf(buf, n, "%u", id);
}

void fl_denial_call(const struct fl_denial *d, char *buf, size_t n)
{
	const char *fn = fl_ev_fn_name(d->fn) ? fl_ev_fn_name(d->fn) : "?";
	size_t at = 0;

	if (!n)
		return;
#define ADD(...) do { if (at < n) at += (size_t)snprintf(buf + at, n - at, __VA_ARGS__); } while (0)
	ADD("%s(", fn);
	if (d->fn == FL_FN_BIND) {
		ADD("port %d", d->port);
	} else if (d->fn == FL_FN_SETGROUPS) {
		ADD("%u", d->ids[0]);
		for (unsigned i = 1; i < d->nids; i++) {
			ADD(i == 1 ? ", [" : ", ");
			if (at < n)
				at += (size_t)id_text(buf + at, n - at, d->ids[i]);
		}
		if (d->nids > 1)
			ADD(d->ids[0] > 2 ? ", ...]" : "]");
	} else if (d->fn == FL_FN_INITGROUPS) {
		ADD("\"%s\", %u", d->path, d->ids[0]);
	} else {
		if (d->fn == FL_FN_FCHOWNAT || d->fn == FL_FN_FCHOWN)
			ADD("%d, ", d->fd);
		if (d->fn == FL_FN_CHOWN || d->fn == FL_FN_LCHOWN ||
		    d->fn == FL_FN_FCHOWNAT)
			ADD("\"%s\", ", d->path);
		for (unsigned i = 0; i < d->nids; i++) {
			ADD(i ? ", " : "");
			if (at < n)
				at += (size_t)id_text(buf + at, n - at, d->ids[i]);
		}
	}
	ADD(")");
#undef ADD
}

static int held(const struct fl_denial *d, int cap)
{
	return cap >= 0 && cap < 64 && (d->cap_eff & (1ull << cap));
}

int fl_denial_withheld(const struct fl_denial *d, const struct fl_denial_ctx *x)
{
	int cap = fl_denial_cap(d);

	/* the driver and the peer never keep a capability: not the
	 * target's state */
	if (cap < 0 || x->userns || d->euid != 0 || held(d, cap) ||
	    d->role == FL_DENIAL_DRIVER || d->role == FL_DENIAL_PEER)
		return 0;
	/* EINVAL is an id no capability makes valid */
	return d->fn == FL_FN_BIND ? d->err == EACCES || d->err == EPERM
				   : d->err == EPERM;
}

/* "setgid", the --keep-cap spelling of CAP_SETGID. */
static void opt_name(int cap, char *buf, size_t n)
{
	const char *name = fl_cap_name((unsigned)cap);
	size_t i = 0;

	for (name = name ? name + 4 : "?"; name[i] && i + 1 < n; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[i] = 0;
}

void fl_denial_explain(const struct fl_denial *d, const struct fl_denial_ctx *x,
		       char *buf, size_t n)
{
	int cap = fl_denial_cap(d);
	const char *cn = cap >= 0 ? fl_cap_name((unsigned)cap) : NULL;
	char opt[32], port[96] = "";
	int groups = d->fn == FL_FN_SETGROUPS || d->fn == FL_FN_INITGROUPS;

	if (!cn) {
		snprintf(buf, n, "not an operation faultline knows");
		return;
	}
	opt_name(cap, opt, sizeof(opt));
	if (d->fn == FL_FN_BIND)
		snprintf(port, sizeof(port), ", and port %d is below "
			 "ip_unprivileged_port_start (%d)", d->port,
			 d->unpriv_port_start >= 0 ? d->unpriv_port_start : 1024);
	if (d->err == EINVAL && d->fn != FL_FN_BIND) {
		if (x->userns)
			snprintf(buf, n, "an id not mapped in the sandbox's user "
				 "namespace, which maps only uid %u and gid %u "
				 "(faultline runs unprivileged, as uid %u); no "
				 "capability changes that: run faultline as root",
				 x->uid, x->gid, x->uid);
		else
			snprintf(buf, n, "an invalid id, not a capability");
	} else if (x->userns && groups) {
		snprintf(buf, n, "setgroups is denied in the sandbox's user "
			 "namespace (faultline runs unprivileged, as uid %u), "
			 "whatever the capabilities: run faultline as root",
			 x->uid);
	} else if ((d->role == FL_DENIAL_DRIVER || d->role == FL_DENIAL_PEER) &&
		   !held(d, cap)) {
		snprintf(buf, n, "no %s: the %s never keeps a capability "
			 "(--keep-cap is the target's alone)", cn,
			 fl_denial_role_name(d->role));
	} else if (held(d, cap)) {
		snprintf(buf, n, "not for lack of a capability: the process held "
			 "%s%s", cn, x->userns ? " (over the sandbox's user "
			 "namespace, which maps only its own uid and gid)" : "");
	} else if (x->userns) {
		snprintf(buf, n, "no %s in the sandbox%s; faultline runs "
			 "unprivileged (uid %u), so --keep-cap %s would give it "
			 "only over the sandbox's user namespace, which maps only "
			 "uid %u and gid %u", cn, port, x->uid, opt, x->uid, x->gid);
	} else if (d->euid == 0) {
		snprintf(buf, n, "no %s in the sandbox%s; --keep-cap %s would "
			 "keep it", cn, port, opt);
	} else if (x->keep_caps & (1ull << cap)) {
		snprintf(buf, n, "uid %u has no %s: --keep-cap %s kept it, and "
			 "the process lost it when it changed its uid from 0 (as "
			 "it would outside faultline)", d->euid, cn, opt);
	} else {
		snprintf(buf, n, "uid %u has no %s%s, as outside faultline; "
			 "--keep-cap %s would give it", d->euid, cn, port, opt);
	}
}

const char *fl_denial_role_name(int role)
{
	return role == FL_DENIAL_DRIVER ? "driver"
	     : role == FL_DENIAL_PEER   ? "peer"
				        : "target";
}
