/*
 * checks.h - the judgement: each `expect` line of the rules, plus the
 * harness's own checks (driver and peer status, timeout, unrequested
 * queue drops),
 * evaluated once at the end of a run from what the run observed (struct
 * fl_run_facts).  checks.c dispatches each expect line to its judge
 * (rules/checks.def names them); the judges live by what they read:
 * checks_run.c (processes, the run), checks_calls.c (the program's socket
 * calls), checks_wire.c (segments and TCP states).  Single-threaded.
 */
#ifndef FL_CHECKS_H
#define FL_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "calls.h"
#include "cover.h"
#include "flow.h"
#include "peer_gone.h"
#include "engine.h"
#include "states.h"
#include "rules.h"
#include "timeline.h"

/* How a process ended. */
struct fl_exit {
	int started;  /* it was run */
	int ended;    /* waitpid() saw it end */
	int code;     /* exit code, when !sig */
	int sig;      /* killed by this signal, or 0 */
	int pid;       /* as the host sees it */
	int ns_pid;    /* as the sandbox and the shim see it */
	uint64_t t_ns; /* when it ended, relative to the run's start */
};

/* Why a --peer run never started its target (facts.peer_unready). */
enum fl_peer_unready {
	FL_PEER_READY,           /* it listened (or --ready-delay passed) */
	FL_PEER_NEVER_LISTENED,  /* not within --ready-timeout */
	FL_PEER_ENDED,           /* it ended before it listened */
};

/* Everything the checks judge. */
struct fl_run_facts {
	const struct fl_ruleset *rs;
	struct fl_exit target, driver, peer;
	int have_driver;
	int have_peer;        /* --peer: started first, the target once it
				 listened, stopped after the target ended */
	enum fl_peer_unready peer_unready;
	uint64_t ready_timeout_ns; /* --ready-timeout, for the peer check */
	uint64_t peer_stop_ns; /* when faultline began stopping the peer (its
				  SIGTERM), 0 = never: its end from then on
				  is the stop's doing, not a failure */
	int timed_out;        /* --timeout hit */
	int interrupted;      /* faultline got SIGINT/SIGTERM */
	int killed_by_harness; /* the target was ended by faultline's SIGTERM/SIGKILL */
	uint64_t stop_ns;      /* when faultline began stopping the target
				  (its SIGTERM), 0 = it never did: what
				  happens from then on is the stop's doing */
	const int *alive_at_stop; /* sandbox pids alive at stop_ns */
	size_t nalive;
	uint64_t settle_ns;    /* how long the target ran on after the driver
				  ended, waiting for windows to decide */
	char settle_why[160];  /* the first reason it waited longer than
				  --settle, "" if it did not */
	int settle_cut;        /* --timeout ended that wait */
	struct fl_engine_stats eng;
	const uint64_t *acted;    /* per rule (rs->nrules): segments it acted
				     on; NULL: none known */
	uint64_t timeout_ns;
	uint64_t end_ns;          /* when the run ended */
	/* socket calls from the shim */
	const struct fl_call *calls;
	size_t ncalls;
	int calls_linked;         /* their next_fd/prev_fd links are whole */
	int shim_loaded;          /* some target process said hello */
	int shim_wanted;          /* the shim was put into the environment */
	uint64_t calls_lost;
	const struct fl_cover_db *cover; /* per flow: were its calls observed (cover.h) */
	const struct fl_flow_table *flows;
	/* Per flow, by id: its delivery facts and its ladder (timeline.h);
	 * NULL: no flow has any. */
	const struct fl_timeline *timeline;
	int time_wait;            /* TIME_WAIT sockets on the target's side at the end */
	const struct fl_states *states; /* TCP state paths */
	/* Per flow (index id - 1), once the run is over: whether and how its
	 * peer went silent (fl_peer_gone_all()); NULL while it runs. */
	const struct fl_dead_peer *dead_peers;
	size_t ndead_peers;
};

struct fl_check_result {
	char name[48];     /* the bare check name: "no-close-wait", "path" */
	char expect[160];  /* the expectation as written ("no-close-wait
			      1s"), "" for the harness's own checks */
	int ok;
	int skipped; /* could not be judged (wholly or for some flows) in
			this run; ok stays 1 unless something failed */
	char detail[512];
	unsigned cut;      /* evidence did not fit: pieces left out */
	uint32_t flows[8]; /* flows the evidence names (for the ladders) */
	unsigned nflows;
	const char *file; /* rule file and line of the expect, or NULL */
	unsigned line;
};


/* The hygiene set applied when the rules have no expect line, with its
 * defaults (rules/README.md documents them). */
extern const char fl_checks_default_set[];

/*
 * Evaluates every check.  *out is an array of *n results the caller frees
 * with free().  Returns 0 or -ENOMEM.
 */
int fl_checks_run(const struct fl_run_facts *facts,
		  struct fl_check_result **out, size_t *n);

/*
 * While the run goes on after the driver ended: the latest time until
 * which some check's window is still open (a socket in CLOSE_WAIT, an EOF
 * not yet followed by close, a silent peer, an ended connection whose fd
 * is still open) or a flow a rule faulted is still mid-teardown (a FIN
 * not yet acknowledged).  0 when everything is decided; why gets the
 * first reason.  Stopping the target before that time would judge a
 * window the run cut short.
 */
uint64_t fl_checks_undecided(const struct fl_run_facts *f, uint64_t now_ns,
			     char *why, size_t n);

/* The run's outcome from its checks. */
enum fl_result { FL_RESULT_PASS, FL_RESULT_FAIL, FL_RESULT_INCONCLUSIVE };
/* FAIL if a check failed, else INCONCLUSIVE if one could not be judged
 * (unless allow_skip), else PASS. */
enum fl_result fl_checks_result(const struct fl_check_result *c, size_t n,
				int allow_skip);
const char *fl_result_name(enum fl_result r); /* "PASS" ... */

/* "exit code 3" / "killed by SIGPIPE" / "still running" into buf. */
void fl_exit_describe(const struct fl_exit *x, char *buf, size_t n);

#endif
