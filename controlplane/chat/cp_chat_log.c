/* Chat recorder: one JSON object per line in
 * RECORD_DIR/APP/STREAM/<stamp>.chat.jsonl, next to the FLV archive, with
 * the server time, nick, msgid, text and the moderation action taken.
 * RECORD_DIR is [chat] record_dir until the archive's own [archive] dir key
 * exists. Files are line-buffered so a crash loses at most one record. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "controlplane/chat/cp_chat_int.h"
#include "controlplane/cp_log.h"

/* mkdir -p for a path we built ourselves (no "..": names are validated). */
static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -errno;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Path components come from channel names: keep them to a safe set. */
static void safe_component(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in && o + 1 < cap; in++) {
		char c = *in;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '-' || c == '_' || c == '.';
		out[o++] = ok ? c : '_';
	}
	if (o == 0 || (o <= 2 && out[0] == '.'))
		out[o++] = '_';
	out[o] = '\0';
}

static FILE *open_segment(struct cp_chat *chat, struct chat_channel *ch)
{
	char app[64], stream[CHAT_CHANLEN + 1], dir[1024], path[1200], stamp[32];
	safe_component(ch->app, app, sizeof(app));
	safe_component(ch->name + 1, stream, sizeof(stream));
	snprintf(dir, sizeof(dir), "%s/%s/%s", chat->conf.record_dir, app, stream);
	int rc = mkdirs(dir);
	if (rc < 0) {
		cp_warn("chat: record %s: %s; %s is not recorded", dir, strerror(-rc), ch->name);
		return NULL;
	}
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(path, sizeof(path), "%s/%s.chat.jsonl", dir, stamp);
	FILE *f = fopen(path, "ae");
	if (!f) {
		cp_warn("chat: record %s: %s; %s is not recorded", path, strerror(errno), ch->name);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	cp_info("chat: recording %s to %s", ch->name, path);
	return f;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void cp_chat_log_record(struct cp_chat *chat, struct chat_channel *ch, const char *nick,
			const char *msgid, const char *text, const char *action,
			unsigned rule_line)
{
	if (!chat->conf.record || ch->log_failed)
		return;
	if (!ch->log && !(ch->log = open_segment(chat, ch))) {
		ch->log_failed = 1;
		return;
	}
	char now[40];
	cp_chat_iso_time(now, sizeof(now));
	FILE *f = ch->log;
	fprintf(f, "{\"time\":\"%s\",\"channel\":", now);
	json_str(f, ch->name);
	fputs(",\"nick\":", f);
	json_str(f, nick ? nick : "");
	if (msgid) {
		fputs(",\"msgid\":", f);
		json_str(f, msgid);
	}
	fputs(",\"msg\":", f);
	json_str(f, text ? text : "");
	fputs(",\"action\":", f);
	json_str(f, action);
	if (rule_line)
		fprintf(f, ",\"rule_line\":%u", rule_line);
	fputs("}\n", f);
}

void cp_chat_log_rotate(struct chat_channel *ch)
{
	if (ch->log)
		fclose(ch->log);
	ch->log = NULL;
	ch->log_failed = 0;
}
