/* lifecastctl: option parsing and socket I/O. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/cp_config.h"
#include "controlplane/ctl_cli.h"

static int read_socket_key(void *arg, const char *key, const char *value, int line)
{
	struct ctl_opts *o = arg;
	if (strcmp(key, "socket") == 0)
		snprintf(o->socket, sizeof(o->socket), "%s", value);
	return 0;
}

static int set_socket_from_conf(struct ctl_opts *o, const char *path)
{
	char err[512];
	int rc = cp_conf_pairs(path, "control", read_socket_key, o, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "lifecastctl: %s\n", err);
	return rc;
}

int ctl_parse_global(int argc, char **argv, struct ctl_opts *o)
{
	const char *sock = NULL, *conf = NULL;
	memset(o, 0, sizeof(*o));
	/* Positional words are compacted into argv itself (k <= i always). */
	o->argv = argv + 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int need = !strcmp(a, "-s") || !strcmp(a, "--socket") || !strcmp(a, "-c") ||
			   !strcmp(a, "--config");
		if (need && i + 1 >= argc) {
			fprintf(stderr, "lifecastctl: %s needs an argument\n", a);
			return -EINVAL;
		}
		if (!strcmp(a, "-s") || !strcmp(a, "--socket"))
			sock = argv[++i];
		else if (!strcmp(a, "-c") || !strcmp(a, "--config"))
			conf = argv[++i];
		else if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			o->json = 1;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			*(o->argc ? &o->cmd_help : &o->help) = 1;
		else if (a[0] == '-' && o->argc == 0) {
			fprintf(stderr, "lifecastctl: unknown option %s\n", a);
			return -EINVAL;
		} else
			o->argv[o->argc++] = argv[i]; /* command words and their options */
	}
	snprintf(o->socket, sizeof(o->socket), "%s", CTL_DEFAULT_SOCKET);
	if (getenv("LIFECAST_MGMT_SOCKET"))
		snprintf(o->socket, sizeof(o->socket), "%s", getenv("LIFECAST_MGMT_SOCKET"));
	if (conf && set_socket_from_conf(o, conf) != 0)
		return -EINVAL;
	if (sock) {
		if (strlen(sock) >= sizeof(o->socket)) {
			fprintf(stderr, "lifecastctl: socket path too long\n");
			return -EINVAL;
		}
		snprintf(o->socket, sizeof(o->socket), "%s", sock);
	}
	return 0;
}

int ctl_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_read_line(int fd, char **out, size_t *len, size_t max, int timeout_ms)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int64_t deadline = mono_ms() + timeout_ms;
	int rc = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		char *nl = memchr(buf, '\n', n);
		if (nl) {
			*nl = '\0';
			*out = buf;
			*len = (size_t)(nl - buf);
			return 0;
		}
		if (n >= max) {
			rc = -EMSGSIZE;
			break;
		}
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		int64_t left = deadline - mono_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		int pr = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (pr == 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			rc = r == 0 ? -ECONNRESET : -errno;
			break;
		}
		n += (size_t)r;
	}
	free(buf);
	return rc;
}
