/*
 * storage.h — what the module keeps in flash, and how it survives power cuts.
 *
 * FLASH-CONTRACT: the key and the certificates live in esp_secure_cert
 * (0xD000, 0x2000: entries PRIV_KEY [or its eFuse/derived variants], CA_CERT =
 * PAI, DEV_CERT = DAC, INTEGRITY + end marker); every other item in the
 * factory NVS partition fctry (0x3E0000, 0x6000), rebuilt from the committed
 * items. Each image fits in its partition's first sector.
 *
 * Crash safety rests on hal.h's flash contract only:
 * - A first write into erased flash (the key at GENERATE_KEY, a certificate
 *   that only appends) is written directly; a torn one fails its CRC and
 *   reads back as "not there" (the key: the module is still unprovisioned).
 * - Any other change is a shadow rewrite: the new sector image goes to the
 *   partition's spare sector (esp_secure_cert's second sector, fctry's fifth
 *   page) with its first word written last as the commit marker; then the
 *   primary sector is erased and written; then the marker is cleared and the
 *   spare erased. At boot a valid spare (marker and every CRC) is copied
 *   over the primary again. The key entry's bytes are always in the primary
 *   or in a valid spare, so no power cut can lose it.
 * - At boot the images are rebuilt from what was read and rewritten when
 *   flash differs (a torn append, an INTEGRITY entry missing).
 *
 * dl_store_* return DL_OK or a negative dl_err; after a failure the RAM view
 * (items, key) is what flash holds, never the attempted value.
 */
#ifndef DL_STORAGE_H
#define DL_STORAGE_H

#include <stdint.h>

#include "crypto.h"
#include "hal.h"
#include "items.h"
#include "nvs.h"

#define DL_SC_ADDR 0xD000u
#define DL_SC_SIZE 0x2000u
#define DL_FCTRY_ADDR 0x3E0000u
#define DL_FCTRY_SIZE 0x6000u
#define DL_PART_TABLE_ADDR 0x8000u

enum dl_key_storage {
	DL_KEY_PLAINTEXT = 0, /* DER SEC1 in PRIV_KEY (flash encryption protects it) */
	DL_KEY_EFUSE = 1,     /* scalar in an eFuse key block, purpose ECDSA_KEY */
	DL_KEY_DERIVED = 2,   /* PBKDF2-HMAC-SHA256(HMAC eFuse key, salt, 2048) */
};

struct dl_store {
	struct dl_itemset items;
	enum dl_key_storage variant;     /* for a key generated from now on */
	uint8_t sc[HAL_FLASH_SECTOR];    /* scratch: esp_secure_cert sector */
	uint8_t cur[HAL_FLASH_SECTOR];   /* scratch: what flash holds */
	uint8_t nvs[2 * DL_NVS_PAGE];    /* scratch: factory NVS image (one page used) */
};

int dl_store_boot(struct dl_store *st, struct dl_crypto *c);
int dl_store_generate_key(struct dl_store *st, struct dl_crypto *c);
int dl_store_commit(struct dl_store *st, uint8_t item, const uint8_t *v, size_t n);

/* The partition table of a blank module (FLASH-CONTRACT), 0xC00 bytes. */
int dl_partition_table(uint8_t out[0xC00]);

#endif
