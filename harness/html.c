/*
 * html.c - the HTML report (--html FILE) from the report's model
 * (report_model.h): one self-contained file that loads nothing (inline
 * CSS, inline SVG, a few lines of inline script, and a
 * Content-Security-Policy that forbids any other source).  It shows the
 * result, the run's facts, each check with its evidence, the faults, and
 * every flow, failing ones first and open, each with its ladder drawn as
 * a sequence diagram: a client and a server lane, time downwards, the
 * segments as arrows, the calls as boxes and the state changes as tags
 * on the side that made them.  The diagram's rows are the text report's
 * ladder (text_ladder() in report.c), in the same order.  Every string
 * from the program or the rules goes through report_xml_put().
 * Single-threaded.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "calls.h"
#include "event.h"
#include "report_model.h"
#include "trace.h"
#include "verdict.h"

/* The diagram's geometry, in SVG user units (CSS pixels). */
enum {
	D_W = 980,       /* width */
	D_TIME = 10,     /* the time labels' left edge */
	D_LANE_C = 330,  /* the client's lane */
	D_LANE_S = 790,  /* the server's lane */
	D_TOP = 48,      /* the first row, below the lanes' labels */
	D_GAP_MAX = 48,  /* the most room a gap between rows takes */
};

static void h(FILE *f, const char *s)
{
	report_xml_put(f, s, strlen(s));
}

static void h_rule(FILE *f, const struct fl_ruleset *rs, int rule)
{
	if (rule >= 0 && rs && (size_t)rule < rs->nrules) {
		h(f, rs->rules[rule].file);
		fprintf(f, ":%u", rs->rules[rule].line);
	}
}

static const char *status_word(enum m_status s)
{
	switch (s) {
	case M_PASS:
		return "PASS";
	case M_FAIL:
		return "FAIL";
	case M_SKIP:
		return "SKIP";
	}
	return "?";
}

static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1b1b1b;"
	"background:#fff}\n"
	"h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:22px 0 6px}\n"
	"code,.mono,td.ev{font-family:ui-monospace,monospace;font-size:12.5px}\n"
	"table{border-collapse:collapse;margin:4px 0}\n"
	"td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;"
	"vertical-align:top}\nth{background:#f2f2f2}\n"
	"table.facts th{width:9em}\n"
	"td.ev{white-space:pre-wrap;word-break:break-word;max-width:60em}\n"
	".st{font-weight:bold;padding:1px 7px;border-radius:3px;color:#fff}\n"
	".PASS{background:#1a7f37}.FAIL{background:#cf222e}"
	".SKIP,.INCONCLUSIVE{background:#9a6700}\n"
	"h1 .st{font-size:20px}\n"
	"details.flow{border:1px solid #bbb;border-radius:4px;margin:8px 0;"
	"padding:4px 10px}\n"
	"details.flow[data-failing='1']{border-color:#cf222e}\n"
	"details.flow summary{cursor:pointer;font-weight:600}\n"
	".path{margin:2px 0 2px 1em}\n"
	".legend{color:#555;font-size:13px;max-width:62em;margin:2px 0 6px}\n"
	"svg.ladder{display:block;margin:6px 0;background:#fcfcfc;"
	"border:1px solid #e4e4e4}\n"
	"svg.ladder text{font-family:ui-monospace,monospace;font-size:12px;"
	"fill:#1b1b1b}\n"
	"svg.ladder .lane{stroke:#888;stroke-width:1.5}\n"
	"svg.ladder .lanelabel{font-weight:bold;font-size:13px}\n"
	"svg.ladder .t{fill:#555;font-size:11px}\n"
	"svg.ladder .gap{fill:#999;font-size:10px}\n"
	"svg.ladder .seg line{stroke:#24292f;stroke-width:1.5}\n"
	"svg.ladder .seg polygon{fill:#24292f}\n"
	"svg.ladder .seg.fault line{stroke:#cf222e;stroke-width:2}\n"
	"svg.ladder .seg.fault polygon{fill:#cf222e}\n"
	"svg.ladder .seg.fault text,svg.ladder text.why{fill:#cf222e}\n"
	"svg.ladder .x{stroke:#cf222e;stroke-width:2.5}\n"
	"svg.ladder .call rect{fill:#ddf4ff;stroke:#0969da}\n"
	"svg.ladder .state rect{fill:#fff8c5;stroke:#9a6700}\n"
	"svg.ladder .skip rect{fill:#eee;stroke:#aaa;stroke-dasharray:4 3}\n"
	"svg.ladder .skip text{fill:#555}\n";

/* Uncaught errors recorded in <html data-errors>, and data-rendered set
 * once the document is read to its end (the browser test reads both). */
static const char script_head[] =
	"<script>window.addEventListener('error',function(e){var d="
	"document.documentElement;d.setAttribute('data-errors',"
	"(d.getAttribute('data-errors')||'')+(e.message||'error')+'; ');});"
	"</script>\n";
static const char script_tail[] =
	"<script>document.documentElement.setAttribute('data-rendered','1');"
	"</script>\n";

/* ---- the diagram ---- */

/* A call as the ladder shows it: "close(fd 5) = 0", "shutdown(fd 5,
 * SHUT_WR) = 0", "setsockopt(fd 5, SO_LINGER {1,0}) = 0",
 * "read(fd 4) = -1 ECONNRESET". */
static void call_label(const struct fl_call *k, char *buf, size_t size)
{
	char arg[96] = "";
	size_t n;

	if (k->fn == FL_FN_SHUTDOWN)
		snprintf(arg, sizeof(arg), ", %s", k->arg == SHUT_RD ? "SHUT_RD"
			 : k->arg == SHUT_WR ? "SHUT_WR" : k->arg == SHUT_RDWR
			 ? "SHUT_RDWR" : "?");
	else if (k->fn == FL_FN_SETSOCKOPT) {
		const char *on = fl_call_opt_name(k->level, k->optname);

		if (on && k->level == SOL_SOCKET && k->optname == SO_LINGER)
			snprintf(arg, sizeof(arg), ", SO_LINGER {%d,%d}",
				 k->linger_onoff, k->linger_secs);
		else if (on)
			snprintf(arg, sizeof(arg), ", %s %lld", on, (long long)k->val);
		else
			snprintf(arg, sizeof(arg), ", %d:%d %lld", k->level,
				 k->optname, (long long)k->val);
	}
	n = (size_t)snprintf(buf, size, "%s(fd %d%s) = %lld",
			     fl_ev_fn_name(k->fn), k->fd, arg, (long long)k->ret);
	if (k->err && n < size)
		snprintf(buf + n, size - n, " %s", fl_err_name(k->err));
}

/* Text's width in the diagram's monospace 12px (0.6em a character). */
static double text_w(const char *s)
{
	double n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80; /* UTF-8 lead bytes */
	return n * 7.3;
}

/* A box (call) or tag (state) with text on lane x: centred on the lane
 * (box), or outside it (tag: left of the client's, right of the
 * server's). */
static void lane_box(FILE *f, const char *cls, int dir, double y,
		     const char *text, const char *title)
{
	double w = text_w(text) + 14, x;
	double lane = dir ? D_LANE_S : D_LANE_C;

	if (!strcmp(cls, "call"))
		x = lane - w / 2;
	else
		x = dir ? lane + 8 : lane - 8 - w;
	if (x + w > D_W - 4)
		x = D_W - 4 - w;
	if (x < 92)
		x = 92;
	fprintf(f, "<g class=\"%s\" data-side=\"%s\"><title>", cls,
		dir ? "server" : "client");
	h(f, title);
	fprintf(f, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"20\" rx=\"%d\"/><text x=\"%.1f\" y=\"%.1f\">", x,
		y - 10, w, cls[0] == 's' ? 9 : 2, x + 7, y + 4);
	h(f, text);
	fputs("</text></g>\n", f);
}

/* One segment: an arrow at height y from its sender's lane toward the
 * receiver's, its flags/seq/ack/len above it; one a rule acted on in red
 * with its verdict and rule below; a dropped one ends in an X short of
 * the receiver. */
static void seg_arrow(FILE *f, const struct model *m, const struct rung *u,
		      double y)
{
	const struct fl_pkt_rec *p = &u->u.pkt;
	enum fl_verdict v = p->verdict;
	int fault = v != FL_V_PASS;
	double x0 = p->dir ? D_LANE_S : D_LANE_C;
	double x1 = p->dir ? D_LANE_C : D_LANE_S;
	double s = x1 > x0 ? 1 : -1, end = x1 - s * 4, mid = (x0 + x1) / 2;
	char flags[40], label[160];

	fl_flags_format(p->flags, flags, sizeof(flags));
	snprintf(label, sizeof(label), "%s seq=%u ack=%u len=%u", flags, p->seq,
		 p->ack, p->len);
	if (v == FL_V_DROP)
		end = x0 + (x1 - x0) * 0.78;
	fprintf(f, "<g class=\"seg%s\" data-dir=\"%s\" data-verdict=\"%s\"",
		fault ? " fault" : "", p->dir ? "s2c" : "c2s", fl_verdict_name(v));
	if (fault && p->rule >= 0) {
		fputs(" data-rule=\"", f);
		h_rule(f, m->f->rs, p->rule);
		fputc('"', f);
	}
	fprintf(f, "><title>%.6f %s: ", (double)u->t_ns / 1e9,
		p->dir ? "server to client" : "client to server");
	h(f, label);
	fprintf(f, ", %s", fl_verdict_name(v));
	fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/>", x0, y, end, y);
	if (v == FL_V_DROP)
		fprintf(f, "<path class=\"x\" d=\"M%.1f %.1fl12 12m0 -12l-12 12\"/>",
			end - 6, y - 6);
	else
		fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>",
			x1, y, x1 - s * 11, y - 5, x1 - s * 11, y + 5);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", mid,
		y - 6);
	h(f, label);
	fputs("</text>", f);
	if (fault) {
		fprintf(f, "<text class=\"why\" x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">%s", mid, y + 16, fl_verdict_name(v));
		if (p->rule >= 0) {
			fputs(" (", f);
			h_rule(f, m->f->rs, p->rule);
			fputc(')', f);
		}
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
}

/* The room a gap of ns between two rows takes: nothing up to 1 ms, then
 * growing with its logarithm (10 ms 12, 1 s 36), at most D_GAP_MAX.  The
 * rows' order and their time labels are the truth, not the distances. */
static double gap_room(uint64_t ns)
{
	double ms = (double)ns / 1e6;

	if (ms <= 1)
		return 0;
	return fmin(D_GAP_MAX, 12 * log10(ms));
}

static double row_height(const struct rung *u)
{
	switch (u->kind) {
	case RUNG_PKT:
		return u->u.pkt.verdict != FL_V_PASS ? 46 : 32;
	case RUNG_CALL:
		return 26;
	case RUNG_STATE:
		return 24;
	}
	return 30;
}

static void lane_labels(FILE *f, const struct m_flow *mf, double y)
{
	for (int d = 0; d < 2; d++) {
		fprintf(f, "<text class=\"lanelabel\" x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"middle\">%s ", d ? D_LANE_S : D_LANE_C, y,
			d ? "server" : "client");
		h(f, d ? mf->server : mf->client);
		fprintf(f, "%s</text>\n", mf->target[d] ? " (target)" : "");
	}
}

/* The ladder of mf as an SVG sequence diagram. */
static void write_diagram(FILE *f, const struct model *m,
			  const struct m_flow *mf)
{
	const struct m_ladder *l = mf->ladder;
	double y = D_TOP, height;
	size_t segs = 0;
	uint64_t prev = 0;

	/* Its height first: the svg element's attributes come before the
	 * rows. */
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			y += gap_room(l->v[i].t_ns - prev);
		prev = l->v[i].t_ns;
		y += row_height(&l->v[i]);
		if (l->v[i].kind == RUNG_PKT && ++segs == FL_LADDER_HEAD &&
		    l->skipped)
			y += 34;
	}
	height = y + 34;
	fprintf(f, "<svg class=\"ladder\" "
		"width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
		"data-flow=\"%u\" data-segments=\"%zu\" data-skipped=\"%llu\" "
		"role=\"img\">\n", D_W, height, D_W, height, mf->id, segs,
		(unsigned long long)l->skipped);
	fprintf(f, "<title>flow %u: client ", mf->id);
	h(f, mf->client);
	fputs(" and server ", f);
	h(f, mf->server);
	fputs("</title>\n", f);
	lane_labels(f, mf, 22);
	fprintf(f, "<text class=\"t\" x=\"%d\" y=\"22\">time (s)</text>\n", D_TIME);
	for (int d = 0; d < 2; d++)
		fprintf(f, "<line class=\"lane\" x1=\"%d\" y1=\"32\" x2=\"%d\" "
			"y2=\"%.0f\"/>\n", d ? D_LANE_S : D_LANE_C,
			d ? D_LANE_S : D_LANE_C, height - 28);
	y = D_TOP;
	segs = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct rung *u = &l->v[i];
		double rh = row_height(u), at;
		char text[256], title[320];

		if (i) {
			double g = gap_room(u->t_ns - prev);

			if (g >= 18)
				fprintf(f, "<text class=\"gap\" x=\"%d\" y=\"%.1f\">"
					"+%.3f s</text>\n", D_TIME + 8, y + g / 2 + 3,
					(double)(u->t_ns - prev) / 1e9);
			y += g;
		}
		prev = u->t_ns;
		at = y + rh / 2 + (u->kind == RUNG_PKT ? 4 : 0);
		fprintf(f, "<text class=\"t\" x=\"%d\" y=\"%.1f\">%.6f</text>\n",
			D_TIME, at + 4, (double)u->t_ns / 1e9);
		switch (u->kind) {
		case RUNG_PKT:
			seg_arrow(f, m, u, at);
			break;
		case RUNG_CALL: {
			const struct fl_call *k = u->u.call;
			const char *st = fl_ev_tcp_state_name(k->state);

			call_label(k, text, sizeof(text));
			snprintf(title, sizeof(title), "%.6f pid %d: %s%s%s",
				 (double)u->t_ns / 1e9, k->pid, text,
				 st ? " in " : "", st ? st : "");
			lane_box(f, "call", k->dir != FL_DIR_C2S, at, text, title);
			break;
		}
		case RUNG_STATE: {
			const struct fl_state_change *c = u->u.change;

			snprintf(text, sizeof(text), "-> %s",
				 fl_state_name(c->to) ? fl_state_name(c->to) : "?");
			snprintf(title, sizeof(title), "%.6f %s: %s -> %s",
				 (double)u->t_ns / 1e9, c->dir ? "server" : "client",
				 c->from ? fl_state_name(c->from) : "(new)", text + 3);
			lane_box(f, "state", c->dir != FL_DIR_C2S, at, text, title);
			break;
		}
		}
		y += rh;
		if (u->kind == RUNG_PKT && ++segs == FL_LADDER_HEAD && l->skipped) {
			fprintf(f, "<g class=\"skip\"><rect x=\"%d\" y=\"%.1f\" "
				"width=\"%d\" height=\"24\"/><text x=\"%d\" y=\"%.1f\" "
				"text-anchor=\"middle\">%llu segments in the middle not "
				"kept (see --trace)</text></g>\n", D_LANE_C, y + 4,
				D_LANE_S - D_LANE_C, (D_LANE_C + D_LANE_S) / 2, y + 20,
				(unsigned long long)l->skipped);
			y += 34;
		}
	}
	lane_labels(f, mf, height - 10);
	fputs("</svg>\n", f);
}

/* ---- the page ---- */

static void write_path(FILE *f, const struct m_flow *mf, int d)
{
	const struct m_path *p = &mf->side[d];

	fprintf(f, "<div class=\"path mono\" data-side=\"%s\">%s%s:",
		d ? "server" : "client", d ? "server" : "client",
		mf->target[d] ? " (target)" : "");
	for (size_t j = 0; j < p->n; j++)
		fprintf(f, "%s%s", j == p->own ? " | stopped by faultline &gt; "
			: j ? " &gt; " : " ", fl_state_name(p->st[j]) ?: "?");
	if (!p->n)
		fputs(" (none seen)", f);
	fputs("</div>\n", f);
}

static void flow_summary(FILE *f, const struct m_flow *mf)
{
	fprintf(f, "flow #%u: client ", mf->id);
	h(f, mf->client);
	fputs(" &#8594; server ", f);
	h(f, mf->server);
	fprintf(f, " &#8212; target: %s, %llu segments, %llu faults%s",
		mf->target_side ? mf->target_side : "neither",
		(unsigned long long)mf->packets, (unsigned long long)mf->faults,
		mf->failing ? " &#8212; a failing check names it" : "");
}

/* On a page with no failing flow, how many of the flows a rule acted on
 * are open. */
#define FL_HTML_OPEN_FAULTED 3

static void write_flows(FILE *f, const struct model *m)
{
	size_t rest = 0, nfailing = 0;
	int faulted_open = 0;

	fprintf(f, "<h2 id=\"flows\">Flows (%zu", m->nflows);
	if (m->nflows > m->nladders)
		fprintf(f, "; %zu without a diagram", m->nflows - m->nladders);
	fputs(")</h2>\n", f);
	/* What a diagram holds and what it leaves out, so that no one reads a
	 * missing data segment or handshake ACK as one that never was. */
	fputs("<p class=\"legend\">Each diagram has the segments faultline "
	      "queued: every SYN, FIN and RST, every segment of a connection "
	      "once it began to close, and data segments only when a rule looks "
	      "at them (<code>--queue-all</code> queues all). Red: a rule acted "
	      "on it (&#215;: dropped before its receiver). Boxes: the program's "
	      "socket calls, on the caller's side. Tags: TCP state changes, at "
	      "the time faultline learned them (from a segment, or from the "
	      "kernel where no segment shows one).</p>\n", f);
	if (m->nflows > m->nladders)
		fprintf(f, "<p class=\"nodiagram\" data-count=\"%zu\">%zu flows have "
			"no diagram (the first %d, failing ones first, have one); "
			"the table below lists them, the JSON report and the trace "
			"have all their segments.</p>\n", m->nflows - m->nladders,
			m->nflows - m->nladders, FL_HTML_LADDERS);
	/* Failing flows are open.  On a page with none, the first few flows
	 * a rule acted on are, so that a passing run shows what it tested. */
	for (size_t i = 0; i < m->nflows; i++)
		nfailing += m->flows[i].failing && m->flows[i].ladder;
	for (size_t i = 0; i < m->nflows; i++) {
		const struct m_flow *mf = &m->flows[m->order[i]];
		int open;

		if (!mf->ladder) {
			rest++;
			continue;
		}
		open = mf->failing || (!nfailing && mf->faults &&
				       faulted_open++ < FL_HTML_OPEN_FAULTED);
		fprintf(f, "<details class=\"flow\" id=\"flow-%u\" data-flow=\"%u\" "
			"data-failing=\"%d\" data-faults=\"%llu\"%s><summary>",
			mf->id, mf->id, mf->failing, (unsigned long long)mf->faults,
			open ? " open=\"\"" : "");
		flow_summary(f, mf);
		fputs("</summary>\n", f);
		for (int d = 0; d < 2; d++)
			write_path(f, mf, d);
		if (mf->dead) {
			fputs("<div class=\"path\">peer gone silent: ", f);
			h(f, mf->dp_text);
			fputs("</div>\n", f);
		}
		write_diagram(f, m, mf);
		fputs("</details>\n", f);
	}
	if (!rest)
		return;
	fputs("<table class=\"rest\"><tr><th>flow</th><th>client</th>"
	      "<th>server</th><th>target</th><th>segments</th><th>faults</th>"
	      "<th>failing</th></tr>\n", f);
	for (size_t i = 0; i < m->nflows; i++) {
		const struct m_flow *mf = &m->flows[m->order[i]];

		if (mf->ladder)
			continue;
		fprintf(f, "<tr data-flow=\"%u\"><td>#%u</td><td class=\"mono\">",
			mf->id, mf->id);
		h(f, mf->client);
		fputs("</td><td class=\"mono\">", f);
		h(f, mf->server);
		fprintf(f, "</td><td>%s</td><td>%llu</td><td>%llu</td><td>%s</td>"
			"</tr>\n", mf->target_side ? mf->target_side : "neither",
			(unsigned long long)mf->packets,
			(unsigned long long)mf->faults, mf->failing ? "yes" : "");
	}
	fputs("</table>\n", f);
}

static void write_argv(FILE *f, char *const *argv)
{
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			fputc(' ', f);
		h(f, argv[i]);
	}
}

static void write_facts(FILE *f, const struct model *m)
{
	const struct fl_report *r = m->r;
	const struct fl_run_facts *x = m->f;

	fputs("<table class=\"facts\">\n<tr><th>target</th><td><code>", f);
	write_argv(f, r->argv);
	fputs("</code><br/>", f);
	if (x->killed_by_harness)
		fprintf(f, "stopped by faultline at %.3fs (SIGTERM), then ",
			(double)x->stop_ns / 1e9);
	if (!x->target.started)
		fputs("not started", f);
	else
		fprintf(f, "%s at %.3fs", m->target_how, (double)x->target.t_ns / 1e9);
	fputs("</td></tr>\n", f);
	if (r->driver) {
		fputs("<tr><th>driver</th><td><code>", f);
		h(f, r->driver);
		fputs("</code><br/>", f);
		if (x->driver.started)
			fprintf(f, "%s at %.3fs", m->driver_how,
				(double)x->driver.t_ns / 1e9);
		else
			fputs("not started", f);
		fputs("</td></tr>\n", f);
	}
	if (r->peer) {
		fputs("<tr><th>peer</th><td><code>", f);
		h(f, r->peer);
		fputs("</code><br/>", f);
		if (x->peer.started && x->peer.ended)
			fprintf(f, "%s at %.3fs%s", m->peer_how,
				(double)x->peer.t_ns / 1e9, x->peer_stop_ns &&
				x->peer.t_ns >= x->peer_stop_ns ? " (stopped by "
				"faultline)" : "");
		else
			fputs(x->peer.started ? "still running" : "not started", f);
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "<tr><th>seed</th><td class=\"mono\">%s</td></tr>\n",
		fl_seed_text(r->seed, (char[FL_SEED_TEXT_SIZE]){0}));
	fprintf(f, "<tr><th>duration</th><td>%.3fs</td></tr>\n",
		(double)r->duration_ns / 1e9);
	fputs("</table>\n", f);
}

static void write_checks(FILE *f, const struct model *m)
{
	const struct fl_report *r = m->r;

	fputs("<h2 id=\"checks\">Checks</h2>\n<table class=\"checks\"><tr>"
	      "<th>status</th><th>expect</th><th>where</th><th>evidence</th>"
	      "</tr>\n", f);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct fl_check_result *c = &r->checks[i];
		const char *w = status_word(m->status[i]);

		fprintf(f, "<tr class=\"check\" data-check=\"");
		h(f, c->name);
		fprintf(f, "\" data-status=\"%s\"><td><span class=\"st %s\">%s"
			"</span></td><td class=\"mono\">", w, w, w);
		h(f, c->expect[0] ? c->expect : c->name);
		fputs("</td><td class=\"mono\">", f);
		if (c->file) {
			h(f, c->file);
			fprintf(f, ":%u", c->line);
		} else {
			fputs("(faultline's own)", f);
		}
		fputs("</td><td class=\"ev\">", f);
		h(f, c->detail);
		for (unsigned j = 0; m->status[i] == M_FAIL && j < c->nflows; j++)
			if (c->flows[j] >= 1 && c->flows[j] <= m->nflows)
				fprintf(f, "%s<a href=\"#flow-%u\">flow #%u</a>",
					j ? ", " : "\n", c->flows[j], c->flows[j]);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void write_faults(FILE *f, const struct model *m)
{
	if (!m->nrules || !m->have_flows)
		return;
	fputs("<h2 id=\"faults\">Faults</h2>\n<table class=\"faults\"><tr>"
	      "<th>rule</th><th>where</th><th>acted</th></tr>\n", f);
	for (size_t i = 0; i < m->nrules; i++) {
		fputs("<tr class=\"rule\" data-rule=\"", f);
		h(f, m->rules[i].where);
		fprintf(f, "\" data-acted=\"%llu\"><td class=\"mono\">",
			(unsigned long long)m->rules[i].acted);
		h(f, m->rules[i].text);
		fputs("</td><td class=\"mono\">", f);
		h(f, m->rules[i].where);
		fprintf(f, "</td><td>%llu times</td></tr>\n",
			(unsigned long long)m->rules[i].acted);
	}
	fputs("</table>\n", f);
}

int report_html_write(const struct model *m, FILE *f)
{
	const struct fl_report *r = m->r;
	const char *res = fl_result_name(r->result);

	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\" data-result=\"%s\" "
		"data-rendered=\"0\">\n<head>\n<meta charset=\"utf-8\"/>\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
		"'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
		"img-src data:\"/>\n", res);
	fputs(script_head, f);
	fprintf(f, "<title>faultline %s: ", res);
	write_argv(f, r->argv);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
	fprintf(f, "<h1>faultline report <span class=\"st %s\" id=\"result\">%s"
		"</span></h1>\n<p>%zu of %zu checks failed, %zu not judged.</p>\n",
		res, res, m->nfail, r->nchecks, m->nskip);
	write_facts(f, m);
	write_checks(f, m);
	/* the flows before the faults: a failing flow's diagram within the
	 * first screen, the faults' table a summary of what it marks */
	if (m->have_flows)
		write_flows(f, m);
	write_faults(f, m);
	fputs(script_tail, f);
	fputs("</body>\n</html>\n", f);
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}
