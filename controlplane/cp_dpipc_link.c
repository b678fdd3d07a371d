#include "controlplane/cp_dpipc_link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "controlplane/cp_log.h"

/* Datagrams handled per readable callback: keeps one busy direction from
 * starving the rest of the loop. */
#define RX_BURST 256

/* One queued datagram (header + payload, copied). */
struct cp_dplink_out {
	struct cp_dplink_out *next;
	size_t len;
	uint8_t data[];
};

static void on_poll(uv_poll_t *p, int status, int events);

static void on_handle_closed(uv_handle_t *h)
{
	struct cp_dplink *l = h->data;
	if (h != (uv_handle_t *)&l->retry)
		free(h);
	if (--l->handles == 0 && l->closed)
		l->closed(l);
}

static void queue_clear(struct cp_dplink *l)
{
	while (l->oq_head) {
		struct cp_dplink_out *o = l->oq_head;
		l->oq_head = o->next;
		free(o);
	}
	l->oq_tail = NULL;
	l->oq_bytes = 0;
	l->st.queued_now = 0;
}

/* Close the socket and its poll handle; nothing else. */
static void sock_close(struct cp_dplink *l)
{
	if (l->poll) {
		uv_poll_stop(l->poll);
		uv_close((uv_handle_t *)l->poll, on_handle_closed);
		l->poll = NULL;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	queue_clear(l);
	dp_ipc_reasm_reset(&l->rx);
}

static void on_retry(uv_timer_t *t);

static void retry_later(struct cp_dplink *l)
{
	if (l->closing)
		return;
	uv_timer_start(&l->retry, on_retry, l->backoff_ms, 0);
	l->backoff_ms *= 2;
	if (l->backoff_ms > CP_DPLINK_BACKOFF_MAX_MS)
		l->backoff_ms = CP_DPLINK_BACKOFF_MAX_MS;
}

static void link_down(struct cp_dplink *l, const char *why)
{
	if (l->fd < 0)
		return;
	sock_close(l);
	l->st.disconnects++;
	cp_warn("dataplane ipc %s: disconnected (%s)", l->path, why);
	retry_later(l);
	if (l->cbs.down && !l->closing)
		l->cbs.down(l->cbs.ctx, why);
}

static int poll_events(const struct cp_dplink *l)
{
	return UV_READABLE | (l->oq_head ? UV_WRITABLE : 0);
}

static int try_connect(struct cp_dplink *l)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, l->path, strlen(l->path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	uv_poll_t *p = malloc(sizeof(*p));
	if (!p || uv_poll_init(l->loop, p, fd) != 0) {
		free(p);
		close(fd);
		return -ENOMEM;
	}
	p->data = l;
	l->handles++;
	l->poll = p;
	l->fd = fd;
	uv_poll_start(p, poll_events(l), on_poll);
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	struct cp_dplink *l = t->data;
	if (l->closing || l->fd >= 0)
		return;
	int rc = try_connect(l);
	if (rc != 0) {
		/* Log the first failure of a series only: the dataplane may be
		 * down for a long time. */
		if (l->st.connect_failures++ == 0 || l->backoff_ms < CP_DPLINK_BACKOFF_MAX_MS)
			cp_debug("dataplane ipc %s: connect: %s", l->path, strerror(-rc));
		retry_later(l);
		return;
	}
	l->st.connects++;
	l->backoff_ms = CP_DPLINK_BACKOFF_MIN_MS;
	cp_info("dataplane ipc %s: connected", l->path);
	if (l->cbs.up)
		l->cbs.up(l->cbs.ctx);
}

int cp_dplink_start(struct cp_dplink *l, uv_loop_t *loop, const char *path,
		    const struct cp_dplink_cbs *cbs)
{
	memset(l, 0, sizeof(*l));
	if (strlen(path) >= sizeof(l->path))
		return -ENAMETOOLONG;
	l->rbuf = malloc(DP_IPC_FRAG_MAX + 1);
	if (!l->rbuf)
		return -ENOMEM;
	memcpy(l->path, path, strlen(path) + 1);
	l->loop = loop;
	l->fd = -1;
	l->cbs = *cbs;
	l->out_cap = CP_DPLINK_OUT_CAP;
	l->backoff_ms = CP_DPLINK_BACKOFF_MIN_MS;
	dp_ipc_reasm_init(&l->rx, DP_IPC_MSG_MAX);
	uv_timer_init(loop, &l->retry);
	l->retry.data = l;
	l->handles = 1;
	uv_timer_start(&l->retry, on_retry, 0, 0);
	return 0;
}

/* ---- output ---- */

static int enqueue(struct cp_dplink *l, const struct iovec *iov, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (l->oq_bytes + len > l->out_cap) {
		l->st.overflows++;
		return -ENOBUFS;
	}
	struct cp_dplink_out *o = malloc(sizeof(*o) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		memcpy(o->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (l->oq_tail)
		l->oq_tail->next = o;
	else
		l->oq_head = o;
	l->oq_tail = o;
	l->oq_bytes += len;
	l->st.queued_now = l->oq_bytes;
	if (l->oq_bytes > l->st.queue_peak)
		l->st.queue_peak = l->oq_bytes;
	return 0;
}

/* Send one datagram now. Returns 1 sent, 0 would block, -errno. */
static int send_now(struct cp_dplink *l, const struct iovec *iov, int n)
{
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = (size_t)n;
	for (;;) {
		ssize_t w = sendmsg(l->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0) {
			l->st.dgrams_out++;
			l->st.bytes_out += (uint64_t)w;
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 0;
		return -errno;
	}
}

/* Flush queued datagrams while the socket takes them. 0 or -errno. */
static int flush_queue(struct cp_dplink *l)
{
	while (l->oq_head) {
		struct cp_dplink_out *o = l->oq_head;
		struct iovec iov = { o->data, o->len };
		int rc = send_now(l, &iov, 1);
		if (rc <= 0)
			return rc;
		l->oq_head = o->next;
		if (!l->oq_head)
			l->oq_tail = NULL;
		l->oq_bytes -= o->len;
		l->st.queued_now = l->oq_bytes;
		free(o);
	}
	return 0;
}

/* The iovecs of payload bytes [off, off + n) over fixed ++ var. */
static int payload_iov(const void *fixed, size_t flen, const void *var, size_t off, size_t n,
		       struct iovec *iov)
{
	int k = 0;
	if (off < flen) {
		size_t take = flen - off < n ? flen - off : n;
		iov[k++] = (struct iovec){ (uint8_t *)fixed + off, take };
		off += take;
		n -= take;
	}
	if (n > 0)
		iov[k++] = (struct iovec){ (uint8_t *)var + (off - flen), n };
	return k;
}

int cp_dplink_send(struct cp_dplink *l, uint16_t type, uint64_t session, uint64_t stream,
		   const void *fixed, size_t flen, const void *var, size_t vlen)
{
	if (l->fd < 0)
		return -ENOTCONN;
	size_t total = flen + vlen;
	if (total > DP_IPC_MSG_MAX)
		return -EMSGSIZE;
	struct dp_ipc_hdr whole, fh;
	dp_ipc_hdr_init(&whole, type, session, stream, (uint32_t)total);
	size_t off = 0;
	do {
		struct iovec iov[3];
		dp_ipc_frag_hdr(&fh, &whole, total, off);
		iov[0] = (struct iovec){ &fh, DP_IPC_HDR_LEN };
		int n = 1 + payload_iov(fixed, flen, var, off, fh.len, iov + 1);
		int rc = l->oq_head ? 0 : send_now(l, iov, n);
		if (rc == 0)
			rc = enqueue(l, iov, n);
		if (rc < 0) {
			link_down(l, rc == -ENOBUFS ? "output queue overflow" : strerror(-rc));
			return rc;
		}
		off += fh.len;
	} while (off < total);
	l->st.msgs_out++;
	if (l->oq_head && l->poll)
		uv_poll_start(l->poll, poll_events(l), on_poll);
	return 0;
}

/* ---- input ---- */

/* Handle one datagram. Returns 0, or -errno when the link must drop. */
static int on_dgram(struct cp_dplink *l, size_t n)
{
	struct dp_ipc_hdr h, whole;
	const uint8_t *p;
	size_t plen;
	l->st.dgrams_in++;
	l->st.bytes_in += n;
	int rc = dp_ipc_hdr_parse(l->rbuf, n, &h);
	if (rc == -EPROTONOSUPPORT)
		return rc;
	if (rc == 0)
		rc = dp_ipc_reasm_push(&l->rx, &h, l->rbuf + DP_IPC_HDR_LEN, &whole, &p, &plen);
	if (rc < 0) {
		if (l->st.bad_dgrams++ < 10)
			cp_warn("dataplane ipc: bad datagram (%zu bytes): %s", n, strerror(-rc));
		return rc == -ENOMEM ? rc : 0;
	}
	if (rc == 0)
		return 0;
	l->st.msgs_in++;
	if (l->cbs.msg && l->cbs.msg(l->cbs.ctx, &whole, p, plen) != 0)
		return -EPROTO;
	return 0;
}

int cp_dplink_inject(struct cp_dplink *l, const uint8_t *dgram, size_t len)
{
	if (!l->rbuf)
		return -ESHUTDOWN;
	if (len > DP_IPC_FRAG_MAX + 1)
		len = DP_IPC_FRAG_MAX + 1; /* what recv() would have kept */
	memcpy(l->rbuf, dgram, len);
	return on_dgram(l, len);
}

static void on_readable(struct cp_dplink *l)
{
	for (int i = 0; i < RX_BURST && l->fd >= 0 && !l->closing; i++) {
		ssize_t n = recv(l->fd, l->rbuf, DP_IPC_FRAG_MAX + 1, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			link_down(l, n == 0 ? "dataplane closed the socket" : strerror(errno));
			return;
		}
		int fd = l->fd;
		int rc = on_dgram(l, (size_t)n);
		if (rc != 0 && l->fd == fd) {
			link_down(l, rc == -EPROTONOSUPPORT ? "protocol version mismatch" :
					     "protocol error");
			return;
		}
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct cp_dplink *l = p->data;
	if (p != l->poll)
		return;
	if (status < 0) {
		link_down(l, uv_strerror(status));
		return;
	}
	if (events & UV_WRITABLE) {
		int rc = flush_queue(l);
		if (rc < 0) {
			link_down(l, strerror(-rc));
			return;
		}
		if (!l->oq_head)
			uv_poll_start(l->poll, poll_events(l), on_poll);
	}
	if (events & UV_READABLE)
		on_readable(l);
}

void cp_dplink_drop(struct cp_dplink *l, const char *why)
{
	link_down(l, why);
}

void cp_dplink_close(struct cp_dplink *l, void (*closed)(struct cp_dplink *l))
{
	if (l->closing)
		return;
	l->closing = 1;
	l->closed = closed;
	sock_close(l);
	dp_ipc_reasm_fini(&l->rx);
	free(l->rbuf);
	l->rbuf = NULL;
	uv_timer_stop(&l->retry);
	uv_close((uv_handle_t *)&l->retry, on_handle_closed);
}
