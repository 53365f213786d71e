/*
 * tlv.h — §4 bodies: tag u8 ‖ length u16 LE ‖ value.
 *
 * Parsing is driven by a table of struct dl_field (one row per known tag),
 * as the spec's tables are. dl_tlv_parse checks every §4 rule — unknown
 * critical tag (0x00..0x7F), length out of bounds, duplicate of a
 * non-repeated tag, missing required field, a length running past the end,
 * trailing bytes shorter than a header — and on success records, per row,
 * where the (first) value is. Non-critical unknown tags (0x80..0xFF) are
 * skipped. It never copies: values point into the caller's body, which must
 * outlive the result. On failure it returns DL_ERR_MALFORMED and writes a
 * reason (≤ DL_MAX_DETAIL bytes, NUL-terminated) into why when why != NULL.
 *
 * Repeated fields are walked with dl_tlv_next.
 *
 * struct dl_tlv_writer appends fields to a caller-owned buffer; once a field
 * does not fit, the writer is marked failed and every later call does
 * nothing; dl_tlv_done returns the length or DL_ERR_TOO_LARGE.
 */
#ifndef DL_TLV_H
#define DL_TLV_H

#include <stddef.h>
#include <stdint.h>

#include "dl.h"

#define DL_TLV_MAX_FIELDS 12u

struct dl_field {
	uint8_t tag;
	uint16_t min, max;
	uint8_t required, repeated;
	const char *name;
};

struct dl_tlv_value {
	const uint8_t *p;  /* NULL when absent */
	uint16_t len;
	uint16_t count;    /* occurrences (repeated fields) */
};

int dl_tlv_parse(const uint8_t *body, size_t n, const struct dl_field *spec, size_t nspec,
		 struct dl_tlv_value *out, char *why);

/* Iterates all fields: *pos starts at 0; returns 1 and sets tag/val/len for
 * the next field, 0 at the end, DL_ERR_MALFORMED on a broken header. */
int dl_tlv_next(const uint8_t *body, size_t n, size_t *pos, uint8_t *tag, const uint8_t **val,
		uint16_t *len);

struct dl_tlv_writer {
	uint8_t *buf;
	size_t cap, len;
	int failed;
};

void dl_tlv_bytes(struct dl_tlv_writer *w, uint8_t tag, const void *v, size_t n);
void dl_tlv_u8(struct dl_tlv_writer *w, uint8_t tag, uint8_t v);
void dl_tlv_u32(struct dl_tlv_writer *w, uint8_t tag, uint32_t v);
int dl_tlv_done(const struct dl_tlv_writer *w);

uint16_t dl_get_u16le(const uint8_t *p);
uint32_t dl_get_u32le(const uint8_t *p);
void dl_put_u16le(uint8_t *p, uint16_t v);
void dl_put_u32le(uint8_t *p, uint32_t v);

#endif
