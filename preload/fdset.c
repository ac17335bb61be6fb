/*
 * fdset.c - the socket bitmap (see fdset.h).  Only system calls, no libc
 * state: it runs inside hooks and in the constructor.
 */
#include "fdset.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

uint64_t fl_fdset_bits[FL_FDSET_SIZE / 64];

void fl_fdset_assign(int fd, bool on)
{
	uint64_t bit;

	if (fd < 0 || fd >= FL_FDSET_SIZE)
		return;
	bit = UINT64_C(1) << (fd % 64);
	if (on)
		__atomic_fetch_or(&fl_fdset_bits[fd / 64], bit,
		                  __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&fl_fdset_bits[fd / 64], ~bit,
		                   __ATOMIC_RELAXED);
}

void fl_fdset_clear_range(unsigned int first, unsigned int last)
{
	if (last >= FL_FDSET_SIZE)
		last = FL_FDSET_SIZE - 1;
	for (unsigned int fd = first; fd <= last;) {
		unsigned int w = fd / 64, lo = fd % 64;
		unsigned int hi = (last / 64 == w) ? last % 64 : 63;
		uint64_t mask =
		    (hi == 63 ? ~UINT64_C(0) : (UINT64_C(1) << (hi + 1)) - 1) &
		    ~((UINT64_C(1) << lo) - 1);

		__atomic_fetch_and(&fl_fdset_bits[w], ~mask, __ATOMIC_RELAXED);
		fd = (w + 1) * 64;
	}
}

int fl_fdset_next(unsigned int from, unsigned int last)
{
	if (last >= FL_FDSET_SIZE)
		last = FL_FDSET_SIZE - 1;
	for (unsigned int fd = from; fd <= last;) {
		unsigned int w = fd / 64;
		uint64_t word =
		    __atomic_load_n(&fl_fdset_bits[w], __ATOMIC_RELAXED) >>
		    (fd % 64);

		if (word != 0) {
			unsigned int hit =
			    fd + (unsigned int)__builtin_ctzll(word);

			return hit <= last ? (int)hit : -1;
		}
		fd = (w + 1) * 64;
	}
	return -1;
}

static bool is_socket(int fd)
{
	struct stat st;

	return syscall(SYS_fstat, fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Parses a decimal descriptor name; -1 for anything else ("." ".."). */
static int parse_fd(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 0x7fffffff / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

void fl_fdset_seed(void)
{
	char buf[4096] __attribute__((aligned(8)));
	long n;
	int dir;

	fl_fdset_clear_range(0, FL_FDSET_SIZE - 1);
	dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
	                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		struct rlimit rl;
		int max = 1024;

		if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 &&
		    rl.rlim_cur < 1024)
			max = (int)rl.rlim_cur;
		for (int fd = 0; fd < max; fd++)
			if (is_socket(fd))
				fl_fdset_assign(fd, true);
		return;
	}
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int fd = parse_fd(d->d_name);

			if (fd >= 0 && fd != dir && is_socket(fd))
				fl_fdset_assign(fd, true);
			off += d->d_reclen;
		}
	}
	syscall(SYS_close, dir);
}
