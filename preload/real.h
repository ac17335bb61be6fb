/*
 * real.h - the functions the shim wraps, as the next library (libc)
 * defines them.
 *
 * Every pointer starts out at a fallback that makes the system call
 * directly, so a hook is callable at any moment, even from another
 * library's constructor before ours or from inside dlsym().
 * fl_real_init() replaces them with dlsym(RTLD_NEXT, ...) once
 * (pthread_once); a lookup that fails or returns the hook itself keeps
 * the fallback.  Thread-safe; the pointers are read with relaxed atomic
 * loads through FL_REAL().
 */
#ifndef FL_PRELOAD_REAL_H
#define FL_PRELOAD_REAL_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/resource.h>

struct fl_real {
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int *);
	int (*accept)(int, __SOCKADDR_ARG, socklen_t *);
	int (*accept4)(int, __SOCKADDR_ARG, socklen_t *, int);
	int (*connect)(int, __CONST_SOCKADDR_ARG, socklen_t);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*shutdown)(int, int);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, __SOCKADDR_ARG,
	                    socklen_t *);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int,
	                        __SOCKADDR_ARG, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG,
	                  socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	pid_t (*fork_)(void); /* _Fork */
	pid_t (*wait)(int *);
	pid_t (*waitpid)(pid_t, int *, int);
	pid_t (*wait4)(pid_t, int *, int, struct rusage *);
	pid_t (*wait3)(int *, int, struct rusage *);
	int (*bind)(int, __CONST_SOCKADDR_ARG, socklen_t);
	int (*setuid)(uid_t);
	int (*setgid)(gid_t);
	int (*setreuid)(uid_t, uid_t);
	int (*setregid)(gid_t, gid_t);
	int (*setresuid)(uid_t, uid_t, uid_t);
	int (*setresgid)(gid_t, gid_t, gid_t);
	int (*setgroups)(size_t, const gid_t *);
	int (*initgroups)(const char *, gid_t);
	int (*chown)(const char *, uid_t, gid_t);
	int (*fchown)(int, uid_t, gid_t);
	int (*lchown)(const char *, uid_t, gid_t);
	int (*fchownat)(int, const char *, uid_t, gid_t, int);
};

extern struct fl_real fl_real;
extern int fl_real_ready;

/* Resolves every pointer once; callable from any thread, any number of times.
 */
void fl_real_init(void);

#define FL_REAL(name) (__atomic_load_n(&fl_real.name, __ATOMIC_RELAXED))

#endif
