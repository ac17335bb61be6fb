/*
 * nfqmin - the least an NFQUEUE pass-through can do, as the kernel's floor
 * for bench/run.sh: queue 0, GSO kept, headers only (256 bytes), each
 * segment accepted at once (one recv, one verdict per segment).  Whatever
 * faultline costs beyond this is faultline's; this much is the kernel's
 * round trip through user space.  Runs until killed.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static struct mnl_socket *nl;
static char vbuf[8192];

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = {0};
	struct nfqnl_msg_packet_hdr *ph;
	struct nlmsghdr *v;

	(void)data;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	v = nfq_nlmsg_put(vbuf, NFQNL_MSG_VERDICT, 0);
	nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id), NF_ACCEPT);
	mnl_socket_sendto(nl, v, v->nlmsg_len);
	return MNL_CB_OK;
}

int main(void)
{
	static char buf[1 << 17];
	struct nlmsghdr *nlh;
	int one = 1, sz = 16 << 20;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfqmin: netlink");
		return 1;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
		   sizeof(sz));
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, 0);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, 0);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 256);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	nfq_nlmsg_cfg_put_qmaxlen(nlh, 65536);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("nfqmin: queue config");
		return 1;
	}
	for (;;) {
		struct pollfd p = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
		ssize_t r;

		poll(&p, 1, -1);
		r = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			mnl_cb_run(buf, (size_t)r, 0, 0, on_packet, NULL);
	}
}
