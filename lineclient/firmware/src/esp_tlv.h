/*
 * esp_tlv.h — the esp_secure_cert partition in Espressif's TLV format
 * (esp_secure_cert_mgr; ESP-FACTS §2).
 *
 * An entry is: magic 0xBA5EBA11 u32 LE, flags u8, 3 reserved zero bytes,
 * type u8, subtype u8, length u16 LE, data, zero padding to a multiple of 16,
 * CRC32 u32 LE over everything before it (zlib.crc32(…, 0xFFFFFFFF)).
 *
 * dl_esptlv_put writes one entry into out (capacity cap) and returns its total
 * size, or DL_ERR_TOO_LARGE. dl_esptlv_size is that size without writing.
 *
 * dl_esptlv_parse walks a partition image from offset 0 and fills up to max
 * entries (pointers into img); it stops at the first word that is not the
 * magic (erased flash, the end marker 0x0000FFFF). It returns the number of
 * entries, or DL_ERR_CRC / DL_ERR_MALFORMED for an entry whose CRC is wrong or
 * whose length runs past the image (a torn write) — *end then holds that
 * entry's offset, so the caller knows where the valid prefix ends.
 */
#ifndef DL_ESP_TLV_H
#define DL_ESP_TLV_H

#include <stddef.h>
#include <stdint.h>

#include "dl.h"

#define DL_ESPTLV_MAGIC 0xBA5EBA11u
#define DL_ESPTLV_END 0x0000FFFFu
#define DL_ESPTLV_HEADER 12u

enum dl_esptlv_type {
	DL_ESPTLV_CA_CERT = 0,
	DL_ESPTLV_DEV_CERT = 1,
	DL_ESPTLV_PRIV_KEY = 2,
	DL_ESPTLV_HMAC_ECDSA_KEY_SALT = 5,
	DL_ESPTLV_SEC_CFG = 6,
	DL_ESPTLV_INTEGRITY = 9,
};

#define DL_ESPTLV_FLAG_EFUSE_KEY 0x08u  /* bits 5:3 = 001: key in an eFuse block (ECDSA peripheral) */
#define DL_ESPTLV_FLAG_DERIVED 0x40u    /* bits 7:6 = 01: key derived on the chip from an HMAC eFuse key */

struct dl_esptlv {
	uint32_t offset;
	uint8_t flags, type, subtype;
	uint16_t len;
	const uint8_t *data;
	uint32_t crc;
};

size_t dl_esptlv_size(size_t len);
int dl_esptlv_put(uint8_t *out, size_t cap, uint8_t type, uint8_t subtype, uint8_t flags,
		  const uint8_t *data, size_t len);
int dl_esptlv_parse(const uint8_t *img, size_t n, struct dl_esptlv *e, size_t max, size_t *end);

#endif
