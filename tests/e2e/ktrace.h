/*
 * ktrace.h - the kernel's own record of TCP state changes, for the tests:
 * the tracepoint sock:inet_sock_set_state, with tcp:tcp_send_reset and
 * tcp:tcp_receive_reset, recorded in a tracefs instance of the test's own
 * (/sys/kernel/tracing/instances/faultline-test-PID-N), so the global
 * buffer and settings are never touched.  The instance uses the "fields"
 * output option (Linux 6.11+: every field, skaddr included) and the mono
 * trace clock.
 *
 * The tracepoint is not per network namespace: it sees every TCP socket of
 * the machine, including other runs' sandboxes.  Sockets are told apart by
 * skaddr (one socket from its first event to CLOSE) and found by 4-tuple;
 * a caller that finds more sockets for a 4-tuple than it expects must not
 * guess.
 *
 * Kernel quirks handled here (checked on Linux 6.18):
 * - a client's CLOSE->SYN_SENT is logged before the port is bound (sport
 *   0): it belongs to the socket (skaddr) whose later events carry the
 *   4-tuple;
 * - a server's connection socket is born as a clone of the listener: its
 *   first event is LISTEN->SYN_RECV, when the handshake's last ACK
 *   arrives (the request socket before it, NEW_SYN_RECV, is not traced);
 * - the "fields" option cannot print the tracepoint's IPv6 addresses
 *   (__u8[16]: "<INVALID-SIZE>"), so an IPv6 socket is known by its
 *   family and ports only ("[*]:PORT");
 * - a socket handed to a TIME_WAIT minisock (tcp_time_wait) is logged as
 *   FIN_WAIT2->CLOSE or CLOSING->CLOSE and the minisock itself is not
 *   traced: see kt_sock_path().
 *
 * Single-threaded; needs root.
 */
#ifndef FL_TEST_KTRACE_H
#define FL_TEST_KTRACE_H

#include <stddef.h>
#include <stdint.h>

#define KT_PATH_MAX 16

/* One transition of one socket. */
struct kt_step {
	uint64_t t_ns;      /* CLOCK_MONOTONIC */
	uint8_t from, to;   /* kernel state numbers (include/net/tcp_states.h) */
	uint8_t after_rst;  /* an RST was sent or received since the last step */
};

/* One socket (skaddr) from its first traced event to its CLOSE. */
struct kt_sock {
	uint64_t skaddr;
	char local[48], remote[48]; /* "A.B.C.D:PORT", "" while unbound */
	size_t nsteps;
	struct kt_step steps[KT_PATH_MAX * 2];
};

struct kt;

/*
 * Creates the instance (mounting tracefs on /sys/kernel/tracing first if
 * it is not mounted) and starts recording.  Returns 0, or -errno with the
 * reason recording is impossible (not root, no tracefs, no such event) in
 * why: the caller reports its comparison skipped.  *out is freed with
 * kt_free(), which removes the instance.
 */
int kt_start(struct kt **out, char *why, size_t whylen);

/*
 * Stops recording, reads what was recorded and removes the instance.
 * Returns 0, or -errno with the reason in why (-EOVERFLOW: the buffer
 * overran, so events are missing and nothing may be compared).
 */
int kt_stop(struct kt *k, char *why, size_t whylen);

/* Removes the instance if kt_stop() did not; kt_free(NULL) is fine. */
void kt_free(struct kt *k);

/*
 * The sockets whose local endpoint is local and whose peer is remote
 * ("A.B.C.D:PORT", or "[ADDR]:PORT": matched by port), in the order of
 * their first event.  Returns how many
 * there are; at most max are stored in out.
 */
size_t kt_find(const struct kt *k, const char *local, const char *remote,
	       const struct kt_sock **out, size_t max);

/*
 * The states socket s went through, in order, as kernel state numbers
 * (the first event's oldstate, CLOSE or LISTEN, is not part of it).  A
 * hand-over to a TIME_WAIT minisock (FIN_WAIT2->CLOSE or CLOSING->CLOSE
 * with no RST sent or received since the previous step) is written as
 * what the minisock is: CLOSING goes to TIME_WAIT (RFC 9293 3.10.7.4: our
 * FIN acknowledged); FIN_WAIT2 goes to TIME_WAIT when peer_fin says the
 * peer's FIN reached the socket (the segments tell, not the tracepoint),
 * else it stays in FIN_WAIT2 (an orphan's FIN_WAIT2 minisock).  Returns
 * how many states were stored (at most max).
 */
size_t kt_sock_path(const struct kt_sock *s, int peer_fin, uint8_t *out,
		    size_t max);

#endif
