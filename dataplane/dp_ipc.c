/* IPC socket of the dataplane (main lcore). */
#include "dataplane/dp_ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controlplane/cp_log.h"
#include "dataplane/dp_stats.h"
#include "dataplane/dp_usock.h"

int dp_ipc_open(struct dp_ipc *ipc, const char *path)
{
	int rc;

	ipc->lfd = -1;
	for (int i = 0; i < DP_IPC_MAX_CLIENTS; i++)
		ipc->cfd[i] = -1;
	ipc->buf = NULL;
	if (strlen(path) >= sizeof(ipc->path))
		return -ENAMETOOLONG;
	snprintf(ipc->path, sizeof(ipc->path), "%s", path);
	ipc->buf = malloc(DP_IPC_MSG_MAX);
	if (!ipc->buf)
		return -ENOMEM;
	/* The send buffer holds a whole reply: SEQPACKET sends are atomic. */
	rc = dp_usock_listen(path, 8, DP_IPC_MSG_MAX + 4096);
	if (rc < 0) {
		dp_ipc_close(ipc);
		return rc;
	}
	ipc->lfd = rc;
	return 0;
}

int dp_ipc_handle(const struct dp_app *app, const char *req, size_t reqlen, char *out,
		  size_t outlen)
{
	/* Trailing newline tolerated: `echo stats | socat` style clients. */
	while (reqlen > 0 && (req[reqlen - 1] == '\n' || req[reqlen - 1] == '\r'))
		reqlen--;
	if (reqlen == 5 && memcmp(req, "stats", 5) == 0)
		return dp_stats_json(app, out, outlen);
	if (reqlen == 4 && memcmp(req, "ping", 4) == 0)
		return snprintf(out, outlen, "pong");
	return snprintf(out, outlen, "{\"error\":\"unknown request\"}");
}

static void ipc_accept(struct dp_ipc *ipc)
{
	int fd = accept4(ipc->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < DP_IPC_MAX_CLIENTS; i++) {
		if (ipc->cfd[i] < 0) {
			ipc->cfd[i] = fd;
			return;
		}
	}
	cp_warn("ipc: too many clients, refusing one");
	close(fd);
}

static void ipc_serve(struct dp_ipc *ipc, const struct dp_app *app, int slot)
{
	char req[512];
	ssize_t n = recv(ipc->cfd[slot], req, sizeof(req), 0);
	int len;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(ipc->cfd[slot]);
			ipc->cfd[slot] = -1;
		}
		return;
	}
	len = dp_ipc_handle(app, req, (size_t)n, ipc->buf, DP_IPC_MSG_MAX);
	if (len < 0)
		len = snprintf(ipc->buf, DP_IPC_MSG_MAX, "{\"error\":\"%s\"}", strerror(-len));
	if (send(ipc->cfd[slot], ipc->buf, (size_t)len, MSG_NOSIGNAL) < 0) {
		close(ipc->cfd[slot]);
		ipc->cfd[slot] = -1;
	}
}

int dp_ipc_poll(struct dp_ipc *ipc, const struct dp_app *app, int extra_fd, int timeout_ms)
{
	struct pollfd pfd[DP_IPC_MAX_CLIENTS + 2];
	int slot_of[DP_IPC_MAX_CLIENTS + 2];
	int n = 0, rc, extra = 0;

	if (extra_fd >= 0) {
		pfd[n] = (struct pollfd){ .fd = extra_fd, .events = POLLIN };
		slot_of[n++] = -2;
	}
	if (ipc->lfd >= 0) {
		pfd[n] = (struct pollfd){ .fd = ipc->lfd, .events = POLLIN };
		slot_of[n++] = -1;
	}
	for (int i = 0; i < DP_IPC_MAX_CLIENTS; i++) {
		if (ipc->cfd[i] >= 0) {
			pfd[n] = (struct pollfd){ .fd = ipc->cfd[i], .events = POLLIN };
			slot_of[n++] = i;
		}
	}
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	for (int k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		if (slot_of[k] == -2)
			extra = 1;
		else if (slot_of[k] == -1)
			ipc_accept(ipc);
		else
			ipc_serve(ipc, app, slot_of[k]);
	}
	return extra;
}

void dp_ipc_close(struct dp_ipc *ipc)
{
	for (int i = 0; i < DP_IPC_MAX_CLIENTS; i++) {
		if (ipc->cfd[i] >= 0)
			close(ipc->cfd[i]);
		ipc->cfd[i] = -1;
	}
	if (ipc->lfd >= 0) {
		close(ipc->lfd);
		unlink(ipc->path);
	}
	ipc->lfd = -1;
	free(ipc->buf);
	ipc->buf = NULL;
}
