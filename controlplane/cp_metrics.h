/* Prometheus metrics of lifecast-cp, text exposition format 0.0.4, served
 * at /metrics on the control plane's HTTP port ([http] listen).
 *
 * Families (all prefixed lifecast_): engine gauges and counters (streams,
 * viewers, sessions, bytes, skips, kicks, refusals), per-stream series
 * labelled {app, stream}, the RTMP server's connection counters, the
 * archive's counters, the management interface's own counters, and the
 * dataplane's per-worker counters {worker} when its stats socket answers.
 * Label values are escaped (\\, \", \n) as the format requires.
 */
#ifndef CP_METRICS_H
#define CP_METRICS_H

#include <stddef.h>

struct cp_mgmt;

/* Render every metric. *out is malloc'ed (caller frees), NUL-terminated,
 * *len its length. Returns 0 or -ENOMEM. */
int cp_metrics_render(struct cp_mgmt *m, char **out, size_t *len);

/* Escape a label value into out (cap bytes, always NUL-terminated when cap
 * > 0; cut at a character boundary of the escaping when too long).
 * Returns the length written. */
size_t cp_metrics_escape(const char *in, char *out, size_t cap);

/* Stop the HTTP server cp_mgmt_metrics_start created for itself (none when
 * it used the chat's). Called by cp_mgmt_stop. */
void cp_metrics_stop(struct cp_mgmt *m);

#endif
