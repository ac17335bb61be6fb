/*
 * test_echo_server.c - Criterion tests of echo_server through faultline's
 * C API: the client's FIN is dropped twice on its way (it arrives with
 * the third retransmission), and the server must still close promptly
 * once it reads EOF.  Each test runs the server under faultline with
 * echo_client as the driver and asserts on a check's verdict, with the
 * check's evidence in the failure message, and on the server's TCP state
 * path.  Criterion runs each test in its own process; faultline_run()
 * runs faultline in a child of that, so the tests may run in parallel
 * (-j): every run has a network of its own.
 *
 * EXAMPLE_BIN is the directory of echo_server and echo_client (the build
 * sets it).
 */
#include <criterion/criterion.h>
#include <faultline.h>
#include <stdio.h>
#include <string.h>

#define SERVER EXAMPLE_BIN "/echo_server"
#define CLIENT EXAMPLE_BIN "/echo_client -p 7000"

/* The scenario: drop the client's FIN twice; the server must not sit in
 * CLOSE_WAIT for more than 500ms, and must close within 200ms of EOF. */
static const char rules[] =
	"drop from client flags FIN times 2\n"
	"expect no-close-wait 500ms\n"
	"expect eof-close 200ms\n";

/* Runs SERVER with extra (or NULL) under the rules; fails the test when
 * faultline could not run it.  The caller frees the result. */
static struct faultline_result *run_server(const char *extra)
{
	const char *argv[] = {SERVER, "-p", "7000", extra, NULL};
	struct faultline_opts o = {
		.argv = argv,
		.rules = rules,
		.rules_name = "lost-fin.rules",
		.driver = CLIENT,
		.have_seed = 1,
		.seed = 1,
		.timeout_ms = 30000,
	};
	struct faultline_result *r = NULL;
	char err[4096];
	int ret = faultline_run(&o, &r, err, sizeof(err));

	cr_assert_eq(ret, 0, "faultline_run: %s (%d)\n%s", strerror(-ret), ret, err);
	return r;
}

/* The one connection, with the server as faultline's target. */
static const struct faultline_flow *only_flow(const struct faultline_result *r)
{
	cr_assert_eq(r->nflows, 1, "flows: %zu", r->nflows);
	cr_assert_str_eq(r->flows[0].target_side, "server");
	return &r->flows[0];
}

Test(echo_server, closes_after_lost_fin, .timeout = 60)
{
	struct faultline_result *r = run_server(NULL);
	const struct faultline_check *cw = faultline_result_check(r, "no-close-wait");
	const struct faultline_check *eof = faultline_result_check(r, "eof-close");
	const struct faultline_flow *f = only_flow(r);

	cr_assert(cw && cw->judged, "no-close-wait was not judged");
	cr_assert(cw->ok, "no-close-wait: %s", cw->detail);
	cr_assert(eof && eof->ok, "eof-close: %s", eof ? eof->detail : "missing");
	/* The FIN was dropped twice, then the server closed: its side went
	 * through CLOSE_WAIT to LAST_ACK (RFC 9293 3.6, passive close). */
	cr_assert_eq(r->nfaults, 1);
	cr_assert_eq(r->faults[0].count, 2, "FINs dropped: %llu",
		     (unsigned long long)r->faults[0].count);
	cr_assert_str_eq(f->states.text,
			 "SYN_RECV > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSE",
			 "server's path: %s", f->states.text);
	cr_assert_eq(r->result, FAULTLINE_PASS, "%s", faultline_verdict_name(r->result));
	faultline_result_free(r);
}

/* The bug: --no-close keeps the socket after EOF.  faultline sees the
 * connection stay in CLOSE_WAIT, and says so. */
Test(echo_server, no_close_is_caught, .timeout = 60)
{
	struct faultline_result *r = run_server("--no-close");
	const struct faultline_check *cw = faultline_result_check(r, "no-close-wait");
	const struct faultline_flow *f = only_flow(r);

	cr_assert(cw && cw->judged, "no-close-wait was not judged");
	cr_assert_not(cw->ok, "no-close-wait held: %s", cw->detail);
	cr_assert(strstr(f->states.text, "ESTABLISHED > CLOSE_WAIT"),
		  "server's path: %s", f->states.text);
	/* It left CLOSE_WAIT only when faultline stopped it (SIGTERM: the
	 * kernel closed the socket), not by a close() of its own. */
	cr_assert(r->stopped_by_faultline);
	cr_assert_str_eq(f->server_after_stop.text, "LAST_ACK > CLOSE",
			 "server's path after the stop: %s",
			 f->server_after_stop.text);
	cr_assert_eq(r->result, FAULTLINE_FAIL);
	faultline_result_free(r);
}
