/*
 * faultline.h - libfaultline, faultline for test code: check rule text,
 * run a program under faultline and read the run's result as structs.
 *
 * A run never changes the caller's process: faultline_run() forks and
 * execs the library's helper (faultline-run, in LIBDIR/faultline/ next to
 * the preload shim), which does the run exactly as `faultline run` does
 * (unshare(), its signal handlers, the sandbox) and writes the JSON
 * report (the CLI's --report contract); the library parses that report
 * into struct faultline_result.  So the result equals the CLI's JSON for
 * the same run by construction, and faultline.h's fields are named after
 * its keys (README.md, "Outputs").
 *
 * Thread-safety: every function may be called from any thread, and
 * several runs may go on at once (each in its own sandbox); between fork
 * and exec the child does only async-signal-safe work, so a
 * multi-threaded caller is fine.  Criterion's test workers are fine.
 *
 * Errors: functions return 0 or a negative errno and, where they take
 * one, write a one-paragraph message into the caller's err buffer (always
 * NUL-terminated when errlen > 0).  Nothing is printed on stdout or
 * stderr unless struct faultline_opts' flags ask for it.
 *
 * Link with `pkg-config --cflags --libs faultline`, or in CMake with
 * find_package(faultline) and the target faultline::faultline.
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAULTLINE_VERSION_MAJOR 0
#define FAULTLINE_VERSION_MINOR 1
#define FAULTLINE_VERSION_PATCH 0
#define FAULTLINE_VERSION "0.1.0"
/* One number that grows: 0x000100 for 0.1.0. */
#define FAULTLINE_VERSION_NUMBER                                              \
	((FAULTLINE_VERSION_MAJOR << 16) | (FAULTLINE_VERSION_MINOR << 8) |   \
	 FAULTLINE_VERSION_PATCH)

#if defined(__GNUC__)
#define FAULTLINE_API __attribute__((visibility("default")))
#else
#define FAULTLINE_API
#endif

/* The library's version, "0.1.0": FAULTLINE_VERSION of the library that
 * is loaded, which may be newer than the header the caller was built
 * with. */
FAULTLINE_API const char *faultline_version(void);

/*
 * Parses and checks rule text (the rule language, rules/README.md or
 * faultline-rules(5)) as `faultline check` does, under name (the file
 * name in messages; NULL: "rules").  len 0 means strlen(text).
 * Returns 0 when the text is valid (err then holds its warnings, if
 * any, or ""); -EINVAL when it is not, with every diagnostic in err as
 * the CLI prints them: "name:line:col: error: message", the line, a
 * caret; -ENOMEM.  Prints nothing.
 */
FAULTLINE_API int faultline_rules_check(const char *text, size_t len,
					const char *name, char *err,
					size_t errlen);

/* struct faultline_opts.flags */
enum {
	/* Print the human report on the caller's stdout, as the CLI does. */
	FAULTLINE_PRINT_REPORT = 1 << 0,
	/* Let the run's diagnostics through to the caller's stderr (they
	 * are otherwise kept in faultline_result.diagnostics and err). */
	FAULTLINE_PRINT_DIAGNOSTICS = 1 << 1,
	/* --allow-skip: a check that could not be judged does not make the
	 * result INCONCLUSIVE. */
	FAULTLINE_ALLOW_SKIP = 1 << 2,
	/* --no-preload: do not load the shim into the target. */
	FAULTLINE_NO_PRELOAD = 1 << 3,
	/* --preload-driver: load the shim into the driver too. */
	FAULTLINE_PRELOAD_DRIVER = 1 << 4,
	/* -v: the harness's debug lines in the diagnostics. */
	FAULTLINE_VERBOSE = 1 << 5,
};

/* faultline_opts.timeout_ms: the run has no time limit (--timeout 0). */
#define FAULTLINE_NO_TIMEOUT UINT64_MAX

/*
 * What to run, as `faultline run` options.  Zero-initialise it (a field
 * left 0 or NULL takes the CLI's default) and set what you need; the
 * library reads it during faultline_run() only and keeps nothing of it.
 */
struct faultline_opts {
	/* The target (PROGRAM ARG...), NULL-terminated; argv[0] is looked up
	 * in $PATH as execvp() does.  NULL: the rules' `target` line (a
	 * scenario file, rules/README.md), as `faultline run -r FILE`
	 * without '--'; a scenario's driver, peer and set lines apply
	 * where these options give none. */
	const char *const *argv;
	/* Rule text (rules/README.md), or NULL; rules_len 0 = strlen.  Its
	 * name is rules_name (NULL: "rules"): rule-file errors and the
	 * report's rule fields ("rules:3") say it. */
	const char *rules;
	size_t rules_len;
	const char *rules_name;
	/* Rule files (-r FILE...), NULL-terminated, or NULL; read after the
	 * rule text, rules keep their order.  Without any expect line the
	 * hygiene set is judged, as by the CLI. */
	const char *const *rule_files;
	/* --driver: a shell command started once the target listens (the
	 * test client), or NULL. */
	const char *driver;
	/* --peer: a shell command started before the target (the peer of a
	 * client under test) and stopped after it, or NULL.  Not with a
	 * driver (-EINVAL), as for the CLI. */
	const char *peer;
	/* --timeout in milliseconds; 0 = the default (60s),
	 * FAULTLINE_NO_TIMEOUT = none.  A run that times out fails. */
	uint64_t timeout_ms;
	/* --settle in milliseconds; 0 = the default (500ms). */
	uint64_t settle_ms;
	/* --seed: with have_seed, overrides the rules' `set seed`. */
	int have_seed;
	uint64_t seed;
	/* --keep-cap: 1ULL << CAP_x (linux/capability.h) for each
	 * capability the target keeps; 0 (the default) = none.  Off by
	 * default on purpose: a kept capability is the target's inside the
	 * sandbox (README, Security).  Those faultline never keeps
	 * (CAP_SYS_ADMIN, ...) are refused: -EPERM. */
	uint64_t keep_caps;
	/* --ready-port: start the driver once port N listens (0 = any). */
	uint16_t ready_port;
	/* --preload: the shim's path, or NULL (found as the CLI finds it, or
	 * $FAULTLINE_PRELOAD). */
	const char *preload;
	/* Outputs, each NULL or a path: --report (the JSON report, the same
	 * text as faultline_result.report_json), --trace, --junit. */
	const char *report;
	const char *trace;
	const char *junit;
	unsigned flags; /* FAULTLINE_PRINT_REPORT | ... */
	/* --html (the page with each flow's sequence diagram) and --pcap
	 * (the segments as sent and as delivered), each NULL or a path.
	 * These took two of the reserved words: the struct's size is the
	 * same as 0.1.0's on LP64. */
	const char *html;
	const char *pcap;
	/* Zero.  Room for the options a later 0.x adds without changing the
	 * struct's size: a library that finds one of them set does not know
	 * that option and refuses the run (-EINVAL), rather than run without
	 * it. */
	uint64_t reserved[6];
};

enum faultline_verdict {
	FAULTLINE_PASS = 0,         /* every check was judged and held */
	FAULTLINE_FAIL = 1,         /* a check failed */
	FAULTLINE_INCONCLUSIVE = 2, /* one could not be judged */
};

/* How a process ended (the report's "exit"). */
struct faultline_exit {
	int ended;          /* 0: it had not ended (or never started) */
	int code;           /* its exit status, when signal is NULL */
	const char *signal; /* "SIGTERM", or NULL when it exited */
};

/* One check (the report's checks[]). */
struct faultline_check {
	const char *name;   /* the bare name: "no-close-wait", "exit" */
	const char *expect; /* the expectation as written, or NULL for the
			       harness's own checks */
	const char *rule;   /* "file:line" of the expect line, or NULL */
	int ok;             /* held (1 also when it could not be judged) */
	int judged;         /* 0: could not be judged in this run */
	const char *detail; /* the evidence, as the text report says it */
};

/* A state path: TCP state names in order (the kernel's: "ESTABLISHED",
 * "CLOSE_WAIT", ...). */
struct faultline_path {
	const char *const *states;
	size_t n;
	const char *text; /* the same joined by " > ", "" when empty */
};

/* One TCP connection (the report's flows[]). */
struct faultline_flow {
	unsigned id;
	const char *client;      /* "127.0.0.1:40312" */
	const char *server;      /* "127.0.0.1:7000" */
	const char *target_side; /* "client", "server", or NULL: neither
				    side was the target's */
	uint64_t packets;
	uint64_t faults;          /* segments a rule acted on */
	struct faultline_path states;        /* the target's side ("states") */
	struct faultline_path client_states; /* each side's */
	struct faultline_path server_states;
	/* The tail of each side's path that came after faultline began
	 * stopping the target ("states_after_stop"): the stop's doing, not
	 * the program's (a socket left in CLOSE_WAIT is closed by it). */
	struct faultline_path client_after_stop;
	struct faultline_path server_after_stop;
};

/* One rule that acts on segments (the report's faults[]). */
struct faultline_fault {
	const char *rule;   /* "file:line" */
	const char *action; /* "drop", "delay", ... */
	uint64_t count;     /* segments it acted on */
};

/* The shim's events, counted by function (the report's calls). */
struct faultline_calls {
	const char *fn; /* "close", "read", ... */
	uint64_t count;
};

/* A privileged operation of the target (or driver) the kernel refused,
 * as the shim saw it (the report's denied[]). */
struct faultline_denied {
	const char *fn;     /* "setgid", "bind", ... */
	const char *arg;    /* its argument as the report gives it */
	const char *err;    /* "EPERM" */
	const char *cap;    /* the capability it needed, "CAP_SETGID", or NULL */
	int withheld;       /* faultline withheld it: keep_caps would keep it */
	const char *role;   /* "target" or "driver" */
	uint64_t count;     /* how often */
	const char *detail; /* the report's sentence */
};

/*
 * One run's result.  Everything in it, every string and array, belongs
 * to the result and lives until faultline_result_free(); copy what must
 * outlive it.
 */
struct faultline_result {
	enum faultline_verdict result;
	int ok;          /* result == FAULTLINE_PASS */
	int exit_status; /* what `faultline run` exits with: 0 or 1 */
	uint64_t seed;   /* the seed the run used (reproduce with it) */
	struct faultline_exit target;
	int stopped_by_faultline; /* the target ran until faultline stopped it */
	struct faultline_exit driver; /* ended 0 without a driver */
	struct faultline_exit peer;   /* ended 0 without a peer */
	int peer_stopped_by_faultline; /* the peer ran until faultline
					  stopped it (no failure) */
	const struct faultline_check *checks;
	size_t nchecks;
	const struct faultline_flow *flows;
	size_t nflows;
	const struct faultline_fault *faults;
	size_t nfaults;
	const struct faultline_calls *calls;
	size_t ncalls;
	const struct faultline_denied *denied;
	size_t ndenied;
	/* The JSON report as `faultline run --report` writes it, for what
	 * the structs do not carry. */
	const char *report_json;
	/* What the run wrote on stderr (warnings, the harness's lines). */
	const char *diagnostics;
	void *priv_; /* the library's */
};

/*
 * Runs o->argv under faultline with o's rules and options, in the
 * caller's name (as root: the sandbox without a user namespace; else a
 * user namespace, as the CLI).  Blocks until the run is over (at most
 * the timeout plus the stop's grace, about 2s, and the time to judge;
 * 30s past the timeout the helper is stopped: SIGTERM, then SIGKILL).
 * The helper is in the caller's process group, so a terminal's Ctrl-C
 * reaches it and stops the target as the CLI's first SIGINT does: the
 * run ends, fails as interrupted, and is reported.  If the caller dies,
 * the helper gets SIGTERM (PR_SET_PDEATHSIG) and stops the run; nothing
 * of it outlives the caller.  Signals the caller handles are its own:
 * the wait goes on.  SIGCHLD must not be ignored (SIG_IGN).  The target
 * gets /dev/null as stdin; it inherits none of the caller's other
 * descriptors.
 *
 * Returns 0 with *res set (free it with faultline_result_free()) when the
 * run was judged, whatever the verdict: PASS, FAIL or INCONCLUSIVE.
 * Otherwise *res is NULL, err says why, and it returns:
 *   -EINVAL   o is incomplete (no argv nor target line), or the rules are not valid (err holds
 *             every diagnostic, "name:line:col: error: ..."), or
 *             keep_caps names a capability faultline does not know;
 *   -EPERM    keep_caps names one faultline never keeps;
 *   -ENOENT   the target program (or a rule file) does not exist;
 *   -EFBIG    the rule text (or a file) is over 16 MiB, as for the CLI;
 *   -EACCES   it is not executable (or not readable);
 *   -ENOEXEC  faultline could not start the target or write an output
 *             (the CLI's exit 2);
 *   -ENXIO    the environment refused the sandbox (no namespaces, no
 *             NFQUEUE, no iptables, no shim: the CLI's exit 3);
 *   -ENOMEM, or the -errno of a failed fork/exec/memfd;
 *   -EPROTO   the helper ended without a report (crashed or killed).
 */
FAULTLINE_API int faultline_run(const struct faultline_opts *o,
				struct faultline_result **res, char *err,
				size_t errlen);

/* Frees a result and everything in it.  NULL is fine. */
FAULTLINE_API void faultline_result_free(struct faultline_result *r);

/* The first check named name ("no-close-wait"), or NULL. */
FAULTLINE_API const struct faultline_check *
faultline_result_check(const struct faultline_result *r, const char *name);

/* The verdict's name: "PASS", "FAIL", "INCONCLUSIVE". */
FAULTLINE_API const char *faultline_verdict_name(enum faultline_verdict v);

#ifdef __cplusplus
}
#endif

#endif
