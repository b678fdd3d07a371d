/* [archive] settings: declarative key table and the per-app record policy. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controlplane/cp_archive_int.h"

#define OFF(f) offsetof(struct cp_archive_conf, f)

const struct cp_conf_key cp_archive_conf_keys[] = {
	{ "archive", "enabled", CP_CONF_BOOL, OFF(enabled), "yes", 0, 0, 0,
	  "record live streams to FLV" },
	{ "archive", "dir", CP_CONF_STR, OFF(dir), "/var/lib/lifecast/archive", 0, 0, 0,
	  "archive root: DIR/APP/STREAM/YYYYMMDDTHHMMSSZ.flv" },
	{ "archive", "record", CP_CONF_STR, OFF(record_spec), "all", 0, 0, 1,
	  "policy: MODE and/or APP:MODE tokens, MODE = all | none | keyed (stream-key channels)" },
	{ "archive", "segment_duration", CP_CONF_DURATION, OFF(segment_duration_ms), "1h", 0, 0, 1,
	  "start a new segment at the first keyframe past this duration (0 = never)" },
	{ "archive", "segment_size", CP_CONF_SIZE, OFF(segment_size), "2G", 0, 0, 1,
	  "start a new segment at the first keyframe past this size (0 = never)" },
	{ "archive", "min_free", CP_CONF_SIZE, OFF(min_free), "1G", 0, 0, 1,
	  "stop recording while the archive filesystem has less free space than this" },
	{ "archive", "check_interval", CP_CONF_DURATION, OFF(check_interval_ms), "5s", 100,
	  3600000, 1, "how often free space is measured" },
	{ "archive", "keep_days", CP_CONF_UINT, OFF(keep_days), "0", 0, 36500, 1,
	  "delete recordings older than this many days (0 = keep)" },
	{ "archive", "keep_size", CP_CONF_SIZE, OFF(keep_size), "0", 0, 0, 1,
	  "per app: delete the oldest recordings beyond this total size (0 = no limit)" },
	{ "archive", "retention_interval", CP_CONF_DURATION, OFF(retention_interval_ms), "10m",
	  1000, 0, 1, "how often retention runs (it also runs at start)" },
	{ "archive", "queue_max", CP_CONF_SIZE, OFF(queue_max), "32M", 65536, 1ull << 32, 1,
	  "per recording: bytes waiting for the disk before the segment is cut" },
	{ "archive", "keyframe_index", CP_CONF_UINT, OFF(keyframe_index), "1000", 2,
	  FLV_WRITER_KEYFRAMES_MAX, 1, "entries in each file's onMetaData keyframe index" },
};
const size_t cp_archive_conf_nkeys = sizeof(cp_archive_conf_keys) / sizeof(cp_archive_conf_keys[0]);

static int parse_mode(const char *s, size_t n, enum cp_arch_policy *out)
{
	if (n == 3 && memcmp(s, "all", 3) == 0)
		*out = CP_ARCH_ALL;
	else if (n == 4 && memcmp(s, "none", 4) == 0)
		*out = CP_ARCH_NONE;
	else if (n == 5 && memcmp(s, "keyed", 5) == 0)
		*out = CP_ARCH_KEYED;
	else
		return -EINVAL;
	return 0;
}

/* One token: MODE or APP:MODE. */
static int parse_token(struct cp_archive_conf *c, const char *tok, size_t len, char *err,
		       size_t errlen)
{
	const char *colon = memchr(tok, ':', len);
	enum cp_arch_policy p;
	const char *mode = colon ? colon + 1 : tok;
	size_t mlen = colon ? len - (size_t)(colon - tok) - 1 : len;

	if (parse_mode(mode, mlen, &p) != 0) {
		snprintf(err, errlen, "archive.record: '%.*s': mode must be all, none or keyed",
			 (int)len, tok);
		return -EINVAL;
	}
	if (!colon) {
		c->def_policy = p;
		return 0;
	}
	size_t nlen = (size_t)(colon - tok);
	if (nlen == 0 || nlen >= CP_ARCH_NAME_MAX) {
		snprintf(err, errlen, "archive.record: bad app name in '%.*s'", (int)len, tok);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->napps; i++) {
		if (strlen(c->apps[i].app) == nlen && memcmp(c->apps[i].app, tok, nlen) == 0) {
			snprintf(err, errlen, "archive.record: app '%.*s' listed twice", (int)nlen,
				 tok);
			return -EINVAL;
		}
	}
	if (c->napps == CP_ARCH_APPS_MAX) {
		snprintf(err, errlen, "archive.record: more than %d apps", CP_ARCH_APPS_MAX);
		return -EINVAL;
	}
	memcpy(c->apps[c->napps].app, tok, nlen);
	c->apps[c->napps].app[nlen] = '\0';
	c->apps[c->napps].policy = p;
	c->napps++;
	return 0;
}

int cp_archive_conf_parse_record(struct cp_archive_conf *c, const char *spec, char *err,
				 size_t errlen)
{
	c->def_policy = CP_ARCH_ALL;
	c->napps = 0;
	for (const char *p = spec; *p;) {
		p += strspn(p, " \t,");
		if (!*p)
			break;
		size_t len = strcspn(p, " \t,");
		int rc = parse_token(c, p, len, err, errlen);
		if (rc != 0)
			return rc;
		p += len;
	}
	return 0;
}

int cp_archive_conf_load(const char *path, struct cp_archive_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	int rc = cp_conf_load(path, cp_archive_conf_keys, cp_archive_conf_nkeys, c, err, errlen);
	if (rc != 0)
		return rc;
	if (c->dir[0] == '\0') {
		snprintf(err, errlen, "archive.dir must not be empty");
		return -EINVAL;
	}
	return cp_archive_conf_parse_record(c, c->record_spec, err, errlen);
}

int cp_archive_conf_wants(const struct cp_archive_conf *c, const char *app, int keyed)
{
	enum cp_arch_policy p = c->def_policy;
	for (size_t i = 0; i < c->napps; i++) {
		if (strcmp(c->apps[i].app, app) == 0) {
			p = c->apps[i].policy;
			break;
		}
	}
	if (!c->enabled || p == CP_ARCH_NONE)
		return 0;
	return p == CP_ARCH_ALL || keyed;
}
