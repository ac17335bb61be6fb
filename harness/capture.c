/*
 * capture.c - the run's pcap file through libpcap (pcap_open_dead for
 * LINKTYPE_RAW, pcap_dump_fopen on the stream files.c opened, so a FIFO
 * is never waited for); see capture.h.  Single-threaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture.h"

/* The largest packet a frame holds: a GSO packet is up to 64 KiB (and an
 * IPv6 one 40 bytes more); what tcpdump uses by default. */
#define CAPTURE_SNAPLEN 262144

struct fl_capture {
	pcap_t *dead;        /* the link type and snaplen the file says */
	pcap_dumper_t *dump;
	uint64_t epoch_ns;   /* wall-clock time of relative time 0 */
	uint64_t frames;
	uint64_t flushed;    /* frames when it was last flushed */
	uint64_t flush_ns;   /* relative time of that flush */
};

#define CAPTURE_FLUSH_NS 1000000000ull

int fl_capture_open(struct fl_capture **out, FILE *f, char *err, size_t errlen)
{
	struct fl_capture *c = calloc(1, sizeof(*c));
	int ret = -ENOMEM;

	if (!c)
		goto fail;
	ret = -EIO;
	/* Nanosecond stamps: the engine's clock is that fine, and segments
	 * on loopback are microseconds apart. */
	c->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, CAPTURE_SNAPLEN,
						      PCAP_TSTAMP_PRECISION_NANO);
	if (!c->dead) {
		snprintf(err, errlen, "libpcap cannot make a raw-IP capture");
		goto fail;
	}
	c->dump = pcap_dump_fopen(c->dead, f);
	if (!c->dump) {
		snprintf(err, errlen, "%s", pcap_geterr(c->dead));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c && c->dead)
		pcap_close(c->dead);
	free(c);
	fclose(f);
	return ret;
}

void fl_capture_set_epoch(struct fl_capture *c, uint64_t epoch_ns)
{
	if (c)
		c->epoch_ns = epoch_ns;
}

uint64_t fl_capture_write(struct fl_capture *c, uint64_t t_ns,
			  const uint8_t *pkt, uint32_t cap, uint32_t len)
{
	struct pcap_pkthdr h;
	uint64_t ns;

	if (!c)
		return 0;
	ns = c->epoch_ns + t_ns;
	if (cap > len)
		cap = len;
	if (cap > CAPTURE_SNAPLEN)
		cap = CAPTURE_SNAPLEN;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(ns / 1000000000u);
	/* A nanosecond file's tv_usec holds nanoseconds (pcap_dump). */
	h.ts.tv_usec = (suseconds_t)(ns % 1000000000u);
	h.caplen = cap;
	h.len = len;
	pcap_dump((u_char *)c->dump, &h, pkt);
	return ++c->frames;
}

void fl_capture_tick(struct fl_capture *c, uint64_t now_ns)
{
	if (!c || c->frames == c->flushed || now_ns - c->flush_ns < CAPTURE_FLUSH_NS)
		return;
	/* An error stays on the stream: fl_capture_close() reports it. */
	pcap_dump_flush(c->dump);
	c->flushed = c->frames;
	c->flush_ns = now_ns;
}

uint64_t fl_capture_frames(const struct fl_capture *c)
{
	return c ? c->frames : 0;
}

int fl_capture_close(struct fl_capture *c)
{
	int ret = 0;

	if (!c)
		return 0;
	/* pcap_dump_close() says nothing of a failed write: flush and look
	 * at the stream first. */
	if (pcap_dump_flush(c->dump) != 0 || ferror(pcap_dump_file(c->dump)))
		ret = -EIO;
	pcap_dump_close(c->dump);
	pcap_close(c->dead);
	free(c);
	return ret;
}
