/* cp_rand: kernel randomness for the control plane's RTMP handshakes. */
#ifndef CP_RAND_H
#define CP_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf with len bytes from getrandom(2), retrying on EINTR and on short
 * reads. ctx is unused: the signature is rtmp_hs_rand_fn, so both RTMP
 * transports (kernel sockets, dataplane IPC) pass it as rtmp_hs_config.rand.
 * Returns 0 or -errno (buf then partly filled and not to be used). */
int cp_rand_fill(void *ctx, uint8_t *buf, size_t len);

#endif
