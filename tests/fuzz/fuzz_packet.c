/*
 * fuzz_packet.c - libFuzzer target for harness/packet.c.
 *
 * The input is a captured packet.  If it parses, the parse must be
 * self-consistent, every shorter header capture must behave as the
 * contract says, and each rewrite, applied to its own exact-size heap copy
 * (so ASan sees any byte read past the capture), must leave a packet that
 * parses back with only the rewritten field changed and with checksums
 * that a separate byte-at-a-time implementation here finds valid (or, for
 * corrupt, invalid).  A violated invariant traps.  Single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

/* ---- reference checksum, independent of fl_csum_add ---- */

static uint64_t ref_sum(const uint8_t *d, size_t n)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint64_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		s += (uint64_t)d[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static int ip4_ok(const uint8_t *b)
{
	return ref_fold(ref_sum(b, (size_t)(b[0] & 15) * 4)) == 0xffff;
}

/* With a routing header still in transit the pseudo-header needs the final
 * destination (RFC 8200 section 8.1); test_packet.c covers that case, so
 * here such packets only get the consistency checks. */
static int ip6_in_transit(const uint8_t *b, size_t l4off)
{
	size_t off = 40;
	uint8_t nxt = b[6];

	while (off < l4off) {
		if (nxt == 43 && b[off + 3] != 0)
			return 1;
		nxt = b[off];
		off += ((size_t)b[off + 1] + 1) * 8;
	}
	return 0;
}

/* 1 valid, 0 invalid, -1 can't tell (routing in transit) */
static int tcp_ok(const uint8_t *b, size_t l4off, size_t len)
{
	uint8_t ph[40] = {0};
	size_t phlen, tl = len - l4off;

	if ((b[0] >> 4) == 4) {
		memcpy(ph, b + 12, 8);
		ph[9] = 6;
		ph[10] = (uint8_t)(tl >> 8);
		ph[11] = (uint8_t)tl;
		phlen = 12;
	} else {
		if (ip6_in_transit(b, l4off))
			return -1;
		memcpy(ph, b + 8, 32);
		ph[32] = (uint8_t)(tl >> 24);
		ph[33] = (uint8_t)(tl >> 16);
		ph[34] = (uint8_t)(tl >> 8);
		ph[35] = (uint8_t)tl;
		ph[39] = 6;
		phlen = 40;
	}
	return ref_fold(ref_sum(ph, phlen) + ref_sum(b + l4off, tl)) == 0xffff;
}

/* ---- helpers ---- */

static uint8_t *dup_n(const uint8_t *d, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (!c)
		abort();
	memcpy(c, d, n);
	return c;
}

static void same_fields(const struct fl_pkt *a, const struct fl_pkt *b)
{
	CHECK(a->family == b->family);
	CHECK(a->l4off == b->l4off);
	CHECK(a->thlen == b->thlen);
	CHECK(a->sport == b->sport && a->dport == b->dport);
	/* only the family's bytes of the unions are set */
	CHECK(!memcmp(&a->src, &b->src, a->family == AF_INET ? 4 : 16));
	CHECK(!memcmp(&a->dst, &b->dst, a->family == AF_INET ? 4 : 16));
}

static void sane(const struct fl_pkt *p, const uint8_t *buf, size_t size)
{
	CHECK(p->buf == buf);
	CHECK(p->family == AF_INET || p->family == AF_INET6);
	CHECK((buf[0] >> 4) == (p->family == AF_INET ? 4 : 6));
	CHECK(p->thlen >= 20 && p->thlen <= 60 && p->thlen % 4 == 0);
	CHECK(p->l4off + p->thlen <= p->caplen);
	CHECK(p->caplen <= p->len && p->caplen <= size);
	CHECK(p->caplen == (size < p->len ? size : p->len));
	CHECK(p->payload_len == p->len - p->l4off - p->thlen);
	CHECK(p->len <= 65535 + 40);
	CHECK(p->flags == buf[p->l4off + 13]);
}

enum op { OP_FIX, OP_FLAGS, OP_WINDOW, OP_SEQ, OP_ACK, OP_CORRUPT, OP_N };

static int apply(struct fl_pkt *p, enum op op, uint32_t v)
{
	switch (op) {
	case OP_FIX:
		return fl_pkt_fix_checksums(p);
	case OP_FLAGS:
		return fl_pkt_set_flags(p, (uint8_t)v);
	case OP_WINDOW:
		return fl_pkt_set_window(p, (uint16_t)v);
	case OP_SEQ:
		return fl_pkt_set_seq(p, v);
	case OP_ACK:
		return fl_pkt_set_ack(p, v);
	case OP_CORRUPT:
		return fl_pkt_corrupt(p);
	case OP_N:
		break;
	}
	return -1;
}

static void rewrite(const struct fl_pkt *p0, enum op op, uint32_t v)
{
	uint8_t *c = dup_n(p0->buf, p0->len);
	struct fl_pkt p, q;
	int ok;

	CHECK(fl_pkt_parse(&p, c, p0->len) == 0);
	CHECK(apply(&p, op, v) == 0);
	CHECK(fl_pkt_parse(&q, c, p0->len) == 0);
	same_fields(p0, &q);
	CHECK(q.len == p0->len && q.caplen == p0->len);
	CHECK(q.payload_len == p0->payload_len);
	CHECK(q.flags == (op == OP_FLAGS ? (uint8_t)v : p0->flags));
	CHECK(q.window == (op == OP_WINDOW ? (uint16_t)v : p0->window));
	CHECK(q.seq == (op == OP_SEQ ? v : p0->seq));
	CHECK(q.ack == (op == OP_ACK ? v : p0->ack));
	CHECK(p.flags == q.flags && p.window == q.window);
	CHECK(p.seq == q.seq && p.ack == q.ack);
	/* payload untouched */
	CHECK(!memcmp(c + p.l4off + p.thlen, p0->buf + p.l4off + p.thlen,
		      p.payload_len));
	if (p.family == AF_INET)
		CHECK(ip4_ok(c));
	ok = tcp_ok(c, p.l4off, p.len);
	if (op == OP_CORRUPT)
		CHECK(ok != 1);
	else
		CHECK(ok != 0);
	free(c);
}

static void truncate_to(const struct fl_pkt *p0, uint32_t keep)
{
	uint8_t *c = dup_n(p0->buf, p0->len);
	size_t hdrs = p0->l4off + p0->thlen;
	struct fl_pkt p, q;
	int ret;

	CHECK(fl_pkt_parse(&p, c, p0->len) == 0);
	ret = fl_pkt_truncate(&p, keep);
	if (keep >= p0->payload_len) {
		CHECK(ret == -EINVAL);
		CHECK(!memcmp(c, p0->buf, p0->len));
		goto out;
	}
	CHECK(ret == 0);
	CHECK(p.len == hdrs + keep && p.caplen == p.len);
	CHECK(p.payload_len == keep);
	CHECK(fl_pkt_parse(&q, c, p0->len) == 0);
	same_fields(p0, &q);
	CHECK(q.len == hdrs + keep && q.payload_len == keep);
	CHECK(!memcmp(c + hdrs, p0->buf + hdrs, keep));
	if (p.family == AF_INET)
		CHECK(ip4_ok(c));
	CHECK(tcp_ok(c, p.l4off, p.len) != 0);
out:
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = dup_n(data, size), *h, out[60];
	struct fl_pkt p, q;
	size_t hdrs;
	uint32_t v = 0x9e3779b9u;
	int ret;

	for (size_t i = 0; i < size && i < 64; i++)
		v = (v ^ data[size - 1 - i]) * 0x01000193u;

	ret = fl_pkt_parse(&p, buf, size);
	if (ret != 0) {
		CHECK(ret == -EINVAL || ret == -EPROTONOSUPPORT);
		goto out;
	}
	sane(&p, buf, size);

	/* the headers alone parse the same; one byte less is refused */
	hdrs = p.l4off + p.thlen;
	h = dup_n(buf, hdrs);
	CHECK(fl_pkt_parse(&q, h, hdrs) == 0);
	same_fields(&p, &q);
	CHECK(q.len == p.len && q.caplen == hdrs && q.seq == p.seq &&
	      q.ack == p.ack && q.window == p.window && q.flags == p.flags);
	if (hdrs < p.len) {
		for (int op = 0; op < OP_N; op++)
			CHECK(apply(&q, (enum op)op, v) == -EMSGSIZE);
		CHECK(fl_pkt_truncate(&q, 0) == -EMSGSIZE);
		CHECK(!memcmp(h, buf, hdrs));
	}
	free(h);
	h = dup_n(buf, hdrs - 1);
	CHECK(fl_pkt_parse(&q, h, hdrs - 1) == -EINVAL);
	free(h);

	if (p.caplen == p.len) {
		for (int op = 0; op < OP_N; op++)
			rewrite(&p, (enum op)op, v);
		if (p.payload_len) {
			truncate_to(&p, v % p.payload_len);
			truncate_to(&p, p.payload_len - 1);
		}
		truncate_to(&p, p.payload_len);
	} else {
		for (int op = 0; op < OP_N; op++)
			CHECK(apply(&p, (enum op)op, v) == -EMSGSIZE);
	}

	/* a bare segment built from what was parsed parses back to it */
	ret = fl_pkt_build(out, sizeof(out), p.family, &p.src, &p.dst, p.sport,
			   p.dport, p.seq, p.ack, p.flags, p.window);
	CHECK(ret == (p.family == AF_INET ? 40 : 60));
	CHECK(fl_pkt_parse(&q, out, (size_t)ret) == 0);
	CHECK(q.family == p.family && q.sport == p.sport &&
	      q.dport == p.dport && q.seq == p.seq && q.ack == p.ack &&
	      q.flags == p.flags && q.window == p.window &&
	      q.payload_len == 0 && q.len == (size_t)ret);
	CHECK(!memcmp(&q.src, &p.src, p.family == AF_INET ? 4 : 16));
	CHECK(!memcmp(&q.dst, &p.dst, p.family == AF_INET ? 4 : 16));
	if (p.family == AF_INET)
		CHECK(ip4_ok(out));
	CHECK(tcp_ok(out, q.l4off, q.len) == 1);
out:
	free(buf);
	return 0;
}
