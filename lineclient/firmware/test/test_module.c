/* The module over the in-memory HAL: protocol rules with exact frames, the
 * key storage variants, and a power cut at every flash/eFuse mutation of
 * every storage operation. */
#include <string.h>

#include "check.h"
#include "efuse.h"
#include "hal_mem.h"
#include "module.h"
#include "nvs.h"
#include "tlv.h"
#include "unit.h"

static struct dl_module mod;
static const uint8_t mac[6] = {0x02, 0xDA, 0xC1, 0x39, 0x40, 0xD3};

static void power_on(enum dl_key_storage ks)
{
	struct dl_module_options o = {"ESP32-C3", "unit", ks};
	static uint8_t sink[65536];
	hal_mem_power_on();
	dl_crypto_free(&mod.crypto);
	CHECK_EQ(dl_module_init(&mod, &o), DL_OK);
	CHECK_EQ(dl_module_start(&mod), DL_OK);
	hal_mem_uart_output(sink, sizeof sink); /* the BOOT event */
}

static void fresh_chip(enum dl_key_storage ks)
{
	hal_mem_reset();
	CHECK_EQ(dl_efuse_set_mac(mac), DL_OK);
	power_on(ks);
}

/* Sends one request; returns the reply's status (-1: no reply) and its body. */
static int request(uint8_t version, uint8_t type, uint32_t id, const uint8_t *body, size_t n,
		   uint8_t *reply_body, size_t *reply_len)
{
	uint8_t p[DL_MAX_PAYLOAD], out[DL_MAX_FRAME], raw[DL_MAX_RAW];
	p[0] = version;
	p[1] = type;
	p[2] = 0;
	p[3] = 0;
	dl_put_u32le(p + 4, id);
	dl_put_u16le(p + 8, (uint16_t)n);
	if (n > 0)
		memcpy(p + DL_HEADER_LEN, body, n);
	int k = dl_module_handle_payload(&mod, p, DL_HEADER_LEN + n, out, sizeof out);
	if (k <= 0)
		return -1;
	int pl = dl_frame_decode(out + 1, (size_t)k - 2, raw);
	if (pl < (int)DL_HEADER_LEN)
		return -2;
	if (reply_body) {
		*reply_len = (size_t)pl - DL_HEADER_LEN;
		memcpy(reply_body, raw + DL_HEADER_LEN, *reply_len);
	}
	CHECK(raw[2] == DL_FLAG_RESPONSE && raw[1] == type && dl_get_u32le(raw + 4) == id);
	return raw[3];
}

static int simple(uint8_t type, uint32_t id, const uint8_t *body, size_t n)
{
	return request(DL_VERSION, type, id, body, n, NULL, NULL);
}

static int lock_step(uint32_t id, uint8_t step)
{
	uint8_t b[] = {0x01, 1, 0, step};
	return simple(DL_T_LOCK, id, b, sizeof b);
}

/* Commits every required item straight into storage (values need not be
 * real certificates there), as if the station had written them. */
static void commit_all_raw(void)
{
	uint8_t v[97];
	memset(v, 0x01, sizeof v); /* in range for every item: discriminator 257, … */
	for (uint8_t it = 1; it <= DL_ITEM_COUNT; it++)
		if (DL_REQUIRED_ITEMS & (1u << (it - 1)))
			CHECK_EQ(dl_store_commit(&mod.store, it, v, dl_item_rule(it)->min), DL_OK);
}

void test_protocol(void)
{
	uint8_t body[DL_MAX_BODY], rb[DL_MAX_BODY];
	size_t rn = 0;
	fresh_chip(DL_KEY_PLAINTEXT);
	CHECK_EQ(dl_module_state(&mod), DL_ST_UNPROVISIONED);
	CHECK_EQ(simple(0x42, 1, NULL, 0), DL_S_UNKNOWN_COMMAND);
	CHECK_EQ(simple(DL_T_BOOT, 2, NULL, 0), DL_S_UNKNOWN_COMMAND);
	CHECK_EQ(request(2, DL_T_IDENTIFY, 3, NULL, 0, NULL, NULL), DL_S_UNSUPPORTED_VERSION);
	CHECK_EQ(lock_step(4, 1), DL_S_CREDENTIALS_MISSING);
	CHECK_EQ(lock_step(5, 5), DL_S_MALFORMED);
	static const uint8_t unknown_tag[] = {0x01, 1, 0, 1, 0x02, 0, 0};
	CHECK_EQ(simple(DL_T_LOCK, 6, unknown_tag, sizeof unknown_tag), DL_S_MALFORMED);
	static const uint8_t chunk[] = {0x01, 1, 0, DL_ITEM_SERIAL, 0x02, 4, 0, 4, 0, 0, 0, 0x03, 4, 0, 0, 0, 0, 0,
					0x04, 2, 0, 'A', 'B'};
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 7, chunk, sizeof chunk), DL_S_NO_KEY);

	/* Request ID 0 is an ordinary ID for the module (§3). */
	CHECK_EQ(simple(DL_T_GENERATE_KEY, 0, NULL, 0), DL_S_OK);
	CHECK_EQ(dl_module_state(&mod), DL_ST_KEY_GENERATED);

	/* §8 reply cache: same ID/type/body → the same frame, not executed again;
	 * same ID, other body → REQUEST_ID_REUSED; a refusal is cached too. */
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 8, chunk, sizeof chunk), DL_S_OK);
	memcpy(body, chunk, sizeof chunk);
	body[sizeof chunk - 1] = 'C';
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 8, body, sizeof chunk), DL_S_REQUEST_ID_REUSED);
	CHECK_EQ(request(DL_VERSION, DL_T_WRITE_CHUNK, 8, chunk, sizeof chunk, rb, &rn), DL_S_OK);
	CHECK(rn == 11 && dl_get_u32le(rb + 7) == 2);
	/* WRITE_CHUNK rules: a hole, past the total, a changed total. */
	body[15] = 3; /* offset 3 > received 2 */
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 9, body, sizeof chunk), DL_S_BAD_OFFSET);
	body[15] = 2;
	body[22] = 'D';
	body[7] = 3; /* total 3: 2 + 2 > 3, and differs from the staged 4 */
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 10, body, sizeof chunk), DL_S_BAD_OFFSET);
	static const uint8_t too_large[] = {0x01, 1, 0, DL_ITEM_SERIAL, 0x02, 4, 0, 33, 0, 0, 0, 0x03, 4, 0, 0, 0,
					    0, 0, 0x04, 1, 0, 'A'};
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 11, too_large, sizeof too_large), DL_S_TOO_LARGE);
	/* COMMIT before every byte is staged; an item value below its minimum (§5.3: INVALID_ITEM at COMMIT). */
	uint8_t commit[3 + 1 + 3 + 4 + 3 + 32] = {0x01, 1, 0, DL_ITEM_SERIAL, 0x02, 4, 0, 4, 0, 0, 0, 0x03, 32, 0};
	CHECK_EQ(simple(DL_T_COMMIT, 12, commit, sizeof commit), DL_S_INCOMPLETE);
	static const uint8_t short_salt[] = {0x01, 1, 0, DL_ITEM_SALT, 0x02, 4, 0, 8, 0, 0, 0, 0x03, 4, 0, 0, 0,
					     0, 0, 0x04, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8};
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 13, short_salt, sizeof short_salt), DL_S_OK);
	uint8_t salt_commit[46] = {0x01, 1, 0, DL_ITEM_SALT, 0x02, 4, 0, 8, 0, 0, 0, 0x03, 32, 0};
	static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	dl_sha256(eight, 8, salt_commit + 14);
	CHECK_EQ(simple(DL_T_COMMIT, 14, salt_commit, sizeof salt_commit), DL_S_INVALID_ITEM);
	salt_commit[20] ^= 1;
	CHECK_EQ(simple(DL_T_COMMIT, 15, salt_commit, sizeof salt_commit), DL_S_DIGEST_MISMATCH);
	static const uint8_t nonce[] = {0x01, 32, 0};
	uint8_t attest[35];
	memcpy(attest, nonce, 3);
	memset(attest + 3, 7, 32);
	CHECK_EQ(simple(DL_T_ATTEST, 16, attest, sizeof attest), DL_S_NO_DAC);

	/* §9 worked examples, byte for byte, on a module with every item committed. */
	commit_all_raw();
	CHECK_EQ(dl_module_state(&mod), DL_ST_CREDENTIALS_WRITTEN);
	static const uint8_t lock2[] = {0x01, 0x07, 0x00, 0x00, 0x2A, 0, 0, 0, 4, 0, 1, 1, 0, 2};
	uint8_t out[DL_MAX_FRAME];
	static const uint8_t refusal[] = {0x00, 0x06, 0x01, 0x07, 0x01, 0x0B, 0x2A, 0x01, 0x01, 0x02, 0x20, 0x03,
					  0x01, 0x1D, 0x22, 'n', 'e', 'x', 't', ' ', 's', 't', 'e', 'p', ' ', 'i',
					  's', ' ', 'f', 'l', 'a', 's', 'h', '-', 'e', 'n', 'c', 'r', 'y', 'p', 't',
					  'i', 'o', 'n', 0x45, 0x3E, 0x2B, 0xE4, 0x00};
	int k = dl_module_handle_payload(&mod, lock2, sizeof lock2, out, sizeof out);
	CHECK(k == (int)sizeof refusal && memcmp(out, refusal, sizeof refusal) == 0);
	CHECK_EQ(lock_step(17, 1), DL_S_OK);
	CHECK_EQ(dl_module_state(&mod), DL_ST_LOCKING);
	CHECK_EQ(mod.debug_enabled, 0);
	static const uint8_t reply[] = {0x00, 0x04, 0x01, 0x07, 0x01, 0x02, 0x2A, 0x01, 0x01, 0x02, 0x10,
					0x03, 0x01, 0x01, 0x04, 0x02, 0x02, 0x01, 0x01, 0x03, 0x03, 0x01,
					0x04, 0x03, 0x04, 0x01, 0x06, 0x03, 0x41, 0xC4, 0x20, 0x14, 0x00};
	k = dl_module_handle_payload(&mod, lock2, sizeof lock2, out, sizeof out); /* ID 0x2A is not cached now */
	CHECK(k == (int)sizeof reply && memcmp(out, reply, sizeof reply) == 0);
	CHECK_EQ(simple(DL_T_GENERATE_KEY, 18, NULL, 0), DL_S_LOCKED);
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 19, chunk, sizeof chunk), DL_S_LOCKED);
	CHECK_EQ(lock_step(20, 4), DL_S_LOCK_ORDER);
	CHECK_EQ(lock_step(21, 3), DL_S_OK);
	CHECK_EQ(lock_step(22, 4), DL_S_OK);
	CHECK_EQ(dl_module_state(&mod), DL_ST_LOCKED);
	CHECK_EQ(lock_step(23, 4), DL_S_OK); /* already burned: idempotent */

	/* A power cycle keeps all of it; REBOOT replies, then asks for the reset. */
	power_on(DL_KEY_PLAINTEXT);
	CHECK_EQ(dl_module_state(&mod), DL_ST_LOCKED);
	CHECK_EQ(mod.lock_mask, DL_LOCK_ALL);
	CHECK_EQ(simple(DL_T_REBOOT, 24, NULL, 0), DL_S_OK);
	CHECK_EQ(mod.reboot_pending, 1);
	/* Frames carrying RESPONSE or EVENT are not for the module. */
	uint8_t echo[] = {0x01, 0x01, DL_FLAG_RESPONSE, 0, 9, 0, 0, 0, 0, 0};
	CHECK_EQ(dl_module_handle_payload(&mod, echo, sizeof echo, out, sizeof out), 0);
	echo[8] = 1; /* body length ≠ bytes present: dropped */
	echo[2] = 0;
	CHECK_EQ(dl_module_handle_payload(&mod, echo, sizeof echo, out, sizeof out), 0);
}

/* Factory data this firmware did not write (another tool's CSV) does not stop
 * the module: its items count as absent, and the next commit rebuilds fctry. */
void test_foreign_factory_data(void)
{
	static uint8_t page[2 * DL_NVS_PAGE];
	struct dl_nvs_writer w;
	fresh_chip(DL_KEY_PLAINTEXT);
	CHECK_EQ(simple(DL_T_GENERATE_KEY, 1, NULL, 0), DL_S_OK);
	dl_nvs_begin(&w, page, sizeof page);
	dl_nvs_namespace(&w, "chip-factory");
	dl_nvs_string(&w, "discriminator", "3840", 4); /* a string where this firmware writes a u32 */
	dl_nvs_int(&w, "vendor-id", DL_NVS_U32, 0xFFF1);
	CHECK_EQ(dl_nvs_finish(&w), 1);
	memcpy(hal_mem_flash + DL_FCTRY_ADDR, page, DL_NVS_PAGE);
	power_on(DL_KEY_PLAINTEXT);
	CHECK(mod.crypto.has_key);
	CHECK_EQ(mod.store.items.mask, 0);
	uint8_t v[2] = {0x0F, 0x00};
	CHECK_EQ(dl_store_commit(&mod.store, DL_ITEM_DISCRIMINATOR, v, 2), DL_OK);
	power_on(DL_KEY_PLAINTEXT);
	CHECK_EQ(mod.store.items.mask, 1u << (DL_ITEM_DISCRIMINATOR - 1));
}

/* §5.7: a burn that does not read back is HARDWARE_FAULT, and the mask is
 * what the eFuses hold; once the eFuses program, the same LOCK succeeds. */
void test_lock_read_back(void)
{
	uint8_t rb[DL_MAX_BODY];
	size_t rn = 0;
	fresh_chip(DL_KEY_PLAINTEXT);
	CHECK_EQ(simple(DL_T_GENERATE_KEY, 1, NULL, 0), DL_S_OK);
	commit_all_raw();
	hal_mem_efuse_stuck(0); /* BLOCK0: the JTAG, crypt count … fields of step 1 */
	CHECK_EQ(lock_step(2, 1), DL_S_HARDWARE_FAULT);
	CHECK_EQ(mod.lock_mask, 0);
	CHECK_EQ(mod.debug_enabled, 1);
	CHECK_EQ(dl_module_state(&mod), DL_ST_CREDENTIALS_WRITTEN);
	CHECK_EQ(request(DL_VERSION, DL_T_READ_DIGESTS, 3, NULL, 0, rb, &rn), DL_S_OK);
	CHECK(rn >= 4 && rb[rn - 4] == 0x02 && rb[rn - 1] == 0); /* lock mask 0 */
	/* A flash write that fails (the power going) answers HARDWARE_FAULT and commits nothing. */
	static const uint8_t chunk[] = {0x01, 1, 0, DL_ITEM_SERIAL, 0x02, 4, 0, 2, 0, 0, 0, 0x03, 4, 0, 0, 0, 0, 0,
					0x04, 2, 0, 'Z', 'Z'};
	uint8_t commit[46] = {0x01, 1, 0, DL_ITEM_SERIAL, 0x02, 4, 0, 2, 0, 0, 0, 0x03, 32, 0};
	dl_sha256("ZZ", 2, commit + 14);
	CHECK_EQ(simple(DL_T_WRITE_CHUNK, 5, chunk, sizeof chunk), DL_S_OK);
	hal_mem_cut_after(0);
	CHECK_EQ(simple(DL_T_COMMIT, 6, commit, sizeof commit), DL_S_HARDWARE_FAULT);
	power_on(DL_KEY_PLAINTEXT);
	CHECK(mod.store.items.len[DL_ITEM_SERIAL] == 1 && mod.store.items.val[DL_ITEM_SERIAL][0] == 0x01);
	hal_mem_efuse_stuck(-1);
	CHECK_EQ(lock_step(4, 1), DL_S_OK);
	CHECK_EQ(mod.lock_mask, 0x01);
	CHECK_EQ(mod.debug_enabled, 0);
}

void test_key_variants(void)
{
	const enum dl_key_storage variants[] = {DL_KEY_PLAINTEXT, DL_KEY_EFUSE, DL_KEY_DERIVED};
	for (size_t i = 0; i < 3; i++) {
		uint8_t spki[32], again[32];
		fresh_chip(variants[i]);
		CHECK_EQ(simple(DL_T_GENERATE_KEY, 1, NULL, 0), DL_S_OK);
		CHECK_EQ(dl_key_spki_digest(&mod.crypto, spki), DL_OK);
		power_on(DL_KEY_PLAINTEXT); /* the option only matters for a new key */
		CHECK(mod.crypto.has_key);
		CHECK_EQ(dl_key_spki_digest(&mod.crypto, again), DL_OK);
		CHECK(memcmp(spki, again, 32) == 0);
		/* Where the key is: plaintext in flash, or only in eFuses. */
		const uint8_t *sc = hal_mem_flash + DL_SC_ADDR;
		CHECK_EQ(sc[8], 2); /* PRIV_KEY first */
		CHECK_EQ(sc[4], i == 0 ? 0 : i == 1 ? 0x08 : 0x40);
		CHECK_EQ(dl_get_u16le(sc + 10), i == 0 ? 121 : 0);
		CHECK_EQ(dl_efuse_key_find(DL_PURPOSE_ECDSA_KEY, NULL) >= 0, i == 1);
		CHECK_EQ(dl_efuse_key_find(DL_PURPOSE_HMAC_UP, NULL) >= 0, i == 2);
	}
}

/* ---- power cuts ---- */

#define SC_SPAN 0x2000u
#define FCTRY_SPAN 0x6000u
static uint8_t snap_sc[SC_SPAN], snap_fctry[FCTRY_SPAN], snap_efuse[sizeof hal_mem_efuse];

static void snapshot(void)
{
	memcpy(snap_sc, hal_mem_flash + DL_SC_ADDR, SC_SPAN);
	memcpy(snap_fctry, hal_mem_flash + DL_FCTRY_ADDR, FCTRY_SPAN);
	memcpy(snap_efuse, hal_mem_efuse, sizeof snap_efuse);
}

static void restore(void)
{
	memcpy(hal_mem_flash + DL_SC_ADDR, snap_sc, SC_SPAN);
	memcpy(hal_mem_flash + DL_FCTRY_ADDR, snap_fctry, FCTRY_SPAN);
	memcpy(hal_mem_efuse, snap_efuse, sizeof snap_efuse);
}

struct op {
	uint8_t item; /* 0: generate the key */
	uint8_t fill;
	uint16_t len;
};

static int run_op(const struct op *o)
{
	uint8_t v[DL_ITEM_MAX_LEN];
	if (o->item == 0)
		return dl_store_generate_key(&mod.store, &mod.crypto);
	memset(v, o->fill, o->len);
	return dl_store_commit(&mod.store, o->item, v, o->len);
}

static int item_is(uint8_t item, uint8_t fill, uint16_t len)
{
	const struct dl_itemset *s = &mod.store.items;
	if (!(s->mask & (1u << (item - 1))) || s->len[item] != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s->val[item][i] != fill)
			return 0;
	return 1;
}

void test_power_cuts(void)
{
	/* DAC before PAI (as the station writes), replacements: every path of storage.c. */
	static const struct op ops[] = {
		{0, 0, 0},
		{DL_ITEM_DAC, 0xA1, 500},
		{DL_ITEM_PAI, 0xB1, 450},
		{DL_ITEM_DISCRIMINATOR, 0x01, 2},
		{DL_ITEM_CD, 0x30, 700},
		{DL_ITEM_DAC, 0xA2, 520},
		{DL_ITEM_SALT, 0x55, 32},
		{DL_ITEM_PAI, 0xB2, 460},
	};
	struct op state[DL_ITEM_COUNT + 1] = {{0, 0, 0}};
	uint8_t spki[32] = {0}, now[32];
	int cuts = 0;
	fresh_chip(DL_KEY_PLAINTEXT);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		const struct op *o = &ops[i];
		snapshot();
		long before = hal_mem_mutations();
		CHECK_EQ(run_op(o), DL_OK);
		long total = hal_mem_mutations() - before;
		CHECK(total > 0);
		for (long j = 0; j < total; j++, cuts++) {
			restore();
			power_on(DL_KEY_PLAINTEXT);
			hal_mem_cut_after(j);
			CHECK(run_op(o) != DL_OK);
			CHECK(!hal_mem_powered());
			power_on(DL_KEY_PLAINTEXT);
			/* The key is never lost once stored; an item is its old or its new value. */
			if (i > 0) {
				CHECK(mod.crypto.has_key && dl_key_spki_digest(&mod.crypto, now) == DL_OK &&
				      memcmp(now, spki, 32) == 0);
			}
			for (uint8_t it = 1; it <= DL_ITEM_COUNT; it++) {
				int old = state[it].len ? item_is(it, state[it].fill, state[it].len)
							: !(mod.store.items.mask & (1u << (it - 1)));
				int fresh = it == o->item && item_is(it, o->fill, o->len);
				if (!old && !fresh) {
					fprintf(stderr, "op %zu cut %ld: item %u lost\n", i, j, it);
					check_failures++;
				}
			}
			/* The operation then succeeds, and a further boot changes nothing. */
			CHECK_EQ(run_op(o), DL_OK);
			power_on(DL_KEY_PLAINTEXT);
			CHECK(o->item == 0 || item_is(o->item, o->fill, o->len));
		}
		restore();
		CHECK_EQ(run_op(o), DL_OK);
		power_on(DL_KEY_PLAINTEXT);
		if (o->item == 0)
			CHECK_EQ(dl_key_spki_digest(&mod.crypto, spki), DL_OK);
		else
			state[o->item] = *o;
	}
	CHECK(cuts > 20);
	/* The final images: INTEGRITY after DEV_CERT, end marker, and fctry's spare page erased. */
	const uint8_t *sc = hal_mem_flash + DL_SC_ADDR;
	CHECK_EQ(sc[8], 2);
	for (size_t p = 1; p < 6; p++)
		for (size_t b = 0; b < 4096; b++)
			if (hal_mem_flash[DL_FCTRY_ADDR + p * 4096 + b] != 0xFF) {
				fprintf(stderr, "fctry page %zu not erased\n", p);
				check_failures++;
				p = 6;
				break;
			}
}
