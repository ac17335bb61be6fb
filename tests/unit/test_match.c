/*
 * test_match.c - the rule matcher: every match, every limit, the counters
 * behind nth and times, the reproducibility of prob, and the length a
 * truncate implies.  Rulesets are parsed from text and segments built by
 * hand: no kernel involved.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "rules.h"

#define MAXR 16

struct fx {
	struct fl_ruleset *rs;
	struct fl_matcher *m;
};

/* a flow's matcher state with its own counters */
struct flow {
	struct fl_flow_match fm;
	uint32_t hits[MAXR], draws[MAXR];
};

static struct fx load(const char *text, uint64_t seed)
{
	struct fx fx;
	struct fl_diag d = { 0 };

	fx.rs = fl_ruleset_new();
	cr_assert_not_null(fx.rs);
	cr_assert_eq(fl_rules_parse(fx.rs, "m", text, strlen(text), &d), 0, "%s",
		     d.buf ? d.buf : "");
	cr_assert_leq(fx.rs->nrules, MAXR);
	fx.m = fl_matcher_new(fx.rs, seed);
	cr_assert_not_null(fx.m);
	fl_diag_free(&d);
	return fx;
}

static void unload(struct fx *fx)
{
	fl_matcher_free(fx->m);
	fl_ruleset_free(fx->rs);
}

static void flow_init(struct flow *f, uint32_t id, uint32_t conn, uint64_t first_us)
{
	memset(f, 0, sizeof(*f));
	f->fm.flow_id = id;
	f->fm.conn = conn;
	f->fm.first_us = first_us;
	f->fm.hits = f->hits;
	f->fm.draws = f->draws;
}

/* client -> server on 40000 -> 80, target is the server */
static struct fl_segment seg(enum fl_side from, uint8_t flags, uint32_t len,
			     uint64_t off)
{
	struct fl_segment s;

	memset(&s, 0, sizeof(s));
	s.from = from;
	s.target_side = FL_SIDE_SERVER;
	s.flags = flags;
	s.payload_len = len;
	s.stream_off = off;
	s.sport = from == FL_SIDE_CLIENT ? 40000 : 80;
	s.dport = from == FL_SIDE_CLIENT ? 80 : 40000;
	return s;
}

#define C FL_SIDE_CLIENT
#define S FL_SIDE_SERVER
#define ACK FL_TCP_ACK
#define FIN FL_TCP_FIN
#define SYN FL_TCP_SYN
#define RST FL_TCP_RST
#define PSH FL_TCP_PSH

static int match(struct fx *fx, struct flow *f, struct fl_segment s, uint64_t now)
{
	return fl_matcher_match(fx->m, &s, &f->fm, now);
}

Test(match, empty_ruleset_and_bad_args)
{
	struct fx fx = load("# nothing\n", 1);
	struct flow f;
	struct fl_segment s = seg(C, ACK, 0, 0);

	flow_init(&f, 1, 1, 0);
	cr_assert_eq(match(&fx, &f, s, 0), -1);
	cr_assert_eq(fl_matcher_match(NULL, &s, &f.fm, 0), -1);
	cr_assert_eq(fl_matcher_match(fx.m, NULL, &f.fm, 0), -1);
	cr_assert_eq(fl_matcher_fired(fx.m, 0), 0);
	cr_assert_null(fl_matcher_new(NULL, 0));
	fl_matcher_free(NULL);
	unload(&fx);
}

Test(match, from_sides)
{
	struct fx fx = load("drop from client\ndelay 1ms from target\n"
			    "reset from peer\n", 1);
	struct flow f;
	struct fl_segment s;

	flow_init(&f, 1, 1, 0);
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), 0), 0);
	/* server is the target here */
	cr_assert_eq(match(&fx, &f, seg(S, ACK, 0, 0), 0), 1);
	unload(&fx);

	fx = load("drop from server\nreset from peer\ndelay 1ms from target\n", 1);
	s = seg(C, ACK, 0, 0);
	cr_assert_eq(match(&fx, &f, s, 0), 1, "client is the target's peer");
	s.target_side = FL_SIDE_CLIENT;
	cr_assert_eq(match(&fx, &f, s, 0), 2, "client is the target");
	s.target_side = FL_SIDE_ANY;
	cr_assert_eq(match(&fx, &f, s, 0), -1, "unknown target: neither matches");
	s.from = FL_SIDE_SERVER;
	cr_assert_eq(match(&fx, &f, s, 0), 0);
	unload(&fx);
}

Test(match, port_either_end)
{
	struct fx fx = load("drop port 80\n", 1);
	struct flow f;
	struct fl_segment s = seg(C, ACK, 0, 0);

	flow_init(&f, 1, 1, 0);
	cr_assert_eq(match(&fx, &f, s, 0), 0, "dport");
	s = seg(S, ACK, 0, 0);
	cr_assert_eq(match(&fx, &f, s, 0), 0, "sport");
	s.sport = 81;
	cr_assert_eq(match(&fx, &f, s, 0), -1);
	s.dport = 80;
	cr_assert_eq(match(&fx, &f, s, 0), 0);
	unload(&fx);
}

Test(match, flags_all_set_and_none_set)
{
	struct fx fx = load("drop flags FIN,ACK !flags RST,SYN\n", 1);
	struct flow f;

	flow_init(&f, 1, 1, 0);
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK, 0, 0), 0), 0);
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK | PSH, 0, 0), 0), 0);
	cr_assert_eq(match(&fx, &f, seg(C, FIN, 0, 0), 0), -1, "ACK missing");
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), 0), -1, "FIN missing");
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK | RST, 0, 0), 0), -1);
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK | SYN, 0, 0), 0), -1);
	unload(&fx);
}

Test(match, data_and_len)
{
	static const struct {
		const char *rule;
		uint32_t len;
		int want;
	} cases[] = {
		{ "drop data", 0, -1 },	     { "drop data", 1, 0 },
		{ "drop len == 10", 10, 0 }, { "drop len == 10", 11, -1 },
		{ "drop len != 10", 10, -1 }, { "drop len != 10", 0, 0 },
		{ "drop len < 10", 9, 0 },    { "drop len < 10", 10, -1 },
		{ "drop len <= 10", 10, 0 },  { "drop len <= 10", 11, -1 },
		{ "drop len > 10", 11, 0 },   { "drop len > 10", 10, -1 },
		{ "drop len >= 10", 10, 0 },  { "drop len >= 10", 9, -1 },
		{ "drop len >= 64k", 65536, 0 }, { "drop len >= 64k", 65535, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx fx = load(cases[i].rule, 1);
		struct flow f;

		flow_init(&f, 1, 1, 0);
		cr_expect_eq(match(&fx, &f, seg(C, ACK, cases[i].len, 0), 0),
			     cases[i].want, "'%s' with payload %u", cases[i].rule,
			     cases[i].len);
		unload(&fx);
	}
}

Test(match, conn)
{
	struct fx fx = load("drop conn 2\n", 1);
	struct flow f1, f2, f3;

	flow_init(&f1, 1, 1, 0);
	flow_init(&f2, 2, 2, 0);
	flow_init(&f3, 3, 3, 0);
	cr_assert_eq(match(&fx, &f1, seg(C, SYN, 0, 0), 0), -1);
	cr_assert_eq(match(&fx, &f2, seg(C, SYN, 0, 0), 0), 0);
	cr_assert_eq(match(&fx, &f3, seg(C, SYN, 0, 0), 0), -1);
	unload(&fx);
}

Test(match, after_before_relative_to_first_packet)
{
	struct fx fx = load("drop after 1s before 2s\n", 1);
	struct flow f;
	uint64_t t0 = 5000000; /* the flow began 5s into the run */

	flow_init(&f, 1, 1, t0);
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), t0), -1);
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), t0 + 999999), -1);
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), t0 + 1000000), 0, "after is inclusive");
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), t0 + 1999999), 0);
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), t0 + 2000000), -1, "before is exclusive");
	/* a clock that went backwards counts as the first packet's time */
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), t0 - 1), -1);
	unload(&fx);
}

Test(match, after_bytes_boundaries)
{
	struct fx fx = load("drop from client after-bytes 100\n", 1);
	struct flow f;

	flow_init(&f, 1, 1, 0);
	/* bytes 0..99: all before the mark */
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 100, 0), 0), -1);
	/* bytes 50..109: the mark falls inside the segment */
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 60, 50), 0), 0);
	/* bytes 99..99: the last byte before the mark */
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 1, 99), 0), -1);
	/* starts exactly at the mark */
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 10, 100), 0), 0);
	/* bare FIN/ACK: by where the stream is */
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK, 0, 99), 0), -1);
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK, 0, 100), 0), 0);
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 5000), 0), 0);
	unload(&fx);

	fx = load("drop after-bytes 0\n", 1);
	cr_assert_eq(match(&fx, &f, seg(C, SYN, 0, 0), 0), 0);
	unload(&fx);
}

Test(match, first_match_wins)
{
	struct fx fx = load("delay 5ms from client\ndrop flags FIN\ncorrupt\n", 1);
	struct flow f;

	flow_init(&f, 1, 1, 0);
	cr_assert_eq(match(&fx, &f, seg(C, FIN | ACK, 0, 0), 0), 0);
	cr_assert_eq(match(&fx, &f, seg(S, FIN | ACK, 0, 0), 0), 1);
	cr_assert_eq(match(&fx, &f, seg(S, ACK, 0, 0), 0), 2);
	cr_assert_eq(fl_matcher_fired(fx.m, 0), 1);
	cr_assert_eq(fl_matcher_fired(fx.m, 1), 1);
	cr_assert_eq(fl_matcher_fired(fx.m, 2), 1);
	cr_assert_eq(fl_matcher_fired(fx.m, 3), 0, "out of range");
	unload(&fx);
}

Test(match, times_exhausted_falls_through_across_flows)
{
	struct fx fx = load("drop flags FIN times 2\ndelay 10ms flags FIN\n", 1);
	struct flow f1, f2;

	flow_init(&f1, 1, 1, 0);
	flow_init(&f2, 2, 2, 0);
	cr_assert_eq(match(&fx, &f1, seg(C, FIN, 0, 0), 0), 0);
	cr_assert_eq(match(&fx, &f2, seg(C, FIN, 0, 0), 0), 0, "times is global");
	cr_assert_eq(match(&fx, &f1, seg(C, FIN, 0, 0), 0), 1);
	cr_assert_eq(match(&fx, &f2, seg(C, FIN, 0, 0), 0), 1);
	cr_assert_eq(fl_matcher_fired(fx.m, 0), 2);
	cr_assert_eq(fl_matcher_fired(fx.m, 1), 2);
	unload(&fx);
}

Test(match, nth_counts_per_flow_only_what_matched)
{
	struct fx fx = load("drop from client data nth 3\n", 1);
	struct flow f1, f2;
	int i;

	flow_init(&f1, 1, 1, 0);
	flow_init(&f2, 2, 2, 0);
	cr_assert_eq(match(&fx, &f1, seg(C, ACK, 10, 0), 0), -1);
	cr_assert_eq(match(&fx, &f1, seg(C, ACK, 0, 10), 0), -1, "no data: not counted");
	cr_assert_eq(match(&fx, &f1, seg(S, ACK, 10, 0), 0), -1, "server: not counted");
	cr_assert_eq(match(&fx, &f2, seg(C, ACK, 10, 0), 0), -1, "other flow");
	cr_assert_eq(f1.hits[0], 1);
	cr_assert_eq(f2.hits[0], 1);
	cr_assert_eq(match(&fx, &f1, seg(C, ACK, 10, 10), 0), -1);
	cr_assert_eq(match(&fx, &f1, seg(C, ACK, 10, 20), 0), 0, "the third");
	for (i = 0; i < 10; i++)
		cr_assert_eq(match(&fx, &f1, seg(C, ACK, 10, 30), 0), -1, "only the third");
	cr_assert_eq(f1.hits[0], 13);
	cr_assert_eq(fl_matcher_fired(fx.m, 0), 1);
	unload(&fx);
}

Test(match, nth_with_times_and_fallthrough)
{
	/* rule 0 takes every 2nd FIN of a flow, but only once overall */
	struct fx fx = load("drop flags FIN nth 2 times 1\nreorder flags FIN\n", 1);
	struct flow f1, f2;

	flow_init(&f1, 1, 1, 0);
	flow_init(&f2, 2, 2, 0);
	cr_assert_eq(match(&fx, &f1, seg(C, FIN, 0, 0), 0), 1);
	cr_assert_eq(match(&fx, &f1, seg(C, FIN, 0, 0), 0), 0);
	cr_assert_eq(match(&fx, &f2, seg(C, FIN, 0, 0), 0), 1);
	cr_assert_eq(match(&fx, &f2, seg(C, FIN, 0, 0), 0), 1, "times used up");
	cr_assert_eq(f2.hits[0], 2);
	unload(&fx);
}

Test(match, missing_counters)
{
	struct fx fx = load("drop nth 1\ndrop prob 100%\ncorrupt\n", 1);
	struct flow f;

	flow_init(&f, 1, 1, 0);
	f.fm.hits = NULL;
	f.fm.draws = NULL;
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), 0), 2);
	f.fm.draws = f.draws;
	cr_assert_eq(match(&fx, &f, seg(C, ACK, 0, 0), 0), 1);
	unload(&fx);
}

Test(random, pure_and_sensitive_to_every_input)
{
	uint32_t v = fl_random(42, 1, 0, 0);

	cr_assert_eq(fl_random(42, 1, 0, 0), v);
	cr_assert_neq(fl_random(43, 1, 0, 0), v);
	cr_assert_neq(fl_random(42, 2, 0, 0), v);
	cr_assert_neq(fl_random(42, 1, 1, 0), v);
	cr_assert_neq(fl_random(42, 1, 0, 1), v);
	/* flow and rule are not interchangeable */
	cr_assert_neq(fl_random(42, 1, 2, 0), fl_random(42, 2, 1, 0));
}

/* which of n segments of one flow rule 0 took */
static void prob_run(const char *rules, uint64_t seed, uint32_t flow, int n,
		     uint8_t *out, int *count)
{
	struct fx fx = load(rules, seed);
	struct flow f;
	int i;

	flow_init(&f, flow, 1, 0);
	*count = 0;
	for (i = 0; i < n; i++) {
		out[i] = match(&fx, &f, seg(C, ACK, 100, 0), 0) == 0;
		*count += out[i];
	}
	cr_assert_eq((int)f.draws[0], n, "one draw per segment that got that far");
	unload(&fx);
}

Test(match, prob_reproducible_and_rate)
{
	enum { N = 10000 };
	static uint8_t a[N], b[N], c[N], d[N];
	int na, nb, nc, nd;

	prob_run("drop prob 10%\n", 42, 1, N, a, &na);
	prob_run("drop prob 10%\n", 42, 1, N, b, &nb);
	cr_assert_eq(na, nb);
	cr_assert(memcmp(a, b, N) == 0, "same seed, same flow: same decisions");
	/* 10% of 10000: mean 1000, sd 30; 800..1200 is over 6 sd */
	cr_assert(na > 800 && na < 1200, "took %d of %d", na, N);

	prob_run("drop prob 10%\n", 43, 1, N, c, &nc);
	cr_assert(memcmp(a, c, N) != 0, "another seed: other decisions");
	cr_assert(nc > 800 && nc < 1200, "took %d of %d", nc, N);
	prob_run("drop prob 10%\n", 42, 2, N, c, &nc);
	cr_assert(memcmp(a, c, N) != 0, "another flow: other decisions");

	/* a rule added below doesn't change the rule above's draws */
	prob_run("drop prob 10%\ndelay 5ms prob 50%\ncorrupt\n", 42, 1, N, d, &nd);
	cr_assert(memcmp(a, d, N) == 0);

	prob_run("drop prob 0.5%\n", 7, 1, N, d, &nd);
	cr_assert(nd > 20 && nd < 90, "0.5%%: took %d of %d", nd, N);
	prob_run("drop prob 100%\n", 7, 1, N, d, &nd);
	cr_assert_eq(nd, N);
}

Test(match, prob_draws_only_when_reached)
{
	struct fx fx = load("drop prob 50% flags FIN\ndelay 5ms prob 50%\n", 9);
	struct flow f;
	int i, took0 = 0, took1 = 0, none = 0, r;

	flow_init(&f, 1, 1, 0);
	for (i = 0; i < 1000; i++) {
		r = match(&fx, &f, seg(C, i % 2 ? FIN : ACK, 0, 0), 0);
		took0 += r == 0;
		took1 += r == 1;
		none += r == -1;
	}
	cr_assert_eq(f.draws[0], 500, "rule 0 draws only for FIN segments");
	cr_assert_eq(f.draws[1], 1000 - (uint32_t)took0, "rule 1 draws for what rule 0 left");
	cr_assert_eq(took0 + took1 + none, 1000);
	cr_assert(took0 > 200 && took0 < 300, "%d", took0);
	cr_assert_eq(f.hits[0], (uint32_t)took0, "hits count what passed prob");
	unload(&fx);
}

Test(match, needs_payload)
{
	struct fx fx = load("drop\ndelay 1ms\nrewrite window=0\nreset\nblackhole\n"
			    "duplicate\nreorder\ncorrupt\ntruncate 1\n", 1);
	static const int want[] = { 0, 0, 1, 0, 0, 1, 0, 1, 1 };
	size_t i;

	cr_assert_eq(fx.rs->nrules, 9);
	for (i = 0; i < 9; i++)
		cr_assert_eq(fl_rule_needs_payload(&fx.rs->rules[i]), want[i], "%s",
			     fl_action_name(fx.rs->rules[i].action));
	unload(&fx);
}

/* ---- truncate N: the length it implies ---- */

static int match_len(struct fl_matcher *m, struct fl_flow_match *fm,
		     uint32_t len)
{
	struct fl_segment s;

	memset(&s, 0, sizeof(s));
	s.from = FL_SIDE_CLIENT;
	s.target_side = FL_SIDE_SERVER;
	s.flags = FL_TCP_ACK;
	s.payload_len = len;
	s.sport = 40000;
	s.dport = 7000;
	return fl_matcher_match(m, &s, fm, 0);
}

/* truncate N takes only segments longer than N: shorter ones count for
 * neither its nth nor its times, and fall through to later rules. */
Test(truncate_match, only_longer_segments)
{
	static const char text[] = "truncate 100 nth 2 times 1\ndrop\n";
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag d = {0};
	struct fl_matcher *m;
	struct fl_flow_match fm;
	uint32_t hits[2] = {0}, draws[2] = {0};

	cr_assert_eq(fl_rules_parse(rs, "t", text, strlen(text), &d), 0);
	m = fl_matcher_new(rs, 1);
	memset(&fm, 0, sizeof(fm));
	fm.flow_id = 1;
	fm.conn = 1;
	fm.hits = hits;
	fm.draws = draws;
	cr_assert_eq(match_len(m, &fm, 50), 1);
	cr_assert_eq(match_len(m, &fm, 100), 1);
	cr_assert_eq(match_len(m, &fm, 101), 1); /* first long one: not nth 2 */
	cr_assert_eq(match_len(m, &fm, 10), 1);
	cr_assert_eq(match_len(m, &fm, 1000), 0); /* second long one */
	cr_assert_eq(match_len(m, &fm, 1000), 1); /* the third: not nth 2 */
	fl_matcher_free(m);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

/* ...so a truncate rule does not shadow a later rule for short segments,
 * and a truncate that can never shorten anything is flagged. */
Test(truncate_match, lint_knows_the_implicit_length)
{
	static const char ok[] = "truncate 10 from client\ndrop from client\n";
	static const char dead[] = "truncate 10 from client len <= 10\n";
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag d = {0};

	cr_assert_eq(fl_rules_parse(rs, "ok", ok, strlen(ok), &d), 0);
	cr_assert_eq(fl_rules_lint(rs, &d), 0, "%s", d.buf ? d.buf : "");
	fl_ruleset_free(rs);
	fl_diag_free(&d);
	memset(&d, 0, sizeof(d));
	rs = fl_ruleset_new();
	cr_assert_eq(fl_rules_parse(rs, "dead", dead, strlen(dead), &d), 0);
	cr_assert_eq(fl_rules_lint(rs, &d), 1, "%s", d.buf ? d.buf : "");
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}
