/*
 * test_engine.c - the engine (harness/engine.c, hold.c) without a kernel:
 * segments built from bytes go in through fl_engine_segment(), a fake I/O
 * (engine.h's struct fl_io) writes down every verdict, injection and
 * flush, and a fake clock says the time.  Each action's verdicts are
 * compared with a golden sequence, and the observer's events with theirs.
 *
 * The I/O log's words: A7 accept of id 7, A7[RST 1+0 ok] an accept with
 * new bytes (their flags, relative seq + payload length, TCP checksum ok or
 * bad), D7 drop, I[RST 1+0 ok] an injected segment, | a flush that sent
 * verdicts.  The observer's: c/s sender, flags, rseq+len, d delivered or
 * - not, f1 forged and taking effect, f2 forged and only challenged, the
 * verdict (:N when rule N decided it), @ms when due; / the end of a batch.
 *
 * Single-threaded, as the engine.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "engine.h"
#include "flow.h"
#include "packet.h"
#include "rules.h"

enum { C = FL_DIR_C2S, S = FL_DIR_S2C };
#define SYN FL_TCP_SYN
#define ACK FL_TCP_ACK
#define FIN FL_TCP_FIN
#define RST FL_TCP_RST
#define PSH FL_TCP_PSH
#define MS 1000000ull

#define ISN_C 1000u
#define ISN_S 5000u

static char iolog[8192], oblog[8192];
static char bylog[8192]; /* the events' bytes: "as sent/as delivered" */
static char details[1024]; /* the events' details, "; "-joined */
static uint64_t now_ns, armed_ns;
static int pending, family = AF_INET;
static uint32_t next_id;
static struct fl_ruleset *rs;
static struct fl_engine *eng;

static void say(char *log, const char *fmt, ...)
{
	size_t n = strlen(log);
	va_list ap;

	if (n && n + 1 < sizeof(iolog))
		log[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(log + n, sizeof(iolog) - n, fmt, ap);
	va_end(ap);
}

/* "RST 1+0 ok": what a packet is, seq relative to its sender's ISN. */
static void describe(char *buf, size_t n, const uint8_t *bytes, size_t len)
{
	uint8_t copy[70000];
	struct fl_pkt p;
	char fl[40];
	uint16_t csum;
	uint32_t isn;

	memcpy(copy, bytes, len);
	if (fl_pkt_parse(&p, copy, len) < 0) {
		snprintf(buf, n, "unparsable");
		return;
	}
	csum = (uint16_t)(copy[p.l4off + 16] << 8 | copy[p.l4off + 17]);
	fl_pkt_fix_checksums(&p);
	fl_flags_format(p.flags, fl, sizeof(fl));
	isn = p.sport == 40000 ? ISN_C : ISN_S;
	snprintf(buf, n, "%s %u+%u %s", fl, p.seq - isn, p.payload_len,
		 csum == (uint16_t)(copy[p.l4off + 16] << 8 | copy[p.l4off + 17])
			 ? "ok" : "bad");
}

static void io_verdict(void *ctx, uint32_t id, enum fl_io_verdict v,
		       const void *pkt, size_t len, size_t weight)
{
	char d[96];

	pending = 1;
	if (v == FL_IO_DROP) {
		say(iolog, "D%u", id);
		return;
	}
	if (!pkt) {
		say(iolog, "A%u", id);
		return;
	}
	describe(d, sizeof(d), pkt, len);
	say(iolog, "A%u[%s]", id, d);
}

static int io_inject(void *ctx, const uint8_t *pkt, size_t len, int fam,
		     const void *dst)
{
	char d[96];

	cr_assert_eq(fam, family);
	describe(d, sizeof(d), pkt, len);
	say(iolog, "I[%s]", d);
	return 0;
}

static void io_flush(void *ctx)
{
	if (pending)
		say(iolog, "|");
	pending = 0;
}

static void io_arm(void *ctx, uint64_t due_ns)
{
	armed_ns = due_ns;
}

static uint64_t io_now(void *ctx)
{
	return now_ns;
}

static const struct fl_io_ops fake_ops = {
	.verdict = io_verdict,
	.inject = io_inject,
	.flush = io_flush,
	.arm = io_arm,
	.now = io_now,
};

static void observe(void *ctx, const struct fl_seg_event *ev)
{
	char fl[40], rule[16] = "";

	if (!ev->f) {
		say(oblog, "/");
		return;
	}
	if (ev->detail) {
		size_t n = strlen(details);

		snprintf(details + n, sizeof(details) - n, "%s%s",
			 n ? "; " : "", ev->detail);
	}
	{
		char sent[96] = "-", out[96] = "-";

		if (ev->sent)
			describe(sent, sizeof(sent), ev->sent, ev->sent_cap);
		if (ev->out)
			describe(out, sizeof(out), ev->out, ev->out_cap);
		say(bylog, "%s/%s", sent, out);
	}
	fl_flags_format(ev->flags, fl, sizeof(fl));
	if (ev->rule >= 0)
		snprintf(rule, sizeof(rule), ":%d", ev->rule);
	say(oblog, "%c:%s %u+%u %s%s %s%s@%llu", ev->dir == C ? 'c' : 's', fl,
	    ev->rseq, ev->len, ev->delivered ? "d" : "-",
	    ev->forged == FL_FORGED_TAKES ? " f1"
	    : ev->forged == FL_FORGED_CHALLENGED ? " f2" : "",
	    fl_verdict_name(ev->verdict), rule,
	    (unsigned long long)(ev->t_ns / MS));
}

/* A new engine for the rule text (may be ""), with seed. */
static void start(const char *text, uint64_t seed)
{
	struct fl_engine_cfg cfg = {0};
	struct fl_io io = {.ops = &fake_ops, .mtu = 1500};
	struct fl_diag d = {0};

	iolog[0] = oblog[0] = details[0] = bylog[0] = 0;
	now_ns = armed_ns = 0;
	pending = 0;
	next_id = 0;
	family = AF_INET;
	rs = fl_ruleset_new();
	cr_assert_not_null(rs);
	cr_assert_eq(fl_rules_parse(rs, "t", text, strlen(text), &d), 0, "%s",
		     d.buf ? d.buf : "");
	fl_diag_free(&d);
	cfg.rs = rs;
	cfg.seed = seed;
	cfg.sink = observe;
	cr_assert_eq(fl_engine_open(&eng, &cfg, &io), 0);
}

static void stop(void)
{
	fl_engine_close(eng);
	fl_ruleset_free(rs);
	eng = NULL;
	rs = NULL;
}

/* Builds a segment of the test's flow (client 10.0.0.1:40000 or [fd00::1],
 * server 10.0.0.2:80 or [fd00::2]) into buf: rseq/rack relative to the
 * sender's and receiver's ISN, len bytes of payload.  Returns its size. */
static size_t build(uint8_t *buf, int dir, uint8_t flags, uint32_t rseq,
		    uint32_t rack, uint32_t len)
{
	uint8_t a4[2][4] = {{10, 0, 0, 1}, {10, 0, 0, 2}};
	uint8_t a6[2][16] = {{0xfd, [15] = 1}, {0xfd, [15] = 2}};
	const void *src = family == AF_INET ? (const void *)a4[dir] : a6[dir];
	const void *dst = family == AF_INET ? (const void *)a4[!dir] : a6[!dir];
	uint32_t seq = rseq + (dir == C ? ISN_C : ISN_S);
	uint32_t ack = (flags & ACK) ? rack + (dir == C ? ISN_S : ISN_C) : 0;
	int n = fl_pkt_build(buf, 80, family, src, dst, dir == C ? 40000 : 80,
			     dir == C ? 80 : 40000, seq, ack, flags, 65535);
	size_t total;
	struct fl_pkt p;

	cr_assert_gt(n, 0);
	memset(buf + n, 'x', len);
	total = (size_t)n + len;
	if (family == AF_INET) {
		buf[2] = (uint8_t)(total >> 8);
		buf[3] = (uint8_t)total;
	} else {
		buf[4] = (uint8_t)((total - 40) >> 8);
		buf[5] = (uint8_t)(total - 40);
	}
	cr_assert_eq(fl_pkt_parse(&p, buf, total), 0);
	fl_pkt_fix_checksums(&p);
	return total;
}

/* One segment into the engine, with the next packet id. */
static void seg(int dir, uint8_t flags, uint32_t rseq, uint32_t rack,
		uint32_t len)
{
	static uint8_t buf[70000];
	size_t n = build(buf, dir, flags, rseq, rack, len);

	fl_engine_segment(eng, ++next_id, buf, n);
}

/* The handshake (ids 1..3), then both logs cleared. */
static void handshake(void)
{
	seg(C, SYN, 0, 0, 0);
	seg(S, SYN | ACK, 0, 1, 0);
	seg(C, ACK, 1, 1, 0);
	iolog[0] = oblog[0] = details[0] = bylog[0] = 0;
}

static void at_ms(uint64_t ms)
{
	now_ns = ms * MS;
	fl_engine_release_due(eng);
}

#define expect_io(want) cr_assert_str_eq(iolog, want)
#define expect_ob(want) cr_assert_str_eq(oblog, want)
#define expect_by(want) cr_assert_str_eq(bylog, want)

Test(engine, pass_without_rules_and_the_observer)
{
	start("", 0);
	seg(C, SYN, 0, 0, 0);
	now_ns = 1 * MS;
	seg(S, SYN | ACK, 0, 1, 0);
	seg(C, ACK, 1, 1, 0);
	fl_engine_sent(eng);
	expect_io("A1 A2 A3");
	expect_ob("c:SYN 0+0 d pass@0 s:SYN,ACK 0+0 d pass@1 c:ACK 1+0 d pass@1 /");
	cr_assert_eq(fl_flow_count(fl_engine_flows(eng)), 1);
	cr_assert_eq(fl_engine_held(eng), 0);
	stop();
}

Test(engine, unparsable_and_missing_bytes_pass)
{
	uint8_t junk[20] = {0x45};

	start("drop", 0);
	fl_engine_segment(eng, 7, NULL, 0);
	fl_engine_segment(eng, 8, junk, sizeof(junk));
	expect_io("A7 A8");
	expect_ob("");
	stop();
}

Test(engine, drop)
{
	start("drop from client flags FIN", 0);
	handshake();
	seg(C, FIN | ACK, 1, 1, 0);
	seg(S, FIN | ACK, 1, 2, 0);
	expect_io("D4 A5");
	expect_ob("c:FIN,ACK 1+0 - drop:0@0 s:FIN,ACK 1+0 d pass@0");
	cr_assert_eq(fl_engine_rule_fired(eng, 0), 1);
	stop();
}

Test(engine, delay_releases_at_the_due_time_in_direction_order)
{
	start("delay 100ms from server data", 0);
	handshake();
	seg(S, PSH | ACK, 1, 1, 10);   /* 4: held until 100 ms */
	cr_assert_eq(armed_ns, 0);     /* armed by the caller (nfq.c) */
	cr_assert_eq(fl_engine_next_due(eng), 100 * MS);
	now_ns = 10 * MS;
	seg(S, FIN | ACK, 11, 1, 0);   /* 5: no rule, but behind 4 */
	seg(C, ACK, 1, 11, 0);         /* 6: the other direction goes */
	expect_io("A6");
	cr_assert_eq(fl_engine_held(eng), 2);
	at_ms(99);
	expect_io("A6");
	at_ms(100);
	expect_io("A6 A4 A5");
	cr_assert_eq(fl_engine_held(eng), 0);
	cr_assert_eq(fl_engine_next_due(eng), 0);
	/* The observer hears each when it was read, due at its release. */
	expect_ob("s:PSH,ACK 1+10 d delay:0@100 s:FIN,ACK 11+0 d pass@100 c:ACK 1+0 d pass@10");
	stop();
}

Test(engine, a_shorter_delay_never_overtakes_a_longer_one)
{
	start("delay 100ms from server data nth 1\n"
	      "delay 10ms from server data", 0);
	handshake();
	seg(S, PSH | ACK, 1, 1, 10);   /* 4: until 100 ms */
	seg(S, PSH | ACK, 11, 1, 10);  /* 5: 10 ms, but behind 4 */
	at_ms(10);
	expect_io("");
	at_ms(100);
	expect_io("A4 A5");
	stop();
}

Test(engine, release_all_ends_every_hold)
{
	start("delay 10s from client data", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 5);
	armed_ns = 1;
	fl_engine_release_all(eng);
	expect_io("A4 |");
	cr_assert_eq(armed_ns, 0);
	stop();
}

Test(engine, rewrite_flags_and_window)
{
	start("rewrite flags=RST from client flags FIN\n"
	      "rewrite window=0 from server data", 0);
	handshake();
	seg(C, FIN | ACK, 1, 1, 0);
	seg(S, PSH | ACK, 1, 1, 4);
	expect_io("A4[RST 1+0 ok] A5[PSH,ACK 1+4 ok]");
	/* RST instead of FIN: the receiver gets no FIN (its fate: changed). */
	expect_ob("c:FIN,ACK 1+0 - rewrite:0@0 s:PSH,ACK 1+4 - rewrite:1@0");
	stop();
}

/* The event's bytes (what --pcap writes): every segment as sent, a
 * changed one as delivered too (the bytes as sent kept apart from the
 * ones the rewrite changed in place), a made one only as made. */
Test(engine, events_carry_the_bytes_as_sent_and_as_delivered)
{
	start("rewrite flags=RST from client flags FIN\n"
	      "reset from server data times 1\n"
	      "truncate 10 from client data\n", 0);
	handshake();
	seg(C, FIN | ACK, 1, 1, 0);
	seg(S, PSH | ACK, 1, 1, 10);
	seg(C, PSH | ACK, 1, 1, 50);
	seg(S, ACK, 11, 2, 0);
	expect_by("FIN,ACK 1+0 ok/RST 1+0 ok "
		  "PSH,ACK 1+10 ok/- -/RST 1+0 ok "
		  "PSH,ACK 1+50 ok/PSH,ACK 1+10 ok "
		  "ACK 11+0 ok/-");
	stop();
}

Test(engine, reset_in_window_and_out_of_window)
{
	start("reset from client data times 1\n"
	      "reset out-of-window from server data times 1", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 10);
	seg(S, PSH | ACK, 1, 11, 10);
	expect_io("D4 I[RST 1+0 ok] D5 I[RST 2+0 ok]");
	/* A forged RST at RCV.NXT resets (delivered); the one at +1 earns a
	 * challenge ACK only (not delivered). */
	expect_ob("c:PSH,ACK 1+10 - drop:0@0 c:RST 1+0 d f1 inject:0@0 "
		  "s:PSH,ACK 1+10 - drop:1@0 s:RST 2+0 - f2 inject:1@0");
	stop();
}

Test(engine, duplicate_passes_then_injects_the_copies)
{
	start("duplicate 2 from client data", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 100);
	expect_io("A4 | I[PSH,ACK 1+100 ok] I[PSH,ACK 1+100 ok]");
	/* The copies are the sender's bytes: not forged. */
	expect_ob("c:PSH,ACK 1+100 d duplicate:0@0 "
		  "c:PSH,ACK 1+100 d inject:0@0 c:PSH,ACK 1+100 d inject:0@0");
	stop();
}

Test(engine, duplicate_of_a_gso_packet_is_cut_into_mtu_segments)
{
	start("duplicate from client data", 0);
	handshake();
	/* 3000 bytes over an MTU of 1500: pieces of 1460, 1460, 80, PSH only
	 * on the last. */
	seg(C, PSH | ACK, 1, 1, 3000);
	expect_io("A4 | I[ACK 1+1460 ok] I[ACK 1461+1460 ok] I[PSH,ACK 2921+80 ok]");
	stop();
}

Test(engine, reorder_the_next_segment_releases_the_held_one)
{
	start("reorder from client data", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 10);   /* 4: held */
	expect_io("");
	seg(S, ACK, 1, 1, 0);          /* 5: other direction, no effect */
	seg(C, PSH | ACK, 11, 1, 10);  /* 6: the next one: 6 then 4 */
	expect_io("A5 A6 A4");
	/* Its timeout's entry is stale now: it gives no second verdict. */
	at_ms(100);
	expect_io("A5 A6 A4");
	cr_assert_eq(fl_engine_held(eng), 0);
	/* 6 matched the rule too, but the rule did not act on it. */
	cr_assert_eq(fl_engine_rule_fired(eng, 0), 1);
	expect_ob("c:PSH,ACK 1+10 d reorder:0@0 s:ACK 1+0 d pass@0 c:PSH,ACK 11+10 d pass:0@0");
	stop();
}

Test(engine, reorder_without_a_next_segment_times_out)
{
	start("reorder 30ms from client data", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 10);
	at_ms(29);
	expect_io("");
	at_ms(30);
	expect_io("A4");
	stop();
}

Test(engine, reorder_behind_a_delayed_segment_leaves_right_after_it)
{
	start("delay 50ms from client data nth 2\n"
	      "reorder from client data", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 10);   /* 4: held by reorder */
	seg(C, PSH | ACK, 11, 1, 10);  /* 5: next one, delayed 50 ms */
	expect_io("");
	at_ms(49);
	expect_io("");
	at_ms(50);
	expect_io("A5 A4");
	cr_assert_eq(fl_engine_rule_fired(eng, 0), 1);
	cr_assert_eq(fl_engine_rule_fired(eng, 1), 1);
	stop();
}

Test(engine, corrupt_breaks_the_checksum)
{
	start("corrupt from client data", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 10);
	expect_io("A4[PSH,ACK 1+10 bad]");
	expect_ob("c:PSH,ACK 1+10 - corrupt:0@0");
	stop();
}

Test(engine, corrupt_of_a_gso_packet_injects_bad_segments)
{
	start("corrupt from client data", 0);
	handshake();
	seg(C, ACK, 1, 1, 2000);
	expect_io("D4 | I[ACK 1+1460 bad] I[ACK 1461+540 bad]");
	stop();
}

Test(engine, truncate_keeps_the_first_bytes_and_drops_the_fin)
{
	start("truncate 10 from server data", 0);
	handshake();
	seg(S, PSH | ACK, 1, 1, 5);          /* not longer: no match */
	seg(S, FIN | PSH | ACK, 6, 1, 50);
	expect_io("A4 A5[PSH,ACK 6+10 ok]");
	stop();
}

Test(engine, blackhole_drops_the_whole_flow_from_then_on)
{
	start("blackhole from client data", 0);
	handshake();
	seg(S, PSH | ACK, 1, 1, 10);
	seg(C, PSH | ACK, 1, 11, 10);
	seg(S, ACK, 11, 11, 0);
	seg(C, FIN | ACK, 11, 11, 0);
	expect_io("A4 D5 D6 D7");
	cr_assert_eq(fl_engine_rule_fired(eng, 0), 3);
	cr_assert_str_eq(details, "blackhole begins; blackholed flow; blackholed flow");
	stop();
}

Test(engine, times_budget)
{
	start("drop from client data times 2", 0);
	handshake();
	seg(C, PSH | ACK, 1, 1, 10);
	seg(C, PSH | ACK, 1, 1, 10);
	seg(C, PSH | ACK, 1, 1, 10);
	expect_io("D4 D5 A6");
	cr_assert_eq(fl_engine_rule_fired(eng, 0), 2);
	stop();
}

/* The verdicts of 64 client data segments under `prob 50%` and seed. */
static void prob_run(uint64_t seed, char *out, size_t n)
{
	start("drop from client data prob 50%", seed);
	handshake();
	for (int i = 0; i < 64; i++)
		seg(C, PSH | ACK, 1 + 10u * (uint32_t)i, 1, 10);
	snprintf(out, n, "%s", iolog);
	stop();
}

Test(engine, prob_is_the_same_for_the_same_seed)
{
	static char a[sizeof(iolog)], b[sizeof(iolog)], c[sizeof(iolog)];

	prob_run(42, a, sizeof(a));
	prob_run(42, b, sizeof(b));
	prob_run(43, c, sizeof(c));
	cr_assert_str_eq(a, b);
	cr_assert_str_neq(a, c);
	cr_assert_not_null(strstr(a, "D"));
	cr_assert_not_null(strstr(a, "A"));
}

Test(engine, ipv6)
{
	start("drop from server flags FIN", 0);
	family = AF_INET6;
	handshake();
	seg(S, FIN | ACK, 1, 1, 0);
	seg(C, FIN | ACK, 1, 2, 0);
	expect_io("D4 A5");
	stop();
}
