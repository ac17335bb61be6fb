/*
 * test_trace_run.c - the trace of a real run (the faultline binary, the
 * sample targets, a real sandbox): in time order with the shim's call
 * events merged in, and the seed readable exactly from the trace and the
 * text report.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(trace_run, name, 60)

/*
 * lost-fin.rules on echo_server with tcp_client as the driver: segments
 * (two FINs dropped, retransmitted), state changes, and the server's calls
 * from the shim, which reach the harness after the segments that follow
 * them.  The trace's raw t (seconds.microseconds, compared as integers)
 * never goes back from one line to the next; the only exception allowed is
 * a line that says so ("late":true: later than the reorder window on a
 * loaded machine), and then the late-events note counts it.
 */
BOTH(trace_in_time_order)
{
	struct run_result r;
	char *text, *line, *save = NULL;
	unsigned long long prev = 0, lineno = 0;
	int calls = 0, pkts = 0, states = 0, late = 0, notes = 0;

	rr_init(&r);
	rr_faultline(&r, u, &(struct fl_args){
		.rules = {SC("lost-fin.rules")}, .no_report = 1, .timeout = "30s",
		.settle = "5s", .driver = "exec " FL_TARGETS "/tcp_client -p 7000 --rtt 2",
		.words = FL_TARGETS "/echo_server -p 7000 -n 1", .wait_s = 50});
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);

	text = strdup(rr_read(&r, "trace.jsonl")); /* cut into lines below */
	cr_assert_not_null(text);
	cr_assert(strncmp(text, "{\"t\":0.000000,\"ev\":\"run\",", 25) == 0, "%.200s", text);
	/* The documented window (README): late lines are for a stalled
	 * harness, not for every shim call. */
	cr_assert(strstr(text, ",\"window\":0.250000,"), "%.300s", text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, us, v;
		int is_late = strstr(line, ",\"late\":true") != NULL;

		lineno++;
		cr_assert_eq(sscanf(line, "{\"t\":%llu.%6llu", &s, &us), 2, "%s", line);
		v = s * 1000000 + us;
		if (is_late) {
			late++;
		} else {
			cr_assert_geq(v, prev, "trace line %llu goes back in time (%llu us < %llu us): %s",
				      lineno, v, prev, line);
			prev = v;
		}
		calls += strstr(line, "\"ev\":\"call\"") != NULL;
		pkts += strstr(line, "\"ev\":\"pkt\"") != NULL;
		states += strstr(line, "\"ev\":\"state\"") != NULL;
		if (strstr(line, "\"what\":\"late-events\"")) {
			notes++;
			cr_assert_eq(strtoull(strstr(line, "\"detail\":\"") + 10, NULL, 10),
				     (unsigned long long)late, "%s", line);
		}
	}
	cr_assert_gt(calls, 2, "no call events from the shim");
	cr_assert_gt(pkts, 4);
	cr_assert_gt(states, 2);
	cr_assert_eq(notes, late ? 1 : 0, "%d late lines, %d notes", late, notes);
	if (late)
		cr_log_warn("%d late lines in the trace (a loaded machine?)", late);
	free(text);
	rr_free(&r);
}

/* Runs faultline run [--seed SEED] --trace --report -- /bin/true as root;
 * returns the run line of the trace (caller puts). */
static json_object *seed_run(struct run_result *r, const char *seed)
{
	json_object *tr, *run;

	/* /bin/true makes no connection: not judged, so allowed here. */
	rr_faultline(r, AS_ROOT, &(struct fl_args){.seed = seed, .opts = "--allow-skip",
						   .words = "/bin/true", .wait_s = 30});
	cr_assert_eq(r->status, 0, "faultline exit %d\n%s%s", r->status, r->out, r->err);
	tr = rr_trace(r);
	cr_assert_not_null(tr);
	cr_assert_gt(json_object_array_length(tr), 0);
	run = json_object_get(json_object_array_get_idx(tr, 0));
	json_object_put(tr);
	cr_assert_str_eq(js(run, "ev"), "run");
	return run;
}

/* The seed in the text report's "faultline report (seed N, ...)". */
static uint64_t text_report_seed(const struct run_result *r)
{
	const char *p = strstr(r->out, "faultline report (seed ");

	cr_assert_not_null(p, "%s", r->out);
	return strtoull(p + 23, NULL, 10);
}

/* Without --seed the harness draws one below 2^53, so a reader holding
 * JSON numbers as doubles (jq, JavaScript) gets it exactly. */
Test(trace_run, random_seed_below_2_53, .timeout = 60)
{
	struct run_result r;
	json_object *run;
	uint64_t seed;
	char want[32];

	rr_init(&r);
	run = seed_run(&r, NULL);
	seed = json_object_get_uint64(json_object_object_get(run, "seed"));
	cr_assert_lt(seed, UINT64_C(1) << 53, "seed %" PRIu64, seed);
	snprintf(want, sizeof(want), "%" PRIu64, seed);
	cr_assert_str_eq(js(run, "seed_text"), want);
	cr_assert_eq(text_report_seed(&r), seed, "%s", r.out);
	/* The number itself survives a trip through a double. */
	cr_assert_eq((uint64_t)json_object_get_double(json_object_object_get(run, "seed")),
		     seed);
	json_object_put(run);
	rr_free(&r);
}

/* A seed the user gives may be anything up to 2^64-1: the seed_text key
 * carries it exactly, and the number key stays. */
Test(trace_run, user_seed_round_trips, .timeout = 60)
{
	struct run_result r;
	json_object *run;

	rr_init(&r);
	run = seed_run(&r, "18446744073709551615");
	cr_assert_str_eq(js(run, "seed_text"), "18446744073709551615");
	cr_assert_eq(strtoull(js(run, "seed_text"), NULL, 10), UINT64_MAX);
	cr_assert_eq(json_object_get_uint64(json_object_object_get(run, "seed")), UINT64_MAX);
	cr_assert_eq(text_report_seed(&r), UINT64_MAX, "%s", r.out);
	json_object_put(run);
	/* And the JSON report. */
	run = rr_report(&r);
	cr_assert_str_eq(js(run, "seed_text"), "18446744073709551615");
	json_object_put(run);
	rr_free(&r);
}

/* Bytes that are not UTF-8 in the target's argv and the driver command
 * (issue 12): the report and the trace still parse as JSON (python3's
 * json module, which decodes the file as UTF-8 first), and the escape
 * gives the exact bytes back (utf8.h: \udcXX, surrogateescape). */
Test(trace_run, non_utf8_argv_is_valid_json, .timeout = 60)
{
	static const char *const argv[] = {"/bin/sh", "-c", "sleep 1", "x\xff" "y",
					   "\xc3\xa9\xc3", NULL};
	static const char check[] =
		"import json, sys\n"
		"rep = json.load(open(sys.argv[1], encoding='utf-8'))\n"
		"tr = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]\n"
		"b = lambda s: s.encode('utf-8', 'surrogateescape')\n"
		"assert [b(a) for a in rep['target']['argv'][3:]] == [b'x\\xffy', b'\\xc3\\xa9\\xc3'], rep['target']\n"
		"assert b(rep['driver']['cmd']) == b'true \\xfe', rep['driver']\n"
		"run = [e for e in tr if e['ev'] == 'run'][0]\n"
		"assert [b(a) for a in run['argv']].count(b'x\\xffy') == 1, run['argv']\n"
		"print('ok', len(tr))\n";
	struct run_result r, py;

	rr_init(&r);
	rr_faultline(&r, AS_ROOT, &(struct fl_args){
		.opts = "--allow-skip --ready-delay 10ms",
		.driver = "true \xfe", .argv = argv, .wait_s = 30});
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rr_init(&py);
	rr_run(&py, AS_ROOT, (char *const[]){"python3", "-c", (char *)check,
		(char *)rr_path(&r, "report.json"), (char *)rr_path(&r, "trace.jsonl"),
		NULL}, 30);
	cr_assert_eq(py.status, 0, "python3: %s%s", py.out, py.err);
	cr_assert(strncmp(py.out, "ok ", 3) == 0, "%s", py.out);
	rr_free(&py);
	rr_free(&r);
}
