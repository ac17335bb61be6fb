/* diag.c - inet_diag dumps of the sandbox's TCP sockets; see diag.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "diag.h"
#include "rules.h"

struct fl_sdiag {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	struct fl_sdiag_stats st;
	char buf[1 << 16];
};

int fl_sdiag_new(struct fl_sdiag **out)
{
	struct fl_sdiag *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!d->nl || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		fl_sdiag_free(d);
		return ret;
	}
	d->portid = mnl_socket_get_portid(d->nl);
	d->seq = (uint32_t)time(NULL);
	*out = d;
	return 0;
}

void fl_sdiag_free(struct fl_sdiag *d)
{
	if (!d)
		return;
	if (d->nl)
		mnl_socket_close(d->nl);
	free(d);
}

struct dump_ctx {
	void (*fn)(void *ctx, const struct fl_sdiag_sock *s);
	void *ctx;
	int n;
};

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct fl_sdiag_sock s;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*m)))
		return MNL_CB_ERROR;
	memset(&s, 0, sizeof(s));
	s.family = m->idiag_family;
	s.state = m->idiag_state;
	memcpy(s.src, m->id.idiag_src, 16);
	memcpy(s.dst, m->id.idiag_dst, 16);
	s.sport = ntohs(m->id.idiag_sport);
	s.dport = ntohs(m->id.idiag_dport);
	s.inode = m->idiag_inode;
	s.uid = m->idiag_uid;
	s.cookie = (uint64_t)m->id.idiag_cookie[0] |
		   (uint64_t)m->id.idiag_cookie[1] << 32;
	c->n++;
	if (c->fn)
		c->fn(c->ctx, &s);
	return MNL_CB_OK;
}

struct find_one {
	struct fl_sdiag_sock *out;
	int found;
};

static void copy_one(void *ctx, const struct fl_sdiag_sock *s)
{
	*(struct fl_sdiag_sock *)ctx = *s;
}

static int find_msg(const struct nlmsghdr *nlh, void *data)
{
	struct find_one *f = data;
	struct dump_ctx c = {.fn = copy_one, .ctx = f->out};
	int ret = on_msg(nlh, &c);

	if (ret != MNL_CB_OK)
		return ret;
	f->found = 1;
	return MNL_CB_STOP;
}

static int dump_family(struct fl_sdiag *d, int family, uint32_t states,
		       struct dump_ctx *c)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf);
	struct inet_diag_req_v2 *req;
	uint32_t seq = ++d->seq;
	ssize_t n;
	int ret;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = states;
	/* Listening sockets only: the kernel walks its listening hash and
	 * never the established one (inet_diag_dump_icsk). */
	if (states & ~(1u << FL_TCP_LISTEN))
		d->st.dumps++;
	else
		d->st.listener_dumps++;
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(d->nl, d->buf, sizeof(d->buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(d->buf, (size_t)n, seq, d->portid, on_msg, c);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0)
			return -errno;
	}
}

int fl_sdiag_dump(struct fl_sdiag *d, uint32_t states,
		 void (*fn)(void *ctx, const struct fl_sdiag_sock *s),
		 void *ctx)
{
	struct dump_ctx c = {.fn = fn, .ctx = ctx};
	int ret;

	ret = dump_family(d, AF_INET, states, &c);
	if (ret == 0)
		ret = dump_family(d, AF_INET6, states, &c);
	return ret < 0 ? ret : c.n;
}

int fl_sdiag_find(struct fl_sdiag *d, int family, const uint8_t *src,
		  uint16_t sport, const uint8_t *dst, uint16_t dport,
		  struct fl_sdiag_sock *out)
{
	return fl_sdiag_lookup(d, family, src, sport, dst, dport, 0, out);
}

int fl_sdiag_lookup(struct fl_sdiag *d, int family, const uint8_t *src,
		    uint16_t sport, const uint8_t *dst, uint16_t dport,
		    uint64_t cookie, struct fl_sdiag_sock *out)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf);
	struct inet_diag_req_v2 *req;
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t seq = ++d->seq;
	struct find_one c = {.out = out};
	ssize_t n;
	int ret;

	/* Not a dump: the kernel looks the 4-tuple up in its hash
	 * (inet_diag_find_one_icsk), whatever the table's size. */
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0u;
	req->id.idiag_sport = htons(sport);
	req->id.idiag_dport = htons(dport);
	memcpy(req->id.idiag_src, src, alen);
	memcpy(req->id.idiag_dst, dst, alen);
	if (cookie) {
		/* Only that socket: another one on the same 4-tuple (the
		 * tuple reused, or the listener inet_lookup() falls back to)
		 * is ESTALE. */
		req->id.idiag_cookie[0] = (uint32_t)cookie;
		req->id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	} else {
		req->id.idiag_cookie[0] = req->id.idiag_cookie[1] =
			INET_DIAG_NOCOOKIE;
	}
	d->st.lookups++;
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(d->nl, d->buf, sizeof(d->buf));
	if (n < 0)
		return -errno;
	ret = mnl_cb_run(d->buf, (size_t)n, seq, d->portid, find_msg, &c);
	if (ret < 0)
		return errno == ENOENT || errno == ESTALE ? 0 : -errno;
	return c.found;
}

struct count_ctx {
	uint16_t port;
	int n;
};

static void count_one(void *ctx, const struct fl_sdiag_sock *s)
{
	struct count_ctx *c = ctx;

	if (!c->port || s->sport == c->port)
		c->n++;
}

int fl_sdiag_count_listeners(struct fl_sdiag *d, uint16_t port)
{
	struct count_ctx c = {.port = port};
	int ret = fl_sdiag_dump(d, 1u << FL_TCP_LISTEN, count_one, &c);

	return ret < 0 ? ret : c.n;
}

void fl_sdiag_get_stats(const struct fl_sdiag *d, struct fl_sdiag_stats *st)
{
	*st = d->st;
}
