/*
 * fuzz_rules.c - libFuzzer target for the rule parser and printer.
 *
 * The input is a rule file.  Parsing must return 0, -EINVAL (with at least
 * one error, and nothing added to the ruleset) or -ENOMEM.  When it parses,
 * the canonical text of every rule and expect must parse back on its own
 * to exactly one item whose canonical text is identical.  Everything is
 * freed, so LeakSanitizer checks the parser's cleanup paths too.  A
 * violated invariant traps.  Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

enum { FMT_MAX = 4096 };

/* Parse one canonical line back; expect exactly one rule (is_rule) or one
 * expect, printing identically. */
static void round_trip(const char *text, size_t len, int is_rule)
{
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag diag = {0};
	char again[FMT_MAX];
	int ret, n;

	if (!rs)
		return;
	ret = fl_rules_parse(rs, "canon", text, len, &diag);
	if (ret == -ENOMEM)
		goto out;
	CHECK(ret == 0);
	CHECK(diag.nerrors == 0);
	if (is_rule) {
		CHECK(rs->nrules == 1 && rs->nexpects == 0);
		n = fl_rule_format(&rs->rules[0], again, sizeof(again));
	} else {
		CHECK(rs->nrules == 0 && rs->nexpects == 1);
		n = fl_expect_format(&rs->expects[0], again, sizeof(again));
	}
	CHECK(n >= 0 && (size_t)n == len);
	CHECK(!memcmp(again, text, len));
out:
	fl_ruleset_free(rs);
	fl_diag_free(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_ruleset *rs = fl_ruleset_new();
	struct fl_diag diag = {0};
	char line[FMT_MAX];
	size_t i;
	int ret, n;

	if (!rs)
		return 0;
	ret = fl_rules_parse(rs, "fuzz", (const char *)data, size, &diag);
	if (ret == -ENOMEM)
		goto out;
	if (ret == -EINVAL) {
		/* refused whole, and said why */
		CHECK(diag.nerrors > 0 && diag.buf && diag.len > 0);
		CHECK(strlen(diag.buf) == diag.len);
		CHECK(rs->nrules == 0 && rs->nexpects == 0);
		goto out;
	}
	CHECK(ret == 0);
	CHECK(diag.nerrors == 0);
	ret = fl_rules_lint(rs, &diag);
	CHECK(ret >= 0 || ret == -ENOMEM);
	for (i = 0; i < rs->nrules; i++) {
		n = fl_rule_format(&rs->rules[i], line, sizeof(line));
		CHECK(n >= 0 && (size_t)n == strlen(line));
		round_trip(line, (size_t)n, 1);
		n = fl_rule_explain(&rs->rules[i], line, sizeof(line));
		CHECK(n >= 0 && (size_t)n == strlen(line));
	}
	for (i = 0; i < rs->nexpects; i++) {
		n = fl_expect_format(&rs->expects[i], line, sizeof(line));
		CHECK(n >= 0 && (size_t)n == strlen(line));
		round_trip(line, (size_t)n, 0);
		n = fl_expect_explain(&rs->expects[i], line, sizeof(line));
		CHECK(n >= 0 && (size_t)n == strlen(line));
	}
out:
	fl_ruleset_free(rs);
	fl_diag_free(&diag);
	return 0;
}
