#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "efuse.h"
#include "items.h"

#define ITEM_BIT(it) ((uint16_t)(1u << ((it) - 1)))
#define RUN 0xFF /* in the state gate: the handler decides */
#define FROZEN_CREDENTIALS "lock steps burned: credentials are frozen"

static int refuse(char *detail, int status, const char *msg)
{
	snprintf(detail, DL_MAX_DETAIL + 1, "%s", msg);
	return status;
}

static int frozen(const struct dl_module *m) { return m->lock_mask != 0; }

static void item_digest(const struct dl_itemset *s, uint8_t item, uint8_t out[DL_ITEM_DIGEST_LEN])
{
	out[0] = item;
	dl_put_u32le(out + 1, s->len[item]);
	dl_sha256(s->val[item], s->len[item], out + 5);
}

static void put_digests(const struct dl_module *m, struct dl_tlv_writer *w, uint8_t tag)
{
	uint8_t d[DL_ITEM_DIGEST_LEN];
	for (uint8_t it = 1; it <= DL_ITEM_COUNT; it++) {
		if (m->store.items.mask & ITEM_BIT(it)) {
			item_digest(&m->store.items, it, d);
			dl_tlv_bytes(w, tag, d, sizeof d);
		}
	}
}

/* ---- IDENTIFY (§5.1) ---- */
static int identify(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	uint8_t spki[32];
	(void)f;
	dl_tlv_bytes(w, 0x01, m->opt.chip_model, strlen(m->opt.chip_model));
	dl_tlv_bytes(w, 0x02, m->chip_id, DL_CHIP_ID_LEN);
	dl_tlv_bytes(w, 0x03, m->opt.firmware_version, strlen(m->opt.firmware_version));
	dl_tlv_u8(w, 0x04, (uint8_t)dl_module_state(m));
	dl_tlv_u8(w, 0x05, (uint8_t)m->crypto.has_key);
	if (m->crypto.has_key) {
		if (dl_key_spki_digest(&m->crypto, spki) != DL_OK)
			return refuse(detail, DL_S_HARDWARE_FAULT, "public key encoding failed");
		dl_tlv_bytes(w, 0x06, spki, sizeof spki);
	}
	dl_tlv_u8(w, 0x07, m->lock_mask);
	dl_tlv_u8(w, 0x08, (uint8_t)m->debug_enabled);
	put_digests(m, w, 0x09);
	return DL_S_OK;
}

/* ---- GENERATE_KEY (§5.2) ---- */
static int generate_key(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	uint8_t csr[DL_CSR_MAX + 64], spki[32];
	int fresh = 0, n;
	(void)f;
	(void)detail;
	if (!m->crypto.has_key) {
		/* Record (the key, durably) before the CSR can leave the chip. */
		if (dl_store_generate_key(&m->store, &m->crypto) != DL_OK)
			return refuse(detail, DL_S_HARDWARE_FAULT, "key generation or key storage failed");
		fresh = 1;
	}
	/* A key already present: the CSR is rebuilt for the same key (deterministic ECDSA
	 * where mbedTLS has it, so byte for byte the same). */
	n = dl_csr_build(&m->crypto, m->chip_id, csr, sizeof csr);
	if (n < 0 || n > (int)DL_CSR_MAX || dl_key_spki_digest(&m->crypto, spki) != DL_OK)
		return refuse(detail, DL_S_HARDWARE_FAULT, "csr creation failed");
	dl_tlv_bytes(w, 0x01, csr, (size_t)n);
	dl_tlv_u8(w, 0x02, (uint8_t)fresh);
	dl_tlv_bytes(w, 0x03, spki, sizeof spki);
	return DL_S_OK;
}

/* ---- WRITE_CHUNK (§5.3) ---- */
static int write_chunk(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	uint8_t item = f[0].p[0];
	uint32_t total = dl_get_u32le(f[1].p), off = dl_get_u32le(f[2].p), len = f[3].len;
	const struct dl_item_rule *rule = dl_item_rule(item);
	struct dl_staging *st;
	if (rule == NULL)
		return snprintf(detail, DL_MAX_DETAIL + 1, "unknown item 0x%02x", item), DL_S_INVALID_ITEM;
	if (total == 0 || total > rule->max)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s total %u outside 1..%u", rule->name,
				(unsigned)total, rule->max), DL_S_TOO_LARGE;
	st = &m->staging[item];
	if (!st->active || (off == 0 && st->total != total)) {
		st->active = 1;
		st->total = total;
		st->received = 0;
	}
	if (st->total != total)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s total %u differs from staged %u (restart at offset 0)",
				rule->name, (unsigned)total, (unsigned)st->total), DL_S_BAD_OFFSET;
	if (off > st->received)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s offset %u leaves a hole after %u", rule->name,
				(unsigned)off, (unsigned)st->received), DL_S_BAD_OFFSET;
	if ((uint64_t)off + len > total)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s chunk ends at %llu past total %u", rule->name,
				(unsigned long long)off + len, (unsigned)total), DL_S_BAD_OFFSET;
	memcpy(st->buf + off, f[3].p, len);
	if (off + len > st->received)
		st->received = off + len;
	dl_tlv_u8(w, 0x01, item);
	dl_tlv_u32(w, 0x02, st->received);
	return DL_S_OK;
}

/* ---- COMMIT (§5.4) ---- */
static int commit_reply(struct dl_module *m, uint8_t item, struct dl_tlv_writer *w)
{
	uint8_t d[DL_ITEM_DIGEST_LEN];
	item_digest(&m->store.items, item, d); /* from what is stored, not from the request */
	dl_tlv_u8(w, 0x01, item);
	dl_tlv_bytes(w, 0x02, d + 1, 4);
	dl_tlv_bytes(w, 0x03, d + 5, 32);
	dl_tlv_u8(w, 0x04, (uint8_t)dl_module_state(m));
	return DL_S_OK;
}

static int committed_as(const struct dl_module *m, uint8_t item, uint32_t len, const uint8_t *sha)
{
	uint8_t d[DL_ITEM_DIGEST_LEN];
	if (!(m->store.items.mask & ITEM_BIT(item)) || m->store.items.len[item] != len)
		return 0;
	item_digest(&m->store.items, item, d);
	return memcmp(d + 5, sha, 32) == 0;
}

static int commit_checks(struct dl_module *m, uint8_t item, uint32_t len, const uint8_t *sha, char *detail)
{
	struct dl_staging *st = &m->staging[item];
	uint8_t digest[32];
	if (frozen(m))
		return refuse(detail, DL_S_LOCKED, FROZEN_CREDENTIALS);
	if (!m->crypto.has_key)
		return refuse(detail, DL_S_NO_KEY, "generate the key before writing credentials");
	if (!st->active || st->total != len || st->received < st->total)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s has %u of %u bytes staged", dl_item_rule(item)->name,
				st->active ? (unsigned)st->received : 0u, (unsigned)len), DL_S_INCOMPLETE;
	dl_sha256(st->buf, st->total, digest);
	if (memcmp(digest, sha, 32) != 0)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s staged bytes hash differently",
				dl_item_rule(item)->name), DL_S_DIGEST_MISMATCH;
	switch (dl_item_check(&m->crypto, item, st->buf, st->total, detail, DL_MAX_DETAIL + 1)) {
	case DL_OK:
		return DL_S_OK;
	case DL_ERR_STATE:
		return DL_S_KEY_MISMATCH;
	default:
		return DL_S_INVALID_ITEM;
	}
}

static int commit(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	uint8_t item = f[0].p[0];
	uint32_t len = dl_get_u32le(f[1].p);
	int s;
	if (dl_item_rule(item) == NULL)
		return snprintf(detail, DL_MAX_DETAIL + 1, "unknown item 0x%02x", item), DL_S_INVALID_ITEM;
	if (committed_as(m, item, len, f[2].p))
		return commit_reply(m, item, w); /* idempotent, in every state */
	if ((s = commit_checks(m, item, len, f[2].p, detail)) != DL_S_OK)
		return s;
	if (dl_store_commit(&m->store, item, m->staging[item].buf, len) != DL_OK)
		return refuse(detail, DL_S_HARDWARE_FAULT, "flash write failed");
	m->staging[item].active = 0;
	return commit_reply(m, item, w);
}

/* ---- READ_DIGESTS (§5.5) ---- */
static int read_digests(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	(void)f;
	(void)detail;
	put_digests(m, w, 0x01);
	dl_tlv_u8(w, 0x02, m->lock_mask);
	return DL_S_OK;
}

/* ---- ATTEST (§5.6) ---- */
static const char attest_context[] = "dacline line-protocol attest v1"; /* ‖ its NUL */

static int attest(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	const struct dl_itemset *s = &m->store.items;
	uint8_t msg[sizeof attest_context + 64], digest[32], sig[DL_SIG_MAX + 8];
	int n;
	if (!(s->mask & ITEM_BIT(DL_ITEM_DAC)))
		return refuse(detail, DL_S_NO_DAC, "commit the dac before attesting");
	memcpy(msg, attest_context, sizeof attest_context); /* with the 0x00 terminator */
	memcpy(msg + sizeof attest_context, f[0].p, 32);
	dl_sha256(s->val[DL_ITEM_DAC], s->len[DL_ITEM_DAC], msg + sizeof attest_context + 32);
	dl_sha256(msg, sizeof msg, digest); /* M is hashed once; ECDSA signs that digest */
	if ((n = dl_sign_digest(&m->crypto, digest, sig, sizeof sig)) < 0)
		return refuse(detail, DL_S_HARDWARE_FAULT, "signing failed");
	dl_tlv_bytes(w, 0x01, sig, (size_t)n);
	dl_tlv_bytes(w, 0x02, msg + sizeof attest_context + 32, 32);
	return DL_S_OK;
}

/* ---- LOCK (§5.7) ---- */
static const char *const step_names[DL_LOCK_STEPS + 1] = {
	"", "flash-encryption", "secure-boot", "rd-dis-write-protect", "secure-download",
};

static int lock_reply(struct dl_module *m, uint8_t step, int already, struct dl_tlv_writer *w)
{
	dl_tlv_u8(w, 0x01, step);
	dl_tlv_u8(w, 0x02, (uint8_t)already);
	dl_tlv_u8(w, 0x03, m->lock_mask);
	dl_tlv_u8(w, 0x04, (uint8_t)dl_module_state(m));
	return DL_S_OK;
}

static unsigned next_step(uint8_t mask)
{
	unsigned s = 1;
	while (s <= DL_LOCK_STEPS && (mask & (1u << (s - 1))))
		s++;
	return s;
}

static int lock(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	uint8_t step = f[0].p[0];
	int r;
	if (step < 1 || step > DL_LOCK_STEPS)
		return snprintf(detail, DL_MAX_DETAIL + 1, "unknown lock step %u", step), DL_S_MALFORMED;
	if (m->lock_mask & (1u << (step - 1)))
		return lock_reply(m, step, 1, w);
	if (!m->crypto.has_key || (m->store.items.mask & DL_REQUIRED_ITEMS) != DL_REQUIRED_ITEMS)
		return snprintf(detail, DL_MAX_DETAIL + 1, "committed items 0x%03x, need 0x%03x",
				m->store.items.mask & DL_REQUIRED_ITEMS, DL_REQUIRED_ITEMS), DL_S_CREDENTIALS_MISSING;
	if (step != next_step(m->lock_mask))
		return snprintf(detail, DL_MAX_DETAIL + 1, "next step is %s",
				step_names[next_step(m->lock_mask)]), DL_S_LOCK_ORDER;
	r = dl_efuse_lock_burn(step);
	/* Whatever happened, the mask is what the eFuses read back. */
	if (dl_efuse_lock_mask(&m->lock_mask) != DL_OK || dl_efuse_debug_enabled(&m->debug_enabled) != DL_OK ||
	    r != DL_OK)
		return snprintf(detail, DL_MAX_DETAIL + 1, "%s burn did not read back", step_names[step]),
		       DL_S_HARDWARE_FAULT;
	for (unsigned i = 0; i <= DL_ITEM_COUNT; i++)
		m->staging[i].active = 0;
	return lock_reply(m, step, 0, w);
}

/* ---- REBOOT (§5.8) ---- */
static int reboot(struct dl_module *m, const struct dl_tlv_value *f, struct dl_tlv_writer *w, char *detail)
{
	(void)f;
	(void)w;
	(void)detail;
	m->reboot_pending = 1;
	return DL_S_OK;
}

/* ---- the request tables (§5) ---- */
static const struct dl_field write_chunk_req[] = {
	{0x01, 1, 1, 1, 0, "item"},
	{0x02, 4, 4, 1, 0, "total length"},
	{0x03, 4, 4, 1, 0, "offset"},
	{0x04, 1, DL_MAX_CHUNK, 1, 0, "data"},
};
static const struct dl_field commit_req[] = {
	{0x01, 1, 1, 1, 0, "item"},
	{0x02, 4, 4, 1, 0, "length"},
	{0x03, 32, 32, 1, 0, "sha-256"},
};
static const struct dl_field attest_req[] = {{0x01, 32, 32, 1, 0, "nonce"}};
static const struct dl_field lock_req[] = {{0x01, 1, 1, 1, 0, "step"}};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * §7's table: what each command answers in each state before its own rules
 * run. RUN means the handler decides (COMMIT and LOCK order their state
 * checks after rules of their own: an idempotent COMMIT is OK even when
 * locked, a LOCK step out of range is MALFORMED in any state).
 */
static const struct dl_command commands[] = {
	/* type, request table, handler, {unprovisioned, key-generated, credentials-written, locking, locked} */
	{DL_T_IDENTIFY, NULL, 0, identify, {RUN, RUN, RUN, RUN, RUN}},
	{DL_T_GENERATE_KEY, NULL, 0, generate_key, {RUN, RUN, RUN, DL_S_LOCKED, DL_S_LOCKED}},
	{DL_T_WRITE_CHUNK, write_chunk_req, N(write_chunk_req), write_chunk,
	 {DL_S_NO_KEY, RUN, RUN, DL_S_LOCKED, DL_S_LOCKED}},
	{DL_T_COMMIT, commit_req, N(commit_req), commit, {RUN, RUN, RUN, RUN, RUN}},
	{DL_T_READ_DIGESTS, NULL, 0, read_digests, {RUN, RUN, RUN, RUN, RUN}},
	{DL_T_ATTEST, attest_req, N(attest_req), attest, {DL_S_NO_KEY, RUN, RUN, RUN, RUN}},
	{DL_T_LOCK, lock_req, N(lock_req), lock, {RUN, RUN, RUN, RUN, RUN}},
	{DL_T_REBOOT, NULL, 0, reboot, {RUN, RUN, RUN, RUN, RUN}},
};

static const char *gate_detail(uint8_t type, uint8_t status)
{
	if (status == DL_S_NO_KEY)
		return type == DL_T_ATTEST ? "no key" : "generate the key before writing credentials";
	return type == DL_T_GENERATE_KEY ? "lock steps burned: no key generation" : FROZEN_CREDENTIALS;
}

int dl_command_run(const struct dl_command *c, struct dl_module *m, const struct dl_tlv_value *f,
		   struct dl_tlv_writer *w, char *detail)
{
	uint8_t gate = c->gate[dl_module_state(m)];
	if (gate != RUN)
		return refuse(detail, gate, gate_detail(c->type, gate));
	return c->handle(m, f, w, detail);
}

const struct dl_command *dl_command_find(uint8_t type)
{
	for (size_t i = 0; i < N(commands); i++)
		if (commands[i].type == type)
			return &commands[i];
	return NULL;
}
