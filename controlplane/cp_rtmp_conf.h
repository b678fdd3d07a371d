/* [rtmp] and [keys] settings of the RTMP session engine.
 *
 * The [rtmp] section is a declarative key table (cp_config.h); `apps` is a
 * list parsed once into cp_rtmp_conf.apps. The [keys] section is free-form
 * `channel = secret`: a publisher uses the secret as its stream name (as OBS
 * stream keys work) and viewers play the channel name.
 */
#ifndef CP_RTMP_CONF_H
#define CP_RTMP_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "controlplane/cp_config.h"

#define CP_APP_NAME_MAX 64
#define CP_APPS_MAX 32
#define CP_STREAM_NAME_MAX 128

struct cp_app {
	char name[CP_APP_NAME_MAX];
	int open; /* 1: any stream name may publish; 0: stream keys required */
};

struct cp_rtmp_conf {
	struct cp_conf_addr listen;
	char dataplane[CP_CONF_STR_MAX]; /* IPC socket of lifecast-dp; "" = none */
	uint64_t chunk_size;          /* our outgoing chunk size */
	uint64_t max_message_size;    /* largest message accepted from a peer */
	uint64_t chunk_size_cap;      /* largest Set Chunk Size accepted from a peer */
	uint64_t window_ack_size;     /* announced Window Acknowledgement Size */
	uint64_t handshake_timeout_ms;
	uint64_t command_timeout_ms;  /* handshake done -> publish/play */
	uint64_t idle_timeout_ms;     /* no input from a publisher / no write progress to a viewer */
	uint64_t max_connections;
	uint64_t conn_memory_cap;     /* per connection: input + reassembly + pending output */
	uint64_t viewer_skip_threshold; /* backlog bytes past which a viewer skips to a keyframe */
	uint64_t viewer_hard_limit;   /* backlog bytes past which a viewer is disconnected */
	uint64_t viewer_sndbuf;       /* SO_SNDBUF of viewer sockets, 0 = kernel autotuning */
	uint64_t gop_cache_max;       /* bytes of the current GOP kept for new viewers */
	uint64_t publish_grace_ms;    /* stream stays attached to viewers after its publisher left */
	int play_wait;                /* play of a not-live stream waits (PublishNotify) */
	int open_publish;             /* every app open (also --open-publish) */
	char apps_spec[CP_CONF_STR_MAX];
	/* parsed from apps_spec by cp_rtmp_conf_load */
	struct cp_app apps[CP_APPS_MAX];
	size_t napps;
};

/* The [rtmp] key table, for cp_conf_load/cp_conf_set and the example file. */
extern const struct cp_conf_key cp_rtmp_conf_keys[];
extern const size_t cp_rtmp_conf_nkeys;

/* Load defaults, then `path` (may be NULL), then parse `apps`, and check
 * cross-key constraints (skip threshold <= hard limit).
 * Returns 0 or -errno with a message in err. */
int cp_rtmp_conf_load(const char *path, struct cp_rtmp_conf *c, char *err, size_t errlen);

/* Parse an apps list "name:open name:keyed ..." (a bare name means keyed)
 * into c->apps. Returns 0 or -EINVAL with a message in err. */
int cp_rtmp_conf_parse_apps(struct cp_rtmp_conf *c, const char *spec, char *err,
			    size_t errlen);

/* The app called `name`, or NULL. With open_publish set, an unknown app is
 * still served (open); the returned pointer is then `fallback`, filled in. */
const struct cp_app *cp_rtmp_conf_app(const struct cp_rtmp_conf *c, const char *name,
				      struct cp_app *fallback);

/* Stream-key table from [keys]. */
struct cp_keytab_entry {
	char channel[CP_STREAM_NAME_MAX];
	char secret[CP_STREAM_NAME_MAX];
};

struct cp_keytab {
	struct cp_keytab_entry *v;
	size_t n, cap;
};

#define CP_KEYTAB_MAX 4096

/* Add one pair. Duplicate channel or secret, empty or over-long values are
 * -EINVAL; more than CP_KEYTAB_MAX pairs is -E2BIG; -ENOMEM. The table
 * copies the strings. */
int cp_keytab_add(struct cp_keytab *t, const char *channel, const char *secret);

/* Fill `t` (must be zeroed) from the [keys] section of `path`. A missing
 * file is an empty table only when path is NULL. Returns 0 or -errno. */
int cp_keytab_load(struct cp_keytab *t, const char *path, char *err, size_t errlen);

/* Channel whose secret is `secret`, or NULL. */
const char *cp_keytab_channel(const struct cp_keytab *t, const char *secret);

/* Free the entries; the table may be reused after. */
void cp_keytab_free(struct cp_keytab *t);

#endif
