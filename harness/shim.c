/* shim.c - finding the LD_PRELOAD shim and the environment that loads
 * it; see shim.h.  Single-threaded. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

void fl_shim_find(const char *preload, int no_preload, char *path, size_t n)
{
	char exe[PATH_MAX - 64];
	ssize_t len;
	char *slash;

	path[0] = 0;
	if (no_preload)
		return;
	if (preload) {
		snprintf(path, n, "%s", preload);
		return;
	}
	if (getenv("FAULTLINE_PRELOAD")) {
		snprintf(path, n, "%s", getenv("FAULTLINE_PRELOAD"));
		return;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	if ((size_t)snprintf(path, n, "%s/libfaultline-preload.so", exe) < n &&
	    access(path, R_OK) == 0)
		return;
	if ((size_t)snprintf(path, n, "%s/../lib/faultline/libfaultline-preload.so",
			     exe) < n && access(path, R_OK) == 0)
		return;
	path[0] = 0;
}

int fl_shim_env(const char *path, const char *sock, int no_preload,
		char **env, char *err, size_t errlen)
{
	const char *old = getenv("LD_PRELOAD");

	if (!path[0]) {
		if (!no_preload)
			fprintf(stderr, "faultline: libfaultline-preload.so not "
				"found (use --preload PATH); socket calls will "
				"not be observed\n");
		return 0;
	}
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "--preload %s: %s", path, strerror(errno));
		return -errno;
	}
	if (asprintf(&env[0], "LD_PRELOAD=%s%s%s", path,
		     old && *old ? " " : "", old ? old : "") < 0 ||
	    asprintf(&env[1], "FAULTLINE_SOCK=%s", sock) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
