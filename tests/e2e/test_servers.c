/*
 * test_servers.c - real, packaged Debian servers under faultline, each with
 * a real client as the driver: nginx and python3 -m http.server with curl,
 * redis-server with redis-cli.  Each case runs as root and as uid 65534,
 * clean (the default hygiene checks) and under shipped catalogue faults
 * (rules/scenarios/), and asserts the verdict a careful engineer gives,
 * from the JSON report: none of these programs has a teardown bug that the
 * hygiene set looks for, so a failing check on a clean or merely lossy run
 * is a false alarm of faultline's.  Where a state path is deterministic it
 * is asserted too; every claim here was checked against strace of the
 * server and the kernel's own sock:inet_sock_set_state tracepoint.
 *
 * Programs nobody here wrote, so: no daemonizing, every file in the
 * scratch directory, the packaged binaries by absolute path (a python3
 * earlier in root's PATH may be a shim that uid 65534 cannot run), and a
 * skip with the package's name when one is missing.
 *
 * One test binary, run with -j1: one faultline run at a time.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#define NGINX "/usr/sbin/nginx"
#define REDIS_SERVER "/usr/bin/redis-server"
#define REDIS_CLI "/usr/bin/redis-cli"
#define CURL "/usr/bin/curl"
#define PYTHON3 "/usr/bin/python3"

#define BOTH(name) FX_BOTH(servers, name, 40)

/* A driver prefix that waits until something listens on 127.0.0.1:PORT
 * (state 0A in /proc/net/tcp, per network namespace; HEX is the port in
 * upper-case hex), so the client never meets a refused SYN. */
#define WAIT_PORT(hex) \
	"while ! grep -q ':" hex " 00000000:0000 0A' /proc/net/tcp; do sleep 0.01; done; "
#define WAIT_8080 WAIT_PORT("1F90")
#define WAIT_8000 WAIT_PORT("1F40")
#define WAIT_6379 WAIT_PORT("18EB")

/* Skips the test unless every program in the NULL-terminated list (path,
 * Debian package, path, package, ...) is installed. */
static void need(const char *path, const char *pkg, ...)
{
	va_list ap;

	va_start(ap, pkg);
	while (path) {
		if (access(path, X_OK) != 0) {
			va_end(ap);
			cr_skip_test("%s is not installed (Debian package %s; "
				     ".ci/install-deps installs it)", path, pkg);
		}
		path = va_arg(ap, const char *);
		if (path)
			pkg = va_arg(ap, const char *);
	}
	va_end(ap);
}

/*
 * faultline run [-r RULES]... [EXTRA]... --trace --report --timeout 25s
 * --settle SETTLE --driver DRIVER -- TARGET...  (rules and extra
 * NULL-terminated lists, at most 4 rule files).
 */
static void run_fl(struct run_result *r, enum as_user u, const char *const *rules,
		   const char *const *extra, const char *settle, const char *driver,
		   const char *const *target)
{
	struct fl_args a = {.extra = extra, .timeout = "25s", .settle = settle,
			    .driver = driver, .argv = target, .wait_s = 35};

	for (size_t i = 0; rules && rules[i]; i++) {
		cr_assert_lt(i, 3, "at most 3 rule files");
		a.rules[i] = rules[i];
	}
	rr_faultline(r, u, &a);
}

/* ---- the report ------------------------------------------------------- */

/*
 * The check called name: today's reports name checks by their full text
 * ("no-close-wait 1s"), later ones by the bare name with the text under
 * "expect"; either matches.
 */
static json_object *check_of(json_object *rep, const char *name)
{
	json_object *checks = json_object_object_get(rep, "checks");
	size_t len = strlen(name);

	for (size_t i = 0; checks && i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		const char *n = js(c, "name");

		if (n && !strncmp(n, name, len) && (n[len] == 0 || n[len] == ' '))
			return c;
	}
	return NULL;
}

/* The check's verdict is ok (1) or failed (0); quotes its evidence. */
static void want_check(json_object *rep, const char *name, int ok)
{
	json_object *c = check_of(rep, name);

	cr_assert_not_null(c, "no check %s in the report", name);
	cr_assert_eq(json_object_get_boolean(json_object_object_get(c, "ok")), ok,
		     "%s should %s: %s", js(c, "name"), ok ? "hold" : "fail", js(c, "detail"));
}

/* Every failing check with its evidence, one per line (static buffer). */
static const char *failures(json_object *rep)
{
	static char buf[8192];
	json_object *checks = json_object_object_get(rep, "checks");

	buf[0] = 0;
	for (size_t i = 0; checks && i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		size_t l = strlen(buf);

		if (!json_object_get_boolean(json_object_object_get(c, "ok")))
			snprintf(buf + l, sizeof(buf) - l, "\n  FAIL %s: %s", js(c, "name"),
				 js(c, "detail"));
	}
	return buf;
}

/* The run passed: "result" PASS where the report has it, else "ok". */
static void want_pass(json_object *rep)
{
	const char *res = js(rep, "result");

	if (res)
		cr_assert_str_eq(res, "PASS", "result %s:%s", res, failures(rep));
	else
		cr_assert(json_object_get_boolean(json_object_object_get(rep, "ok")),
			  "ok false:%s", failures(rep));
}

/* The run failed (and not for want of judgement). */
static void want_fail(json_object *rep)
{
	const char *res = js(rep, "result");

	if (res)
		cr_assert_str_eq(res, "FAIL", "result %s", res);
	else
		cr_assert(!json_object_get_boolean(json_object_object_get(rep, "ok")));
}

/* The target's exit code (-1 for a signal). */
static long long exit_code(json_object *rep)
{
	json_object *t = json_object_object_get(rep, "target");

	return ji(json_object_object_get(t, "exit"), "code");
}

static json_object *report(struct run_result *r)
{
	json_object *rep = rr_report(r);

	cr_assert_not_null(rep, "no report (faultline exit %d)\n%s\n%s", r->status, r->out,
			   r->err);
	return rep;
}

static json_object *flows_of(json_object *rep)
{
	json_object *f = json_object_object_get(rep, "flows");

	cr_assert_not_null(f);
	return f;
}

/* A flow's state list (client_states, server_states) as " > A > B > "
 * (static buffer, one per side), so that " > X > Y > " finds an unbroken
 * run of states. */
static const char *spaced_path(json_object *flow, const char *key)
{
	static char buf[2][512];
	char *b = buf[key[0] == 's'];
	json_object *a = json_object_object_get(flow, key);

	strcpy(b, " > ");
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		strncat(b, json_object_get_string(json_object_array_get_idx(a, i)),
			sizeof(buf[0]) - 4 - strlen(b));
		strncat(b, " > ", sizeof(buf[0]) - 1 - strlen(b));
	}
	return b;
}

static int has(const char *path, const char *run)
{
	return strstr(path, run) != NULL;
}

static int ends(const char *path, const char *tail)
{
	size_t p = strlen(path), t = strlen(tail);

	return p >= t && !strcmp(path + p - t, tail);
}

/* Number of times the first fault rule acted. */
static long long fault_count(json_object *rep)
{
	json_object *f = json_object_object_get(rep, "faults");

	if (!f || json_object_array_length(f) < 1)
		return 0;
	return ji(json_object_array_get_idx(f, 0), "count");
}

/*
 * The hygiene checks that none of these servers may fail, by name (the
 * default set without time-wait, asserted where it matters).
 */
static void want_hygiene(json_object *rep)
{
	static const char *const names[] = { "no-close-wait", "eof-close", "error-close",
					     "no-sigpipe", "no-abort-loss",
					     "no-unread-close", "no-fd-leak", "target",
					     "connections" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		want_check(rep, names[i], 1);
}

/*
 * A server that closes first after its answer (HTTP/1.0, or Connection:
 * close): ESTABLISHED > FIN_WAIT1, then FIN_WAIT2 or, when the client's
 * own FIN crossed ours (under faultline the FIN waits in the queue while
 * the client, having the whole Content-Length, closes too), CLOSING; then
 * TIME_WAIT.  Never CLOSE_WAIT or LAST_ACK.  Simultaneous close is
 * symmetric (RFC 9293 3.6, figure 13): one side is in CLOSING exactly when
 * the other is.
 */
static void want_server_closes_first(json_object *flow)
{
	const char *s = spaced_path(flow, "server_states");
	const char *c = spaced_path(flow, "client_states");

	cr_assert(has(s, " > ESTABLISHED > FIN_WAIT1 > ") && ends(s, " > TIME_WAIT > ") &&
			  !has(s, "CLOSE_WAIT") && !has(s, "LAST_ACK"),
		  "server path%s; client path%s", s, c);
	cr_assert(has(c, " > SYN_SENT > ESTABLISHED > "), "client path%s", c);
	cr_assert_eq(has(s, " > CLOSING > "), has(c, " > CLOSING > "),
		     "a simultaneous close on one side only: server%s; client%s", s, c);
	if (has(c, " > CLOSING > "))
		cr_assert(ends(c, " > FIN_WAIT1 > CLOSING > TIME_WAIT > "), "client%s", c);
	else
		cr_assert(ends(c, " > CLOSE_WAIT > LAST_ACK > CLOSE > "), "client%s", c);
}

/*
 * The client closes first and the server follows at EOF: the textbook
 * passive close on the server; on the client FIN_WAIT2 always comes before
 * TIME_WAIT, also when the server's FIN carries the ACK of the client's
 * (RFC 9293 3.10.7.4: the ACK is processed before the FIN, as Linux does).
 */
static void want_client_closes_first(json_object *flow)
{
	const char *s = spaced_path(flow, "server_states");
	const char *c = spaced_path(flow, "client_states");

	cr_assert(ends(s, " > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE > "),
		  "server path%s; client path%s", s, c);
	cr_assert(ends(c, " > ESTABLISHED > FIN_WAIT1 > FIN_WAIT2 > TIME_WAIT > "),
		  "client path%s; server path%s", c, s);
}

/* Either teardown: the server's active close, or the client's (then the
 * server's is the textbook passive close). */
static void want_either_closes_first(json_object *flow)
{
	if (has(spaced_path(flow, "server_states"), "CLOSE_WAIT"))
		want_client_closes_first(flow);
	else
		want_server_closes_first(flow);
}

/* The client's FIN arrived as an RST: the server's read fails with
 * ECONNRESET, its socket goes ESTABLISHED > CLOSE, no CLOSE_WAIT. */
static void want_server_reset(json_object *flow)
{
	const char *s = spaced_path(flow, "server_states");

	cr_assert(ends(s, " > ESTABLISHED > CLOSE > ") && !has(s, "CLOSE_WAIT"),
		  "server path%s", s);
}

/* ---- nginx ------------------------------------------------------------ */

/*
 * nginx in the foreground with one worker, everything under DIR.
 * extra: more http-level directives (or "").
 *
 * As root the target has no capabilities (DESIGN: every one dropped), and a
 * master whose euid is 0 chown()s its temp directories to the worker user
 * and calls setgid/initgroups/setuid in the worker, all of which fail
 * with EPERM ("chown(.../body, 65534) failed", "initgroups(root, 0)
 * failed"; any `user` directive ends the same way).  So as root faultline
 * runs it with --user 65534:65534: the root sandbox (no user namespace),
 * the same nginx as in the unprivileged case.  (nginx_root_user_nobody_*
 * run it as root with `user nobody`, with and without --keep-cap.)
 */
static void nginx_setup(struct run_result *r, const char *extra)
{
	char conf[4096];
	const char *d = r->dir;

	mkdir(rr_path(r, "www"), 0777);
	rr_write(r, "www/index.html", "hello from nginx\n");
	snprintf(conf, sizeof(conf),
		 "worker_processes 1;\n"
		 "events { worker_connections 64; }\n"
		 "http {\n"
		 "    access_log %s/access.log;\n"
		 "    client_body_temp_path %s/body;\n"
		 "    proxy_temp_path %s/proxy;\n"
		 "    fastcgi_temp_path %s/fastcgi;\n"
		 "    uwsgi_temp_path %s/uwsgi;\n"
		 "    scgi_temp_path %s/scgi;\n"
		 "    %s\n"
		 "    server {\n"
		 "        listen 127.0.0.1:8080;\n"
		 "        root %s/www;\n"
		 "    }\n"
		 "}\n",
		 d, d, d, d, d, d, extra, d);
	rr_write(r, "nginx.conf", conf);
}

static void run_nginx(struct run_result *r, enum as_user u, const char *const *rules,
		      const char *settle, const char *client)
{
	static char driver[1024], conf[256], globals[512];
	static const char *const as_nobody[] = { "--user", "65534:65534", NULL };
	const char *target[] = { NGINX, "-p", r->dir, "-c", conf, "-g", globals, NULL };

	need(NGINX, "nginx-light", CURL, "curl", NULL);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", r->dir);
	snprintf(globals, sizeof(globals), "daemon off; pid %s/nginx.pid; error_log stderr;",
		 r->dir);
	snprintf(driver, sizeof(driver), WAIT_8080 "( %s ) > %s", client,
		 rr_path(r, "client.out"));
	run_fl(r, u, rules, u == AS_ROOT ? as_nobody : NULL, settle, driver, target);
}

/*
 * nginx as root as it is deployed: `user nobody nogroup`, a master that
 * chown()s its temp directories to that user and a worker that calls
 * setgid, initgroups and setuid.  Without capabilities the first chown is
 * EPERM and nginx exits 1 ("[emerg] chown(.../body, 65534) failed"):
 * the report names it (`denied`: chown, EPERM, CAP_CHOWN, withheld) and
 * the line says which --keep-cap would keep it.  With --keep-cap
 * setuid,setgid,chown (what it needs, no more) it serves, and the run is
 * judged like the unprivileged ones: nothing refused, PASS.
 */
static void run_nginx_root(struct run_result *r, const char *const *extra)
{
	static char driver[1024], conf[256], globals[512];
	const char *target[] = { NGINX, "-p", r->dir, "-c", conf, "-g", globals, NULL };

	need(NGINX, "nginx-light", CURL, "curl", NULL);
	nginx_setup(r, "");
	snprintf(conf, sizeof(conf), "%s/nginx.conf", r->dir);
	snprintf(globals, sizeof(globals), "daemon off; master_process on; "
		 "user nobody nogroup; pid %s/nginx.pid; error_log stderr;", r->dir);
	snprintf(driver, sizeof(driver), WAIT_8080 "( " CURL " -sS -m 5 -H "
		 "'Connection: close' http://127.0.0.1:8080/ ) > %s",
		 rr_path(r, "client.out"));
	run_fl(r, AS_ROOT, NULL, extra, "500ms", driver, target);
}

Test(servers, nginx_root_user_nobody_denied, .timeout = 40)
{
	struct run_result r;
	json_object *rep, *d;

	rr_init(&r);
	run_nginx_root(&r, NULL);
	rep = report(&r);
	cr_assert_eq(exit_code(rep), 1, "%s", r.out);
	d = json_object_array_get_idx(json_object_object_get(rep, "denied"), 0);
	cr_assert_not_null(d, "nothing denied: %s", r.out);
	cr_assert_str_eq(js(d, "fn"), "chown");
	cr_assert_str_eq(js(d, "errno"), "EPERM");
	cr_assert_str_eq(js(d, "cap"), "CAP_CHOWN");
	cr_assert(json_object_get_boolean(json_object_object_get(d, "withheld")));
	cr_assert(strstr(r.out, "failed with EPERM (no CAP_CHOWN in the sandbox; "
			 "--keep-cap chown would keep it)"), "%s", r.out);
	cr_assert_str_eq(js(rep, "result"), "FAIL");
	json_object_put(rep);
	rr_free(&r);
}

Test(servers, nginx_root_user_nobody_keep_cap, .timeout = 40)
{
	static const char *const keep[] = { "--keep-cap", "setuid,setgid,chown", NULL };
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_nginx_root(&r, keep);
	rep = report(&r);
	cr_assert_str_eq(rr_read(&r, "client.out"), "hello from nginx\n", "%s", r.out);
	cr_assert_eq(json_object_array_length(json_object_object_get(rep, "denied")), 0,
		     "%s", r.out);
	cr_assert_null(strstr(r.out, "failed with"), "%s", r.out);
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	json_object_put(rep);
	rr_free(&r);
}

/*
 * Clean: one GET with Connection: close.  nginx answers and closes first
 * (strace: recvfrom = 97, writev = 240, close(5)); on SIGTERM the master
 * sends the worker NGX_CMD_TERMINATE (sendmsg of 32 bytes on its end of
 * the AF_UNIX socketpair), reaps it, then closes both ends of that pair,
 * the worker's end with those 32 bytes unread: no TCP, no RST, nothing
 * for no-unread-close to judge.  Exit 0.
 */
BOTH(nginx_clean)
{
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	nginx_setup(&r, "");
	run_nginx(&r, u, NULL, "500ms",
		  CURL " -sS -H 'Connection: close' http://127.0.0.1:8080/");
	rep = report(&r);
	cr_assert_str_eq(rr_read(&r, "client.out"), "hello from nginx\n");
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	/* With Connection: close nginx closes after its answer, but curl,
	 * holding the whole Content-Length, may close first (seen, and the
	 * kernel's record agreed): either teardown is correct. */
	want_either_closes_first(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/*
 * lost-fin.rules: curl (HTTP/1.1 keep-alive) closes first and its FIN is
 * lost twice; nginx, idle in keep-alive, still reads 0 once the third
 * copy arrives and closes (strace: recvfrom = 0, close).  The kernel:
 * server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE, client FIN_WAIT1 >
 * FIN_WAIT2 > CLOSE (its time-wait).
 */
BOTH(nginx_lost_fin)
{
	static const char *const rules[] = { SC("lost-fin.rules"), NULL };
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	nginx_setup(&r, "");
	run_nginx(&r, u, rules, "2s", CURL " -sS http://127.0.0.1:8080/");
	rep = report(&r);
	cr_assert_eq(fault_count(rep), 2, "the FIN was not dropped twice");
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_client_closes_first(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/*
 * fin-to-rst.rules: curl's FIN arrives as an RST; nginx's keep-alive
 * read fails with ECONNRESET and it closes that fd at once (strace:
 * recvfrom = -1 ECONNRESET, close(5)); no SIGPIPE (nginx ignores it, and
 * writes nothing more), exit 0.
 */
BOTH(nginx_fin_to_rst)
{
	static const char *const rules[] = { SC("fin-to-rst.rules"), NULL };
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	nginx_setup(&r, "");
	run_nginx(&r, u, rules, "500ms", CURL " -sS http://127.0.0.1:8080/");
	rep = report(&r);
	cr_assert_geq(fault_count(rep), 1, "the FIN was not rewritten");
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_server_reset(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/* ---- python3 -m http.server ------------------------------------------- */

/* proto: "HTTP/1.0" (the default: closes after each answer) or
 * "HTTP/1.1" (keep-alive). */
static void run_python(struct run_result *r, enum as_user u, const char *const *rules,
		       const char *settle, const char *proto, const char *client)
{
	static char driver[1024];
	const char *target[] = { PYTHON3, "-m", "http.server", "-b", "127.0.0.1",
				 "-d", rr_path(r, "www"), "-p", proto, "8000", NULL };

	need(PYTHON3, "python3", CURL, "curl", NULL);
	mkdir(rr_path(r, "www"), 0777);
	rr_write(r, "www/index.html", "hello from python\n");
	snprintf(driver, sizeof(driver), WAIT_8000 "( %s ) > %s", client,
		 rr_path(r, "client.out"));
	run_fl(r, u, rules, NULL, settle, driver, target);
}

/*
 * Clean: HTTP/1.0, one GET.  The handler answers, shutdown(SHUT_WR)s and
 * closes (strace: sendto, shutdown(4, SHUT_WR), close(4)).  Python installs
 * no SIGTERM handler, so faultline's SIGTERM kills it: the true exit is
 * the signal, not code 0.
 */
BOTH(python_clean)
{
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_python(&r, u, NULL, "500ms", "HTTP/1.0",
		   CURL " -sS http://127.0.0.1:8000/index.html");
	rep = report(&r);
	cr_assert_str_eq(rr_read(&r, "client.out"), "hello from python\n");
	cr_assert_str_eq(js(json_object_object_get(json_object_object_get(rep, "target"),
						   "exit"), "signal") ?: "(none)", "SIGTERM");
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_either_closes_first(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/* lost-fin.rules, HTTP/1.1 keep-alive: curl closes first, its FIN lost
 * twice; the handler's readline() returns b"" and it closes. */
BOTH(python_lost_fin)
{
	static const char *const rules[] = { SC("lost-fin.rules"), NULL };
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_python(&r, u, rules, "2s", "HTTP/1.1", CURL " -sS http://127.0.0.1:8000/index.html");
	rep = report(&r);
	cr_assert_eq(fault_count(rep), 2, "the FIN was not dropped twice");
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_client_closes_first(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/* fin-to-rst.rules, HTTP/1.1 keep-alive: readline() raises
 * ConnectionResetError; socketserver logs it and closes the socket. */
BOTH(python_fin_to_rst)
{
	static const char *const rules[] = { SC("fin-to-rst.rules"), NULL };
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_python(&r, u, rules, "500ms", "HTTP/1.1",
		   CURL " -sS http://127.0.0.1:8000/index.html");
	rep = report(&r);
	cr_assert_geq(fault_count(rep), 1, "the FIN was not rewritten");
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_server_reset(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/* ---- redis-server ----------------------------------------------------- */

/* redis-server in the foreground, nothing saved, files in DIR; extra
 * arguments (NULL-terminated, at most 4). */
static void run_redis(struct run_result *r, enum as_user u, const char *const *rules,
		      const char *settle, const char *client, const char *const *extra)
{
	static char driver[1024];
	const char *target[16] = { REDIS_SERVER, "--port", "6379", "--bind", "127.0.0.1",
				   "--save", "", "--appendonly", "no", "--dir", r->dir,
				   "--logfile", "" };
	size_t n = 13;

	need(REDIS_SERVER, "redis-server", REDIS_CLI, "redis-tools", NULL);
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		target[n++] = extra[i];
	target[n] = NULL;
	snprintf(driver, sizeof(driver), WAIT_6379 "( %s ) > %s", client,
		 rr_path(r, "client.out"));
	run_fl(r, u, rules, NULL, settle, driver, target);
}

#define CLI REDIS_CLI " -p 6379 "

/*
 * Clean: two redis-cli runs, one connection each.  redis-cli closes when
 * it has its reply; redis reads 0 and closes (strace: read = 0, close);
 * the kernel: server ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE, client
 * FIN_WAIT1 > FIN_WAIT2 > CLOSE (time-wait), redis's FIN carrying the ACK
 * of the client's.  On SIGTERM redis shuts down and exits 0.
 */
BOTH(redis_clean)
{
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_redis(&r, u, NULL, "500ms", CLI "set k v && " CLI "get k", NULL);
	rep = report(&r);
	cr_assert_str_eq(rr_read(&r, "client.out"), "OK\nv\n");
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 2);
	for (size_t i = 0; i < 2; i++)
		want_client_closes_first(json_object_array_get_idx(flows, i));
	json_object_put(rep);
	rr_free(&r);
}

/* lost-fin.rules: redis-cli's FIN lost twice; redis reads 0 when the third
 * copy arrives and closes. */
BOTH(redis_lost_fin)
{
	static const char *const rules[] = { SC("lost-fin.rules"), NULL };
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_redis(&r, u, rules, "2s", CLI "ping", NULL);
	rep = report(&r);
	cr_assert_eq(fault_count(rep), 2, "the FIN was not dropped twice");
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_client_closes_first(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/* fin-to-rst.rules: redis's read fails with ECONNRESET ("Error reading
 * from client: Connection reset by peer"), and it frees the client:
 * close at once. */
BOTH(redis_fin_to_rst)
{
	static const char *const rules[] = { SC("fin-to-rst.rules"), NULL };
	struct run_result r;
	json_object *rep, *flows;

	rr_init(&r);
	run_redis(&r, u, rules, "500ms", CLI "ping", NULL);
	rep = report(&r);
	cr_assert_geq(fault_count(rep), 1, "the FIN was not rewritten");
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	want_server_reset(json_object_array_get_idx(flows, 0));
	json_object_put(rep);
	rr_free(&r);
}

/*
 * idle-peer-gone.rules: redis-cli sends PING, gets PONG, and then sits
 * idle (stdin open 6s); from 500ms on the client's host is gone.  Redis
 * sets SO_KEEPALIVE on every client with TCP_KEEPIDLE = tcp-keepalive
 * (default 300s), KEEPINTVL = a third of it (at least 1s), KEEPCNT 3.
 * keepalive: --tcp-keepalive 1: probes at 1s, 2s, 3s go unanswered and
 * the read fails with ETIMEDOUT at ~4s, well within dead-peer 5s:
 * mechanism keepalive.  Default: nothing can notice within the run:
 * dead-peer fails, mechanism none, and the run fails.
 */
static void redis_idle(enum as_user u, int keepalive)
{
	static const char *const rules[] = { SC("idle-peer-gone.rules"), NULL };
	static const char *const ka[] = { "--tcp-keepalive", "1", NULL };
	struct run_result r;
	json_object *rep, *flows, *gone;

	rr_init(&r);
	run_redis(&r, u, rules, "500ms", "(echo PING; sleep 6) | " CLI, keepalive ? ka : NULL);
	rep = report(&r);
	cr_assert_str_eq(rr_read(&r, "client.out"), "PONG\n");
	cr_assert_gt(fault_count(rep), 0, "nothing was blackholed");
	flows = flows_of(rep);
	cr_assert_eq(json_object_array_length(flows), 1);
	gone = json_object_object_get(json_object_array_get_idx(flows, 0), "peer_gone");
	cr_assert_not_null(gone, "no peer_gone on the flow");
	if (keepalive) {
		want_check(rep, "dead-peer", 1);
		want_pass(rep);
		cr_assert_str_eq(js(gone, "mechanism"), "keepalive", "%s", js(gone, "detail"));
		cr_assert_str_eq(js(gone, "errno"), "ETIMEDOUT", "%s", js(gone, "detail"));
		cr_assert_eq(ji(gone, "keepalive_probes"), 3, "%s", js(gone, "detail"));
		want_server_reset(json_object_array_get_idx(flows, 0));
	} else {
		want_check(rep, "dead-peer", 0);
		want_fail(rep);
		cr_assert_str_eq(js(gone, "mechanism"), "none", "%s", js(gone, "detail"));
	}
	json_object_put(rep);
	rr_free(&r);
}

BOTH(redis_idle_keepalive) { redis_idle(u, 1); }
BOTH(redis_idle_default) { redis_idle(u, 0); }

/* ---- an idle connection still open when faultline stops the server ---- */

/*
 * The client sends one request and keeps its connection open, idle, in the
 * background; the driver exits after 1s, and faultline's SIGTERM finds the
 * server with that connection open.  Exiting closes every descriptor
 * (the kernel sends the FIN): no leak.  strace of nginx's worker: the
 * request read and answered, then SIGTERM and exit_group(0) with fd 5
 * still open; the kernel then sends its FIN (ESTABLISHED > FIN_WAIT1).
 * No fault: default hygiene set.  (The client is killed with the sandbox;
 * its output is not asserted.)
 */
#define IDLE_HTTP(port) \
	"(printf 'GET /index.html HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'; sleep 4) | " CURL \
	" -s telnet://127.0.0.1:" port " & sleep 1"

BOTH(nginx_idle_at_exit)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	nginx_setup(&r, "");
	run_nginx(&r, u, NULL, "500ms", IDLE_HTTP("8080"));
	rep = report(&r);
	cr_assert_eq(json_object_array_length(flows_of(rep)), 1);
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	json_object_put(rep);
	rr_free(&r);
}

BOTH(python_idle_at_exit)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_python(&r, u, NULL, "500ms", "HTTP/1.1", IDLE_HTTP("8000"));
	rep = report(&r);
	cr_assert_eq(json_object_array_length(flows_of(rep)), 1);
	want_hygiene(rep);
	want_pass(rep);
	json_object_put(rep);
	rr_free(&r);
}

BOTH(redis_idle_at_exit)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_redis(&r, u, NULL, "500ms", "(echo PING; sleep 4) | " CLI " & sleep 1", NULL);
	rep = report(&r);
	cr_assert_eq(json_object_array_length(flows_of(rep)), 1);
	cr_assert_eq(exit_code(rep), 0);
	want_hygiene(rep);
	want_pass(rep);
	json_object_put(rep);
	rr_free(&r);
}
