/*
 * test_faults.c - the fault actions of the rule language (duplicate,
 * reorder, corrupt, truncate, reset, prob with a seed) through the real
 * faultline binary, in a real sandbox, as root and as an unprivileged
 * user.  (The pieces behind them have unit tests of their own:
 * fl_pkt_slice in unit/test_packet.c, the truncate match in
 * unit/test_match.c.)
 *
 * Each run's driver is tcp_client followed by a dump of the sandbox's
 * /proc/net/snmp and /proc/net/netstat (the counters are per network
 * namespace, so they count exactly the run's traffic).  A test compares
 * what the trace says the engine did with what the kernel and the programs
 * saw: checksum errors for corrupt, D-SACKs for duplicate, out-of-order
 * queueing for reorder, challenge ACKs for an out-of-window RST, and the
 * byte stream's FNV-1a hash on both ends.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(faults, name, 120)

/*
 * A counter from DIR/net.out ("Tcp: a b c" then "Tcp: 1 2 3"), or -1.
 */
static long long net_counter(const struct run_result *r, const char *group,
			     const char *name)
{
	char *text = strdup(rr_read(r, "net.out"));
	char *save = NULL, *prev = NULL;
	size_t glen = strlen(group);
	long long val = -1;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (prev && !strncmp(prev, group, glen) && prev[glen] == ':' &&
		    !strncmp(l, group, glen) && l[glen] == ':') {
			char *s1 = NULL, *s2 = NULL;
			char *k = strtok_r(prev + glen + 1, " ", &s1);
			char *v = strtok_r(l + glen + 1, " ", &s2);

			for (; k && v; k = strtok_r(NULL, " ", &s1),
				       v = strtok_r(NULL, " ", &s2))
				if (!strcmp(k, name))
					val = atoll(v);
			prev = NULL;
			continue;
		}
		prev = l;
	}
	free(text);
	return val;
}

/* faultline run -r RULES --trace --report --timeout 30s [--seed SEED]
 * --driver DRIVER -- echo_server -p 7000 [--sink] */
static void run_server(struct run_result *r, enum as_user u, const char *rules,
		       const char *driver, const char *seed, int sink)
{
	rr_faultline(r, u, &(struct fl_args){
		.rules_text = rules, .timeout = "30s", .seed = seed, .driver = driver,
		.words = sink ? FL_TARGETS "/echo_server -p 7000 --sink"
			      : FL_TARGETS "/echo_server -p 7000"});
}

static void run_echo(struct run_result *r, enum as_user u, const char *rules,
		     const char *driver, const char *seed)
{
	run_server(r, u, rules, driver, seed, 0);
}

static int is_segment(json_object *ev)
{
	return js(ev, "ev") && !strcmp(js(ev, "ev"), "pkt");
}

static int verdict_is(json_object *ev, const char *v)
{
	return is_segment(ev) && js(ev, "verdict") && !strcmp(js(ev, "verdict"), v);
}

static int from_is(json_object *ev, const char *from)
{
	return js(ev, "from") && !strcmp(js(ev, "from"), from);
}

static int count_verdicts(json_object *tr, const char *v)
{
	int n = 0;

	for (size_t i = 0; i < json_object_array_length(tr); i++)
		n += verdict_is(json_object_array_get_idx(tr, i), v);
	return n;
}

/* The echo of --send N arrived whole: the client's SENT and RECEIVED and
 * the server's EOF agree on byte count and hash. */
static void assert_echo_intact(const struct run_result *r, long long bytes)
{
	const char *c = rr_read(r, "client.out");
	char sent[64] = "", recvd[64] = "", eof[64] = "";
	const char *v;

	v = line_field(c, "SENT", "bytes");
	cr_assert_not_null(v, "client:\n%s\nserver:\n%s", c, r->out);
	cr_assert_eq(atoll(v), bytes);
	snprintf(sent, sizeof(sent), "%s", line_field(c, "SENT", "fnv"));
	v = line_field(c, "RECEIVED", "bytes");
	cr_assert_not_null(v, "client:\n%s", c);
	cr_assert_eq(atoll(v), bytes);
	snprintf(recvd, sizeof(recvd), "%s", line_field(c, "RECEIVED", "fnv"));
	v = line_field(r->out, "EOF", "bytes");
	cr_assert_not_null(v, "server:\n%s", r->out);
	cr_assert_eq(atoll(v), bytes);
	snprintf(eof, sizeof(eof), "%s", line_field(r->out, "EOF", "fnv"));
	cr_assert_str_eq(recvd, sent, "echo differs from what was sent");
	cr_assert_str_eq(eof, sent, "server read differs from what was sent");
}

/* The RTT i=1..n lines of the client, in microseconds; returns how many. */
static int client_rtts(const struct run_result *r, long *us, int max)
{
	const char *out = rr_read(r, "client.out");
	int n = 0;

	for (const char *l = strstr(out, "RTT "); l && n < max;
	     l = strstr(l + 1, "RTT ")) {
		int i;

		cr_assert_eq(sscanf(l, "RTT i=%d us=%ld", &i, &us[n]), 2);
		cr_assert_eq(i, n + 1);
		n++;
	}
	return n;
}

/* ---- prob with a seed ---- */

/* "flow from seq verdict" of every data segment, one per line. */
static char *data_verdicts(const struct run_result *r)
{
	json_object *tr = rr_trace(r);
	size_t cap = 1 << 16, len = 0;
	char *s = calloc(1, cap);

	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!is_segment(ev) || ji(ev, "len") <= 0)
			continue;
		len += (size_t)snprintf(s + len, cap - len, "%lld %s %lld %s\n",
					ji(ev, "flow"), js(ev, "from"),
					ji(ev, "seq"), js(ev, "verdict"));
		cr_assert_lt(len, cap);
	}
	json_object_put(tr);
	return s;
}

static int count_substr(const char *s, const char *sub)
{
	int n = 0;

	for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
		n++;
	return n;
}

/* One seeded run; checks the seed in the trace header, report and
 * stdout; returns its data verdicts (caller frees). */
static char *seeded_run(enum as_user u, const char *seed)
{
	struct run_result r;
	json_object *tr, *rep;
	char want[64];
	long rtt[32];
	char *v;

	rr_init(&r);
	run_echo(&r, u, "delay 5ms from client data prob 30%\n",
		 client_cmd(&r, CL_NET, "-p 7000 --rtt 20"), seed);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(client_rtts(&r, rtt, 32), 20, "client:\n%s", rr_read(&r, "client.out"));
	tr = rr_trace(&r);
	cr_assert_str_eq(js(json_object_array_get_idx(tr, 0), "ev"), "run");
	cr_assert_eq(ji(json_object_array_get_idx(tr, 0), "seed"), atoll(seed));
	json_object_put(tr);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	cr_assert_eq(ji(rep, "seed"), atoll(seed));
	json_object_put(rep);
	snprintf(want, sizeof(want), "(seed %s,", seed);
	cr_assert(strstr(r.out, want), "%s", r.out);
	v = data_verdicts(&r);
	rr_free(&r);
	return v;
}

/* The same seed gives the same decisions; another seed other ones.  Each
 * request is one 1-byte segment (--rtt), so the draws line up. */
BOTH(seeded_prob_reproducible)
{
	char *a = seeded_run(u, "7");
	char *b = seeded_run(u, "7");
	char *c = seeded_run(u, "8");
	int delays = count_substr(a, " delay\n");

	/* 20 one-byte requests, some delayed, and 20 echoes, all passed */
	cr_assert_eq(count_substr(a, "\n"), 40, "%s", a);
	cr_assert_eq(count_substr(a, " client "), 20, "%s", a);
	cr_assert_eq(count_substr(a, " server "), 20, "%s", a);
	cr_assert_eq(count_substr(a, " pass\n") + delays, 40, "%s", a);
	cr_assert_gt(delays, 0, "%s", a);
	cr_assert_lt(delays, 20, "%s", a);
	cr_assert_str_eq(a, b, "seed 7 twice:\n%s---\n%s", a, b);
	cr_assert_str_neq(a, c, "seeds 7 and 8 decided alike:\n%s", a);
	cr_assert_eq(count_substr(c, "\n"), 40, "%s", c);
	free(a);
	free(b);
	free(c);
}

/* ---- duplicate ---- */

/* Two copies of the first three requests: each duplicate line is followed
 * by two inject lines of the same segment, and the server's kernel saw
 * the copies (it sends a D-SACK for each, RFC 2883). */
BOTH(duplicate_small)
{
	struct run_result r;
	json_object *tr;
	long rtt[8];
	int dups = 0;

	rr_init(&r);
	run_echo(&r, u, "duplicate 2 from client data times 3\n",
		 client_cmd(&r, CL_NET, "-p 7000 --rtt 5"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(client_rtts(&r, rtt, 8), 5);
	cr_assert_str_eq(line_field(r.out, "EOF", "bytes") ?: "-", "5", "%s", r.out);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!verdict_is(ev, "duplicate"))
			continue;
		dups++;
		cr_assert(from_is(ev, "client"));
		cr_assert_str_eq(js(ev, "rule"), rr_path(&r, "test.rules:1"));
		cr_assert_str_eq(js(ev, "detail"), "2 copies");
		/* The next two segments (the trace is in time order: a
		 * call may come between). */
		for (size_t k = 1, at = i; k <= 2; k++) {
			json_object *cp;

			do
				cp = json_object_array_get_idx(tr, ++at);
			while (cp && strcmp(js(cp, "ev"), "pkt"));
			cr_assert_not_null(cp, "no segment after the duplicate");

			cr_assert(verdict_is(cp, "inject"), "line after duplicate: %s",
				  json_object_to_json_string(cp));
			cr_assert(from_is(cp, "client"));
			cr_assert_eq(ji(cp, "seq"), ji(ev, "seq"));
			cr_assert_eq(ji(cp, "len"), 1);
			cr_assert_str_eq(js(cp, "rule"), js(ev, "rule"));
		}
	}
	cr_assert_eq(dups, 3);
	cr_assert_eq(count_verdicts(tr, "inject"), 6);
	cr_assert_geq(net_counter(&r, "TcpExt", "TCPDSACKOldSent"), 3,
		      "%s", rr_read(&r, "net.out"));
	cr_assert_eq(net_counter(&r, "Tcp", "InCsumErrors"), 0);
	json_object_put(tr);
	rr_free(&r);
}

/* Duplicating GSO packets of the echo: each copy is cut into MTU-sized
 * segments that tile the original exactly; all reach the client with
 * valid checksums (D-SACKs, no checksum errors); the echo is intact. */
BOTH(duplicate_gso)
{
	struct run_result r;
	json_object *tr;
	int gso = 0;

	rr_init(&r);
	run_echo(&r, u, "duplicate from server data times 3\n",
		 client_cmd(&r, CL_NET, "-p 7000 --send 300000"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	assert_echo_intact(&r, 300000);
	tr = rr_trace(&r);
	cr_assert_eq(count_verdicts(tr, "duplicate"), 3);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		long long seq, end;

		if (!verdict_is(ev, "duplicate"))
			continue;
		seq = ji(ev, "seq");
		end = seq + ji(ev, "len");
		gso += ji(ev, "len") > 1500;
		for (size_t k = i + 1; seq < end; k++) {
			json_object *cp = json_object_array_get_idx(tr, k);

			cr_assert(verdict_is(cp, "inject"), "%s",
				  json_object_to_json_string(cp));
			cr_assert(from_is(cp, "server"));
			cr_assert_eq(ji(cp, "seq"), seq);
			cr_assert_leq(ji(cp, "len"), 1460);
			cr_assert_gt(ji(cp, "len"), 0);
			seq += ji(cp, "len");
		}
		cr_assert_eq(seq, end);
	}
	cr_assert_gt(gso, 0, "no GSO packet was duplicated");
	cr_assert_geq(net_counter(&r, "TcpExt", "TCPDSACKOldSent"), 3);
	cr_assert_eq(net_counter(&r, "Tcp", "InCsumErrors"), 0);
	json_object_put(tr);
	rr_free(&r);
}

/* ---- reorder ---- */

/* The third data segment is held and released after the next: the next
 * one passes at once (no delay), the server's kernel queues a segment out
 * of order, and the stream is intact.  One-way traffic (the server only
 * reads), so that the client's next segment carries data: in an echo it is
 * often a bare ACK, which releases the held segment as well. */
BOTH(reorder_swaps)
{
	struct run_result r;
	json_object *tr;
	long long held_seq = -1;
	int reorders = 0, next_seen = 0;
	char sent[64];

	rr_init(&r);
	run_server(&r, u, "reorder from client data nth 3\n",
		   client_cmd(&r, CL_NET, "-p 7000 --send 100000 --no-read"), NULL, 1);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	snprintf(sent, sizeof(sent), "%s",
		 line_field(rr_read(&r, "client.out"), "SENT", "fnv") ?: "(none)");
	cr_assert_str_eq(line_field(r.out, "EOF", "fnv") ?: "-", sent, "%s", r.out);
	cr_assert_str_eq(line_field(r.out, "EOF", "bytes") ?: "-", "100000");
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!is_segment(ev) || !from_is(ev, "client"))
			continue;
		if (verdict_is(ev, "reorder")) {
			reorders++;
			held_seq = ji(ev, "seq");
			cr_assert_str_eq(js(ev, "rule"), rr_path(&r, "test.rules:1"));
			cr_assert(strstr(js(ev, "detail"), "at most 100ms"), "%s",
				  js(ev, "detail"));
		} else if (held_seq >= 0 && !next_seen) {
			next_seen = 1;
			cr_assert_str_eq(js(ev, "verdict"), "pass");
			cr_assert_gt(ji(ev, "len"), 0);
			cr_assert_gt(ji(ev, "seq"), held_seq);
			cr_assert_eq(jd(ev, "delay"), -1, "the next segment waited");
		}
	}
	cr_assert_eq(reorders, 1);
	cr_assert(next_seen);
	cr_assert_geq(net_counter(&r, "TcpExt", "TCPOFOQueue"), 1,
		      "%s", rr_read(&r, "net.out"));
	json_object_put(tr);
	rr_free(&r);
}

/* A request/response client sends nothing after the held request, so it
 * goes after the default 100ms: before the sender's retransmission
 * timeout (200ms at least), which would otherwise have released it. */
BOTH(reorder_timeout)
{
	struct run_result r;
	long rtt[8];

	rr_init(&r);
	run_echo(&r, u, "reorder from client data nth 2\n",
		 client_cmd(&r, CL_NET, "-p 7000 --rtt 3"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(client_rtts(&r, rtt, 8), 3, "client:\n%s", rr_read(&r, "client.out"));
	cr_assert_geq(rtt[1], 100000, "round trip %ld us", rtt[1]);
	cr_assert_lt(rtt[1], 200000, "round trip %ld us", rtt[1]);
	cr_assert_eq(net_counter(&r, "Tcp", "RetransSegs"), 0);
	rr_free(&r);
}

/* ---- corrupt ---- */

/* The first request is corrupted twice: the server's kernel drops both
 * (two checksum errors), and the client's retransmission with the same
 * seq passes later. */
BOTH(corrupt_dropped_by_receiver)
{
	struct run_result r;
	json_object *tr;
	long long seq = -1;
	double t_corrupt = -1, t_pass = -1;
	int corrupts = 0;
	long rtt[8];

	rr_init(&r);
	run_echo(&r, u, "corrupt from client data times 2\n",
		 client_cmd(&r, CL_NET, "-p 7000 --rtt 3"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(client_rtts(&r, rtt, 8), 3);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!is_segment(ev) || !from_is(ev, "client") || ji(ev, "len") <= 0)
			continue;
		if (verdict_is(ev, "corrupt")) {
			if (seq >= 0)
				cr_assert_eq(ji(ev, "seq"), seq);
			seq = ji(ev, "seq");
			t_corrupt = jd(ev, "t");
			corrupts++;
		} else if (seq >= 0 && t_pass < 0) {
			cr_assert_str_eq(js(ev, "verdict"), "pass");
			cr_assert_eq(ji(ev, "seq"), seq, "not a retransmission");
			t_pass = jd(ev, "t");
		}
	}
	cr_assert_eq(corrupts, 2);
	cr_assert_gt(t_pass, t_corrupt);
	cr_assert_eq(net_counter(&r, "Tcp", "InCsumErrors"), 2,
		     "%s", rr_read(&r, "net.out"));
	cr_assert_geq(net_counter(&r, "Tcp", "RetransSegs"), 2);
	cr_assert_str_eq(line_field(r.out, "EOF", "bytes") ?: "-", "3", "%s", r.out);
	json_object_put(tr);
	rr_free(&r);
}

/* A corrupted GSO packet is replaced by its segments, each with a broken
 * checksum: the receiver drops every one; the echo still arrives. */
BOTH(corrupt_gso)
{
	struct run_result r;
	json_object *tr;
	long long pieces = 0, len = 0;

	rr_init(&r);
	run_echo(&r, u, "corrupt from client data len > 3000 times 1\n",
		 client_cmd(&r, CL_NET, "-p 7000 --send 300000"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	assert_echo_intact(&r, 300000);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (verdict_is(ev, "corrupt"))
			len = ji(ev, "len");
		if (verdict_is(ev, "inject")) {
			cr_assert(strstr(js(ev, "detail"), "checksum broken"));
			pieces++;
		}
	}
	cr_assert_gt(len, 3000);
	cr_assert_eq(pieces, (len + 1447) / 1448, "%lld bytes in %lld pieces",
		     len, pieces);
	cr_assert_eq(net_counter(&r, "Tcp", "InCsumErrors"), pieces);
	json_object_put(tr);
	rr_free(&r);
}

/* ---- truncate ---- */

/* Three client segments cut to 100 bytes: the server acknowledges exactly
 * 100 bytes of the first, the client retransmits the rest, and the echo
 * arrives intact without any seq/ack shifting. */
BOTH(truncate_echo_intact)
{
	struct run_result r;
	json_object *tr;
	long long first_seq = -1;
	int truncs = 0, acked = 0;

	rr_init(&r);
	run_echo(&r, u, "truncate 100 from client data times 3\n",
		 client_cmd(&r, CL_NET, "-p 7000 --send 200000"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	assert_echo_intact(&r, 200000);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (verdict_is(ev, "truncate")) {
			char want[64];

			truncs++;
			cr_assert(from_is(ev, "client"));
			cr_assert_gt(ji(ev, "len"), 100);
			snprintf(want, sizeof(want), "payload %lld->100 bytes",
				 ji(ev, "len"));
			cr_assert(!strncmp(js(ev, "detail"), want, strlen(want)),
				  "%s", js(ev, "detail"));
			if (first_seq < 0)
				first_seq = ji(ev, "seq");
		} else if (is_segment(ev) && from_is(ev, "server") && first_seq >= 0 &&
			   ji(ev, "ack") == first_seq + 100) {
			acked = 1;
		}
	}
	cr_assert_eq(truncs, 3);
	cr_assert(acked, "no ACK of exactly the 100 kept bytes");
	cr_assert_geq(net_counter(&r, "Tcp", "RetransSegs"), 1);
	json_object_put(tr);
	rr_free(&r);
}

/* ---- reset ---- */

/* An RST at the dropped segment's own seq (RCV.NXT) resets the server's
 * socket: its read fails with ECONNRESET.  The second request is the one
 * replaced, so the server has surely accepted the connection (an RST that
 * beats accept() makes the connection vanish from the listen queue). */
BOTH(reset_in_window_resets)
{
	struct run_result r;
	json_object *tr;
	long long seq = -1;
	int injected = 0;

	rr_init(&r);
	run_echo(&r, u, "reset from client data nth 2 times 1\n",
		 client_cmd(&r, CL_NET, "-p 7000 --rtt 3"), NULL);
	cr_assert_str_eq(line_field(r.out, "READ_ERROR", "errno") ?: "(none)",
			 "ECONNRESET", "server:\n%s", r.out);
	cr_assert_str_eq(line_field(r.out, "READ_ERROR", "bytes") ?: "-", "1");
	cr_assert_eq(count_lines(r.out, "EOF"), 0);
	/* The client's connection is gone too: it fails, and so does the run. */
	cr_assert_eq(r.status, 1, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (verdict_is(ev, "drop") && from_is(ev, "client"))
			seq = ji(ev, "seq");
		if (verdict_is(ev, "inject")) {
			injected++;
			cr_assert_str_eq(js(ev, "flags"), "RST");
			cr_assert_eq(ji(ev, "seq"), seq);
		}
	}
	cr_assert_eq(injected, 1);
	json_object_put(tr);
	rr_free(&r);
}

/* An RST one past RCV.NXT is inside the window but not exact: the server
 * answers with a challenge ACK (RFC 5961 section 3.2) and the connection
 * lives on. */
BOTH(reset_out_of_window_challenged)
{
	struct run_result r;
	json_object *tr;
	long long rst_seq = -1;
	int challenge = 0;
	long rtt[8];

	rr_init(&r);
	run_echo(&r, u, "reset out-of-window from client data times 1\n",
		 client_cmd(&r, CL_NET, "-p 7000 --rtt 3"), NULL);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert_eq(client_rtts(&r, rtt, 8), 3, "client:\n%s", rr_read(&r, "client.out"));
	cr_assert_str_eq(line_field(r.out, "EOF", "bytes") ?: "-", "3", "%s", r.out);
	cr_assert_eq(count_lines(r.out, "READ_ERROR"), 0);
	tr = rr_trace(&r);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (verdict_is(ev, "inject")) {
			cr_assert_str_eq(js(ev, "flags"), "RST");
			rst_seq = ji(ev, "seq");
		} else if (rst_seq >= 0 && is_segment(ev) && from_is(ev, "server")) {
			/* the first server segment after the RST */
			challenge = !strcmp(js(ev, "flags"), "ACK") &&
				    ji(ev, "len") == 0 &&
				    ji(ev, "ack") == rst_seq - 1;
			break;
		}
	}
	cr_assert_geq(rst_seq, 1);
	if (net_counter(&r, "TcpExt", "TCPACKSkippedChallenge") > 0) {
		/* Rate-limited (tcp_challenge_ack_limit, or the per-socket
		 * tcp_invalid_ratelimit): no ACK to see, and that is fine. */
		cr_log_warn("challenge ACK rate-limited");
	} else {
		cr_assert(challenge, "no challenge ACK right after the RST");
		cr_assert_geq(net_counter(&r, "TcpExt", "TCPChallengeACK"), 1);
	}
	json_object_put(tr);
	rr_free(&r);
}

/* ---- everything at once ---- */

/* 5 MB echoed through jittered delays, duplicates and reorders arrives
 * intact, and each rule acted. */
BOTH(bulk_5mb_intact)
{
	struct run_result r;
	json_object *tr;

	rr_init(&r);
	run_echo(&r, u,
		 "delay 1ms jitter 1ms from client data prob 20%\n"
		 "duplicate from server data prob 5%\n"
		 "reorder from client data prob 5%\n",
		 client_cmd(&r, CL_NET, "-p 7000 --send 5242880"), "11");
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	assert_echo_intact(&r, 5242880);
	tr = rr_trace(&r);
	cr_assert_gt(count_verdicts(tr, "delay"), 0);
	cr_assert_gt(count_verdicts(tr, "duplicate"), 0);
	cr_assert_gt(count_verdicts(tr, "inject"), 0);
	cr_assert_gt(count_verdicts(tr, "reorder"), 0);
	cr_assert_eq(net_counter(&r, "Tcp", "InCsumErrors"), 0);
	json_object_put(tr);
	rr_free(&r);
}
