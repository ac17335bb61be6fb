/*
 * owner.h - which process owns a socket of the sandbox, and whether that
 * process belongs to the target, the driver or the peer (--peer).
 *
 * Works for any target, shimmed or not (static binaries too): the socket's
 * inode comes from sock_diag, its owner from the sandbox's /proc (the
 * harness sees it at /proc), and the role from the owner's ancestry.
 * Single-threaded.
 */
#ifndef FL_OWNER_H
#define FL_OWNER_H

#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "flow.h"

enum fl_role { FL_ROLE_NONE, FL_ROLE_TARGET, FL_ROLE_DRIVER, FL_ROLE_PEER };

struct fl_owner;

/* host_proc: an O_PATH fd of a /proc where the harness's pids are valid. */
int fl_owner_new(struct fl_owner **out, struct fl_sdiag *diag, int host_proc);
void fl_owner_free(struct fl_owner *o);
/* Tells the resolver the pids (harness's view) of the target, the driver
 * and the peer. */
void fl_owner_set_root(struct fl_owner *o, enum fl_role role, pid_t pid);

/* The pid of a role's root process as the sandbox (and the shim) sees it,
 * or -1. */
pid_t fl_owner_ns_pid(const struct fl_owner *o, enum fl_role role);

/* The side of flow f that the target owns: FL_SIDE_SERVER, _CLIENT or
 * _ANY (unknown, or neither). */
enum fl_side fl_owner_target_side(struct fl_owner *o, const struct fl_flow *f);

/* The sandbox pid that owned the target's socket of flow id when
 * fl_owner_target_side() resolved it (a listener's owner: the process
 * that accepted may be another one), or -1. */
pid_t fl_owner_flow_pid(const struct fl_owner *o, uint32_t id);

#endif
