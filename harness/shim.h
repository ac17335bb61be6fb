/*
 * shim.h - the harness's side of the LD_PRELOAD shim (preload/): where
 * libfaultline-preload.so is, and the environment that loads it into a
 * process and points it at the run's event channel (calls.h); and where
 * the sample programs are ($FAULTLINE_SAMPLES for the run's commands).
 * Single-threaded; no state of its own.
 */
#ifndef FL_SHIM_H
#define FL_SHIM_H

#include <stddef.h>

/*
 * The shim's path into path[0..n): preload (--preload) if not NULL, else
 * $FAULTLINE_PRELOAD if set and not empty, else the first readable
 * libfaultline-preload.so of: beside libfaultline.so and in
 * LIBDIR/faultline/ relative to it, when this code runs in a program
 * that linked the library; beside this binary (a build tree); at the
 * installed LIBDIR/faultline/ relative to it.  "" when no_preload.  Returns 0, or -errno with err saying
 * what is missing and how to fix it: the named shim is not readable, or
 * none was found (-ENOENT: install it, --preload PATH, or --no-preload).
 * Must run before the sandbox's /proc hides /proc/self/exe from the
 * harness.
 */
int fl_shim_find(const char *preload, int no_preload, char *path, size_t n,
		 char *err, size_t errlen);

/*
 * The directory of the sample programs (echo_server, tcp_client, ...)
 * into path[0..n): $FAULTLINE_SAMPLES if set and not empty, else the
 * first directory holding an executable echo_server of: targets/ beside
 * libfaultline.so and LIBDIR/faultline/samples relative to it (when
 * linked), then the same two relative to this binary (a build tree,
 * installed).  Returns 0,
 * or -ENOENT ("" in path).  Like fl_shim_find(), before the sandbox.
 */
int fl_samples_dir(char *path, size_t n);

/*
 * The environment that loads the shim at path (from fl_shim_find()) and
 * sends its events to the channel named sock: env[0] "LD_PRELOAD=path"
 * (before what $LD_PRELOAD already holds), env[1] "FAULTLINE_SOCK=sock",
 * both malloc'd for the caller to free.  An empty path (--no-preload)
 * leaves env alone.  Returns 0, or -errno (path not readable, -ENOMEM) with err
 * saying why.
 */
int fl_shim_env(const char *path, const char *sock, int no_preload,
		char **env, char *err, size_t errlen);

#endif
