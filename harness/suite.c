/*
 * suite.c - `faultline suite`: collects the scenario files (a directory's
 * *.rules, not recursive, sorted by name; a file given twice counts
 * once), keeps those of the shard, and runs each as `faultline run -r
 * FILE` (this very binary, /proc/self/exe: each run is its own process
 * and its own sandbox), at most o->jobs at once, its stdout and stderr in
 * a log of its own in a scratch directory.  As each run ends it prints
 * one line (result, file, time, the first failing check), and the log
 * when the run did not pass (every log with -v); then a total.  From the
 * runs' own --report and --junit files it writes one JUnit document (one
 * testsuite per scenario) and one JSON summary.  The scratch directory
 * is removed at the end (SIGPIPE is ignored meanwhile: a closed stdout
 * only loses the lines).
 *
 * Single-threaded: one poll() over a signalfd for SIGCHLD and the
 * termination signals' self-pipe (signals.c).  The first SIGINT, SIGTERM
 * or SIGHUP sends SIGTERM to the runs it started (by pid: each run is in
 * a process group of its own, so a terminal's ^C reaches only the suite,
 * and each run stops its target and writes its reports as on its own
 * first signal), starts no more, and reports what finished; the second
 * sends SIGKILL; the third ends the suite at once.  A run whose suite
 * dies gets SIGTERM (PR_SET_PDEATHSIG).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "files.h"
#include "rules.h"
#include "run.h"
#include "signals.h"
#include "suite.h"
#include "utf8.h"

/* How much of a log the JSON summary and JUnit quote (its end). */
#define LOG_QUOTE_MAX (64 * 1024)

/* What became of one scenario. */
enum sc_result { SR_NOT_RUN, SR_PASS, SR_FAIL, SR_INCONCLUSIVE, SR_ERROR,
		 SR_ENV, SR_CRASH };

static const char *result_name(enum sc_result r)
{
	switch (r) {
	case SR_NOT_RUN:
		return "NOT-RUN";
	case SR_PASS:
		return "PASS";
	case SR_FAIL:
		return "FAIL";
	case SR_INCONCLUSIVE:
		return "INCONCLUSIVE";
	case SR_ERROR:
		return "ERROR";
	case SR_ENV:
		return "ENV-ERROR";
	case SR_CRASH:
		return "CRASH";
	}
	return "?";
}

struct scenario {
	char *path;       /* as given, or DIR/NAME */
	const char *base; /* its name without directories (in path) */
	dev_t dev;
	ino_t ino;
	pid_t pid;        /* while it runs */
	uint64_t start_ns, time_ns;
	int status;       /* wait status */
	int exit;         /* its exit status, -1 when a signal ended it */
	enum sc_result result;
	char detail[512]; /* the first failing check, or the error */
	json_object *report; /* its --report, or NULL */
};

struct suite {
	const struct fl_suite_opts *o;
	struct scenario *sc;
	size_t n, cap;
	char dir[64];     /* the scratch directory */
	size_t next, running, done;
	int stopping;     /* signals seen */
	int sfd;          /* SIGCHLD */
};

/* ---- collecting the files ---- */

static int add_file(struct suite *s, const char *path, const struct stat *st)
{
	struct scenario *v;
	const char *slash;

	for (size_t i = 0; i < s->n; i++)
		if (s->sc[i].dev == st->st_dev && s->sc[i].ino == st->st_ino)
			return 0; /* given twice: counted once */
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;

		v = realloc(s->sc, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->sc = v;
		s->cap = cap;
	}
	v = &s->sc[s->n];
	memset(v, 0, sizeof(*v));
	v->path = strdup(path);
	if (!v->path)
		return -ENOMEM;
	slash = strrchr(v->path, '/');
	v->base = slash ? slash + 1 : v->path;
	v->dev = st->st_dev;
	v->ino = st->st_ino;
	v->exit = -1;
	s->n++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's *.rules files (regular files, or links to them), sorted
 * by name.  0, or -errno after a message. */
static int add_dir(struct suite *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	int ret = 0;

	if (!d) {
		ret = -errno;
		fprintf(stderr, "faultline suite: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **v;

		if (len <= 6 || strcmp(e->d_name + len - 6, ".rules") || e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			v = realloc(names, cap * sizeof(*v));
			if (!v) {
				ret = -ENOMEM;
				goto out;
			}
			names = v;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			ret = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct stat st;
		size_t dl = strlen(dir);

		snprintf(path, sizeof(path), "%s%s%s", dir,
			 dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		ret = add_file(s, path, &st);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	return ret;
}

static int collect(struct suite *s)
{
	const struct fl_suite_opts *o = s->o;
	int ret = 0;

	for (size_t i = 0; i < o->npaths && ret == 0; i++) {
		struct stat st;

		if (stat(o->paths[i], &st) < 0) {
			ret = -errno;
			fprintf(stderr, "faultline suite: %s: %s\n", o->paths[i],
				strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			ret = add_dir(s, o->paths[i]);
		} else {
			/* a file named on the command line, whatever its name;
			 * the run says what is wrong with it */
			ret = add_file(s, o->paths[i], &st);
		}
	}
	if (ret == -ENOMEM)
		fprintf(stderr, "faultline suite: out of memory\n");
	return ret;
}

/* FNV-1a, 64 bits: stable across versions and machines (not a security
 * property: any even spread will do). */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

int fl_suite_in_shard(const char *base, unsigned k, unsigned n)
{
	return n == 0 || name_hash(base) % n == (uint64_t)(k - 1);
}

/* ---- running ---- */

static const char *scratch(const struct suite *s, size_t i, const char *ext,
			   char *buf, size_t n)
{
	snprintf(buf, n, "%s/%zu.%s", s->dir, i, ext);
	return buf;
}

/* Starts scenario i: `faultline run -r FILE --report .. --junit ..
 * [--timeout ..]`, its output to its log.  0, or -errno. */
static int start(struct suite *s, size_t i)
{
	struct scenario *sc = &s->sc[i];
	char rep[96], junit[96], log[96];
	char *argv[12];
	int k = 0;
	pid_t parent = getpid(), pid;

	argv[k++] = "faultline";
	argv[k++] = "run";
	argv[k++] = "-r";
	argv[k++] = sc->path;
	argv[k++] = "--report";
	argv[k++] = (char *)scratch(s, i, "json", rep, sizeof(rep));
	argv[k++] = "--junit";
	argv[k++] = (char *)scratch(s, i, "xml", junit, sizeof(junit));
	if (s->o->timeout) {
		argv[k++] = "--timeout";
		argv[k++] = (char *)s->o->timeout;
	}
	argv[k] = NULL;
	scratch(s, i, "log", log, sizeof(log));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent || fd < 0 || in < 0)
			_exit(127);
		dup2(in, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv("/proc/self/exe", argv);
		dprintf(STDERR_FILENO, "faultline suite: exec: %s\n", strerror(errno));
		_exit(127);
	}
	sc->pid = pid;
	sc->start_ns = fl_clock_ns();
	s->running++;
	return 0;
}

/* The file's text, NUL-terminated (malloc'ed), at most its last max
 * bytes; NULL when unreadable. */
static char *read_tail(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long size;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0) {
		size_t want = (size_t)size > max ? max : (size_t)size;

		fseek(f, size - (long)want, SEEK_SET);
		buf = malloc(want + 1);
		if (buf) {
			*len = fread(buf, 1, want, f);
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* The first line of text that looks like the error (names "error"), else
 * its first non-empty line, into buf. */
static void first_error(const char *text, char *buf, size_t n)
{
	const char *line = NULL, *p;

	buf[0] = '\0';
	if (!text)
		return;
	p = strstr(text, "error");
	if (p) {
		while (p > text && p[-1] != '\n')
			p--;
		line = p;
	} else {
		for (line = text; *line == '\n'; line++)
			;
	}
	snprintf(buf, n, "%.*s", (int)strcspn(line, "\n"), line);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = json_object_object_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* From the report: the first check that failed (or, for an inconclusive
 * run, that was not judged), "expect: detail". */
static void first_failing(json_object *rep, char *buf, size_t n)
{
	json_object *checks = json_object_object_get(rep, "checks");
	int want_skip = 0;

	buf[0] = '\0';
	for (int pass = 0; pass < 2 && !buf[0]; pass++, want_skip = 1)
		for (size_t i = 0; checks && i < json_object_array_length(checks); i++) {
			json_object *c = json_object_array_get_idx(checks, i);
			int ok = json_object_get_boolean(json_object_object_get(c, "ok"));
			json_object *j = json_object_object_get(c, "judged");
			int judged = !j || json_object_get_boolean(j);
			const char *what = jstr(c, "expect") ? jstr(c, "expect") : jstr(c, "name");
			const char *d = jstr(c, "detail");

			if (want_skip ? judged : (ok || !judged))
				continue;
			snprintf(buf, n, "%s: %.*s", what ? what : "?",
				 (int)strcspn(d ? d : "", "\n"), d ? d : "");
			break;
		}
}

/* Judges scenario i, which ended with wait status st. */
static void judge(struct suite *s, size_t i, int st)
{
	struct scenario *sc = &s->sc[i];
	char path[96];
	const char *res;
	char *log;
	size_t len;

	sc->status = st;
	sc->time_ns = fl_clock_ns() - sc->start_ns;
	sc->exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	sc->report = json_object_from_file(scratch(s, i, "json", path, sizeof(path)));
	res = sc->report ? jstr(sc->report, "result") : NULL;
	if (sc->exit < 0 || sc->exit > EXIT_ENV)
		sc->result = SR_CRASH;
	else if (sc->exit == EXIT_ENV)
		sc->result = SR_ENV;
	else if (sc->exit == EXIT_USAGE)
		sc->result = SR_ERROR;
	else if (sc->exit == EXIT_OK)
		sc->result = SR_PASS;
	else
		sc->result = res && !strcmp(res, "INCONCLUSIVE") ? SR_INCONCLUSIVE : SR_FAIL;
	if (sc->report && sc->result != SR_PASS)
		first_failing(sc->report, sc->detail, sizeof(sc->detail));
	if (!sc->detail[0] && sc->result != SR_PASS) {
		log = read_tail(scratch(s, i, "log", path, sizeof(path)), LOG_QUOTE_MAX, &len);
		if (sc->exit < 0)
			snprintf(sc->detail, sizeof(sc->detail), "faultline killed by signal %d",
				 WTERMSIG(st));
		else
			first_error(log, sc->detail, sizeof(sc->detail));
		free(log);
	}
}

/* The scenario's line, and its log when it did not pass (or with -v). */
static void print_done(struct suite *s, size_t i)
{
	const struct scenario *sc = &s->sc[i];
	char path[96];
	int w = snprintf(NULL, 0, "%zu", s->n);
	size_t len;

	printf("[%*zu/%zu] %s  %s  %.1fs%s%.200s\n", w, s->done, s->n,
	       result_name(sc->result), sc->base, (double)sc->time_ns / 1e9,
	       sc->detail[0] ? "  " : "", sc->detail);
	if (sc->result != SR_PASS || s->o->verbose) {
		char *log = read_tail(scratch(s, i, "log", path, sizeof(path)),
				      LOG_QUOTE_MAX, &len);

		printf("---- %s: faultline run -r %s (exit %d) ----\n", sc->base,
		       sc->path, sc->exit);
		if (log) {
			fwrite(log, 1, len, stdout);
			if (len && log[len - 1] != '\n')
				putchar('\n');
		}
		printf("---- end of %s ----\n", sc->base);
		free(log);
	}
	fflush(stdout);
}

static void signal_all(struct suite *s, int sig)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->sc[i].pid > 0)
			kill(s->sc[i].pid, sig);
}

static void reap(struct suite *s)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int st;

	while (read(s->sfd, &si, sizeof(si)) > 0)
		;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (size_t i = 0; i < s->n; i++)
			if (s->sc[i].pid == pid) {
				s->sc[i].pid = 0;
				s->running--;
				s->done++;
				judge(s, i, st);
				print_done(s, i);
				break;
			}
}

static int run_all(struct suite *s, unsigned jobs)
{
	struct pollfd pfd[2];
	int ret = 0;

	pfd[0] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = fl_signals_fd(), .events = POLLIN};
	for (;;) {
		while (!s->stopping && s->running < jobs && s->next < s->n) {
			ret = start(s, s->next);
			if (ret < 0) {
				fprintf(stderr, "faultline suite: fork: %s\n", strerror(-ret));
				s->stopping = 1;
				signal_all(s, SIGTERM);
				break;
			}
			s->next++;
		}
		if (s->running == 0 && (s->stopping || s->next == s->n))
			break;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			int k = fl_signals_take();

			for (; k > 0; k--) {
				s->stopping++;
				if (s->stopping == 1)
					printf("faultline suite: interrupted: stopping %zu "
					       "running scenario%s, starting no more\n",
					       s->running, s->running == 1 ? "" : "s");
				signal_all(s, s->stopping == 1 ? SIGTERM : SIGKILL);
			}
			fflush(stdout);
		}
		reap(s);
	}
	return ret;
}

/* ---- outputs ---- */

/* s[0..n) as XML character data or attribute text: markup escaped,
 * control characters as spaces, bytes outside valid UTF-8 as '?'. */
static void xml_put(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = fl_utf8_seq((const unsigned char *)s + i, n - i);

		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc(' ', f);
		else if (k == 0)
			fputc('?', f);
		else
			fwrite(s + i, 1, k, f);
		i += k ? k : 1;
	}
}

static void xml_str(FILE *f, const char *s)
{
	xml_put(f, s, strlen(s));
}

/* The value of attribute name="..." in the tag at tag (up to its '>'). */
static unsigned long attr_num(const char *tag, const char *name)
{
	const char *end = strchr(tag, '>'), *p;
	char key[32];

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(tag, key);
	return p && (!end || p < end) ? strtoul(p + strlen(key), NULL, 10) : 0;
}

/* Totals of the JUnit document. */
struct junit_sum {
	unsigned long tests, failures, errors, skipped;
};

/* Scenario i's testsuite: the run's own (from its --junit output: named
 * after its first -r file, which is the scenario's, a classname per
 * target), its name attribute set to the file name whatever the run
 * wrote, and the run's log (faultline's report, the target's and the
 * driver's output) as its <system-out>; or one testcase with an <error>
 * when the run wrote none (a rule-file or environment error, a crash). */
static void junit_one(struct suite *s, size_t i, FILE *f, struct junit_sum *sum)
{
	const struct scenario *sc = &s->sc[i];
	char path[96], *xml, *log, *begin = NULL, *end = NULL;
	size_t len, loglen;

	xml = read_tail(scratch(s, i, "xml", path, sizeof(path)), 16u << 20, &len);
	if (xml && (begin = strstr(xml, "<testsuite ")) && (end = strstr(begin, "</testsuite>"))) {
		char *p = begin + strlen("<testsuite ");

		sum->tests += attr_num(begin, "tests");
		sum->failures += attr_num(begin, "failures");
		sum->errors += attr_num(begin, "errors");
		sum->skipped += attr_num(begin, "skipped");
		fputs("  <testsuite name=\"", f);
		xml_str(f, sc->base);
		fputs("\" ", f);
		/* report.c writes name="..." first; its value has no '"' */
		if (!strncmp(p, "name=\"", 6) && strchr(p + 6, '"') &&
		    strchr(p + 6, '"') < end) {
			p = strchr(p + 6, '"') + 1;
			p += strspn(p, " ");
		}
		while (end > p && end[-1] == ' ')
			end--; /* the indent of </testsuite> */
		fwrite(p, 1, (size_t)(end - p), f);
		log = read_tail(scratch(s, i, "log", path, sizeof(path)),
				LOG_QUOTE_MAX, &loglen);
		if (log && loglen) {
			fputs("    <system-out>", f);
			xml_put(f, log, loglen);
			fputs("</system-out>\n", f);
		}
		free(log);
		fputs("  </testsuite>\n", f);
		free(xml);
		return;
	}
	free(xml);
	log = read_tail(scratch(s, i, "log", path, sizeof(path)), LOG_QUOTE_MAX, &loglen);
	sum->tests++;
	sum->errors++;
	fputs("  <testsuite name=\"", f);
	xml_str(f, sc->base);
	fprintf(f, "\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" "
		"time=\"%.3f\">\n    <testcase classname=\"", (double)sc->time_ns / 1e9);
	xml_str(f, sc->base);
	fprintf(f, "\" name=\"run\" time=\"%.3f\"><error message=\"",
		(double)sc->time_ns / 1e9);
	xml_str(f, result_name(sc->result));
	fputs(": ", f);
	xml_str(f, sc->detail);
	fputs("\">", f);
	if (log)
		xml_put(f, log, loglen);
	fputs("</error></testcase>\n  </testsuite>\n", f);
	free(log);
}

/* The whole document into f: the testsuites into a memory buffer first,
 * since the root's totals come from them. */
static int write_junit(struct suite *s, FILE *f, uint64_t wall_ns)
{
	struct junit_sum sum = {0};
	char *body = NULL;
	size_t blen = 0;
	FILE *m = open_memstream(&body, &blen);

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		if (s->sc[i].result != SR_NOT_RUN)
			junit_one(s, i, m, &sum);
	fclose(m);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
		"name=\"faultline suite\" tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" "
		"skipped=\"%lu\" time=\"%.3f\">\n", sum.tests, sum.failures,
		sum.errors, sum.skipped, (double)wall_ns / 1e9);
	if (body)
		fwrite(body, 1, blen, f);
	fputs("</testsuites>\n", f);
	free(body);
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

static int write_summary(struct suite *s, FILE *f, uint64_t wall_ns, int status,
			 const size_t *counts)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	json_object *cnt = json_object_new_object();
	const char *text;
	char shard[32], path[96];
	int ret;

	json_object_object_add(root, "exit", json_object_new_int(status));
	json_object_object_add(root, "time", json_object_new_double((double)wall_ns / 1e9));
	json_object_object_add(root, "jobs", json_object_new_int((int)s->o->jobs));
	snprintf(shard, sizeof(shard), "%u/%u", s->o->shard_k, s->o->shard_n);
	json_object_object_add(root, "shard", s->o->shard_n ? json_object_new_string(shard) : NULL);
	json_object_object_add(root, "interrupted", json_object_new_boolean(s->stopping > 0));
	for (int r = SR_PASS; r <= SR_CRASH; r++)
		json_object_object_add(cnt, result_name((enum sc_result)r),
				       json_object_new_int((int)counts[r]));
	json_object_object_add(cnt, result_name(SR_NOT_RUN), json_object_new_int((int)counts[SR_NOT_RUN]));
	json_object_object_add(root, "counts", cnt);
	for (size_t i = 0; i < s->n; i++) {
		struct scenario *sc = &s->sc[i];
		json_object *o = json_object_new_object();
		size_t len;
		char *log;

		json_object_object_add(o, "file", json_object_new_string(sc->path));
		json_object_object_add(o, "name", json_object_new_string(sc->base));
		json_object_object_add(o, "result", json_object_new_string(result_name(sc->result)));
		json_object_object_add(o, "exit", sc->result == SR_NOT_RUN || sc->exit < 0
					   ? NULL : json_object_new_int(sc->exit));
		json_object_object_add(o, "signal", sc->result != SR_NOT_RUN && sc->exit < 0 &&
					   WIFSIGNALED(sc->status)
					   ? json_object_new_string(fl_signal_name(WTERMSIG(sc->status))
								    ? fl_signal_name(WTERMSIG(sc->status))
								    : "?")
					   : NULL);
		json_object_object_add(o, "time", json_object_new_double((double)sc->time_ns / 1e9));
		json_object_object_add(o, "detail", sc->detail[0] ? json_object_new_string(sc->detail)
								  : NULL);
		/* the run's own report, whole (the scratch directory goes) */
		json_object_object_add(o, "report", sc->report ? json_object_get(sc->report) : NULL);
		log = sc->result == SR_NOT_RUN ? NULL
			: read_tail(scratch(s, i, "log", path, sizeof(path)), LOG_QUOTE_MAX, &len);
		json_object_object_add(o, "log", log ? json_object_new_string_len(log, (int)len) : NULL);
		free(log);
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "scenarios", arr);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = fl_utf8_json_write(f, text, strlen(text));
	if (ret == 0 && (fputc('\n', f) == EOF || fflush(f) != 0 || ferror(f)))
		ret = -EIO;
	json_object_put(root);
	return ret;
}

/* ---- the suite ---- */

static unsigned cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

static void remove_scratch(struct suite *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(s->dir);
}

int fl_suite(const struct fl_suite_opts *o)
{
	struct suite s = {.o = o, .sfd = -1};
	struct fl_suite_opts eff = *o;
	FILE *junit_f = NULL, *report_f = NULL;
	size_t counts[SR_CRASH + 1] = {0}, kept = 0, total;
	const char *tmp = getenv("TMPDIR");
	uint64_t t0 = fl_clock_ns(), wall;
	int status = EXIT_USAGE, worst = 0;
	char why[256];
	sigset_t mask;

	s.o = &eff;
	if (!eff.jobs)
		eff.jobs = cpus();
	if (collect(&s) < 0)
		goto out;
	total = s.n;
	if (s.n == 0) {
		fprintf(stderr, "faultline suite: no scenario (*.rules) in the paths given\n");
		goto out;
	}
	/* the shard: keep its files, in their order */
	for (size_t i = 0; i < s.n; i++) {
		if (fl_suite_in_shard(s.sc[i].base, eff.shard_k, eff.shard_n))
			s.sc[kept++] = s.sc[i];
		else
			free(s.sc[i].path);
	}
	s.n = kept;
	if (eff.junit && !(junit_f = fl_output_open(eff.junit))) {
		fl_output_strerror(eff.junit, errno, why, sizeof(why));
		fprintf(stderr, "faultline suite: --junit %s: %s\n", eff.junit, why);
		goto out;
	}
	if (eff.report && !(report_f = fl_output_open(eff.report))) {
		fl_output_strerror(eff.report, errno, why, sizeof(why));
		fprintf(stderr, "faultline suite: --report %s: %s\n", eff.report, why);
		goto out;
	}
	snprintf(s.dir, sizeof(s.dir), "%.40s/faultline-suite.XXXXXX",
		 tmp && *tmp && strlen(tmp) <= 40 ? tmp : "/tmp");
	if (!mkdtemp(s.dir)) {
		fprintf(stderr, "faultline suite: %s: %s\n", s.dir, strerror(errno));
		s.dir[0] = '\0';
		status = EXIT_ENV;
		goto out;
	}
	/* A closed stdout (`| head`) must not kill the suite before it
	 * has waited for its runs and removed its scratch directory. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s.sfd < 0) {
		fprintf(stderr, "faultline suite: signalfd: %s\n", strerror(errno));
		status = EXIT_ENV;
		goto out;
	}
	if (eff.shard_n)
		printf("faultline suite: %zu of %zu scenarios in shard %u/%u, %u at once\n",
		       s.n, total, eff.shard_k, eff.shard_n, eff.jobs);
	else
		printf("faultline suite: %zu scenario%s, %u at once\n", s.n,
		       s.n == 1 ? "" : "s", eff.jobs);
	fflush(stdout);
	fl_signals_graceful(1, NULL);
	run_all(&s, eff.jobs);
	fl_signals_graceful(0, " while writing the suite's reports: ending now\n");
	wall = fl_clock_ns() - t0;

	for (size_t i = 0; i < s.n; i++) {
		int e = s.sc[i].result == SR_CRASH ? EXIT_ENV : s.sc[i].exit;

		counts[s.sc[i].result]++;
		if (s.sc[i].result != SR_NOT_RUN && e > worst)
			worst = e;
	}
	status = s.stopping && worst < EXIT_CHECK ? EXIT_CHECK : worst;
	printf("total: %zu scenario%s:", s.n, s.n == 1 ? "" : "s");
	for (int r = SR_PASS, first = 1; r <= SR_CRASH; r++)
		if (counts[r] || r <= SR_FAIL) {
			printf("%s %zu %s", first ? "" : ",", counts[r],
			       result_name((enum sc_result)r));
			first = 0;
		}
	if (counts[SR_NOT_RUN])
		printf(", %zu NOT-RUN (interrupted)", counts[SR_NOT_RUN]);
	printf("; %.1fs wall, -j %u%s; exit %d\n", (double)wall / 1e9, eff.jobs,
	       s.stopping ? ", interrupted" : "", status);
	fflush(stdout);
	if (junit_f && write_junit(&s, junit_f, wall) < 0) {
		fprintf(stderr, "faultline suite: --junit %s: write error\n", eff.junit);
		status = status > EXIT_USAGE ? status : EXIT_USAGE;
	}
	if (report_f && write_summary(&s, report_f, wall, status, counts) < 0) {
		fprintf(stderr, "faultline suite: --report %s: write error\n", eff.report);
		status = status > EXIT_USAGE ? status : EXIT_USAGE;
	}
out:
	if (junit_f)
		fclose(junit_f);
	if (report_f)
		fclose(report_f);
	if (s.sfd >= 0)
		close(s.sfd);
	if (s.dir[0])
		remove_scratch(&s);
	for (size_t i = 0; i < s.n; i++) {
		free(s.sc[i].path);
		json_object_put(s.sc[i].report);
	}
	free(s.sc);
	return status;
}
