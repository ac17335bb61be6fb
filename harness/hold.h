/*
 * hold.h - the segments the engine holds back: a min-heap ordered by
 * release time then arrival, a pool of buffers for the held segments that
 * carry bytes, and the per-flow, per-direction order that holding keeps.
 *
 * Order is kept per flow and direction, as on a real path: a direction's
 * floor is the latest release time among its segments held in order, and a
 * later segment of that direction is never released before it.  The two
 * directions of a flow are independent.  A segment held by `reorder` is the
 * one exception: it does not hold later segments back, it waits for the
 * next one (engine.c, act_reorder()); the direction keeps a token naming its
 * live heap entry, and an entry whose token has moved on is stale.
 *
 * No I/O and no clock: the caller says what time it is.  Allocates only
 * when the heap or the per-flow table grows (a new flow) and when a held
 * segment needs more room than the spares have.  Single-threaded (the
 * engine's).
 */
#ifndef FL_HOLD_H
#define FL_HOLD_H

#include <stddef.h>
#include <stdint.h>

struct fl_flow;

/* How a segment leaves the engine once it may go on. */
enum fl_out_kind {
	FL_OUT_PASS,       /* accepted as it came (then copies injected, if any) */
	FL_OUT_PASS_BYTES, /* accepted with changed bytes (rewrite, corrupt, truncate) */
	FL_OUT_REPLACE,    /* dropped, and its (changed) bytes injected instead,
			      cut into MTU-sized segments (engine.c, is_gso()) */
};

struct fl_out {
	enum fl_out_kind kind;
	unsigned copies; /* FL_OUT_PASS: copies to inject after it */
	int corrupt;     /* FL_OUT_REPLACE: inject with broken checksums */
	int rule;        /* for the trace of injected segments */
};

/*
 * What a held segment carries besides its id, for the rare fault that meets
 * a direction already holding segments: how it leaves and the bytes that
 * takes.  From fl_hold_data_get(), given back with fl_hold_data_put().
 */
struct fl_held_data {
	struct fl_out o;
	size_t len;
	size_t cap;                 /* room in bytes[] */
	struct fl_held_data *next;  /* in the spares */
	uint8_t bytes[];
};

enum fl_held_kind {
	FL_HELD_ORDERED, /* delay, or queued behind one: keeps direction order */
	FL_HELD_REORDER, /* held by reorder: live while it is the direction's token */
};

struct fl_held {
	uint64_t release_ns;  /* relative to the run's start */
	uint64_t order;       /* arrival number (from 1), ties broken by it */
	uint32_t id;          /* the queue's packet id */
	uint32_t len;         /* the segment's length (0: unknown) */
	uint8_t dir;          /* FL_DIR_* */
	uint8_t kind;         /* enum fl_held_kind */
	struct fl_flow *flow;
	struct fl_held_data *data; /* NULL for a plain accept */
};

/* What holding means for one direction of one flow. */
struct fl_hold_dir {
	unsigned held;         /* segments held in order now */
	uint64_t floor_ns;     /* latest release among them */
	uint64_t reorder_tok;  /* order of the live entry of the segment a
				  reorder rule holds, or 0 */
	uint32_t reorder_id;   /* its packet id */
	int reorder_attached;  /* its release is tied to the next segment's */
};

struct fl_hold;

/* A new, empty hold; NULL when out of memory.  Freed with fl_hold_free(),
 * which frees what is still held (without any verdict). */
struct fl_hold *fl_hold_new(void);
void fl_hold_free(struct fl_hold *h);

/* Makes room for the flow with id (1-based): call once when a flow is new.
 * Returns 0 or -ENOMEM. */
int fl_hold_track(struct fl_hold *h, uint32_t id);
/* The state of direction dir of flow id (tracked before). */
struct fl_hold_dir *fl_hold_dir(struct fl_hold *h, uint32_t id, int dir);

/*
 * Holds x in order: its release is moved up to the direction's floor
 * (never before the earlier held segments), and the floor to it.  Sets
 * x->order and x->release_ns.  Returns 0, or -ENOMEM (nothing held).
 */
int fl_hold_ordered(struct fl_hold *h, struct fl_held *x);
/* Holds x for reorder: the direction's token becomes it (not attached).
 * Its release is moved up to the direction's floor, the floor is left as
 * it is (nothing waits for it).  Returns 0 or -ENOMEM. */
int fl_hold_reorder(struct fl_hold *h, struct fl_held *x);
/*
 * The segment a reorder rule holds in direction dir of flow f leaves right
 * behind the next one, itself held until release_ns: its entry moves there
 * (the old one goes stale).  Returns 0, or -ENOMEM (the token is dropped:
 * the caller lets the segment go now).
 */
int fl_hold_reorder_attach(struct fl_hold *h, struct fl_flow *f, int dir,
			   uint64_t release_ns);
/* Forgets the reorder token of direction dir of flow id (its segment went). */
void fl_hold_reorder_clear(struct fl_hold *h, uint32_t id, int dir);

/* Release time of the earliest held segment, 0 when none is held. */
uint64_t fl_hold_next_due(const struct fl_hold *h);
/*
 * Takes the earliest held segment due by now_ns (every one with
 * now_ns == UINT64_MAX) into *x and updates its direction's order.  Returns
 * 1 for a live one, 2 for a stale reorder entry (nothing to do with it),
 * 0 when none is due.
 */
int fl_hold_pop(struct fl_hold *h, uint64_t now_ns, struct fl_held *x);
/* Segments held now (stale entries included), and the most ever. */
size_t fl_hold_count(const struct fl_hold *h);
size_t fl_hold_max(const struct fl_hold *h);

/* A held_data with room for len bytes: a spare if one is large enough,
 * else a new one.  NULL when out of memory. */
struct fl_held_data *fl_hold_data_get(struct fl_hold *h, size_t len);
/* Gives d (may be NULL) back to the spares, or frees it. */
void fl_hold_data_put(struct fl_hold *h, struct fl_held_data *d);

#endif
