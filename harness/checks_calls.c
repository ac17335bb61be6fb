/*
 * checks_calls.c - the checks of the program's socket calls, as the shim
 * reported them (calls.h): no-linger-abort, no-unread-close,
 * no-abort-loss, eof-close and error-close, close-time, no-sigpipe,
 * no-fd-leak; with the helpers that follow a socket's own calls (its
 * close, the call that told it the connection ended, when that
 * connection ended).  Where a call's damage shows on the wire (an RST
 * after a close, data arriving after it) they read the flow's segments
 * too.  Single-threaded.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "checks_int.h"

static void where(char *buf, size_t n, const struct fl_call *k)
{
	if (k->flow)
		snprintf(buf, n, "pid %d fd %d flow %u (%s <-> %s)", k->pid,
			 k->fd, k->flow, k->local, k->peer);
	else
		snprintf(buf, n, "pid %d fd %d (%s)", k->pid, k->fd,
			 k->local[0] ? k->local : "unbound");
}

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
	    fl_verdict_fate(r->verdict) != FL_FATE_LOST)
		a->bytes += r->len;
}

/* Payload bytes side dir of flow id sent that got through from since_ns
 * on (as far as the flow's ladder reaches). */
static uint64_t bytes_after(const struct fl_run_facts *f, uint32_t id, int dir,
			    uint64_t since_ns)
{
	struct after_ctx a = {.dir = dir, .since_ns = since_ns};

	fl_timeline_ladder_walk(f->timeline, id, after_one, &a);
	return a.bytes;
}

/* 1 if call k's side of its flow got an RST through from 50ms before k
 * on: the RST of a close that released the socket. */
static int rst_after(const struct fl_run_facts *f, const struct fl_call *k)
{
	uint64_t rst = fl_timeline_facts(f->timeline, k->flow)->rst_ns[k->dir];

	return rst && rst + 50000000u >= k->t_ns;
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
	if (r->dir != c->dir || r->verdict != FL_V_PASS)
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
void fl_judge_NO_LINGER_ABORT(struct fl_check_result *c, const struct fl_run_facts *f,
			      const struct fl_expect *e)
{
	int bad = 0;
	char w[200];

	if (!fl_need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (k->fn != FL_FN_SETSOCKOPT || k->ret != 0 ||
		    k->level != SOL_SOCKET || k->optname != SO_LINGER ||
		    !k->linger_onoff || k->linger_secs != 0)
			continue;
		where(w, sizeof(w), k);
		fl_add_flow(c, k->flow);
		fl_detail_add(c, "%sSO_LINGER {1,0} set at %.3fs on %s",
			   bad++ ? "; " : "", sec(k->t_ns), w);
	}
	c->ok = !bad;
	if (!bad)
		fl_detail_add(c, "no socket was given SO_LINGER {1,0}");
}

/* expect no-unread-close: closing a TCP socket with unread bytes sends
 * RST, not FIN, and throws the bytes away (RFC 2525 2.17); so does data
 * that arrives after the close, a moment too late for the queue to show
 * it.  Judged on the calls (unread bytes at a close that released the
 * socket) and on the wire: an RST from the target's side that no rule
 * made and no SO_LINGER {1,0} asked for, after a close(), is that loss.
 * A close that does not release the socket (a forked parent closing its
 * copy) sends nothing; an AF_UNIX socket never sends an RST. */
void fl_judge_NO_UNREAD_CLOSE(struct fl_check_result *c, const struct fl_run_facts *f,
			      const struct fl_expect *e)
{
	const struct fl_flow *fl;
	int bad = 0, shared = 0;
	char w[200];

	if (!fl_need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		/* An abortive close is no-abort-loss's to judge. */
		if (!fl_call_closes(k) || !(k->flags & FL_EVF_UNREAD) || !k->unread ||
		    (k->sock_family && !is_tcp(k)) || lingers_abort(k))
			continue;
		fl = call_flow(f, k);
		if (fl && !rst_after(f, k)) {
			shared++;
			continue;
		}
		where(w, sizeof(w), k);
		fl_add_flow(c, k->flow);
		fl_detail_add(c, "%sclose() at %.3fs with %u unread bytes on %s%s",
			   bad++ ? "; " : "", sec(k->t_ns), k->unread, w,
			   fl ? ": the kernel sent RST instead of FIN" : "");
	}
	/* The wire: an RST the target's kernel sent after a close. */
	FOR_TARGET_SIDES(f, id, fl, t) {
		const struct fl_flow_facts *ff = fl_timeline_facts(f->timeline, id);
		const struct fl_call *k;
		struct rst_ctx rc;
		uint64_t rst, late;

		rst = ff->rst_ns[t];
		if (!rst || (f->stop_ns && rst >= f->stop_ns))
			continue;
		k = close_before(f, id, rst);
		/* No close: not this check's (a refused SYN, an exit); an
		 * abortive close: no-abort-loss judges it; unread bytes at
		 * the close: counted above. */
		if (!k || lingers_abort(k) || ((k->flags & FL_EVF_UNREAD) && k->unread))
			continue;
		rc = (struct rst_ctx){.dir = t, .before = rst};
		fl_timeline_ladder_walk(f->timeline, id, rst_one, &rc);
		if (rc.other || (ff->rst_ns[!t] && ff->rst_ns[!t] <= rst))
			continue; /* an answer to a reset, not a loss */
		late = bytes_after(f, id, !t, k->t_ns - k->dur_ns);
		where(w, sizeof(w), k);
		fl_add_flow(c, id);
		fl_detail_add(c, "%sclose() at %.3fs on %s with its receive queue "
			   "empty, then the kernel reset the connection at %.3fs "
			   "(RST from the target's side, no rule made it, no "
			   "SO_LINGER {1,0}): %llu byte%s from the peer arrived "
			   "after the close and were thrown away",
			   bad++ ? "; " : "", sec(k->t_ns), w, sec(rst),
			   (unsigned long long)late, late == 1 ? "" : "s");
	}
	c->ok = !bad;
	if (!bad)
		fl_detail_add(c, "every close() of a TCP socket that released it "
			   "found its receive queue empty, and no reset followed");
	if (shared)
		fl_detail_add(c, "%s%d close%s with unread bytes released no socket "
			   "(another descriptor still held it; no RST)",
			   bad ? "; " : " (", shared, shared == 1 ? "" : "s");
	if (shared && !bad)
		fl_detail_add(c, ")");
}

/* expect no-abort-loss: an abortive close (SO_LINGER {1,0}: RST, RFC 9293
 * 3.10.7.1 ABORT) is judged by its damage: unsent or unread bytes at the
 * close, or the peer still sending after it.  One that threw nothing away
 * (everything read, everything acknowledged, the peer done) is noted. */
void fl_judge_NO_ABORT_LOSS(struct fl_check_result *c,
			    const struct fl_run_facts *f, const struct fl_expect *e)
{
	int bad = 0, harmless = 0;
	char w[200];

	if (!fl_need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_flow *fl = call_flow(f, k);
		uint32_t unsent, unread;
		uint64_t late = 0;

		if (!fl_call_closes(k) || !lingers_abort(k) || (k->sock_family && !is_tcp(k)))
			continue;
		/* A close that released nothing sent no RST. */
		if (fl && !rst_after(f, k))
			continue;
		unsent = (k->flags & FL_EVF_UNSENT) ? k->unsent : 0;
		unread = (k->flags & FL_EVF_UNREAD) ? k->unread : 0;
		if (fl)
			late = bytes_after(f, k->flow, !k->dir, k->t_ns - k->dur_ns);
		if (!unsent && !unread && !late) {
			harmless++;
			continue;
		}
		where(w, sizeof(w), k);
		fl_add_flow(c, k->flow);
		fl_detail_add(c, "%sabortive close() (SO_LINGER {1,0}) at %.3fs on %s "
			   "threw data away: %u unsent, %u unread, %llu arriving "
			   "from the peer after it", bad++ ? "; " : "",
			   sec(k->t_ns), w, unsent, unread,
			   (unsigned long long)late);
	}
	c->ok = !bad;
	if (!bad && !harmless)
		fl_detail_add(c, "no abortive close (SO_LINGER {1,0})");
	if (harmless)
		fl_detail_add(c, "%s%d abortive close%s threw nothing away (0 unsent, "
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
const struct fl_call *fl_next_close(const struct fl_run_facts *f, size_t i)
{
	return close_after(f, f->calls[i].pid, f->calls[i].fd, i);
}

/* A call that says the connection is over, to be followed by close():
 * for eof-close a read that returned 0, for error-close a read or write
 * that failed with anything but EAGAIN or EINTR. */

/* The first such call on this fd since it was last closed (later ones
 * repeat the news). */
int fl_first_end(const struct fl_run_facts *f, size_t i, int error)
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

	if (!fl_need_shim(c, f))
		return;
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		const struct fl_call *cl;

		if (!fl_call_ends_conn(k, error) || !fl_first_end(f, i, error))
			continue;
		n++;
		cl = fl_next_close(f, i);
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
		fl_add_flow(c, k->flow);
		if (error)
			snprintf(how, sizeof(how), "failed with %s", fl_err_name(k->err));
		else
			snprintf(how, sizeof(how), "returned 0");
		if (cl)
			fl_detail_add(c, "%s%s() %s at %.3fs on %s; close() only at "
				   "%.3fs (%.3fs later)", bad++ ? "; " : "",
				   fl_ev_fn_name(k->fn), how, sec(k->t_ns), w,
				   sec(cl->t_ns), sec(cl->t_ns - k->t_ns));
		else
			fl_detail_add(c, "%s%s() %s at %.3fs on %s; no close() by "
				   "%.3fs", bad++ ? "; " : "", fl_ev_fn_name(k->fn),
				   how, sec(k->t_ns), w, sec(f->end_ns));
	}
	c->ok = !bad;
	c->skipped = early > 0;
	if (!bad)
		fl_detail_add(c, "%d %s%s, each closed within %.3fs", n - early, what,
			   n - early == 1 ? "" : "s", sec(limit_ns));
	if (exited)
		fl_detail_add(c, " (%d by the target's own exit)", exited);
	if (early)
		fl_detail_add(c, "; not judged: %d %s%s still open when faultline "
			   "stopped the target, less than %.3fs later", early,
			   what, early == 1 ? "" : "s", sec(limit_ns));
}

void fl_judge_EOF_CLOSE(struct fl_check_result *c, const struct fl_run_facts *f,
			const struct fl_expect *e)
{
	check_close_after(c, f, e);
}

void fl_judge_ERROR_CLOSE(struct fl_check_result *c, const struct fl_run_facts *f,
			  const struct fl_expect *e)
{
	check_close_after(c, f, e);
}

/* expect close-time <= DUR: no close() of a socket blocks longer.  Only
 * SO_LINGER {1,N} makes close() wait: for the data and the FIN to be
 * acknowledged, at most N seconds. */
void fl_judge_CLOSE_TIME(struct fl_check_result *c,
			 const struct fl_run_facts *f, const struct fl_expect *e)
{
	uint64_t limit_ns = (uint64_t)e->arg * 1000u;
	int bad = 0, n = 0;
	uint64_t longest = 0;
	char w[200];

	if (!fl_need_shim(c, f))
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
		fl_add_flow(c, k->flow);
		fl_detail_add(c, "%sclose() at %.3fs on %s blocked %.3fs",
			   bad++ ? "; " : "", sec(k->t_ns - k->dur_ns), w,
			   sec(k->dur_ns));
		if (lingers)
			fl_detail_add(c, " (SO_LINGER {1,%d}", k->linger_secs);
		if (lingers && (k->flags & FL_EVF_UNSENT))
			fl_detail_add(c, ", %u bytes unacknowledged when called",
				   k->unsent);
		if (lingers)
			fl_detail_add(c, ")");
		if (lingers && k->dur_ns + 20000000u >= (uint64_t)k->linger_secs * 1000000000u)
			fl_detail_add(c, ": the linger time ran out and close() "
				   "returned %s%s", k->ret ? "an error " : "0",
				   k->ret ? fl_err_name(k->err) : " (Linux reports no "
				   "EWOULDBLOCK; the data may still be lost)");
	}
	c->ok = !bad;
	if (!bad)
		fl_detail_add(c, "%d close%s, the longest took %.3fs", n,
			   n == 1 ? "" : "s", sec(longest));
}

/* expect no-sigpipe: neither the target's first process nor any process
 * whose parent reaped it through the shim died of SIGPIPE. */
void fl_judge_NO_SIGPIPE(struct fl_check_result *c, const struct fl_run_facts *f,
			 const struct fl_expect *e)
{
	int epipe = 0, deaths = 0;

	if (f->target.ended && f->target.sig == SIGPIPE) {
		deaths++;
		fl_detail_add(c, "the target died of SIGPIPE at %.3fs",
			   sec(f->target.t_ns));
	}
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (k->fn == FL_FN_WAIT && k->arg == SIGPIPE) {
			fl_detail_add(c, "%sprocess %lld (a child of pid %d) died of "
				   "SIGPIPE; reaped at %.3fs", deaths++ ? "; " : "",
				   (long long)k->ret, k->pid, sec(k->t_ns));
		}
	}
	c->ok = !deaths;
	if (!deaths)
		fl_detail_add(c, "no target process died of SIGPIPE");
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];

		if (fl_call_is_write(k->fn) && k->err == EPIPE && !epipe++)
			fl_detail_add(c, "; first EPIPE survived: %s() at %.3fs (pid "
				   "%d fd %d)", fl_ev_fn_name(k->fn), sec(k->t_ns),
				   k->pid, k->fd);
	}
}


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
uint64_t fl_conn_ended(const struct fl_run_facts *f, const struct fl_call *open,
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
		const struct fl_flow_facts *ff = fl_timeline_facts(f->timeline, fl->id);

		EARLIER(ff->fin_ns[!open->dir]);
		EARLIER(ff->rst_ns[!open->dir]);
		EARLIER(ff->rst_ns[open->dir]);
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
int fl_opens_conn(const struct fl_call *k, struct fl_call *open)
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
int fl_closed_later(const struct fl_run_facts *f, size_t i,
		    const struct fl_call *open)
{
	return close_after(f, open->pid, open->fd, i) != NULL;
}

/* expect no-fd-leak: a connection socket (accepted or connected) that
 * stays open after its connection ended while its process lives on, or
 * that a process keeps accumulating, is leaked.  An open connection at
 * the end of the run is not a leak, and neither is a socket the process's
 * exit released: exiting closes every descriptor. */
void fl_judge_NO_FD_LEAK(struct fl_check_result *c, const struct fl_run_facts *f,
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

	if (!fl_need_shim(c, f))
		return;
	v = calloc(f->ncalls ? f->ncalls : 1, sizeof(*v));
	if (!v) {
		c->ok = 0;
		fl_detail_add(c, "out of memory");
		return;
	}
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct fl_call *k = &f->calls[i];
		struct fl_call open;

		if (!fl_opens_conn(k, &open))
			continue;
		n++;
		if (fl_closed_later(f, i, &open))
			continue;
		left++;
		v[nv] = (struct open_sock){.k = open, .fn = fl_ev_fn_name(k->fn),
					   .t_ns = k->t_ns};
		v[nv].ended = fl_conn_ended(f, &open, i + 1);
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
		if (held < 2 && o->until < o->ended + FL_LEAK_NS) {
			/* Not yet long: cut short by faultline, or the
			 * process's own exit released it. */
			if (f->stop_ns && o->until == f->stop_ns)
				early++;
			continue;
		}
		where(w, sizeof(w), &o->k);
		fl_add_flow(c, o->k.flow);
		if (held >= 2) {
			fl_detail_add(c, "%s%s at %.3fs on %s: its connection ended at "
				   "%.3fs and the fd was never closed", bad++ ? "; " : "",
				   o->fn, sec(o->t_ns), w, sec(o->ended));
			if (held > most) {
				most = held;
				most_pid = o->k.pid;
			}
		} else
			fl_detail_add(c, "%s%s at %.3fs on %s: its connection ended at "
				   "%.3fs and the fd was still open %.3fs later, "
				   "while pid %d lived on", bad++ ? "; " : "",
				   o->fn, sec(o->t_ns), w, sec(o->ended),
				   sec(o->until - o->ended), o->k.pid);
	}
	free(v);
	if (most)
		fl_detail_add(c, "; pid %d accumulated %zu such sockets", most_pid, most);
	c->ok = !bad;
	c->skipped = early > 0 && !bad;
	if (!bad && !left)
		fl_detail_add(c, "%d connection socket%s opened, all closed", n,
			   n == 1 ? "" : "s");
	else if (!bad)
		fl_detail_add(c, "%d connection socket%s opened; %d not closed, none "
			   "after its connection ended while its process lived "
			   "on (an open connection, or one its process's exit "
			   "released)", n, n == 1 ? "" : "s", left);
	if (early)
		fl_detail_add(c, "; not judged: %d ended connection%s still open when "
			   "faultline stopped the target, less than %.3fs later",
			   early, early == 1 ? "" : "s", sec(FL_LEAK_NS));
}
