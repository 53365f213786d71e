/* The loop: frames in, §3 header checks, the reply cache (§8), dispatch
 * through the command table, frames out. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "efuse.h"
#include "hal.h"
#include "module.h"
#include "tlv.h"

int dl_module_state(const struct dl_module *m)
{
	if (m->lock_mask == DL_LOCK_ALL)
		return DL_ST_LOCKED;
	if (m->lock_mask != 0)
		return DL_ST_LOCKING;
	if (!m->crypto.has_key)
		return DL_ST_UNPROVISIONED;
	if ((m->store.items.mask & DL_REQUIRED_ITEMS) == DL_REQUIRED_ITEMS)
		return DL_ST_CREDENTIALS_WRITTEN;
	return DL_ST_KEY_GENERATED;
}

int dl_module_init(struct dl_module *m, const struct dl_module_options *opt)
{
	memset(m, 0, sizeof *m);
	m->opt = *opt;
	m->store.variant = opt->key_storage;
	return dl_crypto_init(&m->crypto);
}

/* Encodes header ‖ body into a frame in out; returns its length or an error. */
static int encode(struct dl_module *m, uint8_t type, uint8_t flags, uint8_t status, uint32_t id,
		  const uint8_t *body, size_t n, uint8_t *out, size_t cap)
{
	uint8_t *p = m->payload;
	if (n > DL_MAX_BODY)
		return DL_ERR_TOO_LARGE;
	p[0] = DL_VERSION;
	p[1] = type;
	p[2] = flags;
	p[3] = status;
	dl_put_u32le(p + 4, id);
	dl_put_u16le(p + 8, (uint16_t)n);
	memmove(p + DL_HEADER_LEN, body, n);
	return dl_frame_encode(p, DL_HEADER_LEN + n, out, cap);
}

static int send_frame(const uint8_t *f, size_t n) { return hal_uart_write(f, n); }

static int send_boot(struct dl_module *m)
{
	struct dl_tlv_writer w = {m->body, sizeof m->body, 0, 0};
	dl_tlv_bytes(&w, 0x01, m->chip_id, DL_CHIP_ID_LEN);
	dl_tlv_u8(&w, 0x02, (uint8_t)dl_module_state(m));
	dl_tlv_u8(&w, 0x03, (uint8_t)hal_reset_reason());
	int n = dl_tlv_done(&w);
	if (n < 0)
		return n;
	n = encode(m, DL_T_BOOT, DL_FLAG_EVENT, 0, 0, m->body, (size_t)n, m->frame, sizeof m->frame);
	return n < 0 ? n : send_frame(m->frame, (size_t)n);
}

int dl_module_start(struct dl_module *m)
{
	int r;
	memset(&m->df, 0, sizeof m->df);
	memset(m->staging, 0, sizeof m->staging);
	memset(&m->cache, 0, sizeof m->cache);
	m->reboot_pending = 0;
	if ((r = dl_efuse_mac(m->chip_id)) != DL_OK || (r = dl_store_boot(&m->store, &m->crypto)) != DL_OK ||
	    (r = dl_efuse_lock_mask(&m->lock_mask)) != DL_OK ||
	    (r = dl_efuse_debug_enabled(&m->debug_enabled)) != DL_OK)
		return r;
	return send_boot(m);
}

/* The reply to a request that passed §2/§3: status and body into m->body. */
static int execute(struct dl_module *m, uint8_t version, uint8_t type, const uint8_t *body, size_t n,
		   size_t *reply_len)
{
	struct dl_tlv_value f[DL_TLV_MAX_FIELDS];
	struct dl_tlv_writer w = {m->body, sizeof m->body, 0, 0};
	char detail[DL_MAX_DETAIL + 1] = "";
	const struct dl_command *c = dl_command_find(type);
	int status;
	if (version != DL_VERSION)
		status = (snprintf(detail, sizeof detail, "speaks version %u", DL_VERSION), DL_S_UNSUPPORTED_VERSION);
	else if (c == NULL)
		status = (snprintf(detail, sizeof detail, "type 0x%02x", type), DL_S_UNKNOWN_COMMAND);
	else if (dl_tlv_parse(body, n, c->request, c->nrequest, f, detail) != DL_OK)
		status = DL_S_MALFORMED;
	else
		status = dl_command_run(c, m, f, &w, detail);
	if (status == DL_S_OK && dl_tlv_done(&w) < 0)
		status = (snprintf(detail, sizeof detail, "reply encoding failed"), DL_S_HARDWARE_FAULT);
	if (status != DL_S_OK) {
		m->reboot_pending = 0;
		w.len = 0;
		w.failed = 0;
		dl_tlv_bytes(&w, 0x01, detail, strlen(detail));
	}
	*reply_len = w.len;
	return status;
}

/* §3: a payload the module must drop silently (0) or may answer (1). */
static int answerable(const uint8_t *p, size_t n)
{
	if (n < DL_HEADER_LEN || dl_get_u16le(p + 8) != n - DL_HEADER_LEN)
		return 0;
	if (p[2] & ~(DL_FLAG_RESPONSE | DL_FLAG_EVENT))
		return 0;
	return p[2] == 0; /* a response or event echoed back is not for the module */
}

int dl_module_handle_payload(struct dl_module *m, const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	uint8_t sha[32];
	size_t body_len = 0;
	uint32_t id;
	int status, k;
	if (!answerable(p, n))
		return 0;
	id = dl_get_u32le(p + 4);
	dl_sha256(p + DL_HEADER_LEN, n - DL_HEADER_LEN, sha);
	/* §8: the cache is consulted first, before the version check; the version
	 * is not part of the match (a host that changes version takes a new ID). */
	if (m->cache.valid && m->cache.id == id) {
		if (m->cache.type == p[1] && memcmp(m->cache.body_sha256, sha, 32) == 0) {
			if (m->cache.len > cap)
				return DL_ERR_TOO_LARGE;
			memcpy(out, m->cache.frame, m->cache.len);
			return (int)m->cache.len;
		}
		char detail[DL_MAX_DETAIL + 1];
		struct dl_tlv_writer w = {m->body, sizeof m->body, 0, 0};
		snprintf(detail, sizeof detail, "request id %08x was type 0x%02x", (unsigned)id, m->cache.type);
		dl_tlv_bytes(&w, 0x01, detail, strlen(detail));
		return encode(m, p[1], DL_FLAG_RESPONSE, DL_S_REQUEST_ID_REUSED, id, m->body, w.len, out, cap);
	}
	status = execute(m, p[0], p[1], p + DL_HEADER_LEN, n - DL_HEADER_LEN, &body_len);
	k = encode(m, p[1], DL_FLAG_RESPONSE, (uint8_t)status, id, m->body, body_len, out, cap);
	if (k < 0 || (size_t)k > sizeof m->cache.frame)
		return k < 0 ? k : DL_ERR_TOO_LARGE;
	m->cache.valid = 1;
	m->cache.id = id;
	m->cache.type = p[1];
	memcpy(m->cache.body_sha256, sha, 32);
	memcpy(m->cache.frame, out, (size_t)k);
	m->cache.len = (size_t)k;
	return k;
}

static int on_byte(struct dl_module *m, uint8_t b)
{
	int r = dl_deframer_push(&m->df, b);
	if (r <= 0)
		return DL_OK; /* nothing complete, or a frame §2.3 drops silently */
	int k = dl_module_handle_payload(m, m->df.payload, m->df.payload_len, m->frame, sizeof m->frame);
	if (k <= 0)
		return DL_OK;
	if ((r = send_frame(m->frame, (size_t)k)) != DL_OK)
		return r;
	if (m->reboot_pending) {
		/* §5.8: the reply has left the UART before the reset. */
		m->reboot_pending = 0;
		return hal_uart_drain() == DL_OK ? DL_MODULE_REBOOT : DL_ERR_UART;
	}
	return DL_OK;
}

int dl_module_poll(struct dl_module *m, uint32_t timeout_ms)
{
	uint8_t buf[256];
	int n = hal_uart_read(buf, sizeof buf, timeout_ms);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		int r = on_byte(m, buf[i]);
		if (r != DL_OK)
			return r; /* bytes after a REBOOT are lost with the RAM, as on a chip */
	}
	return DL_OK;
}
