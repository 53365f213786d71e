/* FLASH-CONTRACT's reference partitions (lineclient/esp/factorydata/testdata,
 * made by the Go implementation of the same formats): for the items and the
 * published layout key of contract-items.json, the firmware's storage writes
 * contract-fctry.bin and contract-esp_secure_cert.bin byte for byte. */
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "esp_tlv.h"
#include "factory.h"
#include "hal_mem.h"
#include "storage.h"
#include "unit.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes the hex string starting at p (up to its closing quote). */
static int unhex(const char *p, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; p[0] != '"'; p += 2) {
		int hi = hexval(p[0]), lo = hexval(p[1]);
		if (hi < 0 || lo < 0 || n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

/* contract-items.json is one flat object: "name (0xNN)": "hex", and the key
 * as "key (GENERATE_KEY): …": "hex". */
static int parse_items(const char *json, struct dl_itemset *s, uint8_t *key, size_t *key_len)
{
	const char *p = json;
	memset(s, 0, sizeof *s);
	*key_len = 0;
	while ((p = strchr(p, '"')) != NULL) {
		const char *name = p + 1, *end = strchr(name, '"'), *val;
		if (end == NULL || (val = strchr(end + 1, '"')) == NULL)
			return -1;
		const char *num = strstr(name, "(0x");
		if (strncmp(name, "key (", 5) == 0) {
			int n = unhex(val + 1, key, 256);
			if (n < 0)
				return -1;
			*key_len = (size_t)n;
		} else if (num != NULL && num < end) {
			unsigned item = (unsigned)(hexval(num[3]) * 16 + hexval(num[4]));
			int n = item >= 1 && item <= DL_ITEM_COUNT ? unhex(val + 1, s->val[item], DL_ITEM_MAX_LEN) : -1;
			if (n < 0)
				return -1;
			s->len[item] = (uint16_t)n;
			s->mask |= (uint16_t)(1u << (item - 1));
		}
		p = strchr(val + 1, '"') + 1;
	}
	return 0;
}

void test_contract(void)
{
	static char json[16384];
	static uint8_t want[0x6000], img[2 * 4096], key[256];
	static struct dl_itemset items;
	static struct dl_store st;
	static struct dl_crypto c;
	size_t key_len = 0, n = read_file("contract:contract-items.json", (uint8_t *)json, sizeof json - 1);
	json[n] = 0;
	CHECK_EQ(parse_items(json, &items, key, &key_len), 0);
	CHECK_EQ(items.mask, 0x0FFF);
	CHECK_EQ(key_len, DL_SEC1_LEN);

	/* fctry: the whole partition. */
	CHECK_EQ(read_file("contract:contract-fctry.bin", want, sizeof want), 0x6000);
	CHECK_EQ(dl_factory_build(&items, img, sizeof img), 1);
	CHECK(memcmp(img, want, sizeof img) == 0);
	for (size_t i = sizeof img; i < sizeof want; i++)
		if (want[i] != 0xFF) {
			check_failures++;
			fprintf(stderr, "contract-fctry.bin: byte 0x%zx beyond two pages is not erased\n", i);
			break;
		}

	/* esp_secure_cert: the key entry as GENERATE_KEY writes it, then every item committed. */
	hal_mem_reset();
	CHECK_EQ(dl_esptlv_put(hal_mem_flash + DL_SC_ADDR, 4096, DL_ESPTLV_PRIV_KEY, 0, 0, key, key_len), 144);
	CHECK_EQ(dl_crypto_init(&c), DL_OK);
	memset(&st, 0, sizeof st);
	CHECK_EQ(dl_store_boot(&st, &c), DL_OK);
	CHECK(c.has_key);
	for (uint8_t it = 1; it <= DL_ITEM_COUNT; it++)
		CHECK_EQ(dl_store_commit(&st, it, items.val[it], items.len[it]), DL_OK);
	CHECK_EQ(read_file("contract:contract-esp_secure_cert.bin", want, sizeof want), 0x2000);
	CHECK(memcmp(hal_mem_flash + DL_SC_ADDR, want, 0x2000) == 0);
	CHECK(memcmp(hal_mem_flash + DL_FCTRY_ADDR, img, sizeof img) == 0);
	dl_crypto_free(&c);
}
