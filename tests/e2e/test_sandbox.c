/*
 * test_sandbox.c - the sandbox's process tree: every process of the
 * sandbox is a child of its init, so a SIGKILL of faultline leaves nothing
 * running and no zombie of the target or the driver, whatever the host's
 * init does.  The test process plays the worst host: it makes itself a
 * child subreaper (so it, not the machine's init, inherits what faultline
 * leaves behind) and never reaps what it inherits until it has looked; it
 * then checks /proc for 1 s.  Also: the target's parent is the sandbox's
 * init, and its exit code and signal still reach the report.
 *
 * Runs in the Criterion test process, single-threaded.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(sandbox, name, 120)

struct proc {
	pid_t pid, ppid;
	char state;
	char comm[32];
};

/* Every process of the machine now, from /proc/PID/stat; *n of them. */
static struct proc *procs_now(size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct proc *v = NULL;
	size_t cap = 0;

	*n = 0;
	cr_assert(d);
	while ((e = readdir(d))) {
		char path[64], buf[512], *open, *close;
		FILE *f;
		long pid = strtol(e->d_name, &close, 10);

		if (*close || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		open = strchr(buf, '(');
		close = strrchr(buf, ')');
		if (!open || !close)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			cr_assert(v);
		}
		v[*n].pid = (pid_t)pid;
		snprintf(v[*n].comm, sizeof(v[*n].comm), "%.*s",
			 (int)(close - open - 1), open + 1);
		if (sscanf(close + 1, " %c %d", &v[*n].state, &v[*n].ppid) != 2)
			continue;
		(*n)++;
	}
	closedir(d);
	return v;
}

/* Whether pid descends from top in v. */
static int descends(const struct proc *v, size_t n, pid_t pid, pid_t top)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		size_t i;

		for (i = 0; i < n && v[i].pid != pid; i++)
			;
		if (i == n)
			return 0;
		if (v[i].ppid == top)
			return 1;
		pid = v[i].ppid;
	}
	return 0;
}

/*
 * What of faultline (pid fl, a child of this process) is left in /proc, as
 * text into why: every descendant of this process but faultline's own
 * zombie and at most one zombie of the sandbox's init (the harness's
 * child: a process of the host's that no one can reap but its parent).
 * Returns how many processes that is.
 */
static int leftovers(pid_t fl, char *why, size_t len)
{
	size_t n;
	struct proc *v = procs_now(&n);
	pid_t me = getpid();
	int left = 0, inits = 0;
	size_t used = 0;

	why[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].pid == me || !descends(v, n, v[i].pid, me))
			continue;
		if (v[i].pid == fl && v[i].state == 'Z')
			continue;
		if (v[i].state == 'Z' && !strcmp(v[i].comm, "faultline-init") &&
		    !inits++)
			continue;
		left++;
		if (used < len)
			used += (size_t)snprintf(why + used, len - used,
						 " %d(%s %c ppid %d)", v[i].pid,
						 v[i].comm, v[i].state,
						 v[i].ppid);
	}
	free(v);
	return left;
}

/* How many descendants of pid are there now (not counting zombies). */
static int live_descendants(pid_t pid)
{
	size_t n;
	struct proc *v = procs_now(&n);
	int k = 0;

	for (size_t i = 0; i < n; i++)
		k += v[i].state != 'Z' && descends(v, n, v[i].pid, pid);
	free(v);
	return k;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Ends and reaps whatever this test started or inherited (what a failed
 * check left), and stops being a subreaper. */
static void cleanup(void)
{
	double until = now_s() + 10;

	while (now_s() < until) {
		size_t n;
		struct proc *v = procs_now(&n);
		pid_t me = getpid();
		int any = 0;

		for (size_t i = 0; i < n; i++) {
			if (v[i].pid != me && descends(v, n, v[i].pid, me)) {
				kill(v[i].pid, SIGKILL);
				any = 1;
			}
		}
		free(v);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!any && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
		usleep(10000);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

/*
 * Starts faultline (a target with a child of its own, a driver with one),
 * SIGKILLs it after delay_ms (or, delay_ms < 0, once the target and the
 * driver run), never waits for it, and checks that within 1 s nothing of
 * it is left but the two zombies leftovers() allows.
 */
static void kill_and_look(enum as_user u, int delay_ms)
{
	struct run_result r;
	char why[2048];
	char *argv[] = {FL_BIN, "run", "--timeout", "60s", "--driver",
			"sleep 60; true", "--", "/bin/sh", "-c",
			"sleep 60 & exec " FL_TARGETS "/echo_server -p 7000",
			NULL};
	pid_t fl;
	double t0, gone = -1;
	int left = -1;

	rr_init(&r);
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	fl = rr_spawn(&r, u, argv);
	cr_assert_gt(fl, 0);
	if (delay_ms >= 0) {
		usleep((useconds_t)delay_ms * 1000);
	} else {
		/* init, echo_server, its sleep, the driver's sh, its sleep */
		double until = now_s() + 20;

		while (live_descendants(fl) < 5 && now_s() < until)
			usleep(10000);
		if (live_descendants(fl) < 5) {
			cleanup();
			cr_assert_fail("faultline did not start its processes "
				       "within 20s\n%s", rr_read(&r, "stderr"));
		}
	}
	cr_assert_eq(kill(fl, SIGKILL), 0);
	t0 = now_s();
	while (now_s() - t0 < 1.0) {
		left = leftovers(fl, why, sizeof(why));
		if (left == 0) {
			gone = now_s() - t0;
			break;
		}
		usleep(5000);
	}
	if (left)
		left = leftovers(fl, why, sizeof(why));
	cleanup();
	cr_assert_eq(left, 0, "%s, killed after %d ms: %d processes left 1s "
		     "after the SIGKILL:%s", u == AS_ROOT ? "root" : "nobody",
		     delay_ms, left, why);
	cr_log_info("killed after %d ms: nothing left after %.3fs", delay_ms,
		    gone);
	rr_free(&r);
}

/* Killed with the target, its child, the driver and its child running. */
BOTH(sigkill_running)
{
	kill_and_look(u, -1);
}

/* Killed during setup: namespaces, the init, iptables, the first spawn. */
BOTH(sigkill_setup)
{
	static const int delays[] = {0, 2, 5, 8, 12, 16, 20, 25, 35, 50, 80};

	for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++)
		kill_and_look(u, delays[i]);
}

/* The target's parent is the sandbox's init (its PID 1), the driver's too;
 * the report keeps the target's pid in the sandbox and on the host, and its
 * exit code. */
BOTH(parent_is_init)
{
	struct run_result r;
	json_object *rep, *ex;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "expect exit 7\n", .timeout = "30s",
		.settle = "20s", .opts = "--ready-delay 100ms",
		.driver = "echo $PPID > {dir}/driver.ppid",
		.sh = "echo $PPID > {dir}/target.ppid; sleep 2; exit 7"});
	cr_assert_str_eq(rr_read(&r, "target.ppid"), "1\n", "%s%s", r.out,
			 r.err);
	cr_assert_str_eq(rr_read(&r, "driver.ppid"), "1\n");
	rep = rr_report(&r);
	cr_assert(rep);
	cr_assert(json_object_object_get_ex(json_object_object_get(rep, "target"),
					    "exit", &ex));
	cr_assert_eq(ji(ex, "code"), 7, "%s", r.out);
	cr_assert_gt(ji(ex, "pid"), 1);
	cr_assert_gt(ji(ex, "host_pid"), 0);
	cr_assert_neq(ji(ex, "pid"), ji(ex, "host_pid"));
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	json_object_put(rep);
	rr_free(&r);
}

/* A signal that ends the target reaches the report as the signal. */
BOTH(target_signal)
{
	struct run_result r;
	json_object *rep, *ex;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "expect signal SIGSEGV\n", .timeout = "30s",
		.settle = "100ms", .sh = "kill -SEGV $$"});
	rep = rr_report(&r);
	cr_assert(rep, "%s%s", r.out, r.err);
	cr_assert(json_object_object_get_ex(json_object_object_get(rep, "target"),
					    "exit", &ex));
	cr_assert_str_eq(js(ex, "signal"), "SIGSEGV", "%s", r.out);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	json_object_put(rep);
	rr_free(&r);
}

/* /proc/sys is read-only in the sandbox, for a root target too (most
 * sysctls check only the file's mode; all but the network namespace's are
 * the host's), and the harness's own settings were made before. */
BOTH(proc_sys_read_only)
{
	struct run_result r;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "expect exit 0\n", .timeout = "30s",
		.sh = "if (exec 3>>/proc/sys/net/ipv4/ip_unprivileged_port_start)"
		      " 2>/dev/null; then echo writable; else echo refused; fi"
		      " > {dir}/sys.out; "
		      "cat /proc/sys/net/ipv4/ip_unprivileged_port_start"
		      " >> {dir}/sys.out"});
	cr_assert_str_eq(rr_read(&r, "sys.out"), "refused\n0\n", "%s%s",
			 r.out, r.err);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	rr_free(&r);
}

/* What README's Security section says: root without --user runs the
 * target as uid 0 (no capabilities), and it keeps root's file access: it
 * reads a root-owned file of mode 0600 that uid 65534 cannot. */
BOTH(root_target_keeps_file_access)
{
	struct run_result r;
	const char *secret;
	FILE *f;

	rr_init(&r);
	secret = rr_path(&r, "secret");
	f = fopen(secret, "w");
	cr_assert(f);
	fputs("root's\n", f);
	fclose(f);
	cr_assert_eq(chmod(secret, 0600), 0);
	rr_faultline(&r, u, &(struct fl_args){
		.rules_text = "expect exit 0\n", .timeout = "30s",
		.sh = "id -u > {dir}/uid.out; cat {dir}/secret > {dir}/read.out"
		      " 2>/dev/null; true"});
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert_str_eq(rr_read(&r, "uid.out"), u == AS_ROOT ? "0\n" : "65534\n");
	cr_assert_str_eq(rr_read(&r, "read.out"), u == AS_ROOT ? "root's\n" : "");
	rr_free(&r);
}
