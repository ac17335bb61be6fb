/* shim.c - finding the LD_PRELOAD shim and the sample programs, and the
 * environment that loads the shim; see shim.h.  Single-threaded.
 *
 * Where they are is asked of the code's own file, not of a path baked in
 * at build time, so that a build tree, `cmake --install --prefix P`, the
 * .deb and a copy moved elsewhere all work: the directory of the running
 * binary (/proc/self/exe) and, when this code runs inside another
 * program that linked libfaultline.so, the directory of that library
 * (dladdr() on a function of this file), which comes first.  From each,
 * the build tree's layout (the shim beside it, the samples in targets/)
 * and the installed one (FL_BIN_TO_PKGLIB from the binary,
 * FL_LIB_TO_PKGLIB from the library, both computed by CMake from
 * GNUInstallDirs). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* LIBDIR/faultline relative to BINDIR and to LIBDIR (CMakeLists.txt). */
#ifndef FL_BIN_TO_PKGLIB
#define FL_BIN_TO_PKGLIB "../lib/faultline"
#endif
#ifndef FL_LIB_TO_PKGLIB
#define FL_LIB_TO_PKGLIB "faultline"
#endif

#define SHIM_NAME "libfaultline-preload.so"

/* The directories to look from, in order: the library's when this code
 * is not in the binary itself (the shim of that library's version), then
 * the binary's; each with LIBDIR/faultline relative to it.  dir "" when
 * there is none. */
struct bases {
	struct {
		char dir[PATH_MAX - 128];
		const char *to_pkglib;
	} b[2];
};

/* dir of path into out (n bytes); 0 or -1 when path has no slash. */
static int dir_of(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!slash || (size_t)(slash - path) >= n)
		return -1;
	memcpy(out, path, (size_t)(slash - path));
	out[slash - path] = 0;
	return 0;
}

static void bases_get(struct bases *b)
{
	char exe[sizeof(b->b[0].dir)];
	char real[PATH_MAX];
	ssize_t len;
	Dl_info info;

	b->b[0].dir[0] = b->b[1].dir[0] = 0;
	b->b[0].to_pkglib = FL_LIB_TO_PKGLIB;
	b->b[1].to_pkglib = FL_BIN_TO_PKGLIB;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = 0;
		dir_of(exe, b->b[1].dir, sizeof(b->b[1].dir));
	}
	/* The main program's dli_fname is its argv[0], not a path to trust:
	 * only a shared object's name (a full path from the loader) counts,
	 * and only when it is not the binary itself. */
	if (dladdr((void *)bases_get, &info) && info.dli_fname &&
	    info.dli_fname[0] == '/' && realpath(info.dli_fname, real) &&
	    (len <= 0 || strcmp(real, exe) != 0))
		dir_of(real, b->b[0].dir, sizeof(b->b[0].dir));
}

/* The candidate i (0, 1, ...) from base directory k as "BASE/build" (a
 * build tree) or "BASE/TO_PKGLIB/installed" into path ("" if too long);
 * 0, or -1 when there is no candidate i. */
static int candidate(const struct bases *b, int k, int i, const char *build,
		     const char *installed, char *path, size_t n)
{
	int w;

	if (!b->b[k].dir[0] || i > 1)
		return -1;
	if (i == 0)
		w = snprintf(path, n, "%s/%s", b->b[k].dir, build);
	else
		w = snprintf(path, n, "%s/%s/%s", b->b[k].dir,
			     b->b[k].to_pkglib, installed);
	if (w < 0 || (size_t)w >= n)
		path[0] = 0;
	return 0;
}

/* Every candidate for the shim, in order, as "A, B, C" (for the message). */
static void shim_tried(const struct bases *b, char *out, size_t n)
{
	char p[PATH_MAX];
	size_t used = 0;

	out[0] = 0;
	for (int k = 0; k < 2; k++)
		for (int i = 0; candidate(b, k, i, SHIM_NAME, SHIM_NAME, p,
					  sizeof(p)) == 0; i++) {
			int w = snprintf(out + used, n - used, "%s%s",
					 used ? ", " : "", p);

			if (w < 0 || (size_t)w >= n - used)
				return;
			used += (size_t)w;
		}
}

int fl_shim_find(const char *preload, int no_preload, char *path, size_t n,
		 char *err, size_t errlen)
{
	const char *env = getenv("FAULTLINE_PRELOAD");
	struct bases b;
	char tried[1024];

	path[0] = 0;
	if (no_preload)
		return 0;
	if (preload || (env && *env)) {
		const char *what = preload ? "--preload" : "FAULTLINE_PRELOAD=";
		const char *p = preload ? preload : env;

		if ((size_t)snprintf(path, n, "%s", p) >= n) {
			snprintf(err, errlen, "%s%s%s: path too long", what,
				 preload ? " " : "", p);
			path[0] = 0;
			return -ENAMETOOLONG;
		}
		if (access(path, R_OK) != 0) {
			int e = errno;

			snprintf(err, errlen, "%s%s%s: %s (the shim, "
				 "libfaultline-preload.so)", what,
				 preload ? " " : "", p, strerror(e));
			path[0] = 0;
			return -e;
		}
		return 0;
	}
	bases_get(&b);
	for (int k = 0; k < 2; k++)
		for (int i = 0; candidate(&b, k, i, SHIM_NAME, SHIM_NAME, path,
					  n) == 0; i++)
			if (path[0] && access(path, R_OK) == 0)
				return 0;
	path[0] = 0;
	shim_tried(&b, tried, sizeof(tried));
	snprintf(err, errlen, "the shim " SHIM_NAME " was not found (looked "
		 "for %s): install faultline's shim (the package and cmake "
		 "--install put it in LIBDIR/faultline/), give its path with "
		 "--preload PATH or FAULTLINE_PRELOAD, or run with --no-preload "
		 "(the checks on the target's socket calls are then not judged)",
		 tried[0] ? tried : "nothing: /proc/self/exe unreadable");
	return -ENOENT;
}

int fl_samples_dir(char *path, size_t n)
{
	const char *env = getenv("FAULTLINE_SAMPLES");
	struct bases b;
	char probe[PATH_MAX];

	if (env && *env) {
		if ((size_t)snprintf(path, n, "%s", env) >= n)
			goto none;
		return 0;
	}
	bases_get(&b);
	for (int k = 0; k < 2; k++)
		for (int i = 0; candidate(&b, k, i, "targets", "samples", path,
					  n) == 0; i++) {
			if (!path[0] || (size_t)snprintf(probe, sizeof(probe),
							 "%s/echo_server",
							 path) >= sizeof(probe))
				continue;
			if (access(probe, X_OK) == 0)
				return 0;
		}
none:
	path[0] = 0;
	return -ENOENT;
}

int fl_shim_env(const char *path, const char *sock, int no_preload,
		char **env, char *err, size_t errlen)
{
	const char *old = getenv("LD_PRELOAD");

	if (!path[0])
		return 0; /* --no-preload (fl_shim_find() refuses a missing one) */
	if (access(path, R_OK) != 0) {
		int e = errno;

		snprintf(err, errlen, "--preload %s: %s", path, strerror(e));
		return -e;
	}
	if (asprintf(&env[0], "LD_PRELOAD=%s%s%s", path,
		     old && *old ? " " : "", old ? old : "") < 0 ||
	    asprintf(&env[1], "FAULTLINE_SOCK=%s", sock) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
