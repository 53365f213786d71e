#include <string.h>

#include "efuse.h"
#include "esp_tlv.h"
#include "factory.h"
#include "storage.h"
#include "tlv.h"

#define SECTOR HAL_FLASH_SECTOR
#define SC_SHADOW (DL_SC_ADDR + SECTOR)
#define FCTRY_SHADOW (DL_FCTRY_ADDR + 4u * SECTOR)
#define MAX_ENTRIES 8u
#define DERIVE_ITERATIONS 2048u /* esp_secure_cert_mgr: PBKDF2-HMAC-SHA256, 2,048 iterations */
#define SEC_CFG_LEN 40u

static int blank(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xFF)
			return 0;
	return 1;
}

static int erase_if_dirty(uint32_t addr, uint8_t *scratch)
{
	int r = hal_flash_read(addr, scratch, SECTOR);
	if (r == DL_OK && !blank(scratch, SECTOR))
		r = hal_flash_erase(addr, SECTOR);
	return r;
}

/* Writes a sector image with its first word last (the commit marker). */
static int write_marked(uint32_t addr, const uint8_t *img)
{
	int r = hal_flash_write(addr + 4, img + 4, SECTOR - 4);
	return r == DL_OK ? hal_flash_write(addr, img, 4) : r;
}

static int clear_shadow(uint32_t shadow, uint8_t *scratch)
{
	static const uint8_t zero[4] = {0};
	int r = hal_flash_write(shadow, zero, sizeof zero); /* invalidate before erasing */
	return r == DL_OK ? erase_if_dirty(shadow, scratch) : r;
}

/* The shadow rewrite of storage.h. scratch must not alias img. */
static int atomic_write(uint32_t primary, uint32_t shadow, const uint8_t *img, uint8_t *scratch)
{
	int r;
	if ((r = erase_if_dirty(shadow, scratch)) != DL_OK || (r = write_marked(shadow, img)) != DL_OK ||
	    (r = hal_flash_erase(primary, SECTOR)) != DL_OK || (r = write_marked(primary, img)) != DL_OK)
		return r;
	return clear_shadow(shadow, scratch);
}

/* Writes img over primary (whose content is cur): an append into erased bytes
 * when possible, the shadow rewrite otherwise. */
static int update_sector(uint32_t primary, uint32_t shadow, const uint8_t *img, uint8_t *cur)
{
	size_t first = SECTOR, last = 0;
	int r = hal_flash_read(primary, cur, SECTOR);
	if (r != DL_OK)
		return r;
	for (size_t i = 0; i < SECTOR; i++) {
		if (cur[i] == img[i])
			continue;
		if (cur[i] != 0xFF)
			return atomic_write(primary, shadow, img, cur);
		first = i < first ? i : first;
		last = i;
	}
	if (first == SECTOR)
		return DL_OK;
	return hal_flash_write(primary + (uint32_t)first, img + first, last - first + 1);
}

static int sc_valid(const uint8_t *img)
{
	struct dl_esptlv e[MAX_ENTRIES];
	size_t end;
	int n = dl_esptlv_parse(img, SECTOR, e, MAX_ENTRIES, &end);
	return n >= 1 && e[0].type == DL_ESPTLV_PRIV_KEY;
}

/* Boot: finish a shadow rewrite a power cut interrupted, or drop a torn shadow. */
static int recover(uint32_t primary, uint32_t shadow, int (*valid)(const uint8_t *), uint8_t *img,
		   uint8_t *scratch)
{
	int r = hal_flash_read(shadow, img, SECTOR);
	if (r != DL_OK || blank(img, SECTOR))
		return r;
	if (valid(img)) {
		if ((r = hal_flash_erase(primary, SECTOR)) != DL_OK || (r = write_marked(primary, img)) != DL_OK)
			return r;
	}
	return clear_shadow(shadow, scratch);
}

/* ---- esp_secure_cert image ---- */

static int is_key_entry(uint8_t type)
{
	return type == DL_ESPTLV_PRIV_KEY || type == DL_ESPTLV_SEC_CFG ||
	       type == DL_ESPTLV_HMAC_ECDSA_KEY_SALT;
}

/* Length of the key entries at the start of a sector image (0: none). */
static size_t key_prefix(const struct dl_esptlv *e, int n)
{
	size_t end = 0;
	for (int i = 0; i < n && is_key_entry(e[i].type); i++)
		end = e[i].offset + dl_esptlv_size(e[i].len);
	return end;
}

static int put(uint8_t *img, size_t *off, uint8_t type, uint8_t flags, const uint8_t *v, size_t n)
{
	int k = dl_esptlv_put(img + *off, SECTOR - *off, type, 0, flags, v, n);
	if (k > 0)
		*off += (size_t)k;
	return k < 0 ? k : DL_OK;
}

/* The sector image: the key entries (bytes as they are), PAI, DAC, INTEGRITY, end marker. */
static int sc_build(const struct dl_itemset *s, const uint8_t *keys, size_t key_len, uint8_t *img)
{
	size_t off = key_len;
	int have_pai = s->mask & 1u << (DL_ITEM_PAI - 1), have_dac = s->mask & 1u << (DL_ITEM_DAC - 1);
	int r = DL_OK;
	memset(img, 0xFF, SECTOR);
	memmove(img, keys, key_len);
	if (have_pai)
		r = put(img, &off, DL_ESPTLV_CA_CERT, 0, s->val[DL_ITEM_PAI], s->len[DL_ITEM_PAI]);
	if (r == DL_OK && have_dac)
		r = put(img, &off, DL_ESPTLV_DEV_CERT, 0, s->val[DL_ITEM_DAC], s->len[DL_ITEM_DAC]);
	if (r == DL_OK && have_pai && have_dac) {
		uint8_t digest[32];
		dl_sha256(img, off, digest);
		if ((r = put(img, &off, DL_ESPTLV_INTEGRITY, 0, digest, sizeof digest)) == DL_OK) {
			if (off + 4 > SECTOR)
				return DL_ERR_TOO_LARGE;
			dl_put_u32le(img + off, DL_ESPTLV_END);
		}
	}
	return r;
}

/* ---- the key ---- */

static int load_key(struct dl_crypto *c, const struct dl_esptlv *e, int n)
{
	uint8_t scalar[32], hmac_key[32];
	int r = DL_ERR_STATE;
	const struct dl_esptlv *pk = NULL, *cfg = NULL, *salt = NULL;
	for (int i = 0; i < n; i++) {
		if (e[i].type == DL_ESPTLV_PRIV_KEY)
			pk = &e[i];
		if (e[i].type == DL_ESPTLV_SEC_CFG)
			cfg = &e[i];
		if (e[i].type == DL_ESPTLV_HMAC_ECDSA_KEY_SALT)
			salt = &e[i];
	}
	if (pk == NULL)
		return DL_ERR_NOT_FOUND;
	if (pk->flags == 0)
		return dl_key_from_sec1(c, pk->data, pk->len);
	if (pk->flags == DL_ESPTLV_FLAG_EFUSE_KEY && cfg && cfg->len >= 1 &&
	    dl_efuse_key_find(DL_PURPOSE_ECDSA_KEY, scalar) == cfg->data[0])
		r = dl_key_from_scalar(c, scalar);
	if (pk->flags == DL_ESPTLV_FLAG_DERIVED && salt &&
	    dl_efuse_key_find(DL_PURPOSE_HMAC_UP, hmac_key) >= 0 &&
	    (r = dl_pbkdf2_sha256(hmac_key, 32, salt->data, salt->len, DERIVE_ITERATIONS, scalar, 32)) == DL_OK)
		r = dl_key_from_scalar(c, scalar);
	memset(scalar, 0, sizeof scalar);
	memset(hmac_key, 0, sizeof hmac_key);
	return r;
}

/* The eFuse key block for the eFuse variant: the one a cut GENERATE_KEY burned, or a new one. */
static int efuse_key(struct dl_crypto *c, uint8_t *block)
{
	uint8_t scalar[32];
	unsigned b;
	int r = dl_efuse_key_find(DL_PURPOSE_ECDSA_KEY, scalar);
	if (r >= 0) {
		*block = (uint8_t)r;
		r = dl_key_from_scalar(c, scalar);
	} else if (r == DL_ERR_NOT_FOUND && (r = dl_key_generate(c, scalar)) == DL_OK &&
		   (r = dl_efuse_key_burn(DL_PURPOSE_ECDSA_KEY, scalar, &b)) == DL_OK) {
		*block = (uint8_t)b;
	}
	memset(scalar, 0, sizeof scalar);
	return r;
}

static int derived_key(struct dl_crypto *c, uint8_t salt[32])
{
	uint8_t hmac_key[32], scalar[32];
	unsigned b;
	int r = dl_efuse_key_find(DL_PURPOSE_HMAC_UP, hmac_key);
	if (r == DL_ERR_NOT_FOUND && (r = hal_random(hmac_key, 32)) == DL_OK)
		r = dl_efuse_key_burn(DL_PURPOSE_HMAC_UP, hmac_key, &b);
	for (int tries = 0; r >= 0 && tries < 8; tries++) {
		/* A derived scalar ≥ n (probability ~2^-32) is not a key: draw another salt. */
		if ((r = hal_random(salt, 32)) != DL_OK ||
		    (r = dl_pbkdf2_sha256(hmac_key, 32, salt, 32, DERIVE_ITERATIONS, scalar, 32)) != DL_OK)
			break;
		if ((r = dl_key_from_scalar(c, scalar)) == DL_OK)
			break;
	}
	memset(hmac_key, 0, sizeof hmac_key);
	memset(scalar, 0, sizeof scalar);
	return r < 0 ? r : DL_OK;
}

/* The key entries for the configured variant, into img; their length or an error. */
static int key_entries(struct dl_store *st, struct dl_crypto *c, uint8_t *img)
{
	uint8_t der[DL_SEC1_LEN + 64], cfg[SEC_CFG_LEN] = {0}, salt[32];
	size_t off = 0;
	int r, n;
	switch (st->variant) {
	case DL_KEY_EFUSE:
		if ((r = efuse_key(c, &cfg[0])) != DL_OK || (r = put(img, &off, DL_ESPTLV_PRIV_KEY,
				DL_ESPTLV_FLAG_EFUSE_KEY, NULL, 0)) != DL_OK)
			return r;
		r = put(img, &off, DL_ESPTLV_SEC_CFG, 0, cfg, sizeof cfg);
		break;
	case DL_KEY_DERIVED:
		if ((r = derived_key(c, salt)) != DL_OK || (r = put(img, &off, DL_ESPTLV_PRIV_KEY,
				DL_ESPTLV_FLAG_DERIVED, NULL, 0)) != DL_OK)
			return r;
		r = put(img, &off, DL_ESPTLV_HMAC_ECDSA_KEY_SALT, 0, salt, sizeof salt);
		break;
	default:
		if ((r = dl_key_generate(c, NULL)) != DL_OK || (n = dl_key_to_sec1(c, der, sizeof der)) < 0)
			return r != DL_OK ? r : n;
		r = put(img, &off, DL_ESPTLV_PRIV_KEY, 0, der, (size_t)n);
		memset(der, 0, sizeof der);
	}
	return r < 0 ? r : (int)off;
}

int dl_store_generate_key(struct dl_store *st, struct dl_crypto *c)
{
	int r, n;
	memset(st->sc, 0xFF, SECTOR);
	if ((n = key_entries(st, c, st->sc)) < 0) {
		c->has_key = 0;
		return n;
	}
	/* Record the key before anything can answer with its CSR. */
	if ((r = erase_if_dirty(DL_SC_ADDR, st->cur)) == DL_OK)
		r = hal_flash_write(DL_SC_ADDR, st->sc, (size_t)n);
	memset(st->sc, 0xFF, SECTOR);
	if (r != DL_OK)
		c->has_key = 0;
	return r;
}

/* ---- items ---- */

static int read_sc(struct dl_store *st, struct dl_esptlv *e, int *n)
{
	size_t end;
	int r = hal_flash_read(DL_SC_ADDR, st->cur, SECTOR);
	if (r != DL_OK)
		return r;
	*n = dl_esptlv_parse(st->cur, SECTOR, e, MAX_ENTRIES, &end);
	if (*n < 0) { /* a torn entry: keep the valid prefix */
		*n = dl_esptlv_parse(st->cur, end, e, MAX_ENTRIES, &end);
	}
	return *n < 0 ? DL_ERR_STATE : DL_OK;
}

static int write_sc(struct dl_store *st)
{
	struct dl_esptlv e[MAX_ENTRIES];
	int n, r = read_sc(st, e, &n);
	if (r != DL_OK)
		return r;
	size_t keys = key_prefix(e, n);
	if (keys == 0)
		return DL_ERR_STATE;
	if ((r = sc_build(&st->items, st->cur, keys, st->sc)) != DL_OK)
		return r;
	return update_sector(DL_SC_ADDR, SC_SHADOW, st->sc, st->cur);
}

static int write_fctry(struct dl_store *st)
{
	int pages = dl_factory_build(&st->items, st->nvs, sizeof st->nvs);
	if (pages < 0)
		return pages;
	if (pages != 1)
		return DL_ERR_TOO_LARGE;
	return update_sector(DL_FCTRY_ADDR, FCTRY_SHADOW, st->nvs, st->cur);
}

static int is_cert(uint8_t item) { return item == DL_ITEM_DAC || item == DL_ITEM_PAI; }

int dl_store_commit(struct dl_store *st, uint8_t item, const uint8_t *v, size_t n)
{
	uint8_t old[DL_ITEM_MAX_LEN];
	uint16_t old_len = st->items.len[item], old_mask = st->items.mask;
	int r;
	memcpy(old, st->items.val[item], old_len);
	memcpy(st->items.val[item], v, n);
	st->items.len[item] = (uint16_t)n;
	st->items.mask |= (uint16_t)(1u << (item - 1));
	r = is_cert(item) ? write_sc(st) : write_fctry(st);
	if (r != DL_OK) {
		memcpy(st->items.val[item], old, old_len);
		st->items.len[item] = old_len;
		st->items.mask = old_mask;
	}
	return r;
}

/* ---- boot ---- */

static void take_certs(struct dl_store *st, const struct dl_esptlv *e, int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t item = e[i].type == DL_ESPTLV_CA_CERT ? DL_ITEM_PAI
			       : e[i].type == DL_ESPTLV_DEV_CERT ? DL_ITEM_DAC : 0;
		if (item == 0 || e[i].subtype != 0 || e[i].len < 1 || e[i].len > dl_item_rule(item)->max)
			continue;
		memcpy(st->items.val[item], e[i].data, e[i].len);
		st->items.len[item] = e[i].len;
		st->items.mask |= (uint16_t)(1u << (item - 1));
	}
}

static int nvs_valid(const uint8_t *img) { return dl_nvs_page_valid(img); }

int dl_store_boot(struct dl_store *st, struct dl_crypto *c)
{
	struct dl_esptlv e[MAX_ENTRIES];
	int n, r;
	memset(&st->items, 0, sizeof st->items);
	c->has_key = 0;
	if ((r = recover(DL_SC_ADDR, SC_SHADOW, sc_valid, st->sc, st->cur)) != DL_OK ||
	    (r = recover(DL_FCTRY_ADDR, FCTRY_SHADOW, nvs_valid, st->nvs, st->cur)) != DL_OK ||
	    (r = read_sc(st, e, &n)) != DL_OK)
		return r;
	r = load_key(c, e, n);
	if (r == DL_ERR_NOT_FOUND)
		return DL_OK; /* unprovisioned (a torn key entry counts as none) */
	if (r != DL_OK)
		return r;
	take_certs(st, e, n);
	if ((r = hal_flash_read(DL_FCTRY_ADDR, st->nvs, sizeof st->nvs)) != DL_OK)
		return r;
	if (dl_nvs_page_valid(st->nvs) && dl_factory_load(st->nvs, sizeof st->nvs, &st->items) != DL_OK) {
		/* Not what this firmware writes (its writes are crash-safe): factory data
		 * left by other tools counts as absent, and the next commit rebuilds fctry. */
		st->items.mask &= (uint16_t)(1u << (DL_ITEM_DAC - 1) | 1u << (DL_ITEM_PAI - 1));
	}
	/* Repair what a power cut left half done (a torn append, a missing INTEGRITY). */
	if ((r = write_sc(st)) != DL_OK)
		return r;
	return (st->items.mask & ~(1u << (DL_ITEM_DAC - 1) | 1u << (DL_ITEM_PAI - 1))) ? write_fctry(st) : DL_OK;
}
