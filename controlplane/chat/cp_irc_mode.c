/* Channel mode string parsing. See cp_irc_mode.h. */
#include "controlplane/chat/cp_irc_mode.h"

#include <errno.h>

enum cp_irc_mode_class cp_irc_mode_class(char letter)
{
	switch (letter) {
	case 'b': return CP_IRC_MODE_LIST;
	case 'o': case 'v': return CP_IRC_MODE_MEMBER;
	case 'k': return CP_IRC_MODE_KEY;
	case 'l': case 'S': case 'F': return CP_IRC_MODE_PARAM;
	case 'i': case 'm': case 'n': case 't': case 'U': return CP_IRC_MODE_FLAG;
	default: return CP_IRC_MODE_UNKNOWN;
	}
}

/* Does this change take an argument, and must it have one? */
static void arg_rule(enum cp_irc_mode_class cls, char sign, int *takes, int *needs)
{
	*takes = 0;
	*needs = 0;
	switch (cls) {
	case CP_IRC_MODE_LIST: *takes = 1; break;
	case CP_IRC_MODE_MEMBER: *takes = *needs = 1; break;
	case CP_IRC_MODE_KEY: *takes = 1; *needs = sign == '+'; break;
	case CP_IRC_MODE_PARAM: *takes = *needs = sign == '+'; break;
	default: break;
	}
}

int cp_irc_mode_parse(const char *modes, size_t n, const struct cp_irc_slice *args,
		      size_t nargs, struct cp_irc_mode_change *out, size_t max,
		      size_t *nout, char *bad)
{
	char sign = '+';
	size_t a = 0, with_arg = 0;
	*nout = 0;
	for (size_t i = 0; i < n && *nout < max; i++) {
		char c = modes[i];
		if (c == '+' || c == '-') {
			sign = c;
			continue;
		}
		struct cp_irc_mode_change ch = { sign, c, cp_irc_mode_class(c), { NULL, 0 } };
		int takes, needs;
		arg_rule(ch.cls, sign, &takes, &needs);
		if (takes && a < nargs && args[a].n > 0) {
			if (with_arg == CP_IRC_MODES_PER_LINE)
				break;
			ch.arg = args[a++];
			with_arg++;
		} else if (needs) {
			*bad = c;
			return -EINVAL;
		}
		out[(*nout)++] = ch;
	}
	return 0;
}
