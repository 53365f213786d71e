/* The ESP formats against Espressif's golden vectors: the NVS writer rebuilds
 * the generator's images byte for byte from their CSV rows; the TLV reader
 * lists esp_secure_cert.bin as esp_secure_cert_mgr's parser does, and the
 * writer rebuilds it. */
#include <string.h>

#include <mbedtls/base64.h>

#include "check.h"
#include "crypto.h"
#include "esp_tlv.h"
#include "items.h"
#include "factory.h"
#include "nvs.h"
#include "tlv.h"
#include "unit.h"

#define PART 0x6000u

static uint8_t img[PART], golden[PART], other[PART];

static void check_image(const char *name, int pages)
{
	CHECK(pages > 0);
	size_t n = read_file(name, golden, sizeof golden);
	CHECK_EQ(n, PART);
	for (size_t i = 0; i < PART; i++) {
		if (img[i] != golden[i]) {
			fprintf(stderr, "%s: first difference at byte 0x%zx: 0x%02x, want 0x%02x\n", name, i, img[i],
				golden[i]);
			check_failures++;
			break;
		}
	}
}

static void b64(struct dl_nvs_writer *w, const char *key, const char *text)
{
	uint8_t raw[64];
	size_t n = 0;
	CHECK_EQ(mbedtls_base64_decode(raw, sizeof raw, &n, (const uint8_t *)text, strlen(text)), 0);
	dl_nvs_blob(w, key, raw, n);
}

static void file_blob(struct dl_nvs_writer *w, const char *key, const char *rel)
{
	static uint8_t buf[8192];
	size_t n = read_file(rel, buf, sizeof buf);
	dl_nvs_blob(w, key, buf, n);
}

static void str(struct dl_nvs_writer *w, const char *key, const char *s) { dl_nvs_string(w, key, s, strlen(s)); }

static const char salt_b64[] = "t7aIc5jEeyXu0FqhTEt1cRl5hZk2gcUTNbXHZ8gjHvI=";
static const char verifier_b64[] =
	"on3vXb3AwmXiDAc+ogTy0PpyH86QMKk/+/BBtsN65k8Enec4Y9V85xcXtHNhmZoG2E+/iFi0OprBJ/mwkuHwaVBZGTthz+"
	"vguczP/aXyDmtIVclctItrNcm5Z4feY0+orA==";
static const uint8_t rdid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};

/* matter-factory.csv, row by row. */
static void matter_rows(struct dl_nvs_writer *w, int with_certs)
{
	dl_nvs_namespace(w, "chip-factory");
	dl_nvs_int(w, "discriminator", DL_NVS_U32, 3840);
	dl_nvs_int(w, "iteration-count", DL_NVS_U32, 10000);
	str(w, "salt", salt_b64);
	str(w, "verifier", verifier_b64);
	str(w, "serial-num", "0123456789ABCDEF");
	dl_nvs_int(w, "vendor-id", DL_NVS_U32, 65521);
	dl_nvs_int(w, "product-id", DL_NVS_U32, 32768);
	dl_nvs_int(w, "hardware-ver", DL_NVS_U32, 1);
	str(w, "hw-ver-str", "1.0");
	str(w, "vendor-name", "dacline test vendor");
	str(w, "product-name", "dacline test product");
	str(w, "mfg-date", "2026-12-08");
	dl_nvs_blob(w, "rd-id-uid", rdid, sizeof rdid);
	if (with_certs) {
		file_blob(w, "dac-cert", "nvs/dac.der");
		file_blob(w, "pai-cert", "nvs/pai.der");
	}
	file_blob(w, "cert-dclrn", "nvs/cd.der");
}

static void test_matter_factory(void)
{
	struct dl_nvs_writer w;
	dl_nvs_begin(&w, img, PART);
	matter_rows(&w, 1);
	check_image("nvs/matter-factory.bin", dl_nvs_finish(&w));
}

static void test_multipage(void)
{
	struct dl_nvs_writer w;
	static uint8_t big[8192], back[8192];
	uint8_t type;
	dl_nvs_begin(&w, img, PART);
	dl_nvs_namespace(&w, "storage");
	dl_nvs_int(&w, "u8key", DL_NVS_U8, 255);
	dl_nvs_int(&w, "i8key", DL_NVS_I8, (uint64_t)(int64_t)-128);
	dl_nvs_int(&w, "u16key", DL_NVS_U16, 65535);
	dl_nvs_int(&w, "i16key", DL_NVS_I16, (uint64_t)(int64_t)-32768);
	dl_nvs_int(&w, "u32key", DL_NVS_U32, 4294967295u);
	dl_nvs_int(&w, "i32key", DL_NVS_I32, (uint64_t)(int64_t)-2147483648LL);
	dl_nvs_int(&w, "u64key", DL_NVS_U64, UINT64_MAX);
	dl_nvs_int(&w, "i64key", DL_NVS_I64, (uint64_t)INT64_MIN);
	str(&w, "strkey", "a string that is longer than thirty-two bytes so it spans entries");
	b64(&w, "base64key", "3q2+7w==");
	static const uint8_t deadbeef[] = {0xDE, 0xAD, 0xBE, 0xEF};
	dl_nvs_blob(&w, "hexkey", deadbeef, sizeof deadbeef);
	file_blob(&w, "bigblob", "nvs/big-blob.bin");
	dl_nvs_namespace(&w, "other");
	dl_nvs_int(&w, "k", DL_NVS_U8, 1);
	check_image("nvs/multipage-blob.bin", dl_nvs_finish(&w));

	/* The reader: a blob across pages, a string, an integer, an absent key. */
	size_t n = read_file("nvs/big-blob.bin", big, sizeof big);
	CHECK_EQ(dl_nvs_get(golden, PART, "storage", "bigblob", &type, back, sizeof back), (long long)n);
	CHECK(type == DL_NVS_BLOB_IDX && memcmp(back, big, n) == 0);
	CHECK_EQ(dl_nvs_get(golden, PART, "storage", "strkey", &type, back, sizeof back), 66);
	CHECK_EQ(dl_nvs_get(golden, PART, "other", "k", &type, back, sizeof back), 8);
	CHECK(type == DL_NVS_U8 && back[0] == 1);
	CHECK_EQ(dl_nvs_get(golden, PART, "other", "u8key", &type, back, sizeof back), DL_ERR_NOT_FOUND);
	CHECK_EQ(dl_nvs_get(golden, PART, "storage", "bigblob", &type, back, 100), DL_ERR_TOO_LARGE);
	golden[0x1000 + 64 + 32 * 5 + 40] ^= 1; /* a data byte of the blob's second chunk */
	CHECK(dl_nvs_get(golden, PART, "storage", "bigblob", &type, back, sizeof back) < 0);

	/* Rows that do not fit are an error, not a partial image. */
	dl_nvs_begin(&w, img, DL_NVS_PAGE * 2);
	dl_nvs_namespace(&w, "storage");
	dl_nvs_blob(&w, "bigblob", big, n);
	CHECK_EQ(dl_nvs_finish(&w), DL_ERR_TOO_LARGE);
	dl_nvs_begin(&w, img, PART);
	dl_nvs_int(&w, "a-key-of-16-char", DL_NVS_U8, 1);
	CHECK_EQ(dl_nvs_finish(&w), DL_ERR_MALFORMED);
}

void test_nvs_golden(void)
{
	test_matter_factory();
	test_multipage();
}

static void set_item(struct dl_itemset *s, uint8_t item, const void *v, size_t n)
{
	memcpy(s->val[item], v, n);
	s->len[item] = (uint16_t)n;
	s->mask |= (uint16_t)(1u << (item - 1));
}

/* The items of matter-factory.csv as the station writes them. */
static void matter_items(struct dl_itemset *s)
{
	uint8_t b[128], pi[128];
	size_t n = 0;
	memset(s, 0, sizeof *s);
	dl_put_u16le(b, 3840);
	set_item(s, DL_ITEM_DISCRIMINATOR, b, 2);
	dl_put_u32le(b, 10000);
	set_item(s, DL_ITEM_ITERATIONS, b, 4);
	mbedtls_base64_decode(b, sizeof b, &n, (const uint8_t *)salt_b64, strlen(salt_b64));
	set_item(s, DL_ITEM_SALT, b, n);
	mbedtls_base64_decode(b, sizeof b, &n, (const uint8_t *)verifier_b64, strlen(verifier_b64));
	set_item(s, DL_ITEM_VERIFIER, b, n);
	set_item(s, DL_ITEM_SERIAL, "0123456789ABCDEF", 16);
	dl_put_u16le(b, 65521);
	set_item(s, DL_ITEM_VENDOR_ID, b, 2);
	dl_put_u16le(b, 32768);
	set_item(s, DL_ITEM_PRODUCT_ID, b, 2);
	struct dl_tlv_writer w = {pi, sizeof pi, 0, 0};
	dl_tlv_bytes(&w, 1, "dacline test vendor", 19);
	dl_tlv_bytes(&w, 2, "dacline test product", 20);
	dl_tlv_bytes(&w, 3, "\x01\x00", 2);
	dl_tlv_bytes(&w, 4, "1.0", 3);
	dl_tlv_bytes(&w, 5, "2026-12-08", 10);
	set_item(s, DL_ITEM_PRODUCT_INFO, pi, w.len);
	set_item(s, DL_ITEM_RDID_UID, rdid, sizeof rdid);
	s->len[DL_ITEM_CD] = (uint16_t)read_file("nvs/cd.der", s->val[DL_ITEM_CD], DL_ITEM_MAX_LEN);
	s->mask |= 1u << (DL_ITEM_CD - 1);
}

void test_factory(void)
{
	static struct dl_itemset s, back;
	struct dl_nvs_writer w;
	matter_items(&s);
	/* Same bytes as the generator's CSV rows without dac-cert/pai-cert (FLASH-CONTRACT). */
	CHECK_EQ(dl_factory_build(&s, img, PART), 1);
	dl_nvs_begin(&w, other, PART);
	matter_rows(&w, 0);
	CHECK_EQ(dl_nvs_finish(&w), 1);
	CHECK(memcmp(img, other, PART) == 0);
	/* And back: every item as it was written. */
	memset(&back, 0, sizeof back);
	CHECK_EQ(dl_factory_load(img, PART, &back), DL_OK);
	CHECK_EQ(back.mask, s.mask);
	for (uint8_t it = 1; it <= DL_ITEM_COUNT; it++)
		CHECK(back.len[it] == s.len[it] && memcmp(back.val[it], s.val[it], s.len[it]) == 0);
}

struct want_entry {
	uint32_t offset;
	uint8_t type, subtype;
	uint16_t len;
	uint32_t crc;
	const char *file; /* the decoded content (+ NUL in the partition), or NULL */
};

/* tlv_entries_raw.txt */
static const struct want_entry want[] = {
	{0x0000, 0, 0, 1108, 0x54ACFEDD, "esp_secure_cert/cacert_0_0.pem"},
	{0x0470, 0, 1, 1108, 0xD4BB58B4, "esp_secure_cert/cacert_0_1.pem"},
	{0x08E0, 1, 0, 1156, 0xF6BCDAFE, "esp_secure_cert/devcert_1_0.pem"},
	{0x0D80, 2, 0, 1680, 0x5DF88795, "esp_secure_cert/privkey_2_0.pem"},
	{0x1420, 51, 0, 31, 0x2E60F6D8, NULL},
	{0x1450, 52, 0, 16, 0x2AF3C61C, NULL},
	{0x1470, 9, 0, 32, 0xEBB07DAE, NULL},
};

void test_esp_tlv(void)
{
	static uint8_t part[8192], rebuilt[8192], content[4096];
	struct dl_esptlv e[10];
	size_t end = 0, n = read_file("esp_secure_cert/esp_secure_cert.bin", part, sizeof part), off = 0;
	int count = dl_esptlv_parse(part, n, e, 10, &end);
	CHECK_EQ(count, 7);
	CHECK_EQ(end, n);
	for (int i = 0; i < count && i < 7; i++) {
		CHECK_EQ(e[i].offset, want[i].offset);
		CHECK_EQ(e[i].type, want[i].type);
		CHECK_EQ(e[i].subtype, want[i].subtype);
		CHECK_EQ(e[i].len, want[i].len);
		CHECK_EQ(e[i].crc, want[i].crc);
		CHECK_EQ(e[i].flags, 0);
		if (want[i].file) {
			size_t k = read_file(want[i].file, content, sizeof content);
			CHECK(k + 1 == e[i].len && memcmp(e[i].data, content, k) == 0 && e[i].data[k] == 0);
		}
		int put = dl_esptlv_put(rebuilt + off, sizeof rebuilt - off, e[i].type, e[i].subtype, e[i].flags,
					e[i].data, e[i].len);
		CHECK(put > 0);
		off += (size_t)(put > 0 ? put : 0);
	}
	CHECK(count == 7 && memcmp(e[4].data, "Device Model: ESP32-S3-DevKit-C", 31) == 0);
	uint8_t digest[32];
	dl_sha256(part, 0x1470, digest);
	CHECK(count == 7 && memcmp(e[6].data, digest, 32) == 0);
	CHECK(off == n && memcmp(rebuilt, part, n) == 0);
	/* A torn entry: the parser reports where the valid prefix ends. */
	part[0x08E0 + 100] ^= 0x10;
	CHECK_EQ(dl_esptlv_parse(part, n, e, 10, &end), DL_ERR_CRC);
	CHECK_EQ(end, 0x08E0);
}

/* product-info's checks, one negative case per rule (FLASH-CONTRACT, lineproto's productinfo.go). */
void test_product_info(void)
{
	static const struct {
		const char *name;
		uint8_t tag;
		const char *value;
		size_t len;
		int ok;
	} rows[] = {
		{"plain", 1, "dacline", 7, 1},
		{"utf-8", 2, "L\xC3\xA4mpchen", 9, 1},
		{"nul", 1, "a\0b", 3, 0},
		{"control", 1, "a\nb", 3, 0},
		{"c1 control", 1, "a\xC2\x85", 3, 0},
		{"overlong", 1, "\xC0\xAF", 2, 0},
		{"surrogate", 1, "\xED\xA0\x80", 3, 0},
		{"cut utf-8", 1, "ab\xE2\x82", 4, 0},
		{"date", 5, "2026-12-08", 10, 1},
		{"date and text", 5, "2026-12-08 lot7", 15, 1},
		{"leap day", 5, "2028-02-29", 10, 1},
		{"no leap day", 5, "2026-02-29", 10, 0},
		{"month 13", 5, "2026-13-01", 10, 0},
		{"slashes", 5, "2026/12/08", 10, 0},
		{"short date", 5, "2026-12-8", 9, 0},
		{"hardware-ver", 3, "\x01\x00", 2, 1},
		{"hardware-ver 1 byte", 3, "\x01", 1, 0},
		{"url too long", 8, NULL, 257, 0},
	};
	static uint8_t long_value[300];
	memset(long_value, 'u', sizeof long_value);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint8_t v[320];
		char why[DL_MAX_DETAIL + 1];
		struct dl_product_info pi;
		struct dl_tlv_writer w = {v, sizeof v, 0, 0};
		dl_tlv_bytes(&w, rows[i].tag, rows[i].value ? (const void *)rows[i].value : long_value, rows[i].len);
		int r = dl_product_info_fields(v, w.len, &pi, why, sizeof why);
		if ((r == DL_OK) != rows[i].ok) {
			fprintf(stderr, "product-info %s: got %d (%s)\n", rows[i].name, r, r ? why : "ok");
			check_failures++;
		}
	}
	/* Unknown tags (also ≥ 0x80), repeats and tags out of order are refused. */
	static const uint8_t unknown[] = {0x09, 1, 0, 'x'}, high[] = {0x81, 1, 0, 'x'};
	static const uint8_t repeat[] = {0x01, 1, 0, 'x', 0x01, 1, 0, 'y'}, order[] = {0x02, 1, 0, 'x', 0x01, 1, 0, 'y'};
	struct dl_product_info pi;
	char why[DL_MAX_DETAIL + 1];
	CHECK_EQ(dl_product_info_fields(unknown, sizeof unknown, &pi, why, sizeof why), DL_ERR_MALFORMED);
	CHECK_EQ(dl_product_info_fields(high, sizeof high, &pi, why, sizeof why), DL_ERR_MALFORMED);
	CHECK_EQ(dl_product_info_fields(repeat, sizeof repeat, &pi, why, sizeof why), DL_ERR_MALFORMED);
	CHECK_EQ(dl_product_info_fields(order, sizeof order, &pi, why, sizeof why), DL_ERR_MALFORMED);
}
