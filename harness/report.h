/*
 * report.h - the end-of-run reports: the human report on stdout, the JSON
 * report (--report) and JUnit XML (--junit).  One set of facts feeds all
 * three, so they cannot disagree.  Single-threaded.
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "calls.h"
#include "checks.h"
#include "diag.h"
#include "engine.h"
#include "states.h"

struct fl_report {
	char *const *argv;          /* the target's argv, NULL-terminated */
	const char *driver;         /* the driver command, or NULL */
	const struct fl_run_facts *facts;
	const struct fl_check_result *checks;
	size_t nchecks;
	const struct fl_engine *engine; /* NULL if the run never started */
	const struct fl_calls *calls;   /* NULL without the shim channel */
	const struct fl_states *states; /* NULL if not sampled */
	/* sock_diag requests: the run's thread's (owner, readiness, the
	 * final look) and the sampler thread's */
	struct fl_sdiag_stats diag_run, diag_sampler;
	uint64_t seed;
	uint64_t duration_ns;
	const char *backend;        /* iptables backend */
	enum fl_result result;
	int ok;                     /* result == PASS */
};

void fl_report_text(const struct fl_report *r, FILE *f);
/* Returns 0 or -errno. */
int fl_report_json(const struct fl_report *r, const char *path);
int fl_report_junit(const struct fl_report *r, const char *path);

#endif
