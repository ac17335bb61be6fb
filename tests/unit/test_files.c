/*
 * test_files.c - harness/files.c on its own: what may be read as a rule
 * file and how much (devices and directories refused, the size bound on
 * regular files, FIFOs and pipes, a silent FIFO given up), and outputs
 * opened without waiting for a FIFO's reader.  No kernel feature beyond
 * FIFOs, no root; single-threaded (a forked writer where a FIFO needs one).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

static char dir[] = "/tmp/test_files.XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(files, .init = setup, .fini = teardown, .timeout = 30);

static const char *path(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* fl_file_read_rules(p, max, wait_ms): its return, text freed, err kept. */
static char err[256];
static size_t got_len;
static int read_rules(const char *p, size_t max, int wait_ms)
{
	char *text = NULL;
	int ret;

	err[0] = 0;
	got_len = 0;
	ret = fl_file_read_rules(p, max, wait_ms, &text, &got_len, err,
				 sizeof(err));
	if (ret == 0) {
		cr_assert_not_null(text);
		cr_assert_eq(text[got_len], 0);
	}
	free(text);
	return ret;
}

/* A child that writes n bytes of c to the FIFO p, then exits. */
static pid_t fifo_writer(const char *p, size_t n, int c)
{
	pid_t pid = fork();

	if (pid == 0) {
		char buf[4096];
		int fd = open(p, O_WRONLY);

		memset(buf, c, sizeof(buf));
		while (fd >= 0 && n > 0) {
			ssize_t w = write(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

			if (w <= 0)
				break;
			n -= (size_t)w;
		}
		_exit(0);
	}
	return pid;
}

Test(files, devices_and_directories_are_not_rule_files)
{
	cr_assert_eq(read_rules("/dev/zero", FL_RULES_MAX_BYTES, 100), -EINVAL);
	cr_assert(strstr(err, "a character device"), "%s", err);
	cr_assert_eq(read_rules("/dev/null", FL_RULES_MAX_BYTES, 100), -EINVAL);
	cr_assert_eq(read_rules(dir, FL_RULES_MAX_BYTES, 100), -EISDIR);
	cr_assert(strstr(err, "a directory"), "%s", err);
	cr_assert_eq(read_rules(path("missing"), FL_RULES_MAX_BYTES, 100), -ENOENT);
}

/* The bound on a regular file: max bytes read, max + 1 refused by its
 * size; a 50 MB file at the real bound, refused without being read. */
Test(files, regular_file_bound)
{
	FILE *f = fopen(path("r"), "w");
	int fd;
	double t0;

	cr_assert_not_null(f);
	fputs("drop from client flags FIN\n", f); /* 27 bytes */
	fclose(f);
	cr_assert_eq(read_rules(path("r"), 27, 100), 0, "%s", err);
	cr_assert_eq(got_len, 27);
	cr_assert_eq(read_rules(path("r"), 26, 100), -EFBIG);
	cr_assert(strstr(err, "27 bytes") && strstr(err, "at most 26 bytes"),
		  "%s", err);

	fd = open(path("big"), O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 50000000), 0); /* sparse: nothing to read */
	close(fd);
	t0 = now_s();
	cr_assert_eq(read_rules(path("big"), FL_RULES_MAX_BYTES, 100), -EFBIG);
	cr_assert(strstr(err, "50000000 bytes") && strstr(err, "(16 MiB)"),
		  "%s", err);
	cr_assert_lt(now_s() - t0, 5.0); /* a bound, not a speed */
}

/* A FIFO: read until its writer closes; more than max is refused (the
 * writer is not read to its end); one nobody writes to is given up. */
Test(files, fifo_read_bounded_and_waited_for)
{
	pid_t w;
	int st;
	double t0;

	cr_assert_eq(mkfifo(path("f"), 0600), 0);
	w = fifo_writer(path("f"), 100000, '#');
	cr_assert_eq(read_rules(path("f"), 200000, 5000), 0, "%s", err);
	cr_assert_eq(got_len, 100000);
	waitpid(w, &st, 0);

	w = fifo_writer(path("f"), 10u << 20, '#');
	cr_assert_eq(read_rules(path("f"), 1u << 20, 5000), -EFBIG);
	cr_assert(strstr(err, "more than 1048576 bytes"), "%s", err);
	kill(w, SIGKILL);
	waitpid(w, &st, 0);

	t0 = now_s();
	cr_assert_eq(read_rules(path("f"), FL_RULES_MAX_BYTES, 300), -ETIMEDOUT);
	cr_assert_geq(now_s() - t0, 0.29);
	cr_assert(strstr(err, "nothing written to a FIFO in 0.3s"), "%s", err);
}

/* Outputs: a FIFO without a reader is refused at once, with one it
 * opens; a directory, a missing directory, a block device are refused. */
Test(files, outputs_never_wait)
{
	char why[256];
	FILE *f;
	int rd;

	cr_assert_eq(mkfifo(path("out"), 0600), 0);
	errno = 0;
	cr_assert_null(fl_output_open(path("out")));
	cr_assert_eq(errno, ENXIO);
	fl_output_strerror(path("out"), ENXIO, why, sizeof(why));
	cr_assert(strstr(why, "no process has open for reading"), "%s", why);

	rd = open(path("out"), O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	f = fl_output_open(path("out"));
	cr_assert_not_null(f);
	/* blocking again, so a write is whole */
	cr_assert_eq(fcntl(fileno(f), F_GETFL) & O_NONBLOCK, 0);
	fputs("x", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(read(rd, why, sizeof(why)), 1);
	close(rd);

	cr_assert_null(fl_output_open(dir));
	cr_assert_eq(errno, EISDIR);
	cr_assert_null(fl_output_open(path("no/such/dir")));
	cr_assert_eq(errno, ENOENT);
	fl_output_strerror(path("no/such/dir"), ENOENT, why, sizeof(why));
	cr_assert(strstr(why, "directory does not exist"), "%s", why);
	f = fl_output_open("/dev/null");
	cr_assert_not_null(f);
	fclose(f);
	f = fl_output_open(path("r.json"));
	cr_assert_not_null(f);
	fclose(f);
}
