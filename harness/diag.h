/*
 * diag.h - TCP socket sampling through NETLINK_SOCK_DIAG (inet_diag) in the
 * harness's network namespace, which is the sandbox's.
 *
 * Single-threaded; one netlink socket per fl_diag.
 */
#ifndef FL_DIAG_H
#define FL_DIAG_H

#include <stdint.h>

struct fl_sdiag_sock {
	int family;
	uint8_t state;          /* kernel TCP state (TCP_ESTABLISHED = 1 ...) */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;  /* host order */
	uint32_t inode;
	uint32_t uid;
};

struct fl_sdiag;

/* Returns 0 and a new sampler in *out, or -errno. */
int fl_sdiag_new(struct fl_sdiag **out);
void fl_sdiag_free(struct fl_sdiag *d);

/*
 * Calls fn for every TCP socket (IPv4 and IPv6) whose state bit is in
 * states (bit n = state n; ~0u for all).  Returns the number of sockets
 * seen, or -errno.
 */
int fl_sdiag_dump(struct fl_sdiag *d, uint32_t states,
		 void (*fn)(void *ctx, const struct fl_sdiag_sock *s),
		 void *ctx);

/*
 * The one TCP socket whose local end is src:sport and remote end
 * dst:dport (addresses of family's length), by an exact lookup, not a
 * dump: cheap whatever the size of the host's TCP table.  Returns 1 and
 * fills *out, 0 when there is none, or -errno.
 */
int fl_sdiag_find(struct fl_sdiag *d, int family, const uint8_t *src,
		  uint16_t sport, const uint8_t *dst, uint16_t dport,
		  struct fl_sdiag_sock *out);

/* Listening sockets on port (0 = any port): count, or -errno. */
int fl_sdiag_count_listeners(struct fl_sdiag *d, uint16_t port);

#endif
