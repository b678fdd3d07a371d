/* Chat moderation rules: a pattern file compiled into one Hyperscan database.
 *
 * Rule file, one rule per line (blank lines and '#' comments ignored):
 *     /PATTERN/FLAGS ACTION [SECONDS]
 * PATTERN is a Hyperscan (PCRE-like) expression between the first and the
 * last '/' of the line. FLAGS: i caseless, s dot-all, m multi-line, u UTF-8 +
 * Unicode classes. ACTION, in rising severity:
 *     mask             replace every matched span with '*'
 *     hold-for-review  do not deliver; channel operators get it to approve
 *     timeout-user     drop the message and mute its author for SECONDS
 *                      (default: [chat] rule_timeout)
 *     block            drop the message
 * When several rules match, the most severe action wins; masks apply only
 * when nothing more severe matched.
 *
 * Compiled rules are immutable and may be shared between threads; each
 * scanning thread owns a cp_chat_scanner whose scratch is cloned from the
 * rules' prototype, so scanning allocates nothing.
 */
#ifndef CP_CHAT_MOD_H
#define CP_CHAT_MOD_H

#include <stddef.h>
#include <stdint.h>

#include "controlplane/chat/cp_irc_parse.h"

#define CP_CHAT_RULES_MAX       100000
#define CP_CHAT_RULES_FILE_MAX  (16u << 20)
#define CP_CHAT_RULE_TIMEOUT_MAX 604800u
#define CP_CHAT_MASK_SPANS      64

enum cp_chat_action {
	CP_CHAT_ACT_NONE = 0,
	CP_CHAT_ACT_MASK,
	CP_CHAT_ACT_HOLD,
	CP_CHAT_ACT_TIMEOUT,
	CP_CHAT_ACT_BLOCK,
};

struct cp_chat_rule_line {
	struct cp_irc_slice pattern; /* slice into the line */
	unsigned hs_flags;           /* HS_FLAG_* from FLAGS (SOM added for mask) */
	enum cp_chat_action action;
	uint32_t timeout_s;          /* timeout-user only; 0 = use the default */
};

/* Parse one line (no terminator) of a rule file.
 * Returns 1 with *out filled, 0 for a blank or comment line, or -EINVAL with
 * a static reason string in *reason. Never reads past len. */
int cp_chat_rule_parse_line(const char *line, size_t len, struct cp_chat_rule_line *out,
			    const char **reason);

/* Name of an action as written in the rule file and the chat log. */
const char *cp_chat_action_name(enum cp_chat_action a);

struct cp_chat_rules;

/* Parse and compile a whole rule file text (any number of lines, '\n' or
 * "\r\n"). default_timeout_s fills timeout-user rules without SECONDS.
 * Returns 0 with *out owned by the caller (free with cp_chat_rules_free), or
 * -EINVAL (syntax or Hyperscan compile error) / -E2BIG (too many rules) /
 * -ENOMEM, with "line N: reason" in err. An empty file is valid (no rules). */
int cp_chat_rules_compile(const char *text, size_t len, uint32_t default_timeout_s,
			  struct cp_chat_rules **out, char *err, size_t errlen);

/* Read path (at most CP_CHAT_RULES_FILE_MAX bytes) and compile it.
 * Blocking file I/O and compile: run it off the event loop. Same returns as
 * cp_chat_rules_compile plus -errno from open/read (-EFBIG when too big). */
int cp_chat_rules_load_file(const char *path, uint32_t default_timeout_s,
			    struct cp_chat_rules **out, char *err, size_t errlen);

void cp_chat_rules_free(struct cp_chat_rules *r);
size_t cp_chat_rules_count(const struct cp_chat_rules *r);

/* One per scanning thread. */
struct cp_chat_scanner {
	void *scratch;                   /* hs_scratch_t, cloned per thread */
	const struct cp_chat_rules *rules;
	uint64_t scans, bytes, ns;       /* statistics: messages, bytes, time */
};

struct cp_chat_verdict {
	enum cp_chat_action action;
	uint32_t timeout_s;
	unsigned line;    /* rule file line of the deciding rule, 0 if none */
	size_t nspans;    /* mask spans applied */
	size_t masked;    /* bytes replaced */
};

/* Bind the scanner to rules (NULL: no rules, everything passes), replacing
 * its scratch. Call on the scanning thread before scanning. Returns 0 or
 * -ENOMEM (the scanner is then unbound and lets everything pass). */
int cp_chat_scanner_bind(struct cp_chat_scanner *s, const struct cp_chat_rules *r);
void cp_chat_scanner_release(struct cp_chat_scanner *s);

/* Scan text[0..len) and decide. When the verdict is CP_CHAT_ACT_MASK the
 * matched spans of text are overwritten with '*' in place. Allocates
 * nothing. Returns 0, or -EIO when Hyperscan failed (verdict NONE). */
int cp_chat_scan(struct cp_chat_scanner *s, char *text, size_t len, struct cp_chat_verdict *v);

#endif
