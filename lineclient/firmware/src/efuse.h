/*
 * efuse.h — what the firmware keeps in eFuses, over hal_efuse_read/burn.
 *
 * The host model follows the ESP32-C3/S3/H2 organisation: BLOCK0 holds the
 * security fields, BLOCK1 the factory MAC, BLOCK4..9 are KEY0..KEY5 with a
 * purpose each. Bit positions are this firmware's host model (named in
 * efuse.c); a port maps each field to its esp_efuse_table.h descriptor
 * (ESP_EFUSE_DIS_PAD_JTAG, ESP_EFUSE_SPI_BOOT_CRYPT_CNT, …) instead.
 *
 * Contracts:
 * - dl_efuse_lock_mask reads the eFuses and returns the §5.7 lock mask: the
 *   longest prefix of steps whose every field reads back burned. A step cut
 *   by a power loss (some fields burned) is therefore not reported burned,
 *   and LOCK burns its remaining fields when asked again.
 * - dl_efuse_lock_burn burns one step's fields (fields already burned are
 *   skipped; a fresh key block is chosen for a key that is not burned yet),
 *   then reads back; DL_OK only when the step now reads back complete,
 *   DL_ERR_EFUSE otherwise (the mask then reports what the eFuses hold).
 * - dl_efuse_key_burn writes a 32-byte key into a free key block (all-zero
 *   value, purpose 0) and sets its purpose; the key first, the purpose after,
 *   so a power cut leaves either an unused-looking block that holds bits (it
 *   is never reused: "free" means all zero) or a complete key.
 *   dl_efuse_key_find returns the block (4..9) whose purpose is purpose, or
 *   DL_ERR_NOT_FOUND, and copies its value when out != NULL.
 */
#ifndef DL_EFUSE_H
#define DL_EFUSE_H

#include <stdint.h>

#include "dl.h"

enum dl_key_purpose {
	DL_PURPOSE_ECDSA_KEY = 1,
	DL_PURPOSE_XTS_AES_128_KEY = 4,
	DL_PURPOSE_HMAC_UP = 8,
	DL_PURPOSE_SECURE_BOOT_DIGEST0 = 9,
};

int dl_efuse_mac(uint8_t mac[DL_CHIP_ID_LEN]);
int dl_efuse_set_mac(const uint8_t mac[DL_CHIP_ID_LEN]);
int dl_efuse_lock_mask(uint8_t *mask);
int dl_efuse_lock_burn(unsigned step);
int dl_efuse_debug_enabled(int *enabled);
int dl_efuse_key_burn(enum dl_key_purpose purpose, const uint8_t key[32], unsigned *block);
int dl_efuse_key_find(enum dl_key_purpose purpose, uint8_t out[32]);

/* The Secure Boot V2 public-key digest step 2 burns (the vendor's signing
 * key; a build sets it with -DDL_SECURE_BOOT_DIGEST=…). */
extern const uint8_t dl_secure_boot_digest[32];

#endif
