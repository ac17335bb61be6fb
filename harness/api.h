/*
 * api.h - inside libfaultline: what the caller's side of a run (api.c)
 * and the helper that does it (api_helper.c) share, and the report's
 * reader (api_result.c).  The request travels as a JSON object on the
 * helper's fd API_FD_REQUEST, the JSON report (the CLI's --report) comes
 * back on API_FD_REPORT.  No state; thread-safe.
 */
#ifndef FL_API_H
#define FL_API_H

#include <stddef.h>
#include <stdint.h>

struct faultline_result;

/* The helper's descriptors (0, 1 and 2 are its stdio). */
#define API_FD_REQUEST 3
#define API_FD_REPORT 4
/* Its file name, in LIBDIR/faultline/ (installed) or next to the library
 * (a build tree). */
#define API_HELPER "faultline-run"

/*
 * The helper's main(): reads the request, parses its rules and runs
 * fl_run() with the report on API_FD_REPORT.  Returns the exit status,
 * as `faultline run`'s.  Exported (version node FAULTLINE_PRIVATE) for
 * faultline-run's main only; not in faultline.h.
 */
int faultline__helper_main(int argc, char **argv);

/* Whether driver and peer (either may be NULL) make a run, as cli.c
 * has them: neither empty, not both.  0 or -EINVAL, err saying why. */
int api_cmds_check(const char *driver, const char *peer, char *err,
		   size_t errlen);

/*
 * Whether the target may keep every capability of mask (1ULL << CAP_x)
 * as --keep-cap would let it: 0, -EINVAL for a number faultline does not
 * know, -EPERM for one it never keeps (caps.h), err saying which.
 */
int api_caps_check(uint64_t mask, char *err, size_t errlen);

/*
 * A result from the JSON report text json (len bytes, not necessarily
 * NUL-terminated) and the run's stderr diag (may be NULL); both copied.
 * Returns 0 with *res, -EPROTO when the text is not a report (err says
 * where), or -ENOMEM.
 */
int api_result_parse(const char *json, size_t len, const char *diag,
		     int exit_status, struct faultline_result **res,
		     char *err, size_t errlen);

#endif
