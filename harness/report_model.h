/*
 * report_model.h - the report's model, shared by its writers (report.c:
 * text, JSON, JUnit; html.c: HTML) and by nobody else.  report.c builds it
 * in one walk over the run's facts (report_model_build()), each writer
 * only formats it, so no two reports can disagree.  Single-threaded.
 */
#ifndef FL_REPORT_MODEL_H
#define FL_REPORT_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "checks.h"
#include "cover.h"
#include "peer_gone.h"
#include "report.h"
#include "states.h"
#include "timeline.h"

/* The states one side of a flow went through. */
struct m_path {
	size_t n;
	size_t own; /* how many came before faultline's stop (n: all) */
	uint8_t st[FL_STATES_PATH_MAX];
	uint64_t at[FL_STATES_PATH_MAX]; /* when the side got to each */
};

/* A segment, call or state change of a flow's ladder. */
enum rung_kind { RUNG_PKT, RUNG_CALL, RUNG_STATE };

struct rung {
	uint64_t t_ns;
	enum rung_kind kind;
	union {
		struct fl_pkt_rec pkt;
		const struct fl_call *call;
		const struct fl_state_change *change;
	} u;
};

struct m_ladder {
	struct rung *v;
	size_t n, cap;
	uint64_t skipped; /* segments in the middle the flow did not keep */
};

struct m_flow {
	const struct fl_flow *fl; /* read in flow_build() and ladder_build() only */
	uint32_t id;
	char client[64], server[64];
	int target[2];           /* side FL_DIR_* is the target's socket */
	uint64_t first_ns;
	const char *target_side; /* "client", "server", "both" or NULL */
	int target_dir;          /* the side "states" shows, -1: none */
	uint64_t packets, faults;
	struct m_path side[2];   /* index FL_DIR_* */
	int dead;                /* its peer went silent: dp and dp_text */
	struct fl_dead_peer dp;
	char dp_text[400];
	enum fl_cover cover;     /* were the target side's calls observed */
	int cover_pid;
	uint64_t cover_lost_ns;
	char cover_text[512];
	struct m_ladder *ladder; /* a failing check names it (or the HTML
				  * report's cap allows it), else NULL */
	int failing;             /* a failing check names it */
};

struct m_rule {
	char where[512];  /* file:line */
	const char *action;
	char text[256];   /* the rule as fl_rule_format() writes it */
	uint64_t acted;
};

enum m_status { M_PASS, M_FAIL, M_SKIP };

struct model {
	const struct fl_report *r;
	const struct fl_run_facts *f;
	char target_how[64], driver_how[64], peer_how[64];
	enum m_status *status;  /* per check */
	size_t nfail, nskip;
	int have_flows;         /* the engine ran: flows and faults are known */
	struct m_flow *flows;   /* index id - 1 */
	size_t nflows;
	struct m_rule *rules;
	size_t nrules;
	/* The flows' indexes, failing ones first, then in id order (built
	 * with all_ladders only, else NULL) */
	size_t *order;
	size_t nladders;        /* flows with a ladder */
};

/* Flows that get a ladder for the HTML report (report_model_build()'s
 * all_ladders): those failing checks name first, then in id order. */
#define FL_HTML_LADDERS 50

/*
 * Builds m from r in one walk: the ladders of the flows failing checks
 * name (the first 3 each check names), and with all_ladders of the first
 * FL_HTML_LADDERS flows in failing-first order (m->order).  Returns 0, or
 * -ENOMEM with nothing to free.  report_model_free() frees a built m.
 */
int report_model_build(struct model *m, const struct fl_report *r,
		       int all_ladders);
void report_model_free(struct model *m);

/* s[0..n) as XML (and HTML) character data or an attribute's value:
 * markup escaped, control characters as spaces, each byte that is not
 * valid UTF-8 as U+FFFD. */
void report_xml_put(FILE *f, const char *s, size_t n);

/* Writes the HTML report of m to f (html.c); 0 or -EIO. */
int report_html_write(const struct model *m, FILE *f);

#endif
