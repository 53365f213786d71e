/*
 * crypto.h — the module's cryptography, through mbedTLS (2.28 and 3.x).
 *
 * One struct dl_crypto per module: a CTR-DRBG seeded from hal_random and the
 * module's attestation key (at most one, §5.2). dl_crypto_init must run once
 * at start-up; it is the only place that sets up mbedTLS contexts. mbedTLS
 * itself allocates bignum limbs and ASN.1 lists internally (its platform
 * calloc); a chip build points that at a static arena
 * (MBEDTLS_MEMORY_BUFFER_ALLOC_C), the host build uses libc.
 *
 * Key functions leave the key absent (dl_crypto.has_key = 0) on failure.
 * Output buffers are the caller's; functions return the length written or a
 * negative dl_err (DL_ERR_CRYPTO, DL_ERR_TOO_LARGE, DL_ERR_RNG).
 */
#ifndef DL_CRYPTO_H
#define DL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>

#include "dl.h"

#define DL_SCALAR_LEN 32u
#define DL_SEC1_LEN 121u   /* DER SEC1 ECPrivateKey of a P-256 key, with parameters and public key */
#define DL_SPKI_MAX 96u    /* DER SubjectPublicKeyInfo of a P-256 key is 91 bytes */
#define DL_CSR_MAX 600u    /* §5.2 */
#define DL_SIG_MAX 72u     /* §5.6 */

struct dl_crypto {
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	int has_key;
};

int dl_crypto_init(struct dl_crypto *c);
void dl_crypto_free(struct dl_crypto *c);

/* SHA-256 in one call, and incrementally over two parts (a ‖ b). */
void dl_sha256(const void *p, size_t n, uint8_t out[32]);
void dl_sha256_2(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32]);

/* A fresh P-256 key from the DRBG; *scalar_out (may be NULL) gets the private scalar. */
int dl_key_generate(struct dl_crypto *c, uint8_t scalar_out[DL_SCALAR_LEN]);
/* The key from a private scalar (eFuse and derived variants). */
int dl_key_from_scalar(struct dl_crypto *c, const uint8_t scalar[DL_SCALAR_LEN]);
/* The key from DER SEC1 (the esp_secure_cert PRIV_KEY entry). */
int dl_key_from_sec1(struct dl_crypto *c, const uint8_t *der, size_t n);
/* The key as DER SEC1 (exactly DL_SEC1_LEN bytes for P-256). */
int dl_key_to_sec1(struct dl_crypto *c, uint8_t *out, size_t cap);
/* SHA-256 of the key's DER SubjectPublicKeyInfo. */
int dl_key_spki_digest(struct dl_crypto *c, uint8_t out[32]);
/* PKCS#10 CSR, DER, subject CN = chip ID as 12 upper-case hex digits. */
int dl_csr_build(struct dl_crypto *c, const uint8_t chip_id[DL_CHIP_ID_LEN], uint8_t *out, size_t cap);
/* DER ECDSA-Sig-Value over a SHA-256 digest (one hash: the digest is what ECDSA signs). */
int dl_sign_digest(struct dl_crypto *c, const uint8_t digest[32], uint8_t *out, size_t cap);

/*
 * Checks a certificate item: parses as X.509 DER with an EC P-256 key
 * (DL_ERR_MALFORMED otherwise, reason in why); when must_certify_key, also
 * that its public key is the module's key (DL_ERR_STATE otherwise).
 */
int dl_cert_check(struct dl_crypto *c, const uint8_t *der, size_t n, int must_certify_key,
		  char *why, size_t why_cap);

/* PBKDF2-HMAC-SHA256 (the HMAC-derived key variant). */
int dl_pbkdf2_sha256(const uint8_t *pw, size_t pwn, const uint8_t *salt, size_t saltn,
		     unsigned iterations, uint8_t *out, size_t outn);

#endif
