/*
 * test_cover.c - whether a flow's socket calls were observed
 * (harness/cover.c), through the real binary, as root and as an
 * unprivileged user: each flow's "calls_observed" in the JSON report.
 *
 * Each target is `sh -c 'echo $$ > DIR/pid; exec PROGRAM'`, so the shell
 * (which loads the shim and says hello) states the pid that then owns the
 * server's socket; the report must name that pid.  The shell's hello makes
 * "shim.loaded" true in every one of these runs: that is what a single
 * run-wide flag got wrong.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define BOTH(name) FX_BOTH(cover, name, 40)

/*
 * faultline run -r (expect no-fd-leak) --report --driver DRIVER -- sh -c
 * 'echo $$ > DIR/pid; exec PROGRAM'.  client: the target is the client
 * (the driver starts at once; the target waits for the driver's listener).
 */
static void run_cover(struct run_result *r, enum as_user u, const char *program,
		      const char *driver, int client)
{
	char target[1024];

	snprintf(target, sizeof(target), "%secho $$ > {dir}/pid; exec %s",
		 client ? WAIT_7000 : "", program);
	rr_faultline(r, u, &(struct fl_args){
		.rules_text = "expect no-fd-leak\n", .no_trace = 1, .timeout = "20s",
		.settle = "2s", .opts = client ? "--ready-delay 1ms" : NULL,
		.driver = driver, .sh = target, .wait_s = 35});
}

/* The one flow of the run (the target side must be side), its
 * calls_observed (owned by rep). */
static json_object *only_flow_cover(json_object *rep, const struct run_result *r,
				    const char *side)
{
	json_object *flows = json_object_object_get(rep, "flows");
	json_object *f, *c;

	cr_assert_not_null(flows, "no flows in the report\n%s%s", r->out, r->err);
	cr_assert_eq(json_object_array_length(flows), 1, "%zu flows\n%s%s",
		     json_object_array_length(flows), r->out, r->err);
	f = json_object_array_get_idx(flows, 0);
	cr_assert_str_eq(js(f, "target_side"), side);
	c = json_object_object_get(f, "calls_observed");
	cr_assert_not_null(c, "no calls_observed in flow 1\n%s", r->out);
	return c;
}

/* Asserts status and that pid is the one the shell wrote. */
static void assert_cover(const struct run_result *r, json_object *c,
			 const char *status)
{
	long pid = strtol(rr_read(r, "pid"), NULL, 10);

	cr_assert_gt(pid, 0, "the target wrote no pid");
	cr_assert_str_eq(js(c, "status"), status, "calls_observed %s, want %s: %s",
			 js(c, "status"), status, js(c, "detail"));
	cr_assert_eq(ji(c, "pid"), pid, "owner pid %lld, the target's %ld: %s",
		     ji(c, "pid"), pid, js(c, "detail"));
}

/* The calls of the flow were not observed: the checks that read them
 * are not judged (with the reason), and the run is INCONCLUSIVE, exit 1,
 * never PASS on "0 connection sockets opened". */
static void assert_not_judged(const struct run_result *r, json_object *rep)
{
	json_object *checks = json_object_object_get(rep, "checks");
	int seen = 0;

	cr_assert_eq(r->status, 1, "faultline exit %d\n%s", r->status, r->out);
	cr_assert_str_eq(js(rep, "result"), "INCONCLUSIVE", "%s", r->out);
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		const char *n = js(c, "name");

		if (strcmp(n, "no-fd-leak"))
			continue;
		seen++;
		cr_assert(!json_object_get_boolean(json_object_object_get(c, "judged")),
			  "%s judged: %s", n, js(c, "detail"));
		cr_assert(strstr(js(c, "detail"), "not judged: flow 1: pid "), "%s: %s", n,
			  js(c, "detail"));
	}
	cr_assert_eq(seen, 1, "no-fd-leak ran");
}

static int shim_loaded(json_object *rep)
{
	return json_object_get_boolean(json_object_object_get(
		json_object_object_get(rep, "shim"), "loaded"));
}

/* A shimmed echo server: its calls are observed. */
BOTH(shimmed_server_yes)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, FL_TARGETS "/echo_server -p 7000 -n 1 > /dev/null",
		  FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null", 0);
	cr_assert_eq(r.status, 0, "faultline exit %d\n%s%s", r.status, r.out, r.err);
	rep = rr_report(&r);
	cr_assert_not_null(rep);
	c = only_flow_cover(rep, &r, "server");
	assert_cover(&r, c, "yes");
	cr_assert(json_object_is_type(json_object_object_get(c, "lost_at"),
				      json_type_null));
	cr_assert(strstr(js(c, "detail"), "(echo_server) reported its calls"),
		  "%s", js(c, "detail"));
	json_object_put(rep);
	rr_free(&r);
}

/* env -i: the shell and env said hello, the server (same pid, after
 * env's exec) has no shim. */
BOTH(env_cleared_server_no_shim)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, "env -i " FL_TARGETS "/cover_server -p 7000",
		  FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null", 0);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(shim_loaded(rep));
	c = only_flow_cover(rep, &r, "server");
	assert_cover(&r, c, "no-shim");
	assert_not_judged(&r, rep);
	cr_assert(strstr(js(c, "detail"), "never loaded the shim"), "%s",
		  js(c, "detail"));
	cr_assert(strstr(js(c, "detail"), "exec'd cover_server"), "%s",
		  js(c, "detail"));
	json_object_put(rep);
	rr_free(&r);
}

/* env -u LD_PRELOAD: FAULTLINE_SOCK stays, the shim does not. */
BOTH(env_unset_preload_server_no_shim)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, "env -u LD_PRELOAD " FL_TARGETS "/cover_server -p 7000",
		  FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null", 0);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(shim_loaded(rep));
	c = only_flow_cover(rep, &r, "server");
	assert_cover(&r, c, "no-shim");
	assert_not_judged(&r, rep);
	json_object_put(rep);
	rr_free(&r);
}

/* sh -c exec'ing a static server: the shell's hello is all there is. */
BOTH(static_server_no_shim)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, FL_TARGETS "/static_echo_server -p 7000",
		  FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null", 0);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	cr_assert(shim_loaded(rep));
	c = only_flow_cover(rep, &r, "server");
	assert_cover(&r, c, "no-shim");
	assert_not_judged(&r, rep);
	cr_assert(strstr(js(c, "detail"), "(static_echo_ser"), "%s", js(c, "detail"));
	json_object_put(rep);
	rr_free(&r);
}

/* A dynamic server that closes the shim's channel with a raw close_range
 * before it listens: it said hello, its calls after that are unknown. */
BOTH(raw_close_range_server_lost)
{
	struct run_result r;
	json_object *rep, *c, *flow;

	rr_init(&r);
	run_cover(&r, u, FL_TARGETS "/cover_server -p 7000 --raw-close-range",
		  FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null", 0);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	c = only_flow_cover(rep, &r, "server");
	assert_cover(&r, c, "lost");
	assert_not_judged(&r, rep);
	/* Last seen open no later than the flow's first segment (the close
	 * came before the listen). */
	flow = json_object_array_get_idx(json_object_object_get(rep, "flows"), 0);
	cr_assert(json_object_is_type(json_object_object_get(c, "lost_at"),
				      json_type_double));
	cr_assert_leq(jd(c, "lost_at"), jd(flow, "first"), "%s", js(c, "detail"));
	cr_assert(strstr(js(c, "detail"), "lost the shim's channel"), "%s",
		  js(c, "detail"));
	json_object_put(rep);
	rr_free(&r);
}

/* The same through libc's close_range(): the shim re-creates its channel
 * and names the new one (a REOPEN hello), so nothing is lost. */
BOTH(libc_close_range_server_yes)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, FL_TARGETS "/cover_server -p 7000 --close-range",
		  FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null", 0);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	c = only_flow_cover(rep, &r, "server");
	assert_cover(&r, c, "yes");
	json_object_put(rep);
	rr_free(&r);
}

/* The target as client: its socket's owner comes from the SYN_SENT
 * lookup (and the connect event). */
BOTH(shimmed_client_yes)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null",
		  FL_TARGETS "/echo_server -p 7000 -n 1 > /dev/null", 1);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	c = only_flow_cover(rep, &r, "client");
	assert_cover(&r, c, "yes");
	json_object_put(rep);
	rr_free(&r);
}

BOTH(env_cleared_client_no_shim)
{
	struct run_result r;
	json_object *rep, *c;

	rr_init(&r);
	run_cover(&r, u, "env -i " FL_TARGETS "/tcp_client -p 7000 --send 1000 > /dev/null",
		  FL_TARGETS "/echo_server -p 7000 -n 1 > /dev/null", 1);
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: exit %d\n%s%s", r.status, r.out, r.err);
	c = only_flow_cover(rep, &r, "client");
	assert_cover(&r, c, "no-shim");
	assert_not_judged(&r, rep);
	json_object_put(rep);
	rr_free(&r);
}
