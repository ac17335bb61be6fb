/* fixture.c - the e2e tests' shared fixture; see fixture.h. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "kcompare.h"
#include "ktrace.h"

void rr_init(struct run_result *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/fl-test-XXXXXX");
	if (!mkdtemp(r->dir))
		abort();
	chmod(r->dir, 0777);
}

static void rm_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

void rr_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	if (r->dir[0] && !getenv("FL_KEEP_TEST_DIRS"))
		rm_dir(r->dir);
}

const char *rr_path(const struct run_result *r, const char *name)
{
	static char ring[8][256];
	static int i;
	char *p = ring[i++ & 7];

	snprintf(p, 256, "%s/%s", r->dir, name);
	return p;
}

const char *rr_write(const struct run_result *r, const char *name,
		     const char *text)
{
	const char *p = rr_path(r, name);
	FILE *f = fopen(p, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(p, 0666);
	return p;
}

const char *rr_expand(const struct run_result *r, const char *text)
{
	static char ring[8][2048];
	static int i;
	char *p = ring[i++ & 7];
	size_t n = 0, dl = strlen(r->dir);

	for (const char *t = text; *t && n < sizeof(ring[0]) - 1;) {
		if (!strncmp(t, "{dir}", 5) && n + dl < sizeof(ring[0]) - 1) {
			memcpy(p + n, r->dir, dl);
			n += dl;
			t += 5;
		} else {
			p[n++] = *t++;
		}
	}
	p[n] = 0;
	cr_assert_lt(n, sizeof(ring[0]) - 1, "command too long: %s", text);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = 0;
	fclose(f);
	return buf;
}

pid_t rr_spawn(struct run_result *r, enum as_user user, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		char *args[64];
		size_t n = 0;
		int out = open(rr_path(r, "stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int err = open(rr_path(r, "stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0666);

		dup2(out, 1);
		dup2(err, 2);
		if (user == AS_NOBODY) {
			args[n++] = "setpriv";
			args[n++] = "--reuid=65534";
			args[n++] = "--regid=65534";
			args[n++] = "--clear-groups";
			args[n++] = "--";
		}
		for (size_t i = 0; argv[i] && n < 63; i++)
			args[n++] = argv[i];
		args[n] = NULL;
		setpgid(0, 0);
		execvp(args[0], args);
		_exit(127);
	}
	return pid;
}

/* The argument after opt in argv, or NULL. */
static const char *arg_after(char *const argv[], const char *opt)
{
	for (size_t i = 0; argv[i]; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], opt) && argv[i + 1])
			return argv[i + 1];
	}
	return NULL;
}

void rr_run(struct run_result *r, enum as_user user, char *const argv[],
	    int timeout_s)
{
	const char *report = !strcmp(argv[0], FL_BIN) ? arg_after(argv, "--report")
						      : NULL;
	const char *trace = report ? arg_after(argv, "--trace") : NULL;
	char *with_trace[72], own_trace[128];
	struct kt *kt = NULL;
	char why[256] = "";
	pid_t pid;
	struct timespec t0, now;
	int st = 0;

	/* The comparison reads which FINs got through from the trace: a run
	 * without one gets one of its own, in a file of its own. */
	if (report && !trace && argv[1] && !strcmp(argv[1], "run")) {
		size_t n = 0;

		/* Not rr_path(): its ring may hold the caller's arguments. */
		snprintf(own_trace, sizeof(own_trace), "%s/ktrace-trace.jsonl",
			 r->dir);
		trace = own_trace;
		with_trace[n++] = argv[0];
		with_trace[n++] = argv[1];
		with_trace[n++] = "--trace";
		with_trace[n++] = (char *)trace;
		for (size_t i = 2; argv[i] && n < 71; i++)
			with_trace[n++] = argv[i];
		with_trace[n] = NULL;
		argv = with_trace;
	}
	/* Before the sandbox exists, so its first socket is recorded. */
	if (report)
		kt_start(&kt, why, sizeof(why));
	pid = rr_spawn(r, user, argv);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	free(r->out);
	free(r->err);
	r->out = slurp(rr_path(r, "stdout"));
	r->err = slurp(rr_path(r, "stderr"));
	if (report)
		kc_compare(kt, why, r->name[0] ? r->name
			   : criterion_current_test ? criterion_current_test->name : "?",
			   report, trace);
}

json_object *jsonl_load(const char *path)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	json_object *a = json_object_new_array();
	char line[8192];

	if (!f)
		return a;
	while (fgets(line, sizeof(line), f)) {
		json_object *o = json_tokener_parse(line);

		if (o)
			json_object_array_add(a, o);
	}
	fclose(f);
	return a;
}

json_object *rr_trace(const struct run_result *r)
{
	return jsonl_load(rr_path(r, "trace.jsonl"));
}

json_object *rr_report(const struct run_result *r)
{
	return json_object_from_file(rr_path(r, "report.json"));
}

const char *js(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

long long ji(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return -1;
	return json_object_get_int64(v);
}

double jd(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return -1;
	return json_object_get_double(v);
}

const char *line_field(const char *text, const char *key, const char *word)
{
	static char val[256];
	size_t klen = strlen(key), wlen = strlen(word);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);

		if (len < klen || strncmp(l, key, klen) != 0 ||
		    (len > klen && l[klen] != ' '))
			continue;
		for (const char *p = l + klen; p < l + len; p++) {
			if (p[0] == ' ' && strncmp(p + 1, word, wlen) == 0 &&
			    p[1 + wlen] == '=') {
				const char *v = p + 2 + wlen;
				size_t n = 0;

				while (v + n < l + len && v[n] != ' ' && n < sizeof(val) - 1)
					n++;
				memcpy(val, v, n);
				val[n] = 0;
				return val;
			}
		}
		return NULL;
	}
	return NULL;
}

int count_lines(const char *text, const char *key)
{
	int n = 0;
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, klen) == 0 && (l[klen] == ' ' || l[klen] == '\n' || !l[klen]))
			n++;
	return n;
}

const char *rr_read(const struct run_result *r, const char *name)
{
	FILE *f = fopen(rr_path(r, name), "r");
	static char buf[1 << 16];
	size_t n;

	if (!f)
		return strcpy(buf, "");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

json_object *report_check(json_object *rep, const char *name)
{
	json_object *checks = json_object_object_get(rep, "checks");

	for (size_t i = 0; checks && i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);

		if ((js(c, "expect") && !strcmp(js(c, "expect"), name)) ||
		    !strcmp(js(c, "name"), name))
			return c;
	}
	return NULL;
}

int check_ok(json_object *rep, const char *name)
{
	json_object *c = report_check(rep, name);

	cr_assert_not_null(c, "no check %s in the report", name);
	return json_object_get_boolean(json_object_object_get(c, "ok"));
}

json_object *only_flow(json_object *rep)
{
	json_object *flows = json_object_object_get(rep, "flows");

	cr_assert_not_null(flows);
	cr_assert_eq(json_object_array_length(flows), 1, "%s",
		     json_object_to_json_string(flows));
	return json_object_array_get_idx(flows, 0);
}

const char *path_of(json_object *flow, const char *key)
{
	static char ring[8][256];
	static int i;
	char *b = ring[i++ & 7];
	json_object *a = json_object_object_get(flow, key);

	b[0] = 0;
	for (size_t k = 0; a && k < json_object_array_length(a); k++) {
		size_t l = strlen(b);

		snprintf(b + l, sizeof(ring[0]) - l, "%s%s", k ? " > " : "",
			 json_object_get_string(json_object_array_get_idx(a, k)));
	}
	return b;
}

int is_pkt(json_object *ev, const char *from, const char *flags_has)
{
	const char *f = js(ev, "flags");

	return js(ev, "ev") && !strcmp(js(ev, "ev"), "pkt") &&
	       !strcmp(js(ev, "from"), from) && f && strstr(f, flags_has);
}

double num_after(const char *s, const char *after)
{
	const char *p = s ? strstr(s, after) : NULL;
	double v;

	cr_assert_not_null(p, "no '%s' in: %s", after, s);
	cr_assert_eq(sscanf(p + strlen(after), "%lf", &v), 1, "%s", s);
	return v;
}

/* ---- the argv builder and the commands ---- */

/* Appends the words of text (split at spaces, {dir} expanded) to argv,
 * keeping room for the NULL; their storage is taken from the ring. */
static void add_words(char **argv, size_t *n, size_t max, const char *text,
		      const struct run_result *r)
{
	char *copy = (char *)rr_expand(r, text), *save = NULL;

	for (char *w = strtok_r(copy, " ", &save); w && *n < max - 1;
	     w = strtok_r(NULL, " ", &save))
		argv[(*n)++] = w;
}

void rr_faultline(struct run_result *r, enum as_user user,
		  const struct fl_args *a)
{
	char *argv[96];
	const size_t max = sizeof(argv) / sizeof(argv[0]);
	size_t n = 0;

	argv[n++] = FL_BIN;
	argv[n++] = "run";
	for (size_t i = 0; i < 4 && a->rules[i]; i++) {
		argv[n++] = "-r";
		argv[n++] = (char *)a->rules[i];
	}
	if (a->rules_text) {
		argv[n++] = "-r";
		argv[n++] = (char *)rr_write(r, "test.rules", a->rules_text);
	}
	if (!a->no_trace) {
		argv[n++] = "--trace";
		argv[n++] = (char *)rr_path(r, "trace.jsonl");
	}
	if (!a->no_report) {
		argv[n++] = "--report";
		argv[n++] = (char *)rr_path(r, "report.json");
	}
	if (a->timeout) {
		argv[n++] = "--timeout";
		argv[n++] = (char *)a->timeout;
	}
	if (a->settle) {
		argv[n++] = "--settle";
		argv[n++] = (char *)a->settle;
	}
	if (a->seed) {
		argv[n++] = "--seed";
		argv[n++] = (char *)a->seed;
	}
	if (a->opts)
		add_words(argv, &n, max - 8, a->opts, r);
	for (size_t i = 0; a->extra && a->extra[i] && n < max - 8; i++)
		argv[n++] = (char *)a->extra[i];
	if (a->driver) {
		argv[n++] = "--driver";
		argv[n++] = (char *)rr_expand(r, a->driver);
	}
	if (a->peer) {
		argv[n++] = "--peer";
		argv[n++] = (char *)rr_expand(r, a->peer);
	}
	argv[n++] = "--";
	if (a->sh) {
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = (char *)rr_expand(r, a->sh);
	}
	if (a->words)
		add_words(argv, &n, max, a->words, r);
	for (size_t i = 0; a->argv && a->argv[i] && n < max - 1; i++)
		argv[n++] = (char *)a->argv[i];
	argv[n] = NULL;
	rr_run(r, user, argv, a->wait_s ? a->wait_s : 60);
	rr_dump(r);
}

void rr_dump(const struct run_result *r)
{
	static const char *const outs[] = {"client.out", "server.out", "driver.out"};

	if (!getenv("FL_TEST_VERBOSE"))
		return;
	fprintf(stderr, "--- %s\n--- stdout\n%s--- stderr\n%s", r->dir, r->out,
		r->err);
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
		if (access(rr_path(r, outs[i]), F_OK) == 0)
			fprintf(stderr, "--- %s\n%s\n", outs[i], rr_read(r, outs[i]));
}

const char *client_cmd(const struct run_result *r, int how, const char *args)
{
	static char ring[4][1024];
	static int i;
	char *p = ring[i++ & 3];
	const char *wait = how & CL_WAIT ? WAIT_7000 : "";

	if (how & CL_NET) {
		snprintf(p, sizeof(ring[0]), "%s%s/tcp_client %s > %s; s=$?; "
			 "cat /proc/net/snmp /proc/net/netstat > %s; exit $s",
			 wait, FL_TARGETS, args, rr_path(r, "client.out"),
			 rr_path(r, "net.out"));
	} else {
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "%s" CLIENT_CMD("%s"), wait, args);
		snprintf(p, sizeof(ring[0]), "%s", rr_expand(r, cmd));
	}
	return p;
}

const char *drv(const struct run_result *r, const char *fmt, ...)
{
	static char ring[4][1024];
	static int i;
	char *p = ring[i++ & 3], body[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(ring[0]), "{ %s; } > %s", body, rr_path(r, "driver.out"));
	return p;
}
