/* trace.c - the JSON Lines trace writer; see trace.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "rules.h"
#include "trace.h"

struct fl_trace {
	FILE *f;
	int is_stdout;
	uint64_t last_flush_ns;
};

struct fl_trace *fl_trace_open(const char *path)
{
	struct fl_trace *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (strcmp(path, "-") == 0) {
		t->f = stdout;
		t->is_stdout = 1;
	} else {
		t->f = fopen(path, "we");
		if (!t->f) {
			int e = errno;

			free(t);
			errno = e;
			return NULL;
		}
	}
	return t;
}

int fl_trace_close(struct fl_trace *t)
{
	int ret = 0;

	if (!t)
		return 0;
	if (fflush(t->f) != 0 || ferror(t->f))
		ret = -EIO;
	if (!t->is_stdout && fclose(t->f) != 0)
		ret = -errno;
	free(t);
	return ret;
}

void fl_json_str(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

static void maybe_flush(struct fl_trace *t, uint64_t t_ns)
{
	if (t_ns - t->last_flush_ns > 1000000000ull || t_ns < t->last_flush_ns) {
		fflush(t->f);
		t->last_flush_ns = t_ns;
	}
}

static void put_time(FILE *f, uint64_t t_ns)
{
	fprintf(f, "{\"t\":%llu.%06llu", (unsigned long long)(t_ns / 1000000000u),
		(unsigned long long)(t_ns % 1000000000u / 1000u));
}

void fl_trace_pkt(struct fl_trace *t, const struct fl_trace_pkt *p)
{
	char flags[64];

	if (!t)
		return;
	fl_flags_format(p->flags, flags, sizeof(flags));
	put_time(t->f, p->t_ns);
	fprintf(t->f,
		",\"ev\":\"pkt\",\"flow\":%u,\"from\":\"%s\",\"flags\":\"%s\","
		"\"seq\":%u,\"ack\":%u,\"len\":%u,\"win\":%u,\"verdict\":\"%s\","
		"\"rule\":",
		p->flow, p->from, flags, p->seq, p->ack, p->len, p->win,
		p->verdict);
	if (p->rule)
		fl_json_str(t->f, p->rule);
	else
		fputs("null", t->f);
	if (p->delay_ns)
		fprintf(t->f, ",\"delay\":%.6f", (double)p->delay_ns / 1e9);
	if (p->detail) {
		fputs(",\"detail\":", t->f);
		fl_json_str(t->f, p->detail);
	}
	fputs("}\n", t->f);
	maybe_flush(t, p->t_ns);
}

void fl_trace_proc(struct fl_trace *t, uint64_t t_ns, int pid, int host_pid,
		   const char *role, const char *what, int code, int sig)
{
	if (!t)
		return;
	put_time(t->f, t_ns);
	fprintf(t->f, ",\"ev\":\"proc\",\"pid\":%d,\"host_pid\":%d,"
		"\"role\":\"%s\",\"what\":\"%s\"",
		pid, host_pid, role, what);
	if (sig > 0) {
		const char *name = fl_signal_name(sig);

		if (name)
			fprintf(t->f, ",\"signal\":\"%s\"", name);
		else
			fprintf(t->f, ",\"signal\":%d", sig);
	} else if (code >= 0) {
		fprintf(t->f, ",\"code\":%d", code);
	}
	fputs("}\n", t->f);
	fflush(t->f);
}

void fl_trace_check(struct fl_trace *t, uint64_t t_ns, const char *name,
		    int ok, const char *detail)
{
	if (!t)
		return;
	put_time(t->f, t_ns);
	fputs(",\"ev\":\"check\",\"name\":", t->f);
	fl_json_str(t->f, name);
	fprintf(t->f, ",\"ok\":%s,\"detail\":", ok ? "true" : "false");
	fl_json_str(t->f, detail ? detail : "");
	fputs("}\n", t->f);
}

void fl_trace_run(struct fl_trace *t, const char *version, uint64_t seed,
		  char *const *argv, const char *const *rule_files,
		  size_t nrule_files)
{
	if (!t)
		return;
	fprintf(t->f, "{\"t\":0.000000,\"ev\":\"run\",\"version\":\"%s\","
		"\"seed\":%llu,\"argv\":[",
		version, (unsigned long long)seed);
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			putc(',', t->f);
		fl_json_str(t->f, argv[i]);
	}
	fputs("],\"rules\":[", t->f);
	for (size_t i = 0; i < nrule_files; i++) {
		if (i)
			putc(',', t->f);
		fl_json_str(t->f, rule_files[i]);
	}
	fputs("]}\n", t->f);
}

void fl_trace_note(struct fl_trace *t, uint64_t t_ns, const char *what,
		   const char *detail)
{
	if (!t)
		return;
	put_time(t->f, t_ns);
	fputs(",\"ev\":\"note\",\"what\":", t->f);
	fl_json_str(t->f, what);
	if (detail) {
		fputs(",\"detail\":", t->f);
		fl_json_str(t->f, detail);
	}
	fputs("}\n", t->f);
}

void fl_trace_raw(struct fl_trace *t, uint64_t t_ns, const char *ev,
		  const char *body)
{
	if (!t)
		return;
	put_time(t->f, t_ns);
	fprintf(t->f, ",\"ev\":\"%s\",%s}\n", ev, body);
	maybe_flush(t, t_ns);
}
