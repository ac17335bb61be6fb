/*
 * files.c - the files the command line names; see files.h.
 *
 * Why not fopen(): opening a FIFO waits for its other end, outside any
 * --timeout and, once the run blocks its signals, deaf to them; and
 * reading /dev/zero never ends.  So every open here is O_NONBLOCK (a
 * FIFO without a reader fails with ENXIO, one without a writer opens at
 * once and is then polled with a bound), the type is checked on the open
 * descriptor (no race between a stat and the open), and a read never
 * goes past its bound.  No state; single-threaded use.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

static const char *type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISFIFO(m))
		return "a FIFO";
	return "not a regular file";
}

/* Waits until fd (a FIFO or pipe) has data or its writers are gone; 0,
 * -ETIMEDOUT after wait_ms, or -errno. */
static int wait_readable(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;

	do
		n = poll(&p, 1, wait_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

int fl_file_read_rules(const char *path, size_t max, int wait_ms, char **text,
		       size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap;
	int fifo, ret = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(-ret));
		goto out;
	}
	fifo = S_ISFIFO(st.st_mode);
	if (!S_ISREG(st.st_mode) && !fifo) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		snprintf(err, errlen, "%s, not a rule file (a rule file is a "
			 "regular file, a FIFO or a pipe)", type_name(st.st_mode));
		goto out;
	}
	if (!fifo && (uint64_t)st.st_size > max) {
		ret = -EFBIG;
		snprintf(err, errlen, "%lld bytes: a rule file may hold at most "
			 "%zu bytes (%zu MiB)", (long long)st.st_size, max,
			 max >> 20);
		goto out;
	}
	/* A regular file's size is a hint only (it may grow, /proc says 0):
	 * the bound is checked on what is read. */
	cap = fifo || st.st_size <= 0 ? 65536 : (size_t)st.st_size + 1;
	if (cap > max + 1)
		cap = max + 1;
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *p;

			if (cap > max) /* n > max: refused below */
				break;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			p = realloc(buf, cap);
			if (!p) {
				ret = -ENOMEM;
				goto fail;
			}
			buf = p;
		}
		if (!buf && !(buf = malloc(cap))) {
			ret = -ENOMEM;
			goto fail;
		}
		if (fifo && (ret = wait_readable(fd, wait_ms)) < 0)
			goto fail;
		got = read(fd, buf + n, cap - n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			ret = -errno;
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		ret = -EFBIG;
		snprintf(err, errlen, "more than %zu bytes: a rule file may hold "
			 "at most %zu bytes (%zu MiB)", max, max, max >> 20);
		goto out;
	}
	if (n == cap) {
		char *p = realloc(buf, n + 1);

		if (!p) {
			ret = -ENOMEM;
			goto fail;
		}
		buf = p;
	}
	buf[n] = 0;
	*text = buf;
	*len = n;
	buf = NULL;
	goto out;
fail:
	if (ret == -ETIMEDOUT)
		snprintf(err, errlen, "nothing written to %s in %.1fs (faultline "
			 "does not wait longer for a writer)", type_name(st.st_mode),
			 wait_ms / 1000.0);
	else
		snprintf(err, errlen, "%s", strerror(-ret));
out:
	free(buf);
	close(fd);
	return ret;
}

FILE *fl_output_open(const char *path)
{
	struct stat st;
	FILE *f;
	int flags, e;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK |
				    O_NOCTTY | O_CLOEXEC, 0666);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		e = errno;
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		e = ENOTSUP;
		goto fail;
	}
	/* Blocking again: a full pipe waits for its reader, and the run's
	 * signal handling (run.c) ends a wait nobody wants. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		e = errno;
		goto fail;
	}
	f = fdopen(fd, "w");
	if (!f) {
		e = errno;
		goto fail;
	}
	return f;
fail:
	close(fd);
	errno = e;
	return NULL;
}

void fl_output_strerror(const char *path, int e, char *buf, size_t len)
{
	struct stat st;

	if (e == ENXIO && stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
		snprintf(buf, len, "a FIFO that no process has open for reading "
			 "(faultline does not wait for a reader: start it first)");
	else if (e == ENOTSUP)
		snprintf(buf, len, "a block device is not an output");
	else if (e == EISDIR)
		snprintf(buf, len, "is a directory");
	else if (e == ENOENT)
		snprintf(buf, len, "its directory does not exist");
	else
		snprintf(buf, len, "%s", strerror(e));
}
