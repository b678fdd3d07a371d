/* lifecastctl: the operator's command line for lifecast-cp.
 *
 * Builds one JSON request from the command line, sends it over the
 * management socket (cp_mgmt.h), prints the answer as a table (default) or
 * as JSON (--json). Exit codes: 0 ok, 1 the command failed, 2 usage,
 * 3 cannot reach the daemon.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "controlplane/ctl_cli.h"

#define ANSWER_MAX (16u << 20)

struct ctl_cmd {
	const char *name;      /* first word(s) as typed */
	const char *usage;
	int (*build)(int argc, char **argv, json_t **req); /* argv after the name */
	void (*print)(json_t *result);
};

static int no_args(int argc, const char *cmd, json_t **req)
{
	if (argc != 0)
		return -EINVAL;
	*req = json_pack("{s:s}", "cmd", cmd);
	return 0;
}

static int b_status(int argc, char **argv, json_t **req) { return no_args(argc, "status", req); }
static int b_streams(int argc, char **argv, json_t **req) { return no_args(argc, "streams", req); }
static int b_stats(int argc, char **argv, json_t **req) { return no_args(argc, "stats", req); }
static int b_reload(int argc, char **argv, json_t **req) { return no_args(argc, "reload", req); }
static int b_keys_list(int argc, char **argv, json_t **req)
{
	return no_args(argc, "keys_list", req);
}
static int b_chat(int argc, char **argv, json_t **req)
{
	return no_args(argc, "chat_rules_reload", req);
}

static int b_sessions(int argc, char **argv, json_t **req)
{
	*req = json_pack("{s:s}", "cmd", "sessions");
	if (argc == 0)
		return 0;
	if (argc == 2 && strcmp(argv[0], "--stream") == 0 && strchr(argv[1], '/')) {
		json_object_set_new(*req, "stream", json_string(argv[1]));
		return 0;
	}
	return -EINVAL;
}

static int b_kick(int argc, char **argv, json_t **req)
{
	char *end;
	if (argc != 1)
		return -EINVAL;
	errno = 0;
	unsigned long long id = strtoull(argv[0], &end, 10);
	if (errno || end == argv[0] || *end || id == 0 || id > (unsigned long long)INT64_MAX)
		return -EINVAL;
	*req = json_pack("{s:s,s:I}", "cmd", "kick", "session", (json_int_t)id);
	return 0;
}

static int b_stream_stop(int argc, char **argv, json_t **req)
{
	if (argc != 1 || !strchr(argv[0], '/'))
		return -EINVAL;
	*req = json_pack("{s:s,s:s}", "cmd", "stream_stop", "stream", argv[0]);
	return 0;
}

static int b_keys_add(int argc, char **argv, json_t **req)
{
	if (argc != 2)
		return -EINVAL;
	*req = json_pack("{s:s,s:s,s:s}", "cmd", "keys_add", "channel", argv[0], "secret", argv[1]);
	return 0;
}

static int b_keys_revoke(int argc, char **argv, json_t **req)
{
	if (argc != 1)
		return -EINVAL;
	*req = json_pack("{s:s,s:s}", "cmd", "keys_revoke", "channel", argv[0]);
	return 0;
}

static int b_archive_list(int argc, char **argv, json_t **req)
{
	if (argc > 1)
		return -EINVAL;
	*req = json_pack("{s:s}", "cmd", "archive_list");
	if (argc == 1) {
		char *slash = strchr(argv[0], '/');
		if (slash == argv[0] || (slash && (!slash[1] || strchr(slash + 1, '/'))))
			return -EINVAL;
		if (slash) {
			json_object_set_new(*req, "stream", json_string(slash + 1));
			*slash = '\0';
		}
		json_object_set_new(*req, "app", json_string(argv[0]));
	}
	return 0;
}

static int b_archive_repair(int argc, char **argv, json_t **req)
{
	if (argc != 1)
		return -EINVAL;
	char abs[4096];
	/* The daemon's working directory is not ours. */
	if (argv[0][0] != '/' && realpath(argv[0], abs))
		argv[0] = abs;
	*req = json_pack("{s:s,s:s}", "cmd", "archive_repair", "file", argv[0]);
	return 0;
}

static int b_drain(int argc, char **argv, json_t **req)
{
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "on") && strcmp(argv[0], "off")))
		return -EINVAL;
	int on = argc == 0 || strcmp(argv[0], "on") == 0;
	*req = json_pack("{s:s,s:b}", "cmd", "drain", "on", on);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "status", "status\n  uptime, version, mode, workers, ports, link, totals",
	  b_status, ctl_print_status },
	{ "streams", "streams\n  live streams: publisher, codecs, bitrate, viewers, uptime, recording",
	  b_streams, ctl_print_streams },
	{ "sessions", "sessions [--stream APP/NAME]\n  connections: peer, role, state, bytes, rtt, "
	  "cwnd, skips", b_sessions, ctl_print_sessions },
	{ "kick", "kick SESSION\n  disconnect one session (id from `sessions`)", b_kick,
	  ctl_print_message },
	{ "stream stop", "stream stop APP/NAME\n  disconnect the publisher and end the stream",
	  b_stream_stop, ctl_print_message },
	{ "keys list", "keys list\n  stream keys (secrets masked)", b_keys_list, ctl_print_keys },
	{ "keys add", "keys add CHANNEL SECRET\n  add or re-key a channel; saved to lifecast.conf "
	  "[keys] and applied live (re-key: a publisher on the old key is cut)", b_keys_add,
	  ctl_print_message },
	{ "keys revoke", "keys revoke CHANNEL\n  remove a channel's key (file and live) and cut "
	  "its live publisher",
	  b_keys_revoke, ctl_print_message },
	{ "archive list", "archive list [APP[/STREAM]]\n  recordings", b_archive_list,
	  ctl_print_archive },
	{ "archive repair", "archive repair FILE\n  repair a recording (torn tail, metadata)",
	  b_archive_repair, ctl_print_message },
	{ "stats", "stats\n  per-worker packet and bit rates, drops by reason, retransmits", b_stats,
	  ctl_print_stats },
	{ "drain", "drain [on|off]\n  refuse new viewers (maintenance); existing ones keep playing",
	  b_drain, ctl_print_message },
	{ "reload", "reload\n  re-read lifecast.conf; lists applied keys and keys needing a restart",
	  b_reload, ctl_print_reload },
	{ "chat rules reload", "chat rules reload\n  recompile the chat moderation rules", b_chat,
	  ctl_print_message },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: lifecastctl [-s SOCKET | -c lifecast.conf] [--json] COMMAND [ARGS]\n"
		   "\n  -s, --socket PATH   management socket (default: [control] socket of -c, "
		   "else %s)\n"
		   "  -c, --config FILE   read the socket path from FILE's [control] section\n"
		   "  -j, --json          print the answer as JSON\n"
		   "  -h, --help          this text; COMMAND --help for one command\n\ncommands:\n",
		CTL_DEFAULT_SOCKET);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %.*s\n", (int)strcspn(cmds[i].usage, "\n"), cmds[i].usage);
	fprintf(f, "\nexit status: 0 ok, 1 command failed, 2 usage, 3 cannot reach lifecast-cp\n");
}

/* Match argv against a command name of one to three words. */
static const struct ctl_cmd *find_cmd(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < NCMDS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s", cmds[i].name);
		int n = 0, ok = 1;
		for (char *save, *w = strtok_r(name, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (n >= argc || strcmp(argv[n], w) != 0) {
				ok = 0;
				break;
			}
			n++;
		}
		if (ok) {
			*words = n;
			return &cmds[i];
		}
	}
	return NULL;
}

/* Send one line, read one line. Returns the parsed answer or NULL (errors
 * printed). */
static json_t *transact(const char *path, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "lifecastctl: socket path too long: %s\n", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "lifecastctl: cannot reach lifecast-cp at %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	json_t *ans = NULL;
	char *buf = NULL;
	if (ctl_write_all(fd, line, strlen(line)) != 0 || ctl_write_all(fd, "\n", 1) != 0) {
		fprintf(stderr, "lifecastctl: send: %s\n", strerror(errno));
		goto out;
	}
	size_t len = 0;
	int rc = ctl_read_line(fd, &buf, &len, ANSWER_MAX, CTL_TIMEOUT_MS);
	if (rc != 0) {
		fprintf(stderr, "lifecastctl: no answer from lifecast-cp: %s\n", strerror(-rc));
		goto out;
	}
	json_error_t je;
	ans = json_loadb(buf, len, 0, &je);
	if (!ans || !json_is_boolean(json_object_get(ans, "ok"))) {
		fprintf(stderr, "lifecastctl: bad answer from lifecast-cp: %s\n", ans ? "no ok" : je.text);
		json_decref(ans);
		ans = NULL;
	}
out:
	free(buf);
	close(fd);
	return ans;
}

static int print_answer(const struct ctl_cmd *c, json_t *ans, int as_json)
{
	if (!json_is_true(json_object_get(ans, "ok"))) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		fprintf(stderr, "lifecastctl: %s: %s\n", c->name, e ? e : "failed");
		if (as_json)
			ctl_print_json(ans);
		return CTL_EXIT_FAILED;
	}
	json_t *res = json_object_get(ans, "result");
	if (as_json)
		ctl_print_json(res);
	else
		c->print(res);
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ctl_opts o;
	int rc = ctl_parse_global(argc, argv, &o);
	if (rc != 0 || o.help || o.argc == 0) {
		usage(rc != 0 || o.argc == 0 ? stderr : stdout);
		return rc != 0 || (o.argc == 0 && !o.help) ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	int words = 0;
	const struct ctl_cmd *c = find_cmd(o.argc, o.argv, &words);
	if (!c) {
		fprintf(stderr, "lifecastctl: unknown command '%s' (see --help)\n", o.argv[0]);
		return CTL_EXIT_USAGE;
	}
	if (o.cmd_help) {
		printf("usage: lifecastctl %s\n", c->usage);
		return CTL_EXIT_OK;
	}
	json_t *req = NULL;
	if (c->build(o.argc - words, o.argv + words, &req) != 0 || !req) {
		json_decref(req);
		fprintf(stderr, "usage: lifecastctl %s\n", c->usage);
		return CTL_EXIT_USAGE;
	}
	char *line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return CTL_EXIT_FAILED;
	json_t *ans = transact(o.socket, line);
	free(line);
	if (!ans)
		return CTL_EXIT_UNREACHABLE;
	rc = print_answer(c, ans, o.json);
	json_decref(ans);
	return rc;
}
