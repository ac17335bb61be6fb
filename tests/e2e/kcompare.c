/*
 * kcompare.c - the e2e tests' comparison of faultline's state paths with
 * the kernel's own (ktrace.h); see kcompare.h.
 *
 * Every rr_run of faultline that writes a JSON report is recorded with
 * ktrace, and each flow side of the report (client_states,
 * server_states) must equal the path the kernel's tracepoint gives the
 * socket with that 4-tuple.  The recording spans the whole of faultline's
 * life: it starts before the spawn (so before the sandbox exists) and
 * stops after faultline has been reaped.  Nothing the kernel logs in it is
 * left out: after its last sample faultline gives no more verdicts, so the
 * sandbox's segments stop at its queue, and the sockets' own timers
 * (TIME_WAIT, FIN_WAIT2, retransmissions) take far longer than writing
 * the reports; what comes after faultline's exit (namespace teardown,
 * orphans timing out) is outside the recording.  Where tracefs cannot be
 * used (not root, no tracefs) or the record is incomplete (a full buffer,
 * another sandbox using the same 4-tuple at the same time), the comparison
 * says it was skipped and why; it never counts as agreeing.
 *
 * Counts go to stderr, one line per run, and, through the file named by
 * $FL_KTRACE_TALLY (made by the PRE_ALL hook in the main process and
 * inherited by the test processes), as a total when the binary ends.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "kcompare.h"
#include "ktrace.h"
#include "rules.h"


struct kt_tally {
	unsigned long runs, skipped, sides, agreed, skipped_sides, known;
};

static void tally_add(const struct kt_tally *t)
{
	const char *p = getenv("FL_KTRACE_TALLY");
	FILE *f;

	if (!p || !(f = fopen(p, "a")))
		return;
	fprintf(f, "%lu %lu %lu %lu %lu %lu\n", t->runs, t->skipped, t->sides,
		t->agreed, t->skipped_sides, t->known);
	fclose(f);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char path[] = "/tmp/fl-ktrace-tally-XXXXXX";
	int fd = mkstemp(path);

	(void)set;
	if (fd < 0)
		return;
	close(fd);
	chmod(path, 0666);
	setenv("FL_KTRACE_TALLY", path, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	const char *p = getenv("FL_KTRACE_TALLY");
	struct kt_tally sum = {0}, t;
	FILE *f;

	(void)stats;
	if (!p || !(f = fopen(p, "r")))
		return;
	while (fscanf(f, "%lu %lu %lu %lu %lu %lu", &t.runs, &t.skipped,
		      &t.sides, &t.agreed, &t.skipped_sides, &t.known) == 6) {
		sum.runs += t.runs;
		sum.skipped += t.skipped;
		sum.sides += t.sides;
		sum.agreed += t.agreed;
		sum.skipped_sides += t.skipped_sides;
		sum.known += t.known;
	}
	fclose(f);
	unlink(p);
	if (!sum.runs)
		return;
	fprintf(stderr, "ktrace: total: %lu runs with a report, %lu not "
		"compared (skipped); %lu flow sides compared with the kernel, "
		"%lu agree, %lu known differences; %lu flow sides skipped\n",
		sum.runs, sum.skipped, sum.sides, sum.agreed, sum.known,
		sum.skipped_sides);
}

/*
 * Known differences, each caused outside states.c (see its cause): the
 * test, the side, and both paths exactly.  A difference listed here is
 * still printed and counted, never as agreeing.
 */
static const struct known_diff {
	const char *test, *side, *faultline, *kernel, *cause;
} known_diffs[] = {
	/* tcp_client --send 100000 --half-close against a server that
	 * resets: shutdown(SHUT_WR) with data still unsent makes the socket
	 * FIN_WAIT1 at the call, while its FIN waits behind the data; when
	 * the RST arrives first that FIN never leaves.  No segment shows the
	 * FIN_WAIT1, the client is the (unshimmed) driver, and a 10ms sample
	 * rarely falls in between. */
	{"unread_close_rst_root", "client",
	 "SYN_SENT > ESTABLISHED > CLOSE",
	 "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE",
	 "FIN_WAIT1 by a shutdown() whose FIN never left: no segment shows it"},
	{"unread_close_rst_nobody", "client",
	 "SYN_SENT > ESTABLISHED > CLOSE",
	 "SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE",
	 "FIN_WAIT1 by a shutdown() whose FIN never left: no segment shows it"},
	{NULL, NULL, NULL, NULL, NULL},
};

static const struct known_diff *known_diff(const char *test,
					   const char *side,
					   const char *fpath,
					   const char *kpath)
{
	for (size_t i = 0; known_diffs[i].test; i++)
		if (!strcmp(known_diffs[i].test, test) &&
		    !strcmp(known_diffs[i].side, side) &&
		    !strcmp(known_diffs[i].faultline, fpath) &&
		    !strcmp(known_diffs[i].kernel, kpath))
			return &known_diffs[i];
	return NULL;
}

/* Whether a FIN the from side of flow id sent reached its receiver, by
 * faultline's trace (the verdicts that let a segment through with its
 * FIN; a rewrite keeps it unless its flags were changed without it). */
static int fin_reached(json_object *trace, long long id, const char *from)
{
	for (size_t i = 0; i < json_object_array_length(trace); i++) {
		json_object *e = json_object_array_get_idx(trace, i);
		const char *ev = js(e, "ev"), *fl = js(e, "flags");
		const char *v = js(e, "verdict"), *d = js(e, "detail");

		if (!ev || strcmp(ev, "pkt") || ji(e, "flow") != id ||
		    !js(e, "from") || strcmp(js(e, "from"), from) || !fl ||
		    !strstr(fl, "FIN") || !v)
			continue;
		if (!strcmp(v, "pass") || !strcmp(v, "delay") ||
		    !strcmp(v, "duplicate") || !strcmp(v, "reorder") ||
		    !strcmp(v, "inject"))
			return 1;
		if (!strcmp(v, "rewrite")) {
			const char *arrow = d ? strstr(d, "->") : NULL;

			if (!d || !strstr(d, "flags ") || !arrow)
				return 1;
			if (strstr(arrow, "FIN") &&
			    (!strchr(arrow, ' ') ||
			     strstr(arrow, "FIN") < strchr(arrow, ' ')))
				return 1;
		}
	}
	return 0;
}

/* A report flow's state list (key) as "A > B > C" into buf. */
static void report_path(json_object *flow, const char *key, char *buf,
			size_t n)
{
	json_object *a = json_object_object_get(flow, key);

	buf[0] = 0;
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		size_t l = strlen(buf);

		snprintf(buf + l, n - l, "%s%s", i ? " > " : "",
			 json_object_get_string(json_object_array_get_idx(a, i)));
	}
}

static void kernel_path(const struct kt_sock *s, int peer_fin, char *buf,
			size_t n)
{
	uint8_t p[KT_PATH_MAX];
	size_t np = s ? kt_sock_path(s, peer_fin, p, KT_PATH_MAX) : 0;

	buf[0] = 0;
	for (size_t i = 0; i < np; i++) {
		size_t l = strlen(buf);
		const char *name = fl_state_name(p[i]);

		snprintf(buf + l, n - l, "%s%s", i ? " > " : "",
			 name ? name : "?");
	}
}

/* How many flows of the report have this client and server, and where
 * flow i is among them. */
static size_t same_tuple(json_object *flows, size_t i, size_t *idx)
{
	json_object *f = json_object_array_get_idx(flows, i);
	size_t n = 0;

	*idx = 0;
	for (size_t j = 0; j < json_object_array_length(flows); j++) {
		json_object *g = json_object_array_get_idx(flows, j);

		if (strcmp(js(f, "client"), js(g, "client")) ||
		    strcmp(js(f, "server"), js(g, "server")))
			continue;
		if (j < i)
			(*idx)++;
		n++;
	}
	return n;
}

void kc_compare(struct kt *kt, const char *why_start, const char *test,
		const char *report, const char *trace_path)
{
	struct kt_tally t = {.runs = 1};
	json_object *rep = NULL, *trace = NULL, *flows;
	static char diffs[16384];
	char why[256];
	size_t dl = 0, reqsk = 0;

	diffs[0] = 0;
	if (!kt) {
		fprintf(stderr, "ktrace: %s: comparison with the kernel SKIPPED: "
			"%s\n", test, why_start);
		t.skipped = 1;
		goto out;
	}
	if (kt_stop(kt, why, sizeof(why)) < 0) {
		fprintf(stderr, "ktrace: %s: comparison with the kernel SKIPPED: "
			"%s\n", test, why);
		t.skipped = 1;
		goto out;
	}
	rep = json_object_from_file(report);
	flows = rep ? json_object_object_get(rep, "flows") : NULL;
	trace = jsonl_load(trace_path);
	for (size_t i = 0; flows && i < json_object_array_length(flows); i++) {
		json_object *f = json_object_array_get_idx(flows, i);
		size_t idx, m = same_tuple(flows, i, &idx);

		for (int side = 0; side < 2; side++) {
			const char *name = side ? "server" : "client";
			const char *local = js(f, side ? "server" : "client");
			const char *remote = js(f, side ? "client" : "server");
			const struct kt_sock *socks[8];
			size_t n = kt_find(kt, local, remote, socks, 8);
			const struct known_diff *kd;
			char fp[512], kp[512];

			report_path(f, side ? "server_states" : "client_states",
				    fp, sizeof(fp));
			if (n && n != m) {
				fprintf(stderr, "ktrace: %s: flow %lld %s %s: "
					"skipped: the kernel has %zu sockets "
					"%s<-%s, the report %zu flows\n", test,
					ji(f, "id"), name, local, n, local,
					remote, m);
				t.skipped_sides++;
				continue;
			}
			/* A handshake that never completed left only a
			 * request socket (NEW_SYN_RECV), which the tracepoint
			 * does not see: nothing to compare with. */
			if (!n && side &&
			    (!strcmp(fp, "SYN_RECV") ||
			     !strcmp(fp, "SYN_RECV > CLOSE"))) {
				t.skipped_sides++;
				reqsk++;
				continue;
			}
			kernel_path(n ? socks[idx] : NULL,
				    fin_reached(trace, ji(f, "id"),
						side ? "client" : "server"),
				    kp, sizeof(kp));
			t.sides++;
			if (!strcmp(fp, kp)) {
				t.agreed++;
				continue;
			}
			kd = known_diff(test, name, fp, kp);
			if (kd) {
				t.known++;
				fprintf(stderr, "ktrace: %s: flow %lld %s: KNOWN "
					"difference (%s): faultline %s, kernel "
					"%s\n", test, ji(f, "id"), name,
					kd->cause, fp, kp);
				continue;
			}
			dl += (size_t)snprintf(diffs + dl, sizeof(diffs) - dl,
				"\n  flow %lld %s %s (peer %s): faultline [%s], "
				"kernel [%s]", ji(f, "id"), name, local, remote,
				fp, kp);
			if (dl >= sizeof(diffs))
				dl = sizeof(diffs) - 1;
		}
	}
	if (reqsk)
		fprintf(stderr, "ktrace: %s: %zu server sides skipped: only a "
			"request socket (never traced by the kernel)\n", test,
			reqsk);
	fprintf(stderr, "ktrace: %s: %lu flow sides compared with the kernel, "
		"%lu agree%s%s\n", test, t.sides, t.agreed,
		diffs[0] ? "; differences:" : "", diffs);
out:
	tally_add(&t);
	kt_free(kt);
	json_object_put(rep);
	json_object_put(trace);
	cr_assert(!diffs[0], "state paths differ from the kernel's "
		  "(sock:inet_sock_set_state):%s", diffs);
}
