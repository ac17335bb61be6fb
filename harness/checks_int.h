/*
 * checks_int.h - what the judgement's files (checks.c, checks_run.c,
 * checks_calls.c, checks_wire.c) share and nobody else reads: the judges
 * rules/checks.def names, the harness's own checks, the helpers a check
 * writes its evidence with, and the call helpers the dispatch's
 * fl_checks_undecided() follows too.  Single-threaded.
 */
#ifndef FL_CHECKS_INT_H
#define FL_CHECKS_INT_H

#include "checks.h"

/* Judges one expect line e into c (c->name and c->expect are set). */
typedef void fl_judge_fn(struct fl_check_result *c, const struct fl_run_facts *f,
			 const struct fl_expect *e);

/* One judge per row of rules/checks.def, named after its ID
 * (fl_judge_NO_CLOSE_WAIT): the dispatch's table is made from the same
 * rows, so a check without its judge does not link. */
#define FL_CHECK(id, name, arg, on_calls, explain) fl_judge_fn fl_judge_##id;
#include "checks.def"
#undef FL_CHECK

/* The harness's own checks (checks_run.c). */
void fl_check_target(struct fl_check_result *c, const struct fl_run_facts *f);
void fl_check_connections(struct fl_check_result *c, const struct fl_run_facts *f);
void fl_check_settle(struct fl_check_result *c, const struct fl_run_facts *f);
void fl_check_driver(struct fl_check_result *c, const struct fl_run_facts *f);
void fl_check_peer(struct fl_check_result *c, const struct fl_run_facts *f);
void fl_check_timeout(struct fl_check_result *c, const struct fl_run_facts *f);
void fl_check_harness(struct fl_check_result *c, const struct fl_run_facts *f);

/* Appends to a check's evidence; what does not fit is cut at the last
 * whole piece, with a marker. */
__attribute__((format(printf, 2, 3)))
void fl_detail_add(struct fl_check_result *c, const char *fmt, ...);
/* Names flow id in the evidence (for the ladders); 0 and repeats are
 * ignored, and more than fit. */
void fl_add_flow(struct fl_check_result *c, uint32_t id);
/* Checks that read the socket calls cannot judge without the shim: 1 if
 * it was loaded, else 0 with c filled as not judged. */
int fl_need_shim(struct fl_check_result *c, const struct fl_run_facts *f);

static inline double sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Each side t (FL_DIR_C2S: the client) of each flow that is the target's
 * socket: one side of most flows, both of a flow with both ends in the
 * target (a proxy and its backend). */
#define FOR_TARGET_SIDES(f, id, fl, t)                                         \
	for (uint32_t id = 1; (f)->flows && id <= fl_flow_count((f)->flows); id++) \
		for (int t = 0; t < 2; t++)                                    \
			if (!fl_flow_target_dir(                               \
				    (fl = fl_flow_get((f)->flows, id)), t)) {  \
			} else

/* How long an ended connection's socket may stay open in a process that
 * lives on before it counts as leaked. */
#define FL_LEAK_NS 1000000000ull

/* Following the calls (checks_calls.c).  A call that opened a connection
 * socket (accepted or connected): 1 and *open is it with fd set to that
 * socket. */
int fl_opens_conn(const struct fl_call *k, struct fl_call *open);
/* 1 if (open's pid, fd) is closed after call index i. */
int fl_closed_later(const struct fl_run_facts *f, size_t i,
		    const struct fl_call *open);
/* When the connection of the socket `open` opened ended (calls from index
 * from on), 0 if it did not before faultline's stop. */
uint64_t fl_conn_ended(const struct fl_run_facts *f, const struct fl_call *open,
		       size_t from);
/* 1 if call i is the first on its fd since it was last closed that told
 * the program its connection ended (an EOF, or with error an error). */
int fl_first_end(const struct fl_run_facts *f, size_t i, int error);
/* The first close of call i's (pid, fd) after it, or NULL. */
const struct fl_call *fl_next_close(const struct fl_run_facts *f, size_t i);

#endif
