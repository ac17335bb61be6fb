/*
 * checks.c - one function per check; see checks.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include "../preload/event.h"
#include "checks.h"

struct results {
	struct fl_check_result *v;
	size_t n, cap;
};

static struct fl_check_result *add(struct results *r, const char *name,
				   const struct fl_expect *e)
{
	struct fl_check_result *c;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct fl_check_result *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	c = &r->v[r->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (e) {
		c->file = e->file;
		c->line = e->line;
	}
	return c;
}

void fl_exit_describe(const struct fl_exit *x, char *buf, size_t n)
{
	const char *sig;

	if (!x->started)
		snprintf(buf, n, "not started");
	else if (!x->ended)
		snprintf(buf, n, "still running");
	else if (x->sig) {
		sig = fl_signal_name(x->sig);
		if (sig)
			snprintf(buf, n, "killed by %s", sig);
		else
			snprintf(buf, n, "killed by signal %d", x->sig);
	} else
		snprintf(buf, n, "exit code %d", x->code);
}

static void describe_end(const struct fl_run_facts *f, char *buf, size_t n)
{
	char how[64];

	fl_exit_describe(&f->target, how, sizeof(how));
	snprintf(buf, n, "target %s at %.3fs%s", how,
		 (double)f->target.t_ns / 1e9,
		 f->killed_by_harness ? " (after faultline asked it to stop)"
				      : "");
}

/* expect exit N */
static void check_exit(struct fl_check_result *c, const struct fl_run_facts *f,
		       const struct fl_expect *e)
{
	char end[160];

	describe_end(f, end, sizeof(end));
	c->ok = f->target.ended && !f->target.sig && f->target.code == e->arg;
	snprintf(c->detail, sizeof(c->detail), "expected exit code %lld; %s",
		 (long long)e->arg, end);
}

/* expect signal NAME */
static void check_signal(struct fl_check_result *c,
			 const struct fl_run_facts *f, const struct fl_expect *e)
{
	const char *want = fl_signal_name((int)e->arg);
	char end[160];

	describe_end(f, end, sizeof(end));
	c->ok = f->target.ended && f->target.sig == e->arg;
	snprintf(c->detail, sizeof(c->detail), "expected death by %s; %s",
		 want ? want : "?", end);
}

/* The driver is the test: its failure fails the run. */
static void check_driver(struct fl_check_result *c,
			 const struct fl_run_facts *f)
{
	char how[64];

	fl_exit_describe(&f->driver, how, sizeof(how));
	c->ok = f->driver.ended && !f->driver.sig && f->driver.code == 0;
	snprintf(c->detail, sizeof(c->detail), "driver %s at %.3fs", how,
		 (double)f->driver.t_ns / 1e9);
}

static void check_timeout(struct fl_check_result *c,
			  const struct fl_run_facts *f)
{
	c->ok = !f->timed_out && !f->interrupted;
	if (f->interrupted)
		snprintf(c->detail, sizeof(c->detail),
			 "faultline was interrupted before the run ended");
	else if (f->timed_out)
		snprintf(c->detail, sizeof(c->detail),
			 "the run did not end within --timeout %.3fs",
			 (double)f->timeout_ns / 1e9);
	else
		snprintf(c->detail, sizeof(c->detail),
			 "the run ended within %.3fs",
			 (double)f->timeout_ns / 1e9);
}

/* Drops no rule asked for make every other result suspect. */
static void check_harness(struct fl_check_result *c,
			  const struct fl_run_facts *f)
{
	const struct fl_engine_stats *s = &f->eng;
	long long qd = s->queue_dropped < 0 ? 0 : s->queue_dropped;
	long long ud = s->user_dropped < 0 ? 0 : s->user_dropped;

	c->ok = qd == 0 && ud == 0 && s->enobufs == 0 && s->send_errors == 0;
	snprintf(c->detail, sizeof(c->detail),
		 "%llu segments queued; kernel queue drops %lld, socket "
		 "buffer drops %lld, ENOBUFS %llu, failed sends %llu%s",
		 (unsigned long long)s->packets, qd, ud,
		 (unsigned long long)s->enobufs,
		 (unsigned long long)s->send_errors,
		 c->ok ? "" : ": segments were lost that no rule dropped");
}


const char fl_checks_default_set[] =
	"expect no-close-wait 1s\n"
	"expect eof-close 1s\n"
	"expect no-sigpipe\n"
	"expect no-linger-abort\n"
	"expect no-unread-close\n"
	"expect no-fd-leak\n"
	"expect time-wait <= 100\n";

/* Appends to a check's evidence; what does not fit is cut. */
__attribute__((format(printf, 2, 3)))
static void detail_add(struct fl_check_result *c, const char *fmt, ...)
{
	size_t l = strlen(c->detail);
	va_list ap;

	int n;

	if (c->cut) {
		c->cut++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->detail + l, sizeof(c->detail) - l, fmt, ap);
	va_end(ap);
	if (n >= 0 && l + (size_t)n < sizeof(c->detail))
		return;
	/* Full: end with a marker instead of a silently cut sentence. */
	c->cut = 1;
	l = sizeof(c->detail) - sizeof(" ... (more in the trace)");
	{
		size_t at = l;

		/* Cut at the last whole piece ("a; b; c") when there is one. */
		while (at > 0 && c->detail[at - 1] != ';')
			at--;
		if (at > 0)
			l = at - 1;
	}
	snprintf(c->detail + l, sizeof(c->detail) - l, " ... (more in the trace)");
}

static void add_flow(struct fl_check_result *c, uint32_t id)
{
	if (!id || c->nflows == sizeof(c->flows) / sizeof(c->flows[0]))
		return;
	for (unsigned i = 0; i < c->nflows; i++)
		if (c->flows[i] == id)
			return;
	c->flows[c->nflows++] = id;
}

static double sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Checks that read the socket calls cannot judge without the shim. */
static int need_shim(struct fl_check_result *c, const struct fl_run_facts *f)
{
	if (f->shim_loaded)
		return 1;
	c->ok = 1;
	c->skipped = 1;
	snprintf(c->detail, sizeof(c->detail), "%s",
		 f->shim_wanted
			 ? "not judged: the target never loaded the shim (a "
			   "static or non-libc binary?); packet-level checks "
			   "still ran"
			 : "not judged: the shim was not loaded (--no-preload, "
			   "or libfaultline-preload.so not found)");
	return 0;
}

static int is_read(unsigned fn)
{
	return fn == FL_FN_READ || fn == FL_FN_RECV || fn == FL_FN_RECVFROM ||
	       fn == FL_FN_RECVMSG || fn == FL_FN_READV;
}

static int is_write(unsigned fn)
{
	return fn == FL_FN_WRITE || fn == FL_FN_SEND || fn == FL_FN_SENDTO ||
	       fn == FL_FN_SENDMSG || fn == FL_FN_WRITEV;
}

static int closes(const struct fl_call *k)
{
	return (k->fn == FL_FN_CLOSE && k->ret == 0) ||
	       (k->flags & FL_EVF_IMPLICIT_CLOSE);
}

static void where(char *buf, size_t n, const struct fl_call *k)
{
	if (k->flow)
		snprintf(buf, n, "pid %d fd %d flow %u (%s <-> %s)", k->pid,
			 k->fd, k->flow, k->local, k->peer);
	else
		snprintf(buf, n, "pid %d fd %d (%s)", k->pid, k->fd,
			 k->local[0] ? k->local : "unbound");
}

/* expect no-linger-abort: SO_LINGER {1,0} makes close() send RST and
 * throw away unsent data (RFC 9293 3.10.7.1 ABORT). */
static void check_linger(struct fl_check_result *c, const struct fl_run_facts *f)
{
	int bad = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (k->fn != FL_FN_SETSOCKOPT || k->ret != 0 ||
		    k->level != SOL_SOCKET || k->optname != SO_LINGER ||
		    !k->linger_onoff || k->linger_secs != 0)
			continue;
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		detail_add(c, "%sSO_LINGER {1,0} set at %.3fs on %s",
			   bad++ ? "; " : "", sec(k->t_ns), w);
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "no socket was given SO_LINGER {1,0}");
}

/* expect no-unread-close: closing with unread bytes sends RST, not FIN
 * (RFC 2525 2.17).  A close that does not release the socket (a forked
 * parent closing its copy) sends nothing: when the flow is known, only a
 * close followed by the caller's RST counts. */
static void check_unread(struct fl_check_result *c, const struct fl_run_facts *f)
{
	int bad = 0, shared = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_flow *fl;

		if (!closes(k) || !(k->flags & FL_EVF_UNREAD) || !k->unread)
			continue;
		fl = k->flow && f->flows ? fl_flow_get(f->flows, k->flow) : NULL;
		if (fl && !(fl->rst_ns[k->dir] &&
			    fl->rst_ns[k->dir] + 50000000u >= k->t_ns)) {
			shared++;
			continue;
		}
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		detail_add(c, "%sclose() at %.3fs with %u unread bytes on %s%s",
			   bad++ ? "; " : "", sec(k->t_ns), k->unread, w,
			   fl ? ": the kernel sent RST instead of FIN" : "");
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "every close() that released a socket found its "
			   "receive queue empty");
	if (shared)
		detail_add(c, "%s%d close%s with unread bytes released no socket "
			   "(another descriptor still held it; no RST)",
			   bad ? "; " : " (", shared, shared == 1 ? "" : "s");
	if (shared && !bad)
		detail_add(c, ")");
}

/* The first close of (pid, fd) after index i, or NULL. */
static const struct fl_call *next_close(const struct fl_run_facts *f, size_t i)
{
	const struct fl_call *k = &f->calls[i];

	for (size_t j = i + 1; j < f->ncalls; j++) {
		const struct fl_call *x = &f->calls[j];

		if (x->pid == k->pid && x->fd == k->fd && closes(x))
			return x;
	}
	return NULL;
}

/* expect eof-close DUR: after read() returns 0, close within DUR. */
static void check_eof_close(struct fl_check_result *c,
			    const struct fl_run_facts *f, uint64_t limit_ns)
{
	int bad = 0, n = 0, early = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_call *cl;
		int first = 1;

		if (!is_read(k->fn) || k->ret != 0)
			continue;
		/* Only the first EOF read on this fd counts. */
		for (size_t j = 0; j < i; j++)
			if (f->calls[j].pid == k->pid && f->calls[j].fd == k->fd &&
			    is_read(f->calls[j].fn) && f->calls[j].ret == 0 &&
			    (!next_close(f, j) || next_close(f, j)->t_ns > k->t_ns))
				first = 0;
		if (!first)
			continue;
		n++;
		cl = next_close(f, i);
		if (cl && cl->t_ns - k->t_ns <= limit_ns)
			continue;
		/* Ended (exit, or stopped by faultline) before its time was
		 * up: the exit closed the socket, and nothing is proven. */
		if (!cl && (f->target.ended ? f->target.t_ns : f->end_ns) <
				   k->t_ns + limit_ns) {
			early++;
			continue;
		}
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		if (cl)
			detail_add(c, "%s%s() returned 0 at %.3fs on %s; close() "
				   "only at %.3fs (%.3fs later)",
				   bad++ ? "; " : "", fl_ev_fn_name(k->fn),
				   sec(k->t_ns), w, sec(cl->t_ns),
				   sec(cl->t_ns - k->t_ns));
		else
			detail_add(c, "%s%s() returned 0 at %.3fs on %s; no "
				   "close() by %.3fs",
				   bad++ ? "; " : "", fl_ev_fn_name(k->fn),
				   sec(k->t_ns), w, sec(f->end_ns));
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "%d EOF%s, each closed within %.3fs", n - early,
			   n - early == 1 ? "" : "s", sec(limit_ns));
	if (early)
		detail_add(c, "%s%d EOF%s not closed before the target ended, "
			   "less than %.3fs later (not judged)", bad ? "; " : "; ",
			   early, early == 1 ? "" : "s", sec(limit_ns));
}

/* expect no-close-wait DUR: judged from the segments: the target's socket
 * is in CLOSE_WAIT from the peer's FIN until its own FIN or RST (RFC 9293
 * 3.3.2), or until the target exits. */
static void check_close_wait(struct fl_check_result *c,
			     const struct fl_run_facts *f, uint64_t limit_ns)
{
	int bad = 0, n = 0;
	char cl[64], sv[64];

	for (uint32_t id = 1; f->flows && id <= fl_flow_count(f->flows); id++) {
		const struct fl_flow *fl = fl_flow_get(f->flows, id);
		int t, p;
		uint64_t fin, end;
		const char *how;

		if (fl->target_side == FL_SIDE_CLIENT)
			t = FL_DIR_C2S;
		else if (fl->target_side == FL_SIDE_SERVER)
			t = FL_DIR_S2C;
		else
			continue;
		p = !t;
		fin = fl->fin_ns[p];
		if (!fin || (fl->fin_ns[t] && fl->fin_ns[t] <= fin) ||
		    (fl->rst_ns[t] && fl->rst_ns[t] <= fin) ||
		    (fl->rst_ns[p] && fl->rst_ns[p] <= fin))
			continue;
		n++;
		if (fl->fin_ns[t]) {
			end = fl->fin_ns[t];
			how = "its FIN";
		} else if (fl->rst_ns[t]) {
			end = fl->rst_ns[t];
			how = "its RST";
		} else if (f->target.ended && f->target.t_ns > fin) {
			end = f->target.t_ns;
			how = "the target's exit";
		} else {
			end = f->end_ns;
			how = "the end of the run";
		}
		if (end - fin <= limit_ns)
			continue;
		add_flow(c, id);
		fl_endpoint_format(&fl->ep[0], cl, sizeof(cl));
		fl_endpoint_format(&fl->ep[1], sv, sizeof(sv));
		detail_add(c, "%sflow %u (%s -> %s): peer FIN at %.3fs; target "
			   "%s socket in CLOSE_WAIT until %s at %.3fs (%.3fs)",
			   bad++ ? "; " : "", id, cl, sv, sec(fin),
			   t == FL_DIR_C2S ? "client" : "server", how, sec(end),
			   sec(end - fin));
		for (size_t i = 0; i < f->ncalls; i++) {
			const struct fl_call *k = &f->calls[i];

			if (k->flow == id && is_read(k->fn) && k->ret == 0) {
				detail_add(c, "; %s() returned 0 at %.3fs (pid %d "
					   "fd %d)", fl_ev_fn_name(k->fn),
					   sec(k->t_ns), k->pid, k->fd);
				break;
			}
		}
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "%d passive close%s, none in CLOSE_WAIT longer "
			   "than %.3fs", n, n == 1 ? "" : "s", sec(limit_ns));
}

/* expect no-sigpipe: neither the target's first process nor any process
 * whose parent reaped it through the shim died of SIGPIPE. */
static void check_sigpipe(struct fl_check_result *c, const struct fl_run_facts *f)
{
	int epipe = 0, deaths = 0;

	if (f->target.ended && f->target.sig == SIGPIPE) {
		deaths++;
		detail_add(c, "the target died of SIGPIPE at %.3fs",
			   sec(f->target.t_ns));
	}
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (k->fn == FL_FN_WAIT && k->arg == SIGPIPE) {
			detail_add(c, "%sprocess %lld (a child of pid %d) died of "
				   "SIGPIPE; reaped at %.3fs", deaths++ ? "; " : "",
				   (long long)k->ret, k->pid, sec(k->t_ns));
		}
	}
	c->ok = !deaths;
	if (!deaths)
		detail_add(c, "no target process died of SIGPIPE");
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (is_write(k->fn) && k->err == EPIPE && !epipe++)
			detail_add(c, "; first EPIPE survived: %s() at %.3fs (pid "
				   "%d fd %d)", fl_ev_fn_name(k->fn), sec(k->t_ns),
				   k->pid, k->fd);
	}
}

/* expect no-fd-leak: every connection socket (accepted or connected) the
 * target opened is closed by the process that opened it. */
static void check_fd_leak(struct fl_check_result *c, const struct fl_run_facts *f)
{
	int bad = 0, n = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		struct fl_call open = *k;
		int closed = 0;

		if ((k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4) && k->ret >= 0)
			open.fd = (int)k->ret;
		else if (k->fn == FL_FN_CONNECT &&
			 (k->ret == 0 || k->err == EINPROGRESS))
			open.fd = k->fd;
		else
			continue;
		n++;
		for (size_t j = i + 1; j < f->ncalls && !closed; j++) {
			const struct fl_call *x = &f->calls[j];

			closed = x->pid == open.pid && x->fd == open.fd && closes(x);
		}
		if (closed)
			continue;
		where(w, sizeof(w), &open);
		add_flow(c, open.flow);
		detail_add(c, "%s%s at %.3fs on %s: never closed", bad++ ? "; " : "",
			   fl_ev_fn_name(k->fn), sec(k->t_ns), w);
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "%d connection socket%s opened, all closed", n,
			   n == 1 ? "" : "s");
}

/* expect time-wait <= N */
static void check_time_wait(struct fl_check_result *c,
			    const struct fl_run_facts *f, int64_t max)
{
	c->ok = f->time_wait <= max;
	detail_add(c, "%d socket%s in TIME_WAIT on the target's side at the end "
		   "(at most %lld allowed)", f->time_wait,
		   f->time_wait == 1 ? "" : "s", (long long)max);
	if (!c->ok)
		detail_add(c, ": the target closes first (active close) too "
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

/* expect path SIDE S > S ...: on every flow where that side is known, its
 * observed states contain the expected ones as one unbroken run. */
static void check_path(struct fl_check_result *c, const struct fl_run_facts *f,
		       const struct fl_expect *e)
{
	char want[256], got[256];
	int judged = 0, bad = 0;

	path_text(want, sizeof(want), e->path, e->npath);
	for (uint32_t id = 1; f->flows && f->states && id <= fl_flow_count(f->flows);
	     id++) {
		const struct fl_flow *fl = fl_flow_get(f->flows, id);
		uint8_t obs[FL_STATES_PATH_MAX];
		size_t n, at;
		int dir;

		switch (e->path_side) {
		case FL_SIDE_CLIENT:
			dir = FL_DIR_C2S;
			break;
		case FL_SIDE_SERVER:
			dir = FL_DIR_S2C;
			break;
		case FL_SIDE_TARGET:
		case FL_SIDE_PEER:
			if (fl->target_side == FL_SIDE_ANY)
				continue;
			dir = fl->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S
								 : FL_DIR_S2C;
			if (e->path_side == FL_SIDE_PEER)
				dir = !dir;
			break;
		case FL_SIDE_ANY:
		default:
			continue;
		}
		n = fl_states_path(f->states, id, dir, obs, FL_STATES_PATH_MAX);
		if (!n)
			continue;
		judged++;
		for (at = 0; at < n && obs[at] != e->path[0]; at++)
			;
		if (at + e->npath <= n &&
		    memcmp(obs + at, e->path, e->npath) == 0)
			continue;
		path_text(got, sizeof(got), obs, n);
		add_flow(c, id);
		detail_add(c, "%sflow %u %s: observed %s; expected %s",
			   bad++ ? "; " : "", id,
			   dir == FL_DIR_C2S ? "client" : "server", got, want);
	}
	c->ok = judged && !bad;
	if (!judged)
		detail_add(c, "no flow showed the %s side's states; expected %s",
			   fl_side_name(e->path_side), want);
	else if (!bad)
		detail_add(c, "%d flow%s went %s", judged, judged == 1 ? "" : "s",
			   want);
}

int fl_checks_run(const struct fl_run_facts *f, struct fl_check_result **out,
		  size_t *n)
{
	struct results r = {0};
	struct fl_check_result *c;
	const struct fl_ruleset *rs = f->rs;

	for (size_t i = 0; rs && i < rs->nexpects; i++) {
		const struct fl_expect *e = &rs->expects[i];
		char name[160];

		snprintf(name, sizeof(name), "%s", e->text ? e->text : "expect");
		switch (e->kind) {
		case FL_CHK_EXIT:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_exit(c, f, e);
			break;
		case FL_CHK_SIGNAL:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_signal(c, f, e);
			break;
		case FL_CHK_NO_CLOSE_WAIT:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_close_wait(c, f, (uint64_t)e->arg * 1000u);
			break;
		case FL_CHK_EOF_CLOSE:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_eof_close(c, f, (uint64_t)e->arg * 1000u);
			break;
		case FL_CHK_NO_SIGPIPE:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_sigpipe(c, f);
			break;
		case FL_CHK_NO_LINGER_ABORT:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_linger(c, f);
			break;
		case FL_CHK_NO_UNREAD_CLOSE:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_unread(c, f);
			break;
		case FL_CHK_NO_FD_LEAK:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_fd_leak(c, f);
			break;
		case FL_CHK_TIME_WAIT:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_time_wait(c, f, e->arg);
			break;
		case FL_CHK_PATH:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_path(c, f, e);
			break;
		}
	}
	if (f->have_driver) {
		if (!(c = add(&r, "driver", NULL)))
			goto nomem;
		check_driver(c, f);
	}
	if (!(c = add(&r, "timeout", NULL)))
		goto nomem;
	check_timeout(c, f);
	if (!(c = add(&r, "harness", NULL)))
		goto nomem;
	check_harness(c, f);
	*out = r.v;
	*n = r.n;
	return 0;
nomem:
	free(r.v);
	return -ENOMEM;
}
