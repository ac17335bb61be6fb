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
#include <netinet/in.h>
#include <netinet/tcp.h>

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
	"expect error-close 1s\n"
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

/* A call that says the connection is over, to be followed by close():
 * for eof-close a read that returned 0, for error-close a read or write
 * that failed with anything but EAGAIN or EINTR. */
static int ends_conn(const struct fl_call *k, int error)
{
	if (!error)
		return is_read(k->fn) && k->ret == 0;
	return (is_read(k->fn) || is_write(k->fn)) && k->ret < 0 &&
	       k->err != EAGAIN /* == EWOULDBLOCK */ && k->err != EINTR;
}

/* The first such call on this fd since it was last closed (later ones
 * repeat the news). */
static int first_end(const struct fl_run_facts *f, size_t i, int error)
{
	const struct fl_call *k = &f->calls[i];

	for (size_t j = i; j-- > 0;) {
		const struct fl_call *x = &f->calls[j];

		if (x->pid != k->pid || x->fd != k->fd)
			continue;
		if (closes(x))
			return 1;
		if (ends_conn(x, error))
			return 0;
	}
	return 1;
}

static const char *err_name(int e)
{
	const char *s = e ? strerrorname_np(e) : NULL;

	return s ? s : "an error";
}

/*
 * expect eof-close DUR: after read() returns 0, close within DUR;
 * expect error-close DUR: after a read or write fails (not EAGAIN, not
 * EINTR), close within DUR.  A target that ended before DUR ran out is
 * not judged: its exit closed the socket, and nothing is proven.
 */
static void check_close_after(struct fl_check_result *c,
			      const struct fl_run_facts *f, uint64_t limit_ns,
			      int error)
{
	const char *what = error ? "failure" : "EOF";
	int bad = 0, n = 0, early = 0;
	char w[200], how[64];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_call *cl;

		if (!ends_conn(k, error) || !first_end(f, i, error))
			continue;
		n++;
		cl = next_close(f, i);
		if (cl && cl->t_ns - k->t_ns <= limit_ns)
			continue;
		if (!cl && (f->target.ended ? f->target.t_ns : f->end_ns) <
				   k->t_ns + limit_ns) {
			early++;
			continue;
		}
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		if (error)
			snprintf(how, sizeof(how), "failed with %s", err_name(k->err));
		else
			snprintf(how, sizeof(how), "returned 0");
		if (cl)
			detail_add(c, "%s%s() %s at %.3fs on %s; close() only at "
				   "%.3fs (%.3fs later)", bad++ ? "; " : "",
				   fl_ev_fn_name(k->fn), how, sec(k->t_ns), w,
				   sec(cl->t_ns), sec(cl->t_ns - k->t_ns));
		else
			detail_add(c, "%s%s() %s at %.3fs on %s; no close() by "
				   "%.3fs", bad++ ? "; " : "", fl_ev_fn_name(k->fn),
				   how, sec(k->t_ns), w, sec(f->end_ns));
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "%d %s%s, each closed within %.3fs", n - early, what,
			   n - early == 1 ? "" : "s", sec(limit_ns));
	if (early)
		detail_add(c, "; %d %s%s not closed before the target ended, "
			   "less than %.3fs later (not judged)", early, what,
			   early == 1 ? "" : "s", sec(limit_ns));
}

/* expect close-time <= DUR: no close() of a socket blocks longer.  Only
 * SO_LINGER {1,N} makes close() wait: for the data and the FIN to be
 * acknowledged, at most N seconds. */
static void check_close_time(struct fl_check_result *c,
			     const struct fl_run_facts *f, uint64_t limit_ns)
{
	int bad = 0, n = 0;
	uint64_t longest = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		int lingers = (k->flags & FL_EVF_LINGER) && k->linger_onoff;

		if (k->fn != FL_FN_CLOSE)
			continue;
		n++;
		if (k->dur_ns > longest)
			longest = k->dur_ns;
		if (k->dur_ns <= limit_ns)
			continue;
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		detail_add(c, "%sclose() at %.3fs on %s blocked %.3fs",
			   bad++ ? "; " : "", sec(k->t_ns - k->dur_ns), w,
			   sec(k->dur_ns));
		if (lingers)
			detail_add(c, " (SO_LINGER {1,%d}", k->linger_secs);
		if (lingers && (k->flags & FL_EVF_UNSENT))
			detail_add(c, ", %u bytes unacknowledged when called",
				   k->unsent);
		if (lingers)
			detail_add(c, ")");
		if (lingers && k->dur_ns + 20000000u >= (uint64_t)k->linger_secs * 1000000000u)
			detail_add(c, ": the linger time ran out and close() "
				   "returned %s%s", k->ret ? "an error " : "0",
				   k->ret ? err_name(k->err) : " (Linux reports no "
				   "EWOULDBLOCK; the data may still be lost)");
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "%d close%s, the longest took %.3fs", n,
			   n == 1 ? "" : "s", sec(longest));
}

/* ---- dead-peer ---- */

const char *fl_dead_peer_how(enum fl_dp_how h)
{
	switch (h) {
	case FL_DP_KEEPALIVE: return "keepalive";
	case FL_DP_RETRANSMIT: return "retransmission-timeout";
	case FL_DP_ERROR: return "error";
	case FL_DP_PROGRAM: return "program";
	case FL_DP_EXIT: return "exit";
	case FL_DP_NONE: return "none";
	}
	return "none";
}

/* Index just after the last close of (pid, fd) before index i. */
static size_t opened_at(const struct fl_run_facts *f, int pid, int fd, size_t i)
{
	while (i-- > 0) {
		const struct fl_call *x = &f->calls[i];

		if (x->pid == pid && x->fd == fd && closes(x))
			return i + 1;
	}
	return 0;
}

/* Applies the keepalive and timeout options set on (pid, fd) in calls
 * [from, to). */
static void take_opts(const struct fl_run_facts *f, int pid, int fd,
		      size_t from, size_t to, struct fl_dead_peer *d)
{
	for (size_t j = from; j < to && j < f->ncalls; j++) {
		const struct fl_call *x = &f->calls[j];
		int v = (int)x->val;

		if (x->pid != pid || x->fd != fd)
			continue;
		if (closes(x))
			return;
		if (x->fn != FL_FN_SETSOCKOPT || x->ret != 0)
			continue;
		if (x->level == SOL_SOCKET && x->optname == SO_KEEPALIVE)
			d->keepalive = v != 0;
		else if (x->level == IPPROTO_TCP && x->optname == TCP_KEEPIDLE)
			d->keepidle = v;
		else if (x->level == IPPROTO_TCP && x->optname == TCP_KEEPINTVL)
			d->keepintvl = v;
		else if (x->level == IPPROTO_TCP && x->optname == TCP_KEEPCNT)
			d->keepcnt = v;
		else if (x->level == IPPROTO_TCP && x->optname == TCP_USER_TIMEOUT)
			d->user_timeout_ms = (unsigned)v;
	}
}

int fl_dead_peer(const struct fl_run_facts *f, uint32_t id,
		 struct fl_dead_peer *d)
{
	const struct fl_flow *fl = f->flows ? fl_flow_get(f->flows, id) : NULL;
	size_t first = f->ncalls, from;
	int t, p;

	if (!fl || fl->target_side == FL_SIDE_ANY)
		return 0;
	t = fl->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S : FL_DIR_S2C;
	p = !t;
	/* The peer was heard, then a rule lost segments, and the peer
	 * neither closed nor reset. */
	if (!fl->arrived_ns[p] || fl->lost_ns <= fl->arrived_ns[p] ||
	    fl->fin_ns[p] || fl->rst_ns[p] || fl->rst_ns[t])
		return 0;
	memset(d, 0, sizeof(*d));
	d->since_ns = fl->arrived_ns[p];
	d->probes = fl->ka_probes[t];
	if (fl->snd_max_known[t] && fl->acked_known[p] &&
	    (int32_t)(fl->data_max[t] - fl->acked[p]) > 0)
		d->unacked = fl->data_max[t] - fl->acked[p];
	d->keepalive = d->keepidle = d->keepintvl = d->keepcnt = -1;
	d->user_timeout_ms = -1;
	d->fd = -1;

	/* The target's socket: the first call that names the flow. */
	for (size_t i = 0; i < f->ncalls; i++) {
		if (f->calls[i].flow == id) {
			first = i;
			break;
		}
	}
	if (first < f->ncalls) {
		const struct fl_call *k = &f->calls[first];
		int accepted = (k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4) &&
			       k->ret >= 0;

		d->pid = k->pid;
		d->fd = accepted ? (int)k->ret : k->fd;
		/* An accepted socket inherits its listener's options. */
		if (accepted)
			take_opts(f, k->pid, k->fd, opened_at(f, k->pid, k->fd, first),
				  first, d);
		from = opened_at(f, d->pid, d->fd, first);
		take_opts(f, d->pid, d->fd, from, f->ncalls, d);
		for (size_t j = from; j < f->ncalls; j++) {
			const struct fl_call *x = &f->calls[j];

			if (x->pid != d->pid || x->fd != d->fd)
				continue;
			if (closes(x)) {
				if (j > first || x->flow == id)
					d->closed_ns = x->t_ns;
				break;
			}
			if (!d->noticed_ns && ends_conn(x, 1) && x->t_ns >= d->since_ns) {
				d->noticed_ns = x->t_ns;
				d->err = x->err;
				d->err_fn = x->fn;
			}
		}
	}
	/* Closed before the peer fell silent: the program was done. */
	if (d->closed_ns && d->closed_ns < d->since_ns)
		return 0;
	if (!d->closed_ns && f->target.ended && !f->killed_by_harness &&
	    f->target.t_ns >= d->since_ns)
		d->closed_ns = f->target.t_ns;
	if (d->noticed_ns && d->err == ETIMEDOUT)
		d->how = d->probes ? FL_DP_KEEPALIVE : FL_DP_RETRANSMIT;
	else if (d->noticed_ns)
		d->how = FL_DP_ERROR;
	else if (d->closed_ns && d->fd >= 0 && (!f->target.ended ||
						 d->closed_ns != f->target.t_ns))
		d->how = FL_DP_PROGRAM;
	else if (d->closed_ns)
		d->how = FL_DP_EXIT;
	else
		d->how = FL_DP_NONE;
	return 1;
}

/* "SO_KEEPALIVE on (idle 1s, interval 1s, 2 probes), TCP_USER_TIMEOUT
 * 1000ms" with "default" for what was not set. */
static void opts_text(const struct fl_dead_peer *d, char *buf, size_t n)
{
	char idle[24] = "default", intvl[24] = "default", cnt[24] = "default";
	int l;

	if (d->keepidle >= 0)
		snprintf(idle, sizeof(idle), "%ds", d->keepidle);
	if (d->keepintvl >= 0)
		snprintf(intvl, sizeof(intvl), "%ds", d->keepintvl);
	if (d->keepcnt >= 0)
		snprintf(cnt, sizeof(cnt), "%d", d->keepcnt);
	if (d->keepalive > 0)
		l = snprintf(buf, n, "SO_KEEPALIVE on (idle %s, interval %s, "
			     "probes %s)", idle, intvl, cnt);
	else
		l = snprintf(buf, n, "SO_KEEPALIVE off");
	if (l < 0 || (size_t)l >= n)
		return;
	if (d->user_timeout_ms >= 0)
		snprintf(buf + l, n - (size_t)l, ", TCP_USER_TIMEOUT %lldms",
			 (long long)d->user_timeout_ms);
	else
		snprintf(buf + l, n - (size_t)l, ", no TCP_USER_TIMEOUT");
}

void fl_dead_peer_describe(const struct fl_dead_peer *d, char *buf, size_t n)
{
	char opts[160], closed[64] = "";
	const char *fn = d->err_fn ? fl_ev_fn_name(d->err_fn) : "a call";

	opts_text(d, opts, sizeof(opts));
	if (d->closed_ns)
		snprintf(closed, sizeof(closed), ", closed at %.3fs (%.3fs after)",
			 sec(d->closed_ns), sec(d->closed_ns - d->since_ns));
	switch (d->how) {
	case FL_DP_KEEPALIVE:
		snprintf(buf, n, "peer last heard at %.3fs; keepalive noticed: "
			 "%u probe%s unanswered, %s() failed with ETIMEDOUT at "
			 "%.3fs%s [%s]", sec(d->since_ns), d->probes,
			 d->probes == 1 ? "" : "s", fn, sec(d->noticed_ns),
			 closed, opts);
		break;
	case FL_DP_RETRANSMIT:
		snprintf(buf, n, "peer last heard at %.3fs; the retransmission "
			 "timeout noticed (%s): %s() failed with ETIMEDOUT at "
			 "%.3fs%s [%s]", sec(d->since_ns),
			 d->user_timeout_ms >= 0 ? "TCP_USER_TIMEOUT"
						 : "tcp_retries2",
			 fn, sec(d->noticed_ns), closed, opts);
		break;
	case FL_DP_ERROR:
		snprintf(buf, n, "peer last heard at %.3fs; %s() failed with %s "
			 "at %.3fs%s [%s]", sec(d->since_ns), fn,
			 err_name(d->err), sec(d->noticed_ns), closed, opts);
		break;
	case FL_DP_PROGRAM:
		snprintf(buf, n, "peer last heard at %.3fs; the program's own "
			 "timer noticed: no error from the kernel%s [%s]",
			 sec(d->since_ns), closed, opts);
		break;
	case FL_DP_EXIT:
		snprintf(buf, n, "peer last heard at %.3fs; nothing noticed "
			 "before the target exited at %.3fs [%s]",
			 sec(d->since_ns), sec(d->closed_ns), opts);
		break;
	case FL_DP_NONE:
		snprintf(buf, n, "peer last heard at %.3fs; nothing noticed: the "
			 "socket was still open when the run ended [%s]%s",
			 sec(d->since_ns), opts,
			 d->unacked ? "; with data unacknowledged the kernel "
				      "retransmits for ~15 minutes "
				      "(tcp_retries2): TCP_USER_TIMEOUT or a "
				      "deadline of its own bounds it"
			 : d->keepalive > 0 ? ""
			 : d->user_timeout_ms >= 0
				 ? "; TCP_USER_TIMEOUT only times unacknowledged "
				   "data: an idle connection needs keepalive"
				 : "; an idle connection needs keepalive or a "
				   "timer of its own");
		break;
	}
}

/* expect dead-peer DUR: a peer that goes silent (no FIN, no RST) is let go
 * within DUR of its last segment. */
static void check_dead_peer(struct fl_check_result *c,
			    const struct fl_run_facts *f, uint64_t limit_ns)
{
	int bad = 0, n = 0, early = 0;
	char text[400];

	for (uint32_t id = 1; f->flows && id <= fl_flow_count(f->flows); id++) {
		struct fl_dead_peer d;

		if (!fl_dead_peer(f, id, &d))
			continue;
		n++;
		if (d.closed_ns && d.closed_ns - d.since_ns <= limit_ns)
			continue;
		/* The run ended before the time was up: nothing proven. */
		if (!d.closed_ns && f->end_ns < d.since_ns + limit_ns) {
			early++;
			continue;
		}
		fl_dead_peer_describe(&d, text, sizeof(text));
		add_flow(c, id);
		detail_add(c, "%sflow %u: %s", bad++ ? "; " : "", id, text);
	}
	c->ok = !bad;
	if (!bad && !n)
		detail_add(c, "no peer went silent while the target held its "
			   "connection");
	else if (!bad)
		detail_add(c, "%d silent peer%s, each let go within %.3fs",
			   n - early, n - early == 1 ? "" : "s", sec(limit_ns));
	if (early)
		detail_add(c, "; %d silent peer%s still held when the run ended, "
			   "less than %.3fs later (not judged)", early,
			   early == 1 ? "" : "s", sec(limit_ns));
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
		case FL_CHK_ERROR_CLOSE:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_close_after(c, f, (uint64_t)e->arg * 1000u,
					  e->kind == FL_CHK_ERROR_CLOSE);
			break;
		case FL_CHK_CLOSE_TIME:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_close_time(c, f, (uint64_t)e->arg * 1000u);
			break;
		case FL_CHK_DEAD_PEER:
			if (!(c = add(&r, name, e)))
				goto nomem;
			check_dead_peer(c, f, (uint64_t)e->arg * 1000u);
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
