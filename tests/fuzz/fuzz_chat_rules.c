/* libFuzzer target: the moderation rule-file parser, line by line, on
 * arbitrary bytes (copied to an exact-size buffer so ASan sees overreads).
 * Compiling is left out on purpose: Hyperscan's compiler is not ours and
 * is slow; the parser is what reads operator-supplied bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/chat/cp_chat_mod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	size_t pos = 0;
	while (pos < size) {
		const char *nl = memchr(buf + pos, '\n', size - pos);
		size_t end = nl ? (size_t)(nl - buf) : size;
		struct cp_chat_rule_line r;
		const char *why;
		int rc = cp_chat_rule_parse_line(buf + pos, end - pos, &r, &why);
		if (rc == 1 && (r.pattern.p < buf + pos || r.pattern.p + r.pattern.n > buf + end ||
				r.action == CP_CHAT_ACT_NONE))
			abort();
		if (rc < 0 && !why)
			abort();
		pos = end + 1;
	}
	free(buf);
	return 0;
}
