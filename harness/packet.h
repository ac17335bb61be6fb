/*
 * packet.h - parse and rewrite IPv4/IPv6 TCP segments in a caller's buffer.
 *
 * No allocation, no system calls: the engine hands in the bytes NFQUEUE
 * gave it (possibly only the headers), and rewrites happen in place with
 * checksums recomputed.  Safe on any input (fuzzed): every length is
 * checked against the buffer.
 */
#ifndef FL_PACKET_H
#define FL_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct fl_pkt {
	uint8_t *buf;       /* start of the IP header */
	size_t caplen;      /* bytes present in buf */
	size_t len;         /* the packet's real length (IP total length) */
	int family;         /* AF_INET or AF_INET6 */
	size_t l4off;       /* offset of the TCP header */
	size_t thlen;       /* TCP header length (doff * 4) */
	uint32_t payload_len; /* from the IP length, not caplen */
	/* decoded fields, host order */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
};

/*
 * Parse an IPv4 or IPv6 packet carrying TCP.  IPv6 extension headers
 * (hop-by-hop, routing, destination options) are walked; fragments are
 * refused.  caplen may be shorter than the packet (header-only copy), but
 * must hold the IP and TCP headers.  Returns 0, -EPROTONOSUPPORT for a
 * non-TCP packet or fragment, -EINVAL for a malformed one.
 * Bytes past the IP length (link padding) are not counted: on success
 * p->caplen = min(caplen, p->len).  On error *p is unspecified.
 */
int fl_pkt_parse(struct fl_pkt *p, uint8_t *buf, size_t caplen);

/*
 * In-place rewrites of a parsed packet.  Each recomputes the TCP checksum
 * from scratch over pseudo-header, header and payload, so it needs the whole
 * packet (caplen == len): otherwise -EMSGSIZE.  Returns 0.
 */
int fl_pkt_set_flags(struct fl_pkt *p, uint8_t flags);
int fl_pkt_set_window(struct fl_pkt *p, uint16_t window);
int fl_pkt_set_seq(struct fl_pkt *p, uint32_t seq);
int fl_pkt_set_ack(struct fl_pkt *p, uint32_t ack);
/* Store a deliberately wrong TCP checksum (the correct one, plus one). */
int fl_pkt_corrupt(struct fl_pkt *p);
/* Cut the payload to keep bytes (keep < payload_len), fixing IP length and
 * checksums.  p->len and p->caplen shrink.  -EINVAL if keep >= payload_len
 * (nothing is changed then). */
int fl_pkt_truncate(struct fl_pkt *p, uint32_t keep);
/* Recompute the IPv4 header checksum and the TCP checksum. */
int fl_pkt_fix_checksums(struct fl_pkt *p);

/*
 * Build in out (outlen bytes) the segment that carries payload bytes
 * [off, off + n) of p, the way TCP segmentation offload cuts a GSO packet:
 * p's IP and TCP headers (options included), seq advanced by off, the IP
 * length set, FIN and PSH kept only on the piece that ends the payload and
 * CWR only on the piece that starts it, both checksums valid.  n == 0 with
 * off == 0 copies a segment without payload.  q describes the result (q->buf
 * is out).  p is not changed.  Returns 0; -EMSGSIZE if p is not whole or out
 * is too small; -EINVAL if the range is not inside the payload.
 */
int fl_pkt_slice(const struct fl_pkt *p, uint32_t off, uint32_t n,
		 uint8_t *out, size_t outlen, struct fl_pkt *q);

/*
 * Build a bare TCP segment (no options, no payload) from src to dst into
 * out (at least 60 bytes): family, addresses and ports from the arguments,
 * TTL/hop limit 64, checksums valid.  Returns its length, or -EINVAL.
 */
int fl_pkt_build(uint8_t *out, size_t n, int family, const void *src,
		 const void *dst, uint16_t sport, uint16_t dport, uint32_t seq,
		 uint32_t ack, uint8_t flags, uint16_t window);

/* RFC 1071 Internet checksum helpers.  fl_csum_add adds len bytes as
 * big-endian 16-bit words to a running sum (host order; start from 0); an
 * odd trailing byte is zero-padded, so only the last piece may be odd.
 * fl_csum_fold folds and complements: the value to store, host order. */
uint32_t fl_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t fl_csum_fold(uint32_t sum);

#endif
