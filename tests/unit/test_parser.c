/*
 * test_parser.c - the rule-language parser, printer and linter.
 *
 * Most cases live in tests/data/parser_cases.txt (rule text -> ok and its
 * canonical form, or -> the first line of the error); run with FL_REGEN=1
 * to rewrite that file from the current output, then review the diff.  The
 * tests here cover what a one-line table can't: several errors in a file,
 * caret placement, lint warnings, explanations, multiple files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"

#define CASES FL_SOURCE_DIR "/tests/data/parser_cases.txt"

static struct fl_ruleset *parse_str(const char *text, struct fl_diag *d, int *ret)
{
	struct fl_ruleset *rs = fl_ruleset_new();

	cr_assert_not_null(rs);
	*ret = fl_rules_parse(rs, "t", text, strlen(text), d);
	return rs;
}

/* ---- the table ---- */

/* The check names in checks.def's order, as the parser's messages list
 * them: "a, b, c" (sep_last ", ") or "a, b or c" (sep_last " or ").  Built
 * here from the table itself, so that the cases can write {checks} and
 * {checks-or} and a new check does not change them. */
static const char *const check_names[] = {
#define FL_CHECK(id, name, arg, on_calls, text) name,
#include "checks.def"
#undef FL_CHECK
};

static void check_list(char *buf, size_t n, const char *sep_last)
{
	size_t nk = sizeof(check_names) / sizeof(check_names[0]), at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nk && at < n; i++)
		at += (size_t)snprintf(buf + at, n - at, "%s%s",
				       i == 0 ? "" : i + 1 == nk ? sep_last : ", ",
				       check_names[i]);
}

/* Replaces each `from` in s (of size n) by `to`. */
static void replace_all(char *s, size_t n, const char *from, const char *to)
{
	char *p, tmp[2048];

	while ((p = strstr(s, from))) {
		snprintf(tmp, sizeof(tmp), "%s", p + strlen(from));
		snprintf(p, n - (size_t)(p - s), "%s%s", to, tmp);
	}
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* The single thing a one-line file produced, in canonical form. */
static int canonical(const struct fl_ruleset *rs, char *buf, size_t n)
{
	if (rs->nrules == 1 && rs->nexpects == 0)
		return fl_rule_format(&rs->rules[0], buf, n);
	if (rs->nrules == 0 && rs->nexpects == 1)
		return fl_expect_format(&rs->expects[0], buf, n);
	if (rs->nrules == 0 && rs->nexpects == 0) {
		/* a command or a setting line */
		for (int k = 0; k < FL_CMD_COUNT; k++)
			if (rs->commands[k].text)
				return fl_command_format(rs, (enum fl_command_kind)k, buf, n);
		for (int k = 0; k < FL_SET_COUNT; k++)
			if (rs->settings[k].given)
				return fl_setting_format(rs, (enum fl_setting_kind)k, buf, n);
	}
	return snprintf(buf, n, "<%zu rules, %zu expects>", rs->nrules, rs->nexpects);
}

static int rule_eq(const struct fl_rule *a, const struct fl_rule *b)
{
	return a->action == b->action && a->delay_us == b->delay_us &&
	       a->jitter_us == b->jitter_us && a->rw_mask == b->rw_mask &&
	       a->rw_flags == b->rw_flags && a->rw_window == b->rw_window &&
	       a->rw_seq == b->rw_seq && a->rw_ack == b->rw_ack &&
	       a->count == b->count && a->truncate_len == b->truncate_len &&
	       a->reset_mode == b->reset_mode && a->reorder_us == b->reorder_us &&
	       a->from == b->from && a->port == b->port &&
	       a->flags_set == b->flags_set && a->flags_clear == b->flags_clear &&
	       a->data == b->data && a->has_len == b->has_len &&
	       (!a->has_len || (a->len_op == b->len_op && a->len_val == b->len_val)) &&
	       a->conn == b->conn && a->nth == b->nth &&
	       a->prob_ppm == b->prob_ppm && a->has_prob == b->has_prob &&
	       a->times == b->times && a->has_after == b->has_after &&
	       a->has_before == b->has_before && a->after_us == b->after_us &&
	       a->before_us == b->before_us &&
	       a->has_after_bytes == b->has_after_bytes &&
	       a->after_bytes == b->after_bytes;
}

static int expect_eq(const struct fl_expect *a, const struct fl_expect *b)
{
	return a->kind == b->kind && a->arg == b->arg &&
	       strcmp(a->text, b->text) == 0 && a->path_side == b->path_side &&
	       a->npath == b->npath && memcmp(a->path, b->path, a->npath) == 0;
}

/* canonical text -> same thing, printed the same */
static void check_roundtrip(const struct fl_ruleset *rs, const char *canon,
			    unsigned lineno)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *again;
	char buf[1024];
	int ret;

	again = parse_str(canon, &d, &ret);
	cr_expect_eq(ret, 0, "cases:%u: canonical '%s' does not parse: %s", lineno,
		     canon, d.buf ? d.buf : "");
	if (ret == 0) {
		canonical(again, buf, sizeof(buf));
		cr_expect_str_eq(buf, canon, "cases:%u: reprinted differently", lineno);
		if (rs->nrules == 1)
			cr_expect(rule_eq(&rs->rules[0], &again->rules[0]),
				  "cases:%u: '%s' parses to a different rule", lineno, canon);
		if (rs->nexpects == 1)
			cr_expect(expect_eq(&rs->expects[0], &again->expects[0]),
				  "cases:%u: '%s' parses to a different expect", lineno, canon);
		cr_expect_eq(again->has_seed, rs->has_seed);
		cr_expect_eq(again->seed, rs->seed);
		for (int k = 0; k < FL_CMD_COUNT; k++)
			cr_expect_str_eq(again->commands[k].text ? again->commands[k].text : "",
					 rs->commands[k].text ? rs->commands[k].text : "",
					 "cases:%u: command %d", lineno, k);
		for (int k = 0; k < FL_SET_COUNT; k++)
			cr_expect(again->settings[k].given == rs->settings[k].given &&
				  again->settings[k].value == rs->settings[k].value,
				  "cases:%u: setting %d", lineno, k);
	}
	fl_ruleset_free(again);
	fl_diag_free(&d);
}

Test(parser, table)
{
	FILE *f = fopen(CASES, "r");
	FILE *out = NULL;
	char line[2048], regen_path[] = CASES ".new";
	unsigned lineno = 0, ncases = 0, nok = 0, nerr = 0;
	int regen = getenv("FL_REGEN") != NULL;
	char checks_comma[1024], checks_or[1024], wantx[2048];

	check_list(checks_comma, sizeof(checks_comma), ", ");
	check_list(checks_or, sizeof(checks_or), " or ");

	cr_assert_not_null(f, "cannot open %s", CASES);
	if (regen) {
		out = fopen(regen_path, "w");
		cr_assert_not_null(out);
	}
	while (fgets(line, sizeof(line), f)) {
		char *kind, *want, got[1024] = "";
		struct fl_ruleset *rs;
		struct fl_diag d = { 0 };
		int ret, want_ok;

		lineno++;
		chomp(line);
		if (line[0] == '\0' || line[0] == '#' ||
		    !(kind = strstr(line, " ; ")) || !(want = strstr(kind + 3, " ; "))) {
			cr_expect(line[0] == '\0' || line[0] == '#',
				  "cases:%u: malformed line '%s'", lineno, line);
			if (out)
				fprintf(out, "%s\n", line);
			continue;
		}
		*kind = '\0';
		kind += 3;
		*want = '\0';
		want += 3;
		snprintf(wantx, sizeof(wantx), "%s", want);
		replace_all(wantx, sizeof(wantx), "{checks}", checks_comma);
		replace_all(wantx, sizeof(wantx), "{checks-or}", checks_or);
		want = wantx;
		want_ok = strcmp(kind, "ok") == 0;
		cr_expect(want_ok || strcmp(kind, "error") == 0,
			  "cases:%u: kind must be ok or error, not '%s'", lineno, kind);
		ncases++;
		rs = parse_str(line, &d, &ret);
		if (ret == 0) {
			canonical(rs, got, sizeof(got));
		} else if (d.buf) {
			/* first line, without the "t:" file name */
			size_t n = strcspn(d.buf + 2, "\n");

			snprintf(got, sizeof(got), "%.*s", (int)n, d.buf + 2);
		}
		if (out) {
			char gotx[2048];

			snprintf(gotx, sizeof(gotx), "%s", got);
			replace_all(gotx, sizeof(gotx), checks_comma, "{checks}");
			replace_all(gotx, sizeof(gotx), checks_or, "{checks-or}");
			fprintf(out, "%s ; %s ; %s\n", line, ret == 0 ? "ok" : "error", gotx);
		}
		if (want_ok) {
			nok++;
			cr_expect_eq(ret, 0, "cases:%u: '%s' should parse: %s", lineno,
				     line, d.buf ? d.buf : "");
			cr_expect_eq(d.nerrors, 0);
			cr_expect_str_eq(got, want, "cases:%u: '%s': canonical form",
					 lineno, line);
			if (ret == 0)
				check_roundtrip(rs, got, lineno);
		} else {
			nerr++;
			cr_expect_eq(ret, -EINVAL, "cases:%u: '%s' should be refused",
				     lineno, line);
			cr_expect_eq(d.nerrors, 1, "cases:%u: one error expected, got %u",
				     lineno, d.nerrors);
			cr_expect_str_eq(got, want, "cases:%u: '%s': message", lineno, line);
			cr_expect_eq(rs->nrules + rs->nexpects + rs->nfiles, 0,
				     "cases:%u: a refused file added something", lineno);
			cr_expect_eq(rs->has_seed, 0);
		}
		fl_ruleset_free(rs);
		fl_diag_free(&d);
	}
	fclose(f);
	if (out) {
		fclose(out);
		cr_assert_eq(rename(regen_path, CASES), 0);
	}
	cr_expect_geq(nok, 60, "only %u ok cases", nok);
	cr_expect_geq(nerr, 60, "only %u error cases", nerr);
	cr_log_info("%u parser cases", ncases);
}

/* ---- whole files ---- */

Test(parser, every_error_reported_with_caret)
{
	static const char text[] =
		"# a file with three bad lines\n"
		"drop from client\n"
		"dorp\n"
		"\t delay 5 from server   # tab, then space\n"
		"expect exit 0\n"
		"drop port 0\n";
	static const char want[] =
		"f.rules:3:1: error: unknown action 'dorp'; did you mean 'drop'?\n"
		"dorp\n"
		"^\n"
		"f.rules:4:9: error: missing unit in duration '5': write 5ms or 5s (units: us, ms, s)\n"
		"\t delay 5 from server   # tab, then space\n"
		"\t       ^\n"
		"f.rules:6:11: error: 'port 0' is out of range: expected a port number from 1 to 65535\n"
		"drop port 0\n"
		"          ^\n";
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag d = { 0 };

	cr_assert_eq(fl_rules_parse(rs, "f.rules", text, strlen(text), &d), -EINVAL);
	cr_assert_eq(d.nerrors, 3);
	cr_assert_eq(d.nwarnings, 0);
	cr_assert_str_eq(d.buf, want);
	/* refused whole: the good lines are not kept either */
	cr_assert_eq(rs->nrules, 0);
	cr_assert_eq(rs->nexpects, 0);
	cr_assert_eq(rs->nfiles, 0);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
	cr_assert_null(d.buf);
	cr_assert_eq(d.nerrors, 0);
}

Test(parser, caret_under_tabs_and_at_end_of_line)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret;

	rs = parse_str("\t\tdrop  \tfrom\t", &d, &ret);
	cr_assert_eq(ret, -EINVAL);
	/* missing value: the caret goes just after 'from', tabs kept */
	cr_assert_str_eq(d.buf,
			 "t:1:14: error: 'from' needs a side: client, server, target or peer, got end of line\n"
			 "\t\tdrop  \tfrom\t\n"
			 "\t\t      \t    ^\n");
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

Test(parser, control_and_utf8_characters)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	char text[] = "drop \x01 data\ndrop from client # caf\xc3\xa9 is fine in a comment\n"
		      "drop \xc3\xa9t\xc3\xa9\n";
	int ret;

	rs = fl_ruleset_new();
	ret = fl_rules_parse(rs, "t", text, sizeof(text) - 1, &d);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_eq(d.nerrors, 2);
	cr_assert(strstr(d.buf, "t:1:6: error: expected a match (from, port, flags, !flags, data, len, conn, nth, prob) or a limit (times, after, before, after-bytes), got character '\\x01'\n"
				"drop ? data\n     ^\n"), "%s", d.buf);
	cr_assert(strstr(d.buf, "t:3:6: error: expected a match (from, port, flags, !flags, data, len, conn, nth, prob) or a limit (times, after, before, after-bytes), got character '\xc3\xa9'\n"),
		  "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);

	/* a NUL byte is an error too, not the end of the text */
	rs = fl_ruleset_new();
	ret = fl_rules_parse(rs, "t", "drop\0 data\n", 11, &d);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_eq(d.nerrors, 1);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

Test(parser, line_endings_and_empty_files)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret;

	rs = parse_str("drop from client\r\n\r\n   \n# only a comment\r\ndelay 5ms", &d, &ret);
	cr_assert_eq(ret, 0, "%s", d.buf ? d.buf : "");
	cr_assert_eq(rs->nrules, 2);
	cr_assert_eq(rs->rules[0].line, 1);
	cr_assert_eq(rs->rules[1].line, 5);
	cr_assert_eq(rs->rules[1].col, 1);
	cr_assert_eq(rs->rules[1].delay_us, 5000);
	fl_ruleset_free(rs);

	rs = parse_str("", &d, &ret);
	cr_assert_eq(ret, 0);
	cr_assert_eq(rs->nrules, 0);
	cr_assert_eq(rs->nfiles, 1);
	fl_ruleset_free(rs);

	/* an error on a CRLF line: the caret line has no stray \r */
	rs = parse_str("drop port 0\r\n", &d, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(strchr(d.buf, '\n') + 1, "drop port 0\n          ^\n");
	fl_ruleset_free(rs);
	fl_diag_free(&d);
	cr_assert_eq(fl_rules_parse(NULL, "t", "", 0, &d), -EINVAL);
}

Test(parser, positions_and_files)
{
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag d = { 0 };
	static const char a[] = "drop from client\n\n   delay 5ms\nexpect exit 3\n";
	static const char b[] = "reset\nset seed 7\n";
	static const char bad[] = "corrupt\ntruncate 0\nset seed 9\n";

	cr_assert_eq(fl_rules_parse(rs, "a.rules", a, strlen(a), &d), 0);
	cr_assert_eq(fl_rules_parse(rs, "b.rules", b, strlen(b), &d), 0);
	cr_assert_eq(fl_rules_parse(rs, "bad.rules", bad, strlen(bad), &d), -EINVAL);
	cr_assert_eq(d.nerrors, 2, "%s", d.buf);
	cr_assert(strstr(d.buf, "bad.rules:3:5: error: seed already set to 7 by an earlier file"));
	cr_assert(strncmp(d.buf, "bad.rules:2:10: error: ", 23) == 0, "%s", d.buf);
	cr_assert_eq(rs->nfiles, 2);
	cr_assert_eq(rs->nrules, 3);
	cr_assert_str_eq(rs->rules[0].file, "a.rules");
	cr_assert_eq(rs->rules[1].line, 3);
	cr_assert_eq(rs->rules[1].col, 4);
	cr_assert_str_eq(rs->rules[2].file, "b.rules");
	cr_assert_eq(rs->rules[2].action, FL_ACT_RESET);
	cr_assert_eq(rs->nexpects, 1);
	cr_assert_str_eq(rs->expects[0].file, "a.rules");
	cr_assert_eq(rs->expects[0].line, 4);
	cr_assert_eq(rs->expects[0].kind, FL_CHK_EXIT);
	cr_assert_eq(rs->expects[0].arg, 3);
	cr_assert_str_eq(rs->expects[0].text, "exit 3");
	cr_assert(rs->has_seed);
	cr_assert_eq(rs->seed, 7); /* the refused file's seed was not taken */
	fl_diag_free(&d);

	/* a later file may repeat the seed but not change it */
	cr_assert_eq(fl_rules_parse(rs, "c.rules", "set seed 7", 10, &d), 0);
	cr_assert_eq(fl_rules_parse(rs, "d.rules", "set seed 8", 10, &d), -EINVAL);
	cr_assert(strstr(d.buf, "d.rules:1:5: error: seed already set to 7 by an earlier file"),
		  "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

/* What a file says to run: the command as written (after the keyword and
 * its blanks, trailing blanks cut), its file, line and column; at most one
 * target, driver and peer in the files of one run, never a driver and a
 * peer, every such error reported with file:line:col, and a refused file
 * adds none of its commands or settings. */
Test(parser, commands_and_settings)
{
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag d = { 0 };
	static const char a[] = "# a test\ntarget  exec ./srv -p 7000 \t\n"
				"set timeout 20s\nset allow-skip\ndrop from client\n";
	static const char b[] = "driver ./cli -p 7000 >/dev/null\nset timeout 20s\n";
	static const char bad[] = "target ./other\npeer ./p\nset timeout 5s\n"
				  "driver ./again\nset settle 1s\n";
	static const char twice[] = "target ./a\ntarget ./b\ndriver ./c\npeer ./d\n"
				    "set mtu 9000\nset mtu 9000\n";
	char buf[256];

	cr_assert_eq(fl_rules_parse(rs, "a.rules", a, strlen(a), &d), 0, "%s", d.buf);
	cr_assert_eq(fl_rules_parse(rs, "b.rules", b, strlen(b), &d), 0, "%s", d.buf);
	cr_assert_str_eq(rs->commands[FL_CMD_TARGET].text, "exec ./srv -p 7000");
	cr_assert_str_eq(rs->commands[FL_CMD_TARGET].file, "a.rules");
	cr_assert_eq(rs->commands[FL_CMD_TARGET].line, 2);
	cr_assert_eq(rs->commands[FL_CMD_TARGET].col, 9);
	cr_assert_str_eq(rs->commands[FL_CMD_DRIVER].text, "./cli -p 7000 >/dev/null");
	cr_assert_str_eq(rs->commands[FL_CMD_DRIVER].file, "b.rules");
	cr_assert_null(rs->commands[FL_CMD_PEER].text);
	cr_assert(rs->settings[FL_SET_TIMEOUT].given);
	cr_assert_eq(rs->settings[FL_SET_TIMEOUT].value, 20000000u);
	cr_assert_str_eq(rs->settings[FL_SET_TIMEOUT].file, "a.rules");
	cr_assert_eq(rs->settings[FL_SET_TIMEOUT].line, 3);
	cr_assert(rs->settings[FL_SET_ALLOW_SKIP].given);
	cr_assert(!rs->settings[FL_SET_SETTLE].given);
	cr_assert(!rs->has_seed);
	cr_assert_eq(rs->nrules, 1);

	/* every error of the file, each naming where the first one was */
	cr_assert_eq(fl_rules_parse(rs, "bad.rules", bad, strlen(bad), &d), -EINVAL);
	cr_assert_eq(d.nerrors, 4, "%s", d.buf);
	cr_assert(strstr(d.buf, "bad.rules:1:1: error: a second 'target': already given "
				"on a.rules:2 (the files of one run give one)\n"), "%s", d.buf);
	cr_assert(strstr(d.buf, "bad.rules:2:1: error: 'peer' conflicts with 'driver' on "
				"b.rules:1: a run has a driver"), "%s", d.buf);
	cr_assert(strstr(d.buf, "bad.rules:3:5: error: timeout already set to 20s by an "
				"earlier file (a.rules:3)\n"), "%s", d.buf);
	cr_assert(strstr(d.buf, "bad.rules:4:1: error: a second 'driver': already given "
				"on b.rules:1"), "%s", d.buf);
	cr_assert(strstr(d.buf, "bad.rules:5:1: error: ") == NULL, "%s", d.buf);
	fl_diag_free(&d);
	/* nothing of it was taken */
	cr_assert_str_eq(rs->commands[FL_CMD_TARGET].text, "exec ./srv -p 7000");
	cr_assert_null(rs->commands[FL_CMD_PEER].text);
	cr_assert(!rs->settings[FL_SET_SETTLE].given);
	cr_assert_eq(fl_command_format(rs, FL_CMD_TARGET, buf, sizeof(buf)),
		     (int)strlen("target exec ./srv -p 7000"));
	cr_assert_str_eq(buf, "target exec ./srv -p 7000");
	cr_assert_eq(fl_command_format(rs, FL_CMD_PEER, buf, sizeof(buf)), -EINVAL);
	cr_assert_gt(fl_command_explain(rs, FL_CMD_TARGET, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "The program under test, run by /bin/sh as 'exec COMMAND' "
			      "(replaced by the command after '--'): exec ./srv -p 7000");
	cr_assert_gt(fl_setting_explain(rs, FL_SET_TIMEOUT, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "The run is stopped, and fails, after 20s; 0s: no limit "
			      "(as --timeout).");
	cr_assert_eq(fl_setting_format(rs, FL_SET_ALLOW_SKIP, buf, sizeof(buf)), 14);
	cr_assert_str_eq(buf, "set allow-skip");
	fl_ruleset_free(rs);

	/* within one file: the second of each, and the driver with the peer */
	rs = fl_ruleset_new();
	cr_assert_eq(fl_rules_parse(rs, "t", twice, strlen(twice), &d), -EINVAL);
	cr_assert_eq(d.nerrors, 3, "%s", d.buf);
	cr_assert(strstr(d.buf, "t:2:1: error: a second 'target': already given on line 1 "),
		  "%s", d.buf);
	cr_assert(strstr(d.buf, "t:4:1: error: 'peer' conflicts with 'driver' on line 3: "),
		  "%s", d.buf);
	cr_assert(strstr(d.buf, "t:6:5: error: mtu already set on line 5\n"), "%s", d.buf);
	cr_assert_null(rs->commands[FL_CMD_TARGET].text);
	cr_assert_eq(rs->nfiles, 0);
	fl_ruleset_free(rs);
	fl_diag_free(&d);

	/* a NUL in a command */
	rs = fl_ruleset_new();
	cr_assert_eq(fl_rules_parse(rs, "t", "target ./a\0b\n", 13, &d), -EINVAL);
	cr_assert(strstr(d.buf, "t:1:11: error: a command cannot hold a NUL byte"), "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

Test(parser, expect_conflicts)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret;

	rs = parse_str("expect exit 0\nexpect signal SIGPIPE\nexpect no-sigpipe\n"
		       "expect no-sigpipe\nexpect path client LISTEN\n"
		       "expect path server LISTEN\nset seed 1\nset seed 1\n",
		       &d, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_eq(d.nerrors, 3, "%s", d.buf);
	cr_assert(strstr(d.buf, "t:2:1: error: 'expect signal' conflicts with 'expect exit' on line 1: the target either exits or is killed\n"));
	cr_assert(strstr(d.buf, "t:4:1: error: duplicate 'expect no-sigpipe': already given on line 3\n"));
	cr_assert(strstr(d.buf, "t:8:5: error: seed already set on line 7\n"));
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

Test(parser, path_states)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret, i;
	char many[512] = "expect path target ESTABLISHED";

	rs = parse_str("expect path target syn-sent > Established > FIN-WAIT-1 > closed",
		       &d, &ret);
	cr_assert_eq(ret, 0);
	cr_assert_eq(rs->expects[0].kind, FL_CHK_PATH);
	cr_assert_eq(rs->expects[0].path_side, FL_SIDE_TARGET);
	cr_assert_eq(rs->expects[0].npath, 4);
	cr_assert_eq(rs->expects[0].path[0], FL_TCP_SYN_SENT);
	cr_assert_eq(rs->expects[0].path[1], FL_TCP_ESTABLISHED);
	cr_assert_eq(rs->expects[0].path[2], FL_TCP_FIN_WAIT1);
	cr_assert_eq(rs->expects[0].path[3], FL_TCP_CLOSE);
	cr_assert_str_eq(rs->expects[0].text,
			 "path target SYN_SENT > ESTABLISHED > FIN_WAIT1 > CLOSE");
	fl_ruleset_free(rs);

	for (i = 1; i < FL_PATH_MAX; i++)
		strcat(many, " > CLOSE_WAIT");
	rs = parse_str(many, &d, &ret);
	cr_assert_eq(ret, 0);
	cr_assert_eq(rs->expects[0].npath, FL_PATH_MAX);
	fl_ruleset_free(rs);
	strcat(many, " > CLOSE");
	rs = parse_str(many, &d, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert(strstr(d.buf, "error: a path has at most 16 states"), "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

/* ---- names ---- */

Test(names, states)
{
	cr_assert_eq(FL_TCP_ESTABLISHED, 1);
	cr_assert_eq(FL_TCP_CLOSE, 7);
	cr_assert_eq(FL_TCP_CLOSING, 11);
	cr_assert_eq(FL_TCP_NEW_SYN_RECV, 12);
	cr_assert_str_eq(fl_state_name(FL_TCP_CLOSE_WAIT), "CLOSE_WAIT");
	cr_assert_str_eq(fl_state_name(FL_TCP_FIN_WAIT2), "FIN_WAIT2");
	cr_assert_null(fl_state_name(0));
	cr_assert_null(fl_state_name(13));
	cr_assert_eq(fl_state_parse("CLOSED"), FL_TCP_CLOSE);
	cr_assert_eq(fl_state_parse("close"), FL_TCP_CLOSE);
	cr_assert_eq(fl_state_parse("FIN_WAIT_1"), FL_TCP_FIN_WAIT1);
	cr_assert_eq(fl_state_parse("fin-wait-1"), FL_TCP_FIN_WAIT1);
	cr_assert_eq(fl_state_parse("FIN-WAIT2"), FL_TCP_FIN_WAIT2);
	cr_assert_eq(fl_state_parse("SYN_RECEIVED"), FL_TCP_SYN_RECV);
	cr_assert_eq(fl_state_parse("SYN-RECEIVED"), FL_TCP_SYN_RECV);
	cr_assert_eq(fl_state_parse("time-wait"), FL_TCP_TIME_WAIT);
	cr_assert_eq(fl_state_parse("LISTEN"), FL_TCP_LISTEN);
	cr_assert_eq(fl_state_parse("ESTABLISHED "), -1);
	cr_assert_eq(fl_state_parse("FIN_WAIT"), -1);
	cr_assert_eq(fl_state_parse(""), -1);
}

Test(names, flags_signals_actions)
{
	char buf[64];

	cr_assert_eq(fl_flags_format(0xff, buf, sizeof(buf)), 31);
	cr_assert_str_eq(buf, "SYN,FIN,RST,PSH,ACK,URG,ECE,CWR");
	fl_flags_format(FL_TCP_ACK | FL_TCP_FIN, buf, sizeof(buf));
	cr_assert_str_eq(buf, "FIN,ACK");
	cr_assert_eq(fl_flags_format(0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(fl_flags_format(0xff, buf, 8), -ENOSPC);
	cr_assert_eq(strlen(buf), 7);

	cr_assert_str_eq(fl_signal_name(13), "SIGPIPE");
	cr_assert_str_eq(fl_signal_name(15), "SIGTERM");
	cr_assert_null(fl_signal_name(0));
	cr_assert_eq(fl_signal_number("SIGPIPE"), 13);
	cr_assert_eq(fl_signal_number("PIPE"), 13);
	cr_assert_eq(fl_signal_number("sigkill"), 9);
	cr_assert_eq(fl_signal_number("9"), -1);
	cr_assert_eq(fl_signal_number("SIG"), -1);
	cr_assert_eq(fl_signal_number(NULL), -1);

	cr_assert_str_eq(fl_action_name(FL_ACT_BLACKHOLE), "blackhole");
	cr_assert_str_eq(fl_side_name(FL_SIDE_PEER), "peer");
	cr_assert_str_eq(fl_check_name(FL_CHK_NO_UNREAD_CLOSE), "no-unread-close");
}

/* ---- numbers ---- */

Test(numbers, durations)
{
	uint64_t v = 77;

	cr_assert_eq(fl_parse_duration("50ms", &v), 0);
	cr_assert_eq(v, 50000);
	cr_assert_eq(fl_parse_duration("1.5s", &v), 0);
	cr_assert_eq(v, 1500000);
	cr_assert_eq(fl_parse_duration("200us", &v), 0);
	cr_assert_eq(v, 200);
	cr_assert_eq(fl_parse_duration("0.25ms", &v), 0);
	cr_assert_eq(v, 250);
	cr_assert_eq(fl_parse_duration("0s", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(fl_parse_duration("9223372036854775807us", &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(fl_parse_duration("9223372036854.775807s", &v), 0);
	cr_assert_eq(v, INT64_MAX);
	v = 77;
	cr_assert_eq(fl_parse_duration("9223372036854775808us", &v), -ERANGE);
	cr_assert_eq(fl_parse_duration("18446744073709551616us", &v), -ERANGE);
	cr_assert_eq(fl_parse_duration("99999999999999999999999s", &v), -ERANGE);
	cr_assert_eq(fl_parse_duration("9223372036855s", &v), -ERANGE);
	cr_assert_eq(fl_parse_duration("5", &v), -EINVAL);   /* missing unit */
	cr_assert_eq(fl_parse_duration("5ms ", &v), -EINVAL); /* junk */
	cr_assert_eq(fl_parse_duration(" 5ms", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("5msx", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("5m", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("1.5us", &v), -EINVAL); /* below 1us */
	cr_assert_eq(fl_parse_duration("1.0001ms", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("-5ms", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("+5ms", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration(".5s", &v), -EINVAL);
	cr_assert_eq(fl_parse_duration("5.s", &v), -EINVAL);
	cr_assert_eq(v, 77, "a failed parse must not write the result");
	cr_assert_eq(fl_parse_duration(NULL, &v), -EINVAL);
}

Test(numbers, sizes_and_integers)
{
	uint64_t v = 77;

	cr_assert_eq(fl_parse_size("1500", &v), 0);
	cr_assert_eq(v, 1500);
	cr_assert_eq(fl_parse_size("64k", &v), 0);
	cr_assert_eq(v, 65536);
	cr_assert_eq(fl_parse_size("1m", &v), 0);
	cr_assert_eq(v, 1048576);
	cr_assert_eq(fl_parse_size("2G", &v), 0);
	cr_assert_eq(v, 2147483648ull);
	cr_assert_eq(fl_parse_size("16777215t", &v), -EINVAL);
	cr_assert_eq(fl_parse_size("17179869183g", &v), 0);
	cr_assert_eq(fl_parse_size("17179869184g", &v), -ERANGE);
	cr_assert_eq(fl_parse_size("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(fl_parse_size("1.5k", &v), -EINVAL);
	cr_assert_eq(fl_parse_size("64kb", &v), -EINVAL);
	cr_assert_eq(fl_parse_size("k", &v), -EINVAL);
	cr_assert_eq(fl_parse_size("", &v), -EINVAL);

	cr_assert_eq(fl_parse_u64("18446744073709551615", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	v = 77;
	cr_assert_eq(fl_parse_u64("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(fl_parse_u64("99999999999999999999999999", &v), -ERANGE);
	cr_assert_eq(fl_parse_u64("12x", &v), -EINVAL);
	cr_assert_eq(fl_parse_u64("0x10", &v), -EINVAL);
	cr_assert_eq(fl_parse_u64("-1", &v), -EINVAL);
	cr_assert_eq(fl_parse_u64("", &v), -EINVAL);
	cr_assert_eq(v, 77);
	cr_assert_eq(fl_parse_u64("007", &v), 0);
	cr_assert_eq(v, 7);
}

/* ---- printing ---- */

static void explain_is(const char *text, const char *want)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	char buf[1024];
	int ret;

	rs = parse_str(text, &d, &ret);
	cr_assert_eq(ret, 0, "%s", d.buf ? d.buf : "");
	if (rs->nrules)
		ret = fl_rule_explain(&rs->rules[0], buf, sizeof(buf));
	else
		ret = fl_expect_explain(&rs->expects[0], buf, sizeof(buf));
	cr_assert_eq(ret, (int)strlen(want), "%s", buf);
	cr_assert_str_eq(buf, want);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

Test(format, explain)
{
	explain_is("drop from client flags FIN times 2",
		   "Drop segments from the client with FIN set, at most 2 times.");
	explain_is("drop", "Drop all segments.");
	explain_is("delay 200ms jitter 20ms from server flags ACK",
		   "Delay segments from the server with ACK set by 200ms give or take 20ms.");
	explain_is("rewrite flags=RST from client flags FIN",
		   "Rewrite segments from the client with FIN set so that the flags "
		   "become RST (checksum recomputed).");
	explain_is("reset out-of-window from peer data after-bytes 4k",
		   "Replace segments from the target's peer carrying data with an "
		   "out-of-window RST sent to their receiver (which should answer "
		   "with a challenge ACK), once the sender's stream passes byte 4096.");
	explain_is("blackhole from peer after 2s",
		   "Black-hole the flow, dropping every segment in both directions, "
		   "starting at its first segment from the target's peer, from 2s "
		   "after the flow's first packet on.");
	explain_is("duplicate 2 flags SYN,FIN,ACK !flags RST,URG len >= 1 nth 2 prob 0.5%",
		   "Duplicate segments with SYN, FIN and ACK set and neither RST nor URG "
		   "set with a payload of at least 1 byte (2 extra copies), only the 2nd "
		   "such segment of each flow, with probability 0.5%.");
	explain_is("truncate 10 from server data conn 3 times 1 before 1s",
		   "Truncate the payload of segments from the server carrying data on "
		   "the 3rd connection to 10 bytes, only in the first 1s of the flow, once.");
	explain_is("expect no-close-wait 500ms",
		   "No target socket stays in CLOSE_WAIT longer than 500ms.");
	explain_is("expect signal PIPE", "The target is killed by SIGPIPE.");
	explain_is("expect path client ESTABLISHED > CLOSE",
		   "The client's socket goes through ESTABLISHED, CLOSE in that order.");
}

Test(format, small_buffers)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	char buf[16];
	int ret;

	rs = parse_str("delay 200ms jitter 20ms from server flags ACK\nexpect exit 0",
		       &d, &ret);
	cr_assert_eq(ret, 0);
	cr_assert_eq(fl_rule_format(&rs->rules[0], buf, sizeof(buf)), -ENOSPC);
	cr_assert_str_eq(buf, "delay 200ms jit");
	cr_assert_eq(fl_rule_explain(&rs->rules[0], buf, sizeof(buf)), -ENOSPC);
	cr_assert_eq(strlen(buf), sizeof(buf) - 1);
	cr_assert_eq(fl_expect_format(&rs->expects[0], buf, sizeof(buf)), 13);
	cr_assert_str_eq(buf, "expect exit 0");
	cr_assert_eq(fl_expect_format(&rs->expects[0], buf, 5), -ENOSPC);
	cr_assert_eq(fl_rule_format(NULL, buf, sizeof(buf)), -EINVAL);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

/* ---- lint ---- */

Test(lint, warnings)
{
	static const char text[] =
		"drop from client flags FIN times 1\n"  /* 1: limited, shadows nothing */
		"drop from client flags FIN\n"          /* 2 */
		"delay 5ms from client flags FIN,ACK\n" /* 3: shadowed by 2 */
		"delay 5ms from server\n"               /* 4 */
		"drop flags FIN !flags FIN,RST\n"      /* 5: contradiction */
		"drop data   len == 0\n"                /* 6: contradiction */
		"delay 1s from target flags SYN\n"      /* 7: RTO */
		"delay 900ms jitter 100ms from peer\n"  /* 8: RTO with jitter */
		"delay 999ms from client flags ACK\n"   /* 9: fine */
		"drop from server data prob 5%\n"      /* 10: no seed; shadowed by 4 */
		"corrupt from target len > 0 prob 1%\n" /* 11: second prob: no repeat */
		"drop len < 0\n";                       /* 12: never holds */
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret;

	rs = parse_str(text, &d, &ret);
	cr_assert_eq(ret, 0, "%s", d.buf ? d.buf : "");
	cr_assert_null(d.buf, "parsing must not warn");
	ret = fl_rules_lint(rs, &d);
	cr_assert_eq(ret, 8, "%s", d.buf);
	cr_assert_eq(d.nwarnings, 8);
	cr_assert_eq(d.nerrors, 0);
	cr_assert(strstr(d.buf,
			 "t:3:1: warning: this rule never fires: the rule at t:2 "
			 "('drop from client flags FIN') matches every segment it "
			 "matches and has no limit, prob or nth, so it always wins\n"
			 "delay 5ms from client flags FIN,ACK\n^\n"), "%s", d.buf);
	cr_assert(strstr(d.buf,
			 "t:5:16: warning: 'flags' and '!flags' both name FIN: this "
			 "rule never matches\ndrop flags FIN !flags FIN,RST\n"
			 "               ^\n"), "%s", d.buf);
	cr_assert(strstr(d.buf, "t:6:13: warning: 'data' and 'len == 0' contradict: "
				"this rule never matches\n"), "%s", d.buf);
	cr_assert(strstr(d.buf, "t:7:1: warning: a delay of up to 1s reaches the "
				"initial retransmission timeout (1s on Linux, RFC 6298 "
				"section 2.1): the sender will retransmit while the "
				"segment is held\n"), "%s", d.buf);
	cr_assert(strstr(d.buf, "t:8:1: warning: a delay of up to 1s"), "%s", d.buf);
	cr_assert_null(strstr(d.buf, "t:9:"), "%s", d.buf);
	cr_assert(strstr(d.buf, "t:10:1: warning: this rule never fires: the rule at t:4"),
		  "%s", d.buf);
	cr_assert(strstr(d.buf, "t:10:23: warning: 'prob' without 'set seed': runs "
				"are not reproducible unless --seed is given\n"), "%s", d.buf);
	cr_assert_null(strstr(d.buf, "t:11:"), "%s", d.buf);
	cr_assert(strstr(d.buf, "t:12:6: warning: 'len < 0' never holds: this rule "
				"never matches\n"), "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

/* n rules the pairwise linter compared in n*n/2 pairs: every one can shadow
 * and none holds another's lengths (each is "len == k" on one key), plus a
 * shadowed one every 64 rules; the shadow search's steps and its warnings. */
static uint64_t lint_work(unsigned n, int *warnings)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	char *text = malloc((size_t)n * 64 + 1);
	size_t len = 0;
	uint64_t work = 0;
	unsigned i;
	int ret;

	cr_assert_not_null(text);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, 64, i % 64 == 63 ?
					"delay 5ms from client flags FIN,ACK len == %u\n" :
					"drop flags FIN len == %u\n", i % 64 == 63 ? i - 1 : i);
	rs = parse_str(text, &d, &ret);
	cr_assert_eq(ret, 0, "%s", d.buf ? d.buf : "");
	*warnings = fl__rules_lint_work(rs, &d, &work);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
	free(text);
	return work;
}

Test(lint, shadow_search_is_n_log_n)
{
	unsigned n = 20000;
	int w1, w2;
	uint64_t a = lint_work(n, &w1), b = lint_work(2 * n, &w2);

	/* the same warnings the pairwise loop gave: each shadowed rule once */
	cr_assert_eq(w1, (int)(n / 64), "%d", w1);
	cr_assert_eq(w2, (int)(2 * n / 64), "%d", w2);
	/* n log n: doubling n a little more than doubles the work (a pairwise
	 * loop quadruples it), and the work stays within a few log2(n) steps
	 * per rule (log2(20000) < 15) */
	cr_assert_lt(b, a * 5 / 2, "%llu then %llu", (unsigned long long)a,
		     (unsigned long long)b);
	cr_assert_lt(a, (uint64_t)n * 15 * 8, "%llu", (unsigned long long)a);
}

/* dead-peer needs a rule that loses segments; with one it is quiet. */
Test(lint, dead_peer_without_loss)
{
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret;

	rs = parse_str("delay 5ms from server\n  expect dead-peer 5s\n", &d, &ret);
	cr_assert_eq(ret, 0, "%s", d.buf ? d.buf : "");
	ret = fl_rules_lint(rs, &d);
	cr_assert_eq(ret, 1, "%s", d.buf);
	cr_assert(strstr(d.buf, "t:2:3: warning: no rule loses segments (drop, blackhole, "
				"corrupt): no peer can go silent, and dead-peer judges "
				"nothing\n  expect dead-peer 5s\n  ^\n"), "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
	memset(&d, 0, sizeof(d));
	rs = parse_str("blackhole after 1s\nexpect dead-peer 5s\n", &d, &ret);
	cr_assert_eq(ret, 0);
	cr_assert_eq(fl_rules_lint(rs, &d), 0, "%s", d.buf);
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}

Test(lint, quiet_when_fine)
{
	static const char text[] =
		"set seed 1\n"
		"drop from client flags FIN times 2\n"
		"drop from client flags FIN nth 2\n"
		"drop from client flags FIN prob 50%\n"
		"drop from client flags FIN after 1s\n"
		"drop from client flags FIN\n"
		"drop from server len != 0\n"
		"drop from server data\n"      /* shadowed by the line above */
		"drop from target len >= 10\n"
		"drop from target len > 100\n"; /* shadowed by the line above */
	struct fl_diag d = { 0 };
	struct fl_ruleset *rs;
	int ret;

	rs = parse_str(text, &d, &ret);
	cr_assert_eq(ret, 0);
	ret = fl_rules_lint(rs, &d);
	/* "len != 0" implies data and "len > 100" implies "len >= 10" */
	cr_assert_eq(ret, 2, "%s", d.buf);
	cr_assert(strstr(d.buf, "t:8:1: warning: this rule never fires: the rule at t:7"));
	cr_assert(strstr(d.buf, "t:10:1: warning: this rule never fires: the rule at t:9"));
	fl_ruleset_free(rs);
	fl_diag_free(&d);
}
