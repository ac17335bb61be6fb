/* pl_chk.h - fortified reads (see pl_chk.c); n must be <= 64. */
#ifndef FL_PL_CHK_H
#define FL_PL_CHK_H

#include <sys/types.h>

ssize_t pl_chk_read(int fd, size_t n);
ssize_t pl_chk_recv(int fd, size_t n, int flags);
ssize_t pl_chk_recvfrom(int fd, size_t n, int flags);

#endif
