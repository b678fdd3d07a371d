/* Moderation rules: rule-file parsing, Hyperscan compile and scan.
 * See cp_chat_mod.h for the file format and threading rules. */
#include "controlplane/chat/cp_chat_mod.h"

#include <errno.h>
#include <fcntl.h>
#include <hs/hs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct rule_meta {
	uint8_t action;
	uint32_t timeout_s;
	uint32_t line;
};

struct cp_chat_rules {
	hs_database_t *db;     /* NULL when the file has no rules */
	hs_scratch_t *proto;   /* prototype scratch, cloned per thread */
	size_t n;
	struct rule_meta *meta; /* indexed by Hyperscan id */
};

const char *cp_chat_action_name(enum cp_chat_action a)
{
	switch (a) {
	case CP_CHAT_ACT_MASK: return "mask";
	case CP_CHAT_ACT_HOLD: return "hold-for-review";
	case CP_CHAT_ACT_TIMEOUT: return "timeout-user";
	case CP_CHAT_ACT_BLOCK: return "block";
	default: return "none";
	}
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_flags(const char *s, size_t n, unsigned *flags, const char **reason)
{
	*flags = 0;
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case 'i': *flags |= HS_FLAG_CASELESS; break;
		case 's': *flags |= HS_FLAG_DOTALL; break;
		case 'm': *flags |= HS_FLAG_MULTILINE; break;
		case 'u': *flags |= HS_FLAG_UTF8 | HS_FLAG_UCP; break;
		default: *reason = "unknown flag (use i, s, m, u)"; return -EINVAL;
		}
	}
	return 0;
}

static const struct action_name {
	const char *name;
	enum cp_chat_action a;
} action_names[] = {
	{ "mask", CP_CHAT_ACT_MASK }, { "hold-for-review", CP_CHAT_ACT_HOLD },
	{ "timeout-user", CP_CHAT_ACT_TIMEOUT }, { "block", CP_CHAT_ACT_BLOCK },
};

static int parse_action(const char *s, size_t n, enum cp_chat_action *a)
{
	const struct action_name *names = action_names;
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0) {
			*a = names[i].a;
			return 0;
		}
	return -EINVAL;
}

/* Decimal seconds in s[0..n), 1..CP_CHAT_RULE_TIMEOUT_MAX. */
static int parse_seconds(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 7)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > CP_CHAT_RULE_TIMEOUT_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* After the closing '/': FLAGS ws ACTION [ws SECONDS] [ws]. */
static int parse_tail(const char *s, size_t n, struct cp_chat_rule_line *out,
		      const char **reason)
{
	size_t i = 0, fs = 0;
	while (i < n && !is_ws(s[i]))
		i++;
	if (parse_flags(s + fs, i - fs, &out->hs_flags, reason) < 0)
		return -EINVAL;
	while (i < n && is_ws(s[i]))
		i++;
	size_t as = i;
	while (i < n && !is_ws(s[i]))
		i++;
	if (i == as) {
		*reason = "missing action (block, mask, hold-for-review, timeout-user)";
		return -EINVAL;
	}
	if (parse_action(s + as, i - as, &out->action) < 0) {
		*reason = "unknown action (block, mask, hold-for-review, timeout-user)";
		return -EINVAL;
	}
	while (i < n && is_ws(s[i]))
		i++;
	size_t ns = i;
	while (i < n && !is_ws(s[i]))
		i++;
	if (i > ns) {
		if (out->action != CP_CHAT_ACT_TIMEOUT) {
			*reason = "only timeout-user takes an argument";
			return -EINVAL;
		}
		if (parse_seconds(s + ns, i - ns, &out->timeout_s) < 0) {
			*reason = "timeout must be 1..604800 seconds";
			return -EINVAL;
		}
	}
	while (i < n && is_ws(s[i]))
		i++;
	if (i != n) {
		*reason = "trailing text after the action";
		return -EINVAL;
	}
	return 0;
}

int cp_chat_rule_parse_line(const char *line, size_t len, struct cp_chat_rule_line *out,
			    const char **reason)
{
	memset(out, 0, sizeof(*out));
	*reason = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	size_t i = 0;
	while (i < len && is_ws(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	if (memchr(line, '\0', len)) {
		*reason = "NUL byte in rule";
		return -EINVAL;
	}
	if (line[i] != '/') {
		*reason = "rule must start with /pattern/";
		return -EINVAL;
	}
	size_t ps = i + 1;
	size_t last = len;
	while (last > ps && line[last - 1] != '/')
		last--;
	if (last <= ps) {
		*reason = "missing closing '/'";
		return -EINVAL;
	}
	size_t pe = last - 1; /* index of the closing '/' */
	if (pe == ps) {
		*reason = "empty pattern";
		return -EINVAL;
	}
	out->pattern.p = line + ps;
	out->pattern.n = pe - ps;
	if (parse_tail(line + last, len - last, out, reason) < 0)
		return -EINVAL;
	if (out->action == CP_CHAT_ACT_MASK)
		out->hs_flags |= HS_FLAG_SOM_LEFTMOST; /* masking needs start offsets */
	else
		out->hs_flags |= HS_FLAG_SINGLEMATCH; /* one report per rule is enough */
	return 1;
}

/* Arrays handed to hs_compile_multi, built while parsing. */
struct build {
	char **pats;
	unsigned *flags;
	unsigned *ids;
	struct rule_meta *meta;
	size_t n, cap;
};

static void build_free(struct build *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->pats[i]);
	free(b->pats);
	free(b->flags);
	free(b->ids);
	free(b->meta);
	memset(b, 0, sizeof(*b));
}

static int build_grow(struct build *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	char **p = realloc(b->pats, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->pats = p;
	unsigned *f = realloc(b->flags, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	b->flags = f;
	unsigned *id = realloc(b->ids, cap * sizeof(*id));
	if (!id)
		return -ENOMEM;
	b->ids = id;
	struct rule_meta *m = realloc(b->meta, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	b->meta = m;
	b->cap = cap;
	return 0;
}

static int build_add(struct build *b, const struct cp_chat_rule_line *rl, unsigned line,
		     uint32_t default_timeout_s)
{
	if (b->n == CP_CHAT_RULES_MAX)
		return -E2BIG;
	if (b->n == b->cap && build_grow(b) < 0)
		return -ENOMEM;
	char *p = strndup(rl->pattern.p, rl->pattern.n);
	if (!p)
		return -ENOMEM;
	b->pats[b->n] = p;
	b->flags[b->n] = rl->hs_flags;
	b->ids[b->n] = (unsigned)b->n;
	b->meta[b->n].action = (uint8_t)rl->action;
	b->meta[b->n].timeout_s = rl->timeout_s ? rl->timeout_s : default_timeout_s;
	b->meta[b->n].line = line;
	b->n++;
	return 0;
}

static int parse_text(const char *text, size_t len, uint32_t default_timeout_s,
		      struct build *b, char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned line = 0;
	while (pos < len) {
		line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct cp_chat_rule_line rl;
		const char *reason;
		int rc = cp_chat_rule_parse_line(text + pos, end - pos, &rl, &reason);
		if (rc < 0) {
			snprintf(err, errlen, "line %u: %s", line, reason);
			return rc;
		}
		if (rc == 1) {
			rc = build_add(b, &rl, line, default_timeout_s);
			if (rc < 0) {
				snprintf(err, errlen, "line %u: %s", line,
					 rc == -E2BIG ? "too many rules" : "out of memory");
				return rc;
			}
		}
		pos = end + 1;
	}
	return 0;
}

static int compile_db(struct build *b, struct cp_chat_rules *r, char *err, size_t errlen)
{
	hs_compile_error_t *cerr = NULL;
	if (hs_compile_multi((const char *const *)b->pats, b->flags, b->ids, (unsigned)b->n,
			     HS_MODE_BLOCK, NULL, &r->db, &cerr) != HS_SUCCESS) {
		if (cerr && cerr->expression >= 0 && (size_t)cerr->expression < b->n)
			snprintf(err, errlen, "line %u: %s", b->meta[cerr->expression].line,
				 cerr->message);
		else
			snprintf(err, errlen, "compile: %s", cerr ? cerr->message : "failed");
		hs_free_compile_error(cerr);
		r->db = NULL;
		return -EINVAL;
	}
	if (hs_alloc_scratch(r->db, &r->proto) != HS_SUCCESS) {
		snprintf(err, errlen, "cannot allocate scratch");
		return -ENOMEM;
	}
	return 0;
}

int cp_chat_rules_compile(const char *text, size_t len, uint32_t default_timeout_s,
			  struct cp_chat_rules **out, char *err, size_t errlen)
{
	struct build b = { 0 };
	struct cp_chat_rules *r = calloc(1, sizeof(*r));
	int rc = -ENOMEM;
	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = parse_text(text, len, default_timeout_s, &b, err, errlen);
	if (rc < 0)
		goto fail;
	if (b.n > 0) {
		rc = compile_db(&b, r, err, errlen);
		if (rc < 0)
			goto fail;
	}
	r->n = b.n;
	r->meta = b.meta;
	b.meta = NULL;
	build_free(&b);
	*out = r;
	return 0;
fail:
	build_free(&b);
	cp_chat_rules_free(r);
	return rc;
}

int cp_chat_rules_load_file(const char *path, uint32_t default_timeout_s,
			    struct cp_chat_rules **out, char *err, size_t errlen)
{
	int rc;
	char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = NULL;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size > (off_t)CP_CHAT_RULES_FILE_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: larger than %u bytes", path, CP_CHAT_RULES_FILE_MAX);
		goto out;
	}
	size_t size = (size_t)st.st_size, got = 0;
	text = malloc(size + 1);
	rc = -ENOMEM;
	if (!text)
		goto out;
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: read failed", path);
			goto out;
		}
		got += (size_t)n;
	}
	rc = cp_chat_rules_compile(text, got, default_timeout_s, out, err, errlen);
out:
	free(text);
	close(fd);
	return rc;
}

void cp_chat_rules_free(struct cp_chat_rules *r)
{
	if (!r)
		return;
	hs_free_scratch(r->proto);
	hs_free_database(r->db);
	free(r->meta);
	free(r);
}

size_t cp_chat_rules_count(const struct cp_chat_rules *r)
{
	return r ? r->n : 0;
}

int cp_chat_scanner_bind(struct cp_chat_scanner *s, const struct cp_chat_rules *r)
{
	cp_chat_scanner_release(s);
	if (!r || !r->db)
		return 0;
	hs_scratch_t *scr = NULL;
	if (hs_clone_scratch(r->proto, &scr) != HS_SUCCESS)
		return -ENOMEM;
	s->scratch = scr;
	s->rules = r;
	return 0;
}

void cp_chat_scanner_release(struct cp_chat_scanner *s)
{
	hs_free_scratch(s->scratch);
	s->scratch = NULL;
	s->rules = NULL;
}

/* Per-scan state on the caller's stack. */
struct scan_ctx {
	const struct cp_chat_rules *r;
	struct cp_chat_verdict *v;
	size_t nspans;
	struct { unsigned long long from, to; } spans[CP_CHAT_MASK_SPANS];
};

static void add_span(struct scan_ctx *c, unsigned long long from, unsigned long long to)
{
	for (size_t i = 0; i < c->nspans; i++) {
		if (from <= c->spans[i].to && to >= c->spans[i].from) {
			if (from < c->spans[i].from)
				c->spans[i].from = from;
			if (to > c->spans[i].to)
				c->spans[i].to = to;
			return;
		}
	}
	if (c->nspans == CP_CHAT_MASK_SPANS) {
		/* Out of slots: widen the last span rather than let text through. */
		size_t l = c->nspans - 1;
		if (from < c->spans[l].from)
			c->spans[l].from = from;
		if (to > c->spans[l].to)
			c->spans[l].to = to;
		return;
	}
	c->spans[c->nspans].from = from;
	c->spans[c->nspans].to = to;
	c->nspans++;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *arg)
{
	struct scan_ctx *c = arg;
	const struct rule_meta *m = &c->r->meta[id];
	if (m->action == CP_CHAT_ACT_MASK)
		add_span(c, from, to);
	if (m->action > c->v->action) {
		c->v->action = m->action;
		c->v->timeout_s = m->timeout_s;
		c->v->line = m->line;
	}
	return c->v->action == CP_CHAT_ACT_BLOCK; /* nothing beats block: stop */
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cp_chat_scan(struct cp_chat_scanner *s, char *text, size_t len, struct cp_chat_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (!s->rules || !s->scratch || len == 0)
		return 0;
	if (len > UINT_MAX)
		return -EINVAL;
	struct scan_ctx c = { .r = s->rules, .v = v, .nspans = 0 };
	uint64_t t0 = mono_ns();
	hs_error_t e = hs_scan(s->rules->db, text, (unsigned)len, 0, s->scratch, on_match, &c);
	s->ns += mono_ns() - t0;
	s->scans++;
	s->bytes += len;
	if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) {
		memset(v, 0, sizeof(*v));
		return -EIO;
	}
	if (v->action != CP_CHAT_ACT_MASK)
		return 0;
	for (size_t i = 0; i < c.nspans; i++) {
		unsigned long long to = c.spans[i].to < len ? c.spans[i].to : len;
		if (c.spans[i].from >= to)
			continue;
		for (unsigned long long k = c.spans[i].from; k < to; k++)
			text[k] = '*';
		v->masked += (size_t)(to - c.spans[i].from);
	}
	v->nspans = c.nspans;
	return 0;
}
