#include "controlplane/cp_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_LEN 4096

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int cp_conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	if (v < min || (max != 0 && v > max))
		return -ERANGE;
	*out = v;
	return 0;
}

/* Number with a unit suffix from `units` (name, multiplier); bare numbers use
 * `bare`. Overflow is an error, never a wrap. */
struct unit { const char *name; uint64_t mul; };

static int parse_with_unit(const char *s, const struct unit *units, uint64_t bare,
			   uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	uint64_t mul = bare;
	if (*end != '\0') {
		const struct unit *u;
		for (u = units; u->name; u++)
			if (strcmp(end, u->name) == 0)
				break;
		if (!u->name)
			return -EINVAL;
		mul = u->mul;
	}
	if (mul != 0 && v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int cp_conf_parse_size(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "k", 1024ULL }, { "K", 1024ULL }, { "m", 1ULL << 20 }, { "M", 1ULL << 20 },
		{ "g", 1ULL << 30 }, { "G", 1ULL << 30 }, { "t", 1ULL << 40 }, { "T", 1ULL << 40 },
		{ NULL, 0 },
	};
	return parse_with_unit(s, units, 1, out);
}

int cp_conf_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000ULL }, { NULL, 0 },
	};
	return parse_with_unit(s, units, 1000, out);
}

int cp_conf_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

int cp_conf_parse_addr(const char *s, struct cp_conf_addr *out)
{
	const char *host = "", *port;
	size_t hlen = 0;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(rb - host);
		port = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon) {
			if (memchr(s, ':', (size_t)(colon - s)))
				return -EINVAL; /* bare IPv6 needs brackets */
			host = s;
			hlen = (size_t)(colon - s);
			port = colon + 1;
		} else {
			port = s;
		}
	}
	if (hlen >= sizeof(out->host))
		return -EINVAL;
	uint64_t p;
	if (cp_conf_parse_uint(port, 1, 65535, &p) != 0)
		return -EINVAL;
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (uint16_t)p;
	return 0;
}

static int set_value(const struct cp_conf_key *k, void *base, const char *v,
		     char *err, size_t errlen)
{
	char *field = (char *)base + k->offset;
	uint64_t u;
	int rc;
	switch (k->type) {
	case CP_CONF_STR:
		if (strlen(v) >= CP_CONF_STR_MAX) {
			seterr(err, errlen, "%s.%s: value longer than %d bytes", k->section,
			       k->name, CP_CONF_STR_MAX - 1);
			return -EINVAL;
		}
		strcpy(field, v);
		return 0;
	case CP_CONF_BOOL:
		if (cp_conf_parse_bool(v, (int *)field) != 0) {
			seterr(err, errlen, "%s.%s: '%s' is not yes/no", k->section, k->name, v);
			return -EINVAL;
		}
		return 0;
	case CP_CONF_ADDR:
		if (cp_conf_parse_addr(v, (struct cp_conf_addr *)field) != 0) {
			seterr(err, errlen, "%s.%s: '%s' is not HOST:PORT", k->section, k->name, v);
			return -EINVAL;
		}
		return 0;
	case CP_CONF_UINT:
		rc = cp_conf_parse_uint(v, 0, 0, &u);
		break;
	case CP_CONF_SIZE:
		rc = cp_conf_parse_size(v, &u);
		break;
	case CP_CONF_DURATION:
		rc = cp_conf_parse_duration_ms(v, &u);
		break;
	default:
		return -EINVAL;
	}
	if (rc != 0) {
		seterr(err, errlen, "%s.%s: '%s' is not a valid %s", k->section, k->name, v,
		       k->type == CP_CONF_SIZE ? "size" :
		       k->type == CP_CONF_DURATION ? "duration" : "number");
		return -EINVAL;
	}
	if (u < k->min || (k->max != 0 && u > k->max)) {
		seterr(err, errlen, "%s.%s: %s out of range [%llu, %llu]", k->section, k->name,
		       v, (unsigned long long)k->min, (unsigned long long)k->max);
		return -EINVAL;
	}
	*(uint64_t *)field = u;
	return 0;
}

static const struct cp_conf_key *find_key(const struct cp_conf_key *keys, size_t n,
					  const char *section, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int section_known(const struct cp_conf_key *keys, size_t n, const char *section)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

int cp_conf_set(const struct cp_conf_key *keys, size_t nkeys, void *base,
		const char *section, const char *name, const char *value,
		char *err, size_t errlen)
{
	const struct cp_conf_key *k = find_key(keys, nkeys, section, name);
	if (!k) {
		seterr(err, errlen, "unknown key %s.%s", section, name);
		return -ENOENT;
	}
	return set_value(k, base, value, err, errlen);
}

/* Walk the file, calling `fn` for every key/value with its section.
 * Handles syntax; semantic checks are the callback's. */
typedef int (*pair_fn)(void *arg, const char *section, const char *key,
		       const char *value, int line, char *err, size_t errlen);

static int walk(const char *path, pair_fn fn, void *arg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		seterr(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	char buf[LINE_MAX_LEN];
	char section[128] = "";
	int lineno = 0, rc = 0;
	while (fgets(buf, sizeof(buf), f)) {
		lineno++;
		size_t blen = strlen(buf);
		if (blen == sizeof(buf) - 1 && buf[blen - 1] != '\n') {
			seterr(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -EINVAL;
			break;
		}
		char *s = trim(buf);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *rb = strchr(s, ']');
			if (!rb || trim(rb + 1)[0] != '\0' || rb - s - 1 >= (long)sizeof(section)) {
				seterr(err, errlen, "%s:%d: bad section header", path, lineno);
				rc = -EINVAL;
				break;
			}
			*rb = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			seterr(err, errlen, "%s:%d: expected key = value", path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		char *key = trim(s);
		char *val = trim(eq + 1);
		if (*val == '"') {
			char *q = strchr(val + 1, '"');
			if (!q) {
				seterr(err, errlen, "%s:%d: unterminated quote", path, lineno);
				rc = -EINVAL;
				break;
			}
			*q = '\0';
			val++;
		} else {
			/* Inline comment: '#' or ';' preceded by whitespace. */
			for (char *p = val; *p; p++) {
				if ((*p == '#' || *p == ';') && p > val && isspace((unsigned char)p[-1])) {
					*p = '\0';
					val = trim(val);
					break;
				}
			}
		}
		if (*key == '\0') {
			seterr(err, errlen, "%s:%d: empty key", path, lineno);
			rc = -EINVAL;
			break;
		}
		rc = fn(arg, section, key, val, lineno, err, errlen);
		if (rc != 0)
			break;
	}
	fclose(f);
	return rc;
}

struct load_ctx {
	const char *path;
	const struct cp_conf_key *keys;
	size_t nkeys;
	void *base;
};

static int load_pair(void *arg, const char *section, const char *key, const char *value,
		     int line, char *err, size_t errlen)
{
	struct load_ctx *c = arg;
	if (!section_known(c->keys, c->nkeys, section))
		return 0;
	const struct cp_conf_key *k = find_key(c->keys, c->nkeys, section, key);
	if (!k) {
		seterr(err, errlen, "%s:%d: unknown key '%s' in [%s]", c->path, line, key, section);
		return -EINVAL;
	}
	char why[256];
	if (set_value(k, c->base, value, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s:%d: %s", c->path, line, why);
		return -EINVAL;
	}
	return 0;
}

int cp_conf_load(const char *path, const struct cp_conf_key *keys, size_t nkeys,
		 void *base, char *err, size_t errlen)
{
	for (size_t i = 0; i < nkeys; i++) {
		const struct cp_conf_key *k = &keys[i];
		char why[256];
		memset((char *)base + k->offset, 0,
		       k->type == CP_CONF_STR ? CP_CONF_STR_MAX :
		       k->type == CP_CONF_BOOL ? sizeof(int) :
		       k->type == CP_CONF_ADDR ? sizeof(struct cp_conf_addr) : sizeof(uint64_t));
		if (k->def && set_value(k, base, k->def, why, sizeof(why)) != 0) {
			seterr(err, errlen, "built-in default: %s", why);
			return -EINVAL;
		}
	}
	if (!path)
		return 0;
	struct load_ctx c = { path, keys, nkeys, base };
	return walk(path, load_pair, &c, err, errlen);
}

struct pairs_ctx {
	const char *section;
	int (*fn)(void *arg, const char *key, const char *value, int line);
	void *arg;
};

static int pairs_pair(void *arg, const char *section, const char *key, const char *value,
		      int line, char *err, size_t errlen)
{
	struct pairs_ctx *c = arg;
	if (strcmp(section, c->section) != 0)
		return 0;
	return c->fn(c->arg, key, value, line);
}

int cp_conf_pairs(const char *path, const char *section,
		  int (*fn)(void *arg, const char *key, const char *value, int line),
		  void *arg, char *err, size_t errlen)
{
	struct pairs_ctx c = { section, fn, arg };
	return walk(path, pairs_pair, &c, err, errlen);
}
