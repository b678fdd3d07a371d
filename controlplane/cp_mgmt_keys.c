/* Stream keys: the [keys] rewrite of lifecast.conf (atomic, everything else
 * kept byte for byte) and the keys_* management commands. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt_int.h"
#include "controlplane/cp_session.h"
#include "controlplane/cp_stream.h"

#define CONF_FILE_MAX (4u << 20)

/* ---- validation ---- */

static int valid_token(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= CP_STREAM_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Printable, no blanks, nothing the INI syntax or a URL path
		 * would treat specially. */
		if (c <= 0x20 || c >= 0x7f || strchr("=#;[]\"/?", c))
			return 0;
	}
	return 1;
}

/* ---- file scan ---- */

/* One line of the file: [start, end) including its '\n' (if any). */
struct line {
	size_t start, end;
};

static const char *skip_blank(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* If the line is a section header, copy its name into sec (else keep sec). */
static int line_section(const char *p, const char *e, char *sec, size_t cap)
{
	p = skip_blank(p, e);
	if (p >= e || *p != '[')
		return 0;
	const char *close = memchr(p, ']', (size_t)(e - p));
	if (!close)
		return 0;
	const char *a = skip_blank(p + 1, close);
	const char *b = close;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	snprintf(sec, cap, "%.*s", (int)(b - a), a);
	return 1;
}

/* Is the line `key = ...` with key == channel? Sets *is_key for any key line. */
static int line_key_is(const char *p, const char *e, const char *channel, int *is_key)
{
	p = skip_blank(p, e);
	*is_key = 0;
	if (p >= e || *p == '#' || *p == ';' || *p == '\n' || *p == '\r')
		return 0;
	const char *eq = memchr(p, '=', (size_t)(e - p));
	if (!eq)
		return 0;
	*is_key = 1;
	const char *b = eq;
	while (b > p && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	return (size_t)(b - p) == strlen(channel) && memcmp(p, channel, (size_t)(b - p)) == 0;
}

static int read_file(const char *path, char **out, size_t *len, mode_t *mode)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	char *buf = NULL;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CONF_FILE_MAX) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	*mode = st.st_mode & 07777;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write the pieces to a temp file next to path, fsync, rename over path,
 * fsync the directory. */
static int replace_file(const char *path, mode_t mode, const char *const *parts,
			const size_t *lens, size_t nparts)
{
	char tmp[4096], dir[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	int rc = fchmod(fd, mode) == 0 ? 0 : -errno;
	for (size_t i = 0; rc == 0 && i < nparts; i++)
		rc = write_all(fd, parts[i], lens[i]);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself survives a crash */
		close(dfd);
	}
	return 0;
}

struct scan {
	int in_keys, have_section;
	size_t match_start, match_end;  /* the channel's line, if any */
	int matched;
	size_t insert_at;               /* after the last key / content line of [keys] */
};

static void scan_file(const char *buf, size_t len, const char *channel, struct scan *sc)
{
	char sec[CP_CONF_STR_MAX] = "";
	memset(sc, 0, sizeof(*sc));
	size_t off = 0;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - buf) + 1 : len;
		const char *p = buf + off, *e = buf + end;
		if (line_section(p, e, sec, sizeof(sec))) {
			sc->in_keys = strcmp(sec, "keys") == 0;
			if (sc->in_keys) {
				sc->have_section = 1;
				sc->insert_at = end;
			}
		} else if (sc->in_keys) {
			int is_key;
			if (line_key_is(p, e, channel, &is_key) && !sc->matched) {
				sc->matched = 1;
				sc->match_start = off;
				sc->match_end = end;
			}
			const char *q = skip_blank(p, e);
			if (is_key || (q < e && *q == '#'))
				sc->insert_at = end; /* keys and their comments stay together */
		}
		off = end;
	}
}

int cp_mgmt_keys_rewrite(const char *path, const char *channel, const char *secret)
{
	if (!valid_token(channel) || (secret && !valid_token(secret)))
		return -EINVAL;
	char *buf = NULL;
	size_t len = 0;
	mode_t mode = 0644;
	int rc = read_file(path, &buf, &len, &mode);
	if (rc != 0)
		return rc;
	struct scan sc;
	scan_file(buf, len, channel, &sc);
	char kv[2 * CP_STREAM_NAME_MAX + 16];
	const char *nl_fix = (len > 0 && buf[len - 1] != '\n') ? "\n" : "";
	if (!secret && !sc.matched) {
		rc = -ENOENT;
	} else if (sc.matched) {
		/* Replace or drop the line in place. */
		int n = secret ? snprintf(kv, sizeof(kv), "%s = %s\n", channel, secret) : 0;
		const char *parts[] = { buf, kv, buf + sc.match_end };
		size_t lens[] = { sc.match_start, (size_t)n, len - sc.match_end };
		rc = replace_file(path, mode, parts, lens, 3);
	} else if (sc.have_section) {
		size_t at = sc.insert_at;
		/* A last line without newline gets one before the insertion. */
		const char *pre = (at == len && at > 0 && buf[at - 1] != '\n') ? "\n" : "";
		int n = snprintf(kv, sizeof(kv), "%s%s = %s\n", pre, channel, secret);
		const char *parts[] = { buf, kv, buf + at };
		size_t lens[] = { at, (size_t)n, len - at };
		rc = replace_file(path, mode, parts, lens, 3);
	} else {
		int n = snprintf(kv, sizeof(kv), "%s\n[keys]\n%s = %s\n", nl_fix, channel, secret);
		const char *parts[] = { buf, kv };
		size_t lens[] = { len, (size_t)n };
		rc = replace_file(path, mode, parts, lens, 2);
	}
	free(buf);
	return rc;
}

/* ---- commands ---- */

static json_t *mask(const char *secret)
{
	char out[16];
	size_t n = strlen(secret);
	snprintf(out, sizeof(out), "****%s", n > 8 ? secret + n - 4 : "");
	return json_string(out);
}

int cp_mgmt_cmd_keys_list(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	json_t *a = json_array();
	const struct cp_keytab *t = m->env.keys;
	for (size_t i = 0; i < t->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:o}", "channel", t->v[i].channel,
						   "secret", mask(t->v[i].secret)));
	*res = json_pack("{s:o,s:b,s:s}", "keys", a, "persisted", m->env.conf_path != NULL,
			 "file", m->env.conf_path ? m->env.conf_path : "");
	return 0;
}

/* Build a copy of the live table with channel set to secret (NULL: removed),
 * then swap it in. Returns 0 or -errno (the live table is unchanged). */
static int apply_live(struct cp_mgmt *m, const char *channel, const char *secret)
{
	struct cp_keytab nt = { 0 }, *t = m->env.keys;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < t->n; i++)
		if (strcmp(t->v[i].channel, channel) != 0)
			rc = cp_keytab_add(&nt, t->v[i].channel, t->v[i].secret);
	if (rc == 0 && secret)
		rc = cp_keytab_add(&nt, channel, secret);
	if (rc != 0) {
		cp_keytab_free(&nt);
		return rc;
	}
	cp_keytab_free(t);
	*t = nt;
	return 0;
}

/* A keyed stream's publisher whose key (the secret it published with) no
 * longer names the stream's channel. Open apps key by session ("\001..."). */
static int publisher_stale(const struct cp_keytab *keys, const struct cp_stream *st)
{
	if (!st->publisher || !st->live || st->pub_key[0] == '\001')
		return 0;
	const char *ch = cp_keytab_channel(keys, st->pub_key);
	return !ch || strcmp(ch, st->name) != 0;
}

json_t *cp_mgmt_cut_stale_publishers(struct cp_mgmt *m)
{
	struct cp_registry *reg = &m->env.eng->reg;
	json_t *cut = json_array();
	size_t n = 0, cap = reg->nstreams;
	uint64_t *ids = cap ? calloc(cap, sizeof(*ids)) : NULL;
	if (cap && !ids) {
		cp_warn("keys: out of memory: publishers of revoked keys stay connected");
		return cut;
	}
	/* Ids first: ending one stream may free others from the registry. */
	for (struct cp_stream *st = reg->streams; st && n < cap; st = st->next_in_reg)
		if (publisher_stale(m->env.keys, st))
			ids[n++] = st->id;
	for (size_t i = 0; i < n; i++) {
		struct cp_stream *st = cp_registry_find_id(reg, ids[i]);
		if (!st || !publisher_stale(m->env.keys, st))
			continue;
		char name[CP_APP_NAME_MAX + CP_STREAM_NAME_MAX + 1];
		snprintf(name, sizeof(name), "%s/%s", st->app, st->name);
		int ended;
		uint64_t sess = cp_mgmt_end_stream(m, st, "stream key revoked", &ended);
		cp_info("stream=%s sess=%llu publisher cut: its stream key was revoked or replaced",
			name, (unsigned long long)sess);
		m->st.key_cuts++;
		json_array_append_new(cut, json_pack("{s:s,s:I}", "stream", name,
						     "publisher_session", (json_int_t)sess));
	}
	free(ids);
	return cut;
}

static int key_args(json_t *req, const char **channel, const char **secret, char *err,
		    size_t n)
{
	*channel = json_string_value(json_object_get(req, "channel"));
	if (!valid_token(*channel)) {
		snprintf(err, n, "bad channel name (printable, no blanks or =#;[]\"/?)");
		return -EINVAL;
	}
	if (secret) {
		*secret = json_string_value(json_object_get(req, "secret"));
		if (!valid_token(*secret)) {
			snprintf(err, n, "bad secret (printable, no blanks or =#;[]\"/?)");
			return -EINVAL;
		}
	}
	return 0;
}

static int persist(struct cp_mgmt *m, const char *channel, const char *secret, char *err,
		   size_t n)
{
	if (!m->env.conf_path)
		return 0;
	int rc = cp_mgmt_keys_rewrite(m->env.conf_path, channel, secret);
	if (rc != 0)
		snprintf(err, n, "cannot update %s: %s", m->env.conf_path, strerror(-rc));
	return rc;
}

int cp_mgmt_cmd_keys_add(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	const char *channel, *secret;
	int rc = key_args(req, &channel, &secret, err, n);
	if (rc != 0)
		return rc;
	const char *owner = cp_keytab_channel(m->env.keys, secret);
	if (owner && strcmp(owner, channel) != 0) {
		snprintf(err, n, "that secret is already the key of another channel");
		return -EEXIST;
	}
	int replaced = 0;
	for (size_t i = 0; i < m->env.keys->n; i++)
		replaced |= strcmp(m->env.keys->v[i].channel, channel) == 0;
	if (!replaced && m->env.keys->n >= CP_KEYTAB_MAX) {
		snprintf(err, n, "too many keys (%d)", CP_KEYTAB_MAX);
		return -E2BIG;
	}
	rc = persist(m, channel, secret, err, n);
	if (rc == 0 && (rc = apply_live(m, channel, secret)) != 0)
		snprintf(err, n, "file updated but not applied: %s", strerror(-rc));
	if (rc != 0)
		return rc;
	m->st.keys_changes++;
	cp_info("keys: channel %s %s by operator", channel, replaced ? "re-keyed" : "added");
	*res = json_pack("{s:s,s:b,s:b,s:o}", "channel", channel, "replaced", replaced,
			 "persisted", m->env.conf_path != NULL, "publishers_cut",
			 cp_mgmt_cut_stale_publishers(m));
	return 0;
}

int cp_mgmt_cmd_keys_revoke(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	const char *channel;
	int rc = key_args(req, &channel, NULL, err, n);
	if (rc != 0)
		return rc;
	int found = 0;
	for (size_t i = 0; i < m->env.keys->n; i++)
		found |= strcmp(m->env.keys->v[i].channel, channel) == 0;
	if (!found) {
		snprintf(err, n, "no key for channel %s", channel);
		return -ENOENT;
	}
	rc = persist(m, channel, NULL, err, n);
	if (rc == -ENOENT) /* live only (file edited by hand since): still revoke */
		rc = 0;
	if (rc == 0 && (rc = apply_live(m, channel, NULL)) != 0)
		snprintf(err, n, "file updated but not applied: %s", strerror(-rc));
	if (rc != 0)
		return rc;
	m->st.keys_changes++;
	cp_info("keys: channel %s revoked by operator", channel);
	*res = json_pack("{s:s,s:b,s:o}", "channel", channel, "persisted",
			 m->env.conf_path != NULL, "publishers_cut", cp_mgmt_cut_stale_publishers(m));
	return 0;
}
