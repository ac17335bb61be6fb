/*
 * report.c - text, JSON and JUnit reports from one struct fl_report; see
 * report.h.  JSON goes through json-c so quoting is never hand-made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "flow.h"
#include "report.h"
#include "trace.h"

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

/* The trailing states of flow id's side dir that came after faultline
 * began stopping the target at stop_ns (the stop's doing). */
static json_object *after_stop_json(const struct fl_states *st, uint32_t id,
				    int dir, uint64_t stop_ns)
{
	json_object *a = json_object_new_array();
	uint8_t path[FL_STATES_PATH_MAX];
	uint64_t at[FL_STATES_PATH_MAX];
	size_t n = st && stop_ns ? fl_states_path_ns(st, id, dir, path, at,
						     FL_STATES_PATH_MAX) : 0;

	for (size_t i = 0; i < n; i++)
		if (at[i] >= stop_ns)
			json_object_array_add(a, json_object_new_string(
				fl_state_name(path[i]) ?: "?"));
	return a;
}

static json_object *path_json(const struct fl_states *st, uint32_t id, int dir)
{
	json_object *a = json_object_new_array();
	uint8_t path[FL_STATES_PATH_MAX];
	size_t n = st ? fl_states_path(st, id, dir, path, FL_STATES_PATH_MAX) : 0;

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(
						 fl_state_name(path[i]) ?: "?"));
	return a;
}

/* How the target learnt that its peer went silent, or NULL. */
static json_object *dead_peer_json(const struct fl_run_facts *facts,
				   uint32_t id)
{
	struct fl_dead_peer d;
	json_object *o;
	char text[400];

	if (!facts || !fl_dead_peer(facts, id, &d))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "since", json_object_new_double((double)d.since_ns / 1e9));
	json_object_object_add(o, "mechanism", json_object_new_string(fl_dead_peer_how(d.how)));
	json_object_object_add(o, "keepalive_probes", json_object_new_int64(d.probes));
	json_object_object_add(o, "unacked", json_object_new_int64(d.unacked));
	json_object_object_add(o, "noticed", d.noticed_ns ? json_object_new_double(
			(double)d.noticed_ns / 1e9) : NULL);
	json_object_object_add(o, "errno", d.noticed_ns && strerrorname_np(d.err)
			? json_object_new_string(strerrorname_np(d.err)) : NULL);
	json_object_object_add(o, "closed", d.closed_ns ? json_object_new_double(
			(double)d.closed_ns / 1e9) : NULL);
	json_object_object_add(o, "so_keepalive", json_object_new_boolean(d.keepalive > 0));
	json_object_object_add(o, "tcp_user_timeout_ms", d.user_timeout_ms >= 0
			? json_object_new_int64(d.user_timeout_ms) : NULL);
	fl_dead_peer_describe(&d, text, sizeof(text));
	json_object_object_add(o, "detail", json_object_new_string(text));
	return o;
}

/* cover.h: were the calls on the target's side of f observed?
 * {"status":"yes"|"no-shim"|"lost"|"unknown","pid":N|null,
 *  "lost_at":S|null,"detail":"..."} */
static json_object *cover_json(const struct fl_run_facts *facts,
			       const struct fl_flow *f)
{
	json_object *o = json_object_new_object();
	uint64_t lost = 0;
	int pid = -1;
	enum fl_cover c = fl_cover_target(facts->cover, f, &pid, &lost);
	char buf[512];

	json_object_object_add(o, "status", json_object_new_string(fl_cover_name(c)));
	json_object_object_add(o, "pid", pid > 0 ? json_object_new_int(pid) : NULL);
	json_object_object_add(o, "lost_at", c == FL_COVER_LOST
				   ? json_object_new_double((double)lost / 1e9) : NULL);
	fl_cover_explain(facts->cover, f->id,
			 f->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S : FL_DIR_S2C,
			 buf, sizeof(buf));
	json_object_object_add(o, "detail", json_object_new_string(buf));
	return o;
}

static json_object *flows_json(const struct fl_engine *e,
			       const struct fl_states *st,
			       const struct fl_run_facts *facts)
{
	json_object *a = json_object_new_array();
	const struct fl_flow_table *t;
	char buf[64];

	if (!e)
		return a;
	t = fl_engine_flows(e);
	for (uint32_t id = 1; id <= fl_flow_count(t); id++) {
		const struct fl_flow *f = fl_flow_get(t, id);
		json_object *o = json_object_new_object();
		const char *ts = side_name(f->target_side);

		json_object_object_add(o, "id", json_object_new_int((int)f->id));
		fl_endpoint_format(&f->ep[0], buf, sizeof(buf));
		json_object_object_add(o, "client", json_object_new_string(buf));
		fl_endpoint_format(&f->ep[1], buf, sizeof(buf));
		json_object_object_add(o, "server", json_object_new_string(buf));
		json_object_object_add(o, "target_side",
				       ts ? json_object_new_string(ts) : NULL);
		json_object_object_add(
			o, "packets",
			json_object_new_int64((int64_t)(f->packets[0] + f->packets[1])));
		json_object_object_add(o, "faults",
				       json_object_new_int64((int64_t)f->faults));
		/* The target's socket's states (with both ends in the
		 * target: its server's); both sides too. */
		json_object_object_add(
			o, "states",
			f->target_side == FL_SIDE_ANY
				? json_object_new_array()
				: path_json(st, f->id,
					    f->target_side == FL_SIDE_CLIENT
						    ? FL_DIR_C2S
						    : FL_DIR_S2C));
		json_object_object_add(o, "client_states",
				       path_json(st, f->id, FL_DIR_C2S));
		json_object_object_add(o, "server_states",
				       path_json(st, f->id, FL_DIR_S2C));
		{
			json_object *as = json_object_new_object();
			uint64_t stop = facts ? facts->stop_ns : 0;

			json_object_object_add(as, "client",
					       after_stop_json(st, f->id, FL_DIR_C2S, stop));
			json_object_object_add(as, "server",
					       after_stop_json(st, f->id, FL_DIR_S2C, stop));
			json_object_object_add(o, "states_after_stop", as);
		}
		json_object_object_add(o, "first",
				       json_object_new_double((double)f->first_ns / 1e9));
		json_object_object_add(o, "peer_gone", dead_peer_json(facts, id));
		json_object_object_add(o, "calls_observed", cover_json(facts, f));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *faults_json(const struct fl_report *r)
{
	json_object *a = json_object_new_array();
	const struct fl_ruleset *rs = r->facts->rs;
	char buf[512];

	for (size_t i = 0; rs && i < rs->nrules; i++) {
		json_object *o = json_object_new_object();

		snprintf(buf, sizeof(buf), "%s:%u", rs->rules[i].file,
			 rs->rules[i].line);
		json_object_object_add(o, "rule", json_object_new_string(buf));
		json_object_object_add(o, "action", json_object_new_string(
			fl_action_name(rs->rules[i].action)));
		json_object_object_add(o, "count", json_object_new_int64(
			r->engine ? (int64_t)fl_engine_rule_fired(r->engine, i) : 0));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *calls_json(const struct fl_calls *c)
{
	json_object *o = json_object_new_object();

	for (unsigned fn = 1; c && fn < FL_FN_COUNT; fn++)
		if (fl_calls_count(c, fn))
			json_object_object_add(o, fl_ev_fn_name(fn),
					       json_object_new_int64(
						       (int64_t)fl_calls_count(c, fn)));
	return o;
}

int fl_report_json(const struct fl_report *r, const char *path)
{
	json_object *root = json_object_new_object();
	json_object *target = json_object_new_object();
	json_object *argv = json_object_new_array();
	json_object *checks = json_object_new_array();
	json_object *harness = json_object_new_object();
	const struct fl_engine_stats *s = &r->facts->eng;
	int ret = 0;

	json_object_object_add(root, "ok", json_object_new_boolean(r->ok));
	json_object_object_add(root, "result",
			       json_object_new_string(fl_result_name(r->result)));
	for (size_t i = 0; r->argv[i]; i++)
		json_object_array_add(argv, json_object_new_string(r->argv[i]));
	json_object_object_add(target, "argv", argv);
	json_object_object_add(target, "exit", exit_json(&r->facts->target));
	json_object_object_add(target, "stopped_by_faultline",
			       json_object_new_boolean(r->facts->killed_by_harness));
	json_object_object_add(root, "target", target);
	if (r->facts->stop_ns) {
		json_object *st = json_object_new_object();

		json_object_object_add(st, "t", json_object_new_double(
					       (double)r->facts->stop_ns / 1e9));
		json_object_object_add(st, "signal", json_object_new_string("SIGTERM"));
		json_object_object_add(root, "stop", st);
	} else {
		json_object_object_add(root, "stop", NULL);
	}
	if (r->driver) {
		json_object *st = json_object_new_object();

		json_object_object_add(st, "waited", json_object_new_double(
					       (double)r->facts->settle_ns / 1e9));
		json_object_object_add(st, "reason", r->facts->settle_why[0]
				       ? json_object_new_string(r->facts->settle_why)
				       : NULL);
		json_object_object_add(st, "cut_by_timeout",
				       json_object_new_boolean(r->facts->settle_cut));
		json_object_object_add(root, "settle", st);
	}
	if (r->driver) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "cmd", json_object_new_string(r->driver));
		json_object_object_add(d, "exit", exit_json(&r->facts->driver));
		json_object_object_add(root, "driver", d);
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "expect", c->expect[0]
				       ? json_object_new_string(c->expect) : NULL);
		json_object_object_add(o, "ok", json_object_new_boolean(c->ok));
		json_object_object_add(o, "judged", json_object_new_boolean(!c->skipped));
		json_object_object_add(o, "detail",
				       json_object_new_string(c->detail));
		if (c->skipped)
			json_object_object_add(o, "skipped",
					       json_object_new_boolean(1));
		if (c->file) {
			char where[512];

			snprintf(where, sizeof(where), "%s:%u", c->file, c->line);
			json_object_object_add(o, "rule",
					       json_object_new_string(where));
		}
		json_object_array_add(checks, o);
	}
	json_object_object_add(root, "checks", checks);
	json_object_object_add(root, "flows", flows_json(r->engine, r->states, r->facts));
	json_object_object_add(root, "faults", faults_json(r));
	json_object_object_add(root, "calls", calls_json(r->calls));
	if (r->calls) {
		json_object *sh = json_object_new_object();

		json_object_object_add(sh, "loaded", json_object_new_boolean(
			fl_calls_shimmed(r->calls) > 0));
		json_object_object_add(sh, "processes", json_object_new_int64(
			(int64_t)fl_calls_shimmed(r->calls)));
		json_object_object_add(sh, "lost", json_object_new_int64(
			(int64_t)fl_calls_lost(r->calls)));
		json_object_object_add(sh, "malformed", json_object_new_int64(
			(int64_t)fl_calls_malformed(r->calls)));
		json_object_object_add(root, "shim", sh);
	}
	json_object_object_add(root, "seed", json_object_new_uint64(r->seed));
	/* The seed exactly, for readers whose numbers are doubles (jq, JS). */
	json_object_object_add(root, "seed_text", json_object_new_string(
		fl_seed_text(r->seed, (char[FL_SEED_TEXT_SIZE]){0})));
	json_object_object_add(root, "duration",
			       json_object_new_double((double)r->duration_ns / 1e9));
	json_object_object_add(harness, "backend",
			       json_object_new_string(r->backend ? r->backend : "none"));
	json_object_object_add(harness, "segments",
			       json_object_new_int64((int64_t)s->packets));
	json_object_object_add(harness, "injected",
			       json_object_new_int64((int64_t)s->injected));
	json_object_object_add(harness, "enobufs",
			       json_object_new_int64((int64_t)s->enobufs));
	json_object_object_add(harness, "queue_dropped",
			       json_object_new_int64(s->queue_dropped));
	json_object_object_add(harness, "user_dropped",
			       json_object_new_int64(s->user_dropped));
	json_object_object_add(harness, "max_held",
			       json_object_new_int64((int64_t)s->max_held));
	{
		/* What state sampling asked the kernel, and on which thread:
		 * dumps walk the host's whole TCP table, lookups do not. */
		json_object *d = json_object_new_object();
		const struct fl_sdiag_stats *q = &r->diag_run, *t = &r->diag_sampler;

		json_object_object_add(d, "dumps", json_object_new_int64(
			(int64_t)(q->dumps + t->dumps)));
		json_object_object_add(d, "listener_dumps", json_object_new_int64(
			(int64_t)(q->listener_dumps + t->listener_dumps)));
		json_object_object_add(d, "lookups", json_object_new_int64(
			(int64_t)t->lookups));
		json_object_object_add(d, "run_thread_lookups",
			json_object_new_int64((int64_t)q->lookups));
		json_object_object_add(harness, "sock_diag", d);
	}
	json_object_object_add(root, "harness", harness);

	if (json_object_to_file_ext(path, root,
				    JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
		ret = errno ? -errno : -EIO;
	json_object_put(root);
	return ret;
}


/* ---- the ladder of a flow: segments, calls and states in time order ---- */

struct rung {
	uint64_t t_ns;
	int kind; /* 0 segment, 1 call, 2 state */
	const void *p;
};

struct rungs {
	struct rung *v;
	size_t n, cap;
};

static void rung_add(struct rungs *r, uint64_t t, int kind, const void *p)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 128;
		struct rung *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct rung){.t_ns = t, .kind = kind, .p = p};
}

static void rung_pkt(void *ctx, const struct fl_pkt_rec *rec)
{
	struct rungs *r = ctx;
	struct fl_pkt_rec *copy = malloc(sizeof(*copy));

	if (!copy)
		return;
	*copy = *rec;
	rung_add(r, rec->t_ns, 0, copy);
}

static int rung_cmp(const void *a, const void *b)
{
	const struct rung *x = a, *y = b;

	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return x->kind - y->kind;
}

static void print_ladder(const struct fl_report *r, uint32_t id, FILE *f)
{
	const struct fl_flow *fl = fl_flow_get(fl_engine_flows(r->engine), id);
	const struct fl_ruleset *rs = r->facts->rs;
	struct rungs g = {0};
	char a[64], b[64], flags[40];
	uint64_t skipped;
	const char *side[2];

	if (!fl)
		return;
	side[0] = fl_flow_target_dir(fl, FL_DIR_C2S) ? "client (target)" : "client";
	side[1] = fl_flow_target_dir(fl, FL_DIR_S2C) ? "server (target)" : "server";
	fl_endpoint_format(&fl->ep[0], a, sizeof(a));
	fl_endpoint_format(&fl->ep[1], b, sizeof(b));
	fprintf(f, "    flow %u: %s %s <-> %s %s   (* = fault)\n", id, side[0],
		a, side[1], b);
	skipped = fl_flow_log_walk(fl, rung_pkt, &g);
	if (r->calls) {
		size_t n;
		const struct fl_call *k = fl_calls_get(r->calls, &n);

		for (size_t i = 0; i < n; i++)
			if (k[i].flow == id)
				rung_add(&g, k[i].t_ns, 1, &k[i]);
	}
	if (r->states) {
		size_t n;
		const struct fl_state_change *c = fl_states_changes(r->states, &n);

		for (size_t i = 0; i < n; i++)
			if (c[i].flow == id)
				rung_add(&g, c[i].t_ns, 2, &c[i]);
	}
	qsort(g.v, g.n, sizeof(*g.v), rung_cmp);
	for (size_t i = 0; i < g.n; i++) {
		const struct rung *u = &g.v[i];

		fprintf(f, "    %10.6f  ", (double)u->t_ns / 1e9);
		if (u->kind == 0) {
			const struct fl_pkt_rec *p = u->p;
			int fault = p->verdict != FL_V_PASS;

			fl_flags_format(p->flags, flags, sizeof(flags));
			fprintf(f, "%c %-6s %s %-8s seq=%u ack=%u len=%u  %s",
				fault ? '*' : ' ', p->dir ? "server" : "client",
				p->dir ? "<--" : "-->", flags, p->seq, p->ack,
				p->len, fl_verdict_name(p->verdict));
			if (p->rule >= 0 && rs && (size_t)p->rule < rs->nrules)
				fprintf(f, " (%s:%u)", rs->rules[p->rule].file,
					rs->rules[p->rule].line);
			fputc('\n', f);
			free((void *)p);
		} else if (u->kind == 1) {
			const struct fl_call *k = u->p;
			const char *st = fl_ev_tcp_state_name(k->state);

			fprintf(f, "  %-6s     %s(fd %d) = %lld%s%s  pid %d%s%s\n",
				k->dir ? "server" : "client", fl_ev_fn_name(k->fn),
				k->fd, (long long)k->ret, k->err ? " " : "",
				k->err ? strerrorname_np(k->err) : "", k->pid,
				st ? "  in " : "", st ? st : "");
		} else {
			const struct fl_state_change *c = u->p;

			fprintf(f, "  %-6s     state %s -> %s\n",
				c->dir ? "server" : "client",
				c->from ? fl_state_name(c->from) : "(new)",
				fl_state_name(c->to) ? fl_state_name(c->to) : "?");
		}
	}
	if (skipped)
		fprintf(f, "    (%llu segments in the middle not kept; see --trace)\n",
			(unsigned long long)skipped);
	free(g.v);
}

void fl_report_text(const struct fl_report *r, FILE *f)
{
	const struct fl_ruleset *rs = r->facts->rs;
	size_t nfail = 0, nskip = 0;
	char how[64];

	fprintf(f, "\nfaultline report (seed %llu, %.3fs)\n",
		(unsigned long long)r->seed, (double)r->duration_ns / 1e9);
	fl_exit_describe(&r->facts->target, how, sizeof(how));
	if (r->facts->killed_by_harness)
		fprintf(f, "target: stopped by faultline at %.3fs (SIGTERM), then "
			"%s at %.3fs\n", (double)r->facts->stop_ns / 1e9, how,
			(double)r->facts->target.t_ns / 1e9);
	else
		fprintf(f, "target: %s at %.3fs\n", how,
			(double)r->facts->target.t_ns / 1e9);
	if (r->driver) {
		uint64_t end = r->facts->stop_ns ? r->facts->stop_ns
						 : r->facts->target.t_ns;

		fl_exit_describe(&r->facts->driver, how, sizeof(how));
		fprintf(f, "driver: %s at %.3fs; the target ran %.3fs more%s%s%s\n",
			how, (double)r->facts->driver.t_ns / 1e9,
			end > r->facts->driver.t_ns
				? (double)(end - r->facts->driver.t_ns) / 1e9 : 0.0,
			r->facts->settle_why[0] ? " (waiting: " : "",
			r->facts->settle_why,
			r->facts->settle_why[0] ? ")" : "");
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];

		fprintf(f, "  %s  %-24s %s\n",
			!c->ok ? "FAIL" : c->skipped ? "SKIP" : "PASS",
			c->expect[0] ? c->expect : c->name, c->detail);
		nfail += !c->ok;
		nskip += c->ok && c->skipped;
		for (unsigned j = 0; !c->ok && r->engine && j < c->nflows && j < 3; j++)
			print_ladder(r, c->flows[j], f);
	}
	if (rs && rs->nrules && r->engine) {
		fprintf(f, "faults:\n");
		for (size_t i = 0; i < rs->nrules; i++) {
			char text[256];

			fl_rule_format(&rs->rules[i], text, sizeof(text));
			fprintf(f, "  %s:%u  %-40s acted %llu times\n",
				rs->rules[i].file, rs->rules[i].line, text,
				(unsigned long long)fl_engine_rule_fired(r->engine, i));
		}
	}
	if (r->engine) {
		const struct fl_flow_table *t = fl_engine_flows(r->engine);
		struct fl_dead_peer dp;
		char c[64], s[64];

		fprintf(f, "flows: %zu\n", fl_flow_count(t));
		for (uint32_t id = 1; id <= fl_flow_count(t) && id <= 20; id++) {
			const struct fl_flow *fl = fl_flow_get(t, id);

			fl_endpoint_format(&fl->ep[0], c, sizeof(c));
			fl_endpoint_format(&fl->ep[1], s, sizeof(s));
			fprintf(f, "  #%u %s -> %s  %llu segments, %llu faults\n",
				fl->id, c, s,
				(unsigned long long)(fl->packets[0] + fl->packets[1]),
				(unsigned long long)fl->faults);
			for (int d = 0; r->states && d < 2; d++) {
				uint8_t p[FL_STATES_PATH_MAX];
				size_t n = fl_states_path(r->states, id, d, p,
							  FL_STATES_PATH_MAX);

				if (!n)
					continue;
				fprintf(f, "      %s%s:", d ? "server" : "client",
					fl_flow_target_dir(fl, d)
						? " (target)" : "");
				{
					size_t nch, j = 0, own = n;
					const struct fl_state_change *ch =
						fl_states_changes(r->states, &nch);

					/* How many came before the stop. */
					if (r->facts->stop_ns) {
						own = 0;
						for (size_t i = 0; i < nch; i++)
							if (ch[i].flow == id && ch[i].dir == d &&
							    ch[i].t_ns < r->facts->stop_ns)
								own++;
					}
					for (j = 0; j < n; j++)
						fprintf(f, "%s%s", j == own ? " | stopped by faultline > "
							: j ? " > " : " ",
							fl_state_name(p[j]) ?: "?");
				}
				fputc('\n', f);
			}
			if (r->facts && fl_dead_peer(r->facts, id, &dp)) {
				char text[400];

				fl_dead_peer_describe(&dp, text, sizeof(text));
				fprintf(f, "      peer gone silent: %s\n", text);
			}
		}
		if (fl_flow_count(t) > 20)
			fprintf(f, "  ... (%zu more in the JSON report)\n",
				fl_flow_count(t) - 20);
	}
	fprintf(f, "result: %s (%zu of %zu checks failed, %zu not judged)\n",
		fl_result_name(r->result), nfail, r->nchecks, nskip);
}

static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
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
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc(' ', f);
			else
				fputc(*s, f);
		}
	}
}

int fl_report_junit(const struct fl_report *r, const char *path)
{
	FILE *f = fopen(path, "we");
	size_t nfail = 0, nskip = 0;
	int ret = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < r->nchecks; i++) {
		nfail += !r->checks[i].ok;
		nskip += r->checks[i].skipped;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
		r->nchecks, nfail, nskip);
	fprintf(f, "  <testsuite name=\"faultline\" tests=\"%zu\" failures=\"%zu\" "
		"skipped=\"%zu\" time=\"%.3f\">\n",
		r->nchecks, nfail, nskip, (double)r->duration_ns / 1e9);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];

		fputs("    <testcase classname=\"faultline\" name=\"", f);
		xml_str(f, c->name);
		fputs("\">", f);
		if (!c->ok) {
			fputs("<failure message=\"", f);
			xml_str(f, c->detail);
			fputs("\">", f);
			xml_str(f, c->detail);
			fputs("</failure>", f);
		} else if (c->skipped) {
			fputs("<skipped message=\"", f);
			xml_str(f, c->detail);
			fputs("\"/>", f);
		}
		fputs("</testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (ferror(f))
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	return ret;
}
