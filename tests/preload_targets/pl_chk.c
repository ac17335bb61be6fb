/*
 * pl_chk.c - calls that glibc's fortify turns into __read_chk, __recv_chk
 * and __recvfrom_chk.  Built with -O2 -D_FORTIFY_SOURCE=2 (see
 * tests/CMakeLists.txt): the buffer's size is known and n is not, so the
 * compiler emits the checking variants.
 */
#include "pl_chk.h"

#include <sys/socket.h>
#include <unistd.h>

ssize_t pl_chk_read(int fd, size_t n)
{
	char buf[64];

	return read(fd, buf, n);
}

ssize_t pl_chk_recv(int fd, size_t n, int flags)
{
	char buf[64];

	return recv(fd, buf, n, flags);
}

ssize_t pl_chk_recvfrom(int fd, size_t n, int flags)
{
	char buf[64];

	return recvfrom(fd, buf, n, flags, NULL, NULL);
}
