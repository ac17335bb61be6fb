/*
 * scenario.c - a rule file as one test: the `target`, `driver` and
 * `peer` lines and the `set` options of the files (parsed by rules/),
 * applied to the options of `faultline run` where its command line gave
 * none.  The command line wins: a program after '--' replaces the target,
 * --driver or --peer replaces the files' driver and peer alike (a run has
 * one or the other), and an option replaces its `set` line.  No I/O;
 * single-threaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

/* Setting k's value into o (durations: us in the file, ns in o). */
static void apply_setting(struct fl_run_opts *o, enum fl_setting_kind k,
			  uint64_t v)
{
	switch (k) {
	case FL_SET_SEED:
		/* fl_run() reads the files' seed itself, after --seed. */
		break;
	case FL_SET_TIMEOUT:
		o->timeout_ns = v * 1000u;
		break;
	case FL_SET_SETTLE:
		o->settle_ns = v * 1000u;
		break;
	case FL_SET_GRACE:
		o->grace_ns = v * 1000u;
		break;
	case FL_SET_READY_PORT:
		o->ready_port = (uint16_t)v;
		break;
	case FL_SET_READY_DELAY:
		o->have_ready_delay = 1;
		o->ready_delay_ns = v * 1000u;
		break;
	case FL_SET_READY_TIMEOUT:
		o->ready_timeout_ns = v * 1000u;
		break;
	case FL_SET_MTU:
		o->mtu = (unsigned)v;
		break;
	case FL_SET_ALLOW_SKIP:
		o->allow_skip = 1;
		break;
	case FL_SET_QUEUE_ALL:
		o->queue_all = 1;
		break;
	case FL_SET_COUNT:
		break;
	}
}

/* Whether cmd's first word is exec. */
static int has_exec(const char *cmd)
{
	if (!cmd)
		return 0;
	cmd += strspn(cmd, " \t");
	return strncmp(cmd, "exec", 4) == 0 && (cmd[4] == ' ' || cmd[4] == '\t');
}

int fl_scenario_apply(struct fl_run_opts *o, const struct fl_ruleset *rs,
		      uint64_t given, char **owned)
{
	const char *target = rs->commands[FL_CMD_TARGET].text;
	int ret = 0;

	*owned = NULL;
	if (!o->argv) {
		/* argv[4], then "exec CMD": one block for the caller to free.
		 * exec, so that the target's pid is the program's; a command
		 * that says exec itself is taken as it is ("exec exec CMD"
		 * would look for a program named exec). */
		size_t len = strlen(target ? target : "");
		size_t pre = has_exec(target) ? 0 : 5;
		char **argv, *cmd;

		if (!target) {
			ret = -ENOENT;
			goto out;
		}
		*owned = malloc(4 * sizeof(char *) + len + 6);
		if (!*owned) {
			ret = -ENOMEM;
			goto out;
		}
		argv = (char **)(void *)*owned;
		cmd = *owned + 4 * sizeof(char *);
		memcpy(cmd, "exec ", pre);
		memcpy(cmd + pre, target, len + 1);
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = cmd;
		argv[3] = NULL;
		o->argv = argv;
	}
	if (!o->driver && !o->peer) {
		o->driver = rs->commands[FL_CMD_DRIVER].text;
		o->peer = rs->commands[FL_CMD_PEER].text;
	}
	for (int k = 0; k < FL_SET_COUNT; k++)
		if (rs->settings[k].given && !(given & FL_SCENARIO_GIVEN(k)))
			apply_setting(o, (enum fl_setting_kind)k,
				      rs->settings[k].value);
out:
	return ret;
}
