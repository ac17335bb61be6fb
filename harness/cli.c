/*
 * cli.c - the faultline command line: `run`, `check`, `suite`, --help,
 * --version.
 *
 * Parses the options (each error says which option and why), reads the
 * rule files and prints every diagnostic in them, prints what `check`
 * makes of them, and hands a `run` with its parsed rules, completed by
 * what the files say to run (scenario.c), to fl_run() (run.c), and a
 * `suite` with its options to fl_suite() (suite.c).  Single-threaded.
 * Only main() decides the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "checks.h"
#include "files.h"
#include "rules.h"
#include "run.h"
#include "scenario.h"
#include "signals.h"
#include "suite.h"

/* The usage in pieces: `faultline --help` prints them all, each
 * command's --help its own (usage_run, usage_check, usage_suite). */
static const char usage_run[] =
	"  faultline run [OPTIONS] -- PROGRAM [ARG]...\n"
	"  faultline run [OPTIONS] -r RULES    (the rule file's 'target' line)\n";
static const char usage_check[] =
	"  faultline check RULES...     (parse, validate, say what each line does)\n";
static const char usage_suite[] =
	"  faultline suite [DIR|FILE]... [-j N] [--shard K/N] [--junit FILE]\n"
	"                  [--report FILE] [--timeout DUR] [-v]\n";
static const char usage_about[] =
	"\n"
	"faultline runs PROGRAM (the target) in a private network sandbox,\n"
	"drops, delays or rewrites its TCP segments as the rule files say,\n"
	"and reports whether the checks in them held.\n";
static const char help_run[] =
	"\n"
	"run options:\n"
	"  -r, --rules FILE      rule file (repeatable; rules keep their order)\n"
	"      --driver CMD      shell command run in the sandbox once the target\n"
	"                        listens (the test client); its failure fails the run\n"
	"      --peer CMD        test a client: the shell command CMD (its server)\n"
	"                        starts first, PROGRAM once CMD listens (--ready-*),\n"
	"                        the run ends when PROGRAM exits (then --settle),\n"
	"                        and faultline stops CMD (SIGTERM, --grace, SIGKILL):\n"
	"                        that is no failure, but CMD never listening, or\n"
	"                        exiting non-zero or by a signal on its own, is;\n"
	"                        not with --driver\n"
	"      --report FILE     write the JSON report\n"
	"                        ('-' as --report's, --junit's, --trace's,\n"
	"                        --pcap's or --html's FILE: stdout, one of them;\n"
	"                        the text report and the\n"
	"                        target's, driver's and peer's stdout then go to\n"
	"                        stderr)\n"
	"      --trace FILE      write every event as JSON Lines ('-' = stdout)\n"
	"      --junit FILE      write the checks as JUnit XML\n"
	"      --junit-name NAME the JUnit testsuite's name (default: the first\n"
	"                        -r file's base name)\n"
	"      --pcap FILE       write the segments as a pcap file (raw IP, for\n"
	"                        tcpdump and Wireshark): each as sent, and the ones\n"
	"                        faultline changed or made as delivered\n"
	"      --html FILE       write the report as one self-contained HTML page\n"
	"                        (checks, flows, each flow's sequence diagram;\n"
	"                        it loads nothing from anywhere)\n"
	"                        (outputs are opened before the run; a FIFO must\n"
	"                        already have a reader: faultline never waits)\n"
	"      --timeout DUR     end the run after DUR (default 60s; 0 = never);\n"
	"                        a run that times out fails\n"
	"      --seed N          seed for prob/jitter (overrides 'set seed';\n"
	"                        default random, printed in the report)\n"
	"      --settle DUR      after the driver exits, wait at least DUR before\n"
	"                        stopping the target (default 500ms; with --peer:\n"
	"                        after the target exits, before stopping the peer);\n"
	"                        longer while a check's window is open or a faulted\n"
	"                        flow is mid-teardown (at most until --timeout)\n"
	"      --grace DUR       after SIGTERM, wait DUR before SIGKILL (default 2s)\n"
	"      --ready-port N    start the driver once something listens on port N\n"
	"                        (default: once anything listens; with --peer: the\n"
	"                        peer, and the target is started)\n"
	"      --ready-delay DUR start the driver DUR after the target instead\n"
	"                        (with --peer: the target DUR after the peer)\n"
	"      --ready-timeout DUR  give up waiting to listen after DUR and start\n"
	"                        the driver anyway (default 10s; with --peer the\n"
	"                        run fails there, the target not started)\n"
	"      --mtu N           MTU of the sandbox's loopback (default 1500)\n"
	"      --user UID[:GID]  run target and driver as this user (root only;\n"
	"                        default under sudo: the invoking user)\n"
	"      --keep-cap CAP[,CAP]...  the target (never the driver) keeps these\n"
	"                        capabilities inside the sandbox (setuid, setgid,\n"
	"                        chown, net_bind_service...; default none). As\n"
	"                        root each is root's real capability over the\n"
	"                        sandbox's namespaces and the host's files; never\n"
	"                        sys_admin, sys_ptrace, sys_module, sys_rawio, bpf,\n"
	"                        perfmon (they undo the sandbox). README: Security\n"
	"      --queue-all       queue every segment, even when no rule needs it\n"
	"      --preload PATH    the shim (default: $FAULTLINE_PRELOAD, or\n"
	"                        libfaultline-preload.so next to the faultline\n"
	"                        binary or in its installed LIBDIR/faultline/)\n"
	"      --no-preload      do not load the shim into the target (the checks\n"
	"                        on its socket calls are then not judged)\n"
	"      --preload-driver  load the shim into the driver (or the peer) too\n"
	"      --allow-skip      a check that could not be judged does not make\n"
	"                        the run INCONCLUSIVE (exit 0 if nothing failed)\n"
	"  -q, --quiet           print only the text report's result line, on\n"
	"                        stdout (stderr with a '-' output); the target's,\n"
	"                        driver's and peer's stdout go to stderr\n"
	"      --color WHEN      colour PASS/FAIL/INCONCLUSIVE in the text report:\n"
	"                        auto (default: on a terminal, unless $NO_COLOR is\n"
	"                        set and not empty), always or never\n"
	"  -v, --verbose         harness diagnostics on stderr\n"
	"  -h, --help            this command's help\n";
static const char help_suite[] =
	"\n"
	"suite options (each FILE, and each DIR's *.rules sorted by name, runs\n"
	"as 'faultline run -r FILE', in a sandbox of its own):\n"
	"  -j, --jobs N          runs at once (default: the number of CPUs)\n"
	"      --shard K/N       only the files of shard K of N (by a hash of the\n"
	"                        file's name: N jobs with K = 1..N run each once)\n"
	"      --junit FILE      one JUnit testsuite per scenario\n"
	"      --report FILE     a JSON summary (each scenario's result, exit,\n"
	"                        time, report and log)\n"
	"      --timeout DUR     every run's --timeout (replaces 'set timeout')\n"
	"  -v, --verbose         show every scenario's log, not only failing ones\n"
	"  -h, --help            this command's help\n"
	"  Exit status: the worst of the runs' (3 > 2 > 1 > 0).\n";
static const char help_tail[] =
	"\n"
	"Durations: 500ms, 2s, 1.5s, 200us (at most 1000000000s), or 0.\n"
	"Rule files: regular files, FIFOs or pipes of at most 16 MiB.  A rule\n"
	"file may say what to run ('target CMD', 'driver CMD', 'peer CMD') and\n"
	"set run options ('set timeout 20s', ...): the command line replaces\n"
	"them ('-- PROGRAM' the target, --driver or --peer the driver and peer,\n"
	"an option its 'set' line).\n"
	"Rule language: faultline-rules(5), rules/README.md; the CLI: faultline(1).\n"
	"The run's commands see $FAULTLINE_SAMPLES, the sample programs' directory.\n"
	"\n"
	"SIGINT/SIGTERM/SIGHUP: during the run the first stops the target (the\n"
	"run fails: interrupted), the second kills it, the third ends faultline;\n"
	"before or after the run (writing the reports) the first ends it.\n"
	"\n"
	"Result: PASS when every check was judged and held; FAIL when one failed\n"
	"(also a target that exits non-zero or by a signal before faultline\n"
	"stops it, unless 'expect exit N' / 'expect signal NAME' says so);\n"
	"INCONCLUSIVE when one could not be judged (no shim in the process that\n"
	"owns the socket, a window the run could not wait out, no connection).\n"
	"\n"
	"Exit status: 0 PASS; 1 FAIL or INCONCLUSIVE; 2 usage or rule-file\n"
	"error; 3 environment error (no namespaces, no NFQUEUE, no iptables,\n"
	"no shim).\n"
	"\n"
	"Examples:\n"
	"  faultline check rules/scenarios/lost-fin.rules\n"
	"  faultline run -r rules/scenarios/lost-fin.rules \\\n"
	"      --driver 'tcp_client -p 7000 --rtt 3' -- echo_server -p 7000\n"
	"  faultline run -r rules/scenarios/client-peer-reset.rules \\\n"
	"      --peer 'echo_server -p 7000 -n 0' -- tcp_client -p 7000 --rtt 3\n";

static const char help_check[] =
	"\n"
	"Reads the rule files as one run's rules (scenario files one at a time),\n"
	"prints every error in them as file:line:col, and else what each rule,\n"
	"check, command and setting does.  Exit status: 0 valid, 2 an error.\n"
	"  -h, --help            this command's help\n";

/* What --help prints: everything (cmd 0), or the usage of the command
 * "run", "check" or "suite". */
static void print_help(FILE *f, const char *cmd)
{
	fputs("Usage:\n", f);
	if (!cmd) {
		fputs(usage_run, f);
		fputs(usage_check, f);
		fputs(usage_suite, f);
		fputs("  faultline --help | --version\n", f);
		fputs(usage_about, f);
		fputs(help_run, f);
		fputs(help_suite, f);
		fputs(help_tail, f);
	} else if (!strcmp(cmd, "run")) {
		fputs(usage_run, f);
		fputs(usage_about, f);
		fputs(help_run, f);
		fputs(help_tail, f);
	} else if (!strcmp(cmd, "check")) {
		fputs(usage_check, f);
		fputs(help_check, f);
	} else {
		fputs(usage_suite, f);
		fputs(help_suite, f);
	}
}

/* Parses every file, printing all diagnostics.  Returns 0, or an exit
 * status. */
static int load_rules(struct fl_ruleset *rs, const char *const *files,
		      size_t n, int lint)
{
	struct fl_diag diag = {0};
	int status = 0;

	for (size_t i = 0; i < n; i++) {
		char *text = NULL, why[256];
		size_t len = 0;
		int ret = fl_file_read_rules(files[i], FL_RULES_MAX_BYTES,
					     FL_RULES_WAIT_MS, &text, &len, why,
					     sizeof(why));

		if (ret < 0) {
			fprintf(stderr, "faultline: %s: %s\n", files[i], why);
			status = EXIT_USAGE;
			continue;
		}
		ret = fl_rules_parse(rs, files[i], text, len, &diag);
		free(text);
		if (ret == -ENOMEM) {
			fprintf(stderr, "faultline: out of memory\n");
			status = EXIT_USAGE;
		} else if (ret < 0) {
			status = EXIT_USAGE;
		}
	}
	if (lint && status == 0)
		fl_rules_lint(rs, &diag);
	if (diag.buf)
		fputs(diag.buf, stderr);
	if (diag.nerrors)
		fprintf(stderr, "%u error%s\n", diag.nerrors,
			diag.nerrors == 1 ? "" : "s");
	fl_diag_free(&diag);
	return status;
}

static int cmd_check(int argc, char **argv)
{
	struct fl_ruleset *rs;
	int status;
	char buf[512];

	/* Options before the files, as getopt would take them ('--' ends
	 * them): a file named like one is ./-h. */
	while (argc > 0 && argv[0][0] == '-' && argv[0][1]) {
		if (!strcmp(argv[0], "--")) {
			argc--;
			argv++;
			break;
		}
		if (strcmp(argv[0], "--help") && strcmp(argv[0], "-h")) {
			fprintf(stderr, "faultline check: unknown option '%s' (a "
				"rule file of that name: ./%s)\nTry 'faultline "
				"check --help'.\n", argv[0], argv[0]);
			return EXIT_USAGE;
		}
		print_help(stdout, "check");
		return EXIT_OK;
	}
	if (argc < 1) {
		fprintf(stderr, "faultline check: no rule file given\n"
			"Usage: faultline check RULES...\n");
		return EXIT_USAGE;
	}
	rs = fl_ruleset_new();
	if (!rs)
		return EXIT_USAGE;
	status = load_rules(rs, (const char *const *)argv, (size_t)argc, 1);
	if (status == 0) {
		for (size_t i = 0; i < rs->nrules; i++) {
			fl_rule_explain(&rs->rules[i], buf, sizeof(buf));
			printf("%s:%u: %s\n", rs->rules[i].file,
			       rs->rules[i].line, buf);
		}
		for (size_t i = 0; i < rs->nexpects; i++) {
			fl_expect_explain(&rs->expects[i], buf, sizeof(buf));
			printf("%s:%u: %s\n", rs->expects[i].file,
			       rs->expects[i].line, buf);
		}
		for (int k = 0; k < FL_CMD_COUNT; k++)
			if (rs->commands[k].text) {
				fl_command_explain(rs, (enum fl_command_kind)k, buf,
						   sizeof(buf));
				printf("%s:%u: %s\n", rs->commands[k].file,
				       rs->commands[k].line, buf);
			}
		for (int k = 0; k < FL_SET_COUNT; k++)
			if (k != FL_SET_SEED && rs->settings[k].given) {
				fl_setting_explain(rs, (enum fl_setting_kind)k, buf,
						   sizeof(buf));
				printf("%s:%u: %s\n", rs->settings[k].file,
				       rs->settings[k].line, buf);
			}
		if (rs->has_seed)
			printf("seed: %llu\n", (unsigned long long)rs->seed);
		printf("%zu rule%s, %zu check%s: OK\n", rs->nrules,
		       rs->nrules == 1 ? "" : "s", rs->nexpects,
		       rs->nexpects == 1 ? "" : "s");
	}
	fl_ruleset_free(rs);
	return status;
}

/* The longest duration an option takes: 10^9 s (about 31 years), so
 * that a deadline (now + a few of them) never wraps. */
#define DUR_MAX_US (1000000000ull * 1000000u)

/* A duration option, parsed as strictly as the rule language's (unit
 * required, trailing junk, overflow and sub-microsecond precision are
 * errors), except that a bare 0 needs no unit. */
static int opt_duration(const char *opt, const char *arg, uint64_t *ns)
{
	uint64_t us = 0;
	int ret = strcmp(arg, "0") ? fl_parse_duration(arg, &us) : 0;

	if (ret == -ERANGE || (ret == 0 && us > DUR_MAX_US)) {
		fprintf(stderr, "faultline: %s: duration '%s' is too large (at "
			"most %llus)\n", opt, arg, DUR_MAX_US / 1000000u);
		return -ERANGE;
	}
	if (ret < 0) {
		fprintf(stderr, "faultline: %s: invalid duration '%s' (a number "
			"and a unit, e.g. 500ms, 2s, 1.5s, 200us; or 0)\n", opt,
			arg);
		return -EINVAL;
	}
	*ns = us * 1000u;
	return 0;
}

/* A whole number option in [min, max]. */
static int opt_number(const char *opt, const char *arg, uint64_t min,
		      uint64_t max, uint64_t *v)
{
	int ret = fl_parse_u64(arg, v);

	if (ret == -ERANGE || (ret == 0 && (*v < min || *v > max))) {
		fprintf(stderr, "faultline: %s: %s is out of range (%llu..%llu)\n",
			opt, arg, (unsigned long long)min,
			(unsigned long long)max);
		return -ERANGE;
	}
	if (ret < 0) {
		fprintf(stderr, "faultline: %s: invalid number '%s'\n", opt, arg);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_DRIVER = 256, OPT_REPORT, OPT_TRACE, OPT_JUNIT, OPT_PCAP, OPT_HTML,
	OPT_TIMEOUT, OPT_SEED, OPT_SETTLE, OPT_GRACE, OPT_READY_PORT,
	OPT_READY_DELAY, OPT_READY_TIMEOUT, OPT_MTU, OPT_USER, OPT_QUEUE_ALL,
	OPT_HELP, OPT_PRELOAD, OPT_NO_PRELOAD, OPT_PRELOAD_DRIVER,
	OPT_ALLOW_SKIP, OPT_PEER, OPT_KEEP_CAP, OPT_SHARD, OPT_JUNIT_NAME,
	OPT_COLOR,
};

/* The option replaces setting k of the rule files (scenario.h). */
#define GIVEN(k) (*given |= FL_SCENARIO_GIVEN(FL_SET_##k))

static int parse_run_opts(int argc, char **argv, struct fl_run_opts *o,
			  uint64_t *given)
{
	static const struct option longopts[] = {
		{"rules", required_argument, NULL, 'r'},
		{"driver", required_argument, NULL, OPT_DRIVER},
		{"peer", required_argument, NULL, OPT_PEER},
		{"report", required_argument, NULL, OPT_REPORT},
		{"trace", required_argument, NULL, OPT_TRACE},
		{"junit", required_argument, NULL, OPT_JUNIT},
		{"junit-name", required_argument, NULL, OPT_JUNIT_NAME},
		{"pcap", required_argument, NULL, OPT_PCAP},
		{"html", required_argument, NULL, OPT_HTML},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"seed", required_argument, NULL, OPT_SEED},
		{"settle", required_argument, NULL, OPT_SETTLE},
		{"grace", required_argument, NULL, OPT_GRACE},
		{"ready-port", required_argument, NULL, OPT_READY_PORT},
		{"ready-delay", required_argument, NULL, OPT_READY_DELAY},
		{"ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT},
		{"mtu", required_argument, NULL, OPT_MTU},
		{"user", required_argument, NULL, OPT_USER},
		{"queue-all", no_argument, NULL, OPT_QUEUE_ALL},
		{"preload", required_argument, NULL, OPT_PRELOAD},
		{"no-preload", no_argument, NULL, OPT_NO_PRELOAD},
		{"preload-driver", no_argument, NULL, OPT_PRELOAD_DRIVER},
		{"allow-skip", no_argument, NULL, OPT_ALLOW_SKIP},
		{"keep-cap", required_argument, NULL, OPT_KEEP_CAP},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *color = "auto";
	uint64_t v;
	int c;

	o->timeout_ns = 60ull * 1000000000u;
	o->settle_ns = 500ull * 1000000u;
	o->grace_ns = 2ull * 1000000000u;
	o->ready_timeout_ns = 10ull * 1000000000u;
	o->mtu = 1500;
	o->rule_files = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->rule_files)
		return -ENOMEM;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+r:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->rule_files[o->nrule_files++] = optarg;
			break;
		case OPT_DRIVER:
			/* sh -c '' does nothing and succeeds: a run that
			 * tests nothing would pass. */
			if (!optarg[strspn(optarg, " \t\n")]) {
				fprintf(stderr, "faultline: --driver: empty command "
					"(give the shell command that drives the "
					"target, or leave --driver out)\n");
				return -EINVAL;
			}
			o->driver = optarg;
			break;
		case OPT_PEER:
			if (!optarg[strspn(optarg, " \t\n")]) {
				fprintf(stderr, "faultline: --peer: empty command "
					"(give the shell command of the server the "
					"target connects to, or leave --peer out)\n");
				return -EINVAL;
			}
			o->peer = optarg;
			break;
		case OPT_REPORT:
			o->report = optarg;
			break;
		case OPT_TRACE:
			o->trace = optarg;
			break;
		case OPT_JUNIT:
			o->junit = optarg;
			break;
		case OPT_JUNIT_NAME:
			o->junit_name = optarg;
			break;
		case OPT_PCAP:
			o->pcap = optarg;
			break;
		case OPT_HTML:
			o->html = optarg;
			break;
		case OPT_TIMEOUT:
			GIVEN(TIMEOUT);
			if (opt_duration("--timeout", optarg, &o->timeout_ns) < 0)
				return -EINVAL;
			break;
		case OPT_SEED:
			GIVEN(SEED);
			if (opt_number("--seed", optarg, 0, UINT64_MAX, &o->seed) < 0)
				return -EINVAL;
			o->have_seed = 1;
			break;
		case OPT_SETTLE:
			GIVEN(SETTLE);
			if (opt_duration("--settle", optarg, &o->settle_ns) < 0)
				return -EINVAL;
			break;
		case OPT_GRACE:
			GIVEN(GRACE);
			if (opt_duration("--grace", optarg, &o->grace_ns) < 0)
				return -EINVAL;
			break;
		case OPT_READY_PORT:
			GIVEN(READY_PORT);
			if (opt_number("--ready-port", optarg, 1, 65535, &v) < 0)
				return -EINVAL;
			o->ready_port = (uint16_t)v;
			break;
		case OPT_READY_DELAY:
			GIVEN(READY_DELAY);
			if (opt_duration("--ready-delay", optarg,
					 &o->ready_delay_ns) < 0)
				return -EINVAL;
			o->have_ready_delay = 1;
			break;
		case OPT_READY_TIMEOUT:
			GIVEN(READY_TIMEOUT);
			if (opt_duration("--ready-timeout", optarg,
					 &o->ready_timeout_ns) < 0)
				return -EINVAL;
			break;
		case OPT_MTU:
			GIVEN(MTU);
			if (opt_number("--mtu", optarg, 576, 65535, &v) < 0)
				return -EINVAL;
			o->mtu = (unsigned)v;
			break;
		case OPT_USER: {
			char *colon = strchr(optarg, ':');
			uint64_t u, g;

			if (colon)
				*colon = 0;
			if (opt_number("--user", optarg, 0, 0xfffffffe, &u) < 0 ||
			    (colon && opt_number("--user", colon + 1, 0,
						 0xfffffffe, &g) < 0))
				return -EINVAL;
			o->have_user = 1;
			o->uid = (uid_t)u;
			o->gid = colon ? (gid_t)g : (gid_t)u;
			break;
		}
		case OPT_QUEUE_ALL:
			GIVEN(QUEUE_ALL);
			o->queue_all = 1;
			break;
		case OPT_PRELOAD:
			o->preload = optarg;
			break;
		case OPT_NO_PRELOAD:
			o->no_preload = 1;
			break;
		case OPT_PRELOAD_DRIVER:
			o->preload_driver = 1;
			break;
		case OPT_ALLOW_SKIP:
			GIVEN(ALLOW_SKIP);
			o->allow_skip = 1;
			break;
		case OPT_KEEP_CAP: {
			char why[1024];

			if (fl_caps_parse(optarg, &o->keep_caps, why, sizeof(why)) < 0) {
				fprintf(stderr, "faultline: --keep-cap: %s\n", why);
				return -EINVAL;
			}
			break;
		}
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_COLOR:
			color = optarg;
			break;
		case 'h':
			print_help(stdout, "run");
			return 1; /* done: nothing to run */
		default:
			fprintf(stderr, "Try 'faultline --help'.\n");
			return -EINVAL;
		}
	}
	if (o->peer && o->driver) {
		/* Which would start first, and which one's end ends the run?
		 * A client under test with a server, or a server with a
		 * client: one of the two. */
		fprintf(stderr, "faultline: --peer and --driver together: give "
			"--driver CMD to test a server (PROGRAM) with a client, "
			"or --peer CMD to test a client (PROGRAM) with a "
			"server, not both\n");
		return -EINVAL;
	}
	if (!strcmp(color, "always")) {
		o->color = FL_COLOR_ALWAYS;
	} else if (!strcmp(color, "never")) {
		o->color = FL_COLOR_NEVER;
	} else if (!strcmp(color, "auto")) {
		/* no-color.org: a NO_COLOR that is set and not empty turns
		 * the default off; an explicit --color=always still wins. */
		const char *nc = getenv("NO_COLOR");

		o->color = nc && nc[0] ? FL_COLOR_NEVER : FL_COLOR_AUTO;
	} else {
		fprintf(stderr, "faultline: --color: invalid '%s' (auto, always "
			"or never)\n", color);
		return -EINVAL;
	}
	/* One stream, one format: two reports on stdout would be neither
	 * JSON nor XML nor JSON Lines. */
	if (((o->report && !strcmp(o->report, "-")) +
	     (o->junit && !strcmp(o->junit, "-")) +
	     (o->trace && !strcmp(o->trace, "-")) +
	     (o->pcap && !strcmp(o->pcap, "-")) +
	     (o->html && !strcmp(o->html, "-"))) > 1) {
		fprintf(stderr, "faultline: --report, --junit, --trace, --pcap and "
			"--html: only "
			"one of them can be '-' (stdout); give the others a "
			"file\n");
		return -EINVAL;
	}
	if (o->have_user && geteuid() != 0) {
		fprintf(stderr, "faultline: --user needs root\n");
		return -EINVAL;
	}
	/* None: the rule files' target (scenario.c). */
	o->argv = optind < argc ? argv + optind : NULL;
	return 0;
}

/* `faultline run`: the options, the rules (the hygiene set when they have
 * no expect line), then the run itself. */
static int cmd_run(int argc, char **argv)
{
	struct fl_run_opts o = {0};
	struct fl_ruleset *rs = NULL;
	uint64_t given = 0;
	char *owned = NULL;
	int status;
	int ret;

	ret = parse_run_opts(argc, argv, &o, &given);
	if (ret != 0) {
		free(o.rule_files);
		return ret > 0 ? EXIT_OK : EXIT_USAGE;
	}
	rs = fl_ruleset_new();
	if (!rs) {
		status = EXIT_USAGE;
		goto out;
	}
	status = load_rules(rs, o.rule_files, o.nrule_files, 0);
	if (status)
		goto out;
	ret = fl_scenario_apply(&o, rs, given, &owned);
	if (ret == -ENOENT) {
		fprintf(stderr, "faultline run: no program given: name it after "
			"'--' (faultline run [OPTIONS] -- PROGRAM [ARG]...) or in "
			"a 'target' line of a rule file\n");
		status = EXIT_USAGE;
		goto out;
	} else if (ret < 0) {
		fprintf(stderr, "faultline: out of memory\n");
		status = EXIT_USAGE;
		goto out;
	}
	if (rs->nexpects == 0) {
		/* No expect line: judge by the hygiene set. */
		struct fl_diag d = {0};

		fl_rules_parse(rs, "(default checks)", fl_checks_default_set,
			       strlen(fl_checks_default_set), &d);
		fl_diag_free(&d);
	}
	o.rs = rs;
	status = fl_run(o);
out:
	fl_ruleset_free(rs);
	free(o.rule_files);
	free(owned);
	return status;
}

/* "K/N", 1 <= K <= N <= 1000000. */
static int opt_shard(const char *arg, unsigned *k, unsigned *n)
{
	const char *slash = strchr(arg, '/');
	char num[32];
	uint64_t a, b;

	if (!slash || (size_t)(slash - arg) >= sizeof(num))
		goto bad;
	snprintf(num, sizeof(num), "%.*s", (int)(slash - arg), arg);
	if (fl_parse_u64(num, &a) < 0 || fl_parse_u64(slash + 1, &b) < 0 ||
	    a < 1 || b < 1 || a > b || b > 1000000)
		goto bad;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
bad:
	fprintf(stderr, "faultline suite: --shard: invalid '%s': expected K/N "
		"with 1 <= K <= N (e.g. 1/3, 2/3, 3/3)\n", arg);
	return -EINVAL;
}

/* `faultline suite`: its options, then suite.c. */
static int cmd_suite(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"jobs", required_argument, NULL, 'j'},
		{"shard", required_argument, NULL, OPT_SHARD},
		{"junit", required_argument, NULL, OPT_JUNIT},
		{"report", required_argument, NULL, OPT_REPORT},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct fl_suite_opts o = {0};
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "j:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (opt_number("--jobs", optarg, 1, 1024, &v) < 0)
				return EXIT_USAGE;
			o.jobs = (unsigned)v;
			break;
		case OPT_SHARD:
			if (opt_shard(optarg, &o.shard_k, &o.shard_n) < 0)
				return EXIT_USAGE;
			break;
		case OPT_JUNIT:
			o.junit = optarg;
			break;
		case OPT_REPORT:
			o.report = optarg;
			break;
		case OPT_TIMEOUT:
			if (opt_duration("--timeout", optarg, &v) < 0)
				return EXIT_USAGE;
			o.timeout = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			print_help(stdout, "suite");
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'faultline --help'.\n");
			return EXIT_USAGE;
		}
	}
	/* Its stdout is the live lines, one per scenario. */
	if ((o.junit && !strcmp(o.junit, "-")) ||
	    (o.report && !strcmp(o.report, "-"))) {
		fprintf(stderr, "faultline suite: --%s -: stdout is the suite's "
			"live lines; give a file\n",
			o.report && !strcmp(o.report, "-") ? "report" : "junit");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "faultline suite: no scenario directory or file given "
			"(faultline suite [DIR|FILE]... [OPTIONS])\n");
		return EXIT_USAGE;
	}
	o.paths = argv + optind;
	o.npaths = (size_t)(argc - optind);
	return fl_suite(&o);
}

int main(int argc, char **argv)
{
	if (fl_signals_catch() < 0) {
		perror("faultline: signals");
		return EXIT_ENV;
	}
	if (argc < 2) {
		print_help(stderr, NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		print_help(stdout, NULL);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("faultline %s\n", FL_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 2, argv + 2);
	if (!strcmp(argv[1], "suite"))
		return cmd_suite(argc - 1, argv + 1);
	fprintf(stderr, "faultline: unknown command '%s'\nTry 'faultline "
		"--help'.\n", argv[1]);
	return EXIT_USAGE;
}
