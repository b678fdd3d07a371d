/* lifecastctl: readable output. Tables are column-aligned from the data;
 * --json prints the daemon's answer unchanged instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl_cli.h"

#define COLS_MAX 12
#define CELL_MAX 160

enum col_kind { C_STR, C_INT, C_KBPS, C_MS_FROM_US, C_BOOL, C_SESS };

struct col {
	const char *head;
	const char *key;
	enum col_kind kind;
};

void ctl_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s)
		printf("%s\n", s);
	free(s);
}

static void cell(json_t *row, const struct col *c, char *out, size_t cap)
{
	json_t *v = json_object_get(row, c->key);
	if (!v || json_is_null(v)) {
		snprintf(out, cap, "-");
		return;
	}
	switch (c->kind) {
	case C_STR:
		snprintf(out, cap, "%s", json_string_value(v) && *json_string_value(v) ?
			 json_string_value(v) : "-");
		break;
	case C_INT:
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
		break;
	case C_KBPS:
		snprintf(out, cap, "%lld", (long long)json_integer_value(v) / 1000);
		break;
	case C_MS_FROM_US:
		snprintf(out, cap, "%.1f", json_integer_value(v) / 1000.0);
		break;
	case C_BOOL:
		snprintf(out, cap, "%s", json_is_true(v) ? "yes" : "no");
		break;
	case C_SESS: /* publisher object: "sess N peer" */
		snprintf(out, cap, "%lld %s",
			 (long long)json_integer_value(json_object_get(v, "session")),
			 json_string_value(json_object_get(v, "peer")) ?
			 json_string_value(json_object_get(v, "peer")) : "");
		break;
	}
}

static void table(json_t *rows, const struct col *cols, size_t ncols)
{
	size_t w[COLS_MAX], i;
	char buf[CELL_MAX];
	json_t *row;
	for (size_t c = 0; c < ncols; c++)
		w[c] = strlen(cols[c].head);
	json_array_foreach(rows, i, row)
		for (size_t c = 0; c < ncols; c++) {
			cell(row, &cols[c], buf, sizeof(buf));
			if (strlen(buf) > w[c])
				w[c] = strlen(buf);
		}
	for (size_t c = 0; c < ncols; c++)
		printf("%-*s%s", (int)w[c], cols[c].head, c + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, row)
		for (size_t c = 0; c < ncols; c++) {
			cell(row, &cols[c], buf, sizeof(buf));
			printf("%-*s%s", (int)w[c], buf, c + 1 < ncols ? "  " : "\n");
		}
	if (json_array_size(rows) == 0)
		printf("(none)\n");
}

void ctl_print_message(json_t *res)
{
	const char *k;
	json_t *v;
	/* Small answers: key=value on one line. */
	json_object_foreach(res, k, v) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s=%s ", k, s ? s : "?");
		free(s);
	}
	printf("\n");
}

void ctl_print_status(json_t *res)
{
	json_t *t = json_object_get(res, "totals"), *ports = json_object_get(res, "ports"), *p, *v;
	const char *k;
	size_t i;
	printf("version   %s (pid %lld)\n", json_string_value(json_object_get(res, "version")),
	       (long long)json_integer_value(json_object_get(res, "pid")));
	printf("uptime    %llds\n", (long long)json_integer_value(json_object_get(res, "uptime_s")));
	printf("mode      %s, %lld worker(s), link %s%s\n",
	       json_string_value(json_object_get(res, "mode")),
	       (long long)json_integer_value(json_object_get(res, "workers")),
	       json_string_value(json_object_get(res, "link")),
	       json_is_true(json_object_get(res, "draining")) ? ", DRAINING" : "");
	json_array_foreach(ports, i, p)
		printf("port      %-5s %s %s\n", json_string_value(json_object_get(p, "name")),
		       json_string_value(json_object_get(p, "transport")),
		       json_string_value(json_object_get(p, "listen")));
	json_object_foreach(t, k, v)
		printf("%-15s %lld\n", k, (long long)json_integer_value(v));
}

void ctl_print_streams(json_t *res)
{
	static const struct col cols[] = {
		{ "STREAM", "stream", C_STR }, { "PUBLISHER", "publisher", C_SESS },
		{ "VIDEO", "video_codec", C_STR }, { "AUDIO", "audio_codec", C_STR },
		{ "KBPS", "bitrate_bps", C_KBPS }, { "VIEWERS", "viewers", C_INT },
		{ "UPTIME_S", "uptime_s", C_INT }, { "RECORDING", "recording", C_STR },
	};
	table(res, cols, sizeof(cols) / sizeof(cols[0]));
}

void ctl_print_sessions(json_t *res)
{
	static const struct col cols[] = {
		{ "ID", "id", C_INT }, { "PEER", "peer", C_STR }, { "ROLE", "role", C_STR },
		{ "STATE", "state", C_STR }, { "STREAM", "stream", C_STR },
		{ "WORKER", "worker", C_INT }, { "BYTES_IN", "bytes_in", C_INT },
		{ "BYTES_OUT", "bytes_out", C_INT }, { "RTT_MS", "rtt_us", C_MS_FROM_US },
		{ "CWND", "cwnd", C_INT }, { "SKIPS", "skips", C_INT },
	};
	table(res, cols, sizeof(cols) / sizeof(cols[0]));
}

void ctl_print_keys(json_t *res)
{
	static const struct col cols[] = {
		{ "CHANNEL", "channel", C_STR }, { "SECRET", "secret", C_STR },
	};
	table(json_object_get(res, "keys"), cols, 2);
	if (!json_is_true(json_object_get(res, "persisted")))
		printf("(no configuration file: changes are not saved)\n");
}

void ctl_print_archive(json_t *res)
{
	static const struct col cols[] = {
		{ "PATH", "path", C_STR }, { "SIZE", "size", C_INT },
		{ "DURATION_MS", "duration_ms", C_INT }, { "PARTIAL", "partial", C_BOOL },
	};
	table(json_object_get(res, "files"), cols, sizeof(cols) / sizeof(cols[0]));
}

void ctl_print_stats(json_t *res)
{
	const char *src = json_string_value(json_object_get(res, "source"));
	json_t *rows = json_object_get(res, "per_worker"), *w;
	size_t i;
	printf("source %s, %lld worker(s), interval %lld ms\n", src ? src : "?",
	       (long long)json_integer_value(json_object_get(res, "workers")),
	       (long long)json_integer_value(json_object_get(res, "interval_ms")));
	json_array_foreach(rows, i, w) {
		json_t *d = json_object_get(w, "drops"), *v;
		const char *k;
		if (src && strcmp(src, "dataplane") == 0)
			printf("worker %lld: rx %.0f pps %.3f Gbit/s, tx %.0f pps %.3f Gbit/s, "
			       "retransmits %lld, drops %lld\n",
			       (long long)json_integer_value(json_object_get(w, "id")),
			       json_real_value(json_object_get(w, "rx_pps")),
			       json_real_value(json_object_get(w, "rx_gbps")),
			       json_real_value(json_object_get(w, "tx_pps")),
			       json_real_value(json_object_get(w, "tx_gbps")),
			       (long long)json_integer_value(json_object_get(w, "retransmits")),
			       (long long)json_integer_value(json_object_get(w, "drops_total")));
		else
			printf("worker %lld: %.0f msg/s, in %.3f Gbit/s, out %.3f Gbit/s\n",
			       (long long)json_integer_value(json_object_get(w, "id")),
			       json_real_value(json_object_get(w, "msgs_per_s")),
			       json_real_value(json_object_get(w, "in_gbps")),
			       json_real_value(json_object_get(w, "out_gbps")));
		json_object_foreach(d, k, v)
			if (json_integer_value(v) != 0)
				printf("  drop %-24s %lld\n", k, (long long)json_integer_value(v));
	}
}

static void list(const char *label, json_t *a)
{
	size_t i;
	json_t *v;
	printf("%s", label);
	json_array_foreach(a, i, v)
		printf("%s%s", i ? ", " : " ", json_string_value(v));
	printf("%s\n", json_array_size(a) ? "" : " (none)");
}

void ctl_print_reload(json_t *res)
{
	json_t *k = json_object_get(res, "keys");
	list("applied:", json_object_get(res, "applied"));
	list("restart required:", json_object_get(res, "restart_required"));
	list("keys added:", json_object_get(k, "added"));
	list("keys removed:", json_object_get(k, "removed"));
	list("keys changed:", json_object_get(k, "changed"));
}
