/* shim.c - finding the LD_PRELOAD shim and the sample programs, and the
 * environment that loads the shim; see shim.h.  Single-threaded.
 *
 * Where they are is asked of the code's own file, not of a path baked in
 * at build time, so that a build tree, `cmake --install --prefix P`, the
 * .deb and a copy moved elsewhere all work: the directory of the running
 * binary (/proc/self/exe) and, when this code runs inside another
 * program that linked libfaultline.so, the directory of that library
 * (dladdr() on a function of this file).  From each, the build tree's
 * layout (the shim beside it, the samples in targets/) and the installed
 * one (FL_BIN_TO_PKGLIB from the binary, FL_LIB_TO_PKGLIB from the
 * library, both computed by CMake from GNUInstallDirs). */
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

/* The directories to look from: [0] the binary's, [1] the library's when
 * this code is not in the binary itself ("" when none). */
struct bases {
	char dir[2][PATH_MAX - 128];
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
	char exe[sizeof(b->dir[0])];
	char real[PATH_MAX];
	ssize_t len;
	Dl_info info;

	b->dir[0][0] = b->dir[1][0] = 0;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = 0;
		dir_of(exe, b->dir[0], sizeof(b->dir[0]));
	}
	/* The main program's dli_fname is its argv[0], not a path to trust:
	 * only a shared object's name (a full path from the loader) counts,
	 * and only when it is not the binary itself. */
	if (dladdr((void *)bases_get, &info) && info.dli_fname &&
	    info.dli_fname[0] == '/' && realpath(info.dli_fname, real) &&
	    (len <= 0 || strcmp(real, exe) != 0))
		dir_of(real, b->dir[1], sizeof(b->dir[1]));
}

/* The candidate i (0, 1, ...) for base directory k as "BASE/REL/name"
 * into path; 0, or -1 when there is no candidate i. */
static int candidate(const struct bases *b, int k, int i, const char *build,
		     const char *installed, char *path, size_t n)
{
	const char *rel;

	if (!b->dir[k][0])
		return -1;
	if (i == 0)
		rel = build;
	else if (i == 1)
		rel = k == 0 ? FL_BIN_TO_PKGLIB "/" : FL_LIB_TO_PKGLIB "/";
	else
		return -1;
	if ((size_t)snprintf(path, n, "%s/%s%s", b->dir[k], rel,
			     i == 1 ? installed : "") >= n)
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
		 "for %s): install it with faultline (the package ships it in "
		 "LIBDIR/faultline/), or name it with --preload PATH or "
		 "FAULTLINE_PRELOAD, or run with --no-preload (the checks on "
		 "the target's socket calls are then not judged)",
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
