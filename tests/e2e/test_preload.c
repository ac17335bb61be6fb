/*
 * test_preload.c - libfaultline-preload.so against programs that say what
 * they did.
 *
 * Each test binds its own abstract AF_UNIX datagram socket, runs
 * preload_targets/pl_calls SCENARIO with LD_PRELOAD=the shim and
 * FAULTLINE_SOCK=that name, collects the program's stdout (see
 * preload_targets/pl_common.h) and the events, and compares them:
 *
 *   - every "E" line is an event of the same thread, in the same order,
 *     and every key the line gives has that value in the event (the event
 *     is formatted with ev_format() below); no thread sends an event that
 *     has no "E" line;
 *   - every event is well formed, nothing was dropped, sequence numbers
 *     have no gaps, and each process image said hello;
 *   - the "E" and "R" lines are the same with the shim, with the shim
 *     loaded but FAULTLINE_SOCK unset, and without the shim (return values
 *     and errno unchanged).
 *
 * Run as root; one test repeats a scenario as uid 65534 via setpriv.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "event.h"

#ifndef FL_PRELOAD_LIB
#define FL_PRELOAD_LIB FL_BINARY_DIR "/libfaultline-preload.so"
#endif
#define PL_CALLS FL_BINARY_DIR "/preload_targets/pl_calls"
#define SETPRIV "/usr/bin/setpriv"

extern char **environ;

enum {
	RUN_SHIM = 1,       /* LD_PRELOAD and FAULTLINE_SOCK */
	RUN_SHIM_NOENV = 2, /* LD_PRELOAD only: the shim must do nothing */
	RUN_NOBODY = 4,     /* as uid/gid 65534 through setpriv */
	RUN_HOLD = 8, /* read no event until the program says "I release" */
};

struct run {
	char *out;
	size_t outlen, outcap;
	char **lines;
	size_t nlines;
	struct fl_ev *ev;
	size_t nev, evcap;
	size_t bad; /* datagrams that are not events */
	int status;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->lines);
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

static void drain(int es, struct run *r)
{
	for (;;) {
		struct fl_ev ev;
		ssize_t n = recv(es, &ev, sizeof(ev), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0)
			return;
		if (fl_ev_check(&ev, (size_t)n) != 0) {
			r->bad++;
			continue;
		}
		if (r->nev == r->evcap) {
			r->evcap = r->evcap ? 2 * r->evcap : 256;
			r->ev = realloc(r->ev, r->evcap * sizeof(*r->ev));
			cr_assert_not_null(r->ev);
		}
		r->ev[r->nev++] = ev;
	}
}

static void append_out(struct run *r, const char *buf, size_t n)
{
	if (r->outlen + n + 1 > r->outcap) {
		r->outcap = (r->outlen + n + 1) * 2;
		r->out = realloc(r->out, r->outcap);
		cr_assert_not_null(r->out);
	}
	memcpy(r->out + r->outlen, buf, n);
	r->outlen += n;
	r->out[r->outlen] = '\0';
}

static void split_lines(struct run *r)
{
	size_t cap = 16;

	r->lines = calloc(cap, sizeof(char *));
	for (char *p = r->out, *nl; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (r->nlines == cap) {
			cap *= 2;
			r->lines = realloc(r->lines, cap * sizeof(char *));
		}
		r->lines[r->nlines++] = p;
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs pl_calls SCENARIO; fills r with its output lines and events. */
static void run_prog(struct run *r, const char *scenario, int opts)
{
	static int counter;
	char name[64], sockenv[96];
	char *envp[256];
	const char *argv[8];
	size_t ne = 0, na = 0;
	int es = -1, out[2], in[2];
	bool released = false, eof = false;
	uint64_t deadline = mono_ms() + 90000;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "fl-test-preload-%d-%d", (int)getpid(),
	         counter++);
	if (opts & (RUN_SHIM | RUN_SHIM_NOENV)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int size = 8 << 20;
		socklen_t len =
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		                strlen(name));

		memcpy(sa.sun_path + 1, name, strlen(name));
		es = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		cr_assert(es >= 0);
		cr_assert(bind(es, (struct sockaddr *)&sa, len) == 0,
		          "bind: %s", strerror(errno));
		if (setsockopt(es, SOL_SOCKET, SO_RCVBUFFORCE, &size,
		               sizeof(size)) < 0)
			setsockopt(es, SOL_SOCKET, SO_RCVBUF, &size,
			           sizeof(size));
	}
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(in, O_CLOEXEC) == 0);

	for (char **e = environ; *e && ne < 250; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0 &&
		    strncmp(*e, FL_EV_SOCK_ENV "=",
		            strlen(FL_EV_SOCK_ENV) + 1) != 0)
			envp[ne++] = *e;
	if (opts & (RUN_SHIM | RUN_SHIM_NOENV))
		envp[ne++] = "LD_PRELOAD=" FL_PRELOAD_LIB;
	if (opts & RUN_SHIM) {
		snprintf(sockenv, sizeof(sockenv), FL_EV_SOCK_ENV "=%s", name);
		envp[ne++] = sockenv;
	}
	envp[ne] = NULL;
	if (opts & RUN_NOBODY) {
		argv[na++] = SETPRIV;
		argv[na++] = "--reuid=65534";
		argv[na++] = "--regid=65534";
		argv[na++] = "--clear-groups";
		argv[na++] = "--";
	}
	argv[na++] = PL_CALLS;
	argv[na++] = scenario;
	argv[na] = NULL;

	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		closefrom(3);
		execve(argv[0], (char **)argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	while (!eof) {
		struct pollfd pfd[2] = {{out[0], POLLIN, 0}, {es, POLLIN, 0}};
		bool hold = (opts & RUN_HOLD) && !released;
		nfds_t n = (es >= 0 && !hold) ? 2 : 1;
		char buf[4096];

		cr_assert(mono_ms() < deadline, "%s: timed out", scenario);
		if (poll(pfd, n, 200) < 0)
			continue;
		if (n == 2 && (pfd[1].revents & POLLIN))
			drain(es, r);
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			ssize_t k = read(out[0], buf, sizeof(buf));

			if (k <= 0)
				eof = true;
			else
				append_out(r, buf, (size_t)k);
		}
		if (hold && r->out && strstr(r->out, "I release\n")) {
			drain(es, r);
			released = true;
			cr_assert(write(in[1], "x", 1) == 1);
		}
	}
	cr_assert(waitpid(pid, &r->status, 0) == pid);
	if (es >= 0) {
		drain(es, r);
		close(es);
	}
	close(out[0]);
	close(in[1]);
	if (r->out == NULL)
		append_out(r, "", 0);
	split_lines(r);
}

/* ---- events as key=value text ---- */

static const char *family_name(int f, char *buf)
{
	if (f == AF_INET)
		return "inet";
	if (f == AF_INET6)
		return "inet6";
	if (f == AF_UNIX)
		return "unix";
	sprintf(buf, "%d", f);
	return buf;
}

static int addr_format(char *buf, size_t len, const char *p,
                       const union fl_ev_sockaddr *sa)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->family == AF_INET) {
		inet_ntop(AF_INET, &sa->in.sin_addr, a, sizeof(a));
		return snprintf(buf, len, " %saddr=%s %sport=%u", p, a, p,
		                ntohs(sa->in.sin_port));
	}
	if (sa->family == AF_INET6) {
		inet_ntop(AF_INET6, &sa->in6.sin6_addr, a, sizeof(a));
		return snprintf(buf, len, " %saddr=%s %sport=%u", p, a, p,
		                ntohs(sa->in6.sin6_port));
	}
	return snprintf(buf, len, " %saddr=-", p);
}

static const char *vk_name(unsigned vk)
{
	static const char *const n[] = {"none", "int", "linger", "timeval",
	                                "bytes"};

	return vk < 5 ? n[vk] : "?";
}

/* " pid=.. tid=.. fn=.. fd=.. ret=.. errno=.. ..." with a leading space. */
static void ev_format(const struct fl_ev *ev, char *buf, size_t len)
{
	const struct fl_ev_call *c = &ev->u.call;
	unsigned fn = ev->fn;
	const char *errname = ev->err ? strerrorname_np(ev->err) : "0";
	char fam[16];
	size_t n;

#define PUT(...)                                                               \
	do {                                                                   \
		if (n < len)                                                   \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);  \
	} while (0)
	n = 0;
	PUT(" pid=%d tid=%d fn=%s fd=%d ret=%lld errno=%s", ev->pid, ev->tid,
	    fl_ev_fn_name(fn) ? fl_ev_fn_name(fn) : "?", ev->fd,
	    (long long)ev->ret, errname ? errname : "?");
	if (fl_ev_fn_is_priv(fn))
		goto body;
	PUT(" family=%s", family_name(c->sock_family, fam));
	if (c->sock_type == SOCK_STREAM)
		PUT(" type=stream");
	else if (c->sock_type == SOCK_DGRAM)
		PUT(" type=dgram");
	else
		PUT(" type=%d", c->sock_type);
	PUT(" state=%s",
	    c->tcp_state ? fl_ev_tcp_state_name(c->tcp_state) : "-");
	if (ev->flags & FL_EVF_SOCK) {
		if (n < len)
			n += (size_t)addr_format(buf + n, len - n, "l",
			                         &c->local);
		if (n < len)
			n += (size_t)addr_format(buf + n, len - n, "p",
			                         &c->peer);
	}
	PUT(" newfd=%d", c->newfd);
body:
	switch ((enum fl_ev_fn)fn) {
	case FL_FN_SHUTDOWN:
		PUT(" how=%d", c->arg);
		break;
	case FL_FN_FCNTL:
		PUT(" cmd=%d min=%u", c->arg, c->first);
		break;
	case FL_FN_SETSOCKOPT:
		PUT(" level=%d opt=%d optlen=%u vk=%s", c->level, c->optname,
		    c->optlen, vk_name(c->val_kind));
		if (c->val_kind == FL_VAL_LINGER)
			PUT(" linger=%d,%d", c->linger_onoff, c->linger_secs);
		else if (c->val_kind != FL_VAL_NONE)
			PUT(" val=%lld", (long long)c->val);
		break;
	case FL_FN_CLOSE_RANGE:
	case FL_FN_CLOSEFROM:
		PUT(" first=%u last=%u flags=%d", c->first, c->last, c->arg);
		break;
	case FL_FN_WAIT:
		PUT(" sig=%d", c->arg);
		break;
	case FL_FN_READ:
	case FL_FN_RECV:
	case FL_FN_RECVFROM:
	case FL_FN_RECVMSG:
	case FL_FN_READV:
	case FL_FN_WRITE:
	case FL_FN_SEND:
	case FL_FN_SENDTO:
	case FL_FN_SENDMSG:
	case FL_FN_WRITEV:
		PUT(" len=%llu flags=%d", (unsigned long long)c->len, c->arg);
		break;
	case FL_FN_BIND:
	case FL_FN_SETUID:
	case FL_FN_SETGID:
	case FL_FN_SETREUID:
	case FL_FN_SETREGID:
	case FL_FN_SETRESUID:
	case FL_FN_SETRESGID:
	case FL_FN_SETGROUPS:
	case FL_FN_INITGROUPS:
	case FL_FN_CHOWN:
	case FL_FN_FCHOWN:
	case FL_FN_LCHOWN:
	case FL_FN_FCHOWNAT: {
		const struct fl_ev_priv *p = &ev->u.priv;

		PUT(" ids=");
		for (unsigned i = 0; i < p->nids && i < 3; i++)
			PUT("%s%d", i ? "," : "", (int)p->ids[i]);
		PUT(" euid=%u egid=%u capeff=%llx path=%s flags=%d",
		    p->euid, p->egid, (unsigned long long)p->cap_eff,
		    p->path[0] ? p->path : "-", p->flags);
		if (fn == FL_FN_BIND)
			PUT(" family=%s port=%d start=%d",
			    family_name(p->family, fam), p->port,
			    p->unpriv_port_start);
		PUT(" ");
		return;
	}
	case FL_FN_NONE:
	case FL_FN_SOCKET:
	case FL_FN_SOCKETPAIR:
	case FL_FN_ACCEPT:
	case FL_FN_ACCEPT4:
	case FL_FN_CONNECT:
	case FL_FN_CLOSE:
	case FL_FN_DUP:
	case FL_FN_DUP2:
	case FL_FN_DUP3:
		PUT(" flags=%d", c->arg);
		break;
	}
	if (ev->flags & FL_EVF_UNREAD)
		PUT(" unread=%u", c->unread);
	if (ev->flags & FL_EVF_UNSENT)
		PUT(" unsent=%u", c->unsent);
	if (ev->flags & FL_EVF_LINGER)
		PUT(" linger=%d,%d", c->linger_onoff, c->linger_secs);
	PUT(" implicit=%d chk=%d peerarg=%d",
	    !!(ev->flags & FL_EVF_IMPLICIT_CLOSE), !!(ev->flags & FL_EVF_CHK),
	    !!(ev->flags & FL_EVF_PEER_ARG));
	PUT(" ");
#undef PUT
}

/* Does every key=value of the line (after its kind letter) appear in the
 * formatted event? */
static bool line_matches(const char *line, const char *evtext, char *why,
                         size_t whylen)
{
	char tok[256];

	for (const char *p = line + 1; *p;) {
		size_t k;

		while (*p == ' ')
			p++;
		k = strcspn(p, " ");
		if (k == 0)
			break;
		snprintf(tok, sizeof(tok), " %.*s ", (int)k, p);
		if (strstr(evtext, tok) == NULL) {
			snprintf(why, whylen, "%.*s", (int)k, p);
			return false;
		}
		p += k;
	}
	return true;
}

static int line_int(const char *line, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	return p ? atoi(p + strlen(pat)) : -1;
}

static void dump(const struct run *r)
{
	char text[1024];

	fprintf(stderr, "---- program output (%zu lines)\n", r->nlines);
	for (size_t i = 0; i < r->nlines; i++)
		fprintf(stderr, "%s\n", r->lines[i]);
	fprintf(stderr, "---- events (%zu)\n", r->nev);
	for (size_t i = 0; i < r->nev; i++) {
		if (r->ev[i].kind == FL_EV_HELLO) {
			fprintf(stderr, "hello pid=%d seq=%llu why=%u exe=%s\n",
			        r->ev[i].pid, (unsigned long long)r->ev[i].seq,
			        r->ev[i].u.hello.why, r->ev[i].u.hello.exe);
			continue;
		}
		if (r->ev[i].kind == FL_EV_BYE) {
			fprintf(stderr, "bye pid=%d seq=%llu dropped=%llu\n",
			        r->ev[i].pid, (unsigned long long)r->ev[i].seq,
			        (unsigned long long)r->ev[i].dropped);
			continue;
		}
		ev_format(&r->ev[i], text, sizeof(text));
		fprintf(stderr, "seq=%llu dropped=%llu%s\n",
		        (unsigned long long)r->ev[i].seq,
		        (unsigned long long)r->ev[i].dropped, text);
	}
}

/* Each thread's E lines against its events, in order. */
static void check_calls(struct run *r)
{
	char text[1024], why[256];
	bool *seen = calloc(r->nev + 1, 1);

	for (size_t i = 0; i < r->nlines; i++) {
		const char *line = r->lines[i];
		int pid, tid;
		size_t nexp = 0, nact = 0, ai = 0;

		if (line[0] != 'E')
			continue;
		pid = line_int(line, "pid");
		tid = line_int(line, "tid");
		/* the first line of this thread starts the comparison */
		bool first = true;
		for (size_t j = 0; j < i; j++)
			if (r->lines[j][0] == 'E' &&
			    line_int(r->lines[j], "pid") == pid &&
			    line_int(r->lines[j], "tid") == tid)
				first = false;
		if (!first)
			continue;
		for (size_t j = i; j < r->nlines; j++) {
			if (r->lines[j][0] != 'E' ||
			    line_int(r->lines[j], "pid") != pid ||
			    line_int(r->lines[j], "tid") != tid)
				continue;
			nexp++;
			while (ai < r->nev &&
			       (r->ev[ai].kind != FL_EV_CALL ||
			        r->ev[ai].pid != pid || r->ev[ai].tid != tid))
				ai++;
			if (ai == r->nev) {
				dump(r);
				cr_assert_fail("no event for: %s", r->lines[j]);
			}
			ev_format(&r->ev[ai], text, sizeof(text));
			if (!line_matches(r->lines[j], text, why,
			                  sizeof(why))) {
				dump(r);
				cr_assert_fail(
				    "mismatch on %s\n  line:  %s\n  event:%s",
				    why, r->lines[j], text);
			}
			seen[ai] = true;
			ai++;
		}
		for (size_t j = 0; j < r->nev; j++)
			if (r->ev[j].kind == FL_EV_CALL &&
			    r->ev[j].pid == pid && r->ev[j].tid == tid)
				nact++;
		if (nact != nexp)
			dump(r);
		cr_assert_eq(nact, nexp,
		             "pid %d tid %d: %zu events for %zu lines", pid,
		             tid, nact, nexp);
	}
	for (size_t j = 0; j < r->nev; j++) {
		if (r->ev[j].kind == FL_EV_CALL && !seen[j]) {
			ev_format(&r->ev[j], text, sizeof(text));
			dump(r);
			cr_assert_fail("event nobody announced:%s", text);
		}
	}
	free(seen);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Per process image: seq 1..N without gaps; dropped 0 unless allowed. */
static void check_seq(struct run *r, bool allow_drops)
{
	uint64_t *seqs = calloc(r->nev + 1, sizeof(uint64_t));
	bool *done = calloc(r->nev + 1, 1);

	cr_assert_eq(r->bad, 0, "%zu malformed datagrams", r->bad);
	for (size_t i = 0; i < r->nev; i++) {
		size_t n = 0;

		if (done[i])
			continue;
		/* one image: from a hello (or the first event) of this pid to
		 * the next START hello of the same pid */
		for (size_t j = i; j < r->nev; j++) {
			if (r->ev[j].pid != r->ev[i].pid || done[j])
				continue;
			if (j != i && r->ev[j].kind == FL_EV_HELLO &&
			    r->ev[j].u.hello.why == FL_HELLO_START)
				break;
			done[j] = true;
			seqs[n++] = r->ev[j].seq;
			if (!allow_drops && r->ev[j].dropped != 0) {
				dump(r);
				cr_assert_fail(
				    "pid %d dropped %llu events", r->ev[j].pid,
				    (unsigned long long)r->ev[j].dropped);
			}
		}
		qsort(seqs, n, sizeof(uint64_t), cmp_u64);
		for (size_t k = 0; k < n && !allow_drops; k++)
			if (seqs[k] != k + 1) {
				dump(r);
				cr_assert_fail(
				    "pid %d: seq %llu at position %zu",
				    r->ev[i].pid, (unsigned long long)seqs[k],
				    k);
			}
	}
	free(seqs);
	free(done);
}

static const struct fl_ev *find_hello(const struct run *r, int pid, int ppid,
                                      unsigned why, int nth)
{
	for (size_t i = 0; i < r->nev; i++) {
		const struct fl_ev *ev = &r->ev[i];

		if (ev->kind == FL_EV_HELLO && ev->pid == pid &&
		    (ppid < 0 || ev->u.hello.ppid == ppid) &&
		    ev->u.hello.why == why && nth-- == 0)
			return ev;
	}
	return NULL;
}

/* Hellos: the main process's, and every "I hello-expect" line's. */
static void check_hellos(struct run *r)
{
	int main_pid = -1;

	for (size_t i = 0; i < r->nlines && main_pid < 0; i++)
		if (r->lines[i][0] == 'E' || r->lines[i][0] == 'R')
			main_pid = line_int(r->lines[i], "pid");
	if (main_pid > 0) {
		const struct fl_ev *h = NULL;

		/* under setpriv, setpriv's own image says hello first */
		for (int nth = 0;
		     (h = find_hello(r, main_pid, -1, FL_HELLO_START, nth));
		     nth++)
			if (strstr(h->u.hello.exe, "pl_calls") != NULL)
				break;
		cr_assert_not_null(h, "no hello from pl_calls, pid %d",
		                   main_pid);
		cr_assert_eq(h->seq, 1);
		cr_assert_eq(h->u.hello.ppid, getpid());
		/* main() returned: the last event of the image is a bye */
		cr_assert(r->nev > 0 && r->ev[r->nev - 1].kind == FL_EV_BYE &&
		              r->ev[r->nev - 1].pid == main_pid,
		          "no bye from pid %d at the end", main_pid);
	}
	for (size_t i = 0; i < r->nlines; i++) {
		const char *l = r->lines[i];
		int nth = 0;

		if (strncmp(l, "I hello-expect ", 15) != 0)
			continue;
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->lines[j], l) == 0)
				nth++;
		unsigned why =
		    strstr(l, "why=fork") ? FL_HELLO_FORK : FL_HELLO_START;
		/* after an exec the same pid says hello a second time */
		if (why == FL_HELLO_START)
			nth++;
		cr_assert_not_null(find_hello(r, line_int(l, "pid"),
		                              line_int(l, "ppid"), why, nth),
		                   "no hello for: %s", l);
	}
}

static void check_run(struct run *r)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
		dump(r);
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
	          "pl_calls status %#x", r->status);
	check_seq(r, false);
	check_hellos(r);
	check_calls(r);
}

static bool has_line(const struct run *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->nlines; i++)
		if (strstr(r->lines[i], a) && (!b || strstr(r->lines[i], b)))
			return true;
	return false;
}

static size_t count_calls(const struct run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nev; i++)
		n += r->ev[i].kind == FL_EV_CALL;
	return n;
}

static void run_checked(struct run *r, const char *scenario)
{
	run_prog(r, scenario, RUN_SHIM);
	check_run(r);
}

/* ---- scenarios under the shim ---- */

static bool own_netns; /* set_dgram_qlen() changes only our namespace */

static void set_dgram_qlen(int n)
{
	char buf[16];
	int f = open("/proc/sys/net/unix/max_dgram_qlen", O_WRONLY | O_CLOEXEC);
	int len = snprintf(buf, sizeof(buf), "%d", n);

	cr_assert(f >= 0 && write(f, buf, (size_t)len) == len,
	          "max_dgram_qlen: %s", strerror(errno));
	close(f);
}

/*
 * Each test runs in a network namespace of its own, as targets do under
 * the harness: loopback up, and a datagram queue longer than the default
 * 10 (net.unix.max_dgram_qlen, per namespace, read when the receiving
 * socket is created), so a reader that loses the CPU for a moment on a
 * loaded machine does not make the shim drop events.
 */
static void enter_netns(void)
{
	struct ifreq ifr = {.ifr_name = "lo"};
	int s;

	if (unshare(CLONE_NEWNET) != 0) {
		cr_log_warn("unshare(CLONE_NEWNET): %s; staying in this "
		            "namespace",
		            strerror(errno));
		return;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "lo up: %s",
	          strerror(errno));
	close(s);
	own_netns = true;
	set_dgram_qlen(1024);
}

TestSuite(preload, .init = enter_netns, .timeout = 180);

Test(preload, every_hook)
{
	struct run r;

	run_checked(&r, "basic");
	cr_assert(has_line(&r, "fn=write ", "errno=EPIPE"));
	cr_assert(has_line(&r, "fn=read ", "chk=1"));
	cr_assert(has_line(&r, "fn=connect ", "errno=ECONNREFUSED"));
	cr_assert(count_calls(&r) > 50);
	run_free(&r);
}

Test(preload, sockets_received_with_scm_rights)
{
	struct run r;

	run_checked(&r, "rights");
	run_free(&r);
}

Test(preload, setsockopt_decoding)
{
	struct run r;

	run_checked(&r, "sockopt");
	cr_assert(has_line(&r, "vk=timeval", "val=1500000"));
	cr_assert(has_line(&r, "opt=13 vk=none", "errno=EINVAL"));
	cr_assert(has_line(&r, "vk=none", "errno=EFAULT"));
	run_free(&r);
}

Test(preload, econnreset_after_linger_abort)
{
	struct run r;

	run_checked(&r, "reset");
	cr_assert(has_line(&r, "fn=read ", "errno=ECONNRESET"));
	run_free(&r);
}

Test(preload, epipe_after_peer_close)
{
	struct run r;

	run_checked(&r, "epipe");
	cr_assert(has_line(&r, "fn=write ", "ret=-1 errno=EPIPE"));
	cr_assert(has_line(&r, "fn=writev ", "errno=EPIPE"));
	run_free(&r);
}

Test(preload, unread_and_unsent_at_close)
{
	struct run r;

	run_checked(&r, "unread");
	cr_assert(has_line(&r, "fn=close ", "unread=10 "));
	run_free(&r);
}

Test(preload, fork_children_report_their_pid)
{
	struct run r;
	size_t children = 0;

	run_checked(&r, "fork");
	for (size_t i = 0; i < r.nev; i++)
		children += r.ev[i].kind == FL_EV_HELLO &&
		            r.ev[i].u.hello.why == FL_HELLO_FORK;
	cr_assert_eq(children, 2);
	run_free(&r);
}

Test(preload, vfork_child_changes_nothing)
{
	struct run r;

	run_checked(&r, "vfork");
	cr_assert(has_line(&r, "vfork child status=0", NULL));
	run_free(&r);
}

Test(preload, threads)
{
	struct run r;

	run_checked(&r, "threads");
	cr_assert_eq(count_calls(&r), 3 * (4 * 25 + 10));
	run_free(&r);
}

Test(preload, closefrom_over_the_channel)
{
	struct run r;

	run_checked(&r, "closefrom");
	cr_assert(has_line(&r, "R ", "first socket after closefrom: fd=3"));
	run_free(&r);
}

Test(preload, close_range_over_the_channel)
{
	struct run r;

	run_checked(&r, "close_range");
	cr_assert(has_line(&r, "R ", "first socket after close_range: fd=3"));
	run_free(&r);
}

Test(preload, target_hits_the_channel)
{
	struct run r;

	run_checked(&r, "shimfd");
	cr_assert(!has_line(&r, "no shim channel", NULL));
	cr_assert(has_line(&r, "fn=close fd=channel", "ret=-1 errno=EBADF"));
	cr_assert(has_line(&r, "fn=dup fd=channel", "ret=-1 errno=EBADF"));
	cr_assert(has_line(&r, "fn=dup2 fd=channel", "ret=-1 errno=EBADF"));
	cr_assert(has_line(&r, "fn=dup3 fd=channel", "ret=-1 errno=EBADF"));
	cr_assert(has_line(&r, "fn=fcntl fd=channel", "ret=-1 errno=EBADF"));
	cr_assert(has_line(&r, "close loop closed=1", NULL));
	run_free(&r);
}

Test(preload, files_are_not_reported)
{
	struct run r;

	run_checked(&r, "files");
	cr_assert_eq(count_calls(&r), 0);
	cr_assert(has_line(&r, "fn=read fd=999", "errno=EBADF"));
	cr_assert(has_line(&r, "fn=write pipe", "errno=EPIPE"));
	run_free(&r);
}

Test(preload, exec_says_hello_again)
{
	struct run r;
	int pid;

	run_checked(&r, "exec");
	pid = line_int(r.lines[0], "pid");
	cr_assert_not_null(find_hello(&r, pid, -1, FL_HELLO_START, 1));
	cr_assert_eq(count_calls(&r), 4);
	run_free(&r);
}

/* A full queue: events are counted as dropped and the count arrives. */
Test(preload, drops_are_counted)
{
	struct run r;
	const struct fl_ev *last;
	size_t before = 0;

	if (own_netns)
		set_dgram_qlen(
		    10); /* the kernel's default: fills after 10 events */
	run_prog(&r, "flood", RUN_SHIM | RUN_HOLD);
	cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	cr_assert_eq(r.bad, 0);
	cr_assert(r.nev >= 2);
	last = &r.ev[r.nev - 1];
	cr_assert_eq(last->kind, FL_EV_BYE);
	/* hello + 300 x (socket, close) + socket + close + bye */
	cr_assert_eq(last->seq, 1 + 600 + 2 + 1);
	for (size_t i = 0; i < r.nev; i++)
		before += r.ev[i].seq < last->seq;
	cr_assert(last->dropped > 0, "the queue never filled");
	cr_assert_eq(before + last->dropped, last->seq - 1,
	             "received %zu + dropped %llu != %llu", before,
	             (unsigned long long)last->dropped,
	             (unsigned long long)(last->seq - 1));
	run_free(&r);
}

/* ---- the shim changes nothing the target can see ---- */

/* Keys that differ between runs: ids, ephemeral ports, how much the
 * kernel had sent; with threads, which thread got which descriptor. */
static bool volatile_key(const char *tok, size_t k, bool threads)
{
	static const char *const keys[] = {
	    "pid=", "tid=", "lport=", "pport=", "unsent=", "fd=", "ret="};
	size_t nkeys = sizeof(keys) / sizeof(keys[0]) - (threads ? 0 : 2);

	for (size_t i = 0; i < nkeys; i++)
		if (k >= strlen(keys[i]) &&
		    strncmp(tok, keys[i], strlen(keys[i])) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The E and R lines without the keys that differ from run to run, sorted
 * (threads and children interleave differently). */
static char **normalized(const struct run *r, size_t *n, bool threads)
{
	char **v = calloc(r->nlines + 1, sizeof(char *));

	*n = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		const char *l = r->lines[i];
		char *o;
		size_t on = 0;

		if (l[0] != 'E' && l[0] != 'R')
			continue;
		o = calloc(strlen(l) + 1, 1);
		for (const char *p = l; *p;) {
			size_t k;

			while (*p == ' ')
				p++;
			k = strcspn(p, " ");
			if (k == 0)
				break;
			if (!volatile_key(p, k, threads)) {
				memcpy(o + on, p, k);
				on += k;
				o[on++] = ' ';
			}
			p += k;
		}
		v[(*n)++] = o;
	}
	qsort(v, *n, sizeof(char *), cmp_str);
	return v;
}

static void assert_same(const struct run *a, const struct run *b,
                        const char *scenario, const char *what)
{
	bool threads = strcmp(scenario, "threads") == 0;
	size_t na, nb;
	char **va = normalized(a, &na, threads),
	     **vb = normalized(b, &nb, threads);

	for (size_t i = 0; i < na || i < nb; i++) {
		const char *x = i < na ? va[i] : "(none)";
		const char *y = i < nb ? vb[i] : "(none)";

		cr_assert_str_eq(x, y, "%s: with the shim vs %s:\n  %s\n  %s",
		                 scenario, what, x, y);
	}
	for (size_t i = 0; i < na; i++)
		free(va[i]);
	for (size_t i = 0; i < nb; i++)
		free(vb[i]);
	free(va);
	free(vb);
}

Test(preload, results_unchanged)
{
	static const char *const scenarios[] = {
	    "basic", "sockopt", "reset",     "epipe",       "unread",
	    "fork",  "threads", "closefrom", "close_range", "files",
	    "exec",  "rights",  "vfork",
	};

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct run with, noenv, without;

		run_prog(&with, scenarios[i], RUN_SHIM);
		run_prog(&noenv, scenarios[i], RUN_SHIM_NOENV);
		run_prog(&without, scenarios[i], 0);
		cr_assert(WIFEXITED(with.status) &&
		              WEXITSTATUS(with.status) == 0,
		          "%s", scenarios[i]);
		cr_assert_eq(with.status, noenv.status, "%s", scenarios[i]);
		cr_assert_eq(with.status, without.status, "%s", scenarios[i]);
		cr_assert(with.nev > 0, "%s: no events", scenarios[i]);
		cr_assert_eq(noenv.nev, 0, "%s: events without FAULTLINE_SOCK",
		             scenarios[i]);
		assert_same(&with, &noenv, scenarios[i],
		            "the shim without FAULTLINE_SOCK");
		assert_same(&with, &without, scenarios[i], "no shim");
		run_free(&with);
		run_free(&noenv);
		run_free(&without);
	}
}

/* ---- an unprivileged target ---- */

Test(preload, unprivileged_target)
{
	struct run r;
	bool found = false;

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and %s", SETPRIV);
	run_prog(&r, "files", RUN_NOBODY);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
		run_free(&r);
		cr_skip_test("uid 65534 cannot run %s (build directory not "
		             "readable?)",
		             PL_CALLS);
	}
	run_free(&r);

	run_prog(&r, "reset", RUN_SHIM | RUN_NOBODY);
	check_run(&r);
	for (size_t i = 0; i < r.nev; i++)
		if (r.ev[i].kind == FL_EV_HELLO &&
		    r.ev[i].u.hello.uid == 65534 &&
		    strstr(r.ev[i].u.hello.exe, "pl_calls"))
			found = true;
	cr_assert(found, "no hello from pl_calls as uid 65534");
	cr_assert(has_line(&r, "fn=read ", "errno=ECONNRESET"));
	run_free(&r);
}

/*
 * The privileged calls, refused: as uid 65534 with no capability each id
 * change, setgroups, initgroups and chown to root is EPERM (setuid(-1)
 * EINVAL), a bind to port 80 EACCES (the test's network namespace keeps
 * the kernel's ip_unprivileged_port_start, 1024); each is reported with
 * its ids, path or port, once; the calls that succeed are not.  Results
 * are the same without the shim.
 */
Test(preload, refused_privileged_calls)
{
	struct run r, without;

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and %s", SETPRIV);
	run_prog(&r, "priv", RUN_SHIM | RUN_NOBODY);
	check_run(&r);
	cr_assert(has_line(&r, "fn=setgid ", "errno=EPERM"));
	cr_assert(has_line(&r, "fn=initgroups ", "errno=EPERM"));
	cr_assert(has_line(&r, "fn=bind ", "errno=EACCES"));
	run_prog(&without, "priv", RUN_NOBODY);
	cr_assert_eq(r.status, without.status);
	assert_same(&r, &without, "priv", "no shim");
	run_free(&r);
	run_free(&without);
}

/* Every scenario again as uid 65534: the same events, matched line by line
 * against what the program says it did (check_run), with no loss. */
Test(preload, every_scenario_unprivileged)
{
	static const char *const names[] = {
		"basic", "rights", "sockopt", "reset", "epipe", "unread",
		"fork", "vfork", "threads", "closefrom", "close_range",
		"shimfd", "files", "exec", NULL,
	};

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and %s", SETPRIV);
	for (const char *const *n = names; *n; n++) {
		struct run r;

		run_prog(&r, *n, RUN_SHIM | RUN_NOBODY);
		check_run(&r);
		run_free(&r);
	}
}
