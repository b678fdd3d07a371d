/* lifecast.conf: one INI file read by both daemons.
 *
 * Each module owns its settings struct and a declarative table of keys
 * (section, name, type, offset into the struct, default, range). The loader
 * applies every default first, then the file; a module only ever sees its own
 * sections, so modules stay independent (nginx-rtmp's command tables and merge
 * functions are the model).
 *
 * File syntax: `[section]` headers, `key = value` lines, `#` or `;` comments
 * (whole line, or after whitespace), surrounding whitespace trimmed, values
 * may be double-quoted to keep leading/trailing spaces or a '#'.
 */
#ifndef CP_CONFIG_H
#define CP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum cp_conf_type {
	CP_CONF_STR,      /* char[CP_CONF_STR_MAX] inside the struct */
	CP_CONF_UINT,     /* uint64_t; decimal, range [min, max] */
	CP_CONF_BOOL,     /* int; yes/no/true/false/on/off/1/0 */
	CP_CONF_SIZE,     /* uint64_t bytes; suffix k/K, m/M, g/G (powers of 1024) */
	CP_CONF_DURATION, /* uint64_t milliseconds; suffix ms, s, m, h, d (bare = s) */
	CP_CONF_ADDR,     /* struct cp_conf_addr: "host:port", host may be empty (any) */
};

#define CP_CONF_STR_MAX 256

struct cp_conf_addr {
	char host[64]; /* numeric IPv4/IPv6 literal, "" for any */
	uint16_t port;
};

struct cp_conf_key {
	const char *section;
	const char *name;
	enum cp_conf_type type;
	size_t offset;      /* offsetof(module struct, field) */
	const char *def;    /* default, parsed like a file value; NULL = zero */
	uint64_t min, max;  /* for UINT/SIZE/DURATION; max 0 = no upper bound */
	int reloadable;     /* 1: `lifecastctl reload` may change it live */
	const char *help;   /* one line, for the example file and --help */
};

/* Apply the defaults of `keys` to `base`, then the values from `path` for
 * the sections those keys name. Sections that no key in `keys` names are
 * skipped, so other modules' sections do not disturb this module. An unknown
 * key in a known section, a value out of range or unparsable, or a syntax
 * error is an error.
 * path may be NULL: defaults only.
 * Returns 0, or -errno (-ENOENT: file missing, -EINVAL: bad content) with a
 * "file:line: reason" message in err. */
int cp_conf_load(const char *path, const struct cp_conf_key *keys, size_t nkeys,
		 void *base, char *err, size_t errlen);

/* Set one key from a string, as a command-line override would.
 * Returns 0, -ENOENT (no such key) or -EINVAL (bad value, message in err). */
int cp_conf_set(const struct cp_conf_key *keys, size_t nkeys, void *base,
		const char *section, const char *name, const char *value,
		char *err, size_t errlen);

/* Free-form sections such as [keys] (channel = secret): call `fn` for every
 * key/value pair of `section` in file order; stops early when fn returns
 * non-zero and returns that value. Returns 0, or -errno as cp_conf_load. */
int cp_conf_pairs(const char *path, const char *section,
		  int (*fn)(void *arg, const char *key, const char *value, int line),
		  void *arg, char *err, size_t errlen);

/* Parse "host:port" / "[v6]:port" / ":port" / "port". Returns 0 or -EINVAL. */
int cp_conf_parse_addr(const char *s, struct cp_conf_addr *out);

/* Value parsers shared with CLI flags. Return 0 or -EINVAL / -ERANGE. */
int cp_conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cp_conf_parse_size(const char *s, uint64_t *out);
int cp_conf_parse_duration_ms(const char *s, uint64_t *out);
int cp_conf_parse_bool(const char *s, int *out);

#endif
