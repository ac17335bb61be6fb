/*
 * test_pcap.c - --pcap FILE read back by the tools people open it with:
 * tcpdump -r and tshark (Wireshark's dissectors), as root and as uid
 * 65534.  What faultline says it did (the trace's pkt events and their
 * frame numbers) is compared with what the tools read in the file: the
 * frame count, each frame's TCP flags, the dropped FINs still present as
 * sent, a rewritten or truncated segment present twice (as sent, and as
 * delivered with a correct TCP checksum), an injected RST as made, the
 * frames' wall-clock times spaced as the trace's, and a SIGKILLed run's
 * file still whole.  Single-threaded (the Criterion test process).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(pcap, name, 120)

#define MAX_FRAMES 512

/* One frame as tshark dissects it. */
struct frame {
	double t;     /* frame.time_epoch */
	unsigned flags; /* tcp.flags */
	int csum;     /* tcp.checksum.status: 0 bad, 1 good, 2 unverified */
	long len, cap;
};

/* The trace's flag names, as TCP header bits (RFC 9293 3.1). */
static unsigned flag_bits(const char *names)
{
	static const struct {
		const char *name;
		unsigned bit;
	} f[] = {{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08},
		 {"ACK", 0x10}, {"URG", 0x20}, {"ECE", 0x40}, {"CWR", 0x80}};
	unsigned bits = 0;

	for (const char *w = names; *w;) {
		size_t n = strcspn(w, ",");

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (strlen(f[i].name) == n && !strncmp(w, f[i].name, n))
				bits |= f[i].bit;
		w += n + (w[n] == ',');
	}
	return bits;
}

static void need_tool(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s > /dev/null", tool);
	cr_assert_eq(system(cmd), 0,
		     "%s is not installed (.ci/install-deps installs it)", tool);
}

/* Reads pcap with tshark into fr[1..]; returns the frame count. */
static int tshark_frames(const char *pcap, struct frame *fr, int max)
{
	char cmd[1024], line[512];
	FILE *p;
	int n = 0;

	need_tool("tshark");
	snprintf(cmd, sizeof(cmd),
		 "tshark -r '%s' -o tcp.check_checksum:TRUE -T fields "
		 "-E separator=' ' -e frame.number -e frame.time_epoch "
		 "-e tcp.flags -e tcp.checksum.status -e frame.len "
		 "-e frame.cap_len 2>/dev/null", pcap);
	p = popen(cmd, "r");
	cr_assert(p, "cannot run tshark");
	while (fgets(line, sizeof(line), p)) {
		int num;
		struct frame f = {.csum = -1};

		cr_assert_geq(sscanf(line, "%d %lf %x %d %ld %ld", &num, &f.t,
				     &f.flags, &f.csum, &f.len, &f.cap), 5,
			      "tshark line: %s", line);
		cr_assert_eq(num, n + 1, "tshark's frame %d after %d", num, n);
		cr_assert_lt(num, max, "too many frames");
		fr[++n] = f;
	}
	cr_assert_eq(pclose(p), 0, "tshark -r %s failed", pcap);
	return n;
}

/* The lines tcpdump -r prints for pcap (one per frame), and how many of
 * them contain has. */
static int tcpdump_lines(const char *pcap, const char *has, int *with)
{
	char cmd[1024], line[1024];
	FILE *p;
	int n = 0;

	need_tool("tcpdump");
	snprintf(cmd, sizeof(cmd), "tcpdump -nr '%s' 2>/dev/null", pcap);
	p = popen(cmd, "r");
	cr_assert(p, "cannot run tcpdump");
	*with = 0;
	while (fgets(line, sizeof(line), p)) {
		n++;
		*with += strstr(line, has) != NULL;
	}
	cr_assert_eq(pclose(p), 0, "tcpdump -r %s failed", pcap);
	return n;
}

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * Checks every pkt event of the trace against the frames: each has a
 * frame (1..n, each frame named once), its flags are the frame's, and a
 * segment as sent lies as far from the first one in the file as in the
 * trace.  Returns the frames the trace names.
 */
static int check_trace_frames(json_object *tr, const struct frame *fr, int n)
{
	char seen[MAX_FRAMES] = {0};
	double t0 = -1, f0 = -1;
	int named = 0;

	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		const char *keys[2] = {"frame", "delivered_frame"};
		double gap;

		if (strcmp(js(ev, "ev") ? js(ev, "ev") : "", "pkt"))
			continue;
		cr_assert_gt(ji(ev, "frame"), 0, "a pkt event without a frame: %s",
			     json_object_to_json_string(ev));
		for (int k = 0; k < 2; k++) {
			long long f = ji(ev, keys[k]);

			if (f < 0)
				continue;
			cr_assert(f >= 1 && f <= n, "%s %lld of %d frames", keys[k],
				  f, n);
			cr_assert(!seen[f], "frame %lld named twice", f);
			seen[f] = 1;
			named++;
		}
		/* The frame is the segment as the trace shows it, as sent. */
		cr_assert_eq(fr[ji(ev, "frame")].flags, flag_bits(js(ev, "flags")),
			     "frame %lld has flags 0x%x, the trace says %s",
			     ji(ev, "frame"), fr[ji(ev, "frame")].flags,
			     js(ev, "flags"));
		if (!strcmp(js(ev, "verdict"), "inject"))
			continue;
		if (t0 < 0) {
			t0 = jd(ev, "t");
			f0 = fr[ji(ev, "frame")].t;
		}
		gap = (fr[ji(ev, "frame")].t - f0) - (jd(ev, "t") - t0);
		cr_assert_lt(gap < 0 ? -gap : gap, 1e-3, "frame %lld at +%.6f s, its event at +%.6f s",
			     ji(ev, "frame"), fr[ji(ev, "frame")].t - f0,
			     jd(ev, "t") - t0);
	}
	return named;
}

/* Runs echo_server -n 1 under rules with tcp_client as the driver and
 * --pcap DIR/run.pcap; returns the pcap's path. */
static const char *run_pcap(struct run_result *r, enum as_user u,
			    const char *rules)
{
	static char path[256];
	const char *extra[] = {"--pcap", path, NULL};

	snprintf(path, sizeof(path), "%s", rr_path(r, "run.pcap"));
	rr_faultline(r, u, &(struct fl_args){
		.rules_text = rules, .timeout = "30s", .settle = "3s",
		.extra = extra, .driver = client_cmd(r, 0, "-p 7000 --rtt 2"),
		.words = FL_TARGETS "/echo_server -p 7000 -n 1"});
	return path;
}

/* The client's FIN lost twice: the file holds both dropped copies and the
 * third that got through, every frame the trace names and no other. */
BOTH(lost_fin)
{
	struct run_result r;
	static struct frame fr[MAX_FRAMES];
	double before = now_s(), after;
	const char *pcap;
	json_object *tr;
	int n, lines, fins, drops = 0;

	rr_init(&r);
	pcap = run_pcap(&r, u, "drop from client flags FIN times 2\n");
	after = now_s();
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	n = tshark_frames(pcap, fr, MAX_FRAMES);
	tr = rr_trace(&r);
	cr_assert_eq(check_trace_frames(tr, fr, n), n,
		     "the trace names fewer frames than the file's %d", n);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (!is_pkt(ev, "client", "FIN") || strcmp(js(ev, "verdict"), "drop"))
			continue;
		drops++;
		cr_assert(fr[ji(ev, "frame")].flags & 0x01,
			  "dropped FIN's frame %lld has no FIN", ji(ev, "frame"));
	}
	cr_assert_eq(drops, 2, "%d dropped FINs in the trace", drops);
	/* True times: wall clock, within the run. */
	cr_assert(fr[1].t >= before - 1e-3 && fr[n].t <= after + 1e-3,
		  "frames at %.6f..%.6f, the run from %.6f to %.6f", fr[1].t,
		  fr[n].t, before, after);
	/* tcpdump: a line per frame; the client's FIN three times (to the
	 * server's port 7000), the server's once. */
	lines = tcpdump_lines(pcap, "7000: Flags [F.]", &fins);
	cr_assert_eq(lines, n, "tcpdump read %d frames, tshark %d", lines, n);
	cr_assert_eq(fins, 3, "tcpdump shows the client's FIN %d times", fins);
	json_object_put(tr);
	rr_free(&r);
}

/* A FIN rewritten to RST: frame as sent (FIN) and as delivered (RST) both
 * in the file, the delivered one with a TCP checksum tshark finds good;
 * no frame faultline changed or made has a bad one. */
BOTH(rewrite_rst)
{
	struct run_result r;
	static struct frame fr[MAX_FRAMES];
	const char *pcap;
	json_object *tr;
	int n, rewrites = 0;

	rr_init(&r);
	pcap = run_pcap(&r, u, "rewrite flags=RST,ACK from client flags FIN\n");
	cr_assert(r.status == 0 || r.status == 1, "faultline exit %d\n%s%s",
		  r.status, r.out, r.err);
	n = tshark_frames(pcap, fr, MAX_FRAMES);
	tr = rr_trace(&r);
	cr_assert_eq(check_trace_frames(tr, fr, n), n,
		     "the trace names fewer frames than the file's %d", n);
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);
		long long d;

		if (!js(ev, "ev") || strcmp(js(ev, "ev"), "pkt"))
			continue;
		d = ji(ev, "delivered_frame");
		if (!strcmp(js(ev, "verdict"), "rewrite")) {
			rewrites++;
			cr_assert_gt(d, 0, "the rewrite names no delivered frame");
			cr_assert_eq(fr[d].flags, 0x14, "delivered frame %lld has "
				     "flags 0x%x, not RST,ACK", d, fr[d].flags);
			cr_assert_eq(fr[d].csum, 1, "delivered frame %lld: TCP "
				     "checksum status %d, not good", d, fr[d].csum);
			cr_assert_eq(fr[d].cap, fr[d].len, "the rewrite's frame is "
				     "cut: %ld of %ld", fr[d].cap, fr[d].len);
		} else {
			cr_assert_lt(d, 0, "a %s with a delivered frame",
				     js(ev, "verdict"));
		}
		if (!strcmp(js(ev, "verdict"), "inject"))
			cr_assert_neq(fr[ji(ev, "frame")].csum, 0,
				      "injected frame %lld: bad TCP checksum",
				      ji(ev, "frame"));
	}
	cr_assert_eq(rewrites, 1, "%d rewrites in the trace", rewrites);
	json_object_put(tr);
	rr_free(&r);
}

/* The verdict's frame, from the trace: the first pkt event with verdict
 * v (NULL when none). */
static json_object *first_verdict(json_object *tr, const char *v)
{
	for (size_t i = 0; i < json_object_array_length(tr); i++) {
		json_object *ev = json_object_array_get_idx(tr, i);

		if (js(ev, "ev") && !strcmp(js(ev, "ev"), "pkt") &&
		    !strcmp(js(ev, "verdict"), v))
			return ev;
	}
	return NULL;
}

/* A segment faultline made: an injected RST in place of a data segment
 * (the segment as sent, whole, since the rule needs its payload; the RST
 * as made, with a good checksum). */
BOTH(injected_rst)
{
	struct run_result r;
	static struct frame fr[MAX_FRAMES];
	const char *pcap;
	json_object *tr, *ev;
	long long f;
	int n;

	rr_init(&r);
	/* The second request: the server has surely accepted the connection
	 * (an RST that beats accept() makes it vanish, test_faults.c). */
	pcap = run_pcap(&r, u, "reset from client data nth 2 times 1\n");
	n = tshark_frames(pcap, fr, MAX_FRAMES);
	tr = rr_trace(&r);
	cr_assert_eq(check_trace_frames(tr, fr, n), n,
		     "the trace names fewer frames than the file's %d", n);
	ev = first_verdict(tr, "drop");
	cr_assert(ev, "no dropped data segment\n%s", r.out);
	f = ji(ev, "frame");
	cr_assert_eq(fr[f].cap, fr[f].len, "the reset's segment is cut: %ld "
		     "of %ld", fr[f].cap, fr[f].len);
	ev = first_verdict(tr, "inject");
	cr_assert(ev, "no injected RST\n%s", r.out);
	f = ji(ev, "frame");
	cr_assert_eq(fr[f].flags, 0x04, "injected frame %lld: flags 0x%x", f,
		     fr[f].flags);
	cr_assert_eq(fr[f].csum, 1, "injected frame %lld: checksum status %d",
		     f, fr[f].csum);
	json_object_put(tr);
	rr_free(&r);
}

/* A truncated segment as sent and as delivered: 15 bytes shorter, with a
 * good checksum. */
BOTH(truncated)
{
	struct run_result r;
	static struct frame fr[MAX_FRAMES];
	const char *pcap;
	json_object *tr, *ev;
	long long f, d;
	int n;

	rr_init(&r);
	{
		static char path[256];
		const char *extra[] = {"--pcap", path, NULL};

		snprintf(path, sizeof(path), "%s", rr_path(&r, "run.pcap"));
		pcap = path;
		rr_faultline(&r, u, &(struct fl_args){
			.rules_text = "truncate 5 from server data times 1\n",
			.timeout = "30s", .settle = "3s", .extra = extra,
			.driver = client_cmd(&r, 0, "-p 7000 --rtt 2 --rtt-size 20"),
			.words = FL_TARGETS "/echo_server -p 7000 -n 1"});
	}
	n = tshark_frames(pcap, fr, MAX_FRAMES);
	tr = rr_trace(&r);
	cr_assert_eq(check_trace_frames(tr, fr, n), n,
		     "the trace names fewer frames than the file's %d", n);
	ev = first_verdict(tr, "truncate");
	cr_assert(ev, "no truncated segment\n%s%s", r.out, r.err);
	f = ji(ev, "frame");
	d = ji(ev, "delivered_frame");
	cr_assert_gt(d, 0, "the truncate names no delivered frame");
	cr_assert_eq(fr[d].len, fr[f].len - 15, "delivered %ld bytes, sent %ld",
		     fr[d].len, fr[f].len);
	cr_assert_eq(fr[d].csum, 1, "truncated frame %lld: checksum status %d",
		     d, fr[d].csum);
	json_object_put(tr);
	rr_free(&r);
}

/* faultline SIGKILLed mid-run (the target serves on): the frames of the
 * connection before it, written a second or more earlier, are in the
 * file, which tshark reads to its end. */
Test(pcap, killed_run_keeps_its_frames, .timeout = 60)
{
	struct run_result r;
	static struct frame fr[MAX_FRAMES];
	char rules[256], pcap[256], trace[256];
	char *argv[] = {FL_BIN, "run", "-r", rules, "--pcap", pcap, "--trace",
			trace,
			"--timeout", "60s", "--settle", "30s", "--driver", NULL,
			"--",
			FL_TARGETS "/echo_server", "-p", "7000", "-n", "0", NULL};
	json_object *tr;
	pid_t pid;
	int n, st, fins = 0;

	rr_init(&r);
	argv[13] = (char *)client_cmd(&r, 0, "-p 7000 --rtt 1"); /* the driver */
	snprintf(rules, sizeof(rules), "%s",
		 rr_write(&r, "test.rules", "drop from client flags FIN times 1\n"));
	snprintf(pcap, sizeof(pcap), "%s", rr_path(&r, "run.pcap"));
	snprintf(trace, sizeof(trace), "%s", rr_path(&r, "trace.jsonl"));
	pid = rr_spawn(&r, AS_ROOT, argv);
	cr_assert_gt(pid, 0);
	/* The connection is over within about a second (the FIN's one
	 * retransmission); the flush comes a second after the frames. */
	sleep(4);
	cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "faultline ended early: %s",
		     rr_read(&r, "stderr"));
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	n = tshark_frames(pcap, fr, MAX_FRAMES);
	for (int i = 1; i <= n; i++)
		fins += (fr[i].flags & 0x01) != 0;
	/* The trace (flushed as often) names them all: the handshake, the
	 * client's FIN dropped and again, the server's FIN, ... */
	tr = rr_trace(&r);
	cr_assert_eq(check_trace_frames(tr, fr, n), n,
		     "the trace names fewer frames than the file's %d", n);
	cr_assert_geq(n, 6, "%d frames in the killed run's file", n);
	cr_assert_geq(fins, 3, "%d FINs in the killed run's file", fins);
	json_object_put(tr);
	rr_free(&r);
}

/* A path that cannot be written: exit 2 at once, naming it, before any
 * run. */
Test(pcap, unwritable, .timeout = 60)
{
	struct run_result r;
	const char *extra[] = {"--pcap", "/nonexistent/dir/run.pcap", NULL};

	rr_init(&r);
	rr_faultline(&r, AS_ROOT, &(struct fl_args){
		.rules_text = "drop from client flags FIN\n", .extra = extra,
		.timeout = "3s", /* a run that happens ends soon */
		.words = FL_TARGETS "/echo_server -p 7000 -n 1"});
	cr_assert_eq(r.status, 2, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "--pcap /nonexistent/dir/run.pcap"),
		  "stderr: %s", r.err);
	cr_assert(!strstr(r.err, "sandbox ready") && !strstr(r.out, "result:"),
		  "a run happened: %s%s", r.out, r.err);
	rr_free(&r);
}
