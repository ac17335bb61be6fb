/*
 * fuzz_calls.c - libFuzzer target for the harness's end of the shim's
 * channel (harness/calls.c's fl_calls_feed): what any process of a target
 * can write to it.  The input is a run of records: a flag byte, then up to
 * sizeof(struct fl_ev) bytes of datagram (the last record may be shorter).
 * Flag bit 0 makes the datagram's header valid (magic, version, size) so
 * the fuzzer reaches the decoder behind it; bit 1 gives the feed a sender
 * pid from the flag's high bits (else 0, unknown).  Every record is fed,
 * then the trace is closed and each of its lines must be valid UTF-8 and
 * parse as a JSON object (json-c), and the calls kept must stay within the
 * counts fed.  A violated invariant traps.  Single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "calls.h"
#include "event.h"
#include "trace.h"
#include "utf8.h"

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static uint64_t now_fn(void *ctx)
{
	(void)ctx;
	return 0;
}

static void check_trace(const char *path)
{
	static char buf[1 << 22];
	FILE *f = fopen(path, "r");
	size_t n, i, k;
	char *line, *nl;

	CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (i = 0; i < n; i += k) {
		k = fl_utf8_seq((const unsigned char *)buf + i, n - i);
		CHECK(k > 0);
	}
	for (line = buf; *line; line = nl + 1) {
		json_object *o;

		nl = strchr(line, '\n');
		CHECK(nl); /* every line ends */
		*nl = 0;
		o = json_tokener_parse(line);
		CHECK(o && json_object_is_type(o, json_type_object));
		json_object_put(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static char *const argv[] = {"fuzz", NULL};
	struct fl_calls *c = NULL;
	struct fl_trace *t;
	char name[64], err[256];
	size_t off = 0, fed_calls = 0, kept;
	uint8_t rec[sizeof(struct fl_ev) + 1];

	if (!path[0]) {
		int fd = memfd_create("fuzz-trace", 0);

		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (fl_calls_new(&c, name, sizeof(name), err, sizeof(err)) < 0)
		return 0;
	t = fl_trace_open(path);
	CHECK(t);
	fl_trace_set_clock(t, 0, now_fn, NULL);
	fl_trace_run(t, "fuzz", 1, argv, NULL, 0);
	while (off < size) {
		uint8_t flag = data[off++];
		size_t n = size - off < sizeof(struct fl_ev) ? size - off : sizeof(struct fl_ev);
		struct fl_ev *ev = (struct fl_ev *)rec;

		memcpy(rec, data + off, n);
		off += n;
		if ((flag & 1) && n == sizeof(struct fl_ev)) {
			ev->magic = FL_EV_MAGIC;
			ev->version = FL_EV_VERSION;
			ev->size = sizeof(struct fl_ev);
		}
		if (n == sizeof(struct fl_ev) && fl_ev_check(rec, n) == 0 &&
		    ev->kind == FL_EV_CALL && ev->fn < FL_FN_COUNT)
			fed_calls++;
		fl_calls_feed(c, rec, n, (flag & 2) ? flag >> 2 : 0, NULL, t);
	}
	fl_calls_get(c, &kept);
	CHECK(kept <= fed_calls);
	CHECK(fl_trace_close(t) == 0);
	check_trace(path);
	fl_calls_free(c);
	return 0;
}
