/*
 * checks_wire.c - the checks of the wire and the TCP states: no-close-wait
 * (from the segments: the peer's FIN until the target's own), dead-peer
 * (peer_gone.c's result), resets, time-wait (the kernel's count at the
 * end) and path (the states each side went through, states.h).  They read
 * the flows, their segments and states; close-wait's evidence names the
 * read that saw the EOF.  Single-threaded.
 */
#include <stdio.h>
#include <string.h>

#include "checks_int.h"

/* expect no-close-wait DUR: judged from the segments: the target's socket
 * is in CLOSE_WAIT from the peer's FIN until its own FIN or RST (RFC 9293
 * 3.3.2), or until the target exits. */
void fl_judge_NO_CLOSE_WAIT(struct fl_check_result *c,
			    const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
	const struct fl_flow *fl;
	int bad = 0, n = 0, early = 0;
	char cl[64], sv[64];

	FOR_TARGET_SIDES(f, id, fl, t) {
		const struct fl_flow_facts *ff = fl_timeline_facts(f->timeline, id);
		int p = !t;
		uint64_t fin, end;
		const char *how;
		int cut = 0;

		fin = ff->fin_ns[p];
		if (!fin || (ff->fin_ns[t] && ff->fin_ns[t] <= fin) ||
		    (ff->rst_ns[t] && ff->rst_ns[t] <= fin) ||
		    (ff->rst_ns[p] && ff->rst_ns[p] <= fin))
			continue;
		n++;
		/* A FIN or RST after faultline's stop is the stop's. */
		if (ff->fin_ns[t] && (!f->stop_ns || ff->fin_ns[t] < f->stop_ns)) {
			end = ff->fin_ns[t];
			how = "its FIN";
		} else if (ff->rst_ns[t] && (!f->stop_ns || ff->rst_ns[t] < f->stop_ns)) {
			end = ff->rst_ns[t];
			how = "its RST";
		} else if (f->stop_ns && f->stop_ns > fin) {
			end = f->stop_ns;
			how = "faultline stopped the target";
			cut = 1;
		} else if (f->target.ended && f->target.t_ns > fin) {
			end = f->target.t_ns;
			how = "the target's exit";
		} else {
			end = f->end_ns;
			how = "the end of the run";
			cut = 1;
		}
		if (end - fin <= limit_ns) {
			early += cut;
			continue;
		}
		fl_add_flow(c, id);
		fl_endpoint_format(&fl->ep[0], cl, sizeof(cl));
		fl_endpoint_format(&fl->ep[1], sv, sizeof(sv));
		fl_detail_add(c, "%sflow %u (%s -> %s): peer FIN at %.3fs; target "
			   "%s socket in %s until %s at %.3fs (%.3fs)",
			   bad++ ? "; " : "", id, cl, sv, sec(fin),
			   t == FL_DIR_C2S ? "client" : "server",
			   fl_state_name(FL_TCP_CLOSE_WAIT), how, sec(end),
			   sec(end - fin));
		for (size_t i = 0; i < f->ncalls; i++) {
			const struct fl_call *k = &f->calls[i];

			if (k->flow == id && fl_call_is_read(k->fn) && k->ret == 0) {
				fl_detail_add(c, "; %s() returned 0 at %.3fs (pid %d "
					   "fd %d)", fl_ev_fn_name(k->fn),
					   sec(k->t_ns), k->pid, k->fd);
				break;
			}
		}
	}
	c->ok = !bad;
	c->skipped = early > 0;
	if (!bad)
		fl_detail_add(c, "%d passive close%s, none in %s longer "
			   "than %.3fs", n - early, n - early == 1 ? "" : "s",
			   fl_state_name(FL_TCP_CLOSE_WAIT), sec(limit_ns));
	if (early)
		fl_detail_add(c, "; not judged: %d socket%s still in %s when "
			   "the run ended, less than %.3fs after the peer's FIN",
			   early, early == 1 ? "" : "s",
			   fl_state_name(FL_TCP_CLOSE_WAIT), sec(limit_ns));
}

/* expect dead-peer DUR: a peer that goes silent (no FIN, no RST) is let go
 * within DUR of its last segment. */
void fl_judge_DEAD_PEER(struct fl_check_result *c,
			const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
	int bad = 0, n = 0, early = 0;
	char text[400];

	for (uint32_t id = 1; f->flows && id <= fl_flow_count(f->flows); id++) {
		struct fl_dead_peer d;

		if (!fl_dead_peer(f, id, &d))
			continue;
		n++;
		if (d.closed_ns && d.closed_ns - d.since_ns <= limit_ns)
			continue;
		/* The run ended before the time was up: nothing proven. */
		if (!d.closed_ns && (f->stop_ns ? f->stop_ns : f->end_ns) <
					    d.since_ns + limit_ns) {
			early++;
			continue;
		}
		fl_dead_peer_describe(&d, text, sizeof(text));
		fl_add_flow(c, id);
		fl_detail_add(c, "%sflow %u: %s", bad++ ? "; " : "", id, text);
	}
	c->ok = !bad;
	c->skipped = early > 0;
	if (!bad && !n)
		fl_detail_add(c, "no peer went silent while the target held its "
			   "connection");
	else if (!bad)
		fl_detail_add(c, "%d silent peer%s, each let go within %.3fs",
			   n - early, n - early == 1 ? "" : "s", sec(limit_ns));
	if (early)
		fl_detail_add(c, "; not judged: %d silent peer%s still held when the "
			   "run ended, less than %.3fs later", early,
			   early == 1 ? "" : "s", sec(limit_ns));
}

/* expect resets <= N: connections the target's own socket reset (an RST
 * it sent got through) before the stop. */
void fl_judge_RESETS(struct fl_check_result *c,
		     const struct fl_run_facts *f, const struct fl_expect *e)
{
	const struct fl_flow *fl;
	int64_t n = 0, shown = 0;

	FOR_TARGET_SIDES(f, id, fl, t) {
		uint64_t at = fl_timeline_facts(f->timeline, id)->rst_ns[t];

		n += at && (!f->stop_ns || at < f->stop_ns);
	}
	c->ok = n <= e->arg;
	fl_detail_add(c, "%lld connection%s reset by the target (at most %lld "
		   "allowed)", (long long)n, n == 1 ? "" : "s",
		   (long long)e->arg);
	FOR_TARGET_SIDES(f, id, fl, t) {
		char cl[64], sv[64];
		uint64_t at = fl_timeline_facts(f->timeline, id)->rst_ns[t];

		if (!at || (f->stop_ns && at >= f->stop_ns) || shown == 4)
			continue;
		fl_endpoint_format(&fl->ep[0], cl, sizeof(cl));
		fl_endpoint_format(&fl->ep[1], sv, sizeof(sv));
		fl_detail_add(c, "%sflow %u (%s -> %s): the target's %s socket "
			   "sent RST at %.3fs", shown++ ? "; " : ": ", id, cl,
			   sv, t == FL_DIR_C2S ? "client" : "server", sec(at));
		fl_add_flow(c, id);
	}
}

/* expect time-wait <= N */
void fl_judge_TIME_WAIT(struct fl_check_result *c,
			const struct fl_run_facts *f, const struct fl_expect *e)
{
	int64_t max = e->arg;
	c->ok = f->time_wait <= max;
	fl_detail_add(c, "%d socket%s in %s on the target's side at the end "
		   "(at most %lld allowed)", f->time_wait,
		   f->time_wait == 1 ? "" : "s", fl_state_name(FL_TCP_TIME_WAIT),
		   (long long)max);
	if (!c->ok)
		fl_detail_add(c, ": the target closes first (active close) too "
			   "often");
}

static void path_text(char *buf, size_t n, const uint8_t *p, size_t np)
{
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < np && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? " > " : "",
					fl_state_name(p[i]) ? fl_state_name(p[i]) : "?");
}

/* The states of flow id's side dir from changes before until_ns (0: all). */
static size_t path_until(const struct fl_states *st, uint32_t id, int dir,
			 uint64_t until_ns, uint8_t *out, size_t max)
{
	size_t nch, n = 0;
	const struct fl_state_change *ch = fl_states_changes(st, &nch);

	for (size_t i = 0; i < nch && n < max; i++)
		if (ch[i].flow == id && ch[i].dir == dir &&
		    (!until_ns || ch[i].t_ns < until_ns))
			out[n++] = ch[i].to;
	return n;
}

static int has_run(const uint8_t *obs, size_t n, const uint8_t *want, size_t nw)
{
	for (size_t at = 0; at + nw <= n; at++)
		if (memcmp(obs + at, want, nw) == 0)
			return 1;
	return 0;
}

/* expect path SIDE S > S ...: on every flow where that side is known, its
 * observed states contain the expected ones as one unbroken run, before
 * faultline stopped the target: what its stop caused (the kernel closing
 * the killed target's sockets) is not the program's behaviour. */
void fl_judge_PATH(struct fl_check_result *c, const struct fl_run_facts *f,
		   const struct fl_expect *e)
{
	char want[256], got[256];
	int judged = 0, bad = 0;

	path_text(want, sizeof(want), e->path, e->npath);
	for (uint32_t id = 1; f->flows && f->states && id <= fl_flow_count(f->flows);
	     id++) {
		const struct fl_flow *fl = fl_flow_get(f->flows, id);
		uint8_t obs[FL_STATES_PATH_MAX], all[FL_STATES_PATH_MAX];
		size_t n, nall;

		for (int dir = 0; dir < 2; dir++) {
		int judge;

		switch (e->path_side) {
		case FL_SIDE_CLIENT:
			judge = dir == FL_DIR_C2S;
			break;
		case FL_SIDE_SERVER:
			judge = dir == FL_DIR_S2C;
			break;
		case FL_SIDE_TARGET:
			/* Both sides of a flow with both ends in the target. */
			judge = fl_flow_target_dir(fl, dir);
			break;
		case FL_SIDE_PEER:
			/* ... and neither is a peer. */
			judge = fl->target_side != FL_SIDE_ANY &&
			       !fl_flow_target_dir(fl, dir);
			break;
		case FL_SIDE_ANY:
		case FL_SIDE_BOTH:
		default:
			judge = 0;
			break;
		}
		if (!judge)
			continue;
		nall = path_until(f->states, id, dir, 0, all, FL_STATES_PATH_MAX);
		n = path_until(f->states, id, dir, f->stop_ns, obs, FL_STATES_PATH_MAX);
		if (!nall)
			continue;
		judged++;
		if (has_run(obs, n, e->path, e->npath))
			continue;
		fl_add_flow(c, id);
		path_text(got, sizeof(got), all, nall);
		if (n < nall && has_run(all, nall, e->path, e->npath)) {
			fl_detail_add(c, "%sflow %u %s: observed %s; %s only after "
				   "faultline stopped the target at %.3fs (the "
				   "stop's doing, not the program's)", bad++ ? "; " : "",
				   id, dir == FL_DIR_C2S ? "client" : "server", got,
				   fl_state_name(all[n]) ?: "?", sec(f->stop_ns));
			continue;
		}
		fl_detail_add(c, "%sflow %u %s: observed %s; expected %s",
			   bad++ ? "; " : "", id,
			   dir == FL_DIR_C2S ? "client" : "server", got, want);
		}
	}
	c->ok = judged && !bad;
	if (!judged)
		fl_detail_add(c, "no flow showed the %s side's states; expected %s",
			   fl_side_name(e->path_side), want);
	else if (!bad)
		fl_detail_add(c, "%d flow%s went %s", judged, judged == 1 ? "" : "s",
			   want);
}
