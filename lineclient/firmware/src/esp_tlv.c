#include <string.h>

#include "crc32.h"
#include "esp_tlv.h"
#include "tlv.h"

size_t dl_esptlv_size(size_t len) { return DL_ESPTLV_HEADER + ((len + 15u) & ~(size_t)15u) + 4u; }

int dl_esptlv_put(uint8_t *out, size_t cap, uint8_t type, uint8_t subtype, uint8_t flags,
		  const uint8_t *data, size_t len)
{
	size_t total = dl_esptlv_size(len);
	if (len > 0xFFFF || total > cap)
		return DL_ERR_TOO_LARGE;
	memset(out, 0, total);
	dl_put_u32le(out, DL_ESPTLV_MAGIC);
	out[4] = flags;
	out[8] = type;
	out[9] = subtype;
	dl_put_u16le(out + 10, (uint16_t)len);
	if (len > 0)
		memcpy(out + DL_ESPTLV_HEADER, data, len);
	dl_put_u32le(out + total - 4, dl_crc32_update(0xFFFFFFFFu, out, total - 4));
	return (int)total;
}

static int parse_one(const uint8_t *img, size_t n, size_t off, struct dl_esptlv *e, size_t *total)
{
	uint16_t len = dl_get_u16le(img + off + 10);
	*total = dl_esptlv_size(len);
	if (*total > n - off)
		return DL_ERR_MALFORMED;
	uint32_t crc = dl_get_u32le(img + off + *total - 4);
	if (crc != dl_crc32_update(0xFFFFFFFFu, img + off, *total - 4))
		return DL_ERR_CRC;
	e->offset = (uint32_t)off;
	e->flags = img[off + 4];
	e->type = img[off + 8];
	e->subtype = img[off + 9];
	e->len = len;
	e->data = img + off + DL_ESPTLV_HEADER;
	e->crc = crc;
	return DL_OK;
}

int dl_esptlv_parse(const uint8_t *img, size_t n, struct dl_esptlv *e, size_t max, size_t *end)
{
	size_t off = 0, count = 0, total = 0;
	while (n - off >= DL_ESPTLV_HEADER + 4u && dl_get_u32le(img + off) == DL_ESPTLV_MAGIC) {
		struct dl_esptlv tmp;
		int r = parse_one(img, n, off, &tmp, &total);
		if (r < 0) {
			*end = off;
			return r;
		}
		if (count == max)
			return DL_ERR_TOO_LARGE;
		e[count++] = tmp;
		off += total;
	}
	*end = off;
	return (int)count;
}
