/* dp_synflood: a bounded SYN flood for the test-bed, from spoofed sources.
 *
 *   dp_synflood -d DST_ADDR [-p DST_PORT] [-n COUNT] [-r PPS] [-t MAX_SECONDS]
 *               [-s SRC_NET/LEN] [-S SEED]
 *
 * Sends COUNT TCP SYNs (MSS, SACK-permitted, timestamps and window-scale
 * options, like a Linux client) at about PPS packets per second through a raw
 * IP_HDRINCL socket, each from a random source address in SRC_NET (default
 * 198.19.0.0/16) and a random source port; stops after COUNT packets or
 * MAX_SECONDS, whichever comes first. Both the destination and the source
 * network must lie inside 198.18.0.0/15 (RFC 2544 benchmarking space): the
 * tool refuses anything else, so it cannot be aimed at a real network.
 * The spoofed sources are not local anywhere, so the SYN-ACKs they draw are
 * dropped and every flood entry stays half-open, which is the point.
 * Prints "dp_synflood: sent=N secs=S pps=R"; exits 0 when every packet went
 * out, 1 on a send error, 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NET 0xc6120000u /* 198.18.0.0 */
#define BENCH_MASK 0xfffe0000u /* /15 */
#define SYN_OPT_LEN 20
#define SYN_LEN (20 + 20 + SYN_OPT_LEN)

struct flood {
	uint32_t dst;      /* host order */
	uint16_t dport;
	uint32_t src_net;  /* host order */
	uint32_t src_mask;
	uint64_t count;
	double pps;
	double max_s;
	uint64_t rng;
};

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: enough spread for addresses, ports and sequence numbers */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Internet checksum over big-endian 16-bit words, folded, not inverted. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t k = 0; k + 1 < len; k += 2)
		sum += (uint32_t)(p[k] << 8 | p[k + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Build one SYN from src:sport into pkt[SYN_LEN]. */
static void build_syn(const struct flood *f, uint8_t *pkt, uint32_t src, uint16_t sport,
		      uint32_t seq, uint32_t tsval)
{
	uint8_t *ip = pkt, *tcp = pkt + 20, *opt = tcp + 20;
	uint8_t pseudo[12];
	uint32_t sum;

	memset(pkt, 0, SYN_LEN);
	ip[0] = 0x45;
	put16(ip + 2, SYN_LEN);
	put16(ip + 4, (uint16_t)seq);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put32(ip + 12, src);
	put32(ip + 16, f->dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));

	put16(tcp, sport);
	put16(tcp + 2, f->dport);
	put32(tcp + 4, seq);
	tcp[12] = (uint8_t)((20 + SYN_OPT_LEN) / 4) << 4;
	tcp[13] = 0x02; /* SYN */
	put16(tcp + 14, 64240);
	/* MSS 1460, SACK-permitted, timestamps, NOP, window scale 7. */
	opt[0] = 2, opt[1] = 4, put16(opt + 2, 1460);
	opt[4] = 4, opt[5] = 2;
	opt[6] = 8, opt[7] = 10, put32(opt + 8, tsval), put32(opt + 12, 0);
	opt[16] = 1, opt[17] = 3, opt[18] = 3, opt[19] = 7;

	put32(pseudo, src);
	put32(pseudo + 4, f->dst);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, 20 + SYN_OPT_LEN);
	sum = csum_add(csum_add(0, pseudo, 12), tcp, 20 + SYN_OPT_LEN);
	put16(tcp + 16, csum_fold(sum));
}

static int in_bench_net(uint32_t a)
{
	return (a & BENCH_MASK) == BENCH_NET;
}

static int parse_net(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[32];
	struct in_addr a;
	char *slash, *end;
	unsigned long len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash == NULL)
		return -EINVAL;
	*slash = '\0';
	len = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || end == slash + 1 || len < 15 || len > 32)
		return -EINVAL;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	*net = ntohl(a.s_addr) & *mask;
	return 0;
}

static int parse_args(int argc, char **argv, struct flood *f)
{
	const char *dst = NULL, *src = "198.19.0.0/16";
	struct in_addr a;
	int c;

	f->dport = 19;
	f->count = 10000;
	f->pps = 5000;
	f->max_s = 10;
	f->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
	while ((c = getopt(argc, argv, "d:p:n:r:t:s:S:")) != -1) {
		switch (c) {
		case 'd': dst = optarg; break;
		case 'p': f->dport = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'n': f->count = strtoull(optarg, NULL, 10); break;
		case 'r': f->pps = atof(optarg); break;
		case 't': f->max_s = atof(optarg); break;
		case 's': src = optarg; break;
		case 'S': f->rng = strtoull(optarg, NULL, 0) | 1; break;
		default: return -EINVAL;
		}
	}
	if (dst == NULL || optind != argc || f->dport == 0)
		return -EINVAL;
	/* Hard limits: this tool must stay a bounded test load. */
	if (f->count == 0 || f->count > 10000000 || !(f->pps > 0) || f->pps > 1e6 ||
	    !(f->max_s > 0) || f->max_s > 600) {
		fprintf(stderr, "dp_synflood: count 1..1e7, rate 1..1e6 pps, time 0..600 s\n");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, dst, &a) != 1 || !in_bench_net(ntohl(a.s_addr))) {
		fprintf(stderr, "dp_synflood: refusing destination %s: only 198.18.0.0/15\n", dst);
		return -EINVAL;
	}
	f->dst = ntohl(a.s_addr);
	if (parse_net(src, &f->src_net, &f->src_mask) != 0 || !in_bench_net(f->src_net)) {
		fprintf(stderr, "dp_synflood: refusing source network %s: only inside 198.18.0.0/15\n",
			src);
		return -EINVAL;
	}
	return 0;
}

static uint32_t pick_src(struct flood *f)
{
	for (;;) {
		uint32_t a = f->src_net | ((uint32_t)rng_next(&f->rng) & ~f->src_mask);
		uint8_t last = (uint8_t)a;
		/* skip network/broadcast-looking addresses and the destination */
		if (last != 0 && last != 255 && a != f->dst)
			return a;
	}
}

static int flood(struct flood *f, uint64_t *sent_out, double *secs_out)
{
	uint8_t pkt[SYN_LEN];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(f->dst) };
	int one = 1, fd, rc = 0;
	double t0 = now_s(), t;
	uint64_t sent = 0;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) != 0) {
		fprintf(stderr, "dp_synflood: raw socket: %s (needs CAP_NET_RAW)\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (sent < f->count && (t = now_s() - t0) < f->max_s) {
		/* Pace: never ahead of the schedule sent/pps. */
		double ahead = (double)sent / f->pps - t;
		if (ahead > 0.0005) {
			struct timespec ts = { 0, (long)(ahead * 1e9) };
			nanosleep(&ts, NULL);
			continue;
		}
		uint64_t r = rng_next(&f->rng);
		uint16_t sport = (uint16_t)(1024 + (r % 64000));
		build_syn(f, pkt, pick_src(f), sport, (uint32_t)(r >> 32), (uint32_t)(r >> 16));
		if (sendto(fd, pkt, SYN_LEN, 0, (struct sockaddr *)&sa, sizeof(sa)) != SYN_LEN) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				struct timespec ts = { 0, 100000 };
				nanosleep(&ts, NULL);
				continue;
			}
			fprintf(stderr, "dp_synflood: sendto: %s\n", strerror(errno));
			rc = -1;
			break;
		}
		sent++;
	}
	close(fd);
	*sent_out = sent;
	*secs_out = now_s() - t0;
	return rc;
}

int main(int argc, char **argv)
{
	struct flood f;
	uint64_t sent = 0;
	double secs = 0;
	int rc;

	memset(&f, 0, sizeof(f));
	if (parse_args(argc, argv, &f) != 0) {
		fprintf(stderr, "usage: dp_synflood -d DST_ADDR [-p DST_PORT] [-n COUNT] [-r PPS]"
				" [-t MAX_SECONDS] [-s SRC_NET/LEN] [-S SEED]\n");
		return 2;
	}
	rc = flood(&f, &sent, &secs);
	printf("dp_synflood: sent=%" PRIu64 " secs=%.3f pps=%.0f\n", sent, secs,
	       secs > 0 ? (double)sent / secs : 0.0);
	return rc == 0 ? 0 : 1;
}
