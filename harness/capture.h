/*
 * capture.h - the run's pcap file (--pcap): the segments the engine saw,
 * as they were sent, and the ones it changed or made, as delivered,
 * written through libpcap as LINKTYPE_RAW (IPv4 and IPv6 packets with no
 * link header), so tcpdump and Wireshark open it.  The timeline
 * (timeline.c) writes a frame per segment and tells the trace its number.
 *
 * A frame holds what the engine has of a packet: the headers only unless
 * a rule needs the payload, so a record's caplen may be below its len (the
 * packet's true length).  Times are wall-clock: the run's relative
 * monotonic time plus the wall-clock time of its start, read once.
 *
 * Nothing allocates once the file is open (pcap_dump writes into its
 * stdio buffer).  Single-threaded: the engine's thread.
 */
#ifndef FL_CAPTURE_H
#define FL_CAPTURE_H

#include <stdint.h>
#include <stdio.h>

struct fl_capture;

/*
 * A pcap writer on f (opened by fl_output_open(), files.h; owned from
 * here, closed by fl_capture_close(), even on an error).  Writes the
 * file's header.  Returns 0 or -ENOMEM, -EIO (libpcap refused: what it
 * said in err).
 */
int fl_capture_open(struct fl_capture **out, FILE *f, char *err, size_t errlen);

/* Relative time 0 is wall-clock time epoch_ns (ns since 1970). */
void fl_capture_set_epoch(struct fl_capture *c, uint64_t epoch_ns);

/*
 * Writes one frame: the packet's first cap bytes (from the IP header on)
 * of len, stamped at relative time t_ns.  Returns its frame number
 * (1-based, as Wireshark numbers them), 0 for c NULL.
 */
uint64_t fl_capture_write(struct fl_capture *c, uint64_t t_ns,
			  const uint8_t *pkt, uint32_t cap, uint32_t len);

/* Flushes the frames written since the last flush once a second has
 * passed (now_ns: relative time), so a killed run leaves all but about
 * its last second: call it from the event loop. */
void fl_capture_tick(struct fl_capture *c, uint64_t now_ns);

/* Frames written so far. */
uint64_t fl_capture_frames(const struct fl_capture *c);

/* Flushes and closes c (NULL is fine).  Returns 0, or -EIO when a write
 * or the close failed. */
int fl_capture_close(struct fl_capture *c);

#endif
