/*
 * api_helper.c - the helper's side of a libfaultline run (faultline-run,
 * exec'd by api.c): reads the request on API_FD_REQUEST, parses its
 * rules as `faultline run` parses its files (cli.c), and calls the same
 * fl_run() with the JSON report on API_FD_REPORT.  What the CLI would
 * print on stderr goes to the helper's stderr, which api.c keeps for the
 * caller.  Single-threaded (its own process).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "checks.h"
#include "faultline.h"
#include "rules.h"
#include "run.h"
#include "scenario.h"
#include "signals.h"

/* The request, read from its start (the caller wrote it through the
 * same file), NUL-terminated, or NULL. */
static char *read_request(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t r;

		if (len + 1 == cap) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		r = pread(API_FD_REQUEST, buf + len, cap - len - 1, (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			buf[len] = 0;
			return buf;
		}
		len += (size_t)r;
	}
	free(buf);
	return NULL;
}

static const char *req_str(json_object *req, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(req, key, &v) &&
	       json_object_is_type(v, json_type_string)
	       ? json_object_get_string(v) : NULL;
}

static int req_u64(json_object *req, const char *key, uint64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !v)
		return 0;
	*out = json_object_get_uint64(v);
	return 1;
}

/* The rules of the request into rs, then the hygiene set if they have no
 * expect line (as cli.c's cmd_run).  0, or an exit status after the
 * diagnostics on stderr. */
static int load_rules(struct fl_ruleset *rs, json_object *rules,
		      const char ***names, size_t *nnames)
{
	struct fl_diag diag = {0};
	size_t n = rules ? json_object_array_length(rules) : 0;
	int status = 0;

	*names = calloc(n + 1, sizeof(**names));
	if (!*names)
		return EXIT_USAGE;
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rules, i), *name, *text;

		if (!json_object_object_get_ex(r, "name", &name) ||
		    !json_object_object_get_ex(r, "text", &text)) {
			fprintf(stderr, "faultline-run: request: rules[%zu] "
				"without name or text\n", i);
			status = EXIT_USAGE;
			continue;
		}
		(*names)[(*nnames)++] = json_object_get_string(name);
		if (fl_rules_parse(rs, json_object_get_string(name),
				   json_object_get_string(text),
				   (size_t)json_object_get_string_len(text),
				   &diag) < 0)
			status = EXIT_USAGE;
	}
	if (diag.buf)
		fputs(diag.buf, stderr);
	fl_diag_free(&diag);
	if (status == 0 && rs->nexpects == 0) {
		struct fl_diag d = {0};

		fl_rules_parse(rs, "(default checks)", fl_checks_default_set,
			       strlen(fl_checks_default_set), &d);
		fl_diag_free(&d);
	}
	return status;
}

FAULTLINE_API int faultline__helper_main(int argc, char **argv)
{
	struct fl_run_opts o = {0};
	struct fl_ruleset *rs = NULL;
	json_object *req = NULL, *a;
	char *text = NULL, **targv = NULL;
	const char **names = NULL;
	char *owned = NULL;
	uint64_t given;
	char report[32];
	uint64_t v;
	int status = EXIT_USAGE, flags;

	if (fl_signals_catch() < 0) {
		perror("faultline-run: signals");
		return EXIT_ENV;
	}
	text = read_request();
	req = text ? json_tokener_parse(text) : NULL;
	if (!req || !json_object_is_type(req, json_type_object)) {
		fprintf(stderr, "faultline-run: no request on fd %d (this "
			"program is libfaultline's helper: use faultline_run())\n",
			API_FD_REQUEST);
		goto out;
	}
	rs = fl_ruleset_new();
	if (!rs)
		goto out;
	/* No argv: the files' target line (scenario.c), as `faultline run
	 * -r FILE` without '--'. */
	if (json_object_object_get_ex(req, "argv", &a) &&
	    json_object_is_type(a, json_type_array) &&
	    json_object_array_length(a) > 0) {
		targv = calloc(json_object_array_length(a) + 1, sizeof(*targv));
		if (!targv)
			goto out;
		for (size_t i = 0; i < json_object_array_length(a); i++)
			targv[i] = (char *)json_object_get_string(
				json_object_array_get_idx(a, i));
	}
	json_object_object_get_ex(req, "rules", &a);
	status = load_rules(rs, a, &names, &o.nrule_files);
	if (status)
		goto out;

	/* The CLI's defaults (cli.c's parse_run_opts), then the request. */
	o.timeout_ns = 60ull * 1000000000u;
	o.settle_ns = 500ull * 1000000u;
	o.grace_ns = 2ull * 1000000000u;
	o.ready_timeout_ns = 10ull * 1000000000u;
	o.mtu = 1500;
	if (req_u64(req, "timeout_ms", &v))
		o.timeout_ns = v * 1000000u;
	if (req_u64(req, "settle_ms", &v))
		o.settle_ns = v * 1000000u;
	o.have_seed = req_u64(req, "seed", &o.seed);
	req_u64(req, "keep_caps", &o.keep_caps);
	{
		/* The helper is the gate, as cli.c is the CLI's. */
		char why[512];

		if (api_caps_check(o.keep_caps, why, sizeof(why)) < 0 ||
		    api_cmds_check(req_str(req, "driver"), req_str(req, "peer"),
				   why, sizeof(why)) < 0) {
			fprintf(stderr, "faultline-run: %s\n", why);
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (req_u64(req, "ready_port", &v))
		o.ready_port = (uint16_t)v;
	flags = req_u64(req, "flags", &v) ? (int)v : 0;
	o.allow_skip = !!(flags & FAULTLINE_ALLOW_SKIP);
	o.no_preload = !!(flags & FAULTLINE_NO_PRELOAD);
	o.preload_driver = !!(flags & FAULTLINE_PRELOAD_DRIVER);
	o.verbose = !!(flags & FAULTLINE_VERBOSE);
	o.driver = req_str(req, "driver");
	o.peer = req_str(req, "peer");
	o.preload = req_str(req, "preload");
	o.trace = req_str(req, "trace");
	o.junit = req_str(req, "junit");
	o.html = req_str(req, "html");
	o.pcap = req_str(req, "pcap");
	snprintf(report, sizeof(report), "/dev/fd/%d", API_FD_REPORT);
	o.report = report;
	o.rule_files = names;
	o.rs = rs;
	o.argv = targv;
	/* What the request gave wins over the files' set lines, as the
	 * command line does over them. */
	given = (o.have_seed ? FL_SCENARIO_GIVEN(FL_SET_SEED) : 0) |
		(req_u64(req, "timeout_ms", &v) ? FL_SCENARIO_GIVEN(FL_SET_TIMEOUT) : 0) |
		(req_u64(req, "settle_ms", &v) ? FL_SCENARIO_GIVEN(FL_SET_SETTLE) : 0) |
		(o.ready_port ? FL_SCENARIO_GIVEN(FL_SET_READY_PORT) : 0) |
		(o.allow_skip ? FL_SCENARIO_GIVEN(FL_SET_ALLOW_SKIP) : 0);
	switch (fl_scenario_apply(&o, rs, given, &owned)) {
	case 0:
		break;
	case -ENOENT:
		fprintf(stderr, "faultline-run: no program: no argv and no "
			"'target' line in the rules\n");
		status = EXIT_USAGE;
		goto out;
	default:
		fprintf(stderr, "faultline-run: out of memory\n");
		status = EXIT_USAGE;
		goto out;
	}
	status = fl_run(o);
out:
	fl_ruleset_free(rs);
	free(owned);
	free(names);
	free(targv);
	json_object_put(req);
	free(text);
	return status;
}
