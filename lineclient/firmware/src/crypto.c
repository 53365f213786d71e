/* mbedTLS 2.28 (Debian) and 3.x (ESP-IDF v5): the version macros below are
 * the only places the two differ for the calls this file makes. */
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "crypto.h"
#include "hal.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define DL_SHA256_STARTS mbedtls_sha256_starts
#define DL_SHA256_UPDATE mbedtls_sha256_update
#define DL_SHA256_FINISH mbedtls_sha256_finish
#define DL_PRIV(x) MBEDTLS_PRIVATE(x)
#else
#define DL_SHA256_STARTS mbedtls_sha256_starts_ret
#define DL_SHA256_UPDATE mbedtls_sha256_update_ret
#define DL_SHA256_FINISH mbedtls_sha256_finish_ret
#define DL_PRIV(x) x
#endif

static const char personalization[] = "dacline module";

static int entropy(void *unused, unsigned char *out, size_t n)
{
	(void)unused;
	return hal_random(out, n) == DL_OK ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

int dl_crypto_init(struct dl_crypto *c)
{
	memset(c, 0, sizeof *c);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_pk_init(&c->pk);
	if (mbedtls_ctr_drbg_seed(&c->drbg, entropy, NULL, (const unsigned char *)personalization,
				  sizeof personalization - 1) != 0)
		return DL_ERR_RNG;
	if (mbedtls_pk_setup(&c->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
		return DL_ERR_CRYPTO;
	return DL_OK;
}

void dl_crypto_free(struct dl_crypto *c)
{
	mbedtls_pk_free(&c->pk);
	mbedtls_ctr_drbg_free(&c->drbg);
	c->has_key = 0;
}

void dl_sha256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32])
{
	mbedtls_sha256_context s;
	mbedtls_sha256_init(&s);
	/* Return values: only a hardware accelerator can fail; the software one never does. */
	(void)DL_SHA256_STARTS(&s, 0);
	(void)DL_SHA256_UPDATE(&s, a, na);
	if (nb > 0)
		(void)DL_SHA256_UPDATE(&s, b, nb);
	(void)DL_SHA256_FINISH(&s, out);
	mbedtls_sha256_free(&s);
}

void dl_sha256(const void *p, size_t n, uint8_t out[32]) { dl_sha256_2(p, n, NULL, 0, out); }

static mbedtls_ecp_keypair *keypair(struct dl_crypto *c) { return mbedtls_pk_ec(c->pk); }

int dl_key_generate(struct dl_crypto *c, uint8_t scalar_out[DL_SCALAR_LEN])
{
	c->has_key = 0;
	if (keypair(c) == NULL)
		return DL_ERR_CRYPTO;
	if (mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, keypair(c), mbedtls_ctr_drbg_random,
				&c->drbg) != 0)
		return DL_ERR_CRYPTO;
	if (scalar_out && mbedtls_mpi_write_binary(&keypair(c)->DL_PRIV(d), scalar_out,
						   DL_SCALAR_LEN) != 0)
		return DL_ERR_CRYPTO;
	c->has_key = 1;
	return DL_OK;
}

int dl_key_from_scalar(struct dl_crypto *c, const uint8_t scalar[DL_SCALAR_LEN])
{
	mbedtls_ecp_keypair *kp = keypair(c);
	c->has_key = 0;
	if (kp == NULL)
		return DL_ERR_CRYPTO;
	if (mbedtls_ecp_read_key(MBEDTLS_ECP_DP_SECP256R1, kp, scalar, DL_SCALAR_LEN) != 0)
		return DL_ERR_CRYPTO;
	if (mbedtls_ecp_mul(&kp->DL_PRIV(grp), &kp->DL_PRIV(Q), &kp->DL_PRIV(d),
			    &kp->DL_PRIV(grp).G, mbedtls_ctr_drbg_random, &c->drbg) != 0)
		return DL_ERR_CRYPTO;
	c->has_key = 1;
	return DL_OK;
}

int dl_key_from_sec1(struct dl_crypto *c, const uint8_t *der, size_t n)
{
	int r;
	c->has_key = 0;
	mbedtls_pk_free(&c->pk);
	mbedtls_pk_init(&c->pk);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	r = mbedtls_pk_parse_key(&c->pk, der, n, NULL, 0, mbedtls_ctr_drbg_random, &c->drbg);
#else
	r = mbedtls_pk_parse_key(&c->pk, der, n, NULL, 0);
#endif
	if (r != 0 || mbedtls_pk_get_type(&c->pk) != MBEDTLS_PK_ECKEY ||
	    keypair(c)->DL_PRIV(grp).id != MBEDTLS_ECP_DP_SECP256R1) {
		/* An empty EC context again, for a later keygen. Should that fail
		 * too, keypair() is NULL and every key function refuses. */
		mbedtls_pk_free(&c->pk);
		mbedtls_pk_init(&c->pk);
		if (mbedtls_pk_setup(&c->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
			c->has_key = 0;
		return DL_ERR_CRYPTO;
	}
	c->has_key = 1;
	return DL_OK;
}

/* mbedtls_pk_write_*_der write at the end of the buffer: move to the front. */
static int to_front(uint8_t *buf, size_t cap, int n)
{
	if (n <= 0)
		return n == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ? DL_ERR_TOO_LARGE : DL_ERR_CRYPTO;
	memmove(buf, buf + cap - (size_t)n, (size_t)n);
	return n;
}

int dl_key_to_sec1(struct dl_crypto *c, uint8_t *out, size_t cap)
{
	if (!c->has_key)
		return DL_ERR_STATE;
	return to_front(out, cap, mbedtls_pk_write_key_der(&c->pk, out, cap));
}

static int spki_der(mbedtls_pk_context *pk, uint8_t *out, size_t cap)
{
	return to_front(out, cap, mbedtls_pk_write_pubkey_der(pk, out, cap));
}

int dl_key_spki_digest(struct dl_crypto *c, uint8_t out[32])
{
	uint8_t der[DL_SPKI_MAX + 64];
	if (!c->has_key)
		return DL_ERR_STATE;
	int n = spki_der(&c->pk, der, sizeof der);
	if (n < 0)
		return n;
	dl_sha256(der, (size_t)n, out);
	return DL_OK;
}

int dl_csr_build(struct dl_crypto *c, const uint8_t chip_id[DL_CHIP_ID_LEN], uint8_t *out, size_t cap)
{
	char subject[3 + 2 * DL_CHIP_ID_LEN + 1] = "CN=";
	mbedtls_x509write_csr w;
	int n;
	if (!c->has_key)
		return DL_ERR_STATE;
	for (unsigned i = 0; i < DL_CHIP_ID_LEN; i++)
		snprintf(subject + 3 + 2 * i, 3, "%02X", chip_id[i]);
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, &c->pk);
	if (mbedtls_x509write_csr_set_subject_name(&w, subject) != 0)
		n = DL_ERR_CRYPTO;
	else
		n = to_front(out, cap, mbedtls_x509write_csr_der(&w, out, cap, mbedtls_ctr_drbg_random,
								  &c->drbg));
	mbedtls_x509write_csr_free(&w);
	return n;
}

int dl_sign_digest(struct dl_crypto *c, const uint8_t digest[32], uint8_t *out, size_t cap)
{
	uint8_t sig[MBEDTLS_ECDSA_MAX_LEN]; /* what mbedtls_pk_sign asks for, whatever the curve */
	size_t n = 0;
	int r;
	if (!c->has_key)
		return DL_ERR_STATE;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	r = mbedtls_pk_sign(&c->pk, MBEDTLS_MD_SHA256, digest, 32, sig, sizeof sig, &n,
			    mbedtls_ctr_drbg_random, &c->drbg);
#else
	r = mbedtls_pk_sign(&c->pk, MBEDTLS_MD_SHA256, digest, 32, sig, &n, mbedtls_ctr_drbg_random,
			    &c->drbg);
#endif
	if (r != 0 || n > DL_SIG_MAX)
		return DL_ERR_CRYPTO;
	if (n > cap)
		return DL_ERR_TOO_LARGE;
	memcpy(out, sig, n);
	return (int)n;
}

static int cert_key_matches(struct dl_crypto *c, mbedtls_pk_context *cert_pk)
{
	uint8_t a[DL_SPKI_MAX + 64], b[DL_SPKI_MAX + 64];
	int na = spki_der(&c->pk, a, sizeof a), nb = spki_der(cert_pk, b, sizeof b);
	return na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
}

int dl_cert_check(struct dl_crypto *c, const uint8_t *der, size_t n, int must_certify_key,
		  char *why, size_t why_cap)
{
	mbedtls_x509_crt crt;
	int r = DL_OK;
	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der, n) != 0) {
		snprintf(why, why_cap, "not an x.509 der certificate");
		r = DL_ERR_MALFORMED;
	} else if (mbedtls_pk_get_type(&crt.pk) != MBEDTLS_PK_ECKEY ||
		   mbedtls_pk_ec(crt.pk)->DL_PRIV(grp).id != MBEDTLS_ECP_DP_SECP256R1) {
		snprintf(why, why_cap, "key is not ecdsa p-256");
		r = DL_ERR_MALFORMED;
	} else if (must_certify_key && (!c->has_key || !cert_key_matches(c, &crt.pk))) {
		snprintf(why, why_cap, "dac certifies another key");
		r = DL_ERR_STATE;
	}
	mbedtls_x509_crt_free(&crt);
	return r;
}

int dl_pbkdf2_sha256(const uint8_t *pw, size_t pwn, const uint8_t *salt, size_t saltn,
		     unsigned iterations, uint8_t *out, size_t outn)
{
	int r;
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
	r = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pw, pwn, salt, saltn, iterations,
					  (uint32_t)outn, out);
#else
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	r = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	if (r == 0)
		r = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pwn, salt, saltn, iterations, (uint32_t)outn, out);
	mbedtls_md_free(&md);
#endif
	return r == 0 ? DL_OK : DL_ERR_CRYPTO;
}
