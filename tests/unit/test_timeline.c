/*
 * test_timeline.c - the timeline (harness/timeline.c), the engine's one
 * sink, without a kernel or an engine: hand-made segment events go in,
 * and what comes out is compared with what they say: the trace's pkt
 * lines (to a file, by a fake clock), the flow's ladder records, its
 * delivery and liveness facts (the timeline's own, per flow id), and the
 * observer's events (every one, batch ends too, in order, after the rest
 * was recorded).
 *
 * Single-threaded, as the timeline.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "rules.h"
#include "timeline.h"
#include "trace.h"

enum { C = FL_DIR_C2S, S = FL_DIR_S2C };
#define SYN FL_TCP_SYN
#define ACK FL_TCP_ACK
#define FIN FL_TCP_FIN
#define RST FL_TCP_RST
#define PSH FL_TCP_PSH
#define MS 1000000ull

static struct fl_ruleset *rs;
static struct fl_timeline *tl;
static struct fl_trace *trace;
static struct fl_flow flow;
static struct fl_flow other = {.id = 200}; /* a second flow, past the
					     records' first room */
static char path[64];
static uint64_t fake_now;

/* What the observer was told, one word per event ("/" a batch end), and
 * how many ladder records the flow held when it was. */
static char oblog[4096];

static void count_one(void *ctx, const struct fl_pkt_rec *r)
{
	(void)r;
	++*(uint64_t *)ctx;
}

/* Segments on flow id's ladder, kept or not. */
static uint64_t ladder_len(uint32_t id)
{
	uint64_t n = 0, skipped;

	skipped = fl_timeline_ladder_walk(tl, id, count_one, &n);
	return n + skipped;
}

/* The test flow's facts. */
static const struct fl_flow_facts *facts(void)
{
	return fl_timeline_facts(tl, flow.id);
}

static uint64_t now_fn(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void observe(void *ctx, const struct fl_seg_event *ev)
{
	size_t n = strlen(oblog);

	cr_assert_eq(ctx, &flow);
	if (!ev->f) {
		snprintf(oblog + n, sizeof(oblog) - n, "%s/", n ? " " : "");
		return;
	}
	cr_assert(ev->f == &flow || ev->f == &other,
		  "the event is forwarded as it came");
	/* Told last: its segment is already on the ladder. */
	snprintf(oblog + n, sizeof(oblog) - n, "%s%s@%llu#%llu", n ? " " : "",
		 fl_verdict_name(ev->verdict),
		 (unsigned long long)(ev->t_ns / MS),
		 (unsigned long long)ladder_len(ev->f->id));
}

/* A timeline for rules text (file "t"), with a trace unless no_trace. */
static void start(const char *text, int no_trace)
{
	struct fl_diag d = {0};
	struct fl_timeline_cfg cfg = {0};
	int fd;

	memset(&flow, 0, sizeof(flow));
	flow.id = 3;
	oblog[0] = 0;
	fake_now = 0;
	rs = fl_ruleset_new();
	cr_assert_not_null(rs);
	cr_assert_eq(fl_rules_parse(rs, "t", text, strlen(text), &d), 0, "%s",
		     d.buf ? d.buf : "");
	fl_diag_free(&d);
	trace = NULL;
	if (!no_trace) {
		strcpy(path, "/tmp/fl-test-timeline-XXXXXX");
		fd = mkstemp(path);
		cr_assert_geq(fd, 0);
		close(fd);
		trace = fl_trace_open(path);
		cr_assert_not_null(trace);
		fl_trace_set_clock(trace, 0, now_fn, NULL);
	}
	cfg.rs = rs;
	cfg.trace = trace;
	cfg.observe = observe;
	cfg.observe_ctx = &flow;
	cr_assert_eq(fl_timeline_new(&tl, &cfg), 0);
}

/* Closes the trace and returns its lines (static buffer). */
static const char *trace_text(void)
{
	static char buf[1 << 16];
	FILE *f;
	size_t n;

	cr_assert_eq(fl_trace_close(trace), 0);
	trace = NULL;
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	unlink(path);
	return buf;
}

static void stop(void)
{
	if (trace) {
		fl_trace_close(trace);
		unlink(path);
	}
	fl_timeline_free(tl);
	fl_ruleset_free(rs);
	tl = NULL;
	rs = NULL;
}

/* One event of the test's flow: read at ms, held delay_ms. */
static void seg(int dir, uint8_t flags, uint32_t rseq, uint32_t rack,
		uint32_t len, uint16_t win, enum fl_verdict v, int rule,
		uint64_t ms, uint64_t delay_ms)
{
	struct fl_seg_event ev = {
		.f = &flow,
		.dir = dir,
		.flags = flags,
		.win = win,
		.rseq = rseq,
		.rack = rack,
		.len = len,
		.delivered = fl_verdict_fate(v) == FL_FATE_DELIVERED,
		.verdict = v,
		.rule = rule,
		.read_ns = ms * MS,
		.delay_ns = delay_ms * MS,
		.t_ns = (ms * MS + delay_ms * MS) | 1,
	};

	fl_timeline_segment(tl, &ev);
}

/* The full event, for the fields seg() leaves at their default. */
static void event(const struct fl_seg_event *ev)
{
	fl_timeline_segment(tl, ev);
}

static void batch_end(uint64_t ms)
{
	struct fl_seg_event ev = {.rule = -1, .t_ns = ms * MS};

	fl_timeline_segment(tl, &ev);
}

/* The ladder, one word per record: c/s, flags, seq+len, ack, verdict,
 * :rule, @ms. */
static void ladder_word(void *ctx, const struct fl_pkt_rec *r)
{
	char *out = ctx, fl[40], rule[16] = "";
	size_t n = strlen(out);

	fl_flags_format(r->flags, fl, sizeof(fl));
	if (r->rule >= 0)
		snprintf(rule, sizeof(rule), ":%d", r->rule);
	snprintf(out + n, 4096 - n, "%s%c:%s %u+%u a%u %s%s@%llu", n ? " " : "",
		 r->dir == C ? 'c' : 's', fl, r->seq, r->len, r->ack,
		 fl_verdict_name((enum fl_verdict)r->verdict), rule,
		 (unsigned long long)(r->t_ns / MS));
}

static const char *ladder(void)
{
	static char buf[4096];

	buf[0] = 0;
	cr_assert_eq(fl_timeline_ladder_walk(tl, flow.id, ladder_word, buf), 0);
	return buf;
}

Test(timeline, trace_lines_as_the_events_say)
{
	struct fl_seg_event ev = {
		.f = &flow, .dir = S, .flags = ACK | PSH, .win = 512,
		.rseq = 1, .rack = 5, .len = 3, .delivered = 1,
		.verdict = FL_V_PASS, .rule = -1, .read_ns = 7 * MS,
		.delay_ns = 2 * MS, .queued = 1, .t_ns = (9 * MS) | 1,
	};

	start("drop from client flags FIN\ndelay 5ms from server data\n", 0);
	seg(C, SYN, 0, 0, 0, 64240, FL_V_PASS, -1, 1, 0);
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_DROP, 0, 2, 0);
	seg(S, PSH | ACK, 1, 5, 4, 64, FL_V_DELAY, 1, 3, 5);
	/* Held only to keep its direction's order: the trace says so, after
	 * the engine's words when there are some. */
	event(&ev);
	ev.detail = "copy 1 of 1";
	ev.verdict = FL_V_DUPLICATE;
	ev.rule = 1;
	event(&ev);
	ev.detail = "flags FIN,ACK->RST";
	ev.queued = 0;
	ev.delay_ns = 0;
	ev.verdict = FL_V_REWRITE;
	ev.rule = 7; /* out of the rules' range: no name */
	ev.t_ns = (7 * MS) | 1;
	event(&ev);
	batch_end(10);
	cr_assert_str_eq(
		trace_text(),
		"{\"t\":0.001000,\"ev\":\"pkt\",\"flow\":3,\"from\":\"client\","
		"\"flags\":\"SYN\",\"seq\":0,\"ack\":0,\"len\":0,\"win\":64240,"
		"\"verdict\":\"pass\",\"rule\":null}\n"
		"{\"t\":0.002000,\"ev\":\"pkt\",\"flow\":3,\"from\":\"client\","
		"\"flags\":\"FIN,ACK\",\"seq\":1,\"ack\":1,\"len\":0,\"win\":63,"
		"\"verdict\":\"drop\",\"rule\":\"t:1\"}\n"
		"{\"t\":0.003000,\"ev\":\"pkt\",\"flow\":3,\"from\":\"server\","
		"\"flags\":\"PSH,ACK\",\"seq\":1,\"ack\":5,\"len\":4,\"win\":64,"
		"\"verdict\":\"delay\",\"rule\":\"t:2\",\"delay\":0.005000}\n"
		"{\"t\":0.007000,\"ev\":\"pkt\",\"flow\":3,\"from\":\"server\","
		"\"flags\":\"PSH,ACK\",\"seq\":1,\"ack\":5,\"len\":3,\"win\":512,"
		"\"verdict\":\"pass\",\"rule\":null,\"delay\":0.002000,"
		"\"detail\":\"queued behind a held segment\"}\n"
		"{\"t\":0.007000,\"ev\":\"pkt\",\"flow\":3,\"from\":\"server\","
		"\"flags\":\"PSH,ACK\",\"seq\":1,\"ack\":5,\"len\":3,\"win\":512,"
		"\"verdict\":\"duplicate\",\"rule\":\"t:2\",\"delay\":0.002000,"
		"\"detail\":\"copy 1 of 1; queued behind a held segment\"}\n"
		"{\"t\":0.007000,\"ev\":\"pkt\",\"flow\":3,\"from\":\"server\","
		"\"flags\":\"PSH,ACK\",\"seq\":1,\"ack\":5,\"len\":3,\"win\":512,"
		"\"verdict\":\"rewrite\",\"rule\":null,"
		"\"detail\":\"flags FIN,ACK->RST\"}\n");
	/* The ladder keeps the same segments at the same times; the rule by
	 * its index. */
	cr_assert_str_eq(ladder(),
			 "c:SYN 0+0 a0 pass@1 c:FIN,ACK 1+0 a1 drop:0@2 "
			 "s:PSH,ACK 1+4 a5 delay:1@3 s:PSH,ACK 1+3 a5 pass@7 "
			 "s:PSH,ACK 1+3 a5 duplicate:1@7 "
			 "s:PSH,ACK 1+3 a5 rewrite:7@7");
	/* The observer hears each after it is on the ladder (#n: records
	 * then), due at its release, and the batch's end. */
	cr_assert_str_eq(oblog, "pass@1#1 drop@2#2 delay@8#3 pass@9#4 "
				"duplicate@9#5 rewrite@7#6 /");
	stop();
}

Test(timeline, an_ack_only_where_ACK_says)
{
	start("", 0);
	/* A SYN's ack field is whatever the sender left there. */
	seg(C, SYN, 0, 4242, 0, 100, FL_V_PASS, -1, 1, 0);
	cr_assert_str_eq(trace_text(),
			 "{\"t\":0.001000,\"ev\":\"pkt\",\"flow\":3,"
			 "\"from\":\"client\",\"flags\":\"SYN\",\"seq\":0,"
			 "\"ack\":0,\"len\":0,\"win\":100,\"verdict\":\"pass\","
			 "\"rule\":null}\n");
	cr_assert_str_eq(ladder(), "c:SYN 0+0 a0 pass@1");
	cr_assert_eq(facts()->acked_known[C], 0, "no ACK: nothing acknowledged");
	cr_assert_eq(facts()->snd_max[C], 1, "the SYN takes one number");
	stop();
}

Test(timeline, without_a_trace_the_ladder_and_facts_still)
{
	start("", 1);
	seg(S, FIN | ACK, 1, 1, 0, 64, FL_V_PASS, -1, 4, 0);
	cr_assert_str_eq(ladder(), "s:FIN,ACK 1+0 a1 pass@4");
	cr_assert_eq(facts()->fin_ns[S], (4 * MS) | 1);
	cr_assert_str_eq(oblog, "pass@4#1");
	stop();
}

/* The first FIN and RST each side got through, at their due time; not
 * the ones lost, changed, or forged. */
Test(timeline, delivered_fins_and_rsts)
{
	struct fl_seg_event forged = {
		.f = &flow, .dir = C, .flags = RST, .rseq = 3, .delivered = 1,
		.forged = FL_FORGED_TAKES, .verdict = FL_V_INJECT, .rule = -1,
		.read_ns = 1 * MS, .t_ns = (1 * MS) | 1,
	};

	start("", 1);
	event(&forged);
	cr_assert_eq(facts()->rst_ns[C], 0, "the engine's RST is not the client's");
	cr_assert_eq(facts()->arrived_ns[C], 0, "nor says the client is alive");
	cr_assert_eq(facts()->snd_max_known[C], 0);
	cr_assert_str_eq(ladder(), "c:RST 3+0 a0 inject@1", "but it is logged");
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_DROP, -1, 2, 0);
	cr_assert_eq(facts()->fin_ns[C], 0, "a dropped FIN did not get through");
	cr_assert_eq(facts()->lost_ns, (2 * MS) | 1, "but was lost then");
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_REWRITE, -1, 3, 0);
	cr_assert_eq(facts()->fin_ns[C], 0, "nor a changed one");
	cr_assert_eq(facts()->arrived_ns[C], (3 * MS) | 1, "which still arrived");
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_DELAY, -1, 4, 30);
	cr_assert_eq(facts()->fin_ns[C], (34 * MS) | 1, "a held one when released");
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_PASS, -1, 40, 0);
	cr_assert_eq(facts()->fin_ns[C], (34 * MS) | 1, "the first one stays");
	seg(S, RST | ACK, 1, 2, 0, 0, FL_V_PASS, -1, 41, 0);
	cr_assert_eq(facts()->rst_ns[S], (41 * MS) | 1);
	cr_assert_eq(facts()->fin_ns[S], 0);
	stop();
}

/* What dead-peer reads: the highest number sent (with and without the
 * FIN), the highest ack that arrived, the last window, and keepalive
 * probes (one below the highest number sent, bare ACK). */
Test(timeline, liveness_and_keepalive_probes)
{
	start("", 1);
	seg(C, SYN, 0, 0, 0, 64240, FL_V_PASS, -1, 1, 0);
	seg(S, SYN | ACK, 0, 1, 0, 65160, FL_V_PASS, -1, 1, 0);
	seg(C, PSH | ACK, 1, 1, 10, 63, FL_V_PASS, -1, 2, 0);
	cr_assert_eq(facts()->snd_max[C], 11);
	cr_assert_eq(facts()->data_max[C], 11);
	cr_assert_eq(facts()->acked[C], 1);
	seg(S, ACK, 1, 11, 0, 64, FL_V_PASS, -1, 3, 0);
	cr_assert_eq(facts()->acked[S], 11);
	cr_assert_eq(facts()->last_win[S], 64);
	/* An ack that goes back is not the highest. */
	seg(S, ACK, 1, 6, 0, 64, FL_V_PASS, -1, 4, 0);
	cr_assert_eq(facts()->acked[S], 11);
	/* Two keepalives from the client: seq snd_max - 1, no data. */
	seg(C, ACK, 10, 1, 0, 63, FL_V_PASS, -1, 5, 0);
	seg(C, ACK, 10, 1, 0, 63, FL_V_DROP, -1, 6, 0);
	cr_assert_eq(facts()->ka_probes[C], 2, "lost or not, each was sent");
	cr_assert_eq(facts()->arrived_ns[C], (5 * MS) | 1, "the lost one did not arrive");
	cr_assert_eq(facts()->lost_ns, (6 * MS) | 1);
	/* Once the server's window is shut, the same segment is a
	 * zero-window probe: not counted. */
	seg(S, ACK, 1, 11, 0, 0, FL_V_PASS, -1, 7, 0);
	seg(C, ACK, 10, 1, 0, 63, FL_V_PASS, -1, 8, 0);
	cr_assert_eq(facts()->ka_probes[C], 2);
	/* A FIN counts in snd_max, not in data_max. */
	seg(C, FIN | ACK, 11, 1, 0, 63, FL_V_PASS, -1, 9, 0);
	cr_assert_eq(facts()->snd_max[C], 12);
	cr_assert_eq(facts()->data_max[C], 11);
	stop();
}

/* The blackhole that took the flow: the rule of its first drop by a
 * blackhole rule; a drop by another rule is none, and it stays. */
Test(timeline, the_blackhole_that_took_the_flow)
{
	start("drop from client flags FIN times 1\nblackhole from client data\n", 1);
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_DROP, 0, 1, 0);
	cr_assert_eq(facts()->blackholed, 0, "a drop rule is no blackhole");
	seg(C, PSH | ACK, 1, 1, 5, 63, FL_V_PASS, 1, 2, 0);
	cr_assert_eq(facts()->blackholed, 0, "nothing dropped");
	seg(C, PSH | ACK, 1, 1, 5, 63, FL_V_DROP, 1, 3, 0);
	cr_assert_eq(facts()->blackholed, 2, "rule index + 1");
	seg(C, FIN | ACK, 6, 1, 0, 63, FL_V_DROP, 0, 4, 0);
	cr_assert_eq(facts()->blackholed, 2, "it stays");
	stop();
}

/* Each flow's record is its own, by id; a flow with none reads as all
 * zero, and so does every flow of no timeline. */
Test(timeline, facts_and_ladders_per_flow_id)
{
	struct fl_seg_event ev = {
		.f = &other, .dir = S, .flags = FIN | ACK, .rseq = 9, .rack = 4,
		.delivered = 1, .verdict = FL_V_PASS, .rule = -1,
		.read_ns = 5 * MS, .t_ns = (5 * MS) | 1,
	};
	static const struct fl_flow_facts zero;
	const struct fl_flow_facts *before;
	char buf[4096] = "";

	start("", 1);
	seg(C, FIN | ACK, 1, 1, 0, 63, FL_V_PASS, -1, 2, 0);
	before = facts();
	event(&ev);
	cr_assert_eq(facts(), before, "a flow's facts stay where they are");
	cr_assert_eq(facts()->fin_ns[C], (2 * MS) | 1);
	cr_assert_eq(facts()->fin_ns[S], 0, "flow 200's FIN is not flow 3's");
	cr_assert_eq(fl_timeline_facts(tl, 200)->fin_ns[S], (5 * MS) | 1);
	cr_assert_eq(fl_timeline_facts(tl, 200)->fin_ns[C], 0);
	cr_assert_eq(fl_timeline_ladder_walk(tl, 200, ladder_word, buf), 0);
	cr_assert_str_eq(buf, "s:FIN,ACK 9+0 a4 pass@5");
	cr_assert_str_eq(ladder(), "c:FIN,ACK 1+0 a1 pass@2");
	cr_assert_eq(memcmp(fl_timeline_facts(tl, 4), &zero, sizeof(zero)), 0);
	cr_assert_eq(memcmp(fl_timeline_facts(tl, 0), &zero, sizeof(zero)), 0);
	cr_assert_eq(memcmp(fl_timeline_facts(tl, 100000), &zero, sizeof(zero)), 0);
	cr_assert_eq(memcmp(fl_timeline_facts(NULL, 3), &zero, sizeof(zero)), 0);
	buf[0] = 0;
	cr_assert_eq(fl_timeline_ladder_walk(tl, 4, ladder_word, buf), 0);
	cr_assert_eq(fl_timeline_ladder_walk(NULL, 3, ladder_word, buf), 0);
	cr_assert_str_eq(buf, "", "no record, no rung");
	/* By hand (a test's facts): the same record. */
	cr_assert_null(fl_timeline_facts_edit(tl, 0));
	cr_assert_eq(fl_timeline_facts_edit(tl, 3), facts());
	fl_timeline_facts_edit(tl, 4)->lost_ns = 7;
	cr_assert_eq(fl_timeline_facts(tl, 4)->lost_ns, 7);
	cr_assert_eq(fl_timeline_ladder_add(tl, 0, &(struct fl_pkt_rec){0}), -EINVAL);
	stop();
}

static void seq_of(void *ctx, const struct fl_pkt_rec *r)
{
	uint32_t **p = ctx;

	*(*p)++ = r->seq;
}

/* The ladder keeps a flow's first FL_LADDER_HEAD and last FL_LADDER_TAIL
 * segments, in order, and says how many in the middle it did not. */
Test(timeline, the_ladder_keeps_head_and_tail)
{
	enum { N = FL_LADDER_HEAD + FL_LADDER_TAIL + 25 };
	uint32_t seqs[N], *p = seqs;

	start("", 1);
	for (uint32_t i = 0; i < 3; i++)
		seg(C, ACK, i, 1, 0, 63, FL_V_PASS, -1, 1, 0);
	cr_assert_eq(fl_timeline_ladder_walk(tl, flow.id, seq_of, &p), 0);
	cr_assert_eq(p - seqs, 3, "a short flow: every segment");
	for (uint32_t i = 3; i < N; i++)
		seg(C, ACK, i, 1, 0, 63, FL_V_PASS, -1, 1, 0);
	p = seqs;
	cr_assert_eq(fl_timeline_ladder_walk(tl, flow.id, seq_of, &p), 25);
	cr_assert_eq(p - seqs, FL_LADDER_HEAD + FL_LADDER_TAIL);
	for (uint32_t i = 0; i < FL_LADDER_HEAD; i++)
		cr_assert_eq(seqs[i], i, "head %u", i);
	for (uint32_t i = 0; i < FL_LADDER_TAIL; i++)
		cr_assert_eq(seqs[FL_LADDER_HEAD + i], N - FL_LADDER_TAIL + i,
			     "tail %u", i);
	stop();
}
