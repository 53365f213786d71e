#include <stdio.h>
#include <string.h>

#include "items.h"
#include "tlv.h"

static const struct dl_item_rule rules[] = {
	{DL_ITEM_DAC, 1, 600, "dac"},
	{DL_ITEM_PAI, 1, 600, "pai"},
	{DL_ITEM_CD, 1, 790, "cd"},
	{DL_ITEM_DISCRIMINATOR, 2, 2, "discriminator"},
	{DL_ITEM_VERIFIER, 97, 97, "spake2p-verifier"},
	{DL_ITEM_SALT, 16, 32, "spake2p-salt"},
	{DL_ITEM_ITERATIONS, 4, 4, "spake2p-iterations"},
	{DL_ITEM_SERIAL, 1, 32, "serial-number"},
	{DL_ITEM_RDID_UID, 16, 32, "rd-id-uid"},
	{DL_ITEM_VENDOR_ID, 2, 2, "vendor-id"},
	{DL_ITEM_PRODUCT_ID, 2, 2, "product-id"},
	{DL_ITEM_PRODUCT_INFO, 1, 512, "product-info"},
};

const struct dl_item_rule *dl_item_rule(uint8_t item)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (rules[i].item == item)
			return &rules[i];
	return NULL;
}

/* product-info tags (FLASH-CONTRACT): bounds; hardware-ver is a u16. */
static const struct dl_field pi_spec[DL_PI_FIELDS] = {
	{0x01, 1, 32, 0, 0, "vendor-name"},
	{0x02, 1, 32, 0, 0, "product-name"},
	{0x03, 2, 2, 0, 0, "hardware-ver"},
	{0x04, 1, 64, 0, 0, "hw-ver-str"},
	{0x05, 10, 16, 0, 0, "mfg-date"},
	{0x06, 1, 32, 0, 0, "part-number"},
	{0x07, 1, 64, 0, 0, "product-label"},
	{0x08, 1, 256, 0, 0, "product-url"},
};

/* Length of the UTF-8 sequence at p (≤ n bytes) and its code point, or 0 when
 * it is not well-formed (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
		     : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	*cp = len == 1 ? p[0] : (uint32_t)(p[0] & (0x7F >> len));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3Fu);
	}
	if (*cp < min[len] || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

/* UTF-8 text without NUL or other control characters (C0, DEL, C1), as lineproto checks. */
static int printable_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t k = utf8_next(p + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return 0;
		i += k;
	}
	return 1;
}

static int digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int num(const uint8_t *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

/* "YYYY-MM-DD" with a real month and day (Matter Core 11.1.6.3 ManufacturingDate). */
static int date_ok(const uint8_t *p)
{
	static const int days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? p[i] != '-' : !digit(p[i]))
			return 0;
	int y = num(p, 4), m = num(p + 5, 2), d = num(p + 8, 2);
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= (m == 2 && !leap ? 28 : days[m]);
}

/* Every tag known (also 0x80..0xFF: "every tag known"), once, in ascending order. */
static int pi_order(const uint8_t *v, size_t n, char *why, size_t why_cap)
{
	size_t pos = 0;
	uint8_t tag, last = 0;
	const uint8_t *val;
	uint16_t len;
	int r;
	while ((r = dl_tlv_next(v, n, &pos, &tag, &val, &len)) == 1) {
		if (tag < 1 || tag > DL_PI_FIELDS) {
			snprintf(why, why_cap, "product-info has unknown tag 0x%02x", tag);
			return DL_ERR_MALFORMED;
		}
		if (tag <= last) {
			snprintf(why, why_cap, "product-info tag 0x%02x out of order or repeated", tag);
			return DL_ERR_MALFORMED;
		}
		last = tag;
	}
	if (r < 0 || last == 0) {
		snprintf(why, why_cap, "product-info is not a tlv body with fields");
		return DL_ERR_MALFORMED;
	}
	return DL_OK;
}

int dl_product_info_fields(const uint8_t *v, size_t n, struct dl_product_info *pi, char *why,
			   size_t why_cap)
{
	struct dl_tlv_value out[DL_PI_FIELDS];
	char reason[DL_MAX_DETAIL + 1];
	int r = pi_order(v, n, why, why_cap);
	if (r != DL_OK)
		return r;
	if (dl_tlv_parse(v, n, pi_spec, DL_PI_FIELDS, out, reason) != DL_OK) {
		snprintf(why, why_cap, "product-info: %s", reason);
		return DL_ERR_MALFORMED;
	}
	memset(pi, 0, sizeof *pi);
	for (unsigned t = 1; t <= DL_PI_FIELDS; t++) {
		pi->val[t] = out[t - 1].p;
		pi->len[t] = out[t - 1].len;
		if (pi->val[t] && t != DL_PI_HARDWARE_VER && !printable_text(pi->val[t], pi->len[t])) {
			snprintf(why, why_cap, "product-info %s is not utf-8 text without control characters",
				 pi_spec[t - 1].name);
			return DL_ERR_MALFORMED;
		}
	}
	if (pi->val[5] && !date_ok(pi->val[5])) {
		snprintf(why, why_cap, "product-info mfg-date does not start with YYYY-MM-DD");
		return DL_ERR_MALFORMED;
	}
	return DL_OK;
}

static int check_value(uint8_t item, const uint8_t *v, size_t n, char *why, size_t why_cap)
{
	struct dl_product_info pi;
	switch (item) {
	case DL_ITEM_CD:
		if (v[0] != 0x30)
			return snprintf(why, why_cap, "cd is not a der sequence"), DL_ERR_MALFORMED;
		break;
	case DL_ITEM_DISCRIMINATOR:
		if (dl_get_u16le(v) > 4095)
			return snprintf(why, why_cap, "discriminator %u exceeds 4095 (12 bits)",
					dl_get_u16le(v)), DL_ERR_MALFORMED;
		break;
	case DL_ITEM_VERIFIER:
		if (v[32] != 0x04)
			return snprintf(why, why_cap, "spake2p-verifier L is not an uncompressed point"),
			       DL_ERR_MALFORMED;
		break;
	case DL_ITEM_ITERATIONS: {
		uint32_t it = dl_get_u32le(v);
		if (it < 1000 || it > 100000)
			return snprintf(why, why_cap, "spake2p-iterations %u outside 1000..100000",
					(unsigned)it), DL_ERR_MALFORMED;
		break;
	}
	case DL_ITEM_SERIAL:
		for (size_t i = 0; i < n; i++)
			if (v[i] < 0x20 || v[i] > 0x7E)
				return snprintf(why, why_cap, "serial-number has a non-printable byte 0x%02x",
						v[i]), DL_ERR_MALFORMED;
		break;
	case DL_ITEM_VENDOR_ID:
		if (dl_get_u16le(v) < 1 || dl_get_u16le(v) > 0xFFF4)
			return snprintf(why, why_cap, "vendor-id 0x%04x outside 0x0001..0xFFF4",
					dl_get_u16le(v)), DL_ERR_MALFORMED;
		break;
	case DL_ITEM_PRODUCT_ID:
		if (dl_get_u16le(v) < 1)
			return snprintf(why, why_cap, "product-id 0 is not allowed"), DL_ERR_MALFORMED;
		break;
	case DL_ITEM_PRODUCT_INFO:
		return dl_product_info_fields(v, n, &pi, why, why_cap);
	}
	return DL_OK;
}

int dl_item_check(struct dl_crypto *c, uint8_t item, const uint8_t *v, size_t n, char *why,
		  size_t why_cap)
{
	const struct dl_item_rule *r = dl_item_rule(item);
	if (r == NULL) {
		snprintf(why, why_cap, "unknown item 0x%02x", item);
		return DL_ERR_MALFORMED;
	}
	if (n < r->min || n > r->max) {
		snprintf(why, why_cap, "%s is %u bytes, want %u..%u", r->name, (unsigned)n, r->min, r->max);
		return DL_ERR_MALFORMED;
	}
	if (item == DL_ITEM_DAC || item == DL_ITEM_PAI) {
		int e = dl_cert_check(c, v, n, item == DL_ITEM_DAC, why, why_cap);
		if (e == DL_ERR_MALFORMED && item == DL_ITEM_PAI)
			return e;
		if (e == DL_ERR_MALFORMED) {
			char inner[DL_MAX_DETAIL + 1];
			snprintf(inner, sizeof inner, "%s", why);
			snprintf(why, why_cap, "dac: %s", inner);
		}
		return e;
	}
	return check_value(item, v, n, why, why_cap);
}
