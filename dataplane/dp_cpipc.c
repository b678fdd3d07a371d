/* Control-plane IPC server on the main lcore: socket <-> worker rings. */
#include "dataplane/dp_cpipc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "controlplane/cp_log.h"
#include "dataplane/dp_rtmp.h"
#include "dataplane/dp_stats.h"
#include "dataplane/dp_stream.h"
#include "dataplane/dp_usock.h"
#include "dataplane/dp_worker.h"

#define CPIPC_IOV_MAX 256
#define CPIPC_RX_BURST 64
#define CPIPC_STATS_MAX (1u << 20)

struct dp_cpmsg *dp_cpmsg_new(uint16_t type, uint64_t session, uint64_t stream, uint32_t len)
{
	struct dp_cpmsg *m = calloc(1, sizeof(*m) + len);

	if (!m)
		return NULL;
	dp_ipc_hdr_init(&m->h, type, session, stream, len);
	m->slot = -1;
	return m;
}

void dp_cpmsg_free(struct dp_cpmsg *m)
{
	if (!m)
		return;
	rte_pktmbuf_free(m->ref);
	free(m);
}

uint32_t dp_cpmsg_wire_len(const struct dp_cpmsg *m)
{
	return m->h.len + (m->ref ? dp_entry_meta(m->ref)->plen : 0);
}

/* ---- message FIFO ---- */

static int msgq_grow(struct dp_msgq *q)
{
	uint32_t cap = q->cap ? q->cap * 2 : 64;
	struct dp_cpmsg **v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->n; i++)
		v[i] = q->v[(q->head + i) % q->cap];
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int dp_msgq_push(struct dp_msgq *q, struct dp_cpmsg *m, uint32_t limit)
{
	if (limit && q->n >= limit)
		return -ENOBUFS;
	if (q->n == q->cap && msgq_grow(q) != 0)
		return -ENOMEM;
	q->v[(q->head + q->n) % q->cap] = m;
	q->n++;
	return 0;
}

unsigned dp_msgq_flush(struct dp_msgq *q, struct rte_ring *ring)
{
	unsigned moved = 0;

	while (q->n && rte_ring_enqueue(ring, q->v[q->head]) == 0) {
		q->v[q->head] = NULL;
		q->head = (q->head + 1) % q->cap;
		q->n--;
		moved++;
	}
	return moved;
}

void dp_msgq_fini(struct dp_msgq *q)
{
	while (q->n) {
		dp_cpmsg_free(q->v[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
	free(q->v);
	q->v = NULL;
	q->cap = q->head = 0;
}

/* Outgoing queue: a ring of messages; the head may be partly sent (off =
 * payload bytes already sent in earlier fragments). */
struct dp_cpipc {
	struct dp_app *app;
	int lfd, cfd;
	int hello;                  /* the client said HELLO */
	char path[108];
	uint8_t *rxbuf;
	struct dp_ipc_reasm rx;
	struct dp_cpmsg **q;
	uint32_t qcap, qhead, qn;
	size_t qoff, qbytes, qmax;
	uint16_t resync_wait;       /* workers yet to finish RESYNC */
	struct dp_ipc_resync_done resync;
	uint64_t boot_id;
	char *stats_buf;
	/* Commands a worker's ring had no room for, per worker, in order: the
	 * main lcore never waits for a worker (which may itself be waiting
	 * for room in its event ring). */
	struct dp_msgq pend[DP_MAX_WORKERS];
	struct dp_cpipc_stats st;
};

/* ---- queue ---- */

static void q_drop_all(struct dp_cpipc *x)
{
	while (x->qn) {
		dp_cpmsg_free(x->q[x->qhead]);
		x->qhead = (x->qhead + 1) % x->qcap;
		x->qn--;
	}
	x->qoff = 0;
	x->qbytes = 0;
}

/* Queue m (ownership passes). Archive copies go only below half the bound,
 * so the control plane's session traffic keeps room. */
static void q_push(struct dp_cpipc *x, struct dp_cpmsg *m)
{
	size_t len = dp_cpmsg_wire_len(m) + DP_IPC_HDR_LEN;
	int archive = m->h.type == DP_IPC_ARCHIVE_MSG;

	if (x->cfd < 0 || x->qn == x->qcap || x->qbytes + len > (archive ? x->qmax / 2 : x->qmax)) {
		if (archive) {
			x->st.archive_dropped++;
			if (m->slot >= 0)
				atomic_fetch_add(&((struct dp_rtmp_shared *)x->app->rtmp)->streams
						  .slot[m->slot].ar_dropped, 1);
		} else {
			x->st.msgs_dropped++;
		}
		dp_cpmsg_free(m);
		return;
	}
	if (archive && m->slot >= 0) {
		struct dp_ipc_archive ar;

		memcpy(&ar, m->data, sizeof(ar));
		ar.dropped = atomic_exchange(&x->app->rtmp->streams.slot[m->slot].ar_dropped, 0);
		memcpy(m->data, &ar, sizeof(ar));
	}
	x->q[(x->qhead + x->qn) % x->qcap] = m;
	x->qn++;
	x->qbytes += len;
	if (x->qbytes > x->st.queue_peak)
		x->st.queue_peak = x->qbytes;
	x->st.queue_bytes = x->qbytes;
}

/* Build the iovecs of payload bytes [off, off + n) of m: at most max, so
 * *mapped (the bytes they describe) may be a prefix of n. Returns the
 * iovecs used or -EINVAL (the message does not hold those bytes). */
static int msg_iov(const struct dp_cpmsg *m, size_t off, uint32_t n, struct iovec *iov, int max,
		   uint32_t *mapped)
{
	int cnt = 0;

	*mapped = 0;
	if (off < m->h.len) {
		uint32_t take = (uint32_t)(m->h.len - off) < n ? (uint32_t)(m->h.len - off) : n;

		iov[cnt].iov_base = (void *)(m->data + off);
		iov[cnt].iov_len = take;
		cnt++;
		off += take;
		n -= take;
		*mapped = take;
	}
	if (n > 0) {
		uint32_t more;
		int rc;

		if (!m->ref)
			return -EINVAL;
		rc = dp_entry_payload_iov(m->ref, (uint32_t)(off - m->h.len), n, iov + cnt, max - cnt,
					  &more);
		if (rc < 0)
			return rc;
		cnt += rc;
		*mapped += more;
	}
	return cnt;
}

/* Drop the head message (sent in part or not at all). */
static void q_pop(struct dp_cpipc *x)
{
	struct dp_cpmsg *m = x->q[x->qhead];

	x->qbytes -= dp_cpmsg_wire_len(m) + DP_IPC_HDR_LEN;
	x->st.queue_bytes = x->qbytes;
	dp_cpmsg_free(m);
	x->qhead = (x->qhead + 1) % x->qcap;
	x->qn--;
	x->qoff = 0;
}

/* Send the next datagram of the head message: a fragment of at most
 * DP_IPC_FRAG_PAYLOAD bytes, shorter when its bytes need more than
 * CPIPC_IOV_MAX iovecs (the receiver concatenates fragments of any size).
 * 1 sent (or the message dropped), 0 would block, -errno on a broken socket. */
static int q_send_one(struct dp_cpipc *x)
{
	struct dp_cpmsg *m = x->q[x->qhead];
	size_t total = dp_cpmsg_wire_len(m);
	struct iovec iov[CPIPC_IOV_MAX + 1];
	struct dp_ipc_hdr whole = m->h, fh;
	struct msghdr mh;
	uint32_t n = dp_ipc_frag_len(total, x->qoff);
	int cnt = 0;
	ssize_t rc;

	whole.len = (uint32_t)total;
	dp_ipc_frag_hdr(&fh, &whole, total, x->qoff);
	iov[0].iov_base = &fh;
	iov[0].iov_len = sizeof(fh);
	if (n) {
		uint32_t mapped;

		cnt = msg_iov(m, x->qoff, n, iov + 1, CPIPC_IOV_MAX, &mapped);
		if (cnt < 0 || mapped == 0) {
			/* A bug, not the link's fault: lose this message only. */
			x->st.msgs_dropped++;
			q_pop(x);
			return 1;
		}
		n = mapped;
		fh.len = n;
		fh.flags = x->qoff + n < total ? DP_IPC_F_MORE : 0;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)cnt + 1;
	rc = sendmsg(x->cfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (rc < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -errno;
	x->st.tx_dgrams++;
	x->st.tx_bytes += (uint64_t)rc;
	x->qoff += n;
	if (x->qoff >= total) {
		x->st.tx_msgs++;
		if (m->h.type == DP_IPC_ARCHIVE_MSG)
			x->st.archive_sent++;
		q_pop(x);
	}
	return 1;
}

static void client_drop(struct dp_cpipc *x, const char *why);

static unsigned q_flush(struct dp_cpipc *x)
{
	unsigned n = 0;

	while (x->cfd >= 0 && x->qn) {
		int rc = q_send_one(x);

		if (rc == 0)
			break;
		if (rc < 0) {
			client_drop(x, strerror(-rc));
			break;
		}
		n++;
	}
	return n;
}

/* ---- workers ---- */

static struct rte_ring *worker_cmd(struct dp_cpipc *x, uint16_t w)
{
	if (w >= x->app->nb_workers || !x->app->workers[w] || !x->app->workers[w]->rtmp)
		return NULL;
	return dp_rtmp_cmd_ring(x->app->workers[w]->rtmp);
}

/* Session commands wait at most this many per worker; state changes of
 * the main lcore (CP up/down, resync, stream end) are never dropped. */
#define CPIPC_PEND_MAX 16384

/* Relay m to worker w in order: straight into its ring when nothing waits
 * before it, else behind the pending ones. must: never dropped. */
static int to_worker(struct dp_cpipc *x, uint16_t w, struct dp_cpmsg *m, int must)
{
	struct rte_ring *ring = worker_cmd(x, w);
	struct dp_msgq *q;

	if (!ring) {
		x->st.cmds_dropped++;
		dp_cpmsg_free(m);
		return -ENOENT;
	}
	q = &x->pend[w];
	if (q->n == 0 && rte_ring_enqueue(ring, m) == 0)
		return 0;
	if (dp_msgq_push(q, m, must ? 0 : CPIPC_PEND_MAX) != 0) {
		x->st.cmds_dropped++;
		dp_cpmsg_free(m);
		return -ENOBUFS;
	}
	x->st.cmds_deferred++;
	return 0;
}

static unsigned pend_flush(struct dp_cpipc *x)
{
	unsigned n = 0;

	for (uint16_t w = 0; w < x->app->nb_workers; w++)
		if (x->pend[w].n && worker_cmd(x, w))
			n += dp_msgq_flush(&x->pend[w], worker_cmd(x, w));
	return n;
}

static void to_all_workers(struct dp_cpipc *x, uint16_t type, int32_t slot)
{
	for (uint16_t w = 0; w < x->app->nb_workers; w++) {
		struct dp_cpmsg *m = dp_cpmsg_new(type, 0, 0, 0);

		if (!m) {
			x->st.cmds_dropped++;
			continue;
		}
		m->slot = slot;
		to_worker(x, w, m, 1);
	}
}

static void resync_end(struct dp_cpipc *x, const struct dp_cpmsg *m)
{
	struct dp_ipc_resync_done d;
	struct dp_cpmsg *done;

	if (m->h.len != sizeof(d) || x->resync_wait == 0)
		return;
	memcpy(&d, m->data, sizeof(d));
	x->resync.sessions += d.sessions;
	x->resync.streams += d.streams;
	if (--x->resync_wait)
		return;
	done = dp_cpmsg_new(DP_IPC_RESYNC_DONE, 0, 0, sizeof(x->resync));
	if (!done)
		return;
	memcpy(done->data, &x->resync, sizeof(x->resync));
	q_push(x, done);
	cp_info("cp ipc: resync done: %u sessions, %u streams", x->resync.sessions,
		x->resync.streams);
}

static unsigned drain_events(struct dp_cpipc *x)
{
	unsigned work = 0;

	for (uint16_t w = 0; w < x->app->nb_workers; w++) {
		struct dp_worker *wk = x->app->workers[w];
		void *v[DP_BURST];
		unsigned n;

		if (!wk || !wk->rtmp)
			continue;
		n = rte_ring_dequeue_burst(dp_rtmp_evt_ring(wk->rtmp), v, DP_BURST, NULL);
		for (unsigned i = 0; i < n; i++) {
			struct dp_cpmsg *m = v[i];

			if (m->h.type == DP_CPMSG_RESYNC_END) {
				resync_end(x, m);
				dp_cpmsg_free(m);
			} else if (x->hello) {
				q_push(x, m);
			} else {
				dp_cpmsg_free(m); /* nobody to tell */
			}
		}
		work += n;
	}
	return work;
}

/* ---- received messages ---- */

static void on_hello(struct dp_cpipc *x, const uint8_t *p, size_t len)
{
	struct dp_ipc_hello h;
	struct dp_ipc_hello_ack a;
	struct dp_cpmsg *m;

	if (dp_ipc_decode(DP_IPC_HELLO, p, len, &h, sizeof(h), NULL, NULL) != 0) {
		x->st.rx_errors++;
		return;
	}
	cp_info("cp ipc: HELLO from pid %u (version %u)", h.pid, h.version);
	m = dp_cpmsg_new(DP_IPC_HELLO_ACK, 0, 0, sizeof(a));
	if (!m)
		return;
	memset(&a, 0, sizeof(a));
	a.version = DP_IPC_VERSION;
	a.workers = x->app->nb_workers;
	a.chunk_size = x->app->rtmp->chunk_size;
	a.boot_id = x->boot_id;
	memcpy(m->data, &a, sizeof(a));
	x->hello = 1;
	q_push(x, m);
	atomic_store(&x->app->rtmp->cp_up, 1);
	memset(&x->resync, 0, sizeof(x->resync));
	x->resync_wait = x->app->nb_workers;
	to_all_workers(x, DP_CPMSG_RESYNC_REQ, -1);
}

static void on_stats(struct dp_cpipc *x)
{
	int n = dp_stats_json(x->app, x->stats_buf, CPIPC_STATS_MAX);
	struct dp_cpmsg *m;

	if (n < 0)
		n = snprintf(x->stats_buf, CPIPC_STATS_MAX, "{\"error\":\"%s\"}", strerror(-n));
	m = dp_cpmsg_new(DP_IPC_STATS, 0, 0, (uint32_t)n);
	if (!m)
		return;
	memcpy(m->data, x->stats_buf, (size_t)n);
	q_push(x, m);
}

/* SESSION_INFO: the workers' latest session snapshots, one message. */
static void on_session_info(struct dp_cpipc *x)
{
	struct dp_app *app = x->app;
	size_t cap = 0, n = 0;
	struct dp_ipc_session_info *v;
	struct dp_cpmsg *m;

	for (uint16_t i = 0; i < app->nb_workers; i++)
		if (app->workers[i]->rtmp)
			cap += dp_rtmp_sess_snap_cap(app->workers[i]->rtmp);
	if (cap > (DP_IPC_PROTO_MSG_MAX - 256) / sizeof(*v))
		cap = (DP_IPC_PROTO_MSG_MAX - 256) / sizeof(*v);
	v = malloc(cap ? cap * sizeof(*v) : 1);
	if (!v)
		return;
	for (uint16_t i = 0; i < app->nb_workers && n < cap; i++) {
		int k;

		if (!app->workers[i]->rtmp)
			continue;
		k = dp_rtmp_copy_sessions(app->workers[i]->rtmp, v + n, (uint32_t)(cap - n));
		if (k > 0)
			n += (size_t)k;
	}
	m = dp_cpmsg_new(DP_IPC_SESSION_INFO, 0, 0, (uint32_t)(n * sizeof(*v)));
	if (m) {
		if (n)
			memcpy(m->data, v, n * sizeof(*v));
		q_push(x, m);
	}
	free(v);
}

/* Stream table bookkeeping the main lcore does before relaying. */
static int32_t route_slot(struct dp_cpipc *x, const struct dp_ipc_hdr *h, const uint8_t *p,
			  size_t len)
{
	struct dp_streams *t = &x->app->rtmp->streams;
	int slot;

	switch (h->type) {
	case DP_IPC_SESSION_PUBLISH: {
		struct dp_ipc_publish pb;

		if (dp_ipc_decode(h->type, p, len, &pb, sizeof(pb), NULL, NULL) != 0)
			return -EBADMSG;
		slot = dp_streams_lookup(t, h->stream, 1);
		if (slot >= 0) {
			memcpy(t->slot[slot].app, pb.app, sizeof(t->slot[slot].app));
			memcpy(t->slot[slot].name, pb.name, sizeof(t->slot[slot].name));
			atomic_store(&t->slot[slot].ended, 0);
		}
		return slot;
	}
	case DP_IPC_SESSION_ATTACH:
		slot = dp_streams_lookup(t, h->stream, 1);
		if (slot >= 0)
			atomic_store(&t->slot[slot].ended, 0);
		return slot;
	default:
		return -1;
	}
}

static void on_stream_state(struct dp_cpipc *x, const struct dp_ipc_hdr *h, const uint8_t *p,
			    size_t len)
{
	struct dp_ipc_stream_state st;
	int slot;

	if (dp_ipc_decode(h->type, p, len, &st, sizeof(st), NULL, NULL) != 0 ||
	    st.state != DP_IPC_STREAM_ENDED) {
		x->st.rx_errors++;
		return;
	}
	slot = dp_streams_lookup(&x->app->rtmp->streams, h->stream, 0);
	if (slot < 0)
		return;
	atomic_store(&x->app->rtmp->streams.slot[slot].ended, 1);
	to_all_workers(x, DP_IPC_STREAM_STATE, slot);
}

static void on_message(struct dp_cpipc *x, const struct dp_ipc_hdr *h, const uint8_t *p,
		       size_t len)
{
	struct dp_cpmsg *m;
	int32_t slot;

	x->st.rx_msgs++;
	switch (h->type) {
	case DP_IPC_HELLO:
		on_hello(x, p, len);
		return;
	case DP_IPC_STATS_REQ:
		on_stats(x);
		return;
	case DP_IPC_SESSION_INFO_REQ:
		on_session_info(x);
		return;
	case DP_IPC_STREAM_STATE:
		on_stream_state(x, h, p, len);
		return;
	case DP_IPC_SESSION_DATA: case DP_IPC_SESSION_HANDOVER: case DP_IPC_SESSION_MSG:
	case DP_IPC_SESSION_PUBLISH: case DP_IPC_SESSION_UNPUBLISH: case DP_IPC_SESSION_ATTACH:
	case DP_IPC_SESSION_DETACH: case DP_IPC_SESSION_CLOSE:
		break;
	default:
		x->st.rx_errors++; /* a dp->cp type sent the wrong way */
		return;
	}
	if (!x->hello) {
		x->st.rx_errors++;
		return;
	}
	slot = route_slot(x, h, p, len);
	if ((h->type == DP_IPC_SESSION_PUBLISH || h->type == DP_IPC_SESSION_ATTACH) && slot < 0) {
		x->st.rx_errors++;
		return;
	}
	m = dp_cpmsg_new(h->type, h->session, h->stream, (uint32_t)len);
	if (!m)
		return;
	memcpy(m->data, p, len);
	m->slot = slot;
	if (dp_ipc_session_worker(h->session) >= x->app->nb_workers) {
		x->st.rx_unroutable++;
		dp_cpmsg_free(m);
		return;
	}
	to_worker(x, dp_ipc_session_worker(h->session), m, 0);
}

static unsigned rx_poll(struct dp_cpipc *x)
{
	unsigned n;

	for (n = 0; x->cfd >= 0 && n < CPIPC_RX_BURST; n++) {
		ssize_t got = recv(x->cfd, x->rxbuf, DP_IPC_FRAG_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
		struct dp_ipc_hdr h, whole;
		const uint8_t *p;
		size_t plen;
		int rc;

		if (got == 0) {
			client_drop(x, "closed by peer");
			break;
		}
		if (got < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				client_drop(x, strerror(errno));
			break;
		}
		x->st.rx_bytes += (uint64_t)got;
		rc = dp_ipc_hdr_parse(x->rxbuf, (size_t)got, &h);
		if (rc == 0)
			rc = dp_ipc_reasm_push(&x->rx, &h, x->rxbuf + DP_IPC_HDR_LEN, &whole, &p, &plen);
		if (rc < 0) {
			x->st.rx_errors++;
			cp_warn("cp ipc: bad datagram (%zd bytes): %s", got, strerror(-rc));
			continue;
		}
		if (rc == 1)
			on_message(x, &whole, p, plen);
	}
	return n;
}

/* ---- connection ---- */

static void client_drop(struct dp_cpipc *x, const char *why)
{
	if (x->cfd < 0)
		return;
	cp_warn("cp ipc: control plane disconnected (%s)", why);
	close(x->cfd);
	x->cfd = -1;
	x->hello = 0;
	x->resync_wait = 0;
	x->st.disconnects++;
	q_drop_all(x);
	dp_ipc_reasm_reset(&x->rx);
	atomic_store(&x->app->rtmp->cp_up, 0);
	to_all_workers(x, DP_CPMSG_CP_DOWN, -1);
}

static void accept_poll(struct dp_cpipc *x)
{
	int fd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int sz = 4 << 20;

	if (fd < 0)
		return;
	if (x->cfd >= 0) {
		x->st.replaced++;
		client_drop(x, "replaced by a new connection");
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	x->cfd = fd;
	x->st.connects++;
	cp_info("cp ipc: control plane connected");
}

unsigned dp_cpipc_run(struct dp_cpipc *x)
{
	unsigned work = 0;

	accept_poll(x);
	work += pend_flush(x);
	work += rx_poll(x);
	work += drain_events(x);
	work += q_flush(x);
	if (dp_streams_reap(&x->app->rtmp->streams))
		work++;
	return work;
}

static uint64_t boot_id_make(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
}

struct dp_cpipc *dp_cpipc_open(struct dp_app *app, const char *path)
{
	struct dp_cpipc *x = calloc(1, sizeof(*x));
	int rc = -ENOMEM;

	if (!x)
		goto fail_errno;
	x->lfd = x->cfd = -1;
	x->app = app;
	x->qcap = 65536;
	x->qmax = app->conf.cp_queue_max;
	x->boot_id = boot_id_make();
	dp_ipc_reasm_init(&x->rx, DP_IPC_PROTO_MSG_MAX);
	x->q = calloc(x->qcap, sizeof(*x->q));
	x->rxbuf = malloc(DP_IPC_FRAG_MAX + 1);
	x->stats_buf = malloc(CPIPC_STATS_MAX);
	if (!x->q || !x->rxbuf || !x->stats_buf || !app->rtmp)
		goto fail;
	rc = -ENAMETOOLONG;
	if (strlen(path) >= sizeof(x->path))
		goto fail;
	snprintf(x->path, sizeof(x->path), "%s", path);
	rc = dp_usock_listen(path, 4, 0);
	if (rc < 0)
		goto fail;
	x->lfd = rc;
	return x;
fail:
	dp_cpipc_close(x);
	errno = -rc;
	return NULL;
fail_errno:
	errno = ENOMEM;
	return NULL;
}

void dp_cpipc_close(struct dp_cpipc *x)
{
	if (!x)
		return;
	if (x->cfd >= 0)
		close(x->cfd);
	x->cfd = -1;
	q_drop_all(x);
	for (uint16_t w = 0; x->app && w < DP_MAX_WORKERS; w++)
		dp_msgq_fini(&x->pend[w]);
	if (x->lfd >= 0) {
		close(x->lfd);
		unlink(x->path);
	}
	if (x->app && x->app->rtmp)
		atomic_store(&x->app->rtmp->cp_up, 0);
	dp_ipc_reasm_fini(&x->rx);
	free(x->q);
	free(x->rxbuf);
	free(x->stats_buf);
	free(x);
}

const struct dp_cpipc_stats *dp_cpipc_stats(const struct dp_cpipc *x)
{
	return &x->st;
}

int dp_cpipc_connected(const struct dp_cpipc *x)
{
	return x->cfd >= 0 && x->hello;
}
