/* RTMP handshake, plain and digest (FP9), as byte-in/byte-out machines. */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_err.h"
#include "rtmp/rtmp_handshake.h"

#define HS_KEY_TAIL \
	0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, \
	0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, \
	0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE

const uint8_t rtmp_hs_fp_key[RTMP_HS_FP_KEY_FULL] = {
	'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
	'F', 'l', 'a', 's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ', '0', '0', '1',
	HS_KEY_TAIL
};

const uint8_t rtmp_hs_fms_key[RTMP_HS_FMS_KEY_FULL] = {
	'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
	'F', 'l', 'a', 's', 'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ',
	'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1',
	HS_KEY_TAIL
};

/* Default version fields sent with a digest: nginx-rtmp's server version and
 * the Flash Player 9 client version that ffmpeg sends. */
static const uint8_t hs_server_version[4] = { 13, 14, 10, 13 };
static const uint8_t hs_client_version[4] = { 9, 0, 124, 2 };
static const uint8_t hs_zero_version[4];

#define HS_SIGNED_LEN (RTMP_HS_SIZE - RTMP_HS_DIGEST_LEN)

static int hs_hmac(const uint8_t *key, size_t klen, const uint8_t *data, size_t n, uint8_t *out)
{
	unsigned int olen = 0;

	if (!HMAC(EVP_sha256(), key, (int)klen, data, n, out, &olen) ||
	    olen != RTMP_HS_DIGEST_LEN)
		return -EIO;
	return 0;
}

uint32_t rtmp_hs_digest_offset(const uint8_t *c1, enum rtmp_hs_scheme scheme)
{
	uint32_t base = scheme == RTMP_HS_SCHEME0 ? 8 : 772;
	const uint8_t *p = c1 + base;

	/* 728 = 764 - 32 - 4: the digest stays inside its 764-byte half. */
	return (uint32_t)(p[0] + p[1] + p[2] + p[3]) % 728 + base + 4;
}

int rtmp_hs_digest_calc(const uint8_t *pkt, enum rtmp_hs_scheme scheme,
			const uint8_t *key, size_t klen, uint8_t *digest)
{
	uint8_t msg[HS_SIGNED_LEN];
	uint32_t off = rtmp_hs_digest_offset(pkt, scheme);

	memcpy(msg, pkt, off);
	memcpy(msg + off, pkt + off + RTMP_HS_DIGEST_LEN, RTMP_HS_SIZE - off - RTMP_HS_DIGEST_LEN);
	return hs_hmac(key, klen, msg, sizeof(msg), digest);
}

int rtmp_hs_digest_write(uint8_t *pkt, enum rtmp_hs_scheme scheme,
			 const uint8_t *key, size_t klen)
{
	return rtmp_hs_digest_calc(pkt, scheme, key, klen, pkt + rtmp_hs_digest_offset(pkt, scheme));
}

int rtmp_hs_digest_check(const uint8_t *pkt, enum rtmp_hs_scheme scheme,
			 const uint8_t *key, size_t klen)
{
	uint8_t d[RTMP_HS_DIGEST_LEN];

	if (rtmp_hs_digest_calc(pkt, scheme, key, klen, d) < 0)
		return 0;
	return memcmp(d, pkt + rtmp_hs_digest_offset(pkt, scheme), RTMP_HS_DIGEST_LEN) == 0;
}

/* Sign the last 32 bytes of a C2/S2: key = HMAC(full_key, peer digest). */
static int hs_response_digest(const uint8_t *pkt, const uint8_t *full_key, size_t klen,
			      const uint8_t *peer_digest, uint8_t *out)
{
	uint8_t key[RTMP_HS_DIGEST_LEN];
	int rc = hs_hmac(full_key, klen, peer_digest, RTMP_HS_DIGEST_LEN, key);

	return rc < 0 ? rc : hs_hmac(key, sizeof(key), pkt, HS_SIGNED_LEN, out);
}

static int hs_init(struct rtmp_hs *hs, const struct rtmp_hs_config *cfg, enum rtmp_hs_role role)
{
	memset(hs, 0, sizeof(*hs));
	if (!cfg || !cfg->rand || (cfg->scheme != RTMP_HS_SCHEME0 && cfg->scheme != RTMP_HS_SCHEME1))
		return -EINVAL;
	hs->cfg = *cfg;
	hs->role = role;
	hs->state = role == RTMP_HS_SERVER ? RTMP_HS_S_WAIT_C0C1 : RTMP_HS_C_INIT;
	return 0;
}

int rtmp_hs_server_init(struct rtmp_hs *hs, const struct rtmp_hs_config *cfg)
{
	return hs_init(hs, cfg, RTMP_HS_SERVER);
}

int rtmp_hs_client_init(struct rtmp_hs *hs, const struct rtmp_hs_config *cfg)
{
	return hs_init(hs, cfg, RTMP_HS_CLIENT);
}

/* Build our C1/S1 into pkt (and hs->mine): time, version, random, and the
 * digest when digest is set. */
static int hs_make_challenge(struct rtmp_hs *hs, uint8_t *pkt, int digest,
			     enum rtmp_hs_scheme scheme, const uint8_t *dflt_version,
			     const uint8_t *key, size_t klen)
{
	const uint8_t *ver = hs_zero_version;
	int rc;

	if (digest)
		ver = memcmp(hs->cfg.version, hs_zero_version, 4) ? hs->cfg.version : dflt_version;
	rtmp_put_be32(pkt, hs->cfg.epoch);
	memcpy(pkt + 4, ver, 4);
	rc = hs->cfg.rand(hs->cfg.rand_ctx, pkt + 8, RTMP_HS_SIZE - 8);
	if (rc < 0)
		return rc;
	if (digest) {
		rc = rtmp_hs_digest_write(pkt, scheme, key, klen);
		if (rc < 0)
			return rc;
		memcpy(hs->my_digest, pkt + rtmp_hs_digest_offset(pkt, scheme), RTMP_HS_DIGEST_LEN);
	}
	memcpy(hs->mine, pkt, RTMP_HS_SIZE);
	return 0;
}

/* Look for a valid digest in the peer's C1/S1 under both schemes. */
static int hs_find_digest(struct rtmp_hs *hs, const uint8_t *pkt, enum rtmp_hs_scheme first,
			  const uint8_t *key, size_t klen)
{
	enum rtmp_hs_scheme order[2] = { first, first == RTMP_HS_SCHEME0 ? RTMP_HS_SCHEME1
									 : RTMP_HS_SCHEME0 };
	int i;

	for (i = 0; i < 2; i++) {
		if (!rtmp_hs_digest_check(pkt, order[i], key, klen))
			continue;
		hs->peer_digest = 1;
		hs->peer_scheme = order[i];
		memcpy(hs->peer_dig, pkt + rtmp_hs_digest_offset(pkt, order[i]), RTMP_HS_DIGEST_LEN);
		return 1;
	}
	return 0;
}

/* Build our C2/S2: echo of the peer's packet, or random + signature. */
static int hs_make_response(struct rtmp_hs *hs, const uint8_t *peer_pkt, uint8_t *out,
			    const uint8_t *full_key, size_t klen)
{
	int rc;

	if (!hs->peer_digest) {
		memcpy(out, peer_pkt, RTMP_HS_SIZE);
		return 0;
	}
	rc = hs->cfg.rand(hs->cfg.rand_ctx, out, RTMP_HS_SIZE);
	if (rc < 0)
		return rc;
	return hs_response_digest(out, full_key, klen, hs->peer_dig, out + HS_SIGNED_LEN);
}

/* Does the peer's C2/S2 answer our C1/S1? A plain echo always counts; when
 * we sent a digest, a signed answer counts too (ffmpeg signs C2 only when
 * playing and echoes S1 when publishing). */
static int hs_echo_ok(const struct rtmp_hs *hs, const uint8_t *pkt, int we_signed,
		      const uint8_t *full_key, size_t klen)
{
	uint8_t d[RTMP_HS_DIGEST_LEN];

	if (memcmp(pkt, hs->mine, RTMP_HS_SIZE) == 0)
		return 1;
	if (!we_signed || hs_response_digest(pkt, full_key, klen, hs->my_digest, d) < 0)
		return 0;
	return memcmp(d, pkt + HS_SIGNED_LEN, RTMP_HS_DIGEST_LEN) == 0;
}

/* Collect up to want bytes into hs->in; returns bytes taken. */
static size_t hs_collect(struct rtmp_hs *hs, const uint8_t *in, size_t len, uint32_t want)
{
	size_t n = want - hs->have;

	if (n > len)
		n = len;
	if (n == 0)
		return 0; /* in may be NULL with len 0: memcpy must not see it */
	memcpy(hs->in + hs->have, in, n);
	hs->have += (uint32_t)n;
	return n;
}

/* Server: C0C1 complete; produce S0S1S2. */
static int hs_server_c1(struct rtmp_hs *hs, uint8_t *out, size_t *out_len)
{
	const uint8_t *c1 = hs->in + 1;
	int rc;

	hs->peer_epoch = rtmp_be32(c1);
	memcpy(hs->peer_version, c1 + 4, 4);
	if (rtmp_be32(c1 + 4) != 0 &&
	    !hs_find_digest(hs, c1, RTMP_HS_SCHEME0, rtmp_hs_fp_key, RTMP_HS_FP_KEY_PARTIAL) &&
	    hs->cfg.strict)
		return -RTMP_E_HS_DIGEST;
	out[0] = RTMP_HS_VERSION;
	rc = hs_make_challenge(hs, out + 1, hs->peer_digest, hs->peer_scheme, hs_server_version,
			       rtmp_hs_fms_key, RTMP_HS_FMS_KEY_PARTIAL);
	if (rc < 0)
		return rc;
	rc = hs_make_response(hs, c1, out + 1 + RTMP_HS_SIZE, rtmp_hs_fms_key, RTMP_HS_FMS_KEY_FULL);
	if (rc < 0)
		return rc;
	*out_len = RTMP_HS_OUT_MAX;
	hs->state = RTMP_HS_S_WAIT_C2;
	hs->have = 0;
	return 0;
}

static int hs_server_feed(struct rtmp_hs *hs, const uint8_t *in, size_t len, uint8_t *out,
			  size_t *out_len)
{
	size_t pos = 0;
	int rc;

	if (hs->state == RTMP_HS_S_WAIT_C0C1) {
		pos += hs_collect(hs, in, len, 1 + RTMP_HS_SIZE);
		if (hs->have >= 1 && hs->in[0] != RTMP_HS_VERSION)
			return -RTMP_E_HS_VERSION;
		if (hs->have < 1 + RTMP_HS_SIZE)
			return (int)pos;
		rc = hs_server_c1(hs, out, out_len);
		if (rc < 0)
			return rc;
	}
	if (pos < len) /* in may be NULL when len is 0: no pointer arithmetic on it */
		pos += hs_collect(hs, in + pos, len - pos, RTMP_HS_SIZE);
	if (hs->have < RTMP_HS_SIZE)
		return (int)pos;
	hs->peer_echo_ok = hs_echo_ok(hs, hs->in, hs->peer_digest, rtmp_hs_fp_key,
				      RTMP_HS_FP_KEY_FULL);
	hs->state = RTMP_HS_DONE;
	return (int)pos;
}

int rtmp_hs_client_start(struct rtmp_hs *hs, uint8_t *out, size_t cap)
{
	int rc;

	if (hs->state != RTMP_HS_C_INIT)
		return -RTMP_E_HS_STATE;
	if (cap < 1 + RTMP_HS_SIZE)
		return -ENOSPC;
	out[0] = RTMP_HS_VERSION;
	rc = hs_make_challenge(hs, out + 1, hs->cfg.digest, hs->cfg.scheme, hs_client_version,
			       rtmp_hs_fp_key, RTMP_HS_FP_KEY_PARTIAL);
	if (rc < 0) {
		hs->state = RTMP_HS_FAILED;
		return rc;
	}
	hs->state = RTMP_HS_C_WAIT_S0S1S2;
	return 1 + RTMP_HS_SIZE;
}

/* Client: S0S1S2 complete; check them and produce C2. */
static int hs_client_s1s2(struct rtmp_hs *hs, uint8_t *out, size_t *out_len)
{
	const uint8_t *s1 = hs->in + 1, *s2 = s1 + RTMP_HS_SIZE;
	int rc;

	hs->peer_epoch = rtmp_be32(s1);
	memcpy(hs->peer_version, s1 + 4, 4);
	if (hs->cfg.digest) {
		if (!hs_find_digest(hs, s1, hs->cfg.scheme, rtmp_hs_fms_key,
				    RTMP_HS_FMS_KEY_PARTIAL) && hs->cfg.strict)
			return -RTMP_E_HS_DIGEST;
		hs->peer_echo_ok = hs_echo_ok(hs, s2, 1, rtmp_hs_fms_key, RTMP_HS_FMS_KEY_FULL);
		if (!hs->peer_echo_ok && hs->cfg.strict)
			return -RTMP_E_HS_DIGEST;
	} else {
		hs->peer_echo_ok = hs_echo_ok(hs, s2, 0, NULL, 0);
	}
	rc = hs_make_response(hs, s1, out, rtmp_hs_fp_key, RTMP_HS_FP_KEY_FULL);
	if (rc < 0)
		return rc;
	*out_len = RTMP_HS_SIZE;
	hs->state = RTMP_HS_DONE;
	return 0;
}

static int hs_client_feed(struct rtmp_hs *hs, const uint8_t *in, size_t len, uint8_t *out,
			  size_t *out_len)
{
	size_t pos = hs_collect(hs, in, len, 1 + 2 * RTMP_HS_SIZE);
	int rc;

	if (hs->have >= 1 && hs->in[0] != RTMP_HS_VERSION)
		return -RTMP_E_HS_VERSION;
	if (hs->have < 1 + 2 * RTMP_HS_SIZE)
		return (int)pos;
	rc = hs_client_s1s2(hs, out, out_len);
	return rc < 0 ? rc : (int)pos;
}

int rtmp_hs_feed(struct rtmp_hs *hs, const uint8_t *in, size_t len,
		 uint8_t *out, size_t cap, size_t *out_len)
{
	int rc;

	*out_len = 0;
	if (hs->state == RTMP_HS_DONE || hs->state == RTMP_HS_FAILED || hs->state == RTMP_HS_C_INIT)
		return -RTMP_E_HS_STATE;
	if (cap < RTMP_HS_OUT_MAX)
		return -ENOSPC;
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30; /* we never take more than 3073 bytes anyway */
	if (hs->role == RTMP_HS_SERVER)
		rc = hs_server_feed(hs, in, len, out, out_len);
	else
		rc = hs_client_feed(hs, in, len, out, out_len);
	if (rc < 0) {
		hs->state = RTMP_HS_FAILED;
		*out_len = 0;
	}
	return rc;
}
