/*
 * test_packet.c - unit tests for harness/packet.c.
 *
 * Packets are built by hand here (not with fl_pkt_build) and every checksum
 * is verified with a reference implementation written for this file: a
 * byte-at-a-time sum of big-endian 16-bit words into a uint64, folded at the
 * end, over a pseudo-header laid out byte by byte from the RFCs.  It shares
 * nothing with fl_csum_add, so a bug in one cannot hide in the other.
 * Single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "packet.h"
#include "rules.h"

/* ---- reference checksum ---- */

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

static unsigned rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* IPv4 header checksum valid: the header sums to 0xffff. */
static int ip4_ok(const uint8_t *b)
{
	return ref_fold(ref_sum(b, (size_t)(b[0] & 15) * 4)) == 0xffff;
}

/*
 * TCP checksum valid over the segment at l4off..len.  dst6 overrides the
 * IPv6 pseudo-header destination (RFC 8200 section 8.1 final destination);
 * NULL takes the header's.
 */
static int tcp_ok(const uint8_t *b, size_t l4off, size_t len,
		  const uint8_t *dst6)
{
	uint8_t ph[40];
	size_t phlen, tl = len - l4off;

	memset(ph, 0, sizeof(ph));
	if ((b[0] >> 4) == 4) {
		/* RFC 9293 section 3.1 */
		memcpy(ph, b + 12, 8);
		ph[9] = 6;
		ph[10] = (uint8_t)(tl >> 8);
		ph[11] = (uint8_t)tl;
		phlen = 12;
	} else {
		/* RFC 8200 section 8.1 */
		memcpy(ph, b + 8, 16);
		memcpy(ph + 16, dst6 ? dst6 : b + 24, 16);
		ph[32] = (uint8_t)(tl >> 24);
		ph[33] = (uint8_t)(tl >> 16);
		ph[34] = (uint8_t)(tl >> 8);
		ph[35] = (uint8_t)tl;
		ph[39] = 6;
		phlen = 40;
	}
	return ref_fold(ref_sum(ph, phlen) + ref_sum(b + l4off, tl)) == 0xffff;
}

/* ---- hand-built packets ---- */

enum { HBH = 0, ROUTING = 43, FRAG = 44, DSTOPTS = 60, NONE = 59 };

struct ext {
	uint8_t type;
	uint8_t units;   /* Hdr Ext Len: 8-byte units beyond the first 8 */
	uint8_t rtype;   /* routing type */
	uint8_t segleft; /* routing segments left */
};

struct spec {
	int family;
	unsigned ipopt;  /* IPv4 option bytes, a multiple of 4 */
	const struct ext *ext;
	size_t next;
	uint8_t proto;   /* 0: TCP */
	unsigned tcpopt; /* TCP option bytes, a multiple of 4 */
	size_t plen;
};

static const uint8_t V4SRC[4] = {192, 0, 2, 1};
static const uint8_t V4DST[4] = {198, 51, 100, 7};
static const uint8_t V6SRC[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t V6DST[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
enum {
	SPORT = 40001,
	DPORT = 8080,
	SEQ = 0x89abcdefu,
	ACK = 0x01234567u,
	FLAGS = 0x18, /* PSH,ACK */
	WIN = 0xfedc,
};

static uint8_t pay(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Writes the packet into b, returns its length.  Checksum fields hold
 * garbage, so a valid checksum after a rewrite proves it was recomputed. */
static size_t mk(uint8_t *b, const struct spec *s)
{
	size_t off, l4, thlen = 20 + s->tcpopt, i, len;
	uint8_t *t;

	if (s->family == AF_INET) {
		l4 = 20 + s->ipopt;
		len = l4 + thlen + s->plen;
		memset(b, 0, l4);
		b[0] = (uint8_t)(0x40 | l4 / 4);
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
		b[4] = 0x12;
		b[5] = 0x34;
		b[6] = 0x40; /* DF */
		b[8] = 64;
		b[9] = s->proto ? s->proto : 6;
		b[10] = 0xde;
		b[11] = 0xad;
		memcpy(b + 12, V4SRC, 4);
		memcpy(b + 16, V4DST, 4);
		if (s->ipopt) {
			/* Router Alert (RFC 2113), NOPs, End of List */
			memset(b + 20, 1, s->ipopt);
			b[20] = 0x94;
			b[21] = 4;
			b[22] = 0;
			b[23] = 0;
			b[l4 - 1] = 0;
		}
	} else {
		uint8_t *nxt = b + 6;

		memset(b, 0, 40);
		b[0] = 0x60;
		b[1] = 0x0a; /* traffic class / flow label noise */
		b[3] = 0x42;
		b[7] = 64;
		memcpy(b + 8, V6SRC, 16);
		memcpy(b + 24, V6DST, 16);
		off = 40;
		for (i = 0; i < s->next; i++) {
			size_t hl = ((size_t)s->ext[i].units + 1) * 8;
			uint8_t *e = b + off;

			*nxt = s->ext[i].type;
			memset(e, 0, hl);
			e[1] = s->ext[i].units;
			if (s->ext[i].type == ROUTING) {
				e[2] = s->ext[i].rtype;
				e[3] = s->ext[i].segleft;
			} else if (s->ext[i].type != FRAG) {
				e[2] = 1; /* PadN over the rest */
				e[3] = (uint8_t)(hl - 4);
			}
			nxt = e;
			off += hl;
		}
		*nxt = s->proto ? s->proto : 6;
		l4 = off;
		len = l4 + thlen + s->plen;
		b[4] = (uint8_t)((len - 40) >> 8);
		b[5] = (uint8_t)(len - 40);
	}
	t = b + l4;
	memset(t, 0, thlen);
	t[0] = SPORT >> 8;
	t[1] = SPORT & 0xff;
	t[2] = DPORT >> 8;
	t[3] = DPORT & 0xff;
	t[4] = SEQ >> 24;
	t[5] = (SEQ >> 16) & 0xff;
	t[6] = (SEQ >> 8) & 0xff;
	t[7] = SEQ & 0xff;
	t[8] = ACK >> 24;
	t[9] = (ACK >> 16) & 0xff;
	t[10] = (ACK >> 8) & 0xff;
	t[11] = ACK & 0xff;
	t[12] = (uint8_t)(thlen / 4 << 4);
	t[13] = FLAGS;
	t[14] = WIN >> 8;
	t[15] = WIN & 0xff;
	t[16] = 0xbe;
	t[17] = 0xef;
	if (s->tcpopt) {
		/* MSS 1460, NOPs, End of List */
		memset(t + 20, 1, s->tcpopt);
		t[20] = 2;
		t[21] = 4;
		t[22] = 0x05;
		t[23] = 0xb4;
		t[thlen - 1] = 0;
	}
	for (i = 0; i < s->plen; i++)
		t[thlen + i] = pay(i);
	return len;
}

static uint8_t buf[70000], orig[70000];

static const struct ext EXTS[] = {
	{HBH, 0, 0, 0},
	{DSTOPTS, 1, 0, 0},
	{ROUTING, 2, 4, 0}, /* SRH, segments left 0: dst is final */
	{DSTOPTS, 0, 0, 0},
};
enum { EXTS_LEN = 8 + 16 + 24 + 8 };

static const struct spec S4 = {.family = AF_INET, .plen = 100};
static const struct spec S4OPT = {
	.family = AF_INET, .ipopt = 12, .tcpopt = 12, .plen = 33};
static const struct spec S6 = {.family = AF_INET6, .plen = 100};
static const struct spec S6EXT = {.family = AF_INET6, .ext = EXTS,
				  .next = 4, .tcpopt = 12, .plen = 33};

static void check_fields(const struct fl_pkt *p, const struct spec *s,
			 size_t len)
{
	size_t l4 = s->family == AF_INET ? 20 + s->ipopt : 40;

	for (size_t i = 0; i < s->next; i++)
		l4 += ((size_t)s->ext[i].units + 1) * 8;
	cr_assert_eq(p->buf, buf);
	cr_assert_eq(p->family, s->family);
	cr_assert_eq(p->len, len);
	cr_assert_eq(p->l4off, l4);
	cr_assert_eq(p->thlen, 20 + s->tcpopt);
	cr_assert_eq(p->payload_len, s->plen);
	cr_assert_eq(p->sport, SPORT);
	cr_assert_eq(p->dport, DPORT);
	cr_assert_eq(p->seq, SEQ);
	cr_assert_eq(p->ack, ACK);
	cr_assert_eq(p->flags, FLAGS);
	cr_assert_eq(p->window, WIN);
	if (s->family == AF_INET) {
		cr_assert(!memcmp(&p->src.v4, V4SRC, 4));
		cr_assert(!memcmp(&p->dst.v4, V4DST, 4));
	} else {
		cr_assert(!memcmp(&p->src.v6, V6SRC, 16));
		cr_assert(!memcmp(&p->dst.v6, V6DST, 16));
	}
}

static void parse_ok(const struct spec *s)
{
	struct fl_pkt p;
	size_t len = mk(buf, s);

	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	check_fields(&p, s, len);
	cr_assert_eq(p.caplen, len);
}

/* ---- parsing ---- */

Test(parse, ipv4_plain)
{
	parse_ok(&S4);
}

Test(parse, ipv4_ip_and_tcp_options_odd_payload)
{
	parse_ok(&S4OPT);
}

Test(parse, ipv6_plain)
{
	parse_ok(&S6);
}

Test(parse, ipv6_extension_headers)
{
	parse_ok(&S6EXT);
}

Test(parse, no_payload)
{
	struct spec s = S4OPT;

	s.plen = 0;
	parse_ok(&s);
	s = S6EXT;
	s.plen = 0;
	parse_ok(&s);
}

Test(parse, header_only_capture)
{
	const struct spec *specs[] = {&S4, &S4OPT, &S6, &S6EXT};

	for (size_t i = 0; i < 4; i++) {
		struct fl_pkt p;
		size_t len = mk(buf, specs[i]);
		size_t hdrs = len - specs[i]->plen;

		cr_assert_eq(fl_pkt_parse(&p, buf, hdrs), 0, "spec %zu", i);
		check_fields(&p, specs[i], len);
		cr_assert_eq(p.caplen, hdrs);
		/* half the payload captured */
		cr_assert_eq(fl_pkt_parse(&p, buf, hdrs + 7), 0);
		cr_assert_eq(p.caplen, hdrs + 7);
		cr_assert_eq(p.payload_len, specs[i]->plen);
	}
}

Test(parse, trailing_padding_not_counted)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4);

	cr_assert_eq(fl_pkt_parse(&p, buf, len + 6), 0);
	cr_assert_eq(p.len, len);
	cr_assert_eq(p.caplen, len);
	cr_assert_eq(fl_pkt_set_window(&p, 1), 0);
	len = mk(buf, &S6EXT);
	cr_assert_eq(fl_pkt_parse(&p, buf, len + 9), 0);
	cr_assert_eq(p.caplen, len);
}

/* Every capture shorter than the IP and TCP headers is refused. */
Test(malformed, short_capture_at_every_length)
{
	const struct spec *specs[] = {&S4, &S4OPT, &S6, &S6EXT};

	for (size_t i = 0; i < 4; i++) {
		struct fl_pkt p;
		size_t len = mk(buf, specs[i]);
		size_t hdrs = len - specs[i]->plen;

		for (size_t cap = 0; cap < hdrs; cap++)
			cr_assert_eq(fl_pkt_parse(&p, buf, cap), -EINVAL,
				     "spec %zu caplen %zu", i, cap);
		cr_assert_eq(fl_pkt_parse(&p, buf, hdrs), 0);
	}
}

/* An IP length too short for the headers it claims is refused. */
Test(malformed, ip_length_shorter_than_headers)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4OPT), hdrs = len - S4OPT.plen;

	for (size_t tot = 0; tot < hdrs; tot++) {
		buf[2] = (uint8_t)(tot >> 8);
		buf[3] = (uint8_t)tot;
		cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL, "tot %zu", tot);
	}
	buf[2] = (uint8_t)(hdrs >> 8);
	buf[3] = (uint8_t)hdrs;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(p.payload_len, 0);
	cr_assert_eq(p.caplen, hdrs);

	len = mk(buf, &S6EXT);
	hdrs = len - S6EXT.plen;
	for (size_t pl = 1; pl < hdrs - 40; pl++) {
		buf[4] = (uint8_t)(pl >> 8);
		buf[5] = (uint8_t)pl;
		cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL, "plen %zu", pl);
	}
	buf[4] = (uint8_t)((hdrs - 40) >> 8);
	buf[5] = (uint8_t)(hdrs - 40);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(p.payload_len, 0);
}

Test(malformed, bad_version)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4);
	uint8_t v[] = {0, 1, 5, 7, 15};

	for (size_t i = 0; i < sizeof(v); i++) {
		buf[0] = (uint8_t)(v[i] << 4 | 5);
		cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
	}
	buf[0] = 0x45;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
}

Test(malformed, bad_ihl)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4);

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		buf[0] = (uint8_t)(0x40 | ihl);
		cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL, "ihl %u", ihl);
	}
	/* IHL past the capture (and past the IP length) */
	buf[0] = 0x4f;
	cr_assert_eq(fl_pkt_parse(&p, buf, 59), -EINVAL);
	buf[2] = 0;
	buf[3] = 59;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
}

Test(malformed, bad_doff)
{
	const struct spec *specs[] = {&S4, &S6EXT};

	for (size_t i = 0; i < 2; i++) {
		struct fl_pkt p;
		size_t len = mk(buf, specs[i]);
		size_t l4 = len - specs[i]->plen - 20 - specs[i]->tcpopt;

		for (unsigned d = 0; d < 5; d++) {
			buf[l4 + 12] = (uint8_t)(d << 4);
			cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL,
				     "doff %u", d);
		}
		/* doff 15: 60 bytes, past the capture but not the packet */
		buf[l4 + 12] = 0xf0;
		cr_assert_eq(fl_pkt_parse(&p, buf, l4 + 59), -EINVAL);
		cr_assert_eq(fl_pkt_parse(&p, buf, l4 + 60), 0);
		cr_assert_eq(p.thlen, 60);
	}
	/* doff past the IP length though the capture would hold it */
	size_t len = mk(buf, &S4);

	buf[2] = 0;
	buf[3] = 40;
	buf[20 + 12] = 0x60; /* 24 bytes of header in a 20-byte segment */
	cr_assert_eq(fl_pkt_parse(&(struct fl_pkt){0}, buf, len), -EINVAL);
}

Test(malformed, ipv4_fragments)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4);

	buf[6] = 0x20; /* MF, offset 0: first fragment */
	buf[7] = 0;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	buf[6] = 0x00; /* last fragment, offset 8 bytes */
	buf[7] = 1;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	buf[6] = 0x10; /* offset high bit only */
	buf[7] = 0;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	buf[6] = 0x40; /* DF alone is fine */
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	buf[6] = 0x00;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
}

Test(malformed, non_tcp)
{
	struct fl_pkt p;
	struct spec s = S4;
	size_t len;

	s.proto = 17;
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	s.proto = 1;
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	s = S6;
	s.proto = 17;
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	s = S6EXT;
	s.proto = 58; /* ICMPv6 behind the extension headers */
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	s.proto = NONE;
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
}

Test(malformed, ipv6_fragment_header)
{
	struct fl_pkt p;
	struct ext first[] = {{FRAG, 0, 0, 0}};
	struct ext later[] = {{HBH, 0, 0, 0}, {DSTOPTS, 0, 0, 0},
			      {FRAG, 0, 0, 0}};
	struct spec s = {.family = AF_INET6, .ext = first, .next = 1,
			 .plen = 10};
	size_t len = mk(buf, &s);

	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	s.ext = later;
	s.next = 3;
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
}

Test(malformed, ipv6_jumbo_payload_length)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S6);

	buf[4] = 0;
	buf[5] = 0;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
	/* malformed before it is foreign: even a UDP jumbogram is -EINVAL */
	buf[6] = 17;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
}

Test(malformed, ipv6_hop_by_hop_not_first)
{
	struct fl_pkt p;
	struct ext e[] = {{DSTOPTS, 0, 0, 0}, {HBH, 0, 0, 0}};
	struct spec s = {.family = AF_INET6, .ext = e, .next = 2};
	size_t len = mk(buf, &s);

	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
	e[0].type = HBH;
	e[1].type = DSTOPTS;
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
}

Test(malformed, ipv6_extension_header_overruns)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S6EXT);

	/* the first header claims 255 units: past capture and payload */
	buf[41] = 255;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
	/* in the capture, past the payload length */
	len = mk(buf, &S6EXT);
	buf[4] = 0;
	buf[5] = EXTS_LEN - 1;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
	/* an overrun is malformed whatever follows it: the 16-byte
	 * destination options header ends 4 bytes past the payload */
	struct ext e[] = {{HBH, 0, 0, 0}, {DSTOPTS, 1, 0, 0}};
	struct spec udp = {.family = AF_INET6, .ext = e, .next = 2,
			   .proto = 17, .plen = 30};

	len = mk(buf, &udp);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	buf[4] = 0;
	buf[5] = 8 + 12;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EINVAL);
}

Test(malformed, ipv6_unknown_routing_type_in_transit)
{
	struct fl_pkt p;
	struct ext e[] = {{ROUTING, 2, 253, 1}};
	struct spec s = {.family = AF_INET6, .ext = e, .next = 1, .plen = 5};
	size_t len = mk(buf, &s);

	cr_assert_eq(fl_pkt_parse(&p, buf, len), -EPROTONOSUPPORT);
	e[0].segleft = 0; /* done routing: the type no longer matters */
	len = mk(buf, &s);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
}

/* ---- the reference checksum itself ---- */

Test(csum, reference_and_helpers_agree_with_rfc1071_example)
{
	/* RFC 1071 section 3: these bytes sum to 0xddf2 */
	const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	cr_assert_eq(ref_fold(ref_sum(ex, 8)), 0xddf2);
	cr_assert_eq(fl_csum_fold(fl_csum_add(0, ex, 8)), (uint16_t)~0xddf2);
	cr_assert_eq(fl_csum_fold(fl_csum_add(fl_csum_add(0, ex, 2), ex + 2, 6)),
		     (uint16_t)~0xddf2);
}

Test(csum, helpers_match_reference_any_length_and_alignment)
{
	uint8_t d[600];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(d); i++) {
		x = x * 1103515245u + 12345u;
		d[i] = (uint8_t)(x >> 16);
	}
	memset(d + 300, 0xff, 64); /* long carry chains */
	for (size_t a = 0; a < 8; a++)
		for (size_t n = 0; n + a <= sizeof(d); n += 1 + n / 16) {
			uint16_t want = (uint16_t)~ref_fold(ref_sum(d + a, n));
			uint16_t got = fl_csum_fold(fl_csum_add(0, d + a, n));
			size_t half = (n / 2) & ~(size_t)1;
			uint16_t split = fl_csum_fold(fl_csum_add(
				fl_csum_add(0, d + a, half), d + a + half,
				n - half));

			/* 0x0000 and 0xffff are the same ones' complement 0 */
			if (want == 0xffff)
				want = 0;
			if (got == 0xffff)
				got = 0;
			if (split == 0xffff)
				split = 0;
			cr_assert_eq(got, want, "align %zu len %zu", a, n);
			cr_assert_eq(split, want, "split align %zu len %zu", a, n);
		}
}

Test(csum, reference_checker_rejects_a_flipped_bit)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4OPT);

	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(fl_pkt_fix_checksums(&p), 0);
	cr_assert(ip4_ok(buf));
	cr_assert(tcp_ok(buf, p.l4off, p.len, NULL));
	buf[len - 1] ^= 0x10;
	cr_assert(!tcp_ok(buf, p.l4off, p.len, NULL));
	buf[len - 1] ^= 0x10;
	buf[8] ^= 1; /* TTL */
	cr_assert(!ip4_ok(buf));
}

/* ---- rewrites ---- */

enum op { OP_FIX, OP_FLAGS, OP_WINDOW, OP_SEQ, OP_ACK, OP_CORRUPT, OP_N };

static int apply(struct fl_pkt *p, enum op op)
{
	switch (op) {
	case OP_FIX:
		return fl_pkt_fix_checksums(p);
	case OP_FLAGS:
		return fl_pkt_set_flags(p, 0x05); /* RST,FIN: not FLAGS */
	case OP_WINDOW:
		return fl_pkt_set_window(p, 0x0001);
	case OP_SEQ:
		return fl_pkt_set_seq(p, 0xfffffff1u);
	case OP_ACK:
		return fl_pkt_set_ack(p, 0x80000000u);
	case OP_CORRUPT:
		return fl_pkt_corrupt(p);
	case OP_N:
		break;
	}
	return -1;
}

/* The byte range op may change (besides the two checksum fields). */
static void changed_range(enum op op, size_t *from, size_t *n)
{
	*from = 0;
	*n = 0;
	if (op == OP_FLAGS) {
		*from = 13;
		*n = 1;
	} else if (op == OP_WINDOW) {
		*from = 14;
		*n = 2;
	} else if (op == OP_SEQ) {
		*from = 4;
		*n = 4;
	} else if (op == OP_ACK) {
		*from = 8;
		*n = 4;
	}
}

static void rewrite_one(const struct spec *s, enum op op)
{
	struct fl_pkt p, q;
	size_t len = mk(buf, s), from, n;

	memcpy(orig, buf, len);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(apply(&p, op), 0, "op %d", op);

	/* only the field and the checksums moved */
	changed_range(op, &from, &n);
	for (size_t i = 0; i < len; i++) {
		int csum = (s->family == AF_INET && (i == 10 || i == 11)) ||
			   i == p.l4off + 16 || i == p.l4off + 17;
		int field = i >= p.l4off + from && i < p.l4off + from + n;

		if (!csum && !field)
			cr_assert_eq(buf[i], orig[i], "op %d byte %zu", op, i);
	}
	if (n)
		cr_assert(memcmp(buf + p.l4off + from, orig + p.l4off + from, n),
			  "op %d did not change its field", op);

	if (s->family == AF_INET)
		cr_assert(ip4_ok(buf), "op %d: IPv4 header checksum", op);
	if (op == OP_CORRUPT)
		cr_assert(!tcp_ok(buf, p.l4off, len, NULL),
			  "corrupt left a valid TCP checksum");
	else
		cr_assert(tcp_ok(buf, p.l4off, len, NULL),
			  "op %d: TCP checksum", op);

	cr_assert_eq(fl_pkt_parse(&q, buf, len), 0);
	cr_assert_eq(q.flags, op == OP_FLAGS ? 0x05 : FLAGS);
	cr_assert_eq(q.window, op == OP_WINDOW ? 0x0001 : WIN);
	cr_assert_eq(q.seq, op == OP_SEQ ? 0xfffffff1u : SEQ);
	cr_assert_eq(q.ack, op == OP_ACK ? 0x80000000u : ACK);
	/* the struct tracks the bytes */
	cr_assert_eq(p.flags, q.flags);
	cr_assert_eq(p.window, q.window);
	cr_assert_eq(p.seq, q.seq);
	cr_assert_eq(p.ack, q.ack);
	cr_assert_eq(q.payload_len, s->plen);
}

Test(rewrite, every_op_every_shape_checksums_valid)
{
	const struct spec *specs[] = {&S4, &S4OPT, &S6, &S6EXT};
	const size_t plens[] = {0, 1, 2, 3, 33, 1000, 1461, 65000};

	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < sizeof(plens) / sizeof(plens[0]); j++)
			for (int op = 0; op < OP_N; op++) {
				struct spec s = *specs[i];

				s.plen = plens[j];
				rewrite_one(&s, (enum op)op);
			}
}

Test(rewrite, corrupt_is_correct_plus_one)
{
	const struct spec *specs[] = {&S4OPT, &S6EXT};

	for (size_t i = 0; i < 2; i++) {
		struct fl_pkt p;
		size_t len = mk(buf, specs[i]);
		unsigned good;

		cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
		cr_assert_eq(fl_pkt_fix_checksums(&p), 0);
		good = rd16(buf + p.l4off + 16);
		cr_assert_eq(fl_pkt_corrupt(&p), 0);
		cr_assert_eq(rd16(buf + p.l4off + 16), (good + 1) & 0xffff);
		cr_assert(!tcp_ok(buf, p.l4off, len, NULL));
		/* fixing it again undoes the damage */
		cr_assert_eq(fl_pkt_fix_checksums(&p), 0);
		cr_assert(tcp_ok(buf, p.l4off, len, NULL));
	}
}

Test(rewrite, header_only_capture_refused_untouched)
{
	const struct spec *specs[] = {&S4OPT, &S6EXT};

	for (size_t i = 0; i < 2; i++) {
		struct fl_pkt p;
		size_t len = mk(buf, specs[i]);
		size_t hdrs = len - specs[i]->plen;

		memcpy(orig, buf, len);
		cr_assert_eq(fl_pkt_parse(&p, buf, hdrs), 0);
		for (int op = 0; op < OP_N; op++)
			cr_assert_eq(apply(&p, (enum op)op), -EMSGSIZE, "op %d",
				     op);
		cr_assert_eq(fl_pkt_truncate(&p, 1), -EMSGSIZE);
		cr_assert(!memcmp(buf, orig, len));
		cr_assert_eq(p.flags, FLAGS);
		cr_assert_eq(p.len, len);
		cr_assert_eq(p.caplen, hdrs);
	}
}

/* RFC 8200 section 8.1: with segments left, the pseudo-header carries the
 * final destination from the routing header, not the IPv6 destination. */
Test(rewrite, ipv6_routing_header_final_destination)
{
	static const uint8_t home[16] = {0x20, 0x01, 0x0d, 0xb8, 0xaa,
					 [15] = 0x99};
	struct ext e[] = {{HBH, 0, 0, 0}, {ROUTING, 2, 2, 1}};
	struct spec s = {.family = AF_INET6, .ext = e, .next = 2, .plen = 77};
	struct fl_pkt p;
	size_t len = mk(buf, &s);

	memcpy(buf + 48 + 8, home, 16); /* type 2: the home address */
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert(!memcmp(&p.dst.v6, V6DST, 16));
	cr_assert_eq(fl_pkt_set_window(&p, 7), 0);
	cr_assert(tcp_ok(buf, p.l4off, len, home));
	cr_assert(!tcp_ok(buf, p.l4off, len, NULL));

	/* SRH (type 4) with segments left: Segment List[0] is final */
	e[1].rtype = 4;
	e[1].units = 4;
	len = mk(buf, &s);
	memcpy(buf + 48 + 8, home, 16);
	memcpy(buf + 48 + 24, V6DST, 16);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(fl_pkt_set_seq(&p, 1), 0);
	cr_assert(tcp_ok(buf, p.l4off, len, home));

	/* once segments left is 0, the header's destination is final */
	buf[48 + 3] = 0;
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(fl_pkt_set_seq(&p, 2), 0);
	cr_assert(tcp_ok(buf, p.l4off, len, NULL));
}

/* ---- truncate ---- */

static void truncate_one(const struct spec *s, uint32_t keep)
{
	struct fl_pkt p, q;
	size_t len = mk(buf, s);
	size_t hdrs = len - s->plen, nlen = hdrs + keep;

	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(fl_pkt_truncate(&p, keep), 0, "keep %u", keep);
	cr_assert_eq(p.len, nlen);
	cr_assert_eq(p.caplen, nlen);
	cr_assert_eq(p.payload_len, keep);
	if (s->family == AF_INET) {
		cr_assert_eq(rd16(buf + 2), nlen);
		cr_assert(ip4_ok(buf));
	} else {
		cr_assert_eq(rd16(buf + 4), nlen - 40);
	}
	cr_assert(tcp_ok(buf, p.l4off, nlen, NULL), "keep %u", keep);
	for (size_t i = 0; i < keep; i++)
		cr_assert_eq(buf[hdrs + i], pay(i));
	/* the bytes past the new end are left alone, but not counted */
	cr_assert_eq(fl_pkt_parse(&q, buf, len), 0);
	cr_assert_eq(q.len, nlen);
	cr_assert_eq(q.caplen, nlen);
	cr_assert_eq(q.payload_len, keep);
	cr_assert_eq(q.seq, SEQ);
	cr_assert_eq(q.flags, FLAGS);
}

Test(truncate, keeps_prefix_fixes_lengths)
{
	const struct spec *specs[] = {&S4, &S4OPT, &S6, &S6EXT};
	const uint32_t keeps[] = {0, 1, 2, 10, 31, 32};

	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < sizeof(keeps) / sizeof(keeps[0]); j++)
			truncate_one(specs[i], keeps[j]);
}

Test(truncate, keep_at_or_past_payload_refused)
{
	struct fl_pkt p;
	size_t len = mk(buf, &S4OPT);

	memcpy(orig, buf, len);
	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(fl_pkt_truncate(&p, (uint32_t)S4OPT.plen), -EINVAL);
	cr_assert_eq(fl_pkt_truncate(&p, 0xffffffffu), -EINVAL);
	cr_assert(!memcmp(buf, orig, len));
	cr_assert_eq(p.len, len);
	cr_assert_eq(p.payload_len, S4OPT.plen);
}

/* ---- building ---- */

Test(build, ipv4_parses_back)
{
	struct fl_pkt p;
	int n;

	memset(buf, 0xaa, 64);
	n = fl_pkt_build(buf, 60, AF_INET, V4SRC, V4DST, 1, 65535, 0xfeedf00du,
			 0xc0ffee01u, 0x14, 0x8001);
	cr_assert_eq(n, 40);
	cr_assert_eq(buf[0], 0x45);
	cr_assert_eq(rd16(buf + 2), 40);
	cr_assert_eq(rd16(buf + 4), 0);      /* ID */
	cr_assert_eq(rd16(buf + 6), 0x4000); /* DF, offset 0 */
	cr_assert_eq(buf[8], 64);
	cr_assert_eq(buf[9], 6);
	cr_assert(ip4_ok(buf));
	cr_assert(tcp_ok(buf, 20, 40, NULL));
	cr_assert_eq(buf[40], 0xaa, "wrote past the segment");
	cr_assert_eq(fl_pkt_parse(&p, buf, 40), 0);
	cr_assert_eq(p.family, AF_INET);
	cr_assert_eq(p.len, 40);
	cr_assert_eq(p.thlen, 20);
	cr_assert_eq(p.payload_len, 0);
	cr_assert(!memcmp(&p.src.v4, V4SRC, 4));
	cr_assert(!memcmp(&p.dst.v4, V4DST, 4));
	cr_assert_eq(p.sport, 1);
	cr_assert_eq(p.dport, 65535);
	cr_assert_eq(p.seq, 0xfeedf00du);
	cr_assert_eq(p.ack, 0xc0ffee01u);
	cr_assert_eq(p.flags, 0x14);
	cr_assert_eq(p.window, 0x8001);
	cr_assert_eq(rd32(buf + 24), 0xfeedf00du);
}

Test(build, ipv6_parses_back)
{
	struct fl_pkt p;
	int n;

	memset(buf, 0xaa, 64);
	n = fl_pkt_build(buf, 60, AF_INET6, V6SRC, V6DST, 443, 50000, 7, 0,
			 0x04, 0);
	cr_assert_eq(n, 60);
	cr_assert_eq(buf[0] >> 4, 6);
	cr_assert_eq(rd16(buf + 4), 20);
	cr_assert_eq(buf[6], 6);
	cr_assert_eq(buf[7], 64);
	cr_assert(tcp_ok(buf, 40, 60, NULL));
	cr_assert_eq(fl_pkt_parse(&p, buf, 60), 0);
	cr_assert_eq(p.family, AF_INET6);
	cr_assert_eq(p.l4off, 40);
	cr_assert(!memcmp(&p.src.v6, V6SRC, 16));
	cr_assert(!memcmp(&p.dst.v6, V6DST, 16));
	cr_assert_eq(p.sport, 443);
	cr_assert_eq(p.dport, 50000);
	cr_assert_eq(p.seq, 7);
	cr_assert_eq(p.ack, 0);
	cr_assert_eq(p.flags, 0x04);
	cr_assert_eq(p.window, 0);
	cr_assert_eq(p.payload_len, 0);
}

Test(build, from_parsed_addresses)
{
	/* the engine passes &p.src / &p.dst (the unions) straight back */
	struct fl_pkt p, q;
	uint8_t out[60];
	size_t len = mk(buf, &S6EXT);

	cr_assert_eq(fl_pkt_parse(&p, buf, len), 0);
	cr_assert_eq(fl_pkt_build(out, sizeof(out), p.family, &p.dst, &p.src,
				  p.dport, p.sport, p.ack, 0, 0x04, 0),
		     60);
	cr_assert_eq(fl_pkt_parse(&q, out, 60), 0);
	cr_assert(!memcmp(&q.src.v6, V6DST, 16));
	cr_assert(!memcmp(&q.dst.v6, V6SRC, 16));
	cr_assert_eq(q.sport, DPORT);
	cr_assert_eq(q.seq, ACK);
}

Test(build, bad_arguments)
{
	uint8_t out[60];

	cr_assert_eq(fl_pkt_build(out, 39, AF_INET, V4SRC, V4DST, 1, 2, 3, 4,
				  0, 0),
		     -EINVAL);
	cr_assert_eq(fl_pkt_build(out, 59, AF_INET6, V6SRC, V6DST, 1, 2, 3, 4,
				  0, 0),
		     -EINVAL);
	cr_assert_eq(fl_pkt_build(out, 60, AF_UNIX, V6SRC, V6DST, 1, 2, 3, 4,
				  0, 0),
		     -EINVAL);
	cr_assert_eq(fl_pkt_build(out, 60, AF_INET, NULL, V4DST, 1, 2, 3, 4, 0,
				  0),
		     -EINVAL);
}

/* ---- fl_pkt_slice (the GSO slicing behind duplicate and reorder) ----
 *
 * Built with fl_pkt_build plus hand-written options and payload; the
 * checksums of every slice are checked by recomputing them. */

/* An IPv4 or IPv6 TCP packet with timestamps and `plen` payload bytes. */
static size_t make_pkt(uint8_t *wire, size_t cap, int family, uint32_t plen,
		       uint8_t flags)
{
	uint8_t src[16] = {0}, dst[16] = {0};
	struct fl_pkt p;
	size_t ip = family == AF_INET ? 20 : 40, tcp = 32, total = ip + tcp + plen;
	int n;

	src[0] = 10, src[15] = 1, dst[0] = 10, dst[15] = 2;
	if (family == AF_INET)
		src[3] = 1, dst[3] = 2;
	cr_assert_leq(total, cap);
	n = fl_pkt_build(wire, cap, family, src, dst, 40000, 7000, 1000, 5000,
			 flags, 512);
	cr_assert_eq(n, (int)(ip + 20));
	/* grow the TCP header by 12 bytes of options (NOP NOP TS) */
	wire[ip + 12] = (uint8_t)((tcp / 4) << 4);
	memcpy(wire + ip + 20, "\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02", 12);
	for (uint32_t i = 0; i < plen; i++)
		wire[ip + tcp + i] = (uint8_t)(i * 7 + 3);
	if (family == AF_INET) {
		wire[2] = (uint8_t)(total >> 8);
		wire[3] = (uint8_t)total;
	} else {
		wire[4] = (uint8_t)((total - 40) >> 8);
		wire[5] = (uint8_t)(total - 40);
	}
	cr_assert_eq(fl_pkt_parse(&p, wire, total), 0);
	cr_assert_eq(fl_pkt_fix_checksums(&p), 0);
	return total;
}

static void slice_family(int family)
{
	static uint8_t wire[70000], out[2000], check[2000];
	size_t total = make_pkt(wire, sizeof(wire), family, 4000,
				FL_TCP_ACK | FL_TCP_PSH | FL_TCP_FIN | FL_TCP_CWR);
	size_t hdr = total - 4000;
	uint32_t mss = 1448, off = 0;
	struct fl_pkt p, q, c;
	int i = 0;

	cr_assert_eq(fl_pkt_parse(&p, wire, total), 0);
	while (off < p.payload_len) {
		uint32_t n = p.payload_len - off < mss ? p.payload_len - off : mss;
		int last = off + n == p.payload_len;

		cr_assert_eq(fl_pkt_slice(&p, off, n, out, sizeof(out), &q), 0);
		cr_assert_eq(q.buf, out);
		cr_assert_eq(q.len, hdr + n);
		cr_assert_eq(q.payload_len, n);
		cr_assert_eq(q.seq, 1000 + off);
		cr_assert_eq(q.ack, 5000);
		cr_assert_eq(!!(q.flags & FL_TCP_FIN), last);
		cr_assert_eq(!!(q.flags & FL_TCP_PSH), last);
		cr_assert_eq(!!(q.flags & FL_TCP_CWR), off == 0);
		cr_assert(q.flags & FL_TCP_ACK);
		cr_assert_eq(memcmp(out + hdr, wire + hdr + off, n), 0);
		/* what the wire says agrees with q, and the checksums hold:
		 * recomputing them changes nothing */
		cr_assert_eq(fl_pkt_parse(&c, out, q.len), 0);
		cr_assert_eq(c.seq, q.seq);
		cr_assert_eq(c.flags, q.flags);
		cr_assert_eq(c.payload_len, n);
		memcpy(check, out, q.len);
		cr_assert_eq(fl_pkt_parse(&c, check, q.len), 0);
		cr_assert_eq(fl_pkt_fix_checksums(&c), 0);
		cr_assert_eq(memcmp(check, out, q.len), 0);
		off += n;
		i++;
	}
	cr_assert_eq(i, 3);
	/* the source is untouched */
	cr_assert_eq(p.seq, 1000);
	cr_assert_eq(fl_pkt_parse(&c, wire, total), 0);
	cr_assert_eq(c.payload_len, 4000);
}

Test(slice, ipv4_tiles_the_payload) { slice_family(AF_INET); }
Test(slice, ipv6_tiles_the_payload) { slice_family(AF_INET6); }

Test(slice, refuses_bad_ranges_and_partial_packets)
{
	static uint8_t wire[3000], out[3000];
	size_t total = make_pkt(wire, sizeof(wire), AF_INET, 100, FL_TCP_ACK);
	struct fl_pkt p, q;

	cr_assert_eq(fl_pkt_parse(&p, wire, total), 0);
	cr_assert_eq(fl_pkt_slice(&p, 0, 101, out, sizeof(out), &q), -EINVAL);
	cr_assert_eq(fl_pkt_slice(&p, 101, 0, out, sizeof(out), &q), -EINVAL);
	cr_assert_eq(fl_pkt_slice(&p, 50, 51, out, sizeof(out), &q), -EINVAL);
	cr_assert_eq(fl_pkt_slice(&p, 0, 100, out, 60, &q), -EMSGSIZE);
	cr_assert_eq(fl_pkt_slice(&p, 100, 0, out, sizeof(out), &q), 0);
	cr_assert_eq(q.payload_len, 0);
	cr_assert_eq(q.seq, 1100);
	/* only the headers were captured */
	cr_assert_eq(fl_pkt_parse(&p, wire, total - 100), 0);
	cr_assert_eq(fl_pkt_slice(&p, 0, 10, out, sizeof(out), &q), -EMSGSIZE);
}
