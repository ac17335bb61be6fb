/*
 * cover.h - whether the socket calls of a flow's owner were observed.
 *
 * The call checks (eof-close, no-fd-leak, ...) read the shim's events; a
 * flow whose socket belongs to a process that never loaded the shim (a
 * static binary, `env -i`, `env -u LD_PRELOAD`), or whose shim channel
 * was closed behind the shim's back (a raw close_range system call, an
 * exec into an image without the shim), has calls nobody reported.  This
 * module says, per flow and side, whether that is so:
 *
 *   owner  the process holding the side's socket: the pid of the first
 *          accept/connect event of the flow on that side, else the owner
 *          of the listening (server) or SYN_SENT (client) socket that
 *          owner.c found from sock_diag + the sandbox's /proc when the
 *          flow's first segment arrived.
 *   hello  the owner's image said hello (calls.c), naming the inode of
 *          the shim's socket.
 *   open   that inode is still among the owner's descriptors: checked in
 *          /proc/PID/fd when the process first owns a flow, then every
 *          FL_COVER_PERIOD_NS while it is alive, and once before the
 *          harness stops the target (fl_cover_final).  A process found
 *          without it (and not exiting) lost its channel: its calls after
 *          the last time the inode was seen are not known.  A loss is
 *          confirmed at the next look (a hello that re-creates the channel
 *          may still be on its way), and named no-shim when the process
 *          meanwhile exec'd another program (it has no shim any more).
 *
 * Not seen: a loss in the last period before a process exits, and the
 * processes a socket is passed to after the accept (a fork child that
 * inherits it is not watched; its own hello makes its calls known).
 * Single-threaded (the harness's loop).
 */
#ifndef FL_COVER_H
#define FL_COVER_H

#include <stddef.h>
#include <stdint.h>

#include "calls.h"
#include "flow.h"
#include "owner.h"

#define FL_COVER_PERIOD_NS 150000000ull

enum fl_cover {
	FL_COVER_YES,     /* the owner reported its calls, channel open */
	FL_COVER_NO_SHIM, /* the owner's image never said hello */
	FL_COVER_LOST,    /* its channel closed at/before *lost_ns */
	FL_COVER_UNKNOWN, /* no owner found for that side */
};

struct fl_cover_db;

/* A new, empty db; free with fl_cover_free().  0 or -ENOMEM. */
int fl_cover_new(struct fl_cover_db **out);
void fl_cover_free(struct fl_cover_db *db);

/*
 * Learns the hellos, accept/connect events and flows that are new since
 * the last call, looks at new owners at once and at the others when the
 * period has passed.  Cheap when nothing is new: call it every turn of
 * the event loop.  now_ns is relative to the run's start.
 */
void fl_cover_poll(struct fl_cover_db *db, const struct fl_calls *calls,
		   const struct fl_owner *owner,
		   const struct fl_flow_table *flows, uint64_t now_ns);
/* The last look, before the target is stopped (its descriptors close
 * then): later polls only learn, they look no more. */
void fl_cover_final(struct fl_cover_db *db, const struct fl_calls *calls,
		    const struct fl_owner *owner,
		    const struct fl_flow_table *flows, uint64_t now_ns);
/* After the last fl_calls_process(): learns what is left and confirms
 * the pending losses.  Then the db is read-only. */
void fl_cover_finish(struct fl_cover_db *db, const struct fl_calls *calls,
		     const struct fl_owner *owner,
		     const struct fl_flow_table *flows);

/*
 * Were the calls on side dir (FL_DIR_C2S: the client's socket, FL_DIR_S2C:
 * the server's) of flow flow_id observed?  *pid (may be NULL) gets the
 * owner's sandbox pid or -1; *lost_ns (may be NULL) the last time its
 * channel was seen open when FL_COVER_LOST, else 0.  db NULL, or a flow
 * it does not know: FL_COVER_UNKNOWN.
 */
enum fl_cover fl_cover_flow(const struct fl_cover_db *db, uint32_t flow_id,
			    int dir, int *pid, uint64_t *lost_ns);
/* The same for the target's side of f; FL_COVER_UNKNOWN when the target
 * owns neither side (f->target_side FL_SIDE_ANY). */
enum fl_cover fl_cover_target(const struct fl_cover_db *db,
			      const struct fl_flow *f, int *pid,
			      uint64_t *lost_ns);
/* "yes", "no-shim", "lost", "unknown". */
const char *fl_cover_name(enum fl_cover c);
/* One sentence into buf, e.g. "flow 3: pid 12 (static_server) never
 * loaded the shim".  Returns what snprintf returns. */
int fl_cover_explain(const struct fl_cover_db *db, uint32_t flow_id, int dir,
		     char *buf, size_t n);

#endif
