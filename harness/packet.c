/*
 * packet.c - parse and rewrite IPv4/IPv6 TCP segments in a caller's buffer.
 *
 * Runs once per queued packet, so: no allocation, no system calls, no
 * locks, and every offset is checked against both the captured length and
 * the packet's own length before a byte is read.  Wire fields are read and
 * written big-endian byte by byte (get_be16 and friends), never through a
 * cast to a header struct, so alignment and host byte order never matter.
 *
 * Threading: none of its own.  Functions touch only the buffer and the
 * struct fl_pkt they are given; different packets may be handled on
 * different threads at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "packet.h"

enum {
	IP4_HDR_MIN = 20,
	IP6_HDR_LEN = 40,
	TCP_HDR_MIN = 20,
	IP4_MF = 0x2000,
	IP4_DF = 0x4000,
	IP4_OFFMASK = 0x1fff,
	/* offsets inside the TCP header (RFC 9293 section 3.1) */
	TCP_OFF_SEQ = 4,
	TCP_OFF_ACK = 8,
	TCP_OFF_DOFF = 12,
	TCP_OFF_FLAGS = 13,
	TCP_OFF_WIN = 14,
	TCP_OFF_CSUM = 16,
	/* offsets inside the IPv4 header (RFC 791 section 3.1) */
	IP4_OFF_LEN = 2,
	IP4_OFF_FRAG = 6,
	IP4_OFF_PROTO = 9,
	IP4_OFF_CSUM = 10,
	IP4_OFF_SRC = 12,
	IP4_OFF_DST = 16,
	/* offsets inside the IPv6 header (RFC 8200 section 3) */
	IP6_OFF_PLEN = 4,
	IP6_OFF_NXT = 6,
	IP6_OFF_HLIM = 7,
	IP6_OFF_SRC = 8,
	IP6_OFF_DST = 24,
	/* TCP flag bits (RFC 9293 section 3.1, RFC 3168 section 6.1) */
	TCP_FIN = 0x01,
	TCP_PSH = 0x08,
	TCP_CWR = 0x80,
};

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- RFC 1071 checksum ---- */

/*
 * The ones' complement sum is independent of byte order (RFC 1071 section
 * 2(B)), so the words are loaded in host order eight bytes at a time with
 * an end-around carry, folded to 16 bits, and only that result is swapped
 * to network order.  The running sum handed in and returned is in host
 * order, as if the data had been added as big-endian 16-bit words; an odd
 * trailing byte counts as the high byte of a zero-padded word, so only the
 * last piece of a checksummed range may have an odd length.
 */
uint32_t fl_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0, w;
	uint32_t w32;
	uint16_t w16;

	while (len >= 8) {
		memcpy(&w, p, 8);
		acc += w;
		acc += acc < w; /* end-around carry */
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w32, p, 4);
		acc += w32;
		acc += acc < w32;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		acc += w16;
		acc += acc < w16;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};

		memcpy(&w16, last, 2);
		acc += w16;
		acc += acc < w16;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);

	acc = (uint64_t)sum + ntohs((uint16_t)acc);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

/* Fold a running sum to 16 bits and complement it: the value to store in a
 * checksum field, host order. */
uint16_t fl_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- IPv6 routing headers ---- */

/*
 * RFC 8200 section 8.1: when a Routing header still has segments to visit,
 * the TCP pseudo-header uses the final destination, which the sender finds
 * in the routing header.  rh points at a routing header of hlen bytes (both
 * already bounds-checked).  Returns 0 when the IPv6 destination is final
 * (segments left is zero), 1 with the final destination in out, or
 * -EPROTONOSUPPORT for a type whose final destination we can't tell (a node
 * discards such a packet anyway, RFC 8200 section 4.4).
 */
static int rthdr_final_dst(const uint8_t *rh, size_t hlen,
			   const uint8_t *ip6dst, uint8_t out[16])
{
	size_t n, start, keep;

	if (rh[3] == 0)
		return 0;
	switch (rh[2]) {
	case 0: /* RFC 2460 type 0 (deprecated): the last listed address */
		n = (hlen - 8) / 16;
		if ((hlen - 8) % 16 || n == 0 || rh[3] > n)
			return -EPROTONOSUPPORT;
		memcpy(out, rh + 8 + 16 * (n - 1), 16);
		return 1;
	case 2: /* RFC 6275 section 6.4: the home address */
		if (hlen != 24 || rh[3] != 1)
			return -EPROTONOSUPPORT;
		memcpy(out, rh + 8, 16);
		return 1;
	case 3: /* RFC 6554 section 3: the last address, prefix elided */
		keep = 16 - (rh[4] & 0x0f); /* 16 - CmprE */
		if ((size_t)(rh[5] >> 4) + keep + 8 > hlen)
			return -EPROTONOSUPPORT;
		start = hlen - (rh[5] >> 4) - keep;
		memcpy(out, ip6dst, 16 - keep);
		memcpy(out + 16 - keep, rh + start, keep);
		return 1;
	case 4: /* RFC 8754 section 2: Segment List[0] is the last segment */
		if (hlen < 24)
			return -EPROTONOSUPPORT;
		memcpy(out, rh + 8, 16);
		return 1;
	default:
		return -EPROTONOSUPPORT;
	}
}

/* ---- parsing ---- */

static int parse_tcp(struct fl_pkt *p, size_t caplen, size_t l4off)
{
	const uint8_t *th = p->buf + l4off;
	size_t thlen;

	if (l4off + TCP_HDR_MIN > caplen || l4off + TCP_HDR_MIN > p->len)
		return -EINVAL;
	thlen = (size_t)(th[TCP_OFF_DOFF] >> 4) * 4;
	if (thlen < TCP_HDR_MIN || l4off + thlen > caplen ||
	    l4off + thlen > p->len)
		return -EINVAL;
	p->l4off = l4off;
	p->thlen = thlen;
	p->payload_len = (uint32_t)(p->len - l4off - thlen);
	p->sport = get_be16(th);
	p->dport = get_be16(th + 2);
	p->seq = get_be32(th + TCP_OFF_SEQ);
	p->ack = get_be32(th + TCP_OFF_ACK);
	p->flags = th[TCP_OFF_FLAGS];
	p->window = get_be16(th + TCP_OFF_WIN);
	/* Bytes past the IP length (link padding) are not the packet's. */
	p->caplen = caplen < p->len ? caplen : p->len;
	return 0;
}

static int parse_ip4(struct fl_pkt *p, size_t caplen)
{
	const uint8_t *b = p->buf;
	size_t ihl, tot;
	uint16_t frag;

	if (caplen < IP4_HDR_MIN)
		return -EINVAL;
	ihl = (size_t)(b[0] & 0x0f) * 4;
	tot = get_be16(b + IP4_OFF_LEN);
	if (ihl < IP4_HDR_MIN || ihl > caplen || tot < ihl)
		return -EINVAL;
	frag = get_be16(b + IP4_OFF_FRAG);
	if (frag & (IP4_MF | IP4_OFFMASK))
		return -EPROTONOSUPPORT;
	if (b[IP4_OFF_PROTO] != IPPROTO_TCP)
		return -EPROTONOSUPPORT;
	p->family = AF_INET;
	p->len = tot;
	memcpy(&p->src.v4, b + IP4_OFF_SRC, 4);
	memcpy(&p->dst.v4, b + IP4_OFF_DST, 4);
	return parse_tcp(p, caplen, ihl);
}

static int parse_ip6(struct fl_pkt *p, size_t caplen)
{
	const uint8_t *b = p->buf;
	uint8_t scratch[16];
	size_t off = IP6_HDR_LEN, hlen, plen;
	uint8_t nxt;
	int ret;

	if (caplen < IP6_HDR_LEN)
		return -EINVAL;
	plen = get_be16(b + IP6_OFF_PLEN);
	/* Zero means a jumbogram (RFC 2675) with the length in a hop-by-hop
	 * option; faultline never sees one on a 1500-byte loopback. */
	if (plen == 0)
		return -EINVAL;
	p->family = AF_INET6;
	p->len = IP6_HDR_LEN + plen;
	nxt = b[IP6_OFF_NXT];
	for (;;) {
		switch (nxt) {
		case IPPROTO_TCP:
			memcpy(&p->src.v6, b + IP6_OFF_SRC, 16);
			memcpy(&p->dst.v6, b + IP6_OFF_DST, 16);
			return parse_tcp(p, caplen, off);
		case IPPROTO_HOPOPTS:
			/* RFC 8200 section 4.3: only right after the header */
			if (off != IP6_HDR_LEN)
				return -EINVAL;
			/* fall through */
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (off + 8 > caplen || off + 8 > p->len)
				return -EINVAL;
			hlen = ((size_t)b[off + 1] + 1) * 8;
			if (off + hlen > caplen || off + hlen > p->len)
				return -EINVAL;
			if (nxt == IPPROTO_ROUTING) {
				ret = rthdr_final_dst(b + off, hlen,
						      b + IP6_OFF_DST, scratch);
				if (ret < 0)
					return ret;
			}
			nxt = b[off];
			off += hlen;
			break;
		default:
			/* fragment header, no next header, ESP, AH, UDP... */
			return -EPROTONOSUPPORT;
		}
	}
}

int fl_pkt_parse(struct fl_pkt *p, uint8_t *buf, size_t caplen)
{
	if (!p || !buf || caplen < 1)
		return -EINVAL;
	p->buf = buf;
	switch (buf[0] >> 4) {
	case 4:
		return parse_ip4(p, caplen);
	case 6:
		return parse_ip6(p, caplen);
	default:
		return -EINVAL;
	}
}

/* ---- checksums and rewrites ---- */

/* The IPv6 pseudo-header's destination: the final one (see above).  The
 * routing headers were validated by parse_ip6. */
static const uint8_t *ip6_pseudo_dst(const struct fl_pkt *p, uint8_t tmp[16])
{
	const uint8_t *b = p->buf;
	const uint8_t *dst = b + IP6_OFF_DST;
	size_t off = IP6_HDR_LEN, hlen;
	uint8_t nxt = b[IP6_OFF_NXT];

	while (off < p->l4off && nxt != IPPROTO_TCP) {
		hlen = ((size_t)b[off + 1] + 1) * 8;
		if (nxt == IPPROTO_ROUTING &&
		    rthdr_final_dst(b + off, hlen, b + IP6_OFF_DST, tmp) > 0)
			dst = tmp;
		nxt = b[off];
		off += hlen;
	}
	return dst;
}

static uint16_t tcp_csum(const struct fl_pkt *p)
{
	const uint8_t *b = p->buf;
	uint32_t tcplen = (uint32_t)(p->len - p->l4off);
	uint32_t sum;
	uint8_t tmp[16];

	if (p->family == AF_INET) {
		/* RFC 9293 section 3.1: src, dst, zero, protocol, length */
		sum = fl_csum_add(0, b + IP4_OFF_SRC, 8);
		sum += IPPROTO_TCP + tcplen;
	} else {
		/* RFC 8200 section 8.1: src, final dst, 32-bit upper-layer
		 * length, three zero bytes, next header */
		sum = fl_csum_add(0, b + IP6_OFF_SRC, 16);
		sum = fl_csum_add(sum, ip6_pseudo_dst(p, tmp), 16);
		sum += IPPROTO_TCP + (tcplen >> 16) + (tcplen & 0xffff);
	}
	return fl_csum_fold(fl_csum_add(sum, b + p->l4off, tcplen));
}

static int whole(const struct fl_pkt *p)
{
	if (p->caplen != p->len)
		return -EMSGSIZE;
	return 0;
}

/* Both checksums, assuming the caller checked whole(). */
static void fix_csums(struct fl_pkt *p)
{
	uint8_t *b = p->buf;

	if (p->family == AF_INET) {
		put_be16(b + IP4_OFF_CSUM, 0);
		put_be16(b + IP4_OFF_CSUM,
			 fl_csum_fold(fl_csum_add(0, b, p->l4off)));
	}
	put_be16(b + p->l4off + TCP_OFF_CSUM, 0);
	put_be16(b + p->l4off + TCP_OFF_CSUM, tcp_csum(p));
}

int fl_pkt_fix_checksums(struct fl_pkt *p)
{
	int ret = whole(p);

	if (ret == 0)
		fix_csums(p);
	return ret;
}

int fl_pkt_set_flags(struct fl_pkt *p, uint8_t flags)
{
	int ret = whole(p);

	if (ret == 0) {
		p->buf[p->l4off + TCP_OFF_FLAGS] = flags;
		p->flags = flags;
		fix_csums(p);
	}
	return ret;
}

int fl_pkt_set_window(struct fl_pkt *p, uint16_t window)
{
	int ret = whole(p);

	if (ret == 0) {
		put_be16(p->buf + p->l4off + TCP_OFF_WIN, window);
		p->window = window;
		fix_csums(p);
	}
	return ret;
}

int fl_pkt_set_seq(struct fl_pkt *p, uint32_t seq)
{
	int ret = whole(p);

	if (ret == 0) {
		put_be32(p->buf + p->l4off + TCP_OFF_SEQ, seq);
		p->seq = seq;
		fix_csums(p);
	}
	return ret;
}

int fl_pkt_set_ack(struct fl_pkt *p, uint32_t ack)
{
	int ret = whole(p);

	if (ret == 0) {
		put_be32(p->buf + p->l4off + TCP_OFF_ACK, ack);
		p->ack = ack;
		fix_csums(p);
	}
	return ret;
}

int fl_pkt_corrupt(struct fl_pkt *p)
{
	uint16_t bad;
	int ret = whole(p);

	if (ret == 0) {
		fix_csums(p);
		/* A correct TCP checksum is never 0xffff (the pseudo-header
		 * alone makes the sum non-zero), so +1 never wraps onto 0x0000,
		 * which ones' complement would read as the same value. */
		bad = (uint16_t)(get_be16(p->buf + p->l4off + TCP_OFF_CSUM) + 1);
		put_be16(p->buf + p->l4off + TCP_OFF_CSUM, bad);
	}
	return ret;
}

int fl_pkt_truncate(struct fl_pkt *p, uint32_t keep)
{
	size_t nlen;
	int ret = whole(p);

	if (ret < 0)
		return ret;
	if (keep >= p->payload_len)
		return -EINVAL;
	nlen = p->l4off + p->thlen + keep;
	if (p->family == AF_INET)
		put_be16(p->buf + IP4_OFF_LEN, (uint16_t)nlen);
	else
		put_be16(p->buf + IP6_OFF_PLEN, (uint16_t)(nlen - IP6_HDR_LEN));
	p->len = nlen;
	p->caplen = nlen;
	p->payload_len = keep;
	fix_csums(p);
	return 0;
}

int fl_pkt_slice(const struct fl_pkt *p, uint32_t off, uint32_t n,
		 uint8_t *out, size_t outlen, struct fl_pkt *q)
{
	size_t hdr, nlen;
	uint8_t flags;
	int ret;

	if (!p || !out || !q)
		return -EINVAL;
	ret = whole(p);
	if (ret < 0)
		return ret;
	if (off > p->payload_len || n > p->payload_len - off)
		return -EINVAL;
	hdr = p->l4off + p->thlen;
	nlen = hdr + n;
	if (nlen > outlen)
		return -EMSGSIZE;
	memcpy(out, p->buf, hdr);
	memcpy(out + hdr, p->buf + hdr + off, n);
	if (p->family == AF_INET)
		put_be16(out + IP4_OFF_LEN, (uint16_t)nlen);
	else
		put_be16(out + IP6_OFF_PLEN, (uint16_t)(nlen - IP6_HDR_LEN));
	/* As the kernel's tcp_gso_segment(): FIN and PSH belong to the last
	 * byte, CWR to the first segment (RFC 3168 section 6.1.2). */
	flags = p->flags;
	if (off + n < p->payload_len)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (off > 0)
		flags &= (uint8_t)~TCP_CWR;
	*q = *p;
	q->buf = out;
	q->len = q->caplen = nlen;
	q->payload_len = n;
	q->seq = p->seq + off;
	q->flags = flags;
	put_be32(out + p->l4off + TCP_OFF_SEQ, q->seq);
	out[p->l4off + TCP_OFF_FLAGS] = flags;
	fix_csums(q);
	return 0;
}

/* ---- building ---- */

int fl_pkt_build(uint8_t *out, size_t n, int family, const void *src,
		 const void *dst, uint16_t sport, uint16_t dport, uint32_t seq,
		 uint32_t ack, uint8_t flags, uint16_t window)
{
	struct fl_pkt p;
	size_t iplen;
	uint8_t *th;

	if (!out || !src || !dst)
		return -EINVAL;
	if (family == AF_INET)
		iplen = IP4_HDR_MIN;
	else if (family == AF_INET6)
		iplen = IP6_HDR_LEN;
	else
		return -EINVAL;
	if (n < iplen + TCP_HDR_MIN)
		return -EINVAL;
	memset(out, 0, iplen + TCP_HDR_MIN);
	if (family == AF_INET) {
		out[0] = 0x45;
		put_be16(out + IP4_OFF_LEN, IP4_HDR_MIN + TCP_HDR_MIN);
		put_be16(out + IP4_OFF_FRAG, IP4_DF); /* ID 0, DF */
		out[8] = 64;                          /* TTL */
		out[IP4_OFF_PROTO] = IPPROTO_TCP;
		memcpy(out + IP4_OFF_SRC, src, 4);
		memcpy(out + IP4_OFF_DST, dst, 4);
	} else {
		out[0] = 0x60;
		put_be16(out + IP6_OFF_PLEN, TCP_HDR_MIN);
		out[IP6_OFF_NXT] = IPPROTO_TCP;
		out[IP6_OFF_HLIM] = 64;
		memcpy(out + IP6_OFF_SRC, src, 16);
		memcpy(out + IP6_OFF_DST, dst, 16);
	}
	th = out + iplen;
	put_be16(th, sport);
	put_be16(th + 2, dport);
	put_be32(th + TCP_OFF_SEQ, seq);
	put_be32(th + TCP_OFF_ACK, ack);
	th[TCP_OFF_DOFF] = (TCP_HDR_MIN / 4) << 4;
	th[TCP_OFF_FLAGS] = flags;
	put_be16(th + TCP_OFF_WIN, window);

	p.buf = out;
	p.family = family;
	p.len = p.caplen = iplen + TCP_HDR_MIN;
	p.l4off = iplen;
	p.thlen = TCP_HDR_MIN;
	fix_csums(&p);
	return (int)(iplen + TCP_HDR_MIN);
}
