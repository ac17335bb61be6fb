/*
 * test_caps.c - --keep-cap and the report of refused privileged
 * operations, on a server that drops its privileges before it serves
 * (tests/targets/priv_drop_server: setgroups(0), setgid(65534),
 * setuid(65534), as nginx's master does for its workers) and says what
 * each call returned and which capabilities it held, before and after.
 * What the program says is compared with what the report says:
 *   - as root, without --keep-cap: each call is EPERM, the report has a
 *     "target: setgid(65534) failed with EPERM (no CAP_SETGID in the
 *     sandbox; --keep-cap setgid would keep it)" line and the same in
 *     "denied", and the run is INCONCLUSIVE (the privileges check);
 *   - as root, with --keep-cap setuid,setgid: the target holds exactly
 *     those (CapEff, CapBnd, CapAmb 0xc0), the calls succeed, it loses
 *     them with its uid as outside faultline, the report says nothing and
 *     the run passes; the driver holds none;
 *   - as uid 65534 (faultline unprivileged: a user namespace mapping
 *     65534 alone): the kept set is there too, but setgroups stays EPERM
 *     and setuid(0) EINVAL, and the report says why (the namespace, not a
 *     capability) and only notes it;
 * *   - a driver's refusal (--preload-driver) is named as its own and only
 *     noted;
 *   - bad --keep-cap lists: exit 2, with the names or the reason.
 *
 * Runs in the Criterion test process, single-threaded.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define SERVER FL_TARGETS "/priv_drop_server"
/* The driver: its own capability sets into DIR/driver.caps, then one
 * echo exchange. */
#define DRIVER "grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status > {dir}/driver.caps; " \
	WAIT_7000 CLIENT_CMD("-p 7000 --rtt 2")

static void run_server(struct run_result *r, enum as_user u, const char *opts,
		       const char *setuid_to)
{
	const char *target[] = {SERVER, "--groups", "--setgid", "65534",
				"--setuid", setuid_to, NULL};

	rr_faultline(r, u, &(struct fl_args){.timeout = "30s", .opts = opts,
					     .driver = DRIVER, .argv = target});
}

/* The report's "denied" entry for fn, or NULL. */
static json_object *denied(json_object *rep, const char *fn)
{
	json_object *a = json_object_object_get(rep, "denied");

	cr_assert_not_null(a, "no \"denied\" in the report");
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (!strcmp(js(json_object_array_get_idx(a, i), "fn") ?: "", fn))
			return json_object_array_get_idx(a, i);
	return NULL;
}

static void want_denied(json_object *rep, const char *fn, const char *arg,
			const char *err, const char *cap, int withheld)
{
	json_object *d = denied(rep, fn);

	cr_assert_not_null(d, "no %s in \"denied\"", fn);
	cr_assert_str_eq(js(d, "arg"), arg);
	cr_assert_str_eq(js(d, "errno"), err);
	cr_assert_str_eq(js(d, "cap"), cap);
	cr_assert_eq(ji(d, "count"), 1);
	cr_assert_eq(json_object_get_boolean(json_object_object_get(d, "withheld")),
		     withheld, "%s: withheld", fn);
}

Test(caps, root_without_keep_cap_is_denied, .timeout = 120)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_server(&r, AS_ROOT, NULL, "65534");
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: %s", r.err);
	/* what the program says it got */
	cr_assert(strstr(r.out, "CAPS eff=0000000000000000 bnd=0000000000000000 "
			 "amb=0000000000000000\n"), "%s", r.out);
	cr_assert(strstr(r.out, "CALL fn=setgroups arg=0 ret=-1 errno=EPERM\n"));
	cr_assert(strstr(r.out, "CALL fn=setgid arg=65534 ret=-1 errno=EPERM\n"));
	cr_assert(strstr(r.out, "CALL fn=setuid arg=65534 ret=-1 errno=EPERM\n"));
	/* what the report says of it */
	cr_assert(strstr(r.out, "target: setgid(65534) failed with EPERM (no "
			 "CAP_SETGID in the sandbox; --keep-cap setgid would "
			 "keep it)"), "%s", r.out);
	cr_assert(strstr(r.out, "target: setuid(65534) failed with EPERM (no "
			 "CAP_SETUID in the sandbox; --keep-cap setuid would "
			 "keep it)"), "%s", r.out);
	want_denied(rep, "setgroups", "0", "EPERM", "CAP_SETGID", 1);
	want_denied(rep, "setgid", "65534", "EPERM", "CAP_SETGID", 1);
	want_denied(rep, "setuid", "65534", "EPERM", "CAP_SETUID", 1);
	cr_assert_eq(json_object_array_length(json_object_object_get(rep, "denied")), 3);
	cr_assert_eq(ji(json_object_object_get(rep, "calls"), "setgid"), 1);
	/* the server served anyway: the run tested less, not nothing */
	cr_assert_str_eq(js(rep, "result"), "INCONCLUSIVE");
	cr_assert_eq(r.status, 1);
	cr_assert(json_object_get_boolean(json_object_object_get(
		report_check(rep, "privileges"), "skipped")));
	json_object_put(rep);
	rr_free(&r);
}

Test(caps, root_with_keep_cap_succeeds, .timeout = 120)
{
	struct run_result r;
	json_object *rep;

	rr_init(&r);
	run_server(&r, AS_ROOT, "--keep-cap setuid,CAP_SETGID", "65534");
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: %s", r.err);
	/* exactly the kept two: CAP_SETGID (6) and CAP_SETUID (7) */
	cr_assert(strstr(r.out, "IDS uid=0 euid=0 gid=0 egid=0\nCAPS "
			 "eff=00000000000000c0 bnd=00000000000000c0 "
			 "amb=00000000000000c0\n"), "%s", r.out);
	cr_assert(strstr(r.out, "CALL fn=setgroups arg=0 ret=0 errno=0\n"));
	cr_assert(strstr(r.out, "CALL fn=setgid arg=65534 ret=0 errno=0\n"));
	cr_assert(strstr(r.out, "CALL fn=setuid arg=65534 ret=0 errno=0\n"));
	/* setuid away from 0 drops them, as it would outside faultline */
	cr_assert(strstr(r.out, "IDS uid=65534 euid=65534 gid=65534 egid=65534\n"
			 "CAPS eff=0000000000000000 bnd=00000000000000c0 "
			 "amb=0000000000000000\n"), "%s", r.out);
	/* the driver keeps nothing */
	cr_assert(strstr(rr_read(&r, "driver.caps"), "CapEff:\t0000000000000000\n"),
		  "%s", rr_read(&r, "driver.caps"));
	cr_assert(strstr(rr_read(&r, "driver.caps"), "CapBnd:\t0000000000000000\n"));
	cr_assert(strstr(rr_read(&r, "driver.caps"), "CapAmb:\t0000000000000000\n"));
	cr_assert_null(strstr(r.out, "failed with"), "%s", r.out);
	cr_assert_eq(json_object_array_length(json_object_object_get(rep, "denied")), 0);
	cr_assert_null(report_check(rep, "privileges"));
	cr_assert_str_eq(js(rep, "result"), "PASS", "%s", r.out);
	cr_assert_eq(r.status, 0);
	json_object_put(rep);
	rr_free(&r);
}

Test(caps, nobody_keeps_caps_over_its_namespace_only, .timeout = 120)
{
	struct run_result r;
	json_object *rep, *d;

	rr_init(&r);
	run_server(&r, AS_NOBODY, "--keep-cap setuid,setgid", "0");
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: %s", r.err);
	cr_assert(strstr(r.out, "IDS uid=65534 euid=65534 gid=65534 egid=65534\n"
			 "CAPS eff=00000000000000c0 bnd=00000000000000c0 "
			 "amb=00000000000000c0\n"), "%s", r.out);
	cr_assert(strstr(rr_read(&r, "driver.caps"), "CapEff:\t0000000000000000\n"),
		  "%s", rr_read(&r, "driver.caps"));
	/* its own gid: no capability needed; setgroups: refused in a user
	 * namespace an unprivileged user made; uid 0: not mapped */
	cr_assert(strstr(r.out, "CALL fn=setgid arg=65534 ret=0 errno=0\n"));
	cr_assert(strstr(r.out, "CALL fn=setgroups arg=0 ret=-1 errno=EPERM\n"));
	cr_assert(strstr(r.out, "CALL fn=setuid arg=0 ret=-1 errno=EINVAL\n"));
	cr_assert(strstr(r.out, "target: setgroups(0) failed with EPERM (setgroups "
			 "is denied in the sandbox's user namespace (faultline "
			 "runs unprivileged, as uid 65534), whatever the "
			 "capabilities: run faultline as root)"), "%s", r.out);
	cr_assert(strstr(r.out, "target: setuid(0) failed with EINVAL (an id not "
			 "mapped in the sandbox's user namespace"), "%s", r.out);
	want_denied(rep, "setgroups", "0", "EPERM", "CAP_SETGID", 0);
	want_denied(rep, "setuid", "0", "EINVAL", "CAP_SETUID", 0);
	cr_assert_null(denied(rep, "setgid"));
	d = denied(rep, "setuid");
	cr_assert(json_object_get_boolean(json_object_object_get(d, "cap_held")));
	/* noted, not a reason to doubt the run: it would be so outside */
	cr_assert_str_eq(js(rep, "result"), "PASS", "%s", r.out);
	json_object_put(rep);
	rr_free(&r);
}

Test(caps, bad_lists_exit_2, .timeout = 60)
{
	static const struct {
		const char *opt, *msg;
	} bad[] = {
		{"--keep-cap setuid,nosuch", "unknown capability 'nosuch'; the "
		 "valid names (case-insensitive, with or without CAP_): CHOWN,"},
		{"--keep-cap setuid,", "empty capability name"},
		{"--keep-cap sys_admin", "CAP_SYS_ADMIN is never kept for the "
		 "target: it can unmount"},
		{"--keep-cap CAP_SYS_PTRACE", "CAP_SYS_PTRACE is never kept"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run_result r;
		const char *target[] = {"/bin/true", NULL};

		rr_init(&r);
		rr_faultline(&r, AS_ROOT, &(struct fl_args){.opts = bad[i].opt,
				     .no_trace = 1, .no_report = 1, .argv = target});
		cr_assert_eq(r.status, 2, "%s: status %d", bad[i].opt, r.status);
		cr_assert(strstr(r.err, bad[i].msg), "%s: %s", bad[i].opt, r.err);
		rr_free(&r);
	}
}

/*
 * Under --preload-driver the driver reports its refusals too: a driver
 * that setpriv --regid's (EPERM: the driver never keeps a capability,
 * --keep-cap or not) is named as the driver's, and does not make the run
 * INCONCLUSIVE: it says nothing about the state the target ran in.
 */
Test(caps, driver_denial_is_the_drivers, .timeout = 120)
{
	struct run_result r;
	json_object *rep, *d;
	const char *target[] = {SERVER, NULL};

	rr_init(&r);
	rr_faultline(&r, AS_ROOT, &(struct fl_args){.timeout = "30s",
		     .opts = "--preload-driver --keep-cap setgid",
		     .driver = "setpriv --regid=65534 --clear-groups true; "
			       WAIT_7000 CLIENT_CMD("-p 7000 --rtt 1"),
		     .argv = target});
	rep = rr_report(&r);
	cr_assert_not_null(rep, "no report: %s", r.err);
	d = denied(rep, "setresgid");
	cr_assert_not_null(d, "%s", r.out);
	cr_assert_str_eq(js(d, "role"), "driver");
	cr_assert_str_eq(js(d, "errno"), "EPERM");
	cr_assert(!json_object_get_boolean(json_object_object_get(d, "withheld")));
	cr_assert(strstr(r.out, "driver: setresgid(65534, 65534, 65534) failed "
			 "with EPERM (no CAP_SETGID: the driver never keeps a "
			 "capability"), "%s", r.out);
	cr_assert_str_eq(js(rep, "result"), "PASS", "%s", r.out);
	json_object_put(rep);
	rr_free(&r);
}
