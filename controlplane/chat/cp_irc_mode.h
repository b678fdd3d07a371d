/* Channel mode strings: "+mb-v nick!*@* bob" into a list of changes.
 *
 * Channel modes of the lifecast chat (ISUPPORT CHANMODES=b,k,lSF,imntU and
 * PREFIX=(ov)@+):
 *   b mask   ban list (no argument: list query)
 *   k key    channel key             l n    member limit
 *   o/v nick operator / voice        S n    slow mode: one message per n s
 *   F n      followers-only: members must have been in the channel n s
 *   i m n t  invite-only, moderated, no external messages, topic lock
 *   U        subscribers-only: only voiced members (voice is the subscriber
 *            badge the broadcaster and moderators hand out) and ops speak
 */
#ifndef CP_IRC_MODE_H
#define CP_IRC_MODE_H

#include <stddef.h>

#include "controlplane/chat/cp_irc_parse.h"

#define CP_IRC_MODES_PER_LINE 4 /* ISUPPORT MODES: parameter changes per line */

enum cp_irc_mode_class {
	CP_IRC_MODE_UNKNOWN = 0,
	CP_IRC_MODE_LIST,   /* b */
	CP_IRC_MODE_MEMBER, /* o v: always a nick */
	CP_IRC_MODE_KEY,    /* k: argument to set, optional to unset */
	CP_IRC_MODE_PARAM,  /* l S F: argument only when set */
	CP_IRC_MODE_FLAG,   /* i m n t U */
};

struct cp_irc_mode_change {
	char sign;   /* '+' or '-' */
	char letter;
	enum cp_irc_mode_class cls; /* CP_IRC_MODE_UNKNOWN: caller answers 472 */
	struct cp_irc_slice arg;    /* n == 0: none (for b: list query) */
};

/* Class of a channel mode letter. */
enum cp_irc_mode_class cp_irc_mode_class(char letter);

/* Parse modes[0..n) with its arguments args[0..nargs). Fills out[0..*nout)
 * (at most max entries; further letters are ignored, as is any letter past
 * CP_IRC_MODES_PER_LINE argument-taking changes). Unknown letters are kept
 * with cls UNKNOWN so the caller can report each.
 * Returns 0, or -EINVAL when a mode that needs an argument has none (*bad is
 * set to its letter; *nout holds the changes parsed before it). */
int cp_irc_mode_parse(const char *modes, size_t n, const struct cp_irc_slice *args,
		      size_t nargs, struct cp_irc_mode_change *out, size_t max,
		      size_t *nout, char *bad);

#endif
