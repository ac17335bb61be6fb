/*
 * report.c - the report's model and its text, JSON and JUnit writers;
 * see report.h (html.c writes the HTML one from the same model,
 * report_model.h).
 *
 * report_model_build() walks the run's facts once into a struct model:
 * per flow what the reports say about it (endpoints, counters, each side's
 * states and which of them came after faultline's stop, the dead-peer
 * result, whether its calls were observed, the ladder when a failing check
 * names it or the HTML report is asked for), per rule how often it acted,
 * per check how it is shown.  The writers below
 * it only format the model: JSON through json-c (so quoting is never hand
 * made), the text and JUnit with stdio.  Single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "flow.h"
#include "caps.h"
#include "denied.h"
#include "report.h"
#include "report_model.h"
#include "trace.h"
#include "utf8.h"


static const char *side_name(enum fl_side s)
{
	switch (s) {
	case FL_SIDE_CLIENT:
		return "client";
	case FL_SIDE_SERVER:
		return "server";
	case FL_SIDE_BOTH:
		return "both";
	case FL_SIDE_ANY:
	case FL_SIDE_TARGET:
	case FL_SIDE_PEER:
		break;
	}
	return NULL;
}

static int rung_add(struct m_ladder *l, const struct rung *u)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 128;
		struct rung *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *u;
	return 0;
}

static void rung_pkt(void *ctx, const struct fl_pkt_rec *rec)
{
	struct rung u = {.t_ns = rec->t_ns, .kind = RUNG_PKT, .u.pkt = *rec};

	rung_add(ctx, &u);
}

static int rung_cmp(const void *a, const void *b)
{
	const struct rung *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

/* Flow id's segments, calls and state changes in time order. */
static struct m_ladder *ladder_build(const struct fl_run_facts *f,
				     const struct fl_flow *fl)
{
	struct m_ladder *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->skipped = fl_timeline_ladder_walk(f->timeline, fl->id, rung_pkt, l);
	for (size_t i = 0; i < f->ncalls; i++)
		if (f->calls[i].flow == fl->id)
			rung_add(l, &(struct rung){.t_ns = f->calls[i].t_ns,
				 .kind = RUNG_CALL, .u.call = &f->calls[i]});
	if (f->states) {
		size_t n;
		const struct fl_state_change *c = fl_states_changes(f->states, &n);

		for (size_t i = 0; i < n; i++)
			if (c[i].flow == fl->id)
				rung_add(l, &(struct rung){.t_ns = c[i].t_ns,
					 .kind = RUNG_STATE, .u.change = &c[i]});
	}
	qsort(l->v, l->n, sizeof(*l->v), rung_cmp);
	return l;
}

static void path_build(struct m_path *p, const struct fl_states *st,
		       uint32_t id, int dir, uint64_t stop_ns)
{
	p->n = st ? fl_states_path_ns(st, id, dir, p->st, p->at,
				      FL_STATES_PATH_MAX) : 0;
	p->own = p->n;
	if (stop_ns) {
		p->own = 0;
		for (size_t i = 0; i < p->n; i++)
			p->own += p->at[i] < stop_ns;
	}
}

static void flow_build(struct m_flow *m, const struct fl_run_facts *f,
		       const struct fl_flow *fl)
{
	m->fl = fl;
	m->id = fl->id;
	m->first_ns = fl->first_ns;
	for (int d = 0; d < 2; d++)
		m->target[d] = fl_flow_target_dir(fl, d);
	fl_endpoint_format(&fl->ep[0], m->client, sizeof(m->client));
	fl_endpoint_format(&fl->ep[1], m->server, sizeof(m->server));
	m->target_side = side_name(fl->target_side);
	/* The target's socket's states (with both ends in the target: its
	 * server's). */
	m->target_dir = fl->target_side == FL_SIDE_ANY ? -1
			: fl->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S
							    : FL_DIR_S2C;
	m->packets = fl->packets[0] + fl->packets[1];
	m->faults = fl->faults;
	for (int d = 0; d < 2; d++)
		path_build(&m->side[d], f->states, fl->id, d, f->stop_ns);
	m->dead = fl_dead_peer(f, fl->id, &m->dp);
	if (m->dead)
		fl_dead_peer_describe(&m->dp, m->dp_text, sizeof(m->dp_text));
	m->cover_pid = -1;
	m->cover = fl_cover_target(f->cover, fl, &m->cover_pid, &m->cover_lost_ns);
	fl_cover_explain(f->cover, fl->id, fl->target_side == FL_SIDE_CLIENT
			 ? FL_DIR_C2S : FL_DIR_S2C, m->cover_text,
			 sizeof(m->cover_text));
}

void report_model_free(struct model *m)
{
	for (size_t i = 0; i < m->nflows; i++) {
		if (m->flows[i].ladder)
			free(m->flows[i].ladder->v);
		free(m->flows[i].ladder);
	}
	free(m->flows);
	free(m->order);
	free(m->rules);
	free(m->status);
}

/* The HTML report's order of the flows (failing ones first, each group
 * in id order) and the ladders of the first FL_HTML_LADDERS of it.  0 or
 * -ENOMEM. */
static int order_build(struct model *m)
{
	size_t k = 0;

	m->order = calloc(m->nflows ? m->nflows : 1, sizeof(*m->order));
	if (!m->order)
		return -ENOMEM;
	for (int pass = 1; pass >= 0; pass--)
		for (size_t i = 0; i < m->nflows; i++)
			if (m->flows[i].failing == pass)
				m->order[k++] = i;
	for (size_t i = 0; i < m->nflows && i < FL_HTML_LADDERS; i++) {
		struct m_flow *mf = &m->flows[m->order[i]];

		if (!mf->ladder && !(mf->ladder = ladder_build(m->f, mf->fl)))
			return -ENOMEM;
	}
	for (size_t i = 0; i < m->nflows; i++)
		m->nladders += m->flows[i].ladder != NULL;
	return 0;
}

/* The one walk over the facts (report_model.h). */
int report_model_build(struct model *m, const struct fl_report *r,
		       int all_ladders)
{
	const struct fl_run_facts *f = r->facts;
	const struct fl_ruleset *rs = f->rs;

	memset(m, 0, sizeof(*m));
	m->r = r;
	m->f = f;
	fl_exit_describe(&f->target, m->target_how, sizeof(m->target_how));
	fl_exit_describe(&f->driver, m->driver_how, sizeof(m->driver_how));
	fl_exit_describe(&f->peer, m->peer_how, sizeof(m->peer_how));
	m->have_flows = f->flows != NULL;
	m->nflows = f->flows ? fl_flow_count(f->flows) : 0;
	m->nrules = rs ? rs->nrules : 0;
	m->status = calloc(r->nchecks ? r->nchecks : 1, sizeof(*m->status));
	m->flows = calloc(m->nflows ? m->nflows : 1, sizeof(*m->flows));
	m->rules = calloc(m->nrules ? m->nrules : 1, sizeof(*m->rules));
	if (!m->status || !m->flows || !m->rules)
		goto nomem;
	for (size_t i = 0; i < m->nflows; i++)
		flow_build(&m->flows[i], f, fl_flow_get(f->flows, (uint32_t)i + 1));
	for (size_t i = 0; i < m->nrules; i++) {
		struct m_rule *u = &m->rules[i];

		snprintf(u->where, sizeof(u->where), "%s:%u", rs->rules[i].file,
			 rs->rules[i].line);
		u->action = fl_action_name(rs->rules[i].action);
		fl_rule_format(&rs->rules[i], u->text, sizeof(u->text));
		u->acted = f->acted ? f->acted[i] : 0;
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];

		m->status[i] = !c->ok ? M_FAIL : c->skipped ? M_SKIP : M_PASS;
		m->nfail += m->status[i] == M_FAIL;
		m->nskip += m->status[i] == M_SKIP;
		/* A failing check shows the ladders of the first flows it
		 * names. */
		for (unsigned j = 0; !c->ok && j < c->nflows && j < 3; j++) {
			struct m_flow *mf = c->flows[j] >= 1 && c->flows[j] <= m->nflows
					    ? &m->flows[c->flows[j] - 1] : NULL;

			if (mf && !mf->ladder && !(mf->ladder = ladder_build(f, mf->fl)))
				goto nomem;
		}
		for (unsigned j = 0; !c->ok && j < c->nflows; j++)
			if (c->flows[j] >= 1 && c->flows[j] <= m->nflows)
				m->flows[c->flows[j] - 1].failing = 1;
	}
	if (all_ladders && order_build(m) < 0)
		goto nomem;
	return 0;
nomem:
	report_model_free(m);
	return -ENOMEM;
}

/* ---- JSON ---- */

static json_object *exit_json(const struct fl_exit *x)
{
	json_object *o;
	const char *name;

	if (!x->started || !x->ended)
		return NULL;
	o = json_object_new_object();
	if (x->sig) {
		name = fl_signal_name(x->sig);
		json_object_object_add(o, "signal",
				       name ? json_object_new_string(name)
					    : json_object_new_int(x->sig));
	} else {
		json_object_object_add(o, "code", json_object_new_int(x->code));
	}
	json_object_object_add(o, "pid", json_object_new_int(x->ns_pid));
	json_object_object_add(o, "host_pid", json_object_new_int(x->pid));
	json_object_object_add(o, "t", json_object_new_double(
					       (double)x->t_ns / 1e9));
	return o;
}

/* The states of p; with stop_ns, those it got to from then on. */
static json_object *path_json(const struct m_path *p, uint64_t stop_ns)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < p->n; i++)
		if (p->at[i] >= stop_ns)
			json_object_array_add(a, json_object_new_string(
						 fl_state_name(p->st[i]) ?: "?"));
	return a;
}

/* The states that came after faultline began stopping the target at
 * stop_ns (the stop's doing); none if it never did. */
static json_object *after_stop_json(const struct m_path *p, uint64_t stop_ns)
{
	return stop_ns ? path_json(p, stop_ns) : json_object_new_array();
}

/* How the target learnt that its peer went silent, or NULL. */
static json_object *dead_peer_json(const struct m_flow *m)
{
	const struct fl_dead_peer *d = &m->dp;
	json_object *o;

	if (!m->dead)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "since", json_object_new_double((double)d->since_ns / 1e9));
	json_object_object_add(o, "mechanism", json_object_new_string(fl_dead_peer_how(d->how)));
	json_object_object_add(o, "keepalive_probes", json_object_new_int64(d->probes));
	json_object_object_add(o, "unacked", json_object_new_int64(d->unacked));
	json_object_object_add(o, "noticed", d->noticed_ns ? json_object_new_double(
			(double)d->noticed_ns / 1e9) : NULL);
	json_object_object_add(o, "errno", d->noticed_ns && strerrorname_np(d->err)
			? json_object_new_string(strerrorname_np(d->err)) : NULL);
	json_object_object_add(o, "closed", d->closed_ns ? json_object_new_double(
			(double)d->closed_ns / 1e9) : NULL);
	json_object_object_add(o, "so_keepalive", json_object_new_boolean(d->keepalive > 0));
	json_object_object_add(o, "tcp_user_timeout_ms", d->user_timeout_ms >= 0
			? json_object_new_int64(d->user_timeout_ms) : NULL);
	json_object_object_add(o, "detail", json_object_new_string(m->dp_text));
	return o;
}

/* cover.h: were the calls on the target's side of the flow observed?
 * {"status":"yes"|"no-shim"|"lost"|"unknown","pid":N|null,
 *  "lost_at":S|null,"detail":"..."} */
static json_object *cover_json(const struct m_flow *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(fl_cover_name(m->cover)));
	json_object_object_add(o, "pid", m->cover_pid > 0
				   ? json_object_new_int(m->cover_pid) : NULL);
	json_object_object_add(o, "lost_at", m->cover == FL_COVER_LOST
				   ? json_object_new_double((double)m->cover_lost_ns / 1e9)
				   : NULL);
	json_object_object_add(o, "detail", json_object_new_string(m->cover_text));
	return o;
}

static json_object *flow_json(const struct m_flow *m, uint64_t stop_ns)
{
	json_object *o = json_object_new_object();
	json_object *as = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int((int)m->id));
	json_object_object_add(o, "client", json_object_new_string(m->client));
	json_object_object_add(o, "server", json_object_new_string(m->server));
	json_object_object_add(o, "target_side", m->target_side
			       ? json_object_new_string(m->target_side) : NULL);
	json_object_object_add(o, "packets", json_object_new_int64((int64_t)m->packets));
	json_object_object_add(o, "faults", json_object_new_int64((int64_t)m->faults));
	json_object_object_add(o, "states", m->target_dir < 0 ? json_object_new_array()
			       : path_json(&m->side[m->target_dir], 0));
	json_object_object_add(o, "client_states", path_json(&m->side[FL_DIR_C2S], 0));
	json_object_object_add(o, "server_states", path_json(&m->side[FL_DIR_S2C], 0));
	json_object_object_add(as, "client", after_stop_json(&m->side[FL_DIR_C2S], stop_ns));
	json_object_object_add(as, "server", after_stop_json(&m->side[FL_DIR_S2C], stop_ns));
	json_object_object_add(o, "states_after_stop", as);
	json_object_object_add(o, "first", json_object_new_double((double)m->first_ns / 1e9));
	json_object_object_add(o, "peer_gone", dead_peer_json(m));
	json_object_object_add(o, "calls_observed", cover_json(m));
	return o;
}

static json_object *check_json(const struct fl_check_result *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "expect", c->expect[0]
			       ? json_object_new_string(c->expect) : NULL);
	json_object_object_add(o, "ok", json_object_new_boolean(c->ok));
	json_object_object_add(o, "judged", json_object_new_boolean(!c->skipped));
	json_object_object_add(o, "detail", json_object_new_string(c->detail));
	if (c->skipped)
		json_object_object_add(o, "skipped", json_object_new_boolean(1));
	if (c->file) {
		char where[512];

		snprintf(where, sizeof(where), "%s:%u", c->file, c->line);
		json_object_object_add(o, "rule", json_object_new_string(where));
	}
	return o;
}

/* What the harness did: its queue's counters and what state sampling
 * asked the kernel, on which thread (dumps walk the host's whole TCP
 * table, lookups do not). */
static json_object *harness_json(const struct model *m)
{
	const struct fl_report *r = m->r;
	const struct fl_engine_stats *s = &m->f->eng;
	const struct fl_sdiag_stats *q = &r->diag_run, *t = &r->diag_sampler;
	json_object *h = json_object_new_object();
	json_object *d = json_object_new_object();

	json_object_object_add(h, "backend",
			       json_object_new_string(r->backend ? r->backend : "none"));
	json_object_object_add(h, "segments", json_object_new_int64((int64_t)s->packets));
	json_object_object_add(h, "injected", json_object_new_int64((int64_t)s->injected));
	json_object_object_add(h, "enobufs", json_object_new_int64((int64_t)s->enobufs));
	json_object_object_add(h, "queue_dropped", json_object_new_int64(s->queue_dropped));
	json_object_object_add(h, "user_dropped", json_object_new_int64(s->user_dropped));
	json_object_object_add(h, "max_held", json_object_new_int64((int64_t)s->max_held));
	json_object_object_add(d, "dumps", json_object_new_int64(
		(int64_t)(q->dumps + t->dumps)));
	json_object_object_add(d, "listener_dumps", json_object_new_int64(
		(int64_t)(q->listener_dumps + t->listener_dumps)));
	json_object_object_add(d, "lookups", json_object_new_int64((int64_t)t->lookups));
	json_object_object_add(d, "run_thread_lookups",
			       json_object_new_int64((int64_t)q->lookups));
	json_object_object_add(h, "sock_diag", d);
	return h;
}

static int write_json(const struct model *m, FILE *out)
{
	const struct fl_report *r = m->r;
	const struct fl_run_facts *f = m->f;
	json_object *root = json_object_new_object();
	json_object *target = json_object_new_object();
	json_object *argv = json_object_new_array();
	json_object *a;
	const char *text;
	int ret = 0;

	json_object_object_add(root, "ok", json_object_new_boolean(r->ok));
	json_object_object_add(root, "result",
			       json_object_new_string(fl_result_name(r->result)));
	for (size_t i = 0; r->argv[i]; i++)
		json_object_array_add(argv, json_object_new_string(r->argv[i]));
	json_object_object_add(target, "argv", argv);
	json_object_object_add(target, "exit", exit_json(&f->target));
	json_object_object_add(target, "stopped_by_faultline",
			       json_object_new_boolean(f->killed_by_harness));
	json_object_object_add(root, "target", target);
	if (f->stop_ns) {
		json_object *st = json_object_new_object();

		json_object_object_add(st, "t", json_object_new_double(
					       (double)f->stop_ns / 1e9));
		json_object_object_add(st, "signal", json_object_new_string("SIGTERM"));
		json_object_object_add(root, "stop", st);
	} else {
		json_object_object_add(root, "stop", NULL);
	}
	if (r->driver || r->peer) {
		json_object *st = json_object_new_object();
		json_object *d = json_object_new_object();
		const struct fl_exit *x = r->driver ? &f->driver : &f->peer;

		json_object_object_add(st, "waited", json_object_new_double(
					       (double)f->settle_ns / 1e9));
		json_object_object_add(st, "reason", f->settle_why[0]
				       ? json_object_new_string(f->settle_why) : NULL);
		json_object_object_add(st, "cut_by_timeout",
				       json_object_new_boolean(f->settle_cut));
		json_object_object_add(root, "settle", st);
		json_object_object_add(d, "cmd", json_object_new_string(
					       r->driver ? r->driver : r->peer));
		json_object_object_add(d, "exit", exit_json(x));
		if (r->peer) {
			/* The peer's end after faultline's SIGTERM is the
			 * stop's doing; "ready": the target was started
			 * (the peer listened, or --ready-delay passed). */
			json_object_object_add(d, "stopped_by_faultline",
					       json_object_new_boolean(
						       f->peer_stop_ns &&
						       (!x->ended ||
							x->t_ns >= f->peer_stop_ns)));
			json_object_object_add(d, "ready", json_object_new_boolean(
					       f->peer_unready == FL_PEER_READY));
		}
		json_object_object_add(root, r->driver ? "driver" : "peer", d);
	}
	a = json_object_new_array();
	for (size_t i = 0; i < r->nchecks; i++)
		json_object_array_add(a, check_json(&r->checks[i]));
	json_object_object_add(root, "checks", a);
	a = json_object_new_array();
	for (size_t i = 0; i < m->nflows; i++)
		json_object_array_add(a, flow_json(&m->flows[i], f->stop_ns));
	json_object_object_add(root, "flows", a);
	a = json_object_new_array();
	for (size_t i = 0; i < m->nrules; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "rule", json_object_new_string(m->rules[i].where));
		json_object_object_add(o, "action", json_object_new_string(m->rules[i].action));
		json_object_object_add(o, "count", json_object_new_int64(
					       (int64_t)m->rules[i].acted));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "faults", a);
	/* The privileged operations the kernel refused the target. */
	a = json_object_new_array();
	for (size_t i = 0; i < f->ndenials; i++) {
		const struct fl_denial *d = &f->denials[i];
		json_object *o = json_object_new_object(), *ids = json_object_new_array();
		char call[256], why[384];
		int cap = fl_denial_cap(d);
		const char *lp;
		size_t al;

		fl_denial_call(d, call, sizeof(call));
		fl_denial_explain(d, &f->denial_ctx, why, sizeof(why));
		json_object_object_add(o, "fn", json_object_new_string(fl_ev_fn_name(d->fn)));
		/* "arg": the call's text between its parentheses */
		lp = strchr(call, '(');
		al = lp ? strlen(lp + 1) : 0;
		if (al && lp[al] == ')')
			al--;
		json_object_object_add(o, "arg", json_object_new_string_len(
					       lp ? lp + 1 : "", (int)al));
		for (unsigned k = 0; k < d->nids; k++)
			json_object_array_add(ids, json_object_new_int64(
				d->ids[k] == ~0u ? -1 : (int64_t)d->ids[k]));
		json_object_object_add(o, "ids", ids);
		json_object_object_add(o, "call", json_object_new_string(call));
		json_object_object_add(o, "errno", json_object_new_string(fl_err_name(d->err)));
		json_object_object_add(o, "cap", cap >= 0 && fl_cap_name((unsigned)cap)
				       ? json_object_new_string(fl_cap_name((unsigned)cap)) : NULL);
		json_object_object_add(o, "cap_held", json_object_new_boolean(
			cap >= 0 && (d->cap_eff & (1ull << cap))));
		json_object_object_add(o, "withheld", json_object_new_boolean(
			fl_denial_withheld(d, &f->denial_ctx)));
		json_object_object_add(o, "role", json_object_new_string(
			fl_denial_role_name(d->role)));
		json_object_object_add(o, "pid", json_object_new_int(d->pid));
		json_object_object_add(o, "euid", json_object_new_int64(d->euid));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)d->count));
		json_object_object_add(o, "t", json_object_new_double((double)d->t_ns / 1e9));
		json_object_object_add(o, "detail", json_object_new_string(why));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "denied", a);
	a = json_object_new_object();
	for (unsigned fn = 1; r->have_calls && fn < FL_FN_COUNT; fn++)
		if (r->calls_by_fn[fn])
			json_object_object_add(a, fl_ev_fn_name(fn), json_object_new_int64(
						       (int64_t)r->calls_by_fn[fn]));
	json_object_object_add(root, "calls", a);
	if (r->have_calls) {
		json_object *sh = json_object_new_object();

		json_object_object_add(sh, "loaded", json_object_new_boolean(
			r->shim_processes > 0));
		json_object_object_add(sh, "processes", json_object_new_int64(
			(int64_t)r->shim_processes));
		json_object_object_add(sh, "lost", json_object_new_int64(
			(int64_t)f->calls_lost));
		json_object_object_add(sh, "malformed", json_object_new_int64(
			(int64_t)r->calls_malformed));
		json_object_object_add(sh, "forged", json_object_new_int64(
			(int64_t)r->calls_forged));
		json_object_object_add(root, "shim", sh);
	}
	json_object_object_add(root, "seed", json_object_new_uint64(r->seed));
	/* The seed exactly, for readers whose numbers are doubles (jq, JS). */
	json_object_object_add(root, "seed_text", json_object_new_string(
		fl_seed_text(r->seed, (char[FL_SEED_TEXT_SIZE]){0})));
	json_object_object_add(root, "duration",
			       json_object_new_double((double)r->duration_ns / 1e9));
	json_object_object_add(root, "harness", harness_json(m));

	/* json-c copies a string's bytes as they are: utf8.h's escape keeps
	 * the file UTF-8 when the argv or the driver command is not */
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		ret = -ENOMEM;
	else if (fl_utf8_json_write(out, text, strlen(text)) < 0 ||
		 fflush(out) != 0 || ferror(out))
		ret = -EIO;
	json_object_put(root);
	return ret;
}

/* ---- text ---- */

static void text_ladder(const struct model *m, const struct m_flow *mf, FILE *f)
{
	const struct fl_ruleset *rs = m->f->rs;
	const char *side[2];
	char flags[40];

	side[0] = mf->target[FL_DIR_C2S] ? "client (target)" : "client";
	side[1] = mf->target[FL_DIR_S2C] ? "server (target)" : "server";
	fprintf(f, "    flow %u: %s %s <-> %s %s   (* = fault)\n", mf->id, side[0],
		mf->client, side[1], mf->server);
	for (size_t i = 0; i < mf->ladder->n; i++) {
		const struct rung *u = &mf->ladder->v[i];

		fprintf(f, "    %10.6f  ", (double)u->t_ns / 1e9);
		switch (u->kind) {
		case RUNG_PKT: {
			const struct fl_pkt_rec *p = &u->u.pkt;
			enum fl_verdict v = p->verdict;

			fl_flags_format(p->flags, flags, sizeof(flags));
			fprintf(f, "%c %-6s %s %-8s seq=%u ack=%u len=%u  %s",
				v != FL_V_PASS ? '*' : ' ', p->dir ? "server" : "client",
				p->dir ? "<--" : "-->", flags, p->seq, p->ack,
				p->len, fl_verdict_name(v));
			if (p->rule >= 0 && rs && (size_t)p->rule < rs->nrules)
				fprintf(f, " (%s:%u)", rs->rules[p->rule].file,
					rs->rules[p->rule].line);
			fputc('\n', f);
			break;
		}
		case RUNG_CALL: {
			const struct fl_call *k = u->u.call;
			const char *st = fl_ev_tcp_state_name(k->state);

			fprintf(f, "  %-6s     %s(fd %d) = %lld%s%s  pid %d%s%s\n",
				k->dir ? "server" : "client", fl_ev_fn_name(k->fn),
				k->fd, (long long)k->ret, k->err ? " " : "",
				k->err ? strerrorname_np(k->err) : "", k->pid,
				st ? "  in " : "", st ? st : "");
			break;
		}
		case RUNG_STATE: {
			const struct fl_state_change *c = u->u.change;

			fprintf(f, "  %-6s     state %s -> %s\n",
				c->dir ? "server" : "client",
				c->from ? fl_state_name(c->from) : "(new)",
				fl_state_name(c->to) ? fl_state_name(c->to) : "?");
			break;
		}
		}
	}
	if (mf->ladder->skipped)
		fprintf(f, "    (%llu segments in the middle not kept; see --trace)\n",
			(unsigned long long)mf->ladder->skipped);
}

/* The peer's line: how it ended, and whether that was faultline's stop. */
static void text_peer(const struct model *m, FILE *f)
{
	const struct fl_run_facts *x = m->f;
	const struct fl_exit *p = &x->peer;

	if (x->peer_unready == FL_PEER_NEVER_LISTENED)
		fprintf(f, "peer: did not listen within %.3fs (--ready-timeout), "
			"the target was not started; stopped by faultline, then "
			"%s\n", (double)x->ready_timeout_ns / 1e9, m->peer_how);
	else if (x->peer_unready == FL_PEER_ENDED)
		fprintf(f, "peer: %s at %.3fs before it listened; the target was "
			"not started\n", m->peer_how, (double)p->t_ns / 1e9);
	else if (x->peer_stop_ns && (!p->ended || p->t_ns >= x->peer_stop_ns))
		if (x->target.ended && !x->killed_by_harness)
			fprintf(f, "peer: stopped by faultline at %.3fs (SIGTERM), "
				"%.3fs after the target ended%s%s%s, then %s\n",
				(double)x->peer_stop_ns / 1e9,
				x->peer_stop_ns > x->target.t_ns
				? (double)(x->peer_stop_ns - x->target.t_ns) / 1e9
				: 0.0, x->settle_why[0] ? " (waiting: " : "",
				x->settle_why, x->settle_why[0] ? ")" : "",
				m->peer_how);
		else
			fprintf(f, "peer: stopped by faultline at %.3fs (SIGTERM) "
				"with the target, then %s\n",
				(double)x->peer_stop_ns / 1e9, m->peer_how);
	else
		fprintf(f, "peer: %s at %.3fs on its own, %s the target ended\n",
			m->peer_how, (double)p->t_ns / 1e9,
			x->target.ended && p->t_ns >= x->target.t_ns ? "after"
								     : "before");
}

/* A status word, in colour when asked: green, red, yellow (ECMA-48 SGR,
 * then reset). */
static void text_status(FILE *f, int color, enum m_status st,
			const char *word)
{
	static const char *const sgr[] = {[M_PASS] = "32", [M_FAIL] = "31",
					  [M_SKIP] = "33"};

	if (color)
		fprintf(f, "\033[1;%sm%s\033[0m", sgr[st], word);
	else
		fputs(word, f);
}

static void write_text(const struct model *m, FILE *f, int color, int quiet)
{
	const struct fl_report *r = m->r;
	const struct fl_run_facts *x = m->f;
	static const char *const status[] = {[M_PASS] = "PASS",
					     [M_FAIL] = "FAIL",
					     [M_SKIP] = "SKIP"};

	if (quiet)
		goto result;
	fprintf(f, "\nfaultline report (seed %llu, %.3fs)\n",
		(unsigned long long)r->seed, (double)r->duration_ns / 1e9);
	if (x->killed_by_harness)
		fprintf(f, "target: stopped by faultline at %.3fs (SIGTERM), then "
			"%s at %.3fs\n", (double)x->stop_ns / 1e9, m->target_how,
			(double)x->target.t_ns / 1e9);
	else if (!x->target.started)
		fprintf(f, "target: not started\n");
	else
		fprintf(f, "target: %s at %.3fs\n", m->target_how,
			(double)x->target.t_ns / 1e9);
	if (r->driver) {
		uint64_t end = x->stop_ns ? x->stop_ns : x->target.t_ns;

		if (!x->driver.started)
			fprintf(f, "driver: not started%s\n", x->target.started &&
				!x->stop_ns ? " (the target ended before it "
				"listened)" : "");
		else if (!x->stop_ns && x->target.t_ns <= x->driver.t_ns)
			fprintf(f, "driver: %s at %.3fs; the target had ended "
				"%.3fs before\n", m->driver_how,
				(double)x->driver.t_ns / 1e9,
				(double)(x->driver.t_ns - x->target.t_ns) / 1e9);
		else
			fprintf(f, "driver: %s at %.3fs; the target ran %.3fs "
				"more%s%s%s\n", m->driver_how,
				(double)x->driver.t_ns / 1e9,
				end > x->driver.t_ns ? (double)(end - x->driver.t_ns) /
				1e9 : 0.0, x->settle_why[0] ? " (waiting: " : "",
				x->settle_why, x->settle_why[0] ? ")" : "");
	}
	if (r->peer)
		text_peer(m, f);
	for (size_t i = 0; i < x->ndenials && i < 10; i++) {
		const struct fl_denial *d = &x->denials[i];
		char call[256], why[384];

		fl_denial_call(d, call, sizeof(call));
		fl_denial_explain(d, &x->denial_ctx, why, sizeof(why));
		fprintf(f, "%s: %s failed with %s (%s) [pid %d",
			fl_denial_role_name(d->role), call,
			fl_err_name(d->err), why, d->pid);
		if (d->count > 1)
			fprintf(f, ", %llu times", (unsigned long long)d->count);
		fputs("]\n", f);
	}
	if (x->ndenials > 10)
		fprintf(f, "target: ... %zu more refused operations in the JSON "
			"report\n", x->ndenials - 10);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];

		fputs("  ", f);
		text_status(f, color, m->status[i], status[m->status[i]]);
		fprintf(f, "  %-24s %s\n", c->expect[0] ? c->expect : c->name,
			c->detail);
		for (unsigned j = 0; m->status[i] == M_FAIL && j < c->nflows && j < 3; j++)
			if (c->flows[j] >= 1 && c->flows[j] <= m->nflows)
				text_ladder(m, &m->flows[c->flows[j] - 1], f);
	}
	if (m->nrules && m->have_flows) {
		fprintf(f, "faults:\n");
		for (size_t i = 0; i < m->nrules; i++)
			fprintf(f, "  %s  %-40s acted %llu times\n", m->rules[i].where,
				m->rules[i].text, (unsigned long long)m->rules[i].acted);
	}
	if (m->have_flows) {
		fprintf(f, "flows: %zu\n", m->nflows);
		for (size_t i = 0; i < m->nflows && i < 20; i++) {
			const struct m_flow *mf = &m->flows[i];

			fprintf(f, "  #%u %s -> %s  %llu segments, %llu faults\n",
				mf->id, mf->client, mf->server,
				(unsigned long long)mf->packets,
				(unsigned long long)mf->faults);
			for (int d = 0; d < 2; d++) {
				const struct m_path *p = &mf->side[d];

				if (!p->n)
					continue;
				fprintf(f, "      %s%s:", d ? "server" : "client",
					mf->target[d] ? " (target)" : "");
				for (size_t j = 0; j < p->n; j++)
					fprintf(f, "%s%s", j == p->own ? " | stopped by faultline > "
						: j ? " > " : " ", fl_state_name(p->st[j]) ?: "?");
				fputc('\n', f);
			}
			if (mf->dead)
				fprintf(f, "      peer gone silent: %s\n", mf->dp_text);
		}
		if (m->nflows > 20)
			fprintf(f, "  ... (%zu more in the JSON report)\n", m->nflows - 20);
	}
result:
	fputs("result: ", f);
	text_status(f, color, r->result == FL_RESULT_PASS ? M_PASS
			      : r->result == FL_RESULT_FAIL ? M_FAIL : M_SKIP,
		    fl_result_name(r->result));
	fprintf(f, " (%zu of %zu checks failed, %zu not judged)\n", m->nfail,
		r->nchecks, m->nskip);
}

/* ---- JUnit ---- */

/* s[0..n) as XML character data or an attribute's value: markup escaped,
 * the control characters XML 1.0 forbids as spaces, and each byte that is
 * not valid UTF-8 (the target's argv may hold any) as U+FFFD, so the
 * document always parses. */
void report_xml_put(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = fl_utf8_seq((const unsigned char *)s + i, n - i);

		if (!k) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		if (k > 1) {
			fwrite(s + i, 1, k, f);
			i += k;
			continue;
		}
		switch (s[i]) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t')
				fputc(' ', f);
			else
				fputc(s[i], f);
		}
		i++;
	}
}

static void xml_str(FILE *f, const char *s)
{
	report_xml_put(f, s, strlen(s));
}

/* A failing check's <failure> body: its evidence, where its expect line
 * is, and the ladders of the flows it names, as the text report has them
 * (a CI dashboard shows the body, not the run's log). */
static void junit_failure(const struct model *m, const struct fl_check_result *c,
			  FILE *f)
{
	char *body = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&body, &len);

	fputs("<failure message=\"", f);
	xml_str(f, c->detail);
	fputs("\" type=\"", f);
	xml_str(f, c->name);
	fputs("\">", f);
	if (b) {
		fprintf(b, "%s\n", c->detail);
		if (c->file)
			fprintf(b, "expect: %s (%s:%u)\n", c->expect[0] ? c->expect
				: c->name, c->file, c->line);
		for (unsigned j = 0; j < c->nflows && j < 3; j++)
			if (c->flows[j] >= 1 && c->flows[j] <= m->nflows &&
			    m->flows[c->flows[j] - 1].ladder)
				text_ladder(m, &m->flows[c->flows[j] - 1], b);
		if (fclose(b) == 0 && body)
			report_xml_put(f, body, len);
		free(body);
	} else {
		xml_str(f, c->detail);
	}
	fputs("</failure>", f);
}

/* The target's program name for a classname: argv[0]'s base name, or for
 * a rule file's target line (scenario.c runs it as /bin/sh -c "exec CMD")
 * the base name of CMD's first word; "target" when there is none. */
static void junit_prog(const struct fl_report *r, char *buf, size_t size)
{
	const char *prog = r->argv && r->argv[0] ? r->argv[0] : "target";
	size_t n;

	if (!strcmp(prog, "/bin/sh") && r->argv[1] && !strcmp(r->argv[1], "-c") &&
	    r->argv[2] && !strncmp(r->argv[2], "exec", 4) && !r->argv[3] &&
	    (r->argv[2][4] == ' ' || r->argv[2][4] == '\t')) {
		prog = r->argv[2] + 5;
		prog += strspn(prog, " \t\"'");
	}
	n = strcspn(prog, " \t\n\"'");
	for (size_t i = n; i > 0; i--)
		if (prog[i - 1] == '/' && i < n) {
			n -= i;
			prog += i;
			break;
		}
	snprintf(buf, size, "%.*s", (int)n, n ? prog : "target");
}

/*
 * One testsuite named by --junit-name or the first rule file (runs of
 * different rule files stay apart on a dashboard), one testcase per check
 * whose classname is SUITE.PROGRAM: Jenkins keys a result by classname and
 * name (and splits the classname at its last dot into package and class),
 * so the program alone would merge two rule files' checks of one program.
 * A check has no time of its own, so each testcase has the run's.
 */
static int write_junit(const struct model *m, FILE *f)
{
	const struct fl_report *r = m->r;
	const char *name = r->junit_name && r->junit_name[0] ? r->junit_name
							       : "faultline";
	char prog[256];
	double t = (double)r->duration_ns / 1e9;
	int ret = 0;

	junit_prog(r, prog, sizeof(prog));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fputs("<testsuites name=\"", f);
	xml_str(f, name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
		"time=\"%.3f\">\n", r->nchecks, m->nfail, m->nskip, t);
	fputs("  <testsuite name=\"", f);
	xml_str(f, name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\" time=\"%.3f\">\n",
		r->nchecks, m->nfail, m->nskip, t);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];

		fputs("    <testcase classname=\"", f);
		xml_str(f, name);
		fputc('.', f);
		xml_str(f, prog);
		fputs("\" name=\"", f);
		xml_str(f, c->name);
		fprintf(f, "\" time=\"%.3f\">", t);
		switch (m->status[i]) {
		case M_FAIL:
			junit_failure(m, c, f);
			break;
		case M_SKIP:
			fputs("<skipped message=\"", f);
			xml_str(f, c->detail);
			fputs("\"/>", f);
			break;
		case M_PASS:
			break;
		}
		fputs("</testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (fflush(f) != 0 || ferror(f))
		ret = -EIO;
	return ret;
}

int fl_report_write(const struct fl_report *r, struct fl_report_out *o)
{
	struct model m;
	int ret = report_model_build(&m, r, o->html != NULL);

	o->json_err = o->junit_err = o->html_err = 0;
	if (ret < 0)
		return ret;
	if (o->text) {
		write_text(&m, o->text, o->color, o->quiet);
		fflush(o->text); /* before a report to the same pipe */
	}
	if (o->json)
		o->json_err = write_json(&m, o->json);
	if (o->junit)
		o->junit_err = write_junit(&m, o->junit);
	if (o->html)
		o->html_err = report_html_write(&m, o->html);
	report_model_free(&m);
	return 0;
}
