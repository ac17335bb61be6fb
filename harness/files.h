/*
 * files.h - the files the command line names: rule files read with a
 * bound (never /dev/zero until memory runs out, never a FIFO forever) and
 * outputs (--report, --junit, --trace) opened without ever waiting for a
 * FIFO's reader.  No state; safe from any thread, but the run is
 * single-threaded.
 */
#ifndef FL_FILES_H
#define FL_FILES_H

#include <stddef.h>
#include <stdio.h>

/* The most a rule file may hold: 16 MiB. */
#define FL_RULES_MAX_BYTES (16u << 20)
/* How long a FIFO or pipe rule file may stay silent (ms). */
#define FL_RULES_WAIT_MS 10000

/*
 * Reads the rule file at path into *text (NUL-terminated, *len bytes
 * without the NUL; the caller frees it).  A regular file, a FIFO or a
 * pipe (/dev/stdin, `-r <(...)`) is read; a directory, a device or a
 * socket is refused.  At most max bytes: a longer file is refused, a
 * regular one from its size before anything is read.  A FIFO or pipe is
 * read until EOF, waiting at most wait_ms for each chunk (for its first
 * writer too).  Returns 0, or -errno with what was wrong in err:
 * -EISDIR, -EINVAL (not a file that can hold rules), -EFBIG (over max),
 * -ETIMEDOUT (a silent FIFO), -ENOMEM, or open's and read's errno.
 */
int fl_file_read_rules(const char *path, size_t max, int wait_ms, char **text,
		       size_t *len, char *err, size_t errlen);

/*
 * Opens an output for writing (created 0666 & ~umask, truncated) without
 * blocking: a FIFO that no process has open for reading is refused at
 * once (ENXIO) rather than waited for; once open, the descriptor blocks
 * again, so writes are whole.  A regular file, a FIFO or pipe, or a
 * character device (/dev/null, /dev/stdout on a terminal) is accepted; a
 * directory (EISDIR) or a block device (ENOTSUP) is refused.  Returns the
 * stream (the caller fcloses it), or NULL with errno set.
 */
FILE *fl_output_open(const char *path);

/* What fl_output_open()'s errno e means for path, in buf (for the user:
 * ENXIO on a FIFO names the missing reader). */
void fl_output_strerror(const char *path, int e, char *buf, size_t len);

#endif
