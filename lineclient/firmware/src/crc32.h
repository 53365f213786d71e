/*
 * crc32.h — CRC-32/ISO-HDLC (zlib's crc32, polynomial 0xEDB88320 reflected).
 *
 * dl_crc32_update(prev, p, n) is zlib's crc32(prev, p, n): the protocol frame
 * CRC (§2.1) is dl_crc32_update(0, …); Espressif's esp_secure_cert and NVS
 * CRCs are Python's zlib.crc32(buf, 0xFFFFFFFF) = dl_crc32_update(0xFFFFFFFF, …)
 * (ESP-FACTS §2, "CRC quirk"). Pure function, no state.
 */
#ifndef DL_CRC32_H
#define DL_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t dl_crc32_update(uint32_t prev, const void *p, size_t n);

#endif
