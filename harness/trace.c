/*
 * trace.c - the JSON Lines trace writer; see trace.h.
 *
 * Events do not arrive in time order: a shim `call` is stamped by the shim
 * at the call and reaches the harness over its socket milliseconds later,
 * after segments and state changes that happened after it.  So every line
 * is formatted into a buffer first (text in arrival order, plus an index of
 * (t, offset) kept sorted by t, stable) and written out only once it is
 * older than the reorder window: now - window, by the run's clock.  A line
 * that comes later than that is still written, with its own t, and marked
 * "late":true (and counted, and summed up in a note at close) - never
 * clamped, never dropped.
 *
 * Cost: one vsnprintf into the buffer and one insertion into the index per
 * event (nearly always an append; a late shim event moves the few entries
 * after it); the pending text is compacted at each drain, which happens at
 * most every window/4, so each byte is copied a few times at most.  Memory
 * grows to one window's worth of events and is kept.  Single-threaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "files.h"
#include "rules.h"
#include "trace.h"
#include "utf8.h"

/* One pending line: text[off, off + len) of the arrival-order buffer. */
struct trace_line {
	uint64_t t_ns;
	size_t off;
	size_t len;
	int flush;		/* flush the file once it is written */
};

struct fl_trace {
	FILE *f;
	int is_stdout;
	int err;		/* first -errno (ENOMEM) while buffering */
	int started;		/* the run line is out: lines may follow */

	uint64_t window_ns;
	uint64_t (*now)(void *ctx);
	void *now_ctx;
	uint64_t next_drain_ns;
	uint64_t last_flush_ns;

	char *text, *spare;	/* pending text; spare for compaction */
	size_t text_len, text_cap, spare_cap;
	struct trace_line *lines; /* pending, sorted by t, stable */
	size_t nlines, lines_cap;

	uint64_t written_ns;	/* t of the newest line written */
	uint64_t late;		/* lines written behind a newer one */

	/* The line being formatted. */
	size_t open_off;
	uint64_t open_t_ns;
	int open_late;
	int open_header;
	int open_flush;
};

static uint64_t clock_now(void *ctx)
{
	(void)ctx;
	return fl_clock_now_rel_ns();
}

/* Makes room for n more bytes of text; 0 or -ENOMEM. */
static int text_reserve(struct fl_trace *t, size_t n)
{
	size_t cap = t->text_cap ? t->text_cap : 4096;
	char *p;

	if (t->text_len + n <= t->text_cap)
		return 0;
	while (cap < t->text_len + n)
		cap *= 2;
	p = realloc(t->text, cap);
	if (!p)
		return -ENOMEM;
	t->text = p;
	t->text_cap = cap;
	return 0;
}

struct fl_trace *fl_trace_open_stream(FILE *f)
{
	struct fl_trace *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->window_ns = FL_TRACE_WINDOW_NS;
	t->now = clock_now;
	if (text_reserve(t, 4096) < 0) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->f = f;
	return t;
}

struct fl_trace *fl_trace_open(const char *path)
{
	struct fl_trace *t;
	FILE *f;
	int e;

	if (strcmp(path, "-") == 0) {
		t = fl_trace_open_stream(stdout);
		if (t)
			t->is_stdout = 1;
		return t;
	}
	f = fl_output_open(path); /* a FIFO: never waits */
	if (!f)
		return NULL;
	t = fl_trace_open_stream(f);
	if (!t) {
		e = errno;
		fclose(f);
		errno = e;
	}
	return t;
}

void fl_trace_set_clock(struct fl_trace *t, uint64_t window_ns,
			uint64_t (*now)(void *ctx), void *ctx)
{
	if (!t)
		return;
	t->window_ns = window_ns;
	t->now = now ? now : clock_now;
	t->now_ctx = ctx;
	t->next_drain_ns = 0;
}

uint64_t fl_trace_late(const struct fl_trace *t)
{
	return t ? t->late : 0;
}

__attribute__((format(printf, 2, 3)))
static void put(struct fl_trace *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->text + t->text_len, t->text_cap - t->text_len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->err = -EINVAL;
		return;
	}
	if ((size_t)n >= t->text_cap - t->text_len) {
		if (text_reserve(t, (size_t)n + 1) < 0) {
			t->err = -ENOMEM;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(t->text + t->text_len, t->text_cap - t->text_len, fmt, ap);
		va_end(ap);
	}
	t->text_len += (size_t)n;
}

static void put_str(struct fl_trace *t, const char *s)
{
	size_t n = strlen(s);

	if (t->err)
		return;
	if (text_reserve(t, n) < 0) {
		t->err = -ENOMEM;
		return;
	}
	memcpy(t->text + t->text_len, s, n);
	t->text_len += n;
}

/* s as a JSON string, with its quotes; a byte outside valid UTF-8 as
 * \udcXX (utf8.h's convention). */
static void put_json_str(struct fl_trace *t, const char *s)
{
	const char *run = s;
	size_t k;

	put_str(t, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* 4: fl_utf8_seq stops at the NUL, which is no continuation */
		if (c >= 0x80 && (k = fl_utf8_seq((const unsigned char *)s, 4))) {
			s += k - 1;
			continue;
		}
		if (c != '"' && c != '\\' && c >= 0x20 && c < 0x80)
			continue;
		put(t, "%.*s", (int)(s - run), run);
		if (c == '"' || c == '\\')
			put(t, "\\%c", c);
		else if (c == '\n')
			put_str(t, "\\n");
		else if (c == '\t')
			put_str(t, "\\t");
		else if (c >= 0x80)
			put(t, "\\udc%02x", c);
		else
			put(t, "\\u%04x", c);
		run = s + 1;
	}
	put_str(t, run);
	put_str(t, "\"");
}

/* Writes the pending lines older than cutoff_ns (all of them for
 * UINT64_MAX), in t order, and compacts what is left.  Returns whether a
 * line that wants the file flushed was written. */
static int drain(struct fl_trace *t, uint64_t cutoff_ns)
{
	size_t k = 0, keep = 0;
	int flush = 0;

	while (k < t->nlines && t->lines[k].t_ns < cutoff_ns) {
		const struct trace_line *l = &t->lines[k++];

		fwrite(t->text + l->off, 1, l->len, t->f);
		if (l->t_ns > t->written_ns)
			t->written_ns = l->t_ns;
		flush |= l->flush;
	}
	if (k == 0)
		return 0;
	if (k == t->nlines) {
		t->nlines = t->text_len = 0;
		return flush;
	}
	for (size_t i = k; i < t->nlines; i++)
		keep += t->lines[i].len;
	if (keep > t->spare_cap) {
		char *p = realloc(t->spare, t->text_cap);

		if (!p) {
			/* Keep the old text as it is; compaction waits. */
			memmove(t->lines, t->lines + k,
				(t->nlines - k) * sizeof(*t->lines));
			t->nlines -= k;
			return flush;
		}
		t->spare = p;
		t->spare_cap = t->text_cap;
	}
	keep = 0;
	for (size_t i = k; i < t->nlines; i++) {
		struct trace_line *l = &t->lines[i];

		memcpy(t->spare + keep, t->text + l->off, l->len);
		l->off = keep;
		keep += l->len;
		t->lines[i - k] = *l;
	}
	t->nlines -= k;
	{
		char *p = t->text;
		size_t cap = t->text_cap;

		t->text = t->spare;
		t->text_cap = t->spare_cap;
		t->spare = p;
		t->spare_cap = cap;
	}
	t->text_len = keep;
	return flush;
}

/* Drains what is older than the window, at most every window/4, and
 * flushes the file every second or so, or at once when a line that wants
 * it (a proc event) was written. */
static void maybe_drain(struct fl_trace *t)
{
	uint64_t now;
	int flush = 0;

	if (!t->started)
		return;
	now = t->now(t->now_ctx);
	if (now < t->next_drain_ns)
		return;
	flush = drain(t, now > t->window_ns ? now - t->window_ns : 0);
	t->next_drain_ns = now + t->window_ns / 4;
	if (flush || now - t->last_flush_ns >= 1000000000ull ||
	    now < t->last_flush_ns) {
		fflush(t->f);
		t->last_flush_ns = now;
	}
}

void fl_trace_tick(struct fl_trace *t)
{
	if (t)
		maybe_drain(t);
}

static void line_begin(struct fl_trace *t, uint64_t t_ns)
{
	t->open_off = t->text_len;
	t->open_t_ns = t_ns;
	t->open_late = t_ns < t->written_ns;
	t->open_header = 0;
	t->open_flush = 0;
	put(t, "{\"t\":%llu.%06llu", (unsigned long long)(t_ns / 1000000000u),
	    (unsigned long long)(t_ns % 1000000000u / 1000u));
}

/* Ends the line and files it by t (after every pending line with the same
 * t: equal times keep their arrival order). */
static void line_end(struct fl_trace *t)
{
	size_t lo = 0, hi = t->nlines;
	struct trace_line l;

	if (t->open_late)
		put_str(t, ",\"late\":true");
	put_str(t, "}\n");
	if (t->err) {
		t->text_len = t->open_off;
		return;
	}
	if (t->open_header) {
		/* The run line goes first, whatever is pending. */
		fwrite(t->text + t->open_off, 1, t->text_len - t->open_off, t->f);
		t->text_len = t->open_off;
		t->started = 1;
		fflush(t->f);
		return;
	}
	if (t->open_late)
		t->late++;
	l.t_ns = t->open_t_ns;
	l.off = t->open_off;
	l.len = t->text_len - t->open_off;
	l.flush = t->open_flush;
	if (t->nlines == t->lines_cap) {
		size_t cap = t->lines_cap ? t->lines_cap * 2 : 256;
		struct trace_line *p = realloc(t->lines, cap * sizeof(*p));

		if (!p) {
			t->err = -ENOMEM;
			t->text_len = t->open_off;
			return;
		}
		t->lines = p;
		t->lines_cap = cap;
	}
	/* Upper bound; nearly always the end, so look there first. */
	if (hi > 0 && t->lines[hi - 1].t_ns > l.t_ns) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (t->lines[mid].t_ns <= l.t_ns)
				lo = mid + 1;
			else
				hi = mid;
		}
	} else {
		lo = hi;
	}
	memmove(t->lines + lo + 1, t->lines + lo,
		(t->nlines - lo) * sizeof(*t->lines));
	t->lines[lo] = l;
	t->nlines++;
	maybe_drain(t);
}

void fl_trace_flush(struct fl_trace *t)
{
	if (!t)
		return;
	drain(t, UINT64_MAX);
	fflush(t->f);
}

int fl_trace_close(struct fl_trace *t)
{
	int ret = 0;

	if (!t)
		return 0;
	drain(t, UINT64_MAX);
	if (t->late) {
		char detail[200];

		snprintf(detail, sizeof(detail),
			 "%llu events arrived more than %.3fs after their time "
			 "and are written out of order with their own t, "
			 "marked \"late\":true",
			 (unsigned long long)t->late, (double)t->window_ns / 1e9);
		fl_trace_note(t, t->written_ns, "late-events", detail);
		drain(t, UINT64_MAX);
	}
	if (t->err)
		ret = t->err;
	if (fflush(t->f) != 0 || ferror(t->f))
		ret = -EIO;
	if (!t->is_stdout && fclose(t->f) != 0)
		ret = -errno;
	free(t->text);
	free(t->spare);
	free(t->lines);
	free(t);
	return ret;
}

void fl_trace_pkt(struct fl_trace *t, const struct fl_trace_pkt *p)
{
	char flags[64];

	if (!t)
		return;
	fl_flags_format(p->flags, flags, sizeof(flags));
	line_begin(t, p->t_ns);
	put(t,
	    ",\"ev\":\"pkt\",\"flow\":%u,\"from\":\"%s\",\"flags\":\"%s\","
	    "\"seq\":%u,\"ack\":%u,\"len\":%u,\"win\":%u,\"verdict\":\"%s\","
	    "\"rule\":",
	    p->flow, p->from, flags, p->seq, p->ack, p->len, p->win,
	    fl_verdict_name(p->verdict));
	if (p->rule)
		put_json_str(t, p->rule);
	else
		put_str(t, "null");
	if (p->delay_ns)
		put(t, ",\"delay\":%.6f", (double)p->delay_ns / 1e9);
	if (p->detail) {
		put_str(t, ",\"detail\":");
		put_json_str(t, p->detail);
	}
	if (p->frame)
		put(t, ",\"frame\":%llu", (unsigned long long)p->frame);
	if (p->delivered_frame)
		put(t, ",\"delivered_frame\":%llu",
		    (unsigned long long)p->delivered_frame);
	line_end(t);
}

void fl_trace_proc(struct fl_trace *t, uint64_t t_ns, int pid, int host_pid,
		   const char *role, const char *what, int code, int sig)
{
	if (!t)
		return;
	line_begin(t, t_ns);
	put(t, ",\"ev\":\"proc\",\"pid\":%d,\"host_pid\":%d,"
	    "\"role\":\"%s\",\"what\":\"%s\"",
	    pid, host_pid, role, what);
	if (sig > 0) {
		const char *name = fl_signal_name(sig);

		if (name)
			put(t, ",\"signal\":\"%s\"", name);
		else
			put(t, ",\"signal\":%d", sig);
	} else if (code >= 0) {
		put(t, ",\"code\":%d", code);
	}
	t->open_flush = 1;
	line_end(t);
}

void fl_trace_check(struct fl_trace *t, uint64_t t_ns, const char *name,
		    int ok, const char *detail)
{
	if (!t)
		return;
	line_begin(t, t_ns);
	put_str(t, ",\"ev\":\"check\",\"name\":");
	put_json_str(t, name);
	put(t, ",\"ok\":%s,\"detail\":", ok ? "true" : "false");
	put_json_str(t, detail ? detail : "");
	line_end(t);
}

const char *fl_seed_text(uint64_t seed, char buf[FL_SEED_TEXT_SIZE])
{
	snprintf(buf, FL_SEED_TEXT_SIZE, "%llu", (unsigned long long)seed);
	return buf;
}

void fl_trace_run(struct fl_trace *t, const char *version, uint64_t seed,
		  char *const *argv, const char *const *rule_files,
		  size_t nrule_files)
{
	char st[FL_SEED_TEXT_SIZE];

	if (!t)
		return;
	line_begin(t, 0);
	t->open_late = 0;
	t->open_header = 1;
	/* seed_text: a reader that holds numbers as doubles (jq, JavaScript)
	 * keeps a seed >= 2^53 exactly only as a string. */
	put(t, ",\"ev\":\"run\",\"version\":\"%s\",\"seed\":%s,"
	    "\"seed_text\":\"%s\",\"window\":%.6f,\"argv\":[",
	    version, fl_seed_text(seed, st), st, (double)t->window_ns / 1e9);
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			put_str(t, ",");
		put_json_str(t, argv[i]);
	}
	put_str(t, "],\"rules\":[");
	for (size_t i = 0; i < nrule_files; i++) {
		if (i)
			put_str(t, ",");
		put_json_str(t, rule_files[i]);
	}
	put_str(t, "]");
	line_end(t);
}

void fl_trace_note(struct fl_trace *t, uint64_t t_ns, const char *what,
		   const char *detail)
{
	if (!t)
		return;
	line_begin(t, t_ns);
	put_str(t, ",\"ev\":\"note\",\"what\":");
	put_json_str(t, what);
	if (detail) {
		put_str(t, ",\"detail\":");
		put_json_str(t, detail);
	}
	line_end(t);
}

void fl_trace_raw(struct fl_trace *t, uint64_t t_ns, const char *ev,
		  const char *body)
{
	if (!t)
		return;
	line_begin(t, t_ns);
	put(t, ",\"ev\":\"%s\",%s", ev, body);
	line_end(t);
}
