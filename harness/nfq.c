/*
 * nfq.c - the engine on NFQUEUE; see nfq.h.
 *
 * One netlink socket bound to one queue.  Segments are read up to
 * RECV_SLOTS at a time with one recvmmsg(); each message's attributes are
 * parsed here and its segment handed to the engine (engine.c), which
 * gives its verdict through the I/O operations below.  Verdicts are
 * appended to a batch that is sent with one sendto() at the end of each
 * such round, or before when it is full or carries FLUSH_BYTES of
 * segments.  Held segments are released by one timerfd, armed for the
 * earliest (the engine says when, arm()).
 *
 * Injected segments go out through raw sockets whose SO_MARK the
 * sandbox's iptables rules accept before the NFQUEUE rule, so they are
 * never queued again.
 *
 * Single-threaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "clock.h"
#include "nfq.h"

#define HDR_COPY 256u        /* enough for IPv6 + ext headers + TCP options */
/* Messages read with one recvmmsg(): each netlink datagram carries one
 * segment, so this is the receive batch. */
#define RECV_SLOTS 64u
/* Room per message beyond the copied bytes: the netlink and nfqueue
 * headers and attributes (packet header, mark, interfaces, hw address,
 * timestamp, uid/gid, conntrack info) take well under this. */
#define SLOT_EXTRA 4096u
#define RECV_ROUNDS 8u       /* recvmmsg() calls per fl_engine_process() */
#define BATCH_BUF (1u << 18)
/* The kernel takes a batch's accepted segments on to their receivers
 * within our sendto() (nfqnl_reinject: the receiver's TCP input runs
 * there), about 10 us per 64 KB GSO packet here: a batch is sent once it
 * carries this many bytes, so a release that falls due meanwhile waits
 * for a few of those, not for a whole round of them. */
#define FLUSH_BYTES (128u << 10)
/*
 * Sizes that keep the kernel from dropping a segment we did not ask it to
 * (fail-open is no answer: it would pass segments unjudged).  The queue
 * holds every segment between its arrival and its verdict, held ones
 * included: at most rate x delay of them, and one per flow when every
 * flow sends at once (10 000 flows of a request each).  Its length costs
 * nothing until used, and what it holds is bounded anyway by the senders'
 * socket buffers (a queued skb stays charged to its sender).  The netlink
 * socket holds the messages not yet read: one per waiting segment, about
 * 1 KB each with headers only (the skb's truesize: 832 bytes for a SYN on
 * Linux 6.18), up to 66 KB with the payload, so 128 MB take over 100 000
 * small ones, or 2 000 GSO packets of 64 KB (a bulk sender has at most
 * its send buffer, 4 MB, in flight).  The kernel doubles what
 * SO_RCVBUFFORCE asks for, and charges only what the socket holds.
 * Without CAP_NET_ADMIN in the host's user namespace (faultline run as a
 * user) SO_RCVBUFFORCE is refused and net.core.rmem_max bounds the buffer
 * (4 MB here, so 8 MB: still no drop at 10 000 flows); what overflows is
 * counted as user_dropped and reported.
 */
#define QUEUE_MAXLEN (1u << 17)
#define RCVBUF (64 << 20)
#define DEFAULT_MTU 1500u

struct fl_nfq {
	struct mnl_socket *nl;
	unsigned portid;
	uint16_t queue_num;
	int proc_fd;
	int tfd;
	int raw4, raw6;
	int copy_full;

	char *rbuf;        /* RECV_SLOTS slots of slot_len bytes */
	size_t slot_len;
	struct mmsghdr *msgs;
	struct iovec *iov;
	char *bbuf;        /* verdict batch */
	size_t blen;
	size_t bbytes;     /* bytes of the segments whose verdicts it holds */
	uint64_t armed_ns; /* what the timer is set for, 0 = disarmed */

	/* the queue's counters (struct fl_engine_stats) */
	uint64_t enobufs, send_errors;
	int64_t queue_dropped, user_dropped;
};

static struct fl_nfq *nfq_of(const struct fl_engine *e)
{
	return fl_engine_io(e)->ctx;
}

/* ---- the I/O operations (engine.h) ---- */

static void batch_flush(struct fl_nfq *q)
{
	if (!q->blen)
		return;
	if (mnl_socket_sendto(q->nl, q->bbuf, q->blen) < 0)
		q->send_errors++;
	q->blen = 0;
	q->bbytes = 0;
}

static void io_verdict(void *ctx, uint32_t id, enum fl_io_verdict v,
			const void *pkt, size_t pktlen, size_t weight)
{
	struct fl_nfq *q = ctx;
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + 256 + MNL_ALIGN(pktlen);
	struct nlmsghdr *nlh;

	if (q->blen + need > BATCH_BUF)
		batch_flush(q);
	nlh = nfq_nlmsg_put(q->bbuf + q->blen, NFQNL_MSG_VERDICT, q->queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id,
			      v == FL_IO_ACCEPT ? NF_ACCEPT : NF_DROP);
	if (pkt)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)pktlen);
	q->blen += nlh->nlmsg_len;
	q->bbytes += weight;
	if (q->bbytes >= FLUSH_BYTES)
		batch_flush(q);
}

static int io_inject(void *ctx, const uint8_t *pkt, size_t len, int family,
		      const void *dst)
{
	struct fl_nfq *q = ctx;
	ssize_t n;

	if (family == AF_INET) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		memcpy(&sin.sin_addr, dst, 4);
		n = sendto(q->raw4, pkt, len, 0, (struct sockaddr *)&sin,
			   sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

		memcpy(&sin6.sin6_addr, dst, 16);
		n = sendto(q->raw6, pkt, len, 0, (struct sockaddr *)&sin6,
			   sizeof(sin6));
	}
	if (n < 0) {
		q->send_errors++;
		return -errno;
	}
	return 0;
}

static void io_flush(void *ctx)
{
	batch_flush(ctx);
}

static void io_arm(void *ctx, uint64_t want)
{
	struct fl_nfq *q = ctx;
	struct itimerspec its = {0};
	uint64_t abs;

	if (want == q->armed_ns)
		return;
	q->armed_ns = want;
	if (want) {
		abs = fl_clock_start_ns() + want;
		its.it_value.tv_sec = (time_t)(abs / 1000000000u);
		its.it_value.tv_nsec = (long)(abs % 1000000000u);
	}
	timerfd_settime(q->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static uint64_t io_now(void *ctx)
{
	return fl_clock_now_rel_ns();
}

static const struct fl_io_ops queue_io_ops = {
	.verdict = io_verdict,
	.inject = io_inject,
	.flush = io_flush,
	.arm = io_arm,
	.now = io_now,
};

/* ---- intake ---- */

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct fl_engine *e = data;
	struct nlattr *attr[NFQA_MAX + 1] = {0};
	struct nfqnl_msg_packet_hdr *ph;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (!attr[NFQA_PAYLOAD])
		fl_engine_segment(e, ntohl(ph->packet_id), NULL, 0);
	else
		fl_engine_segment(e, ntohl(ph->packet_id),
				  mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
				  mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
	return MNL_CB_OK;
}

/*
 * One recvmmsg() reads what the kernel has queued, up to RECV_SLOTS
 * segments (one netlink datagram each), and their verdicts leave with one
 * sendto(): a round.  Every segment of a round was read before any of its
 * verdicts went out, which is what fl_engine_sent() tells the sink.
 * Held segments that have become due are released before each round, so
 * a busy queue never makes a release wait for the timer's turn.
 */
int fl_engine_process(struct fl_engine *e)
{
	struct fl_nfq *q = nfq_of(e);
	int fd = mnl_socket_get_fd(q->nl);
	int ret = 0, told = 0;

	for (unsigned round = 0; round < RECV_ROUNDS; round++) {
		int n;

		fl_engine_release_due(e);
		n = recvmmsg(fd, q->msgs, RECV_SLOTS, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == ENOBUFS) {
			q->enobufs++;
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			/* A netlink error message (e.g. a verdict for an id
			 * the kernel no longer has) is not fatal. */
			if (mnl_cb_run(q->rbuf + (size_t)i * q->slot_len,
				       q->msgs[i].msg_len, 0, q->portid,
				       on_packet, e) < 0 &&
			    errno != EINTR)
				q->send_errors++;
			/* What fell due meanwhile leaves with this batch. */
			fl_engine_release_due(e);
		}
		if (q->blen) {
			batch_flush(q);
			fl_engine_sent(e);
			told = 1;
		}
		if ((unsigned)n < RECV_SLOTS)
			break; /* drained */
	}
	if (q->blen || !told) {
		batch_flush(q);
		fl_engine_sent(e);
	}
	io_arm(q, fl_engine_next_due(e));
	return ret;
}

int fl_engine_timer(struct fl_engine *e)
{
	struct fl_nfq *q = nfq_of(e);
	uint64_t exp;

	if (read(q->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return -errno;
	q->armed_ns = 0;
	/* The clock is read after the wakeup: nothing leaves early. */
	fl_engine_release_due(e);
	batch_flush(q);
	fl_engine_sent(e);
	io_arm(q, fl_engine_next_due(e));
	return 0;
}

/* ---- setup ---- */

static int queue_config(struct fl_nfq *q, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
				 q->copy_full ? 0xffff : (int)HDR_COPY);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAXLEN);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot configure NFQUEUE %u: %s (is the "
		 "nfnetlink_queue kernel module available?)",
		 q->queue_num, strerror(errno));
	return -errno;
}

static int open_raw(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The MTU of the sandbox's lo (faultline run --mtu), which bounds what a
 * raw socket can send. */
static unsigned lo_mtu(int fd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu < 100 ||
	    ifr.ifr_mtu > (int)FL_ENGINE_MTU_MAX)
		return DEFAULT_MTU;
	return (unsigned)ifr.ifr_mtu;
}

/* The timer slack the harness had, for the processes it starts. */
static int slack_ns = -1;

static void restore_slack(void)
{
	prctl(PR_SET_TIMERSLACK, (unsigned long)slack_ns, 0UL, 0UL, 0UL);
}

/*
 * The thread that serves the queue waits as exactly as asked: its poll()
 * timeouts take no slack (50 us by default; the timerfd's own expiry
 * takes none either way).  A child inherits its parent's slack, so every
 * process forked from here on (target, driver) gets the harness's own
 * back first.
 */
static void set_slack(void)
{
	if (slack_ns < 0) {
		slack_ns = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
		if (slack_ns < 0)
			return;
		pthread_atfork(NULL, NULL, restore_slack);
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

static void queue_free(struct fl_nfq *q)
{
	if (!q)
		return;
	if (q->nl)
		mnl_socket_close(q->nl);
	if (q->tfd >= 0)
		close(q->tfd);
	if (q->raw4 >= 0)
		close(q->raw4);
	if (q->raw6 >= 0)
		close(q->raw6);
	free(q->rbuf);
	free(q->msgs);
	free(q->iov);
	free(q->bbuf);
	free(q);
}

static int queue_open(struct fl_nfq **out, const struct fl_engine_cfg *cfg,
		    char *err, size_t errlen)
{
	struct fl_nfq *q = calloc(1, sizeof(*q));
	size_t nrules = cfg->rs ? cfg->rs->nrules : 0;
	int one = 1, bufsz = RCVBUF;
	socklen_t sl = sizeof(bufsz);
	int ret = -ENOMEM;

	if (!q)
		goto fail;
	q->tfd = q->raw4 = q->raw6 = -1;
	q->queue_num = cfg->queue_num;
	q->proc_fd = cfg->proc_fd;
	q->queue_dropped = q->user_dropped = -1;
	q->bbuf = malloc(BATCH_BUF);
	if (!q->bbuf)
		goto fail;
	for (size_t i = 0; i < nrules; i++)
		if (fl_rule_needs_payload(&cfg->rs->rules[i]))
			q->copy_full = 1;
	/* The receive slots: what the copy range lets one message hold. */
	q->slot_len = MNL_ALIGN((q->copy_full ? 0xffffu : HDR_COPY) + SLOT_EXTRA);
	q->rbuf = malloc(RECV_SLOTS * q->slot_len);
	q->msgs = calloc(RECV_SLOTS, sizeof(*q->msgs));
	q->iov = calloc(RECV_SLOTS, sizeof(*q->iov));
	if (!q->rbuf || !q->msgs || !q->iov)
		goto fail;
	for (size_t i = 0; i < RECV_SLOTS; i++) {
		q->iov[i].iov_base = q->rbuf + i * q->slot_len;
		q->iov[i].iov_len = q->slot_len;
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}

	set_slack();
	q->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (q->tfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
		goto fail;
	}
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open a netfilter netlink socket: %s",
			 strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	/* Never block the kernel on us: a full buffer drops the packet and
	 * nfnetlink_queue counts it (user_dropped), which we report. */
	setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &bufsz, sizeof(bufsz)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF,
			   &bufsz, sizeof(bufsz));
	fcntl(mnl_socket_get_fd(q->nl), F_SETFL,
	      fcntl(mnl_socket_get_fd(q->nl), F_GETFL) | O_NONBLOCK);
	ret = queue_config(q, err, errlen);
	if (ret < 0)
		goto fail;
	if (cfg->verbose &&
	    getsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &bufsz,
		       &sl) == 0)
		fprintf(stderr, "faultline: queue %u: up to %u segments, receive "
			"buffer %d bytes, %s copied\n", cfg->queue_num,
			QUEUE_MAXLEN, bufsz,
			q->copy_full ? "whole segments" : "headers");
	q->raw4 = open_raw(AF_INET, cfg->mark);
	q->raw6 = open_raw(AF_INET6, cfg->mark);
	if (q->raw4 < 0 || q->raw6 < 0) {
		ret = q->raw4 < 0 ? q->raw4 : q->raw6;
		snprintf(err, errlen, "cannot open a raw socket for injected "
			 "segments: %s", strerror(-ret));
		goto fail;
	}
	*out = q;
	return 0;
fail:
	if (ret == -ENOMEM && err[0] == 0)
		snprintf(err, errlen, "out of memory");
	queue_free(q);
	return ret;
}

int fl_engine_new(struct fl_engine **out, const struct fl_engine_cfg *cfg,
		  char *err, size_t errlen)
{
	struct fl_nfq *q = NULL;
	struct fl_io io = {.ops = &queue_io_ops};
	int ret = queue_open(&q, cfg, err, errlen);

	if (ret < 0)
		return ret;
	io.ctx = q;
	io.mtu = lo_mtu(q->raw4);
	ret = fl_engine_open(out, cfg, &io);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		queue_free(q);
	}
	return ret;
}

void fl_engine_free(struct fl_engine *e)
{
	struct fl_nfq *q;

	if (!e)
		return;
	q = nfq_of(e);
	fl_engine_close(e);
	queue_free(q);
}

int fl_engine_fd(const struct fl_engine *e)
{
	return mnl_socket_get_fd(nfq_of(e)->nl);
}

int fl_engine_timer_fd(const struct fl_engine *e)
{
	return nfq_of(e)->tfd;
}

void fl_engine_read_kernel_stats(struct fl_engine *e)
{
	struct fl_nfq *q = nfq_of(e);
	int fd = openat(q->proc_fd >= 0 ? q->proc_fd : AT_FDCWD,
			q->proc_fd >= 0 ? "self/net/netfilter/nfnetlink_queue"
					: "/proc/self/net/netfilter/nfnetlink_queue",
			O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	unsigned qn, portid, total, mode, range;
	unsigned long long qd, ud, idseq;
	int one;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (fscanf(f, "%u %u %u %u %u %llu %llu %llu %d", &qn, &portid,
		      &total, &mode, &range, &qd, &ud, &idseq, &one) == 9) {
		if (qn == q->queue_num) {
			q->queue_dropped = (int64_t)qd;
			q->user_dropped = (int64_t)ud;
		}
	}
	fclose(f);
}

void fl_engine_get_stats(const struct fl_engine *e, struct fl_engine_stats *s)
{
	const struct fl_nfq *q = nfq_of(e);

	fl_engine_counters(e, s);
	s->enobufs = q->enobufs;
	s->send_errors += q->send_errors;
	s->queue_dropped = q->queue_dropped;
	s->user_dropped = q->user_dropped;
}
