/* The partition table of FLASH-CONTRACT in ESP-IDF's binary form
 * (gen_esp32part.py): 32-byte entries (magic AA 50, type, subtype, offset,
 * size, name[16], flags; flag bit 0 = encrypted), an MD5 entry (EB EB, 14 ×
 * FF, MD5 of the entries before it), 0xFF to the end. */
#include <string.h>

#include <mbedtls/md.h>

#include "storage.h"
#include "tlv.h"

struct part {
	const char *name;
	uint8_t type, subtype;
	uint32_t offset, size, flags;
};

static const struct part parts[] = {
	{"esp_secure_cert", 0x3F, 0x06, 0xD000, 0x2000, 1}, /* gen_esp32part: an empty subtype of a custom type is 0x06 */
	{"nvs", 0x01, 0x02, 0x10000, 0xC000, 0},
	{"nvs_keys", 0x01, 0x04, 0x1C000, 0x1000, 1},
	{"otadata", 0x01, 0x00, 0x1D000, 0x2000, 0},
	{"phy_init", 0x01, 0x01, 0x1F000, 0x1000, 0},
	{"ota_0", 0x00, 0x10, 0x20000, 0x1E0000, 0},
	{"ota_1", 0x00, 0x11, 0x200000, 0x1E0000, 0},
	{"fctry", 0x01, 0x02, DL_FCTRY_ADDR, DL_FCTRY_SIZE, 0},
};

int dl_partition_table(uint8_t out[0xC00])
{
	size_t n = sizeof parts / sizeof parts[0], off = 0;
	memset(out, 0xFF, 0xC00);
	for (size_t i = 0; i < n; i++, off += 32) {
		uint8_t *e = out + off;
		e[0] = 0xAA;
		e[1] = 0x50;
		e[2] = parts[i].type;
		e[3] = parts[i].subtype;
		dl_put_u32le(e + 4, parts[i].offset);
		dl_put_u32le(e + 8, parts[i].size);
		memset(e + 12, 0, 16);
		memcpy(e + 12, parts[i].name, strlen(parts[i].name));
		dl_put_u32le(e + 28, parts[i].flags);
	}
	out[off] = 0xEB;
	out[off + 1] = 0xEB;
	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_MD5), out, off, out + off + 16) != 0)
		return DL_ERR_CRYPTO;
	return DL_OK;
}
