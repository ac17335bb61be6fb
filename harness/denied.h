/*
 * denied.h - what the target's refused privileged operations (calls.h's
 * struct fl_denial, from the shim) mean: which capability each needed,
 * whether the sandbox withheld it (a root target outside faultline would
 * have had it), and the sentence the report prints.  Pure functions of
 * the denial and of how the sandbox was made; single-threaded.
 */
#ifndef FL_DENIED_H
#define FL_DENIED_H

#include <stddef.h>
#include <stdint.h>

#include "calls.h"

/* How the sandbox was made, for the explanations. */
struct fl_denial_ctx {
	int userns;         /* faultline ran unprivileged: the sandbox's user
			     * namespace maps only uid/gid (to themselves) */
	unsigned uid, gid;
	uint64_t keep_caps; /* --keep-cap */
};

/* The capability the operation needs (CAP_SETUID ...). */
int fl_denial_cap(const struct fl_denial *d);

/* The call as its caller wrote it: "setgid(65534)", "bind(port 80)",
 * "chown(\"/x\", 0, 0)", into buf. */
void fl_denial_call(const struct fl_denial *d, char *buf, size_t n);

/* 1 when the sandbox withheld what the operation needed: faultline ran
 * as root (no user namespace), the caller (not the driver) had euid 0
 * and lacked the capability, which root outside faultline has.  Such a run tested the
 * program in a state it never runs in. */
int fl_denial_withheld(const struct fl_denial *d, const struct fl_denial_ctx *x);

/* Why it failed and what would change that, e.g. "no CAP_SETGID in the
 * sandbox; --keep-cap setgid would keep it", into buf. */
void fl_denial_explain(const struct fl_denial *d, const struct fl_denial_ctx *x,
		       char *buf, size_t n);

#endif
