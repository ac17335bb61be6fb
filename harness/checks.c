/*
 * checks.c - one function per check; see checks.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int fl_checks_run(const struct fl_run_facts *f, struct fl_check_result **out,
		  size_t *n)
{
	struct results r = {0};
	struct fl_check_result *c;
	const struct fl_ruleset *rs = f->rs;

	for (size_t i = 0; rs && i < rs->nexpects; i++) {
		const struct fl_expect *e = &rs->expects[i];
		char name[48];

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
		case FL_CHK_EOF_CLOSE:
		case FL_CHK_NO_SIGPIPE:
		case FL_CHK_NO_LINGER_ABORT:
		case FL_CHK_NO_UNREAD_CLOSE:
		case FL_CHK_NO_FD_LEAK:
		case FL_CHK_TIME_WAIT:
		case FL_CHK_PATH:
			/* Judged from socket calls and TCP states, which this
			 * version does not observe yet: reported, not faked. */
			if (!(c = add(&r, name, e)))
				goto nomem;
			c->ok = 1;
			c->skipped = 1;
			snprintf(c->detail, sizeof(c->detail),
				 "not evaluated: needs the socket-call shim "
				 "(not in this version)");
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
