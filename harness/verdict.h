/*
 * verdict.h - what the engine did with a segment, as types: the verdict,
 * its fate for the receiver, whether the engine forged the segment, and
 * the one event the engine emits per segment (struct fl_seg_event).
 * Names exist only for the writers (fl_verdict_name(): the trace, the
 * report); everything else compares enums.  No state, any thread.
 */
#ifndef FL_VERDICT_H
#define FL_VERDICT_H

#include <stdint.h>

struct fl_flow;

/*
 * What the engine did with a segment (the trace's and the ladder's
 * "verdict"), and what that means for its receiver: it got the segment as
 * sent (DELIVERED), got it changed (CHANGED: rewrite, truncate), or never
 * got it (LOST: dropped, or a broken checksum the kernel drops).  The
 * names are the trace's contract (DESIGN.md).
 */
enum fl_fate { FL_FATE_DELIVERED, FL_FATE_CHANGED, FL_FATE_LOST };

#define FL_VERDICT_LIST(X)                                \
	X(PASS, "pass", FL_FATE_DELIVERED)                \
	X(DROP, "drop", FL_FATE_LOST)                     \
	X(DELAY, "delay", FL_FATE_DELIVERED)              \
	X(REWRITE, "rewrite", FL_FATE_CHANGED)            \
	X(INJECT, "inject", FL_FATE_DELIVERED)            \
	X(DUPLICATE, "duplicate", FL_FATE_DELIVERED)      \
	X(REORDER, "reorder", FL_FATE_DELIVERED)          \
	X(CORRUPT, "corrupt", FL_FATE_LOST)               \
	X(TRUNCATE, "truncate", FL_FATE_CHANGED)

enum fl_verdict {
#define FL_VERDICT_ENUM(id, name, fate) FL_V_##id,
	FL_VERDICT_LIST(FL_VERDICT_ENUM)
#undef FL_VERDICT_ENUM
	FL_V_COUNT
};

struct fl_verdict_desc {
	const char *name;
	enum fl_fate fate;
};

/* Indexed by enum fl_verdict (verdict.c). */
extern const struct fl_verdict_desc fl_verdicts[FL_V_COUNT];

static inline const char *fl_verdict_name(enum fl_verdict v)
{
	return fl_verdicts[v].name;
}

static inline enum fl_fate fl_verdict_fate(enum fl_verdict v)
{
	return fl_verdicts[v].fate;
}

/* Whether the engine made a segment (its apparent sender sent nothing),
 * and what it does to its receiver. */
enum fl_forged {
	FL_FORGED_NO,         /* the sender's own segment */
	FL_FORGED_TAKES,      /* made, and it takes effect (an RST at
				 RCV.NXT resets its receiver); a duplicate's
				 copies are the sender's bytes: not forged */
	FL_FORGED_CHALLENGED, /* an RST the receiver only answers with a
				 challenge ACK (RFC 5961 section 3.2) */
};

/*
 * One segment the engine decided on, as its sink (the run's timeline,
 * timeline.h) is told: f NULL marks the end of a batch (every other field
 * 0 but t_ns, now, and rule, -1).
 */
struct fl_seg_event {
	const struct fl_flow *f; /* its flow (identity and counters): the
				   sink records the segment under its id
				   (the ladder, the delivery facts) */
	int dir;                /* FL_DIR_*: its sender */
	uint8_t flags;
	uint16_t win;           /* its window field, as sent (unscaled) */
	uint32_t rseq, rack;    /* relative to each side's ISN (rack: as
				   the ack field says, ACK set or not) */
	uint32_t len;           /* payload bytes */
	int delivered;          /* it reaches its receiver and takes effect
				   there (engine.h) */
	enum fl_forged forged;
	enum fl_verdict verdict;
	int rule;               /* the rule that decided it, -1 none */
	uint64_t read_ns;       /* when the engine read it (or made it) */
	uint64_t delay_ns;      /* how long it is held (the trace's "delay"),
				   0 when it goes on at once */
	int queued;             /* held only behind earlier held segments of
				   its direction, to keep their order */
	const char *detail;     /* what the trace adds in words, or NULL;
				   valid during the call only */
	uint64_t t_ns;          /* when it is due at its receiver:
				   (read_ns + delay_ns) | 1 */
	/* Its bytes from the IP header on, valid during the call only (the
	 * pcap's frames, capture.h): cap of them present, of a packet len
	 * long (cap < len when the queue copied the headers only).  sent:
	 * as its sender sent them, NULL for a segment the engine made
	 * (verdict inject); out: as its receiver is handed them when the
	 * engine changed them (rewrite, truncate, corrupt) or made them,
	 * NULL otherwise. */
	const uint8_t *sent, *out;
	uint32_t sent_cap, sent_len, out_cap, out_len;
};

/* Where the engine sends its events (engine.h's fl_engine_cfg), and how
 * the timeline forwards them to its observer (timeline.h). */
typedef void (*fl_segment_sink)(void *ctx, const struct fl_seg_event *ev);

#endif
