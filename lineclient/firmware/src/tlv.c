#include <stdio.h>
#include <string.h>

#include "tlv.h"

uint16_t dl_get_u16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

uint32_t dl_get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void dl_put_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void dl_put_u32le(uint8_t *p, uint32_t v)
{
	dl_put_u16le(p, (uint16_t)v);
	dl_put_u16le(p + 2, (uint16_t)(v >> 16));
}

int dl_tlv_next(const uint8_t *body, size_t n, size_t *pos, uint8_t *tag, const uint8_t **val,
		uint16_t *len)
{
	if (*pos == n)
		return 0;
	if (n - *pos < 3)
		return DL_ERR_MALFORMED;
	*tag = body[*pos];
	*len = dl_get_u16le(body + *pos + 1);
	*pos += 3;
	if (*len > n - *pos)
		return DL_ERR_MALFORMED;
	*val = body + *pos;
	*pos += *len;
	return 1;
}

static int fail(char *why, const char *fmt, const char *name, unsigned a, unsigned b, unsigned c)
{
	if (why)
		snprintf(why, DL_MAX_DETAIL + 1, fmt, name, a, b, c);
	return DL_ERR_MALFORMED;
}

static const struct dl_field *row(const struct dl_field *spec, size_t nspec, uint8_t tag,
				  size_t *idx)
{
	for (size_t i = 0; i < nspec; i++) {
		if (spec[i].tag == tag) {
			*idx = i;
			return &spec[i];
		}
	}
	return NULL;
}

static int take(const struct dl_field *f, struct dl_tlv_value *v, const uint8_t *val,
		uint16_t len, char *why)
{
	if (len < f->min || len > f->max)
		return fail(why, "%s is %u bytes, want %u..%u", f->name, len, f->min, f->max);
	if (v->count > 0 && !f->repeated)
		return fail(why, "%s appears twice", f->name, 0, 0, 0);
	if (v->count == 0) {
		v->p = val;
		v->len = len;
	}
	v->count++;
	return DL_OK;
}

int dl_tlv_parse(const uint8_t *body, size_t n, const struct dl_field *spec, size_t nspec,
		 struct dl_tlv_value *out, char *why)
{
	size_t pos = 0, idx = 0;
	uint8_t tag;
	const uint8_t *val;
	uint16_t len;
	int r;
	memset(out, 0, nspec * sizeof *out);
	while ((r = dl_tlv_next(body, n, &pos, &tag, &val, &len)) == 1) {
		const struct dl_field *f = row(spec, nspec, tag, &idx);
		if (f == NULL) {
			if (tag >= 0x80)
				continue;
			return fail(why, "%sunknown critical tag 0x%02x", "", tag, 0, 0);
		}
		if ((r = take(f, &out[idx], val, len, why)) != DL_OK)
			return r;
	}
	if (r < 0)
		return fail(why, "%sfield header or length runs past the end at byte %u", "",
			    (unsigned)pos, 0, 0);
	for (size_t i = 0; i < nspec; i++)
		if (spec[i].required && out[i].count == 0)
			return fail(why, "%s missing", spec[i].name, 0, 0, 0);
	return DL_OK;
}

void dl_tlv_bytes(struct dl_tlv_writer *w, uint8_t tag, const void *v, size_t n)
{
	if (w->failed || n > 0xFFFF || w->cap - w->len < 3 + n) {
		w->failed = 1;
		return;
	}
	w->buf[w->len] = tag;
	dl_put_u16le(w->buf + w->len + 1, (uint16_t)n);
	if (n > 0)
		memcpy(w->buf + w->len + 3, v, n);
	w->len += 3 + n;
}

void dl_tlv_u8(struct dl_tlv_writer *w, uint8_t tag, uint8_t v) { dl_tlv_bytes(w, tag, &v, 1); }

void dl_tlv_u32(struct dl_tlv_writer *w, uint8_t tag, uint32_t v)
{
	uint8_t b[4];
	dl_put_u32le(b, v);
	dl_tlv_bytes(w, tag, b, 4);
}

int dl_tlv_done(const struct dl_tlv_writer *w) { return w->failed ? DL_ERR_TOO_LARGE : (int)w->len; }
