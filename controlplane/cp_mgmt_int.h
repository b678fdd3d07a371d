/* Internals shared by the cp_mgmt*.c and cp_metrics.c files. */
#ifndef CP_MGMT_INT_H
#define CP_MGMT_INT_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "controlplane/cp_archive_int.h"
#include "controlplane/cp_config.h"
#include "controlplane/cp_mgmt.h"

/* [control] section. */
struct cp_mgmt_conf {
	char socket[CP_CONF_STR_MAX];
	uint64_t bitrate_window_ms;  /* bitrates are averaged over this much time */
};

extern const struct cp_conf_key cp_mgmt_conf_keys[];
extern const size_t cp_mgmt_conf_nkeys;

#define CP_MGMT_RATE_SLOTS 16     /* samples kept per stream (one a second) */
#define CP_MGMT_RATE_STREAMS 256  /* streams whose bitrate is tracked */

struct cp_mgmt_rate {
	uint64_t stream_id;           /* 0: free slot */
	uint64_t t_ms[CP_MGMT_RATE_SLOTS];
	uint64_t bytes[CP_MGMT_RATE_SLOTS];
	unsigned n, head;             /* samples held, next slot */
	int seen;                     /* touched in the current sampling pass */
};

/* Two samples of the dataplane's stats, for rates. */
struct cp_mgmt_dp {
	char path[108];               /* [dataplane] stats_socket, "" = none */
	json_t *prev, *cur;           /* parsed answers, NULL when none */
	uint64_t prev_ms, cur_ms;
	int connected;                /* last sample succeeded */
	uint64_t failures;
	char last_error[128];
};

struct cp_mgmt_client;

struct cp_mgmt {
	struct cp_mgmt_env env;
	char conf_path[CP_CONF_STR_MAX * 4];
	struct cp_mgmt_conf conf;
	struct cp_archive *archive;
	int (*chat_reload)(void *ctx);
	void *chat_ctx;
	struct cp_http *own_http;
	uv_pipe_t listener;
	uv_timer_t sampler;
	int listening, timer_on, handles, stopping;
	char path[108];
	struct cp_mgmt_client *clients;
	uint64_t started_ms;
	time_t started_wall;
	struct cp_mgmt_rate rates[CP_MGMT_RATE_STREAMS];
	struct cp_mgmt_dp dp;
	struct cp_mgmt_stats st;
	/* the file's values at start / last reload (command-line overrides
	 * excluded), so reload sees what changed in the file */
	struct cp_rtmp_conf base_rtmp;
	struct cp_archive_conf base_arch;
	/* engine totals at the last two samples, for kernel-mode rates */
	uint64_t tot_prev_ms, tot_cur_ms;
	uint64_t tot_prev_in, tot_cur_in, tot_prev_out, tot_cur_out;
	uint64_t tot_prev_msgs, tot_cur_msgs;
};

/* A handler gets the request object and fills *result (a new reference) or
 * returns -errno with a message in err. */
typedef int (*cp_mgmt_cmd_fn)(struct cp_mgmt *m, json_t *req, json_t **result, char *err,
			      size_t errlen);

/* Handlers (cp_mgmt_cmd.c, cp_mgmt_keys.c, cp_mgmt_reload.c, cp_mgmt_dp.c). */
int cp_mgmt_cmd_status(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_streams(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_sessions(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_kick(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_stream_stop(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_drain(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_archive_list(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_archive_repair(struct cp_mgmt *m, json_t *req, json_t **res, char *err,
			       size_t n);
int cp_mgmt_cmd_keys_list(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_keys_add(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_keys_revoke(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_reload(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
int cp_mgmt_cmd_stats(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);

/* Loop time in ms (uv_now), or the engine clock without a loop (tests). */
uint64_t cp_mgmt_now(const struct cp_mgmt *m);

/* Bits per second of stream id over the configured window; 0 when unknown. */
uint64_t cp_mgmt_stream_bps(const struct cp_mgmt *m, uint64_t stream_id);

/* Sampler steps: record stream byte counters / take a dataplane sample. */
void cp_mgmt_sample_streams(struct cp_mgmt *m);
void cp_mgmt_dp_sample(struct cp_mgmt *m);
void cp_mgmt_dp_fini(struct cp_mgmt *m);

/* Load the reload baselines from the configuration file. Returns 0 or
 * -errno with a message. */
int cp_mgmt_reload_init(struct cp_mgmt *m, char *err, size_t errlen);

/* Disconnect st's publisher (if any) with reason and end the stream without
 * a grace period. Returns the publisher's session id (0: none); *ended is
 * set when the stream is no longer live. st may be freed. */
uint64_t cp_mgmt_end_stream(struct cp_mgmt *m, struct cp_stream *st, const char *reason,
			    int *ended);

/* After the stream keys changed: end every keyed stream whose publisher's
 * key no longer belongs to the stream's channel (revoked or replaced).
 * Returns an array of {"stream","publisher_session"} for the streams cut. */
json_t *cp_mgmt_cut_stale_publishers(struct cp_mgmt *m);

/* Parse "APP/NAME" into app and name. Returns 0 or -EINVAL. */
int cp_mgmt_split_stream(const char *s, char *app, size_t acap, char *name, size_t ncap);


#endif
