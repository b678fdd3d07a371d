/* net_impair: a userspace link impairer for the test-bed, for kernels built
 * without sch_netem.
 *
 * It bridges an existing interface ("wire", read and written through an
 * AF_PACKET socket) and a TAP device it creates ("tap"), and applies loss,
 * delay with jitter, reordering and a rate cap to the frames it forwards, per
 * direction, from a seeded PRNG so a run can be repeated.
 *
 *   net_impair --wire lc-cli0 --tap lc-cli1 [--loss PCT] [--delay MS]
 *              [--jitter MS] [--reorder PCT] [--rate KBIT] [--dir both|in|out]
 *              [--seed N] [--duration SEC] [--stats FILE]
 *
 * "in" is wire -> tap (toward the host stack owning the tap), "out" the other
 * way. Put the host's address on the tap and keep the wire interface out of
 * the IP stack (`ip link set WIRE arp off`, no address, IPv6 disabled), so the
 * kernel answers ARP only through the tap. Reordering follows netem: a
 * reordered frame skips the delay queue and overtakes the frames held in it.
 * Stops on SIGINT/SIGTERM or after --duration; prints its counters on exit
 * (and to --stats FILE) so a test can assert that impairment really happened.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 2048
#define QUEUE_MAX 16384 /* frames held per direction; beyond it, tail drop */

struct frame {
	uint64_t due_us;
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

/* One direction: a time-ordered queue (frames enter with non-decreasing due
 * times except for jitter, so it is kept sorted by insertion). */
struct dir {
	const char *name;
	int enabled;
	int out_fd;
	int out_is_packet; /* write with send() on the AF_PACKET socket */
	struct frame *q;   /* ring of QUEUE_MAX */
	unsigned head, count;
	uint64_t rate_bytes_per_s, tokens_free_at_us;
	uint64_t rx, tx, lost, reordered, overflow;
};

struct impair {
	double loss, reorder; /* probabilities 0..1 */
	uint64_t delay_us, jitter_us;
	uint64_t rng;
	volatile sig_atomic_t *quit;
};

static volatile sig_atomic_t quit_flag;

static void on_signal(int sig)
{
	(void)sig;
	quit_flag = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* xorshift64*: small, seedable, good enough for impairment decisions. */
static double rnd(struct impair *im)
{
	im->rng ^= im->rng >> 12;
	im->rng ^= im->rng << 25;
	im->rng ^= im->rng >> 27;
	return (double)((im->rng * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

static int open_wire(const char *ifname)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	struct sockaddr_ll sll = { 0 };
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		int e = errno ? errno : ENODEV;
		close(fd);
		return -e;
	}
	struct packet_mreq mr = { 0 };
	mr.mr_ifindex = sll.sll_ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int open_tap(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Queue a received frame, or drop it, per the impairment settings. */
static void admit(struct impair *im, struct dir *d, const uint8_t *buf, size_t len, uint64_t t)
{
	d->rx++;
	if (im->loss > 0 && rnd(im) < im->loss) {
		d->lost++;
		return;
	}
	if (d->count == QUEUE_MAX) {
		d->overflow++;
		return;
	}
	uint64_t due = t + im->delay_us;
	if (im->jitter_us)
		due = due - im->jitter_us + (uint64_t)(rnd(im) * 2.0 * (double)im->jitter_us);
	int reorder = im->reorder > 0 && d->count > 0 && rnd(im) < im->reorder;
	if (reorder) {
		/* Overtake everything held: goes out now, ahead of the queue. */
		d->head = (d->head + QUEUE_MAX - 1) % QUEUE_MAX;
		struct frame *f = &d->q[d->head];
		f->due_us = t;
		f->len = (uint16_t)len;
		memcpy(f->data, buf, len);
		d->count++;
		d->reordered++;
		return;
	}
	/* Keep FIFO order otherwise: a frame never leaves before its predecessor
	 * (jitter without reordering, as netem does with rate/limit). */
	if (d->count) {
		const struct frame *last = &d->q[(d->head + d->count - 1) % QUEUE_MAX];
		if (due < last->due_us)
			due = last->due_us;
	}
	struct frame *f = &d->q[(d->head + d->count) % QUEUE_MAX];
	f->due_us = due;
	f->len = (uint16_t)len;
	memcpy(f->data, buf, len);
	d->count++;
}

/* Send every frame that is due and allowed by the rate cap; return the time
 * the next one is due (UINT64_MAX when empty). */
static uint64_t drain(struct dir *d, uint64_t t)
{
	while (d->count) {
		struct frame *f = &d->q[d->head];
		uint64_t ready = f->due_us;
		if (d->rate_bytes_per_s && d->tokens_free_at_us > ready)
			ready = d->tokens_free_at_us;
		if (ready > t)
			return ready;
		ssize_t w = d->out_is_packet ? send(d->out_fd, f->data, f->len, 0)
					     : write(d->out_fd, f->data, f->len);
		if (w < 0 && (errno == EAGAIN || errno == ENOBUFS))
			return t + 100; /* device busy: retry shortly */
		if (w == (ssize_t)f->len)
			d->tx++;
		if (d->rate_bytes_per_s) {
			uint64_t start = d->tokens_free_at_us > t ? d->tokens_free_at_us : t;
			d->tokens_free_at_us = start + (uint64_t)f->len * 1000000u / d->rate_bytes_per_s;
		}
		d->head = (d->head + 1) % QUEUE_MAX;
		d->count--;
	}
	return UINT64_MAX;
}

static void print_stats(FILE *out, const struct dir *a, const struct dir *b)
{
	const struct dir *ds[2] = { a, b };
	for (int i = 0; i < 2; i++)
		fprintf(out, "%s rx=%llu tx=%llu lost=%llu reordered=%llu overflow=%llu\n",
			ds[i]->name, (unsigned long long)ds[i]->rx, (unsigned long long)ds[i]->tx,
			(unsigned long long)ds[i]->lost, (unsigned long long)ds[i]->reordered,
			(unsigned long long)ds[i]->overflow);
}

static void usage(void)
{
	fprintf(stderr, "usage: net_impair --wire IFACE --tap NAME [--loss PCT] [--delay MS]\n"
			"       [--jitter MS] [--reorder PCT] [--rate KBIT] [--dir both|in|out]\n"
			"       [--seed N] [--duration SEC] [--stats FILE]\n");
}

int main(int argc, char **argv)
{
	const char *wire = NULL, *tap = NULL, *dirs = "both", *stats_path = NULL;
	double loss = 0, reorder = 0, delay_ms = 0, jitter_ms = 0, rate_kbit = 0, duration = 0;
	unsigned long long seed = 1;
	static const struct option opts[] = {
		{ "wire", 1, 0, 'w' }, { "tap", 1, 0, 't' }, { "loss", 1, 0, 'l' },
		{ "delay", 1, 0, 'd' }, { "jitter", 1, 0, 'j' }, { "reorder", 1, 0, 'r' },
		{ "rate", 1, 0, 'R' }, { "dir", 1, 0, 'D' }, { "seed", 1, 0, 's' },
		{ "duration", 1, 0, 'T' }, { "stats", 1, 0, 'S' }, { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w': wire = optarg; break;
		case 't': tap = optarg; break;
		case 'l': loss = atof(optarg); break;
		case 'd': delay_ms = atof(optarg); break;
		case 'j': jitter_ms = atof(optarg); break;
		case 'r': reorder = atof(optarg); break;
		case 'R': rate_kbit = atof(optarg); break;
		case 'D': dirs = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'T': duration = atof(optarg); break;
		case 'S': stats_path = optarg; break;
		default: usage(); return 2;
		}
	}
	if (!wire || !tap || loss < 0 || loss > 100 || reorder < 0 || reorder > 100 ||
	    delay_ms < 0 || jitter_ms < 0 || jitter_ms > delay_ms || rate_kbit < 0 ||
	    (strcmp(dirs, "both") && strcmp(dirs, "in") && strcmp(dirs, "out"))) {
		usage();
		return 2;
	}

	int wfd = open_wire(wire);
	if (wfd < 0) {
		fprintf(stderr, "net_impair: wire %s: %s\n", wire, strerror(-wfd));
		return 1;
	}
	int tfd = open_tap(tap);
	if (tfd < 0) {
		fprintf(stderr, "net_impair: tap %s: %s\n", tap, strerror(-tfd));
		close(wfd);
		return 1;
	}
	struct frame *qin = calloc(QUEUE_MAX, sizeof(*qin));
	struct frame *qout = calloc(QUEUE_MAX, sizeof(*qout));
	if (!qin || !qout) {
		fprintf(stderr, "net_impair: out of memory\n");
		return 1;
	}
	struct impair im = {
		.loss = loss / 100.0, .reorder = reorder / 100.0,
		.delay_us = (uint64_t)(delay_ms * 1000), .jitter_us = (uint64_t)(jitter_ms * 1000),
		.rng = seed ? seed : 1, .quit = &quit_flag,
	};
	uint64_t rate = (uint64_t)(rate_kbit * 1000 / 8);
	struct dir din = { .name = "in", .enabled = strcmp(dirs, "out") != 0, .out_fd = tfd,
			   .q = qin, .rate_bytes_per_s = rate };
	struct dir dout = { .name = "out", .enabled = strcmp(dirs, "in") != 0, .out_fd = wfd,
			    .out_is_packet = 1, .q = qout, .rate_bytes_per_s = rate };
	/* A disabled direction forwards untouched. */
	struct impair none = { .rng = 1 };

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	uint64_t end = duration > 0 ? now_us() + (uint64_t)(duration * 1e6) : UINT64_MAX;
	uint8_t buf[FRAME_MAX];
	fprintf(stderr, "net_impair: %s <-> %s loss=%.2f%% delay=%.1fms jitter=%.1fms "
			"reorder=%.2f%% rate=%.0fkbit dir=%s\n",
		wire, tap, loss, delay_ms, jitter_ms, reorder, rate_kbit, dirs);

	while (!quit_flag) {
		uint64_t t = now_us();
		if (t >= end)
			break;
		uint64_t next = drain(&din, t);
		uint64_t n2 = drain(&dout, t);
		if (n2 < next)
			next = n2;
		int timeout_ms = 100;
		if (next != UINT64_MAX)
			timeout_ms = next <= t ? 0 : (int)((next - t + 999) / 1000);
		if (timeout_ms > 100)
			timeout_ms = 100;
		struct pollfd pfd[2] = { { wfd, POLLIN, 0 }, { tfd, POLLIN, 0 } };
		if (poll(pfd, 2, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			perror("net_impair: poll");
			break;
		}
		t = now_us();
		if (pfd[0].revents & POLLIN) {
			for (int i = 0; i < 64; i++) {
				struct sockaddr_ll from;
				socklen_t fl = sizeof(from);
				ssize_t n = recvfrom(wfd, buf, sizeof(buf), MSG_DONTWAIT,
						     (struct sockaddr *)&from, &fl);
				if (n <= 0)
					break;
				if (from.sll_pkttype == PACKET_OUTGOING)
					continue; /* our own transmissions looped back */
				admit(din.enabled ? &im : &none, &din, buf, (size_t)n, t);
			}
		}
		if (pfd[1].revents & POLLIN) {
			for (int i = 0; i < 64; i++) {
				ssize_t n = read(tfd, buf, sizeof(buf));
				if (n <= 0)
					break;
				admit(dout.enabled ? &im : &none, &dout, buf, (size_t)n, t);
				struct pollfd p = { tfd, POLLIN, 0 };
				if (poll(&p, 1, 0) <= 0)
					break;
			}
		}
	}
	print_stats(stderr, &din, &dout);
	if (stats_path) {
		FILE *f = fopen(stats_path, "w");
		if (f) {
			print_stats(f, &din, &dout);
			fclose(f);
		}
	}
	free(qin);
	free(qout);
	close(tfd);
	close(wfd);
	return 0;
}
