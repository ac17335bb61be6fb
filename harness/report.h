/*
 * report.h - the end-of-run reports: the human report on stdout, the JSON
 * report (--report), JUnit XML (--junit) and HTML (--html).  One walk over
 * the run's facts builds one model of the report, and the writers print that
 * model, so they cannot disagree.  The report reads the run's facts only
 * (checks.h's struct fl_run_facts and what struct fl_report adds); it
 * asks no module of the run anything.  Single-threaded.
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "checks.h"
#include "diag.h"
#include "event.h"

struct fl_report {
	char *const *argv;          /* the target's argv, NULL-terminated */
	const char *driver;         /* the driver command, or NULL */
	const char *peer;           /* the peer command (--peer), or NULL */
	/* JUnit's testsuite name (--junit-name, else the first rule file's
	 * base name); NULL: "faultline" */
	const char *junit_name;
	/* flows, states, calls, dead peers, per-rule counts, engine stats,
	 * exits: what the run observed, copied once at its end */
	const struct fl_run_facts *facts;
	const struct fl_check_result *checks;
	size_t nchecks;
	/* What the shim's channel counted (calls.h); have_calls 0: the run
	 * had no channel, and the report has no "shim" section. */
	int have_calls;
	uint64_t calls_by_fn[FL_FN_COUNT]; /* events per enum fl_ev_fn */
	size_t shim_processes;      /* images that loaded the shim */
	uint64_t calls_malformed;   /* datagrams that were not events */
	uint64_t calls_forged;      /* events naming another pid than the kernel's */
	/* sock_diag requests: the run's thread's (owner, readiness, the
	 * final look) and the sampler thread's */
	struct fl_sdiag_stats diag_run, diag_sampler;
	uint64_t seed;
	uint64_t duration_ns;
	const char *backend;        /* iptables backend */
	enum fl_result result;
	int ok;                     /* result == PASS */
};

/* Where the reports go, streams the caller opened (and closes: a write
 * error may show only then); NULL: that one is not written. */
struct fl_report_out {
	FILE *text;        /* the human report */
	FILE *json;        /* --report FILE */
	FILE *junit;       /* --junit FILE */
	FILE *html;        /* --html FILE */
	int color;         /* the text's PASS/FAIL/... in ANSI colour */
	int quiet;         /* the text's result line only (-q) */
	int json_err;      /* set by fl_report_write: 0 or -EIO */
	int junit_err;
	int html_err;
};

/*
 * Builds the report's model from r in one walk and writes each report o
 * asks for from it.  Returns 0, or -ENOMEM when the model could not be
 * built (then nothing is written); a stream that could not be written sets
 * o->json_err, o->junit_err or o->html_err and the others are still
 * written.
 */
int fl_report_write(const struct fl_report *r, struct fl_report_out *o);

#endif
