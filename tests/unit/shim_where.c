/*
 * shim_where.c - prints what harness/shim.c finds from where it runs, for
 * tests/unit/test_shim_where.sh: linked with shim.c built as a shared
 * library, it stands for a program that linked libfaultline.so.
 * Single-threaded.
 *
 *   shim=PATH | shim=- err=MESSAGE (status)
 *   samples=DIR | samples=-
 */
#include <limits.h>
#include <stdio.h>

#include "shim.h"

int main(void)
{
	char path[PATH_MAX], err[2048] = "";
	int ret = fl_shim_find(NULL, 0, path, sizeof(path), err, sizeof(err));

	if (ret == 0)
		printf("shim=%s\n", path);
	else
		printf("shim=- err=%s (%d)\n", err, ret);
	ret = fl_samples_dir(path, sizeof(path));
	printf("samples=%s\n", ret == 0 ? path : "-");
	return 0;
}
