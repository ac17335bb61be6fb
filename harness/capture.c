/*
 * capture.c - the run's pcap file through libpcap (pcap_open_dead for
 * LINKTYPE_RAW, pcap_dump_fopen on the stream files.c opened, so a FIFO
 * is never waited for); see capture.h.
 *
 * libpcap is loaded with dlopen() by the first fl_capture_open(), not
 * linked: Debian's libpcap brings libdbus, libsystemd, libgcrypt and
 * five more with it, which cost every faultline process 2-3 ms to start
 * and 1.3 MiB of resident memory, and only a run with --pcap uses it.
 * Single-threaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture.h"

/* The libpcap calls used here, from the library loaded at run time. */
static struct {
	pcap_t *(*open_dead)(int, int, u_int);
	pcap_dumper_t *(*dump_fopen)(pcap_t *, FILE *);
	char *(*geterr)(pcap_t *);
	void (*close)(pcap_t *);
	void (*dump)(u_char *, const struct pcap_pkthdr *, const u_char *);
	int (*dump_flush)(pcap_dumper_t *);
	FILE *(*dump_file)(pcap_dumper_t *);
	void (*dump_close)(pcap_dumper_t *);
} pc;

/* The library's names, the one the build saw first (CMake reads its
 * SONAME); Debian's is libpcap.so.0.8, upstream's libpcap.so.1. */
static const char *const pcap_names[] = {
#ifdef FL_PCAP_SONAME
	FL_PCAP_SONAME,
#endif
	"libpcap.so.0.8", "libpcap.so.1", "libpcap.so",
};

/* Loads libpcap once: 0, or -ENOENT with what dlopen/dlsym said. */
static int pcap_load(char *err, size_t errlen)
{
	static void *lib;
	const char *why = "not found";

	if (lib)
		return 0;
	for (size_t i = 0; !lib && i < sizeof(pcap_names) / sizeof(*pcap_names); i++) {
		lib = dlopen(pcap_names[i], RTLD_NOW | RTLD_LOCAL);
		if (!lib && i == 0)
			why = dlerror();
	}
	if (!lib)
		goto fail;
	/* POSIX: a data pointer from dlsym() converts to a function's. */
#define SYM(field, name)                                                  \
	do {                                                              \
		*(void **)&pc.field = dlsym(lib, name);                   \
		if (!pc.field) {                                          \
			why = dlerror();                                  \
			goto fail;                                        \
		}                                                         \
	} while (0)
	SYM(open_dead, "pcap_open_dead_with_tstamp_precision");
	SYM(dump_fopen, "pcap_dump_fopen");
	SYM(geterr, "pcap_geterr");
	SYM(close, "pcap_close");
	SYM(dump, "pcap_dump");
	SYM(dump_flush, "pcap_dump_flush");
	SYM(dump_file, "pcap_dump_file");
	SYM(dump_close, "pcap_dump_close");
#undef SYM
	return 0;
fail:
	snprintf(err, errlen, "--pcap needs libpcap (apt-get install libpcap0.8): %s",
		 why ? why : "not found");
	if (lib)
		dlclose(lib);
	lib = NULL;
	return -ENOENT;
}

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
	ret = pcap_load(err, errlen);
	if (ret < 0)
		goto fail;
	ret = -EIO;
	/* Nanosecond stamps: the engine's clock is that fine, and segments
	 * on loopback are microseconds apart. */
	c->dead = pc.open_dead(DLT_RAW, CAPTURE_SNAPLEN,
			       PCAP_TSTAMP_PRECISION_NANO);
	if (!c->dead) {
		snprintf(err, errlen, "libpcap cannot make a raw-IP capture");
		goto fail;
	}
	c->dump = pc.dump_fopen(c->dead, f);
	if (!c->dump) {
		snprintf(err, errlen, "%s", pc.geterr(c->dead));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c && c->dead)
		pc.close(c->dead);
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
	pc.dump((u_char *)c->dump, &h, pkt);
	return ++c->frames;
}

void fl_capture_tick(struct fl_capture *c, uint64_t now_ns)
{
	if (!c || c->frames == c->flushed || now_ns - c->flush_ns < CAPTURE_FLUSH_NS)
		return;
	/* An error stays on the stream: fl_capture_close() reports it. */
	pc.dump_flush(c->dump);
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
	if (pc.dump_flush(c->dump) != 0 || ferror(pc.dump_file(c->dump)))
		ret = -EIO;
	pc.dump_close(c->dump);
	pc.close(c->dead);
	free(c);
	return ret;
}
