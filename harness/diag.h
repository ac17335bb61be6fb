/*
 * diag.h - TCP socket sampling through NETLINK_SOCK_DIAG (inet_diag) in the
 * harness's network namespace, which is the sandbox's.
 *
 * One netlink socket per fl_sdiag; each is used by one thread at a time.
 * A dump walks the host's whole established hash (whatever the
 * namespace: milliseconds on a big host); a lookup is one hash probe.
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
	uint64_t cookie;        /* the kernel's socket cookie */
};

/* What a sampler asked the kernel (each fl_sdiag counts its own). */
struct fl_sdiag_stats {
	uint64_t dumps;          /* dumps that walk the established table */
	uint64_t listener_dumps; /* dumps of listening sockets only */
	uint64_t lookups;        /* exact 4-tuple lookups */
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

/*
 * The same, but only the socket whose cookie is cookie (0: any): 0 once
 * that socket is gone, even if another now has the 4-tuple.  A lookup of
 * a server's side whose socket is gone may find the listening socket
 * (state TCP_LISTEN, dport 0): inet_lookup() falls back to it.
 */
int fl_sdiag_lookup(struct fl_sdiag *d, int family, const uint8_t *src,
		    uint16_t sport, const uint8_t *dst, uint16_t dport,
		    uint64_t cookie, struct fl_sdiag_sock *out);

void fl_sdiag_get_stats(const struct fl_sdiag *d, struct fl_sdiag_stats *st);

/* Listening sockets on port (0 = any port): count, or -errno. */
int fl_sdiag_count_listeners(struct fl_sdiag *d, uint16_t port);

#endif
