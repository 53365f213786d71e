/*
 * module.h — the module side of docs/line-protocol.md: one context, one loop.
 *
 * struct dl_module is the firmware's only state: what it holds in RAM
 * (staging buffers, the reply cache, the deframer) and its view of flash and
 * eFuses, reloaded at every start. The caller owns it (static storage; it is
 * large) and must not touch it between calls.
 *
 * dl_module_init runs once at power-on: it sets up mbedTLS (the only place
 * that does) and the options. dl_module_start runs at every start (power-on
 * and after a REBOOT): it clears RAM state, reloads storage (finishing what a
 * power cut interrupted) and sends the BOOT event. dl_module_poll waits up to
 * timeout_ms for bytes, handles every complete frame, and returns DL_OK,
 * DL_MODULE_REBOOT when a REBOOT reply has been drained (the caller then
 * calls hal_reboot and dl_module_start), or a negative dl_err when the UART
 * failed.
 *
 * dl_module_handle_payload executes one decoded payload and puts the reply
 * frame (if any) into out; it is what the loop uses, exposed for tests and
 * the fuzzer. Returns the frame length, 0 for no reply, or a negative error.
 */
#ifndef DL_MODULE_H
#define DL_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "dl.h"
#include "frame.h"
#include "storage.h"

#define DL_MODULE_REBOOT 1

struct dl_staging {
	uint32_t total, received;
	int active;
	uint8_t buf[DL_ITEM_MAX_LEN];
};

struct dl_reply_cache {
	int valid;
	uint32_t id;
	uint8_t type;
	uint8_t body_sha256[32];
	size_t len;
	uint8_t frame[DL_MAX_FRAME];
};

struct dl_module_options {
	const char *chip_model;       /* e.g. "ESP32-C3", 1..32 bytes */
	const char *firmware_version; /* 1..32 bytes */
	enum dl_key_storage key_storage;
};

struct dl_module {
	struct dl_module_options opt;
	struct dl_crypto crypto;
	struct dl_store store;
	uint8_t chip_id[DL_CHIP_ID_LEN];
	uint8_t lock_mask;
	int debug_enabled;
	int reboot_pending;
	struct dl_deframer df;
	struct dl_staging staging[DL_ITEM_COUNT + 1];
	struct dl_reply_cache cache;
	uint8_t body[DL_MAX_BODY];
	uint8_t payload[DL_MAX_PAYLOAD];
	uint8_t frame[DL_MAX_FRAME];
};

int dl_module_init(struct dl_module *m, const struct dl_module_options *opt);
int dl_module_start(struct dl_module *m);
int dl_module_poll(struct dl_module *m, uint32_t timeout_ms);
int dl_module_handle_payload(struct dl_module *m, const uint8_t *p, size_t n, uint8_t *out, size_t cap);
int dl_module_state(const struct dl_module *m);

#endif
