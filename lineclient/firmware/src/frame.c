#include <string.h>

#include "crc32.h"
#include "frame.h"

static void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* COBS-encodes in[0..n) to out (capacity cap); returns the length or -1. */
static int cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t code_at = 0, o = 1;
	uint8_t code = 1;
	if (cap < 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (in[i] != 0) {
			if (o >= cap)
				return -1;
			out[o++] = in[i];
			code++;
		}
		if (in[i] == 0 || code == 0xFF) {
			out[code_at] = code;
			code = 1;
			code_at = o++;
			if (code_at >= cap)
				return -1;
		}
	}
	out[code_at] = code;
	return (int)o;
}

int dl_frame_encode(const uint8_t *payload, size_t n, uint8_t *out, size_t cap)
{
	uint8_t raw[DL_MAX_RAW];
	if (n > DL_MAX_PAYLOAD || cap < 2)
		return DL_ERR_TOO_LARGE;
	memcpy(raw, payload, n);
	put_u32le(raw + n, dl_crc32_update(0, payload, n));
	out[0] = 0x00;
	int k = cobs_encode(raw, n + 4, out + 1, cap - 2);
	if (k < 0)
		return DL_ERR_TOO_LARGE;
	out[1 + (size_t)k] = 0x00;
	return k + 2;
}

/* COBS-decodes; returns the decoded length or DL_ERR_MALFORMED. */
static int cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < n) {
		uint8_t code = in[i++];
		if (code == 0 || i + code - 1u > n)
			return DL_ERR_MALFORMED;
		for (uint8_t k = 1; k < code; k++) {
			if (o >= cap)
				return DL_ERR_TOO_LARGE;
			out[o++] = in[i++];
		}
		if (code != 0xFF && i < n) {
			if (o >= cap)
				return DL_ERR_TOO_LARGE;
			out[o++] = 0;
		}
	}
	return (int)o;
}

int dl_frame_decode(const uint8_t *enc, size_t n, uint8_t *payload)
{
	if (n > DL_MAX_ENCODED)
		return DL_ERR_TOO_LARGE;
	int k = cobs_decode(enc, n, payload, DL_MAX_RAW);
	if (k < 0)
		return k;
	if (k < 5)
		return DL_ERR_MALFORMED;
	size_t plen = (size_t)k - 4;
	if (get_u32le(payload + plen) != dl_crc32_update(0, payload, plen))
		return DL_ERR_CRC;
	return (int)plen;
}

int dl_deframer_push(struct dl_deframer *d, uint8_t byte)
{
	if (byte != 0x00) {
		if (d->overflow)
			return 0;
		if (d->len >= sizeof d->buf) {
			d->overflow = 1;
			d->len = 0;
			return 0;
		}
		d->buf[d->len++] = byte;
		return 0;
	}
	if (d->overflow) {
		d->overflow = 0;
		return DL_ERR_TOO_LARGE;
	}
	if (d->len == 0)
		return 0;
	int k = dl_frame_decode(d->buf, d->len, d->payload);
	d->len = 0;
	if (k < 0)
		return k;
	d->payload_len = (size_t)k;
	return 1;
}
