/*
 * run.c - one `faultline run`, from the parsed options and rules to the
 * exit status: enters the sandbox, binds the queue, installs the iptables
 * rules, starts the target, starts the driver once the target listens,
 * and runs one poll() loop over the queue, its timer, the shim's channel
 * and a signalfd through the phases (ready, driver, settle, term, kill)
 * until the run ends; then it judges and reports.  With --peer (a client
 * under test) the order turns round: the peer starts first, the target
 * once the peer listens, the run's main phase lasts until the target
 * exits, the settle follows the target's end, and the stop ends the peer
 * (which is then not a failure of the run).  It wires the modules
 * together; what a segment does, what a state is and what a check holds
 * is theirs.  Single-threaded.
 *
 * Termination signals (SIGINT, SIGTERM, SIGHUP) are caught in every
 * phase by one handler (signals.c), never blocked, so that
 * no open or write that waits (a FIFO, a full pipe, a stuck terminal)
 * can make faultline deaf to them.  While the event loop runs, the first
 * one stops the target gracefully and the second kills it (the handler
 * only writes to a self-pipe the loop polls); a third, or any one before
 * the loop or after it (judging, writing the reports), ends faultline at
 * once with a message, by that signal.  The outputs are all opened
 * before the sandbox is entered (files.c: no FIFO is waited for), so a
 * bad path costs no run and /dev/stdout or /dev/fd/N name the caller's.
 * An output that is "-" (or -q's result line) keeps stdout to itself: the
 * rest that would go there, the target's output too, goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "calls.h"
#include "capture.h"
#include "cover.h"
#include "checks.h"
#include "clock.h"
#include "diag.h"
#include "files.h"
#include "owner.h"
#include "nfq.h"
#include "report.h"
#include "rules.h"
#include "run.h"
#include "signals.h"
#include "sandbox.h"
#include "shim.h"
#include "states.h"
#include "timeline.h"
#include "trace.h"
#include "watch.h"

#define FL_MARK 0x464c0001u /* "FL": segments the engine injected */

/* PH_READY: waiting for the target's listener (with --peer: the peer's);
 * PH_DRIVER: the driver runs (with --peer: the target). */
enum phase { PH_READY, PH_DRIVER, PH_SETTLE, PH_TERM, PH_KILL, PH_DONE };

struct run {
	const struct fl_run_opts *o;
	const struct fl_ruleset *rs;
	struct fl_sandbox *sb;
	struct fl_engine *eng;
	struct fl_sdiag *diag;
	struct fl_owner *owner;
	struct fl_calls *calls;
	struct fl_cover_db *cover; /* whose calls were observed (cover.h) */
	struct fl_states *states;
	struct fl_watch *watch;     /* the states kept current (watch.h) */
	struct fl_sdiag_stats diag_sampler; /* what the sampler asked */
	uint64_t next_progress_ns; /* 0 = no progress lines */
	char *env[4];           /* LD_PRELOAD=..., FAULTLINE_SOCK=..., NULL */
	struct fl_trace *trace;
	struct fl_timeline *tl; /* the engine's sink: trace, ladder, facts */
	struct fl_capture *capture; /* --pcap's file, or NULL */
	struct fl_run_facts facts;
	uint64_t seed;
	pid_t target, driver, peer;
	enum phase phase;
	uint64_t deadline_ns;   /* of the current phase, 0 = none */
	uint64_t end_ns;        /* --timeout, 0 = none */
	uint64_t next_poll_ns;  /* readiness polling */
	uint64_t settle_from_ns; /* when the driver (with --peer: the target)
				  * ended */
	int *alive;             /* sandbox pids alive at the stop */
	size_t nalive;
	int sfd;
};

static uint64_t ms_to_ns(uint64_t ms)
{
	return ms * 1000000u;
}

/* ---- termination signals ---- */

/*
 * Keeps stdout for one output alone ("-" as --report, --junit, --trace,
 * --pcap or --html, or the result line of -q): the output gets a
 * duplicate of fd 1, and fd 1 becomes stderr, so that everything else written to stdout goes there:
 * the text report, and the target, driver and peer, which are spawned
 * with the harness's stdout.  Returns the stream (the caller fcloses it),
 * or NULL with errno set.
 */
static FILE *take_stdout(void)
{
	FILE *f = NULL;
	int fd, e;

	fflush(stdout);
	fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return NULL;
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || !(f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

/* Opens the output opt names (files.c: never waits for a FIFO's reader;
 * "-": stdout, take_stdout()); 0, or -errno after a message. */
static int open_output(const char *opt, const char *path, FILE **f)
{
	char why[256];

	if (!strcmp(path, "-")) {
		*f = take_stdout();
		if (*f)
			return 0;
		fprintf(stderr, "faultline: %s -: stdout: %s\n", opt,
			strerror(errno));
		return -EINVAL;
	}
	*f = fl_output_open(path);
	if (*f)
		return 0;
	fl_output_strerror(path, errno, why, sizeof(why));
	fprintf(stderr, "faultline: %s %s: %s\n", opt, path, why);
	return -EINVAL;
}

/* Closes an output open_output() opened; 0, or -1 after a message (a
 * write error may show only at the close). */
static int close_output(const char *opt, const char *path, FILE *f, int err)
{
	if (!f)
		return 0;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err)
		return 0;
	fprintf(stderr, "faultline: %s %s: write error: %s\n", opt, path,
		strerror(-err));
	return -1;
}

/* calls.h: whose a refused operation was (the driver has the shim too
 * under --preload-driver). */
static int denial_role(void *ctx, int pid)
{
	struct run *r = ctx;

	switch (fl_owner_role(r->owner, pid)) {
	case FL_ROLE_TARGET:
		return FL_DENIAL_TARGET;
	case FL_ROLE_DRIVER:
		return FL_DENIAL_DRIVER;
	case FL_ROLE_PEER:
		return FL_DENIAL_PEER;
	case FL_ROLE_NONE:
		break;
	}
	return FL_DENIAL_UNKNOWN;
}

static void stop_processes(struct run *r, int sig)
{
	if (r->target > 0 && !r->facts.target.ended)
		kill(-r->target, sig);
	if (r->driver > 0 && !r->facts.driver.ended)
		kill(-r->driver, sig);
	if (r->peer > 0 && !r->facts.peer.ended)
		kill(-r->peer, sig);
}

static int start_driver(struct run *r, char *err, size_t errlen)
{
	char *argv[] = {"/bin/sh", "-c", (char *)r->o->driver, NULL};
	pid_t pid = fl_sandbox_spawn(r->sb, argv,
				     r->o->preload_driver ? r->env : NULL, err,
				     errlen);

	if (pid < 0)
		return (int)pid;
	r->driver = pid;
	fl_owner_set_root(r->owner, FL_ROLE_DRIVER, pid);
	r->facts.driver.started = 1;
	r->facts.driver.pid = pid;
	r->facts.driver.ns_pid = fl_owner_ns_pid(r->owner, FL_ROLE_DRIVER);
	fl_trace_proc(r->trace, fl_clock_now_rel_ns(), r->facts.driver.ns_pid,
		      pid, "driver", "start", -1, 0);
	r->phase = PH_DRIVER;
	r->deadline_ns = 0;
	return 0;
}

/* --peer: the peer first, as the driver is started (through /bin/sh,
 * the shim only with --preload-driver); the target follows once it
 * listens. */
static int start_peer(struct run *r, char *err, size_t errlen)
{
	char *argv[] = {"/bin/sh", "-c", (char *)r->o->peer, NULL};
	pid_t pid = fl_sandbox_spawn(r->sb, argv,
				     r->o->preload_driver ? r->env : NULL, err,
				     errlen);

	if (pid < 0)
		return (int)pid;
	r->peer = pid;
	fl_owner_set_root(r->owner, FL_ROLE_PEER, pid);
	r->facts.peer.started = 1;
	r->facts.peer.pid = pid;
	r->facts.peer.ns_pid = fl_owner_ns_pid(r->owner, FL_ROLE_PEER);
	fl_trace_proc(r->trace, fl_clock_now_rel_ns(), r->facts.peer.ns_pid,
		      pid, "peer", "start", -1, 0);
	return 0;
}

static int start_target(struct run *r, char *err, size_t errlen)
{
	pid_t pid = fl_sandbox_spawn_target(r->sb, r->o->argv, r->env, err,
					    errlen);

	if (pid < 0)
		return (int)pid;
	r->target = pid;
	r->facts.target.started = 1;
	r->facts.target.pid = pid;
	fl_owner_set_root(r->owner, FL_ROLE_TARGET, pid);
	r->facts.target.ns_pid = fl_owner_ns_pid(r->owner, FL_ROLE_TARGET);
	fl_trace_proc(r->trace, fl_clock_now_rel_ns(), r->facts.target.ns_pid,
		      pid, "target", "start", -1, 0);
	return 0;
}

/* The sandbox's processes now (its /proc is the harness's). */
static void snapshot_alive(struct run *r)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t cap = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t pid;

		if (fl_parse_u64(e->d_name, &pid) < 0 || pid > INT_MAX)
			continue;
		if (r->nalive == cap) {
			int *v = realloc(r->alive, (cap = cap ? cap * 2 : 64) *
						   sizeof(*v));

			if (!v)
				break;
			r->alive = v;
		}
		r->alive[r->nalive++] = (int)pid;
	}
	closedir(d);
}

/* Begins stopping the target: SIGTERM now, SIGKILL after the grace.  From
 * now on, what the target's sockets do is the stop's doing. */
static void begin_stop(struct run *r)
{
	uint64_t now = fl_clock_now_rel_ns();

	if (r->facts.peer.started && !r->facts.peer.ended) {
		/* The peer's end is the stop's doing, never a failure. */
		r->facts.peer_stop_ns = now;
		fl_trace_note(r->trace, now, "stop", "faultline sends SIGTERM to "
			      "the peer");
	}
	if (r->facts.target.started && !r->facts.target.ended) {
		r->facts.killed_by_harness = 1;
		r->facts.stop_ns = now;
		fl_states_set_stop(r->states, now);
		snapshot_alive(r);
		fl_trace_note(r->trace, now, "stop", "faultline sends SIGTERM to "
			      "the target; state changes from here on are the "
			      "stop's doing");
	}
	/* cover: the last look at the shim's channels, before they close */
	fl_calls_process(r->calls, fl_engine_flows(r->eng), r->trace);
	fl_cover_final(r->cover, r->calls, r->owner, fl_engine_flows(r->eng), now);
	stop_processes(r, SIGTERM);
	r->phase = PH_TERM;
	r->deadline_ns = now + r->o->grace_ns;
}

/* Whether what PH_READY waits for is there: 1 yes, 0 not yet, -1 the
 * --ready-timeout ran out (the driver is started anyway; with --peer the
 * target is not started at all: its server never came). */
static int is_ready(struct run *r)
{
	uint64_t now = fl_clock_now_rel_ns();
	int n;

	if (r->o->have_ready_delay)
		return now >= r->o->ready_delay_ns;
	if (now >= r->o->ready_timeout_ns)
		return -1;
	n = fl_sdiag_count_listeners(r->diag, r->o->ready_port);
	return n > 0;
}

/* PH_READY with --peer: the target starts once the peer listens; a peer
 * that ends first, or does not listen within --ready-timeout, ends the
 * run there (the peer check says why).  0, or -errno with err set. */
static int wait_peer(struct run *r, char *err, size_t errlen)
{
	const char *port = r->o->ready_port ? " on the --ready-port" : "";
	char how[64];
	int ready;

	if (r->facts.peer.ended) {
		r->facts.peer_unready = FL_PEER_ENDED;
		fl_exit_describe(&r->facts.peer, how, sizeof(how));
		fprintf(stderr, "faultline: the peer ended (%s) before it "
			"listened%s; the target was not started\n", how, port);
		r->phase = PH_DONE;
		return 0;
	}
	ready = is_ready(r);
	if (ready < 0) {
		r->facts.peer_unready = FL_PEER_NEVER_LISTENED;
		fprintf(stderr, "faultline: the peer did not listen%s within "
			"%.1fs (--ready-timeout); the target was not started\n",
			port, (double)r->o->ready_timeout_ns / 1e9);
		begin_stop(r);
		return 0;
	}
	if (!ready)
		return 0;
	r->phase = PH_DRIVER;
	return start_target(r, err, errlen);
}

static void on_child_exit(struct run *r, pid_t pid, int st)
{
	struct fl_exit *x;
	const char *role;
	uint64_t now = fl_clock_now_rel_ns();

	if (pid == r->target) {
		x = &r->facts.target;
		role = "target";
	} else if (pid == r->driver) {
		x = &r->facts.driver;
		role = "driver";
	} else if (pid == r->peer) {
		x = &r->facts.peer;
		role = "peer";
	} else {
		return;
	}
	x->ended = 1;
	x->t_ns = now;
	if (WIFSIGNALED(st))
		x->sig = WTERMSIG(st);
	else
		x->code = WEXITSTATUS(st);
	fl_trace_proc(r->trace, now, x->ns_pid, pid, role, "exit",
		      x->sig ? -1 : x->code, x->sig);
	if (r->o->verbose)
		fprintf(stderr, "faultline: %s (pid %d) ended at %.3fs\n", role,
			pid, (double)now / 1e9);
}

/* What the checks judge, as far as the run has got. */
static void refresh_facts(struct run *r)
{
	fl_calls_process(r->calls, fl_engine_flows(r->eng), r->trace);
	r->facts.calls = fl_calls_get(r->calls, &r->facts.ncalls);
	r->facts.calls_linked = fl_calls_linked(r->calls);
	r->facts.flows = fl_engine_flows(r->eng);
	r->facts.states = r->states;
	r->facts.end_ns = fl_clock_now_rel_ns();
}

/* The settle time is over: stop the target, unless a check's window is
 * still open or a faulted flow is mid-teardown; then look again soon. */
static void settle_or_stop(struct run *r, uint64_t now)
{
	char why[sizeof(r->facts.settle_why)];
	uint64_t until;

	refresh_facts(r);
	until = fl_checks_undecided(&r->facts, now, why, sizeof(why));
	if (until > now) {
		if (!r->facts.settle_why[0] && r->o->verbose)
			fprintf(stderr, "faultline: keeping the target running: "
				"%s\n", why);
		memcpy(r->facts.settle_why, why, sizeof(why));
		r->deadline_ns = now + 10000000u < until ? now + 10000000u : until;
		return;
	}
	r->facts.settle_ns = now - r->settle_from_ns;
	begin_stop(r);
}

static void advance(struct run *r)
{
	uint64_t now = fl_clock_now_rel_ns();
	int t_done = r->facts.target.ended;
	int d_done = !r->facts.driver.started || r->facts.driver.ended;
	int p_done = !r->facts.peer.started || r->facts.peer.ended;
	/* What is to end last: the target (the peer, with --peer). */
	const struct fl_exit *last = r->o->peer ? &r->facts.peer
						: &r->facts.target;

	if (r->phase == PH_DONE)
		return;
	if ((t_done || !r->facts.target.started) && d_done && p_done &&
	    (r->facts.target.started || r->facts.peer.started)) {
		/* It ended by itself while faultline waited for windows. */
		if (r->phase == PH_SETTLE)
			r->facts.settle_ns = last->t_ns - r->settle_from_ns;
		r->phase = PH_DONE;
		return;
	}
	if (r->end_ns && now >= r->end_ns && r->phase < PH_TERM) {
		if (r->phase == PH_SETTLE && r->facts.settle_why[0]) {
			/* Waiting for windows: what is left is not judged. */
			r->facts.settle_cut = 1;
			r->facts.settle_ns = now - r->settle_from_ns;
			fprintf(stderr, "faultline: --timeout reached while %s; "
				"stopping\n", r->facts.settle_why);
		} else {
			r->facts.timed_out = 1;
			fprintf(stderr, "faultline: --timeout reached; stopping\n");
		}
		begin_stop(r);
		return;
	}
	switch (r->phase) {
	case PH_READY:
		if (t_done && !r->o->peer) {
			/* The target ended before it listened: no driver. */
			r->phase = PH_DONE;
		}
		break;
	case PH_DRIVER:
		if (r->o->peer) {
			/* The target is the test: its end begins the settle;
			 * the peer ending first changes nothing here. */
			if (t_done) {
				r->phase = PH_SETTLE;
				r->settle_from_ns = now;
				r->deadline_ns = now + r->o->settle_ns;
			}
		} else if (r->facts.driver.ended) {
			r->phase = PH_SETTLE;
			r->settle_from_ns = now;
			r->deadline_ns = now + r->o->settle_ns;
		} else if (t_done && !r->deadline_ns) {
			/* Give the driver its settle time to notice. */
			r->deadline_ns = now + r->o->settle_ns + r->o->grace_ns;
		} else if (t_done && now >= r->deadline_ns) {
			begin_stop(r);
		}
		break;
	case PH_SETTLE:
		if (now >= r->deadline_ns)
			settle_or_stop(r, now);
		break;
	case PH_TERM:
		if (now >= r->deadline_ns) {
			stop_processes(r, SIGKILL);
			r->phase = PH_KILL;
			r->deadline_ns = now + ms_to_ns(2000);
		}
		break;
	case PH_KILL:
		if (now >= r->deadline_ns)
			r->phase = PH_DONE; /* unkillable: give up waiting */
		break;
	case PH_DONE:
		break;
	}
}

static int poll_timeout_ms(struct run *r)
{
	uint64_t now = fl_clock_now_rel_ns();
	uint64_t next = UINT64_MAX;

	if (fl_watch_busy(r->watch))
		return 0; /* lookups left: go on when the queue is idle */
	if (r->phase == PH_READY)
		return 5;
	next = fl_watch_next_ns(r->watch);
	if (r->deadline_ns && r->deadline_ns < next)
		next = r->deadline_ns;
	if (r->next_progress_ns && r->next_progress_ns < next)
		next = r->next_progress_ns;
	if (r->end_ns && r->end_ns < next)
		next = r->end_ns;
	if (next == UINT64_MAX)
		return 1000;
	if (next <= now)
		return 0;
	/* A far deadline (--timeout 1000000s) is looked at again each
	 * second rather than overflowing poll's int. */
	if (next - now >= 1000000000u)
		return 1000;
	return (int)((next - now) / 1000000u) + 1;
}

/* A line on stderr every few seconds of a long run (terminal or -v). */
static void progress(struct run *r)
{
	struct fl_engine_stats st;
	const struct fl_flow_table *t = fl_engine_flows(r->eng);
	uint64_t faults = 0;

	fl_engine_get_stats(r->eng, &st);
	for (uint32_t id = 1; id <= fl_flow_count(t); id++)
		faults += fl_flow_get(t, id)->faults;
	fprintf(stderr, "faultline: %.0fs: %zu flows, %llu segments queued, "
		"%llu faults, at most %zu held at once\n",
		(double)fl_clock_now_rel_ns() / 1e9, fl_flow_count(t),
		(unsigned long long)st.packets, (unsigned long long)faults,
		(size_t)st.max_held);
	r->next_progress_ns = fl_clock_now_rel_ns() + 5000000000ull;
}

/* Nonzero when a segment or a release waits: the sampler yields. */
static int queue_waiting(void *ctx)
{
	struct run *r = ctx;
	struct pollfd p[2] = {{.fd = fl_engine_fd(r->eng), .events = POLLIN},
			      {.fd = fl_engine_timer_fd(r->eng), .events = POLLIN}};

	return poll(p, 2, 0) > 0;
}

/* The states kept current, with what the engine has seen so far. */
static void watch_turn(struct run *r)
{
	struct fl_engine_stats st;

	fl_engine_get_stats(r->eng, &st);
	fl_watch_turn(r->watch, fl_engine_flows(r->eng), st.packets,
		      queue_waiting, r);
}

/* The termination signals the handler passed on: the first stops the
 * target, the second kills it. */
static void handle_term(struct run *r)
{
	for (int n = fl_signals_take(); n > 0; n--) {
		if (r->facts.interrupted)
			stop_processes(r, SIGKILL);
		r->facts.interrupted = 1;
		if (r->phase < PH_TERM)
			begin_stop(r);
	}
}

/* The children that ended: the sandbox's init reports the target's and the
 * driver's exits (fl_sandbox_wait()); SIGCHLD is only drained. */
static int handle_signals(struct run *r)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	while (fl_sandbox_wait(r->sb, &pid, &st) > 0)
		on_child_exit(r, pid, st);
	return 0;
}

/* Whether a process other than the sandbox's PID 1 (its reaper) is still
 * there (the harness's /proc is the sandbox's). */
static int others_alive(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while (!n && (e = readdir(d))) {
		uint64_t pid;

		n = fl_parse_u64(e->d_name, &pid) == 0 && pid > 1;
	}
	closedir(d);
	return n;
}

/* Whether the queue has ever had a segment, those waiting in it included.
 * Every SYN is queued whatever the rules, so none means that no TCP
 * connection was ever made in the sandbox. */
static int segments_ever(struct run *r)
{
	struct fl_engine_stats st;

	fl_engine_process(r->eng);
	fl_engine_get_stats(r->eng, &st);
	return st.packets > 0 || st.enobufs > 0;
}

static int event_loop(struct run *r, char *err, size_t errlen)
{
	struct pollfd pfd[6];
	int ret;

	pfd[0].fd = fl_engine_fd(r->eng);
	pfd[1].fd = fl_engine_timer_fd(r->eng);
	pfd[2].fd = r->sfd;
	pfd[3].fd = fl_calls_fd(r->calls);
	pfd[4].fd = fl_signals_fd();
	pfd[5].fd = fl_sandbox_fd(r->sb); /* the target's and driver's exits */
	for (int i = 0; i < 6; i++)
		pfd[i].events = POLLIN;

	while (r->phase != PH_DONE) {
		int n = poll(pfd, 6, poll_timeout_ms(r));

		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -errno;
		}
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			ret = fl_engine_process(r->eng);
			if (ret < 0) {
				snprintf(err, errlen, "reading the queue: %s",
					 strerror(-ret));
				return ret;
			}
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			fl_engine_timer(r->eng);
		if (n > 0 && (pfd[3].revents & POLLIN))
			fl_calls_process(r->calls, fl_engine_flows(r->eng),
					 r->trace);
		if ((n > 0 && ((pfd[2].revents | pfd[5].revents) & POLLIN)) ||
		    fl_sandbox_pending(r->sb))
			handle_signals(r);
		if (n > 0 && (pfd[4].revents & POLLIN))
			handle_term(r);
		if (n > 0 && (pfd[5].revents & (POLLHUP | POLLERR)))
			pfd[5].fd = -1; /* the init is gone: no exit will come */
		fl_cover_poll(r->cover, r->calls, r->owner, /* cover */
			      fl_engine_flows(r->eng), fl_clock_now_rel_ns());
		fl_trace_tick(r->trace); /* a quiet run's last events reach the file */
		fl_capture_tick(r->capture, fl_clock_now_rel_ns());
		if (r->next_progress_ns && fl_clock_now_rel_ns() >= r->next_progress_ns)
			progress(r);
		watch_turn(r);
		if (r->phase == PH_READY && r->o->peer) {
			ret = wait_peer(r, err, errlen);
			if (ret < 0)
				return ret;
		} else if (r->phase == PH_READY && !r->facts.target.ended &&
			   r->o->driver && (ret = is_ready(r)) != 0) {
			if (ret < 0)
				fprintf(stderr, "faultline: the target did not "
					"listen%s within %.1fs; starting the "
					"driver anyway\n", r->o->ready_port ?
					" on the --ready-port" : "",
					(double)r->o->ready_timeout_ns / 1e9);
			ret = start_driver(r, err, errlen);
			if (ret < 0)
				return ret;
		} else if (r->phase == PH_READY && !r->o->driver) {
			r->phase = PH_DRIVER; /* nothing to wait for */
		}
		advance(r);
	}
	/* The processes are gone, but their sockets may still be closing:
	 * keep serving the queue (delays included) until it has been quiet
	 * for 20ms, for at most 300ms, so the closing handshakes finish
	 * (no wait for quiet when no segment was ever queued). */
	{
		uint64_t stop = fl_clock_now_rel_ns() + 300000000u;
		uint64_t quiet = fl_clock_now_rel_ns() + 20000000u;
		uint64_t last = fl_clock_now_rel_ns() + 1000000000u;
		int killed = 0;

		/* Processes the roots left behind (a driver's curl whose shell
		 * is gone) are ended too, and what their exit sends is seen. */
		while (fl_clock_now_rel_ns() < last && others_alive()) {
			int n = poll(pfd, 2, 5);

			if (!killed++) {
				if (r->target > 0)
					kill(-r->target, SIGKILL);
				if (r->driver > 0)
					kill(-r->driver, SIGKILL);
				if (r->peer > 0)
					kill(-r->peer, SIGKILL);
			}
			if (n > 0 && (pfd[0].revents & POLLIN))
				fl_engine_process(r->eng);
			if (n > 0 && (pfd[1].revents & POLLIN))
				fl_engine_timer(r->eng);
			while (fl_sandbox_wait(r->sb, &(pid_t){0}, &(int){0}) > 0)
				;
		}
		if (!segments_ever(r))
			quiet = 0; /* no connection was made: none is closing */
		while (fl_clock_now_rel_ns() < stop &&
		       (fl_engine_held(r->eng) || fl_clock_now_rel_ns() < quiet)) {
			int n = poll(pfd, 2, 5);

			if (n > 0 && (pfd[0].revents & POLLIN)) {
				fl_engine_process(r->eng);
				quiet = fl_clock_now_rel_ns() + 20000000u;
			}
			if (n > 0 && (pfd[1].revents & POLLIN))
				fl_engine_timer(r->eng);
		}
	}
	/* Let the last segments through so nothing waits on us. */
	fl_engine_process(r->eng);
	fl_engine_release_all(r->eng);
	fl_calls_process(r->calls, fl_engine_flows(r->eng), r->trace);
	fl_watch_finish(r->watch, fl_engine_flows(r->eng), &r->diag_sampler);
	fl_states_look_all(r->states, fl_engine_flows(r->eng), r->trace,
			   fl_clock_now_rel_ns());
	return 0;
}

/* Opens the event channel and builds the environment that loads the shim. */
static int setup_shim(struct run *r, const char *preload, char *err,
		      size_t errlen)
{
	char name[64];
	int ret;

	ret = fl_calls_new(&r->calls, name, sizeof(name), err, errlen);
	if (ret < 0)
		return ret;
	fl_calls_set_proc(r->calls, fl_sandbox_host_proc(r->sb));
	fl_calls_set_role(r->calls, denial_role, r);
	return fl_shim_env(preload, name, r->o->no_preload, r->env, err,
			   errlen);
}

static void observe_segment(void *ctx, const struct fl_seg_event *ev)
{
	struct run *r = ctx;

	if (r->states)
		fl_states_segment(r->states, ev, r->trace);
}

static enum fl_side resolve_side(void *ctx, const struct fl_flow *f)
{
	struct run *r = ctx;

	return fl_owner_target_side(r->owner, f);
}

static void collect_ports(const struct fl_ruleset *rs, struct fl_sandbox_cfg *c,
			  uint16_t *ports, int queue_all)
{
	c->queue_all = queue_all;
	c->nports = 0;
	for (size_t i = 0; rs && i < rs->nrules; i++) {
		const struct fl_rule *rule = &rs->rules[i];

		if (!fl_rule_needs_data_segments(rule))
			continue;
		if (!rule->port || c->nports == 64) {
			c->queue_all = 1;
			continue;
		}
		ports[c->nports++] = rule->port;
	}
	c->ports = ports;
}

int fl_run(struct fl_run_opts o)
{
	struct run r = {0};
	struct fl_sandbox_cfg scfg = {0};
	struct fl_engine_cfg ecfg = {0};
	struct fl_check_result *checks = NULL;
	struct fl_dead_peer *dead_peers = NULL;
	uint64_t *acted = NULL;
	size_t nchecks = 0;
	struct fl_report rep = {0};
	struct fl_report_out rout = {0};
	FILE *report_f = NULL, *junit_f = NULL, *pcap_f = NULL, *text_f = NULL;
	FILE *html_f = NULL;
	uint16_t ports[64];
	char preload_path[PATH_MAX] = "", samples[PATH_MAX];
	char err[1024] = "";
	int status = EXIT_ENV;
	int ret;
	sigset_t mask;
	/* An output on stdout ("-"): it has stdout alone (take_stdout()). */
	int dash = (o.report && !strcmp(o.report, "-")) ||
		   (o.junit && !strcmp(o.junit, "-")) ||
		   (o.trace && !strcmp(o.trace, "-")) ||
		   (o.pcap && !strcmp(o.pcap, "-")) ||
		   (o.html && !strcmp(o.html, "-"));

	r.o = &o;
	r.target = r.driver = r.peer = -1;
	r.sfd = -1;
	r.rs = o.rs;
	if (o.have_seed)
		r.seed = o.seed;
	else if (r.rs->has_seed)
		r.seed = r.rs->seed;
	else {
		if (getrandom(&r.seed, sizeof(r.seed), 0) != sizeof(r.seed))
			r.seed = fl_clock_ns();
		/* Below 2^53: exact as a JSON number in jq and JavaScript too. */
		r.seed &= (1ull << 53) - 1;
	}
	r.facts.rs = r.rs;
	r.facts.have_driver = o.driver != NULL;
	r.facts.have_peer = o.peer != NULL;
	r.facts.ready_timeout_ns = o.ready_timeout_ns;
	r.facts.timeout_ns = o.timeout_ns;
	r.facts.eng.queue_dropped = r.facts.eng.user_dropped = -1;

	/* Every output before the run: a path that cannot be written costs
	 * no run, and none is opened inside the sandbox's mounts. */
	if (o.trace && !strcmp(o.trace, "-")) {
		/* stdout for the trace alone: JSON Lines, nothing else. */
		FILE *tf;

		if (open_output("--trace", "-", &tf) < 0) {
			status = EXIT_USAGE;
			goto out;
		}
		r.trace = fl_trace_open_stream(tf);
		if (!r.trace) {
			fclose(tf);
			fprintf(stderr, "faultline: out of memory\n");
			status = EXIT_USAGE;
			goto out;
		}
	} else if (o.trace) {
		r.trace = fl_trace_open(o.trace);
		if (!r.trace) {
			char why[256];

			fl_output_strerror(o.trace, errno, why, sizeof(why));
			fprintf(stderr, "faultline: --trace %s: %s\n", o.trace, why);
			status = EXIT_USAGE;
			goto out;
		}
	}
	if ((o.report && open_output("--report", o.report, &report_f) < 0) ||
	    (o.junit && open_output("--junit", o.junit, &junit_f) < 0) ||
	    (o.pcap && open_output("--pcap", o.pcap, &pcap_f) < 0) ||
	    (o.html && open_output("--html", o.html, &html_f) < 0) ||
	    (o.quiet && !dash && open_output("-q", "-", &text_f) < 0)) {
		status = EXIT_USAGE;
		goto out;
	}
	if (pcap_f) {
		ret = fl_capture_open(&r.capture, pcap_f, err, sizeof(err));
		pcap_f = NULL; /* the capture's, even on an error */
		if (ret < 0) {
			fprintf(stderr, "faultline: --pcap %s: %s\n", o.pcap,
				ret == -ENOMEM ? "out of memory" : err);
			status = EXIT_USAGE;
			goto out;
		}
	}

	/* SIGCHLD arrives through the signalfd; the termination signals
	 * through their handler (signals.c). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	scfg.mtu = o.mtu;
	scfg.queue_num = 0;
	scfg.mark = FL_MARK;
	scfg.verbose = o.verbose;
	collect_ports(r.rs, &scfg, ports, o.queue_all);
	scfg.keep_caps = o.keep_caps;
	/* What the target's refusals mean depends on it (denied.h). */
	r.facts.denial_ctx = (struct fl_denial_ctx){
		.userns = geteuid() != 0, .uid = (unsigned)geteuid(),
		.gid = (unsigned)getegid(), .keep_caps = o.keep_caps};
	if (o.have_user) {
		scfg.have_user = 1;
		scfg.uid = o.uid;
		scfg.gid = o.gid;
	} else if (geteuid() == 0 && getenv("SUDO_UID")) {
		uint64_t u, g;

		if (fl_parse_u64(getenv("SUDO_UID"), &u) == 0 &&
		    fl_parse_u64(getenv("SUDO_GID") ? getenv("SUDO_GID") : "",
				 &g) == 0) {
			scfg.have_user = 1;
			scfg.uid = (uid_t)u;
			scfg.gid = (gid_t)g;
		}
	}
	/* A missing shim is the environment's fault (exit 3), never a run
	 * whose call checks quietly go unjudged. */
	ret = fl_shim_find(o.preload, o.no_preload, preload_path,
			   sizeof(preload_path), err, sizeof(err));
	if (ret < 0)
		goto env_error;
	/* The run's commands find the sample programs through it; the
	 * harness's environment is what every spawn inherits.  One given
	 * is kept. */
	if (fl_samples_dir(samples, sizeof(samples)) == 0)
		setenv("FAULTLINE_SAMPLES", samples, 0);
	ret = fl_sandbox_enter(&r.sb, &scfg, err, sizeof(err));
	if (ret < 0)
		goto env_error;
	ecfg.rs = r.rs;
	ecfg.seed = r.seed;
	ecfg.queue_num = scfg.queue_num;
	ecfg.mark = FL_MARK;
	ecfg.verbose = o.verbose;
	ecfg.proc_fd = fl_sandbox_host_proc(r.sb);
	ecfg.resolve_side = resolve_side;
	ecfg.resolve_ctx = &r;
	ecfg.sink = fl_timeline_segment;
	ret = fl_sdiag_new(&r.diag);
	if (ret < 0) {
		snprintf(err, sizeof(err), "cannot open NETLINK_SOCK_DIAG: %s "
			 "(the kernel needs CONFIG_INET_DIAG)", strerror(-ret));
		goto env_error;
	}
	ret = fl_states_new(&r.states, r.diag);
	if (ret == 0)
		ret = fl_watch_new(&r.watch, r.states, r.trace, err,
				   sizeof(err));
	if (ret == 0)
		ret = fl_owner_new(&r.owner, r.diag, fl_sandbox_host_proc(r.sb));
	if (ret == 0)
		ret = fl_cover_new(&r.cover);
	if (ret == 0)
		ret = fl_timeline_new(&r.tl, &(struct fl_timeline_cfg){
			.rs = r.rs, .trace = r.trace, .capture = r.capture,
			.observe = observe_segment, .observe_ctx = &r});
	ecfg.sink_ctx = r.tl;
	r.facts.timeline = r.tl;
	if (ret < 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "out of memory");
		goto env_error;
	}
	ret = fl_engine_new(&r.eng, &ecfg, err, sizeof(err));
	if (ret < 0)
		goto env_error;
	ret = setup_shim(&r, preload_path, err, sizeof(err));
	if (ret < 0)
		goto env_error;
	ret = fl_sandbox_install_queue(r.sb, err, sizeof(err));
	if (ret < 0)
		goto env_error;
	if (o.verbose)
		fprintf(stderr, "faultline: sandbox ready (iptables-%s), seed "
			"%llu\n", fl_sandbox_backend(r.sb),
			(unsigned long long)r.seed);

	fl_clock_start();
	{
		/* The pcap's wall-clock times: the run's start, read once
		 * (CLOCK_REALTIME may step later; the segments' order and
		 * spacing are the monotonic clock's). */
		struct timespec wall;

		clock_gettime(CLOCK_REALTIME, &wall);
		fl_capture_set_epoch(r.capture,
				     (uint64_t)wall.tv_sec * 1000000000u +
					     (uint64_t)wall.tv_nsec -
					     fl_clock_now_rel_ns());
	}
	fl_trace_run(r.trace, FL_VERSION, r.seed, o.argv, o.rule_files,
		     o.nrule_files);
	r.end_ns = o.timeout_ns;
	fl_signals_graceful(1, NULL); /* the loop stops the target */
	ret = o.peer ? start_peer(&r, err, sizeof(err))
		     : start_target(&r, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	r.phase = PH_READY;
	if (isatty(STDERR_FILENO) || o.verbose)
		r.next_progress_ns = 5000000000ull;
	ret = event_loop(&r, err, sizeof(err));
	handle_term(&r); /* one that came while the loop wound down */
	if (ret < 0 && r.phase == PH_DRIVER && o.peer && !r.facts.target.started) {
		/* The peer listened, but the target could not be started. */
		fprintf(stderr, "faultline: %s\n", err);
		stop_processes(&r, SIGKILL);
		status = EXIT_USAGE;
		goto out;
	}
	fl_signals_graceful(0, " while faultline judged the run and wrote the "
			 "reports: ending now; they may be incomplete\n");
	if (ret < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		stop_processes(&r, SIGKILL);
		status = EXIT_ENV;
		goto out;
	}

	fl_engine_read_kernel_stats(r.eng);
	fl_engine_get_stats(r.eng, &r.facts.eng);
	r.facts.end_ns = fl_clock_now_rel_ns();
	r.facts.calls = fl_calls_get(r.calls, &r.facts.ncalls);
	r.facts.calls_linked = fl_calls_linked(r.calls);
	r.facts.shim_loaded = fl_calls_shimmed(r.calls) > 0;
	r.facts.shim_wanted = r.env[0] != NULL;
	r.facts.calls_lost = fl_calls_lost(r.calls);
	if (r.calls)
		r.facts.denials = fl_calls_denials(r.calls, &r.facts.ndenials);
	fl_cover_finish(r.cover, r.calls, r.owner, fl_engine_flows(r.eng));
	r.facts.cover = r.cover;
	r.facts.flows = fl_engine_flows(r.eng);
	r.facts.time_wait = fl_states_time_wait(r.states, fl_engine_flows(r.eng));
	r.facts.states = r.states;
	r.facts.alive_at_stop = r.alive;
	r.facts.nalive = r.nalive;
	r.facts.acted = acted = calloc(r.rs->nrules ? r.rs->nrules : 1, sizeof(*acted));
	if (!acted) {
		fprintf(stderr, "faultline: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < r.rs->nrules; i++)
		acted[i] = fl_engine_rule_fired(r.eng, i);
	/* Once, for the checks and the report alike. */
	r.facts.dead_peers = dead_peers = fl_peer_gone_all(&r.facts,
							   &r.facts.ndead_peers);
	if (fl_checks_run(&r.facts, &checks, &nchecks) < 0) {
		fprintf(stderr, "faultline: out of memory\n");
		goto out;
	}
	rep.argv = o.argv;
	rep.driver = o.driver;
	rep.peer = o.peer;
	rep.junit_name = o.junit_name;
	if (!rep.junit_name && o.nrule_files) {
		const char *slash = strrchr(o.rule_files[0], '/');

		rep.junit_name = slash ? slash + 1 : o.rule_files[0];
	}
	rep.facts = &r.facts;
	rep.checks = checks;
	rep.nchecks = nchecks;
	rep.have_calls = r.calls != NULL;
	for (unsigned fn = 0; r.calls && fn < FL_FN_COUNT; fn++)
		rep.calls_by_fn[fn] = fl_calls_count(r.calls, fn);
	rep.shim_processes = r.calls ? fl_calls_shimmed(r.calls) : 0;
	rep.calls_malformed = r.calls ? fl_calls_malformed(r.calls) : 0;
	rep.calls_forged = r.calls ? fl_calls_forged(r.calls) : 0;
	fl_sdiag_get_stats(r.diag, &rep.diag_run);
	rep.diag_sampler = r.diag_sampler;
	rep.seed = r.seed;
	rep.duration_ns = fl_clock_now_rel_ns();
	rep.backend = fl_sandbox_backend(r.sb);
	rep.result = fl_checks_result(checks, nchecks, o.allow_skip);
	rep.ok = rep.result == FL_RESULT_PASS;
	for (size_t i = 0; i < nchecks; i++)
		fl_trace_check(r.trace, rep.duration_ns, checks[i].name,
			       checks[i].ok, checks[i].detail);
	status = rep.ok ? EXIT_OK : EXIT_CHECK;
	fl_trace_flush(r.trace); /* every event is in; before a report on stdout */
	fflush(stdout);
	/* With a report or the trace on stdout, the text one is on stderr. */
	rout = (struct fl_report_out){
		.json = report_f, .junit = junit_f, .html = html_f, .quiet = o.quiet,
		.text = text_f ? text_f : dash ? stderr : stdout};
	rout.color = o.color == FL_COLOR_ALWAYS ||
		     (o.color == FL_COLOR_AUTO && isatty(fileno(rout.text)));
	if (fl_report_write(&rep, &rout) < 0) {
		fprintf(stderr, "faultline: out of memory\n");
		status = EXIT_ENV;
	}
	if (close_output("--report", o.report, report_f, rout.json_err) < 0)
		status = EXIT_USAGE;
	if (close_output("--junit", o.junit, junit_f, rout.junit_err) < 0)
		status = EXIT_USAGE;
	if (close_output("--html", o.html, html_f, rout.html_err) < 0)
		status = EXIT_USAGE;
	if (close_output("-q", "stdout", text_f, 0) < 0)
		status = EXIT_USAGE;
	report_f = junit_f = text_f = html_f = NULL;
	goto out;

env_error:
	fprintf(stderr, "faultline: %s\n", err);
	status = EXIT_ENV;
out:
	/* A run that ended before its reports leaves them empty, not stale. */
	if (report_f)
		fclose(report_f);
	if (junit_f)
		fclose(junit_f);
	if (html_f)
		fclose(html_f);
	if (text_f)
		fclose(text_f);
	if (r.trace && fl_trace_close(r.trace) < 0) {
		fprintf(stderr, "faultline: --trace %s: write error\n", o.trace);
		if (status == EXIT_OK)
			status = EXIT_USAGE;
	}
	free(checks);
	free(dead_peers);
	free(acted);
	free(r.alive);
	fl_owner_free(r.owner);
	fl_watch_free(r.watch);
	fl_states_free(r.states);
	fl_calls_free(r.calls);
	fl_cover_free(r.cover);
	for (size_t i = 0; i < 3; i++)
		free(r.env[i]);
	fl_sdiag_free(r.diag);
	fl_engine_free(r.eng);
	fl_timeline_free(r.tl);
	/* After the engine and its sink: every frame is in. */
	if (r.capture && fl_capture_close(r.capture) < 0) {
		fprintf(stderr, "faultline: --pcap %s: write error\n", o.pcap);
		if (status == EXIT_OK)
			status = EXIT_USAGE;
	}
	fl_sandbox_free(r.sb); /* kills whatever is left in the sandbox */
	if (r.sfd >= 0)
		close(r.sfd);
	return status;
}
