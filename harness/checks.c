/*
 * checks.c - the judgement's dispatch; see checks.h.  Each expect line is
 * judged by the function rules/checks.def names for its check
 * (fl_judge_<ID>, in checks_run.c, checks_calls.c or checks_wire.c by
 * what it reads), then the harness's own checks are added.  Here too: the
 * helpers every judge writes its evidence with, what is still undecided
 * while the run goes on, and the run's result.  Single-threaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks_int.h"

struct results {
	struct fl_check_result *v;
	size_t n, cap;
};

static struct fl_check_result *add(struct results *r, const char *name,
				   const struct fl_expect *e)
{
	struct fl_check_result *c;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct fl_check_result *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	c = &r->v[r->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s",
		 e && fl_check_name(e->kind) ? fl_check_name(e->kind) : name);
	if (e) {
		snprintf(c->expect, sizeof(c->expect), "%s",
			 e->text ? e->text : name);
		c->file = e->file;
		c->line = e->line;
	}
	return c;
}

const char fl_checks_default_set[] =
	"expect no-close-wait 1s\n"
	"expect eof-close 1s\n"
	"expect error-close 1s\n"
	"expect no-sigpipe\n"
	"expect no-abort-loss\n"
	"expect no-unread-close\n"
	"expect no-fd-leak\n"
	"expect time-wait <= 100\n";

/* Appends to a check's evidence; what does not fit is cut. */
void fl_detail_add(struct fl_check_result *c, const char *fmt, ...)
{
	size_t l = strlen(c->detail);
	va_list ap;

	int n;

	if (c->cut) {
		c->cut++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->detail + l, sizeof(c->detail) - l, fmt, ap);
	va_end(ap);
	if (n >= 0 && l + (size_t)n < sizeof(c->detail))
		return;
	/* Full: end with a marker instead of a silently cut sentence. */
	c->cut = 1;
	l = sizeof(c->detail) - sizeof(" ... (more in the trace)");
	{
		size_t at = l;

		/* Cut at the last whole piece ("a; b; c") when there is one. */
		while (at > 0 && c->detail[at - 1] != ';')
			at--;
		if (at > 0)
			l = at - 1;
	}
	snprintf(c->detail + l, sizeof(c->detail) - l, " ... (more in the trace)");
}
void fl_add_flow(struct fl_check_result *c, uint32_t id)
{
	if (!id || c->nflows == sizeof(c->flows) / sizeof(c->flows[0]))
		return;
	for (unsigned i = 0; i < c->nflows; i++)
		if (c->flows[i] == id)
			return;
	c->flows[c->nflows++] = id;
}

/* Checks that read the socket calls cannot judge without the shim. */
int fl_need_shim(struct fl_check_result *c, const struct fl_run_facts *f)
{
	if (f->shim_loaded)
		return 1;
	c->ok = 1;
	c->skipped = 1;
	snprintf(c->detail, sizeof(c->detail), "%s",
		 f->shim_wanted
			 ? "not judged: the target never loaded the shim (a "
			   "static or non-libc binary?); packet-level checks "
			   "still ran"
			 : "not judged: the shim was not loaded (--no-preload, "
			   "or libfaultline-preload.so not found)");
	return 0;
}

/*
 * A check of calls judged what the shim reported; a flow whose target
 * socket belongs to a process that never loaded the shim (env -i, a
 * static binary under a shell) or that lost the shim's channel (a raw
 * close_range) reported nothing, so that flow was not judged: say so, and
 * the check cannot pass.
 */
static void uncovered(struct fl_check_result *c, const struct fl_run_facts *f)
{
	unsigned n = 0;
	char why[256];

	for (uint32_t id = 1; f->cover && f->flows && id <= fl_flow_count(f->flows);
	     id++) {
		const struct fl_flow *fl = fl_flow_get(f->flows, id);
		enum fl_cover cv;

		if (fl->target_side == FL_SIDE_ANY)
			continue;
		cv = fl_cover_target(f->cover, fl, NULL, NULL);
		if (cv != FL_COVER_NO_SHIM && cv != FL_COVER_LOST)
			continue;
		c->skipped = 1;
		if (n++ == 0) {
			fl_cover_explain(f->cover, id, fl->target_side == FL_SIDE_CLIENT
						     ? FL_DIR_C2S : FL_DIR_S2C,
					 why, sizeof(why));
			fl_detail_add(c, "; not judged: %s", why);
		}
	}
	if (n > 1)
		fl_detail_add(c, " (and %u more flows)", n - 1);
}

/* ---- what is still undecided while the run goes on ---- */

static void later(uint64_t *until, uint64_t t, char *why, size_t n,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void later(uint64_t *until, uint64_t t, char *why, size_t n,
		  const char *fmt, ...)
{
	va_list ap;

	/* A window is decided once time is past its limit, not at it (the
	 * checks pass what lasted exactly the limit). */
	t += 1000000u;

	if (t <= *until)
		return;
	if (!*until && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	*until = t;
}

static const struct fl_expect *find_expect(const struct fl_ruleset *rs,
					   enum fl_check_kind k)
{
	for (size_t i = 0; rs && i < rs->nexpects; i++)
		if (rs->expects[i].kind == k)
			return &rs->expects[i];
	return NULL;
}

/* A FIN sent by either side and not yet acknowledged, with no RST: its
 * retransmission is pending.  Only flows a rule acted on, and not a
 * blackholed one (nothing will ever get through). */
struct fin_ctx {
	int rst;        /* an RST got through (as sent, rewritten or made) */
	int16_t rule[2]; /* the rule that acted on each side's last FIN, -1 */
	int lost[2];    /* that FIN did not get through as a FIN */
};

static void last_fins(void *ctx, const struct fl_pkt_rec *r)
{
	struct fin_ctx *c = ctx;
	enum fl_verdict v = r->verdict;
	int through = fl_verdict_fate(v) != FL_FATE_LOST;

	if ((r->flags & FL_TCP_RST) && through)
		c->rst = 1;
	if ((r->flags & FL_TCP_FIN) && r->dir < 2) {
		c->rule[r->dir] = r->rule;
		c->lost[r->dir] = !through || v == FL_V_REWRITE;
	}
}

/* A rule that acts on every segment it matches, for the whole run: a
 * retransmission will meet it again. */
static int always_acts(const struct fl_ruleset *rs, int rule)
{
	const struct fl_rule *r;

	if (!rs || rule < 0 || (size_t)rule >= rs->nrules)
		return 0;
	r = &rs->rules[rule];
	return !r->times && !r->has_prob && !r->has_before && !r->nth;
}

/* A FIN sent by either side and not yet acknowledged, with no RST: its
 * retransmission is pending and may still get through.  Only flows a
 * rule acted on; not a blackholed one, nor one whose FIN a rule without
 * limits keeps losing or rewriting (nothing will ever get through). */
static int mid_teardown(const struct fl_run_facts *f, const struct fl_flow *fl)
{
	const struct fl_flow_facts *ff = fl_timeline_facts(f->timeline, fl->id);
	struct fin_ctx fc = {.rule = {-1, -1}};

	if (!fl->faults || ff->blackholed || ff->rst_ns[0] || ff->rst_ns[1] ||
	    (fl->flags_seen[0] & FL_TCP_RST) || (fl->flags_seen[1] & FL_TCP_RST))
		return 0;
	fl_timeline_ladder_walk(f->timeline, fl->id, last_fins, &fc);
	if (fc.rst)
		return 0; /* a rule's RST ended it (FIN rewritten to RST) */
	for (int d = 0; d < 2; d++) {
		if (!(fl->flags_seen[d] & FL_TCP_FIN))
			continue;
		if (fc.lost[d] && always_acts(f->rs, fc.rule[d]))
			continue;
		if (!ff->snd_max_known[d] || !ff->acked_known[!d] ||
		    (int32_t)(ff->acked[!d] - ff->snd_max[d]) < 0)
			return 1;
	}
	return 0;
}

uint64_t fl_checks_undecided(const struct fl_run_facts *f, uint64_t now,
			     char *why, size_t n)
{
	const struct fl_expect *cw = find_expect(f->rs, FL_CHK_NO_CLOSE_WAIT);
	const struct fl_expect *eof = find_expect(f->rs, FL_CHK_EOF_CLOSE);
	const struct fl_expect *er = find_expect(f->rs, FL_CHK_ERROR_CLOSE);
	const struct fl_expect *dp = find_expect(f->rs, FL_CHK_DEAD_PEER);
	const struct fl_expect *leak = find_expect(f->rs, FL_CHK_NO_FD_LEAK);
	const struct fl_flow *fl;
	uint64_t until = 0;

	if (n)
		why[0] = 0;
	for (uint32_t id = 1; f->flows && id <= fl_flow_count(f->flows); id++) {
		struct fl_dead_peer d;

		fl = fl_flow_get(f->flows, id);
		if (mid_teardown(f, fl))
			later(&until, now + 20000000u, why, n, "flow %u is still "
			      "mid-teardown (a FIN not yet acknowledged)", id);
		if (dp && fl_dead_peer(f, id, &d) && !d.closed_ns &&
		    now <= d.since_ns + (uint64_t)dp->arg * 1000u + 1000000u)
			later(&until, d.since_ns + (uint64_t)dp->arg * 1000u, why, n,
			      "flow %u: its peer went silent", id);
	}
	FOR_TARGET_SIDES(f, id, fl, t) {
		const struct fl_flow_facts *ff = fl_timeline_facts(f->timeline, id);
		int p = !t;

		if (cw && ff->fin_ns[p] && !ff->fin_ns[t] && !ff->rst_ns[t] &&
		    !ff->rst_ns[p] && now <= ff->fin_ns[p] + (uint64_t)cw->arg * 1000u + 1000000u)
			later(&until, ff->fin_ns[p] + (uint64_t)cw->arg * 1000u, why,
			      n, "flow %u: the target's socket is in %s", id,
			      fl_state_name(FL_TCP_CLOSE_WAIT));
	}
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_expect *e = fl_call_ends_conn(k, 0) ? eof : fl_call_ends_conn(k, 1) ? er : NULL;
		struct fl_call open;
		uint64_t end;

		if (leak && fl_opens_conn(k, &open) && !fl_closed_later(f, i, &open)) {
			end = fl_conn_ended(f, &open, i + 1);
			if (end && now <= end + FL_LEAK_NS + 1000000u)
				later(&until, end + FL_LEAK_NS, why, n, "pid %d fd %d: "
				      "connection ended, fd still open", open.pid,
				      open.fd);
		}
		if (!e || !fl_first_end(f, i, e == er) || fl_next_close(f, i))
			continue;
		end = k->t_ns + (uint64_t)e->arg * 1000u;
		if (now <= end + 1000000u)
			later(&until, end, why, n, "pid %d fd %d: %s() %s, not yet "
			      "closed", k->pid, k->fd, fl_ev_fn_name(k->fn),
			      e == eof ? "returned 0" : "failed");
	}
	return until;
}

enum fl_result fl_checks_result(const struct fl_check_result *c, size_t n,
				int allow_skip)
{
	int skipped = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].ok)
			return FL_RESULT_FAIL;
		skipped |= c[i].skipped;
	}
	return skipped && !allow_skip ? FL_RESULT_INCONCLUSIVE : FL_RESULT_PASS;
}

const char *fl_result_name(enum fl_result r)
{
	switch (r) {
	case FL_RESULT_PASS:
		return "PASS";
	case FL_RESULT_FAIL:
		return "FAIL";
	case FL_RESULT_INCONCLUSIVE:
		return "INCONCLUSIVE";
	}
	return "FAIL";
}

/* How each expect check is judged: rules/checks.def names them. */
static fl_judge_fn *const judges[FL_CHK_COUNT] = {
#define FL_CHECK(id, name, arg, on_calls, explain) [FL_CHK_##id] = fl_judge_##id,
#include "checks.def"
#undef FL_CHECK
};

int fl_checks_run(const struct fl_run_facts *f, struct fl_check_result **out,
		  size_t *n)
{
	struct results r = {0};
	struct fl_check_result *c;
	const struct fl_ruleset *rs = f->rs;

	for (size_t i = 0; rs && i < rs->nexpects; i++) {
		const struct fl_expect *e = &rs->expects[i];
		char name[160];

		snprintf(name, sizeof(name), "%s", e->text ? e->text : "expect");
		if ((unsigned)e->kind >= FL_CHK_COUNT || !judges[e->kind])
			continue;
		if (!(c = add(&r, name, e)))
			goto nomem;
		judges[e->kind](c, f, e);
		/* Judged on the calls: per flow, only where they were
		 * observed. */
		if (fl_check_desc(e->kind)->on_calls && f->shim_loaded)
			uncovered(c, f);
	}
	if (!find_expect(rs, FL_CHK_EXIT) && !find_expect(rs, FL_CHK_SIGNAL) &&
	    f->target.started) {
		if (!(c = add(&r, "target", NULL)))
			goto nomem;
		fl_check_target(c, f);
	}
	for (size_t i = 0; rs && i < rs->nexpects; i++) {
		if (rs->expects[i].kind == FL_CHK_EXIT ||
		    rs->expects[i].kind == FL_CHK_SIGNAL)
			continue;
		/* Some check judges connections. */
		if (!(c = add(&r, "connections", NULL)))
			goto nomem;
		fl_check_connections(c, f);
		break;
	}
	if (f->settle_cut) {
		if (!(c = add(&r, "settle", NULL)))
			goto nomem;
		fl_check_settle(c, f);
	}
	if (f->have_driver) {
		if (!(c = add(&r, "driver", NULL)))
			goto nomem;
		fl_check_driver(c, f);
	}
	if (f->have_peer) {
		if (!(c = add(&r, "peer", NULL)))
			goto nomem;
		fl_check_peer(c, f);
	}
	if (!(c = add(&r, "timeout", NULL)))
		goto nomem;
	fl_check_timeout(c, f);
	if (!(c = add(&r, "harness", NULL)))
		goto nomem;
	fl_check_harness(c, f);
	*out = r.v;
	*n = r.n;
	return 0;
nomem:
	free(r.v);
	return -ENOMEM;
}
