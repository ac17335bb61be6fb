/*
 * test_trace.c - the trace writer's reorder buffer, driven by a fake clock:
 * lines come out in t order (stable for equal t) once older than the
 * window, the run line first, a line later than the window is written with
 * its own t and marked, and what is older than the window reaches the file
 * before close (a killed run keeps it); and its strings, like every JSON
 * text faultline writes, stay valid UTF-8 (utf8.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"
#include "utf8.h"

#define MS 1000000ull

static uint64_t fake_now;

static uint64_t now_fn(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static char path[64];

static struct fl_trace *open_fake(uint64_t window_ns)
{
	static char *const argv[] = {"prog", NULL};
	struct fl_trace *t;
	int fd;

	strcpy(path, "/tmp/fl-test-trace-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	t = fl_trace_open(path);
	cr_assert_not_null(t);
	fl_trace_set_clock(t, window_ns, now_fn, NULL);
	fake_now = 0;
	fl_trace_run(t, "test", 42, argv, NULL, 0);
	return t;
}

/* The file as it is now (static buffer). */
static const char *file_now(void)
{
	static char buf[1 << 21];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* The "tag" values of the file's event lines, in order, space-separated,
 * after checking that the run line is first (static buffer). */
static const char *tags(const char *text)
{
	static char out[4096];
	const char *p = text;

	out[0] = 0;
	cr_assert(strncmp(text, "{\"t\":0.000000,\"ev\":\"run\"", 24) == 0, "%s", text);
	while ((p = strstr(p, "\"tag\":\"")) != NULL) {
		const char *e;

		p += 7;
		e = strchr(p, '"');
		if (out[0])
			strcat(out, " ");
		strncat(out, p, (size_t)(e - p));
	}
	return out;
}

static void ev(struct fl_trace *t, uint64_t t_ns, const char *tag)
{
	char body[64];

	snprintf(body, sizeof(body), "\"tag\":\"%s\"", tag);
	fl_trace_raw(t, t_ns, "x", body);
}

Test(trace, sorted_by_t_and_stable)
{
	struct fl_trace *t = open_fake(250 * MS);

	fake_now = 20 * MS;
	ev(t, 10 * MS, "a");
	ev(t, 20 * MS, "c");
	ev(t, 5 * MS, "first");   /* a shim call, 15 ms late */
	ev(t, 10 * MS, "b");      /* equal t: after "a" */
	ev(t, 20 * MS + 1, "d");  /* 1 ns later: after "c" */
	ev(t, 10 * MS, "b2");
	cr_assert_eq(fl_trace_close(t), 0);
	cr_assert_str_eq(tags(file_now()), "first a b b2 c d");
	unlink(path);
}

Test(trace, older_than_window_reaches_the_file)
{
	struct fl_trace *t = open_fake(250 * MS);

	fake_now = 100 * MS;
	ev(t, 100 * MS, "old");
	fake_now = 1500 * MS; /* past the window and the flush interval */
	ev(t, 1400 * MS, "recent");
	/* A killed run would leave "old" but not yet "recent". */
	cr_assert_str_eq(tags(file_now()), "old");
	fake_now = 1600 * MS;
	fl_trace_proc(t, 1600 * MS, 1, 2, "target", "exit", 0, 0);
	cr_assert_str_eq(tags(file_now()), "old");
	/* No event comes: the event loop's tick writes them out, and the
	 * proc line has the file flushed at once. */
	fake_now = 1900 * MS;
	fl_trace_tick(t);
	cr_assert_str_eq(tags(file_now()), "old recent");
	cr_assert(strstr(file_now(), "\"what\":\"exit\",\"code\":0}\n"), "%s", file_now());
	cr_assert_eq(fl_trace_close(t), 0);
	unlink(path);
}

Test(trace, later_than_window_is_marked_and_counted)
{
	struct fl_trace *t = open_fake(100 * MS);
	const char *text;

	fake_now = 50 * MS;
	ev(t, 50 * MS, "a");
	fake_now = 2000 * MS;
	ev(t, 1990 * MS, "b"); /* drains "a" */
	ev(t, 40 * MS, "late"); /* older than "a", which is out */
	cr_assert_eq(fl_trace_late(t), 1);
	cr_assert_eq(fl_trace_close(t), 0);
	text = file_now();
	/* Its own t, not clamped; before "b" (it was older than that). */
	cr_assert_str_eq(tags(text), "a late b");
	cr_assert(strstr(text, "{\"t\":0.040000,\"ev\":\"x\",\"tag\":\"late\",\"late\":true}\n"),
		  "%s", text);
	cr_assert(!strstr(strstr(text, "\"tag\":\"a\""), "\"tag\":\"a\",\"late\""));
	/* The note at the end says how many, at the newest t (in order). */
	cr_assert(strstr(text, "{\"t\":1.990000,\"ev\":\"note\",\"what\":\"late-events\","
			       "\"detail\":\"1 events arrived"),
		  "%s", text);
	unlink(path);
}

Test(trace, run_line_first)
{
	static char *const argv[] = {"prog", "a\"b", NULL};
	static const char *const rules[] = {"x.rules"};
	struct fl_trace *t;
	const char *text;
	int fd;

	strcpy(path, "/tmp/fl-test-trace-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	t = fl_trace_open(path);
	fl_trace_set_clock(t, 250 * MS, now_fn, NULL);
	fake_now = 5000 * MS;
	ev(t, 0, "early"); /* before the header: waits for it */
	fl_trace_run(t, "test", 18446744073709551615ull, argv, rules, 1);
	cr_assert_eq(fl_trace_close(t), 0);
	text = file_now();
	cr_assert_str_eq(tags(text), "early");
	cr_assert(strstr(text, "\"seed\":18446744073709551615,"
			       "\"seed_text\":\"18446744073709551615\""),
		  "%s", text);
	cr_assert(strstr(text, "\"argv\":[\"prog\",\"a\\\"b\"],\"rules\":[\"x.rules\"]}\n"),
		  "%s", text);
	unlink(path);
}

/* Many events a little out of order, across many drains and buffer
 * growths: the file is sorted and holds every one. */
Test(trace, many_events_in_order)
{
	struct fl_trace *t = open_fake(250 * MS);
	const char *p;
	unsigned long long prev = 0, n = 0;

	for (uint64_t i = 0; i < 20000; i++) {
		uint64_t ts = i * MS / 4;

		fake_now = ts;
		/* every 7th event comes 12 ms late, the way a shim call does */
		ev(t, i % 7 ? ts : (ts > 12 * MS ? ts - 12 * MS : 0), "e");
	}
	cr_assert_eq(fl_trace_late(t), 0);
	cr_assert_eq(fl_trace_close(t), 0);
	for (p = file_now(); (p = strstr(p, "\n{\"t\":")) != NULL; p++) {
		unsigned long long s, us, v;

		cr_assert_eq(sscanf(p + 6, "%llu.%llu", &s, &us), 2);
		v = s * 1000000 + us;
		cr_assert_geq(v, prev, "t went back at line %llu", n + 2);
		prev = v;
		n++;
	}
	cr_assert_eq(n, 20000);
	unlink(path);
}

/* utf8.h's convention: valid UTF-8 as is, every other byte as \udcXX. */
static const struct {
	const char *in, *out;
} utf8_cases[] = {
	{ "plain", "plain" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "\xff", "\\udcff" },
	{ "a\x80z", "a\\udc80z" },                 /* stray continuation */
	{ "\xc3", "\\udcc3" },                     /* truncated at the end */
	{ "\xc3(", "\\udcc3(" },                   /* truncated by ASCII */
	{ "\xc0\xaf", "\\udcc0\\udcaf" },          /* overlong '/' */
	{ "\xe0\x80\xaf", "\\udce0\\udc80\\udcaf" }, /* overlong, 3 bytes */
	{ "\xed\xa0\x80", "\\udced\\udca0\\udc80" }, /* a surrogate, U+D800 */
	{ "\xed\xb3\xbf", "\\udced\\udcb3\\udcbf" }, /* U+DCFF: no confusion */
	{ "\xf4\x90\x80\x80", "\\udcf4\\udc90\\udc80\\udc80" }, /* > U+10FFFF */
	{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" }, /* U+10FFFF itself */
	{ "\xf5\xfe", "\\udcf5\\udcfe" },
};

Test(utf8, json_write_escapes_every_invalid_byte)
{
	char buf[256];

	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		FILE *f = fmemopen(buf, sizeof(buf), "w");

		cr_assert_not_null(f);
		cr_assert_eq(fl_utf8_json_write(f, utf8_cases[i].in,
						strlen(utf8_cases[i].in)), 0);
		fclose(f);
		cr_assert_str_eq(buf, utf8_cases[i].out, "case %zu", i);
	}
}

/* The trace's strings follow it too: argv bytes that are not UTF-8 are
 * escaped, and the file is valid UTF-8. */
Test(utf8, trace_argv_is_valid_utf8)
{
	static char *const argv[] = {"prog", "x\xff" "y", "\xc3\xa9\xc3", NULL};
	struct fl_trace *t;
	const char *text;
	size_t i, n, k;
	int fd;

	strcpy(path, "/tmp/fl-test-trace-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	t = fl_trace_open(path);
	fl_trace_set_clock(t, 250 * MS, now_fn, NULL);
	fl_trace_run(t, "test", 1, argv, NULL, 0);
	fl_trace_note(t, 0, "w\x80hat", "d\xfe");
	cr_assert_eq(fl_trace_close(t), 0);
	text = file_now();
	cr_assert(strstr(text, "\"argv\":[\"prog\",\"x\\udcffy\",\"\xc3\xa9\\udcc3\"]"),
		  "%s", text);
	cr_assert(strstr(text, "\"what\":\"w\\udc80hat\",\"detail\":\"d\\udcfe\""),
		  "%s", text);
	for (i = 0, n = strlen(text); i < n; i += k) {
		k = fl_utf8_seq((const unsigned char *)text + i, n - i);
		cr_assert_gt(k, 0, "invalid UTF-8 at byte %zu: %s", i, text);
	}
	unlink(path);
}
