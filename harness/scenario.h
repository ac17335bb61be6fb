/*
 * scenario.h - what the rule files say to run (their target, driver or
 * peer, and `set` options: rules/commands.def, rules/settings.def),
 * merged into the options `faultline run` was given on its command line,
 * which win.  Single-threaded.
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <stdint.h>

#include "rules.h"
#include "run.h"

/* A bit per enum fl_setting_kind: the command line gave that option. */
#define FL_SCENARIO_GIVEN(k) (1ull << (k))

/*
 * Completes o from rs: the files' target as o->argv (/bin/sh -c 'exec
 * CMD') when o->argv is NULL; their driver and peer when o has neither;
 * each setting whose bit is not in given.  *owned receives what o->argv
 * then points into (the caller frees it after the run; NULL when the
 * command line named the program).  Returns 0; -ENOENT when there is no
 * target anywhere (nothing printed); -ENOMEM.
 */
int fl_scenario_apply(struct fl_run_opts *o, const struct fl_ruleset *rs,
		      uint64_t given, char **owned);

#endif
