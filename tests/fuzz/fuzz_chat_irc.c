/* libFuzzer target: the IRC line parser, mode-string parser and tag
 * unescaping on arbitrary bytes. The input is copied to an exact-size heap
 * buffer so ASan flags any read past len. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/chat/cp_irc_mode.h"
#include "controlplane/chat/cp_irc_parse.h"

static void check_msg(const char *buf, size_t len, size_t used, const struct cp_irc_msg *m)
{
	/* every slice lies inside the consumed line */
	for (size_t i = 0; i < m->ntags; i++) {
		if (m->tags[i].key.p < buf || m->tags[i].key.p + m->tags[i].key.n > buf + used)
			abort();
		char out[256];
		cp_irc_tag_unescape(m->tags[i].value.p, m->tags[i].value.n, out, sizeof(out));
	}
	for (size_t i = 0; i < m->nparams; i++)
		if (m->params[i].p < buf || m->params[i].p + m->params[i].n > buf + used)
			abort();
	if (m->nparams >= 2) {
		struct cp_irc_mode_change x[16];
		size_t n;
		char bad;
		cp_irc_mode_parse(m->params[1].p, m->params[1].n, m->params + 2, m->nparams - 2, x, 16,
				  &n, &bad);
		if (n > 16)
			abort();
	}
	if (m->prefix.n) {
		struct cp_irc_slice a, b, c;
		cp_irc_prefix_split(m->prefix, &a, &b, &c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	size_t off = 0;
	while (off < size) {
		struct cp_irc_msg m;
		ssize_t r = cp_irc_parse(buf + off, size - off, &m);
		if (r == 0)
			break;
		if (r > 0) {
			if ((size_t)r > size - off)
				abort();
			check_msg(buf + off, size - off, (size_t)r, &m);
			off += (size_t)r;
		} else if (m.linelen) {
			if (m.linelen > size - off)
				abort();
			off += m.linelen;
		} else {
			break;
		}
	}
	free(buf);
	return 0;
}
