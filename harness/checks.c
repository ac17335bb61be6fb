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

#include "event.h"
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
	snprintf(c->name, sizeof(c->name), "%s",
		 e && fl_check_name(e->kind) ? fl_check_name(e->kind) : name);
	if (e) {
		snprintf(c->expect, sizeof(c->expect), "%s",
			 e->text ? e->text : name);
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

/* The target's own end: one that exits non-zero or dies of a signal before
 * faultline stops it tested nothing (unless an expect exit/signal says it
 * should); what it does after faultline's SIGTERM is the stop's doing. */
static void check_target(struct fl_check_result *c,
			 const struct fl_run_facts *f)
{
	char how[64];

	fl_exit_describe(&f->target, how, sizeof(how));
	if (!f->target.ended || f->killed_by_harness) {
		c->ok = 1;
		snprintf(c->detail, sizeof(c->detail),
			 "target ran until faultline stopped it at %.3fs (%s "
			 "then: the stop's doing, not judged)",
			 (double)f->stop_ns / 1e9, how);
		return;
	}
	c->ok = !f->target.sig && f->target.code == 0;
	snprintf(c->detail, sizeof(c->detail), "target %s at %.3fs, before "
		 "faultline stopped it%s", how, (double)f->target.t_ns / 1e9,
		 c->ok ? "" : " (add 'expect exit N' or 'expect signal NAME' "
			      "if that is what it should do)");
}

/* Checks of connections judge nothing in a run that made none. */
static void check_connections(struct fl_check_result *c,
			      const struct fl_run_facts *f)
{
	size_t n = f->flows ? fl_flow_count(f->flows) : 0;

	c->ok = 1;
	if (n) {
		snprintf(c->detail, sizeof(c->detail), "%zu TCP connection%s "
			 "seen", n, n == 1 ? "" : "s");
		return;
	}
	c->skipped = 1;
	snprintf(c->detail, sizeof(c->detail), "not judged: no TCP connection "
		 "was made in the sandbox%s, so the connection checks tested "
		 "nothing", f->have_driver ? " (did the driver reach the "
					      "target's port?)" : "");
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
	"expect no-abort-loss\n"
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

/*
 * A check of calls judged what the shim reported; a flow whose target
 * socket belongs to a process that never loaded the shim (env -i, a
 * static binary under a shell) or that lost the shim's channel (a raw
 * close_range) reported nothing, so that flow was not judged: say so, and
 * the check cannot pass.
 */
static void uncovered(struct fl_check_result *c, const struct fl_run_facts *f)
{
	unsigned n = 0;
	char why[256];

	for (uint32_t id = 1; f->cover && f->flows && id <= fl_flow_count(f->flows);
	     id++) {
		const struct fl_flow *fl = fl_flow_get(f->flows, id);
		enum fl_cover cv;

		if (fl->target_side == FL_SIDE_ANY)
			continue;
		cv = fl_cover_target(f->cover, fl, NULL, NULL);
		if (cv != FL_COVER_NO_SHIM && cv != FL_COVER_LOST)
			continue;
		c->skipped = 1;
		if (n++ == 0) {
			fl_cover_explain(f->cover, id, fl->target_side == FL_SIDE_CLIENT
						     ? FL_DIR_C2S : FL_DIR_S2C,
					 why, sizeof(why));
			detail_add(c, "; not judged: %s", why);
		}
	}
	if (n > 1)
		detail_add(c, " (and %u more flows)", n - 1);
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

/* Each side t (FL_DIR_C2S: the client) of each flow that is the target's
 * socket: one side of most flows, both of a flow with both ends in the
 * target (a proxy and its backend). */
#define FOR_TARGET_SIDES(f, id, fl, t)                                         \
	for (uint32_t id = 1; (f)->flows && id <= fl_flow_count((f)->flows); id++) \
		for (int t = 0; t < 2; t++)                                    \
			if (!fl_flow_target_dir(                               \
				    (fl = fl_flow_get((f)->flows, id)), t)) {  \
			} else

static int is_tcp(const struct fl_call *k)
{
	return (k->sock_family == AF_INET || k->sock_family == AF_INET6) &&
	       k->sock_type == SOCK_STREAM;
}

static int lingers_abort(const struct fl_call *k)
{
	return (k->flags & FL_EVF_LINGER) && k->linger_onoff && !k->linger_secs;
}

/* Target and peer direction of a flow for a call on it. */
static const struct fl_flow *call_flow(const struct fl_run_facts *f,
				       const struct fl_call *k)
{
	return k->flow && f->flows ? fl_flow_get(f->flows, k->flow) : NULL;
}

struct after_ctx {
	int dir;
	uint64_t since_ns;
	uint64_t bytes;
};

static void after_one(void *ctx, const struct fl_pkt_rec *r)
{
	struct after_ctx *a = ctx;

	if (r->dir == a->dir && r->t_ns >= a->since_ns && r->len &&
	    fl_verdicts[fl_rec_verdict(r)].fate != FL_FATE_LOST)
		a->bytes += r->len;
}

/* Payload bytes side dir sent that got through from since_ns on (as far
 * as the flow's segment log reaches). */
static uint64_t bytes_after(const struct fl_flow *fl, int dir, uint64_t since_ns)
{
	struct after_ctx a = {.dir = dir, .since_ns = since_ns};

	fl_flow_log_walk(fl, after_one, &a);
	return a.bytes;
}

struct rst_ctx {
	int dir;         /* the target's direction */
	uint64_t before; /* RSTs before this time */
	int other;       /* an RST the target's socket got, or one made */
};

static void rst_one(void *ctx, const struct fl_pkt_rec *r)
{
	struct rst_ctx *c = ctx;

	if (!(r->flags & FL_TCP_RST) || r->t_ns > c->before)
		return;
	if (r->dir != c->dir || fl_rec_verdict(r) != FL_V_PASS)
		c->other = 1;
}

/* The close() on flow id's target side that the target's RST at rst_ns
 * followed, or NULL. */
static const struct fl_call *close_before(const struct fl_run_facts *f,
					  uint32_t id, uint64_t rst_ns)
{
	const struct fl_call *best = NULL;

	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (k->flow != id || !fl_call_closes(k))
			continue;
		if (k->t_ns - k->dur_ns > rst_ns + 1000000u)
			break;
		best = k;
	}
	return best;
}

/* expect no-linger-abort: SO_LINGER {1,0} makes close() send RST and
 * throw away unsent data (RFC 9293 3.10.7.1 ABORT). */
static void check_linger(struct fl_check_result *c, const struct fl_run_facts *f,
			 const struct fl_expect *e)
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

/* expect no-unread-close: closing a TCP socket with unread bytes sends
 * RST, not FIN, and throws the bytes away (RFC 2525 2.17); so does data
 * that arrives after the close, a moment too late for the queue to show
 * it.  Judged on the calls (unread bytes at a close that released the
 * socket) and on the wire: an RST from the target's side that no rule
 * made and no SO_LINGER {1,0} asked for, after a close(), is that loss.
 * A close that does not release the socket (a forked parent closing its
 * copy) sends nothing; an AF_UNIX socket never sends an RST. */
static void check_unread(struct fl_check_result *c, const struct fl_run_facts *f,
			 const struct fl_expect *e)
{
	const struct fl_flow *fl;
	int bad = 0, shared = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		/* An abortive close is no-abort-loss's to judge. */
		if (!fl_call_closes(k) || !(k->flags & FL_EVF_UNREAD) || !k->unread ||
		    (k->sock_family && !is_tcp(k)) || lingers_abort(k))
			continue;
		fl = call_flow(f, k);
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
	/* The wire: an RST the target's kernel sent after a close. */
	FOR_TARGET_SIDES(f, id, fl, t) {
		const struct fl_call *k;
		struct rst_ctx rc;
		uint64_t rst, late;

		rst = fl->rst_ns[t];
		if (!rst || (f->stop_ns && rst >= f->stop_ns))
			continue;
		k = close_before(f, id, rst);
		/* No close: not this check's (a refused SYN, an exit); an
		 * abortive close: no-abort-loss judges it; unread bytes at
		 * the close: counted above. */
		if (!k || lingers_abort(k) || ((k->flags & FL_EVF_UNREAD) && k->unread))
			continue;
		rc = (struct rst_ctx){.dir = t, .before = rst};
		fl_flow_log_walk(fl, rst_one, &rc);
		if (rc.other || (fl->rst_ns[!t] && fl->rst_ns[!t] <= rst))
			continue; /* an answer to a reset, not a loss */
		late = bytes_after(fl, !t, k->t_ns - k->dur_ns);
		where(w, sizeof(w), k);
		add_flow(c, id);
		detail_add(c, "%sclose() at %.3fs on %s with its receive queue "
			   "empty, then the kernel reset the connection at %.3fs "
			   "(RST from the target's side, no rule made it, no "
			   "SO_LINGER {1,0}): %llu byte%s from the peer arrived "
			   "after the close and were thrown away",
			   bad++ ? "; " : "", sec(k->t_ns), w, sec(rst),
			   (unsigned long long)late, late == 1 ? "" : "s");
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "every close() of a TCP socket that released it "
			   "found its receive queue empty, and no reset followed");
	if (shared)
		detail_add(c, "%s%d close%s with unread bytes released no socket "
			   "(another descriptor still held it; no RST)",
			   bad ? "; " : " (", shared, shared == 1 ? "" : "s");
	if (shared && !bad)
		detail_add(c, ")");
}

/* expect no-abort-loss: an abortive close (SO_LINGER {1,0}: RST, RFC 9293
 * 3.10.7.1 ABORT) is judged by its damage: unsent or unread bytes at the
 * close, or the peer still sending after it.  One that threw nothing away
 * (everything read, everything acknowledged, the peer done) is noted. */
static void check_abort_loss(struct fl_check_result *c,
			     const struct fl_run_facts *f, const struct fl_expect *e)
{
	int bad = 0, harmless = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_flow *fl = call_flow(f, k);
		uint32_t unsent, unread;
		uint64_t late = 0;

		if (!fl_call_closes(k) || !lingers_abort(k) || (k->sock_family && !is_tcp(k)))
			continue;
		/* A close that released nothing sent no RST. */
		if (fl && !(fl->rst_ns[k->dir] &&
			    fl->rst_ns[k->dir] + 50000000u >= k->t_ns))
			continue;
		unsent = (k->flags & FL_EVF_UNSENT) ? k->unsent : 0;
		unread = (k->flags & FL_EVF_UNREAD) ? k->unread : 0;
		if (fl)
			late = bytes_after(fl, !k->dir, k->t_ns - k->dur_ns);
		if (!unsent && !unread && !late) {
			harmless++;
			continue;
		}
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		detail_add(c, "%sabortive close() (SO_LINGER {1,0}) at %.3fs on %s "
			   "threw data away: %u unsent, %u unread, %llu arriving "
			   "from the peer after it", bad++ ? "; " : "",
			   sec(k->t_ns), w, unsent, unread,
			   (unsigned long long)late);
	}
	c->ok = !bad;
	if (!bad && !harmless)
		detail_add(c, "no abortive close (SO_LINGER {1,0})");
	if (harmless)
		detail_add(c, "%s%d abortive close%s threw nothing away (0 unsent, "
			   "0 unread, nothing arrived after it): noted, not "
			   "failed", bad ? "; " : "", harmless,
			   harmless == 1 ? "" : "s");
}

/* The first close of (pid, fd) after index i, or NULL. */
static const struct fl_call *close_after(const struct fl_run_facts *f,
					 int pid, int fd, size_t i)
{
	const struct fl_call *k = &f->calls[i];
	uint32_t l = 0;
	int linked = f->calls_linked;

	/* Along the socket's own calls (calls.h), when call i is one. */
	if (linked && k->pid == pid && k->fd == fd)
		l = k->next_fd;
	else if (linked && k->pid == pid && k->ret == fd &&
		 (k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4))
		l = k->next_ret;
	else
		linked = 0;
	for (; linked && l; l = f->calls[l - 1].next_fd) {
		const struct fl_call *x = &f->calls[l - 1];

		if (fl_call_closes(x))
			return x;
	}
	if (linked)
		return NULL;
	for (size_t j = i + 1; j < f->ncalls; j++) {
		const struct fl_call *x = &f->calls[j];

		if (x->pid == pid && x->fd == fd && fl_call_closes(x))
			return x;
	}
	return NULL;
}

/* The first close of call i's (pid, fd) after it, or NULL. */
static const struct fl_call *next_close(const struct fl_run_facts *f, size_t i)
{
	return close_after(f, f->calls[i].pid, f->calls[i].fd, i);
}

/* A call that says the connection is over, to be followed by close():
 * for eof-close a read that returned 0, for error-close a read or write
 * that failed with anything but EAGAIN or EINTR. */

/* The first such call on this fd since it was last closed (later ones
 * repeat the news). */
static int first_end(const struct fl_run_facts *f, size_t i, int error)
{
	const struct fl_call *k = &f->calls[i];

	if (f->calls_linked) {
		/* Back along the socket's own calls, to where it was
		 * opened (or the close of the fd's previous socket). */
		for (uint32_t l = k->prev_fd; l; l = f->calls[l - 1].prev_fd) {
			const struct fl_call *x = &f->calls[l - 1];

			if (fl_call_closes(x))
				return 1;
			if (fl_call_ends_conn(x, error))
				return 0;
		}
		return 1;
	}
	for (size_t j = i; j-- > 0;) {
		const struct fl_call *x = &f->calls[j];

		if (x->pid != k->pid || x->fd != k->fd)
			continue;
		if (fl_call_closes(x))
			return 1;
		if (fl_call_ends_conn(x, error))
			return 0;
	}
	return 1;
}


/*
 * expect eof-close DUR: after read() returns 0, close within DUR;
 * expect error-close DUR: after a read or write fails (not EAGAIN, not
 * EINTR), close within DUR.  A target that ended before DUR ran out is
 * not judged: its exit closed the socket, and nothing is proven.
 */
static void check_close_after(struct fl_check_result *c,
			      const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
	int error = e->kind == FL_CHK_ERROR_CLOSE;
	const char *what = error ? "failure" : "EOF";
	int bad = 0, n = 0, early = 0, exited = 0;
	char w[200], how[64];

	if (!need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_call *cl;

		if (!fl_call_ends_conn(k, error) || !first_end(f, i, error))
			continue;
		n++;
		cl = next_close(f, i);
		if (cl && cl->t_ns - k->t_ns <= limit_ns)
			continue;
		/* The target's own exit closed it in time. */
		if (!cl && f->target.ended && !f->killed_by_harness &&
		    f->target.t_ns < k->t_ns + limit_ns) {
			exited++;
			continue;
		}
		/* faultline stopped it (or the run ended) before the time
		 * was up: the window was cut short. */
		if (!cl && (f->stop_ns ? f->stop_ns : f->end_ns) < k->t_ns + limit_ns) {
			early++;
			continue;
		}
		where(w, sizeof(w), k);
		add_flow(c, k->flow);
		if (error)
			snprintf(how, sizeof(how), "failed with %s", fl_err_name(k->err));
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
	c->skipped = early > 0;
	if (!bad)
		detail_add(c, "%d %s%s, each closed within %.3fs", n - early, what,
			   n - early == 1 ? "" : "s", sec(limit_ns));
	if (exited)
		detail_add(c, " (%d by the target's own exit)", exited);
	if (early)
		detail_add(c, "; not judged: %d %s%s still open when faultline "
			   "stopped the target, less than %.3fs later", early,
			   what, early == 1 ? "" : "s", sec(limit_ns));
}

/* expect close-time <= DUR: no close() of a socket blocks longer.  Only
 * SO_LINGER {1,N} makes close() wait: for the data and the FIN to be
 * acknowledged, at most N seconds. */
static void check_close_time(struct fl_check_result *c,
			     const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
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
				   k->ret ? fl_err_name(k->err) : " (Linux reports no "
				   "EWOULDBLOCK; the data may still be lost)");
	}
	c->ok = !bad;
	if (!bad)
		detail_add(c, "%d close%s, the longest took %.3fs", n,
			   n == 1 ? "" : "s", sec(longest));
}

/* expect dead-peer DUR: a peer that goes silent (no FIN, no RST) is let go
 * within DUR of its last segment. */
static void check_dead_peer(struct fl_check_result *c,
			    const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
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
		if (!d.closed_ns && (f->stop_ns ? f->stop_ns : f->end_ns) <
					    d.since_ns + limit_ns) {
			early++;
			continue;
		}
		fl_dead_peer_describe(&d, text, sizeof(text));
		add_flow(c, id);
		detail_add(c, "%sflow %u: %s", bad++ ? "; " : "", id, text);
	}
	c->ok = !bad;
	c->skipped = early > 0;
	if (!bad && !n)
		detail_add(c, "no peer went silent while the target held its "
			   "connection");
	else if (!bad)
		detail_add(c, "%d silent peer%s, each let go within %.3fs",
			   n - early, n - early == 1 ? "" : "s", sec(limit_ns));
	if (early)
		detail_add(c, "; not judged: %d silent peer%s still held when the "
			   "run ended, less than %.3fs later", early,
			   early == 1 ? "" : "s", sec(limit_ns));
}

/* expect no-close-wait DUR: judged from the segments: the target's socket
 * is in CLOSE_WAIT from the peer's FIN until its own FIN or RST (RFC 9293
 * 3.3.2), or until the target exits. */
static void check_close_wait(struct fl_check_result *c,
			     const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
	const struct fl_flow *fl;
	int bad = 0, n = 0, early = 0;
	char cl[64], sv[64];

	FOR_TARGET_SIDES(f, id, fl, t) {
		int p = !t;
		uint64_t fin, end;
		const char *how;
		int cut = 0;

		fin = fl->fin_ns[p];
		if (!fin || (fl->fin_ns[t] && fl->fin_ns[t] <= fin) ||
		    (fl->rst_ns[t] && fl->rst_ns[t] <= fin) ||
		    (fl->rst_ns[p] && fl->rst_ns[p] <= fin))
			continue;
		n++;
		/* A FIN or RST after faultline's stop is the stop's. */
		if (fl->fin_ns[t] && (!f->stop_ns || fl->fin_ns[t] < f->stop_ns)) {
			end = fl->fin_ns[t];
			how = "its FIN";
		} else if (fl->rst_ns[t] && (!f->stop_ns || fl->rst_ns[t] < f->stop_ns)) {
			end = fl->rst_ns[t];
			how = "its RST";
		} else if (f->stop_ns && f->stop_ns > fin) {
			end = f->stop_ns;
			how = "faultline stopped the target";
			cut = 1;
		} else if (f->target.ended && f->target.t_ns > fin) {
			end = f->target.t_ns;
			how = "the target's exit";
		} else {
			end = f->end_ns;
			how = "the end of the run";
			cut = 1;
		}
		if (end - fin <= limit_ns) {
			early += cut;
			continue;
		}
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

			if (k->flow == id && fl_call_is_read(k->fn) && k->ret == 0) {
				detail_add(c, "; %s() returned 0 at %.3fs (pid %d "
					   "fd %d)", fl_ev_fn_name(k->fn),
					   sec(k->t_ns), k->pid, k->fd);
				break;
			}
		}
	}
	c->ok = !bad;
	c->skipped = early > 0;
	if (!bad)
		detail_add(c, "%d passive close%s, none in CLOSE_WAIT longer "
			   "than %.3fs", n - early, n - early == 1 ? "" : "s",
			   sec(limit_ns));
	if (early)
		detail_add(c, "; not judged: %d socket%s still in CLOSE_WAIT when "
			   "the run ended, less than %.3fs after the peer's FIN",
			   early, early == 1 ? "" : "s", sec(limit_ns));
}

/* expect no-sigpipe: neither the target's first process nor any process
 * whose parent reaped it through the shim died of SIGPIPE. */
static void check_sigpipe(struct fl_check_result *c, const struct fl_run_facts *f,
			  const struct fl_expect *e)
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

		if (fl_call_is_write(k->fn) && k->err == EPIPE && !epipe++)
			detail_add(c, "; first EPIPE survived: %s() at %.3fs (pid "
				   "%d fd %d)", fl_ev_fn_name(k->fn), sec(k->t_ns),
				   k->pid, k->fd);
	}
}

/* How long an ended connection's socket may stay open in a process that
 * lives on before it counts as leaked. */
#define LEAK_NS 1000000000ull

static int alive_at_stop(const struct fl_run_facts *f, int pid)
{
	for (size_t i = 0; i < f->nalive; i++)
		if (f->alive_at_stop[i] == pid)
			return 1;
	return 0;
}

/* The last moment process pid is known to have lived: faultline's stop if
 * it was still there, the root's exit, else its last call. */
static uint64_t lived_until(const struct fl_run_facts *f, int pid)
{
	uint64_t last = 0;

	if (f->stop_ns && alive_at_stop(f, pid))
		return f->stop_ns;
	if (pid == f->target.ns_pid && f->target.ended)
		return f->target.t_ns;
	if (!f->stop_ns && !f->target.ended)
		return f->end_ns;
	for (size_t i = 0; i < f->ncalls; i++)
		if (f->calls[i].pid == pid && f->calls[i].t_ns > last)
			last = f->calls[i].t_ns;
	return last;
}

/* When the connection of the socket opened by call `open` ended: the
 * peer's FIN or RST, the target's own RST, EOF or a hard error seen by a
 * read, or a shutdown of both directions; 0 if it did not. */
static uint64_t conn_ended(const struct fl_run_facts *f, const struct fl_call *open,
			   size_t from)
{
	const struct fl_flow *fl = call_flow(f, open);
	uint64_t end = 0;
	int rd = 0, wr = 0;

	/* What happened once faultline began stopping the target is the
	 * stop's doing: the connection had not ended by itself. */
#define EARLIER(t)                                                             \
	do {                                                                   \
		if ((t) && (!end || (t) < end) && (!f->stop_ns || (t) < f->stop_ns)) \
			end = (t);                                             \
	} while (0)
	if (fl) {
		EARLIER(fl->fin_ns[!open->dir]);
		EARLIER(fl->rst_ns[!open->dir]);
		EARLIER(fl->rst_ns[open->dir]);
	}
	for (size_t j = from; j < f->ncalls; j++) {
		const struct fl_call *x = &f->calls[j];

		if (x->pid != open->pid || x->fd != open->fd)
			continue;
		if (fl_call_closes(x))
			break;
		if (fl_call_ends_conn(x, 0) || fl_call_ends_conn(x, 1))
			EARLIER(x->t_ns);
		if (x->fn == FL_FN_SHUTDOWN && x->ret == 0) {
			rd |= x->arg == SHUT_RD || x->arg == SHUT_RDWR;
			wr |= x->arg == SHUT_WR || x->arg == SHUT_RDWR;
			if (rd && wr)
				EARLIER(x->t_ns);
		}
	}
#undef EARLIER
	return end;
}

/* A call that opened a connection socket (accepted or connected): *open
 * is it with fd set to that socket. */
static int opens_conn(const struct fl_call *k, struct fl_call *open)
{
	*open = *k;
	if ((k->fn == FL_FN_ACCEPT || k->fn == FL_FN_ACCEPT4) && k->ret >= 0)
		open->fd = (int)k->ret;
	else if (k->fn == FL_FN_CONNECT && (k->ret == 0 || k->err == EINPROGRESS))
		open->fd = k->fd;
	else
		return 0;
	return 1;
}

/* 1 if (open's pid, fd) is closed after call index i. */
static int closed_later(const struct fl_run_facts *f, size_t i,
			const struct fl_call *open)
{
	return close_after(f, open->pid, open->fd, i) != NULL;
}

/* expect no-fd-leak: a connection socket (accepted or connected) that
 * stays open after its connection ended while its process lives on, or
 * that a process keeps accumulating, is leaked.  An open connection at
 * the end of the run is not a leak, and neither is a socket the process's
 * exit released: exiting closes every descriptor. */
static void check_fd_leak(struct fl_check_result *c, const struct fl_run_facts *f,
			  const struct fl_expect *e)
{
	struct open_sock {
		struct fl_call k;
		uint64_t ended, until;
		const char *fn;
		uint64_t t_ns;
	} *v = NULL;
	size_t nv = 0;
	int bad = 0, n = 0, early = 0, left = 0, most_pid = 0;
	size_t most = 0;
	char w[200];

	if (!need_shim(c, f))
		return;
	v = calloc(f->ncalls ? f->ncalls : 1, sizeof(*v));
	if (!v) {
		c->ok = 0;
		detail_add(c, "out of memory");
		return;
	}
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		struct fl_call open;

		if (!opens_conn(k, &open))
			continue;
		n++;
		if (closed_later(f, i, &open))
			continue;
		left++;
		v[nv] = (struct open_sock){.k = open, .fn = fl_ev_fn_name(k->fn),
					   .t_ns = k->t_ns};
		v[nv].ended = conn_ended(f, &open, i + 1);
		if (!v[nv].ended)
			continue; /* still a live connection: not a leak */
		v[nv].until = lived_until(f, open.pid);
		nv++;
	}
	for (size_t i = 0; i < nv; i++) {
		const struct open_sock *o = &v[i];
		size_t held = 0;

		/* Others of the same process whose connection had ended too,
		 * while this one was still open: accumulating. */
		for (size_t j = 0; j < nv; j++)
			held += v[j].k.pid == o->k.pid && v[j].ended <= o->until;
		if (held < 2 && o->until < o->ended + LEAK_NS) {
			/* Not yet long: cut short by faultline, or the
			 * process's own exit released it. */
			if (f->stop_ns && o->until == f->stop_ns)
				early++;
			continue;
		}
		where(w, sizeof(w), &o->k);
		add_flow(c, o->k.flow);
		if (held >= 2) {
			detail_add(c, "%s%s at %.3fs on %s: its connection ended at "
				   "%.3fs and the fd was never closed", bad++ ? "; " : "",
				   o->fn, sec(o->t_ns), w, sec(o->ended));
			if (held > most) {
				most = held;
				most_pid = o->k.pid;
			}
		} else
			detail_add(c, "%s%s at %.3fs on %s: its connection ended at "
				   "%.3fs and the fd was still open %.3fs later, "
				   "while pid %d lived on", bad++ ? "; " : "",
				   o->fn, sec(o->t_ns), w, sec(o->ended),
				   sec(o->until - o->ended), o->k.pid);
	}
	free(v);
	if (most)
		detail_add(c, "; pid %d accumulated %zu such sockets", most_pid, most);
	c->ok = !bad;
	c->skipped = early > 0 && !bad;
	if (!bad && !left)
		detail_add(c, "%d connection socket%s opened, all closed", n,
			   n == 1 ? "" : "s");
	else if (!bad)
		detail_add(c, "%d connection socket%s opened; %d not closed, none "
			   "after its connection ended while its process lived "
			   "on (an open connection, or one its process's exit "
			   "released)", n, n == 1 ? "" : "s", left);
	if (early)
		detail_add(c, "; not judged: %d ended connection%s still open when "
			   "faultline stopped the target, less than %.3fs later",
			   early, early == 1 ? "" : "s", sec(LEAK_NS));
}

/* expect resets <= N: connections the target's own socket reset (an RST
 * it sent got through) before the stop. */
static void check_resets(struct fl_check_result *c,
			 const struct fl_run_facts *f, const struct fl_expect *e)
{
	const struct fl_flow *fl;
	int64_t n = 0, shown = 0;

	FOR_TARGET_SIDES(f, id, fl, t)
		n += fl->rst_ns[t] && (!f->stop_ns || fl->rst_ns[t] < f->stop_ns);
	c->ok = n <= e->arg;
	detail_add(c, "%lld connection%s reset by the target (at most %lld "
		   "allowed)", (long long)n, n == 1 ? "" : "s",
		   (long long)e->arg);
	FOR_TARGET_SIDES(f, id, fl, t) {
		char cl[64], sv[64];
		uint64_t at = fl->rst_ns[t];

		if (!at || (f->stop_ns && at >= f->stop_ns) || shown == 4)
			continue;
		fl_endpoint_format(&fl->ep[0], cl, sizeof(cl));
		fl_endpoint_format(&fl->ep[1], sv, sizeof(sv));
		detail_add(c, "%sflow %u (%s -> %s): the target's %s socket "
			   "sent RST at %.3fs", shown++ ? "; " : ": ", id, cl,
			   sv, t == FL_DIR_C2S ? "client" : "server", sec(at));
		add_flow(c, id);
	}
}

/* expect time-wait <= N */
static void check_time_wait(struct fl_check_result *c,
			    const struct fl_run_facts *f, const struct fl_expect *e)
{
	int64_t max = e->arg;
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

/* The states of flow id's side dir from changes before until_ns (0: all). */
static size_t path_until(const struct fl_states *st, uint32_t id, int dir,
			 uint64_t until_ns, uint8_t *out, size_t max)
{
	size_t nch, n = 0;
	const struct fl_state_change *ch = fl_states_changes(st, &nch);

	for (size_t i = 0; i < nch && n < max; i++)
		if (ch[i].flow == id && ch[i].dir == dir &&
		    (!until_ns || ch[i].t_ns < until_ns))
			out[n++] = ch[i].to;
	return n;
}

static int has_run(const uint8_t *obs, size_t n, const uint8_t *want, size_t nw)
{
	for (size_t at = 0; at + nw <= n; at++)
		if (memcmp(obs + at, want, nw) == 0)
			return 1;
	return 0;
}

/* expect path SIDE S > S ...: on every flow where that side is known, its
 * observed states contain the expected ones as one unbroken run, before
 * faultline stopped the target: what its stop caused (the kernel closing
 * the killed target's sockets) is not the program's behaviour. */
static void check_path(struct fl_check_result *c, const struct fl_run_facts *f,
		       const struct fl_expect *e)
{
	char want[256], got[256];
	int judged = 0, bad = 0;

	path_text(want, sizeof(want), e->path, e->npath);
	for (uint32_t id = 1; f->flows && f->states && id <= fl_flow_count(f->flows);
	     id++) {
		const struct fl_flow *fl = fl_flow_get(f->flows, id);
		uint8_t obs[FL_STATES_PATH_MAX], all[FL_STATES_PATH_MAX];
		size_t n, nall;

		for (int dir = 0; dir < 2; dir++) {
		int judge;

		switch (e->path_side) {
		case FL_SIDE_CLIENT:
			judge = dir == FL_DIR_C2S;
			break;
		case FL_SIDE_SERVER:
			judge = dir == FL_DIR_S2C;
			break;
		case FL_SIDE_TARGET:
			/* Both sides of a flow with both ends in the target. */
			judge = fl_flow_target_dir(fl, dir);
			break;
		case FL_SIDE_PEER:
			/* ... and neither is a peer. */
			judge = fl->target_side != FL_SIDE_ANY &&
			       !fl_flow_target_dir(fl, dir);
			break;
		case FL_SIDE_ANY:
		case FL_SIDE_BOTH:
		default:
			judge = 0;
			break;
		}
		if (!judge)
			continue;
		nall = path_until(f->states, id, dir, 0, all, FL_STATES_PATH_MAX);
		n = path_until(f->states, id, dir, f->stop_ns, obs, FL_STATES_PATH_MAX);
		if (!nall)
			continue;
		judged++;
		if (has_run(obs, n, e->path, e->npath))
			continue;
		add_flow(c, id);
		path_text(got, sizeof(got), all, nall);
		if (n < nall && has_run(all, nall, e->path, e->npath)) {
			detail_add(c, "%sflow %u %s: observed %s; %s only after "
				   "faultline stopped the target at %.3fs (the "
				   "stop's doing, not the program's)", bad++ ? "; " : "",
				   id, dir == FL_DIR_C2S ? "client" : "server", got,
				   fl_state_name(all[n]) ?: "?", sec(f->stop_ns));
			continue;
		}
		detail_add(c, "%sflow %u %s: observed %s; expected %s",
			   bad++ ? "; " : "", id,
			   dir == FL_DIR_C2S ? "client" : "server", got, want);
		}
	}
	c->ok = judged && !bad;
	if (!judged)
		detail_add(c, "no flow showed the %s side's states; expected %s",
			   fl_side_name(e->path_side), want);
	else if (!bad)
		detail_add(c, "%d flow%s went %s", judged, judged == 1 ? "" : "s",
			   want);
}

/* ---- what is still undecided while the run goes on ---- */

static void later(uint64_t *until, uint64_t t, char *why, size_t n,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void later(uint64_t *until, uint64_t t, char *why, size_t n,
		  const char *fmt, ...)
{
	va_list ap;

	/* A window is decided once time is past its limit, not at it (the
	 * checks pass what lasted exactly the limit). */
	t += 1000000u;

	if (t <= *until)
		return;
	if (!*until && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	*until = t;
}

static const struct fl_expect *find_expect(const struct fl_ruleset *rs,
					   enum fl_check_kind k)
{
	for (size_t i = 0; rs && i < rs->nexpects; i++)
		if (rs->expects[i].kind == k)
			return &rs->expects[i];
	return NULL;
}

/* A FIN sent by either side and not yet acknowledged, with no RST: its
 * retransmission is pending.  Only flows a rule acted on, and not a
 * blackholed one (nothing will ever get through). */
struct fin_ctx {
	int rst;        /* an RST got through (as sent, rewritten or made) */
	int16_t rule[2]; /* the rule that acted on each side's last FIN, -1 */
	int lost[2];    /* that FIN did not get through as a FIN */
};

static void last_fins(void *ctx, const struct fl_pkt_rec *r)
{
	struct fin_ctx *c = ctx;
	enum fl_verdict v = fl_rec_verdict(r);
	int through = fl_verdicts[v].fate != FL_FATE_LOST;

	if ((r->flags & FL_TCP_RST) && through)
		c->rst = 1;
	if ((r->flags & FL_TCP_FIN) && r->dir < 2) {
		c->rule[r->dir] = r->rule;
		c->lost[r->dir] = !through || v == FL_V_REWRITE;
	}
}

/* A rule that acts on every segment it matches, for the whole run: a
 * retransmission will meet it again. */
static int always_acts(const struct fl_ruleset *rs, int rule)
{
	const struct fl_rule *r;

	if (!rs || rule < 0 || (size_t)rule >= rs->nrules)
		return 0;
	r = &rs->rules[rule];
	return !r->times && !r->has_prob && !r->has_before && !r->nth;
}

/* A FIN sent by either side and not yet acknowledged, with no RST: its
 * retransmission is pending and may still get through.  Only flows a
 * rule acted on; not a blackholed one, nor one whose FIN a rule without
 * limits keeps losing or rewriting (nothing will ever get through). */
static int mid_teardown(const struct fl_run_facts *f, const struct fl_flow *fl)
{
	struct fin_ctx fc = {.rule = {-1, -1}};

	if (!fl->faults || fl->blackholed || fl->rst_ns[0] || fl->rst_ns[1] ||
	    (fl->flags_seen[0] & FL_TCP_RST) || (fl->flags_seen[1] & FL_TCP_RST))
		return 0;
	fl_flow_log_walk(fl, last_fins, &fc);
	if (fc.rst)
		return 0; /* a rule's RST ended it (FIN rewritten to RST) */
	for (int d = 0; d < 2; d++) {
		if (!(fl->flags_seen[d] & FL_TCP_FIN))
			continue;
		if (fc.lost[d] && always_acts(f->rs, fc.rule[d]))
			continue;
		if (!fl->snd_max_known[d] || !fl->acked_known[!d] ||
		    (int32_t)(fl->acked[!d] - fl->snd_max[d]) < 0)
			return 1;
	}
	return 0;
}

uint64_t fl_checks_undecided(const struct fl_run_facts *f, uint64_t now,
			     char *why, size_t n)
{
	const struct fl_expect *cw = find_expect(f->rs, FL_CHK_NO_CLOSE_WAIT);
	const struct fl_expect *eof = find_expect(f->rs, FL_CHK_EOF_CLOSE);
	const struct fl_expect *er = find_expect(f->rs, FL_CHK_ERROR_CLOSE);
	const struct fl_expect *dp = find_expect(f->rs, FL_CHK_DEAD_PEER);
	const struct fl_expect *leak = find_expect(f->rs, FL_CHK_NO_FD_LEAK);
	const struct fl_flow *fl;
	uint64_t until = 0;

	if (n)
		why[0] = 0;
	for (uint32_t id = 1; f->flows && id <= fl_flow_count(f->flows); id++) {
		struct fl_dead_peer d;

		fl = fl_flow_get(f->flows, id);
		if (mid_teardown(f, fl))
			later(&until, now + 20000000u, why, n, "flow %u is still "
			      "mid-teardown (a FIN not yet acknowledged)", id);
		if (dp && fl_dead_peer(f, id, &d) && !d.closed_ns &&
		    now <= d.since_ns + (uint64_t)dp->arg * 1000u + 1000000u)
			later(&until, d.since_ns + (uint64_t)dp->arg * 1000u, why, n,
			      "flow %u: its peer went silent", id);
	}
	FOR_TARGET_SIDES(f, id, fl, t) {
		int p = !t;

		if (cw && fl->fin_ns[p] && !fl->fin_ns[t] && !fl->rst_ns[t] &&
		    !fl->rst_ns[p] && now <= fl->fin_ns[p] + (uint64_t)cw->arg * 1000u + 1000000u)
			later(&until, fl->fin_ns[p] + (uint64_t)cw->arg * 1000u, why,
			      n, "flow %u: the target's socket is in CLOSE_WAIT", id);
	}
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_expect *e = fl_call_ends_conn(k, 0) ? eof : fl_call_ends_conn(k, 1) ? er : NULL;
		struct fl_call open;
		uint64_t end;

		if (leak && opens_conn(k, &open) && !closed_later(f, i, &open)) {
			end = conn_ended(f, &open, i + 1);
			if (end && now <= end + LEAK_NS + 1000000u)
				later(&until, end + LEAK_NS, why, n, "pid %d fd %d: "
				      "connection ended, fd still open", open.pid,
				      open.fd);
		}
		if (!e || !first_end(f, i, e == er) || next_close(f, i))
			continue;
		end = k->t_ns + (uint64_t)e->arg * 1000u;
		if (now <= end + 1000000u)
			later(&until, end, why, n, "pid %d fd %d: %s() %s, not yet "
			      "closed", k->pid, k->fd, fl_ev_fn_name(k->fn),
			      e == eof ? "returned 0" : "failed");
	}
	return until;
}

enum fl_verdict fl_rec_verdict(const struct fl_pkt_rec *r)
{
	for (int v = 0; v < FL_V_COUNT; v++)
		if (r->verdict == fl_verdicts[v].name ||
		    !strcmp(r->verdict, fl_verdicts[v].name))
			return (enum fl_verdict)v;
	return FL_V_PASS;
}

enum fl_result fl_checks_result(const struct fl_check_result *c, size_t n,
				int allow_skip)
{
	int skipped = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].ok)
			return FL_RESULT_FAIL;
		skipped |= c[i].skipped;
	}
	return skipped && !allow_skip ? FL_RESULT_INCONCLUSIVE : FL_RESULT_PASS;
}

const char *fl_result_name(enum fl_result r)
{
	switch (r) {
	case FL_RESULT_PASS:
		return "PASS";
	case FL_RESULT_FAIL:
		return "FAIL";
	case FL_RESULT_INCONCLUSIVE:
		return "INCONCLUSIVE";
	}
	return "FAIL";
}

/* How each expect check is judged (rules/checks.def lists them). */
typedef void judge_fn(struct fl_check_result *c, const struct fl_run_facts *f,
		      const struct fl_expect *e);

static judge_fn *const judges[FL_CHK_COUNT] = {
	[FL_CHK_EXIT] = check_exit,
	[FL_CHK_SIGNAL] = check_signal,
	[FL_CHK_NO_CLOSE_WAIT] = check_close_wait,
	[FL_CHK_EOF_CLOSE] = check_close_after,
	[FL_CHK_ERROR_CLOSE] = check_close_after,
	[FL_CHK_NO_SIGPIPE] = check_sigpipe,
	[FL_CHK_NO_LINGER_ABORT] = check_linger,
	[FL_CHK_NO_ABORT_LOSS] = check_abort_loss,
	[FL_CHK_NO_UNREAD_CLOSE] = check_unread,
	[FL_CHK_NO_FD_LEAK] = check_fd_leak,
	[FL_CHK_TIME_WAIT] = check_time_wait,
	[FL_CHK_CLOSE_TIME] = check_close_time,
	[FL_CHK_DEAD_PEER] = check_dead_peer,
	[FL_CHK_PATH] = check_path,
	[FL_CHK_RESETS] = check_resets,
};

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
		if ((unsigned)e->kind >= FL_CHK_COUNT || !judges[e->kind])
			continue;
		if (!(c = add(&r, name, e)))
			goto nomem;
		judges[e->kind](c, f, e);
		/* Judged on the calls: per flow, only where they were
		 * observed. */
		if (fl_check_desc(e->kind)->on_calls && f->shim_loaded)
			uncovered(c, f);
	}
	if (!find_expect(rs, FL_CHK_EXIT) && !find_expect(rs, FL_CHK_SIGNAL) &&
	    f->target.started) {
		if (!(c = add(&r, "target", NULL)))
			goto nomem;
		check_target(c, f);
	}
	for (size_t i = 0; rs && i < rs->nexpects; i++) {
		if (rs->expects[i].kind == FL_CHK_EXIT ||
		    rs->expects[i].kind == FL_CHK_SIGNAL)
			continue;
		/* Some check judges connections. */
		if (!(c = add(&r, "connections", NULL)))
			goto nomem;
		check_connections(c, f);
		break;
	}
	if (f->settle_cut) {
		if (!(c = add(&r, "settle", NULL)))
			goto nomem;
		c->ok = 1;
		c->skipped = 1;
		snprintf(c->detail, sizeof(c->detail), "not judged: --timeout "
			 "ended the run %.3fs after the driver while %s",
			 sec(f->settle_ns), f->settle_why);
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
