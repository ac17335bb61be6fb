/*
 * run.h - between the command line (cli.c) and one run (run.c): the
 * options `faultline run` was given, already parsed and checked, and the
 * entry point that runs the target under them.  Single-threaded.
 */
#ifndef FL_RUN_H
#define FL_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fl_ruleset;

/* faultline's exit status (the CLI contract, DESIGN.md). */
enum { EXIT_OK = 0, EXIT_CHECK = 1, EXIT_USAGE = 2, EXIT_ENV = 3 };

/* --color: the text report's PASS/FAIL/INCONCLUSIVE in colour (AUTO: on
 * a terminal; cli.c has made a NO_COLOR auto NEVER). */
enum fl_color { FL_COLOR_AUTO, FL_COLOR_NEVER, FL_COLOR_ALWAYS };

/* What `faultline run` was asked to do; durations in ns. */
struct fl_run_opts {
	const struct fl_ruleset *rs; /* the parsed rules (the caller's) */
	const char **rule_files;     /* the files they came from, in order */
	size_t nrule_files;
	const char *driver;          /* --driver: a shell command, or NULL */
	const char *peer;            /* --peer: a shell command started before
	                              * the target, stopped after it, or NULL */
	const char *report;          /* --report, --trace, --junit (and --pcap,
	                              * --html): or NULL; "-" is stdout (one
	                              * of them at most) */
	const char *trace;
	const char *junit;
	const char *junit_name;      /* --junit-name, or NULL: the first rule
	                              * file's base name */
	const char *pcap;            /* --pcap: or NULL */
	const char *html;            /* --html: or NULL */
	uint64_t timeout_ns;         /* 0 = never */
	int have_seed;               /* --seed given (overrides 'set seed') */
	uint64_t seed;
	uint64_t settle_ns, grace_ns;
	uint16_t ready_port;         /* 0 = any listener */
	int have_ready_delay;        /* start the driver after ready_delay_ns */
	uint64_t ready_delay_ns, ready_timeout_ns;
	unsigned mtu;
	int have_user;               /* --user */
	uid_t uid;
	gid_t gid;
	int queue_all;
	int verbose;
	int quiet;                   /* -q: the text report's result line only */
	enum fl_color color;
	const char *preload;         /* --preload, or NULL */
	int no_preload, preload_driver;
	int allow_skip;
	uint64_t keep_caps;          /* --keep-cap: 1ULL << CAP_x the target keeps */
	char **argv;                 /* the target's, NULL-terminated */
};

/*
 * Runs o.argv in the sandbox under o.rs, judges and reports; o is the
 * run's own copy.  Writes its diagnostics to stderr and the report to
 * stdout (to stderr when a "-" output or -q's result line has stdout).  Returns the exit status: EXIT_OK when the result is PASS,
 * EXIT_CHECK on FAIL or INCONCLUSIVE, EXIT_USAGE when the target cannot
 * be started or a file cannot be written, EXIT_ENV when the sandbox, the
 * queue or the kernel's interfaces fail.
 */
int fl_run(struct fl_run_opts o);

#endif
