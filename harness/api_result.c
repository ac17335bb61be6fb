/*
 * api_result.c - struct faultline_result from the JSON report (the CLI's
 * --report contract, written by report.c): one parse with json-c, every
 * string of the result pointing into the parsed tree, which the result
 * keeps until faultline_result_free().  Only the keys the structs name
 * are read; a key the report lacks leaves its field 0 or NULL.  No state;
 * thread-safe.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "faultline.h"

/* What the result owns besides its arrays: the tree its strings are in,
 * the report's and the diagnostics' text, the flows' paths. */
struct priv {
	json_object *root;
	char *report;
	char *diag;
	struct faultline_check *checks;
	struct faultline_flow *flows;
	struct faultline_fault *faults;
	struct faultline_calls *calls;
	struct faultline_denied *denied;
};

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The string at key, or NULL (also for JSON null). */
static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && !json_object_is_type(v, json_type_null)
	       ? json_object_get_string(v) : NULL;
}

static uint64_t get_u64(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v ? json_object_get_uint64(v) : 0;
}

static size_t arr_len(json_object *a)
{
	return a && json_object_is_type(a, json_type_array)
	       ? json_object_array_length(a) : 0;
}

static void exit_from(json_object *x, struct faultline_exit *e)
{
	if (!x || !json_object_is_type(x, json_type_object))
		return;
	e->ended = 1;
	e->signal = get_str(x, "signal");
	e->code = e->signal ? -1 : json_object_get_int(get(x, "code"));
}

/* A state path from an array of names; its text is malloc'd (freed with
 * the flow).  0 or -ENOMEM. */
static int path_from(json_object *a, struct faultline_path *p)
{
	size_t n = arr_len(a), len = 1;
	const char **st = calloc(n + 1, sizeof(*st));
	char *text;

	if (!st)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		st[i] = json_object_get_string(json_object_array_get_idx(a, i));
		len += strlen(st[i]) + 3;
	}
	text = malloc(len);
	if (!text) {
		free(st);
		return -ENOMEM;
	}
	text[0] = 0;
	for (size_t i = 0, off = 0; i < n; i++)
		off += (size_t)snprintf(text + off, len - off, "%s%s",
					i ? " > " : "", st[i]);
	p->states = st;
	p->n = n;
	p->text = text;
	return 0;
}

static void path_free(struct faultline_path *p)
{
	free((void *)p->states);
	free((void *)p->text);
}

FAULTLINE_API void faultline_result_free(struct faultline_result *r)
{
	struct priv *pv;

	if (!r)
		return;
	pv = r->priv_;
	if (pv) {
		for (size_t i = 0; pv->flows && i < r->nflows; i++) {
			path_free(&pv->flows[i].states);
			path_free(&pv->flows[i].client_states);
			path_free(&pv->flows[i].server_states);
			path_free(&pv->flows[i].client_after_stop);
			path_free(&pv->flows[i].server_after_stop);
		}
		free(pv->checks);
		free(pv->flows);
		free(pv->faults);
		free(pv->calls);
		free(pv->denied);
		free(pv->report);
		free(pv->diag);
		json_object_put(pv->root);
		free(pv);
	}
	free(r);
}

static int parse_flows(json_object *a, struct faultline_result *r,
		       struct priv *pv)
{
	size_t n = arr_len(a);

	pv->flows = calloc(n ? n : 1, sizeof(*pv->flows));
	if (!pv->flows)
		return -ENOMEM;
	r->flows = pv->flows;
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(a, i);
		struct faultline_flow *fl = &pv->flows[i];

		r->nflows = i + 1; /* freed from here on */
		fl->id = (unsigned)get_u64(f, "id");
		fl->client = get_str(f, "client");
		fl->server = get_str(f, "server");
		fl->target_side = get_str(f, "target_side");
		fl->packets = get_u64(f, "packets");
		fl->faults = get_u64(f, "faults");
		if (path_from(get(f, "states"), &fl->states) < 0 ||
		    path_from(get(f, "client_states"), &fl->client_states) < 0 ||
		    path_from(get(f, "server_states"), &fl->server_states) < 0 ||
		    path_from(get(get(f, "states_after_stop"), "client"),
			      &fl->client_after_stop) < 0 ||
		    path_from(get(get(f, "states_after_stop"), "server"),
			      &fl->server_after_stop) < 0)
			return -ENOMEM;
	}
	return 0;
}

int api_result_parse(const char *json, size_t len, const char *diag,
		     int exit_status, struct faultline_result **res,
		     char *err, size_t errlen)
{
	struct faultline_result *r = calloc(1, sizeof(*r));
	struct priv *pv = calloc(1, sizeof(*pv));
	json_tokener *tok = json_tokener_new();
	json_object *root = NULL, *a;
	const char *result;
	size_t n;
	int ret = -ENOMEM;

	*res = NULL;
	if (!r || !pv || !tok)
		goto fail;
	r->priv_ = pv;
	pv->report = strndup(json, len);
	pv->diag = strdup(diag ? diag : "");
	if (!pv->report || !pv->diag)
		goto fail;
	r->report_json = pv->report;
	r->diagnostics = pv->diag;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || !json_object_is_type(root, json_type_object)) {
		ret = -EPROTO;
		snprintf(err, errlen, "the run's JSON report does not parse: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(root);
		goto fail;
	}
	pv->root = root;

	result = get_str(root, "result");
	if (!result) {
		ret = -EPROTO;
		snprintf(err, errlen, "the run's JSON report has no result");
		goto fail;
	}
	r->result = !strcmp(result, "PASS") ? FAULTLINE_PASS
		    : !strcmp(result, "FAIL") ? FAULTLINE_FAIL
		    : FAULTLINE_INCONCLUSIVE;
	r->ok = json_object_get_boolean(get(root, "ok"));
	r->exit_status = exit_status;
	r->seed = get_u64(root, "seed");
	exit_from(get(get(root, "target"), "exit"), &r->target);
	r->stopped_by_faultline = json_object_get_boolean(
		get(get(root, "target"), "stopped_by_faultline"));
	exit_from(get(get(root, "driver"), "exit"), &r->driver);
	exit_from(get(get(root, "peer"), "exit"), &r->peer);
	r->peer_stopped_by_faultline = json_object_get_boolean(
		get(get(root, "peer"), "stopped_by_faultline"));

	a = get(root, "checks");
	n = arr_len(a);
	if (!(pv->checks = calloc(n ? n : 1, sizeof(*pv->checks))))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(a, i);
		json_object *judged = get(c, "judged");

		pv->checks[i] = (struct faultline_check){
			.name = get_str(c, "name"),
			.expect = get_str(c, "expect"),
			.rule = get_str(c, "rule"),
			.ok = json_object_get_boolean(get(c, "ok")),
			.judged = judged ? json_object_get_boolean(judged) : 1,
			.detail = get_str(c, "detail"),
		};
	}
	r->checks = pv->checks;
	r->nchecks = n;

	if (parse_flows(get(root, "flows"), r, pv) < 0)
		goto fail;

	a = get(root, "faults");
	n = arr_len(a);
	if (!(pv->faults = calloc(n ? n : 1, sizeof(*pv->faults))))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(a, i);

		pv->faults[i] = (struct faultline_fault){
			.rule = get_str(f, "rule"),
			.action = get_str(f, "action"),
			.count = get_u64(f, "count"),
		};
	}
	r->faults = pv->faults;
	r->nfaults = n;

	a = get(root, "calls");
	n = a && json_object_is_type(a, json_type_object)
	    ? (size_t)json_object_object_length(a) : 0;
	if (!(pv->calls = calloc(n ? n : 1, sizeof(*pv->calls))))
		goto fail;
	n = 0;
	if (a && json_object_is_type(a, json_type_object)) {
		json_object_object_foreach(a, fn, count) {
			pv->calls[n].fn = fn;
			pv->calls[n].count = json_object_get_uint64(count);
			n++;
		}
	}
	r->calls = pv->calls;
	r->ncalls = n;

	a = get(root, "denied");
	n = arr_len(a);
	if (!(pv->denied = calloc(n ? n : 1, sizeof(*pv->denied))))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(a, i);

		pv->denied[i] = (struct faultline_denied){
			.fn = get_str(d, "fn"),
			.arg = get_str(d, "arg"),
			.err = get_str(d, "errno"),
			.cap = get_str(d, "cap"),
			.withheld = json_object_get_boolean(get(d, "withheld")),
			.role = get_str(d, "role"),
			.count = get_u64(d, "count"),
			.detail = get_str(d, "detail"),
		};
	}
	r->denied = pv->denied;
	r->ndenied = n;

	json_tokener_free(tok);
	*res = r;
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	json_tokener_free(tok);
	if (r)
		faultline_result_free(r);
	else
		free(pv);
	return ret;
}
