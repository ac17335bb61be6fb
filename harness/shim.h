/*
 * shim.h - the harness's side of the LD_PRELOAD shim (preload/): where
 * libfaultline-preload.so is, and the environment that loads it into a
 * process and points it at the run's event channel (calls.h).
 * Single-threaded; no state of its own.
 */
#ifndef FL_SHIM_H
#define FL_SHIM_H

#include <stddef.h>

/*
 * The shim's path into path[0..n): preload (--preload) if not NULL, else
 * $FAULTLINE_PRELOAD, else libfaultline-preload.so next to this binary or
 * in ../lib/faultline/ from it, if readable; "" when no_preload or none
 * is found.  Must run before the sandbox's /proc hides /proc/self/exe
 * from the harness.
 */
void fl_shim_find(const char *preload, int no_preload, char *path, size_t n);

/*
 * The environment that loads the shim at path (from fl_shim_find()) and
 * sends its events to the channel named sock: env[0] "LD_PRELOAD=path"
 * (before what $LD_PRELOAD already holds), env[1] "FAULTLINE_SOCK=sock",
 * both malloc'd for the caller to free.  An empty path leaves env alone
 * and, unless no_preload, says on stderr that socket calls will not be
 * observed.  Returns 0, or -errno (path not readable, -ENOMEM) with err
 * saying why.
 */
int fl_shim_env(const char *path, const char *sock, int no_preload,
		char **env, char *err, size_t errlen);

#endif
