#include <string.h>

#include <mbedtls/base64.h>

#include "factory.h"
#include "nvs.h"
#include "tlv.h"

static int has(const struct dl_itemset *s, uint8_t item) { return (s->mask >> (item - 1)) & 1u; }

static void put_u16_as_u32(struct dl_nvs_writer *w, const struct dl_itemset *s, uint8_t item,
			   const char *key)
{
	if (has(s, item))
		dl_nvs_int(w, key, DL_NVS_U32, dl_get_u16le(s->val[item]));
}

static void put_base64(struct dl_nvs_writer *w, const struct dl_itemset *s, uint8_t item,
		       const char *key)
{
	char b64[4 * ((DL_ITEM_MAX_LEN + 2) / 3) + 1];
	size_t n = 0;
	if (!has(s, item))
		return;
	if (mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &n, s->val[item], s->len[item]) != 0) {
		w->err = DL_ERR_TOO_LARGE;
		return;
	}
	dl_nvs_string(w, key, b64, n);
}

static const char *const pi_keys[DL_PI_FIELDS + 1] = {
	NULL, "vendor-name", "product-name", "hardware-ver", "hw-ver-str",
	"mfg-date", "part-number", "product-label", "product-url",
};
/* NVS order of the product-info fields (FLASH-CONTRACT). */
static const uint8_t pi_nvs_order[DL_PI_FIELDS] = {3, 4, 1, 2, 5, 6, 7, 8};

static void put_product_info(struct dl_nvs_writer *w, const struct dl_itemset *s)
{
	struct dl_product_info pi;
	char why[DL_MAX_DETAIL + 1];
	if (!has(s, DL_ITEM_PRODUCT_INFO))
		return;
	if (dl_product_info_fields(s->val[DL_ITEM_PRODUCT_INFO], s->len[DL_ITEM_PRODUCT_INFO], &pi,
				   why, sizeof why) != DL_OK) {
		w->err = DL_ERR_STATE;
		return;
	}
	for (unsigned i = 0; i < DL_PI_FIELDS; i++) {
		uint8_t t = pi_nvs_order[i];
		if (pi.val[t] == NULL)
			continue;
		if (t == DL_PI_HARDWARE_VER)
			dl_nvs_int(w, pi_keys[t], DL_NVS_U32, dl_get_u16le(pi.val[t]));
		else
			dl_nvs_string(w, pi_keys[t], (const char *)pi.val[t], pi.len[t]);
	}
}

int dl_factory_build(const struct dl_itemset *s, uint8_t *img, size_t size)
{
	struct dl_nvs_writer w;
	dl_nvs_begin(&w, img, size);
	dl_nvs_namespace(&w, DL_FACTORY_NS);
	put_u16_as_u32(&w, s, DL_ITEM_DISCRIMINATOR, "discriminator");
	if (has(s, DL_ITEM_ITERATIONS))
		dl_nvs_int(&w, "iteration-count", DL_NVS_U32, dl_get_u32le(s->val[DL_ITEM_ITERATIONS]));
	put_base64(&w, s, DL_ITEM_SALT, "salt");
	put_base64(&w, s, DL_ITEM_VERIFIER, "verifier");
	if (has(s, DL_ITEM_SERIAL))
		dl_nvs_string(&w, "serial-num", (const char *)s->val[DL_ITEM_SERIAL], s->len[DL_ITEM_SERIAL]);
	put_u16_as_u32(&w, s, DL_ITEM_VENDOR_ID, "vendor-id");
	put_u16_as_u32(&w, s, DL_ITEM_PRODUCT_ID, "product-id");
	put_product_info(&w, s);
	if (has(s, DL_ITEM_RDID_UID))
		dl_nvs_blob(&w, "rd-id-uid", s->val[DL_ITEM_RDID_UID], s->len[DL_ITEM_RDID_UID]);
	if (has(s, DL_ITEM_CD))
		dl_nvs_blob(&w, "cert-dclrn", s->val[DL_ITEM_CD], s->len[DL_ITEM_CD]);
	return dl_nvs_finish(&w);
}

/* ---- reading back ---- */

static void set(struct dl_itemset *s, uint8_t item, const uint8_t *v, size_t n)
{
	memcpy(s->val[item], v, n);
	s->len[item] = (uint16_t)n;
	s->mask |= (uint16_t)(1u << (item - 1));
}

/* Reads key; returns its length, 0 when absent, or a negative dl_err. */
static int get(const uint8_t *img, size_t size, const char *key, uint8_t want, uint8_t *out, size_t cap)
{
	uint8_t type = 0;
	int n = dl_nvs_get(img, size, DL_FACTORY_NS, key, &type, out, cap);
	if (n == DL_ERR_NOT_FOUND)
		return 0;
	if (n >= 0 && type != want)
		return DL_ERR_STATE;
	return n;
}

static int load_u32(const uint8_t *img, size_t size, struct dl_itemset *s, const char *key,
		    uint8_t item, uint32_t max, size_t width)
{
	uint8_t b[8], v[4];
	int n = get(img, size, key, DL_NVS_U32, b, sizeof b);
	if (n <= 0)
		return n;
	if (dl_get_u32le(b) > max)
		return DL_ERR_STATE;
	memcpy(v, b, 4);
	set(s, item, v, width);
	return DL_OK;
}

static int load_base64(const uint8_t *img, size_t size, struct dl_itemset *s, const char *key,
		       uint8_t item)
{
	uint8_t b64[4 * ((DL_ITEM_MAX_LEN + 2) / 3) + 1], raw[DL_ITEM_MAX_LEN];
	size_t n = 0;
	int k = get(img, size, key, DL_NVS_STR, b64, sizeof b64);
	if (k <= 0)
		return k;
	if (mbedtls_base64_decode(raw, sizeof raw, &n, b64, (size_t)k - 1) != 0)
		return DL_ERR_STATE;
	set(s, item, raw, n);
	return DL_OK;
}

/* Strings come back with their NUL; items hold them without. */
static int load_string(const uint8_t *img, size_t size, const char *key, uint8_t *out, size_t cap)
{
	int k = get(img, size, key, DL_NVS_STR, out, cap);
	if (k < 0)
		return k;
	if (k == 0)
		return 0;
	return out[k - 1] == 0 ? k - 1 : DL_ERR_STATE;
}

static int load_blob(const uint8_t *img, size_t size, struct dl_itemset *s, const char *key, uint8_t item)
{
	uint8_t b[DL_ITEM_MAX_LEN];
	int k = get(img, size, key, DL_NVS_BLOB_IDX, b, sizeof b);
	if (k > 0)
		set(s, item, b, (size_t)k);
	return k < 0 ? k : DL_OK;
}

static int load_product_info(const uint8_t *img, size_t size, struct dl_itemset *s)
{
	uint8_t v[512], f[260];
	struct dl_tlv_writer w = {v, sizeof v, 0, 0};
	for (uint8_t t = 1; t <= DL_PI_FIELDS; t++) {
		int k;
		if (t == DL_PI_HARDWARE_VER) {
			uint8_t b[8];
			k = get(img, size, pi_keys[t], DL_NVS_U32, b, sizeof b);
			if (k > 0 && dl_get_u32le(b) > 0xFFFF)
				return DL_ERR_STATE;
			if (k > 0)
				dl_tlv_bytes(&w, t, b, 2);
		} else if ((k = load_string(img, size, pi_keys[t], f, sizeof f)) > 0) {
			dl_tlv_bytes(&w, t, f, (size_t)k);
		}
		if (k < 0)
			return k;
	}
	int n = dl_tlv_done(&w);
	if (n < 0)
		return DL_ERR_STATE;
	if (n > 0)
		set(s, DL_ITEM_PRODUCT_INFO, v, (size_t)n);
	return DL_OK;
}

int dl_factory_load(const uint8_t *img, size_t size, struct dl_itemset *s)
{
	uint8_t serial[64];
	int r, k;
	if ((r = load_u32(img, size, s, "discriminator", DL_ITEM_DISCRIMINATOR, 4095, 2)) < 0 ||
	    (r = load_u32(img, size, s, "iteration-count", DL_ITEM_ITERATIONS, 0xFFFFFFFFu, 4)) < 0 ||
	    (r = load_base64(img, size, s, "salt", DL_ITEM_SALT)) < 0 ||
	    (r = load_base64(img, size, s, "verifier", DL_ITEM_VERIFIER)) < 0 ||
	    (r = load_u32(img, size, s, "vendor-id", DL_ITEM_VENDOR_ID, 0xFFFF, 2)) < 0 ||
	    (r = load_u32(img, size, s, "product-id", DL_ITEM_PRODUCT_ID, 0xFFFF, 2)) < 0 ||
	    (r = load_product_info(img, size, s)) < 0 ||
	    (r = load_blob(img, size, s, "rd-id-uid", DL_ITEM_RDID_UID)) < 0 ||
	    (r = load_blob(img, size, s, "cert-dclrn", DL_ITEM_CD)) < 0)
		return r;
	if ((k = load_string(img, size, "serial-num", serial, sizeof serial)) < 0)
		return k;
	if (k > 0)
		set(s, DL_ITEM_SERIAL, serial, (size_t)k);
	return DL_OK;
}
