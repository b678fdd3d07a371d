/* dp_usock: the Unix SOCK_SEQPACKET listener both dataplane sockets use
 * (dp_ipc, the stats socket; dp_cpipc, the control-plane link). */
#ifndef DP_USOCK_H
#define DP_USOCK_H

/* Listen at path with a non-blocking, close-on-exec SOCK_SEQPACKET socket.
 * Parent directories are created (0755) and a socket file left at path by
 * a crashed run is replaced. sndbuf > 0 sets SO_SNDBUF before bind (best
 * effort: the kernel default stays if it is refused). Returns the listening
 * descriptor, owned by the caller (close it and unlink path when done), or
 * -errno: -ENAMETOOLONG when path does not fit a sockaddr_un. On failure no
 * descriptor stays open and a socket file this call bound is removed. */
int dp_usock_listen(const char *path, int backlog, int sndbuf);

#endif /* DP_USOCK_H */
