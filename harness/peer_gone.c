/* peer_gone.c - the dead-peer analysis; see peer_gone.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "event.h"
#include "checks.h"
#include "peer_gone.h"

static double sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

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

		if (x->pid == pid && x->fd == fd && fl_call_closes(x))
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
		if (fl_call_closes(x))
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

static int analyse(const struct fl_run_facts *f, uint32_t id,
		   struct fl_dead_peer *d)
{
	const struct fl_flow *fl = f->flows ? fl_flow_get(f->flows, id) : NULL;
	const struct fl_flow_facts *ff = fl_timeline_facts(f->timeline, id);
	size_t first = f->ncalls, from;
	int t, p;

	/* Judged for a peer outside the target: with both ends inside, the
	 * silent side is the target's own. */
	if (!fl || fl->target_side == FL_SIDE_ANY || fl->target_side == FL_SIDE_BOTH)
		return 0;
	t = fl->target_side == FL_SIDE_CLIENT ? FL_DIR_C2S : FL_DIR_S2C;
	p = !t;
	/* The peer was heard, then a rule lost segments, and the peer
	 * neither closed nor reset. */
	if (!ff->arrived_ns[p] || ff->lost_ns <= ff->arrived_ns[p] ||
	    ff->fin_ns[p] || ff->rst_ns[p] || ff->rst_ns[t])
		return 0;
	memset(d, 0, sizeof(*d));
	d->silent = 1;
	d->since_ns = ff->arrived_ns[p];
	d->probes = ff->ka_probes[t];
	if (ff->snd_max_known[t] && ff->acked_known[p] &&
	    (int32_t)(ff->data_max[t] - ff->acked[p]) > 0)
		d->unacked = ff->data_max[t] - ff->acked[p];
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
			if (fl_call_closes(x)) {
				if (j > first || x->flow == id)
					d->closed_ns = x->t_ns;
				break;
			}
			if (!d->noticed_ns && fl_call_ends_conn(x, 1) && x->t_ns >= d->since_ns) {
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

int fl_dead_peer(const struct fl_run_facts *f, uint32_t id,
		 struct fl_dead_peer *d)
{
	if (f->dead_peers && id >= 1 && id <= f->ndead_peers) {
		*d = f->dead_peers[id - 1];
		return d->silent;
	}
	return analyse(f, id, d);
}

struct fl_dead_peer *fl_peer_gone_all(const struct fl_run_facts *f, size_t *n)
{
	size_t nf = f->flows ? fl_flow_count(f->flows) : 0;
	struct fl_dead_peer *v = calloc(nf ? nf : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < nf; i++)
		if (!analyse(f, (uint32_t)i + 1, &v[i]))
			memset(&v[i], 0, sizeof(v[i]));
	*n = nf;
	return v;
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
			 fl_err_name(d->err), sec(d->noticed_ns), closed, opts);
		break;
	case FL_DP_PROGRAM:
		snprintf(buf, n, "peer last heard at %.3fs; the program closed "
			 "the socket itself%s, with no error from the kernel "
			 "before [%s]", sec(d->since_ns), closed, opts);
		break;
	case FL_DP_EXIT:
		snprintf(buf, n, "peer last heard at %.3fs; no error reached the "
			 "program before the target exited at %.3fs (%.3fs "
			 "after) [%s]", sec(d->since_ns), sec(d->closed_ns),
			 sec(d->closed_ns - d->since_ns), opts);
		break;
	case FL_DP_NONE:
		snprintf(buf, n, "peer last heard at %.3fs; no error reached the "
			 "program and the socket was still open when the run "
			 "ended%s [%s]%s", sec(d->since_ns), d->unacked ?
			 ", with data unacknowledged" : "", opts,
			 d->unacked && d->user_timeout_ms < 0
				 ? "; unacknowledged data is retransmitted for "
				   "~15 minutes (tcp_retries2) unless "
				   "TCP_USER_TIMEOUT is set"
				 : "");
		break;
	}
}

