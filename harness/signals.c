/*
 * signals.c - faultline's termination signals (SIGINT, SIGTERM, SIGHUP),
 * caught in every phase by one handler and never blocked, so that no
 * open or write that waits (a FIFO, a full pipe, a stuck terminal) can
 * make faultline deaf to them; see signals.h.  The handler is
 * async-signal-safe; the rest runs on faultline's one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "signals.h"

/* What the handler does: end faultline at once, or tell the loop. */
static volatile sig_atomic_t sig_graceful;
static volatile sig_atomic_t sig_count;   /* caught while graceful */
/* The handler's words after "faultline: SIGTERM" when it ends faultline. */
static const char *volatile sig_words = " before the run: ending now\n";
static int sig_pipe[2] = {-1, -1};        /* the handler to the loop */

static void write_str(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));

	(void)n;
}

/* Async-signal-safe: write(), sigaction(), sigprocmask(), raise(). */
static void on_term_signal(int sig)
{
	int saved = errno;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t set;

	if (sig_graceful && ++sig_count < 3) {
		char c = (char)sig;
		ssize_t n = write(sig_pipe[1], &c, 1);

		(void)n;
		errno = saved;
		return;
	}
	write_str(sig == SIGINT ? "faultline: SIGINT" : sig == SIGHUP ?
		  "faultline: SIGHUP" : "faultline: SIGTERM");
	write_str(sig_graceful ? " a third time: ending now, without the "
		  "reports\n" : sig_words);
	/* Die of it, so the caller sees the signal (the sandbox dies with
	 * faultline, as after a SIGKILL). */
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	errno = saved;
}

int fl_signals_catch(void)
{
	struct sigaction sa = {.sa_handler = on_term_signal,
			       .sa_flags = SA_RESTART};
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	return 0;
}

void fl_signals_graceful(int graceful, const char *words)
{
	if (words)
		sig_words = words;
	sig_graceful = graceful;
}

int fl_signals_fd(void)
{
	return sig_pipe[0];
}

int fl_signals_take(void)
{
	int n = 0;
	char c;

	while (read(sig_pipe[0], &c, 1) == 1)
		n++;
	return n;
}
