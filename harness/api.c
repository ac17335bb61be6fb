/*
 * api.c - libfaultline's public entry points (faultline.h) on the
 * caller's side: the version, checking rule text, and a run.
 *
 * A run is done by the helper faultline-run (api_helper.c), forked and
 * exec'd, never in the caller's process: the harness calls unshare(),
 * installs signal handlers and blocks SIGCHLD, which a test process must
 * not suffer, and a forked copy of a multi-threaded caller may only do
 * async-signal-safe work until it execs.  So everything that allocates
 * is done before fork(): the rules are read and checked here (an error
 * costs no fork), the request is written to a memfd, the helper found;
 * the child only moves descriptors, resets signals and execs.  The
 * helper writes the CLI's JSON report to a memfd the parent reads once
 * the helper has been reaped (api_result.c makes the structs of it).
 *
 * Thread-safe: no state; each run has its own descriptors and child.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "caps.h"
#include "faultline.h"
#include "files.h"
#include "rules.h"

extern char **environ;

/* LIBDIR/faultline relative to LIBDIR (CMake computes it, as for
 * shim.c). */
#ifndef FL_LIB_TO_PKGLIB
#define FL_LIB_TO_PKGLIB "faultline"
#endif

/* How long past the run's own timeout (and its stop's grace) the caller
 * waits for the helper before killing it: judging and writing the
 * reports take well under this on a loaded machine. */
#define API_SLACK_MS 30000u

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

FAULTLINE_API const char *faultline_version(void)
{
	return FAULTLINE_VERSION;
}

FAULTLINE_API const char *faultline_verdict_name(enum faultline_verdict v)
{
	switch (v) {
	case FAULTLINE_PASS:
		return "PASS";
	case FAULTLINE_FAIL:
		return "FAIL";
	case FAULTLINE_INCONCLUSIVE:
		return "INCONCLUSIVE";
	}
	return "?";
}

FAULTLINE_API const struct faultline_check *
faultline_result_check(const struct faultline_result *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->nchecks; i++)
		if (r->checks[i].name && !strcmp(r->checks[i].name, name))
			return &r->checks[i];
	return NULL;
}

/* ---- rules ---- */

/* The rule texts of a run (or a check), with their names. */
struct texts {
	size_t n;
	const char *name[64 + 1];
	char *own[64 + 1];        /* what was read from files: freed */
	const char *text[64 + 1];
	size_t len[64 + 1];
};

static void texts_free(struct texts *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->own[i]);
}

/* Parses every text into one ruleset, as the CLI parses its files (a
 * conflict between two, such as two seeds, is an error too); lint adds
 * the warnings of `faultline check`.  0, -EINVAL with the diagnostics in
 * err, or -ENOMEM. */
static int texts_check(const struct texts *t, int lint, int *has_target,
		       char *err, size_t errlen)
{
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag diag = {0};
	int ret = 0;

	if (!rs)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		int r = fl_rules_parse(rs, t->name[i], t->text[i], t->len[i],
				       &diag);

		if (r == -ENOMEM) {
			ret = -ENOMEM;
			goto out;
		}
		if (r < 0)
			ret = -EINVAL;
	}
	if (lint && ret == 0 && fl_rules_lint(rs, &diag) < 0)
		ret = -ENOMEM;
	if (has_target)
		*has_target = rs->commands[FL_CMD_TARGET].text != NULL;
out:
	if (ret == -ENOMEM)
		set_err(err, errlen, "out of memory");
	else if (diag.nerrors)
		set_err(err, errlen, "%s%u error%s", diag.buf ? diag.buf : "",
			diag.nerrors, diag.nerrors == 1 ? "" : "s");
	else
		set_err(err, errlen, "%s", diag.buf ? diag.buf : "");
	fl_diag_free(&diag);
	fl_ruleset_free(rs);
	return ret;
}

FAULTLINE_API int faultline_rules_check(const char *text, size_t len,
					const char *name, char *err,
					size_t errlen)
{
	struct texts t = {.n = 1};

	set_err(err, errlen, "%s", "");
	if (!text) {
		set_err(err, errlen, "faultline_rules_check: no text");
		return -EINVAL;
	}
	t.name[0] = name ? name : "rules";
	t.text[0] = text;
	t.len[0] = len ? len : strlen(text);
	return texts_check(&t, 1, NULL, err, errlen);
}

/* o's rule text and rule files, read, into t.  0 or -errno. */
static int texts_collect(const struct faultline_opts *o, struct texts *t,
			 char *err, size_t errlen)
{
	size_t max = sizeof(t->name) / sizeof(t->name[0]) - 1;

	if (o->rules) {
		size_t len = o->rules_len ? o->rules_len : strlen(o->rules);

		if (len > FL_RULES_MAX_BYTES) {
			set_err(err, errlen, "rule text of %zu bytes (at most "
				"%u, as a rule file)", len, FL_RULES_MAX_BYTES);
			return -EFBIG;
		}
		t->name[t->n] = o->rules_name ? o->rules_name : "rules";
		t->text[t->n] = o->rules;
		t->len[t->n] = len;
		t->n++;
	}
	for (size_t i = 0; o->rule_files && o->rule_files[i]; i++) {
		char why[256];
		int ret;

		if (t->n == max) {
			set_err(err, errlen, "more than %zu rule files", max);
			return -E2BIG;
		}
		ret = fl_file_read_rules(o->rule_files[i], FL_RULES_MAX_BYTES,
					 FL_RULES_WAIT_MS, &t->own[t->n],
					 &t->len[t->n], why, sizeof(why));
		if (ret < 0) {
			set_err(err, errlen, "%s: %s", o->rule_files[i], why);
			return ret;
		}
		t->name[t->n] = o->rule_files[i];
		t->text[t->n] = t->own[t->n];
		t->n++;
	}
	return 0;
}

/* ---- the run ---- */

int api_cmds_check(const char *driver, const char *peer, char *err,
		   size_t errlen)
{
	/* sh -c '' does nothing and succeeds: a run that tests nothing
	 * would pass (cli.c refuses it too). */
	if ((driver && !driver[strspn(driver, " \t\n")]) ||
	    (peer && !peer[strspn(peer, " \t\n")])) {
		set_err(err, errlen, "%s: empty command (give the shell "
			"command, or leave it NULL)", driver ? "driver" : "peer");
		return -EINVAL;
	}
	if (driver && peer) {
		set_err(err, errlen, "driver and peer together: a driver tests "
			"a server (the target), a peer serves a client (the "
			"target); give one");
		return -EINVAL;
	}
	return 0;
}

int api_caps_check(uint64_t mask, char *err, size_t errlen)
{
	for (unsigned cap = 0; cap < 64; cap++) {
		if (!(mask & (1ull << cap)))
			continue;
		if (cap > FL_CAP_MAX || !fl_cap_name(cap)) {
			set_err(err, errlen, "keep_caps: capability %u is not "
				"one faultline knows", cap);
			return -EINVAL;
		}
		if (fl_cap_refused(cap)) {
			set_err(err, errlen, "keep_caps: %s is never kept for "
				"the target: %s", fl_cap_name(cap),
				fl_cap_refused(cap));
			return -EPERM;
		}
	}
	return 0;
}

/* The target's program as execvp() would find it: 0, or -ENOENT /
 * -EACCES with err saying so.  The helper checks again (it runs the
 * target as another user, in the sandbox); this one saves a run. */
static int target_check(const char *prog, char *err, size_t errlen)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	int found_noexec = 0;

	if (!prog || !*prog) {
		set_err(err, errlen, "faultline_run: no program (argv[0])");
		return -EINVAL;
	}
	if (strchr(prog, '/')) {
		if (access(prog, X_OK) == 0)
			return 0;
		set_err(err, errlen, "%s: %s", prog, strerror(errno));
		return errno == ENOENT ? -ENOENT : -EACCES;
	}
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct stat st;

		if ((size_t)snprintf(buf, sizeof(buf), "%.*s%s%s", (int)n,
				     n ? path : ".", "/", prog) < sizeof(buf) &&
		    stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(buf, X_OK) == 0)
				return 0;
			found_noexec = 1;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	set_err(err, errlen, "%s: %s in $PATH", prog,
		found_noexec ? "not executable" : "not found");
	return found_noexec ? -EACCES : -ENOENT;
}

/* The helper faultline-run: next to this library in a build tree, in
 * faultline/ beside it once installed (LIBDIR/faultline/, with the
 * shim, which shim.c finds there from the library). */
static int helper_find(char *path, size_t n, char *err, size_t errlen)
{
	Dl_info info;
	char lib[PATH_MAX], *slash;

	if (!dladdr((void *)faultline_run, &info) || !info.dli_fname ||
	    !realpath(info.dli_fname, lib)) {
		set_err(err, errlen, "cannot tell where libfaultline is "
			"(dladdr), so not where its helper %s is", API_HELPER);
		return -ENXIO;
	}
	slash = strrchr(lib, '/');
	*slash = 0;
	if ((size_t)snprintf(path, n, "%s/%s/%s", lib, FL_LIB_TO_PKGLIB,
			     API_HELPER) < n && access(path, X_OK) == 0)
		return 0;
	if ((size_t)snprintf(path, n, "%s/%s", lib, API_HELPER) < n &&
	    access(path, X_OK) == 0)
		return 0;
	set_err(err, errlen, "libfaultline's helper %s is missing (looked "
		"in %s/%s/ and %s/): reinstall faultline", API_HELPER, lib,
		FL_LIB_TO_PKGLIB, lib);
	return -ENXIO;
}

/* The request the helper reads (api_helper.c), as JSON text (the
 * caller frees it), or NULL. */
static char *request_json(const struct faultline_opts *o,
			  const struct texts *t)
{
	json_object *req = json_object_new_object();
	json_object *argv = json_object_new_array();
	json_object *rules = json_object_new_array();
	char *text = NULL;

	if (!req || !argv || !rules)
		goto out;
	for (size_t i = 0; o->argv && o->argv[i]; i++)
		json_object_array_add(argv, json_object_new_string(o->argv[i]));
	if (o->argv) {
		json_object_object_add(req, "argv", argv);
		argv = NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		json_object *r = json_object_new_object();

		json_object_object_add(r, "name", json_object_new_string(t->name[i]));
		json_object_object_add(r, "text", json_object_new_string_len(
					       t->text[i], (int)t->len[i]));
		json_object_array_add(rules, r);
	}
	json_object_object_add(req, "rules", rules);
	rules = NULL;
#define STR(key, v)                                                           \
	if (v)                                                                \
		json_object_object_add(req, key, json_object_new_string(v))
	STR("driver", o->driver);
	STR("peer", o->peer);
	STR("preload", o->preload);
	STR("trace", o->trace);
	STR("junit", o->junit);
	STR("html", o->html);
	STR("pcap", o->pcap);
#undef STR
	if (o->timeout_ms)
		json_object_object_add(req, "timeout_ms", json_object_new_uint64(
					       o->timeout_ms == FAULTLINE_NO_TIMEOUT
					       ? 0 : o->timeout_ms));
	if (o->settle_ms)
		json_object_object_add(req, "settle_ms",
				       json_object_new_uint64(o->settle_ms));
	if (o->have_seed)
		json_object_object_add(req, "seed", json_object_new_uint64(o->seed));
	json_object_object_add(req, "keep_caps", json_object_new_uint64(o->keep_caps));
	json_object_object_add(req, "ready_port", json_object_new_int(o->ready_port));
	json_object_object_add(req, "flags", json_object_new_int((int)o->flags));
	text = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(req);
	json_object_put(argv);
	json_object_put(rules);
	return text;
}

/* A memfd at fd >= 10 (out of the way of the child's dup2()s), holding
 * text if not NULL.  The fd, or -errno. */
static int memfd_with(const char *name, const char *text)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	int hi;

	if (fd < 0)
		return -errno;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	if (hi < 0)
		return -errno;
	for (size_t off = 0, len = text ? strlen(text) : 0; off < len;) {
		ssize_t w = write(hi, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = -errno;

			close(hi);
			return e;
		}
		off += (size_t)w;
	}
	return hi;
}

/* All of fd from its start, NUL-terminated (the caller frees it), or
 * NULL; *len without the NUL. */
static char *memfd_read(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	size_t off = 0;

	if (fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1)))
		return NULL;
	while (off < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + off, (size_t)st.st_size - off,
				  (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	buf[off] = 0;
	*len = off;
	return buf;
}

/* The child, between fork() and execve(): async-signal-safe calls only.
 * fds: the helper's stdio and its two descriptors, all >= 10 but
 * out_fd/err_fd that may be 1/2 (kept); status_fd reports a failed exec. */
static void child_exec(const char *helper, int in_fd, int out_fd, int err_fd,
		       int req_fd, int rep_fd, int status_fd, pid_t parent)
{
	static const int reset[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
				    SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2};
	char *argv[] = {(char *)API_HELPER, NULL};
	struct sigaction sa;
	sigset_t none;
	int e;

	/* A caller's SIG_IGN would survive the exec; its mask too. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaction(reset[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The caller dead, the run stops (the helper's SIGTERM handling);
	 * a caller that died before this line is seen by getppid(). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	if (dup2(in_fd, 0) < 0 || (out_fd != 1 && dup2(out_fd, 1) < 0) ||
	    (err_fd != 2 && dup2(err_fd, 2) < 0) ||
	    dup2(req_fd, API_FD_REQUEST) < 0 || dup2(rep_fd, API_FD_REPORT) < 0)
		goto fail;
	/* Nothing else of the caller's (Criterion's pipes, sockets) goes
	 * into the run; status_fd is close-on-exec. */
	for (int fd = API_FD_REPORT + 1; fd < 10; fd++)
		close(fd);
	if (syscall(SYS_close_range, 10u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) < 0)
		for (int fd = 10; fd < 1024; fd++)
			if (fd != status_fd)
				close(fd);
	execve(helper, argv, environ);
fail:
	e = errno;
	while (write(status_fd, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Waits for pid, at most limit_ms (0: no limit), then stops it: SIGTERM
 * (the helper stops its run and reports), SIGKILL 5s later.  Returns
 * the wait status. */
static int reap(pid_t pid, uint64_t limit_ms)
{
	int pfd = limit_ms ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	int st = 0, stage = 0;

	while (pfd >= 0 && stage < 2) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int wait_ms = stage == 0 ? (limit_ms > INT_MAX ? INT_MAX
					    : (int)limit_ms) : 5000;
		int n = poll(&p, 1, wait_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 0)
			break;
		kill(pid, stage == 0 ? SIGTERM : SIGKILL);
		stage++;
	}
	if (pfd >= 0)
		close(pfd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

FAULTLINE_API int faultline_run(const struct faultline_opts *o,
				struct faultline_result **res, char *err,
				size_t errlen)
{
	struct texts t = {0};
	char helper[PATH_MAX];
	char *req = NULL, *report = NULL, *diag = NULL;
	int in_fd = -1, out_fd = -1, err_fd = -1, req_fd = -1, rep_fd = -1;
	int pipe_fd[2] = {-1, -1};
	FILE *user_report = NULL;
	size_t report_len = 0, diag_len = 0;
	uint64_t limit_ms = 0;
	pid_t pid;
	int ret, st, code, exec_errno = 0, has_target = 0;

	set_err(err, errlen, "%s", "");
	if (res)
		*res = NULL;
	if (!o || !res) {
		set_err(err, errlen, "faultline_run: no %s",
			!o ? "options" : "result pointer");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
		if (o->reserved[i]) {
			set_err(err, errlen, "faultline_run: reserved[%zu] is "
				"set: an option this libfaultline %s does not "
				"know (built against a newer faultline.h?)", i,
				FAULTLINE_VERSION);
			return -EINVAL;
		}
	ret = api_cmds_check(o->driver, o->peer, err, errlen);
	if (ret == 0)
		ret = api_caps_check(o->keep_caps, err, errlen);
	if (ret == 0 && o->argv)
		ret = target_check(o->argv[0], err, errlen);
	if (ret < 0)
		goto out;
	ret = texts_collect(o, &t, err, errlen);
	if (ret == 0)
		ret = texts_check(&t, 0, &has_target, err, errlen);
	if (ret == 0 && !o->argv && !has_target) {
		set_err(err, errlen, "faultline_run: no program: give argv, or "
			"rules with a 'target' line");
		ret = -EINVAL;
	}
	if (ret < 0)
		goto out;
	ret = helper_find(helper, sizeof(helper), err, errlen);
	if (ret < 0)
		goto out;
	/* As the CLI: an output that cannot be written costs no run. */
	if (o->report && !(user_report = fl_output_open(o->report))) {
		char why[256];

		ret = -errno;
		fl_output_strerror(o->report, errno, why, sizeof(why));
		set_err(err, errlen, "report %s: %s", o->report, why);
		goto out;
	}
	req = request_json(o, &t);
	if (!req) {
		ret = -ENOMEM;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	in_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (in_fd >= 0) {
		int hi = fcntl(in_fd, F_DUPFD_CLOEXEC, 10);

		close(in_fd);
		in_fd = hi;
	}
	req_fd = memfd_with("faultline-request", req);
	rep_fd = memfd_with("faultline-report", NULL);
	err_fd = o->flags & FAULTLINE_PRINT_DIAGNOSTICS
		 ? 2 : memfd_with("faultline-stderr", NULL);
	out_fd = o->flags & FAULTLINE_PRINT_REPORT ? 1 : in_fd;
	if (in_fd < 0 || req_fd < 0 || rep_fd < 0 || err_fd < 0 ||
	    pipe2(pipe_fd, O_CLOEXEC) < 0) {
		ret = in_fd < 0 || pipe_fd[0] < 0 ? -errno
		      : req_fd < 0 ? req_fd : rep_fd < 0 ? rep_fd : err_fd;
		set_err(err, errlen, "cannot set up the run's descriptors: %s",
			strerror(-ret));
		goto out;
	}
	if (o->timeout_ms && o->timeout_ms != FAULTLINE_NO_TIMEOUT)
		limit_ms = o->timeout_ms + API_SLACK_MS;
	else if (!o->timeout_ms)
		limit_ms = 60000u + API_SLACK_MS;

	{
		pid_t parent = getpid();

		pid = fork();
		if (pid == 0)
			child_exec(helper, in_fd, out_fd, err_fd, req_fd, rep_fd,
				   pipe_fd[1], parent);
	}
	if (pid < 0) {
		ret = -errno;
		set_err(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	close(pipe_fd[1]);
	pipe_fd[1] = -1;
	while (read(pipe_fd[0], &exec_errno, sizeof(exec_errno)) < 0 &&
	       errno == EINTR)
		;
	st = reap(pid, limit_ms);
	if (exec_errno) {
		ret = -exec_errno;
		set_err(err, errlen, "cannot run %s: %s", helper,
			strerror(exec_errno));
		goto out;
	}
	if (st < 0) {
		ret = -ECHILD;
		set_err(err, errlen, "the helper %s could not be reaped (is "
			"SIGCHLD ignored?)", helper);
		goto out;
	}
	report = memfd_read(rep_fd, &report_len);
	if (err_fd != 2)
		diag = memfd_read(err_fd, &diag_len);
	if (!report || (err_fd != 2 && !diag)) {
		ret = -ENOMEM;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if ((code == 0 || code == 1) && report_len) {
		ret = api_result_parse(report, report_len, diag, code, res, err,
				       errlen);
		if (ret == 0 && user_report) {
			fwrite(report, 1, report_len, user_report);
			ret = fclose(user_report) == 0 ? 0 : -errno;
			user_report = NULL;
			if (ret < 0) {
				set_err(err, errlen, "report %s: write error: "
					"%s", o->report, strerror(-ret));
				faultline_result_free(*res);
				*res = NULL;
			}
		}
		goto out;
	}
	/* No report: what the helper said on stderr is the reason. */
	ret = code == 2 ? -ENOEXEC : code == 3 ? -ENXIO : -EPROTO;
	if (diag && diag_len)
		set_err(err, errlen, "%s", diag);
	else if (WIFSIGNALED(st))
		set_err(err, errlen, "the helper %s was killed by signal %d",
			helper, WTERMSIG(st));
	else
		set_err(err, errlen, "the helper %s exited with status %d and "
			"no report%s", helper, code, err_fd == 2
			? " (its diagnostics are on stderr)" : "");
out:
	/* A run without a report leaves the file empty, as the CLI does. */
	if (user_report)
		fclose(user_report);
	free(req);
	free(report);
	free(diag);
	texts_free(&t);
	if (in_fd >= 0)
		close(in_fd);
	if (err_fd > 2)
		close(err_fd);
	if (req_fd >= 0)
		close(req_fd);
	if (rep_fd >= 0)
		close(rep_fd);
	for (int i = 0; i < 2; i++)
		if (pipe_fd[i] >= 0)
			close(pipe_fd[i]);
	return ret;
}
