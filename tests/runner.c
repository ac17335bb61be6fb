/* runner.c - integration test helpers; see runner.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

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

void rr_run(struct run_result *r, enum as_user user, char *const argv[],
	    int timeout_s)
{
	pid_t pid = rr_spawn(r, user, argv);
	struct timespec t0, now;
	int st = 0;

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
}

json_object *rr_trace(const struct run_result *r)
{
	FILE *f = fopen(rr_path(r, "trace.jsonl"), "r");
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
