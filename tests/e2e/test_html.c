/*
 * test_html.c - --html FILE, as root and as uid 65534: a failing lost-FIN
 * run (lost-fin.rules on cw_leak_server, which never closes, after 52
 * refused connections: 53 flows, more than the page draws) and the
 * passing catalogue run (lost-fin.rules as the file says).  The page is
 * read back as XML (html.c writes it well-formed) with xmllint's XPath
 * and compared with what the JSON report and the trace say of the same
 * run: one diagram per flow up to the cap, the failing flows first and
 * open, as many segment arrows in each as the trace has segments of that
 * flow (all, or the first and last 40 and a note of the rest), the drops
 * marked with the rule the report says acted, as often; the failing
 * checks' evidence there, and the argv's markup and bad UTF-8 escaped;
 * nothing loaded from the network.  Then headless Chromium loads each
 * page: its script ran (data-rendered), no uncaught error and no CSP
 * refusal, and a screenshot at 1280x1800 is kept in
 * build/tests/html/ (lost-fin-fail.png, catalogue-pass.png; the runs as
 * uid 65534 add -65534) to look at; without the browser (or with
 * FL_CHROMIUM naming a missing one) those tests say they skipped.  Also:
 * --html - is the page alone on stdout, a client under test (--peer) has
 * the target's lane on the client's side, and an unwritable --html path
 * is exit 2 before any run.  Single-threaded (the Criterion test
 * process).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(html, name, 240)

/* What the timeline keeps of a flow for its ladder (timeline.h's
 * FL_LADDER_HEAD and FL_LADDER_TAIL). */
#define LADDER_KEEP 80
/* The flows that get a diagram (report_model.h's FL_HTML_LADDERS). */
#define HTML_LADDERS 50
/* Refused connections before the failing one in the failing run. */
#define REFUSED 52

/* The whole file at path, NUL-terminated (the caller frees it). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, k;

	cr_assert(f, "cannot open %s", path);
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			cr_assert(buf);
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
	} while (k);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/* xmllint --xpath expr over the page, as text (static buffer). */
static const char *xpath(const char *page, const char *expr)
{
	static char out[65536];
	char cmd[4096];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "xmllint --xpath '%s' '%s' 2>/dev/null", expr,
		 page);
	p = popen(cmd, "r");
	cr_assert(p, "cannot run xmllint");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	pclose(p);
	if (n && out[n - 1] == '\n') /* xmllint ends a value with one */
		out[n - 1] = 0;
	return out;
}

static long xcount(const char *page, const char *fmt, ...)
{
	char expr[2048], c[2100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(expr, sizeof(expr), fmt, ap);
	va_end(ap);
	snprintf(c, sizeof(c), "count(%s)", expr);
	return strtol(xpath(page, c), NULL, 10);
}

/* The trace's pkt events of flow id. */
static long trace_segments(json_object *tr, long id)
{
	long n = 0;

	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		n += js(ev, "ev") && !strcmp(js(ev, "ev"), "pkt") &&
		     ji(ev, "flow") == id;
	}
	return n;
}

/*
 * What every page must hold, against the report and the trace of the
 * same run: well-formed, nothing from the network, the result, one
 * diagram per flow up to the cap with the failing flows first and open
 * and the others closed (but for the first three a rule acted on, on a
 * page with no failing flow), each diagram's arrows the trace's segments, the
 * drops marked with their rules as often as the report says they acted,
 * each check's row with its detail.  Returns how many flows are failing.
 */
static int check_page(const char *page, json_object *rep, json_object *tr)
{
	char *text = slurp(page);
	json_object *flows = json_object_object_get(rep, "flows");
	json_object *faults = json_object_object_get(rep, "faults");
	json_object *checks = json_object_object_get(rep, "checks");
	size_t nflows = json_object_array_length(flows);
	long diagrams = nflows < HTML_LADDERS ? (long)nflows : HTML_LADDERS;
	long failing, faulted, drops = 0;
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", page);
	cr_assert_eq(system(cmd), 0, "%s is not well-formed", page);
	cr_assert(!strstr(text, "http:") && !strstr(text, "https:") &&
		  !strstr(text, "//www."), "the page names a network address");
	cr_assert(strstr(text, "<meta http-equiv=\"Content-Security-Policy\" "
			 "content=\"default-src 'none'; style-src "
			 "'unsafe-inline'; script-src 'unsafe-inline'; img-src "
			 "data:\"/>"), "no CSP");
	cr_assert_str_eq(xpath(page, "string(//*[@id=\"result\"])"),
			 js(rep, "result"));

	/* One diagram per flow up to the cap; the rest a table row each, and
	 * the page says how many. */
	cr_assert_eq(xcount(page, "//svg[@class=\"ladder\"]"), diagrams,
		     "%ld diagrams for %zu flows", xcount(page, "//svg"), nflows);
	cr_assert_eq(xcount(page, "//details[@class=\"flow\"]"), diagrams);
	cr_assert_eq(xcount(page, "//table[@class=\"rest\"]//tr[@data-flow]"),
		     (long)nflows - diagrams);
	if ((long)nflows > diagrams)
		cr_assert_eq(strtol(xpath(page, "string(//p[@class=\"nodiagram\"]"
					  "/@data-count)"), NULL, 10),
			     (long)nflows - diagrams);

	/* The failing flows (those a failing check names) first and open,
	 * the others after and closed. */
	failing = xcount(page, "//details[@data-failing=\"1\"]");
	cr_assert_eq(xcount(page, "//details[@data-failing=\"1\"][@open]"), failing);
	/* with no failing flow, the first three a rule acted on are open */
	faulted = xcount(page, "//details[@data-faults!=\"0\"]");
	cr_assert_eq(xcount(page, "//details[@data-failing=\"0\"][@open]"),
		     failing ? 0 : faulted < 3 ? faulted : 3);
	cr_assert_eq(xcount(page, "//details[@data-faults=\"0\"][@data-failing"
			    "=\"0\"][@open]"), 0);
	if (failing)
		cr_assert_eq(xcount(page, "//details[@data-failing=\"0\"]"
				    "/following::details[@data-failing=\"1\"]"), 0,
			     "a failing flow after a passing one");
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		char expr[512];
		const char *ev;

		if (json_object_get_boolean(json_object_object_get(c, "ok")))
			continue;
		/* every flow whose id the failing evidence names is open */
		snprintf(expr, sizeof(expr), "string(//tr[@data-check=\"%s\"]"
			 "/td[@class=\"ev\"])", js(c, "name"));
		ev = xpath(page, expr);
		cr_assert(!strncmp(ev, js(c, "detail"), strlen(js(c, "detail"))),
			  "check %s: the page says '%s', the report '%s'",
			  js(c, "name"), ev, js(c, "detail"));
		snprintf(expr, sizeof(expr), "string(//tr[@data-check=\"%s\"]"
			 "/@data-status)", js(c, "name"));
		cr_assert_str_eq(xpath(page, expr), "FAIL");
	}

	/* Each diagram: as many arrows as the trace has segments of its
	 * flow (beyond the ladder's 80: the first and last 40 and the note
	 * of the rest), its drops marked with their rule. */
	for (size_t i = 0; i < nflows; i++) {
		json_object *fl = json_object_array_get_idx(flows, i);
		long id = ji(fl, "id"), segs = trace_segments(tr, id);
		long want = segs < LADDER_KEEP ? segs : LADDER_KEEP;

		if (!xcount(page, "//svg[@data-flow=\"%ld\"]", id))
			continue;
		cr_assert_eq(xcount(page, "//svg[@data-flow=\"%ld\"]//g[starts-with("
				    "@class,\"seg\")]", id), want,
			     "flow %ld: %ld arrows, the trace has %ld segments", id,
			     xcount(page, "//svg[@data-flow=\"%ld\"]//g[starts-with("
				    "@class,\"seg\")]", id), segs);
		if (segs > LADDER_KEEP)
			cr_assert_eq(xcount(page, "//svg[@data-flow=\"%ld\"]//g[@class="
					    "\"skip\"]", id), 1);
		drops += xcount(page, "//svg[@data-flow=\"%ld\"]//g[@data-verdict="
				"\"drop\"][@class=\"seg fault\"]", id);
	}
	for (size_t i = 0; i < json_object_array_length(faults); i++) {
		json_object *f = json_object_array_get_idx(faults, i);

		if (strcmp(js(f, "action"), "drop"))
			continue;
		cr_assert_eq(xcount(page, "//g[@data-verdict=\"drop\"][@data-rule="
				    "\"%s\"]", js(f, "rule")), ji(f, "count"),
			     "rule %s acted %lld times", js(f, "rule"),
			     ji(f, "count"));
		cr_assert_eq(xcount(page, "//tr[@data-rule=\"%s\"][@data-acted="
				    "\"%lld\"]", js(f, "rule"), ji(f, "count")), 1);
		drops -= ji(f, "count");
	}
	cr_assert_eq(drops, 0, "drops no rule of the report made");
	free(text);
	return (int)failing;
}

/* Loads page in headless Chromium: a screenshot into build/tests/html/
 * shot, and the DOM after its scripts ran, which must say it rendered
 * with no uncaught error; chromium's log must have no uncaught error and
 * no CSP refusal. */
static void check_browser(struct run_result *r, const char *page,
			  const char *shot)
{
	/* FL_CHROMIUM: another browser binary (or a missing one, to see
	 * the skip) */
	const char *bin = getenv("FL_CHROMIUM") ? getenv("FL_CHROMIUM")
						: "/usr/bin/chromium";
	char cmd[4096], png[512];
	char *dom, *log;

	if (access(bin, X_OK) != 0)
		cr_skip("%s is not installed (.ci/install-deps installs "
			"chromium): the page was not loaded in a browser", bin);
	mkdir(FL_BINARY_DIR "/tests/html", 0755);
	snprintf(png, sizeof(png), FL_BINARY_DIR "/tests/html/%s", shot);
	unlink(png);
#define CHROMIUM "HOME=%s timeout 120 '%s' --headless --no-sandbox " \
	"--disable-gpu --disable-quic --no-first-run " \
	"--disable-background-networking --disable-component-update " \
	"--disable-sync --user-data-dir=$(mktemp -d -p %s) " \
	"--window-size=1280,1800 --enable-logging=stderr --v=0 "
	snprintf(cmd, sizeof(cmd), CHROMIUM "--screenshot='%s' 'file://%s' "
		 "> /dev/null 2> '%s'", r->dir, bin, r->dir, png, page,
		 rr_path(r, "chromium-shot.log"));
	cr_assert_eq(system(cmd), 0, "chromium --screenshot failed:\n%s",
		     rr_read(r, "chromium-shot.log"));
	cr_assert_eq(access(png, R_OK), 0, "no screenshot %s", png);
	snprintf(cmd, sizeof(cmd), CHROMIUM "--dump-dom 'file://%s' > '%s' "
		 "2> '%s'", r->dir, bin, r->dir, page, rr_path(r, "dom.html"),
		 rr_path(r, "chromium-dom.log"));
	cr_assert_eq(system(cmd), 0, "chromium --dump-dom failed:\n%s",
		     rr_read(r, "chromium-dom.log"));
	dom = slurp(rr_path(r, "dom.html"));
	cr_assert(strstr(dom, "data-rendered=\"1\""), "the page's script did "
		  "not run to its end:\n%.2000s", dom);
	cr_assert(!strstr(dom, "data-errors="), "uncaught errors: %.300s",
		  strstr(dom, "data-errors="));
	cr_assert(strstr(dom, "<svg") || !strstr(dom, "data-flow"),
		  "the browser's DOM has no diagram");
	free(dom);
	for (int i = 0; i < 2; i++) {
		static const char *const bad[] = {"Uncaught",
			"Content Security Policy", "Refused to"};

		log = slurp(rr_path(r, i ? "chromium-dom.log" : "chromium-shot.log"));
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			cr_assert(!strstr(log, bad[k]), "chromium: %.400s",
				  strstr(log, bad[k]));
		free(log);
	}
}

/* lost-fin.rules on a server that never closes its connection, after
 * REFUSED refused connections: the page of a failing run with more flows
 * than it draws. */
BOTH(lost_fin_fail)
{
	struct run_result r;
	char html[256], drv[1024];
	const char *extra[] = {"--html", html, NULL};
	/* markup and a byte that is not UTF-8 in the argv (sh's $0) */
	const char *argv[] = {"/bin/sh", "-c", "exec " FL_TARGETS
			      "/cw_leak_server -p 7000", "<i>x</i>&\xff", NULL};
	json_object *rep, *tr;
	char *text;

	rr_init(&r);
	snprintf(html, sizeof(html), "%s", rr_path(&r, "run.html"));
	snprintf(drv, sizeof(drv), "python3 -c 'import socket\nfor i in "
		 "range(%d): socket.socket().connect_ex((\"127.0.0.1\", 7001))'; "
		 "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 1", REFUSED);
	rr_faultline(&r, u, &(struct fl_args){
		.rules = {SC("lost-fin.rules")}, .settle = "1s", .extra = extra,
		.driver = drv, .argv = argv});
	cr_assert_eq(r.status, 1, "status %d\n%s", r.status, r.err);
	rep = rr_report(&r);
	tr = rr_trace(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(check_ok(rep, "no-close-wait"), 0);
	cr_assert_eq(json_object_array_length(json_object_object_get(rep, "flows")),
		     REFUSED + 1, "%s", r.err);
	cr_assert_eq(check_page(html, rep, tr), 1);
	/* the failing flow (the last) first, the refused ones after it, the
	 * last of them without a diagram */
	cr_assert_str_eq(xpath(html, "string((//details)[1]/@data-flow)"), "53");
	cr_assert_str_eq(xpath(html, "string((//details)[2]/@data-flow)"), "1");
	cr_assert_str_eq(xpath(html, "string((//table[@class=\"rest\"]//tr"
				     "[@data-flow])[1]/@data-flow)"), "50");
	/* the server's socket calls and its CLOSE_WAIT on its lane */
	cr_assert_geq(xcount(html, "//svg[@data-flow=\"53\"]//g[@class=\"call\"]"
			     "[@data-side=\"server\"][contains(., \"read(fd \")]"), 1);
	cr_assert_eq(xcount(html, "//svg[@data-flow=\"53\"]//g[@class=\"state\"]"
			    "[@data-side=\"server\"][contains(., \"-> CLOSE_WAIT\")]"), 1);
	cr_assert_geq(xcount(html, "//svg[@data-flow=\"53\"]//text[@class="
			     "\"lanelabel\"][contains(., \"127.0.0.1:7000 (target)\")]"), 1);
	/* escaped: the evidence's arrows, the argv's markup and bad byte */
	text = slurp(html);
	cr_assert(strstr(text, "(127.0.0.1:7000 &lt;-&gt; 127.0.0.1:"), "evidence");
	cr_assert(strstr(text, "&lt;i&gt;x&lt;/i&gt;&amp;\xef\xbf\xbd"), "argv");
	cr_assert(!strstr(text, "<i>x") && !strstr(text, "\xff"), "argv unescaped");
	free(text);
	check_browser(&r, html, u == AS_ROOT ? "lost-fin-fail.png"
					     : "lost-fin-fail-65534.png");
	json_object_put(rep);
	json_object_put(tr);
	rr_free(&r);
}

/* The catalogue's lost-fin.rules as the file says (its target, driver and
 * set lines): a passing page, every flow closed. */
BOTH(catalogue_pass)
{
	struct run_result r;
	char html[256];
	const char *extra[] = {"--html", html, NULL};
	json_object *rep, *tr;

	rr_init(&r);
	snprintf(html, sizeof(html), "%s", rr_path(&r, "run.html"));
	rr_faultline(&r, u, &(struct fl_args){
		.rules = {SC("lost-fin.rules")}, .settle = "1s", .extra = extra});
	cr_assert_eq(r.status, 0, "status %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	tr = rr_trace(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(check_page(html, rep, tr), 0);
	cr_assert_str_eq(xpath(html, "string(/html/@data-result)"), "PASS");
	cr_assert_eq(xcount(html, "//g[@data-verdict=\"drop\"]"), 2);
	check_browser(&r, html, u == AS_ROOT ? "catalogue-pass.png"
					     : "catalogue-pass-65534.png");
	json_object_put(rep);
	json_object_put(tr);
	rr_free(&r);
}

/* An unwritable --html path is refused before any run: exit 2 at once. */
Test(html, unwritable_path, .timeout = 60)
{
	struct run_result r;

	rr_init(&r);
	rr_run(&r, AS_ROOT, (char *const[]){FL_BIN, "run", "-r",
		SC("lost-fin.rules"), "--html", "/nonexistent/dir/run.html", NULL},
		30);
	cr_assert_eq(r.status, 2, "status %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "--html /nonexistent/dir/run.html"), "%s", r.err);
	cr_assert(!strstr(r.out, "result:"), "a run happened:\n%s", r.out);
	rr_free(&r);
}

/* --html - is stdout, the page alone: the text report on stderr. */
BOTH(dash_is_stdout)
{
	struct run_result r;
	const char *extra[] = {"--html", "-", NULL};
	char *page;
	FILE *f;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.rules = {SC("lost-fin.rules")}, .settle = "1s", .extra = extra});
	cr_assert_eq(r.status, 0, "status %d\n%s", r.status, r.err);
	cr_assert(!strncmp(r.out, "<!DOCTYPE html>\n", 16), "stdout: %.200s", r.out);
	cr_assert(strstr(r.out, "</html>\n") && !strstr(r.out, "result: PASS"),
		  "stdout is not the page alone");
	cr_assert(strstr(r.err, "result: PASS"), "no text report on stderr");
	f = fopen(rr_path(&r, "stdout.html"), "w");
	cr_assert(f);
	fputs(r.out, f);
	fclose(f);
	page = (char *)rr_path(&r, "stdout.html");
	cr_assert_eq(xcount(page, "//svg[@class=\"ladder\"]"), 1);
	rr_free(&r);
}

/* A client under test (--peer): the target's lane is the client's, the
 * peer is among the facts, its stop said. */
BOTH(peer_client)
{
	struct run_result r;
	char html[256];
	const char *extra[] = {"--html", html, NULL};
	json_object *rep, *tr;

	rr_init(&r);
	snprintf(html, sizeof(html), "%s", rr_path(&r, "run.html"));
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "drop from target flags FIN times 1\n",
		.timeout = "30s", .settle = "300ms", .extra = extra,
		.peer = "exec " FL_TARGETS "/echo_server -p 7000 -n 0",
		.sh = "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 1"});
	cr_assert_eq(r.status, 0, "status %d\n%s", r.status, r.err);
	rep = rr_report(&r);
	tr = rr_trace(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(check_page(html, rep, tr), 0);
	cr_assert_eq(xcount(html, "//svg//text[@class=\"lanelabel\"][starts-with(., "
			    "\"client \")][contains(., \"(target)\")]"), 2);
	cr_assert_eq(xcount(html, "//svg//text[@class=\"lanelabel\"][starts-with(., "
			    "\"server \")][contains(., \"(target)\")]"), 0);
	cr_assert_eq(xcount(html, "//table[@class=\"facts\"]//th[. = \"peer\"]"), 1);
	cr_assert_eq(xcount(html, "//g[@data-verdict=\"drop\"][@data-dir=\"c2s\"]"), 1);
	json_object_put(rep);
	json_object_put(tr);
	rr_free(&r);
}
