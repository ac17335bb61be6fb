/*
 * checks_run.c - the checks of the run and its processes: expect exit and
 * expect signal, and the harness's own (the target's end, whether any
 * connection was made, the driver, --timeout, the settle, drops no rule
 * asked for).  They read the processes' exits and the engine's counters,
 * no socket call and no segment.  Single-threaded.
 */
#include <stdio.h>
#include <string.h>

#include "checks_int.h"

void fl_exit_describe(const struct fl_exit *x, char *buf, size_t n)
{
	const char *sig;

	if (!x->started)
		snprintf(buf, n, "not started");
	else if (!x->ended)
		snprintf(buf, n, "still running");
	else if (x->sig) {
		sig = fl_signal_name(x->sig);
		if (sig)
			snprintf(buf, n, "killed by %s", sig);
		else
			snprintf(buf, n, "killed by signal %d", x->sig);
	} else
		snprintf(buf, n, "exit code %d", x->code);
}

static void describe_end(const struct fl_run_facts *f, char *buf, size_t n)
{
	char how[64];

	fl_exit_describe(&f->target, how, sizeof(how));
	snprintf(buf, n, "target %s at %.3fs%s", how,
		 (double)f->target.t_ns / 1e9,
		 f->killed_by_harness ? " (after faultline asked it to stop)"
				      : "");
}

/* expect exit N */
void fl_judge_EXIT(struct fl_check_result *c, const struct fl_run_facts *f,
		   const struct fl_expect *e)
{
	char end[160];

	describe_end(f, end, sizeof(end));
	c->ok = f->target.ended && !f->target.sig && f->target.code == e->arg;
	snprintf(c->detail, sizeof(c->detail), "expected exit code %lld; %s",
		 (long long)e->arg, end);
}

/* expect signal NAME */
void fl_judge_SIGNAL(struct fl_check_result *c,
		     const struct fl_run_facts *f, const struct fl_expect *e)
{
	const char *want = fl_signal_name((int)e->arg);
	char end[160];

	describe_end(f, end, sizeof(end));
	c->ok = f->target.ended && f->target.sig == e->arg;
	snprintf(c->detail, sizeof(c->detail), "expected death by %s; %s",
		 want ? want : "?", end);
}

/* The driver is the test: its failure fails the run. */
void fl_check_driver(struct fl_check_result *c,
		     const struct fl_run_facts *f)
{
	char how[64];

	fl_exit_describe(&f->driver, how, sizeof(how));
	c->ok = f->driver.ended && !f->driver.sig && f->driver.code == 0;
	if (!f->driver.started)
		snprintf(c->detail, sizeof(c->detail), "driver not started: %s",
			 f->target.started && f->target.ended ? "the target "
			 "ended before it listened" : "the target never listened");
	else
		snprintf(c->detail, sizeof(c->detail), "driver %s at %.3fs", how,
			 (double)f->driver.t_ns / 1e9);
}

/* --peer: the peer serves the target (the client under test).  Its stop
 * by faultline, after the target ended, is not a failure whatever it
 * does then; a peer that never listened (the target was not started), or
 * that crashed or exited non-zero on its own, tested less than the run
 * was meant to: that fails.  One that exits 0 on its own (a one-shot
 * server) is fine. */
void fl_check_peer(struct fl_check_result *c, const struct fl_run_facts *f)
{
	const struct fl_exit *p = &f->peer;
	char how[64];
	const char *when;

	fl_exit_describe(p, how, sizeof(how));
	switch (f->peer_unready) {
	case FL_PEER_NEVER_LISTENED:
		c->ok = 0;
		snprintf(c->detail, sizeof(c->detail), "the peer did not listen "
			 "within %.3fs (--ready-timeout): the target was not "
			 "started; peer %s after faultline stopped it",
			 sec(f->ready_timeout_ns), how);
		return;
	case FL_PEER_ENDED:
		c->ok = 0;
		snprintf(c->detail, sizeof(c->detail), "peer %s at %.3fs, before "
			 "it listened: the target was not started", how,
			 sec(p->t_ns));
		return;
	case FL_PEER_READY:
		break;
	}
	if (!p->ended || (f->peer_stop_ns && p->t_ns >= f->peer_stop_ns)) {
		c->ok = 1;
		snprintf(c->detail, sizeof(c->detail), "peer ran until faultline "
			 "stopped it at %.3fs (%s then: the stop's doing, not "
			 "judged)", sec(f->peer_stop_ns), how);
		return;
	}
	c->ok = !p->sig && p->code == 0;
	if (!f->target.started || !f->target.ended || p->t_ns < f->target.t_ns)
		when = "before the target ended";
	else
		when = "after the target ended";
	snprintf(c->detail, sizeof(c->detail), "peer %s at %.3fs on its own, "
		 "%s%s", how, sec(p->t_ns), when,
		 c->ok ? "" : ": the target's connections from then on met no "
			      "peer, so the run tested less than it was meant to");
}

/* The target's own end: one that exits non-zero or dies of a signal before
 * faultline stops it tested nothing (unless an expect exit/signal says it
 * should); what it does after faultline's SIGTERM is the stop's doing. */
void fl_check_target(struct fl_check_result *c,
		     const struct fl_run_facts *f)
{
	char how[64];

	fl_exit_describe(&f->target, how, sizeof(how));
	if (!f->target.ended || f->killed_by_harness) {
		c->ok = 1;
		snprintf(c->detail, sizeof(c->detail),
			 "target ran until faultline stopped it at %.3fs (%s "
			 "then: the stop's doing, not judged)",
			 (double)f->stop_ns / 1e9, how);
		return;
	}
	c->ok = !f->target.sig && f->target.code == 0;
	snprintf(c->detail, sizeof(c->detail), "target %s at %.3fs, before "
		 "faultline stopped it%s", how, (double)f->target.t_ns / 1e9,
		 c->ok ? "" : " (add 'expect exit N' or 'expect signal NAME' "
			      "if that is what it should do)");
}

/* Checks of connections judge nothing in a run that made none. */
void fl_check_connections(struct fl_check_result *c,
			  const struct fl_run_facts *f)
{
	size_t n = f->flows ? fl_flow_count(f->flows) : 0;

	c->ok = 1;
	if (n) {
		snprintf(c->detail, sizeof(c->detail), "%zu TCP connection%s "
			 "seen", n, n == 1 ? "" : "s");
		return;
	}
	c->skipped = 1;
	snprintf(c->detail, sizeof(c->detail), "not judged: no TCP connection "
		 "was made in the sandbox%s, so the connection checks tested "
		 "nothing", f->have_driver ? " (did the driver reach the "
					      "target's port?)"
			    : f->have_peer ? " (did the target reach the "
					     "peer's port?)" : "");
}

void fl_check_timeout(struct fl_check_result *c,
		      const struct fl_run_facts *f)
{
	c->ok = !f->timed_out && !f->interrupted;
	if (f->interrupted)
		snprintf(c->detail, sizeof(c->detail),
			 "faultline was interrupted before the run ended");
	else if (f->timed_out)
		snprintf(c->detail, sizeof(c->detail),
			 "the run did not end within --timeout %.3fs",
			 (double)f->timeout_ns / 1e9);
	else if (!f->timeout_ns)
		snprintf(c->detail, sizeof(c->detail),
			 "the run ended by itself (--timeout 0: no limit)");
	else
		snprintf(c->detail, sizeof(c->detail),
			 "the run ended within %.3fs",
			 (double)f->timeout_ns / 1e9);
}

/* Drops no rule asked for make every other result suspect. */
void fl_check_harness(struct fl_check_result *c,
		      const struct fl_run_facts *f)
{
	const struct fl_engine_stats *s = &f->eng;
	long long qd = s->queue_dropped < 0 ? 0 : s->queue_dropped;
	long long ud = s->user_dropped < 0 ? 0 : s->user_dropped;

	c->ok = qd == 0 && ud == 0 && s->enobufs == 0 && s->send_errors == 0;
	snprintf(c->detail, sizeof(c->detail),
		 "%llu segments queued; kernel queue drops %lld, socket "
		 "buffer drops %lld, ENOBUFS %llu, failed sends %llu%s",
		 (unsigned long long)s->packets, qd, ud,
		 (unsigned long long)s->enobufs,
		 (unsigned long long)s->send_errors,
		 c->ok ? "" : ": segments were lost that no rule dropped");
}

/*
 * The target was refused privileged operations (the shim's report).  One
 * that the sandbox withheld — a root target without the capability root
 * has outside faultline — means the program ran in a state it never runs
 * in (a server that could not drop to its user, hand its files over or
 * bind its port), so whatever the other checks say tested less than it
 * seems: not judged, the run INCONCLUSIVE (--allow-skip accepts it).  A
 * refusal the program would meet outside too (a non-root uid, an id the
 * user namespace does not map) is noted and changes nothing.
 */
void fl_check_privileges(struct fl_check_result *c, const struct fl_run_facts *f)
{
	size_t withheld = 0, k = 0;
	char call[256], why[384];

	c->ok = 1;
	for (size_t i = 0; i < f->ndenials; i++)
		withheld += fl_denial_withheld(&f->denials[i], &f->denial_ctx);
	c->skipped = withheld > 0;
	fl_detail_add(c, "%s%zu refused privileged operation%s", withheld
		      ? "not judged: the sandbox withheld a capability the target "
		      "needed: " : "noted: ", f->ndenials, f->ndenials == 1 ? "" : "s");
	for (size_t i = 0; i < f->ndenials; i++) {
		const struct fl_denial *d = &f->denials[i];

		if (withheld && !fl_denial_withheld(d, &f->denial_ctx))
			continue;
		fl_denial_call(d, call, sizeof(call));
		fl_denial_explain(d, &f->denial_ctx, why, sizeof(why));
		fl_detail_add(c, "%s pid %d %s failed with %s (%s)", k++ ? ";" : ":",
			      d->pid, call, fl_err_name(d->err), why);
	}
}

/* --timeout ended the wait for the checks' windows. */
void fl_check_settle(struct fl_check_result *c, const struct fl_run_facts *f)
{
	c->ok = 1;
	c->skipped = 1;
	snprintf(c->detail, sizeof(c->detail), "not judged: --timeout "
		 "ended the run %.3fs after the driver while %s",
		 sec(f->settle_ns), f->settle_why);
}

/* expect rules-acted: a rule that never acted means the run did not
 * exercise what the file was written to test (a match that never held, a
 * connection that never came, a budget already spent elsewhere). */
void fl_judge_RULES_ACTED(struct fl_check_result *c,
			  const struct fl_run_facts *f,
			  const struct fl_expect *e)
{
	size_t idle = 0;

	for (size_t i = 0; i < f->rs->nrules; i++) {
		const struct fl_rule *r = &f->rs->rules[i];

		if (f->acted && f->acted[i])
			continue;
		fl_detail_add(c, "%s%s:%u: %s never acted", idle++ ? "; " : "",
			      r->file, r->line, fl_action_name(r->action));
	}
	c->ok = !idle;
	if (!idle)
		fl_detail_add(c, "each of the %zu rule%s acted", f->rs->nrules,
			      f->rs->nrules == 1 ? "" : "s");
}
