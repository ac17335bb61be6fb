/*
 * preload.c - libfaultline-preload.so's process state: the constructor
 * that decides whether the shim is active, connects the channel and says
 * hello, and the fork-child handler.  The hooks are in hooks.c.
 *
 * Threading: the constructor runs before the target's main() (and before
 * it can start threads); the fork-child handler runs in a child that has
 * one thread.  After that this state is read-only.
 */
#include "preload.h"
#include "chan.h"
#include "emit.h"
#include "event.h"
#include "fdset.h"
#include "real.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int fl_active;
int fl_pid;
__thread int fl_in_shim __attribute__((tls_model("initial-exec")));
static __thread int tid_cache __attribute__((tls_model("initial-exec")));

int fl_tid(void)
{
	if (tid_cache == 0)
		tid_cache = (int)syscall(SYS_gettid);
	return tid_cache;
}

void fl_preload_after_fork(void)
{
	fl_pid = (int)syscall(SYS_getpid);
	tid_cache = 0;
	fl_emit_after_fork();
	fl_chan_after_fork();
	fl_emit_hello(FL_HELLO_FORK);
}

static void atfork_child(void)
{
	int e = errno;

	if (!fl_active)
		return;
	fl_in_shim++;
	fl_preload_after_fork();
	fl_in_shim--;
	errno = e;
}

/*
 * Runs in every process image that loads the shim: at startup and after
 * every exec (the old channel was close-on-exec).  Another library's
 * constructor may already have called a hook; that went straight through.
 */
__attribute__((constructor)) static void preload_init(void)
{
	const char *name;
	int e = errno;

	fl_in_shim++;
	fl_real_init();
	name = getenv(FL_EV_SOCK_ENV);
	if (name != NULL && fl_chan_setup(name) == 0) {
		fl_pid = (int)syscall(SYS_getpid);
		fl_fdset_seed();
		/* A failure leaves the channel closed: every event is then
		 * counted as dropped, and the harness sees no hello. */
		fl_chan_open();
		pthread_atfork(NULL, NULL, atfork_child);
		__atomic_store_n(&fl_active, 1, __ATOMIC_RELEASE);
		fl_emit_hello(FL_HELLO_START);
	}
	fl_in_shim--;
	errno = e;
}

/* exit(): the image's last event, so losses at the end are counted too. */
__attribute__((destructor)) static void preload_fini(void)
{
	int e = errno;

	if (!__atomic_load_n(&fl_active, __ATOMIC_ACQUIRE))
		return;
	fl_in_shim++;
	fl_emit_bye();
	fl_in_shim--;
	errno = e;
}
