/* Layout facts: ESP-FACTS §4 and the generator's behaviour, which the golden
 * vectors pin: a string needs its whole span on one page (entry + span must
 * stay below 126, else a new page); a v2 blob fills the rest of the page
 * (all but the last entry) with a chunk and goes on on the next page; after a
 * blob's last chunk a new page starts when fewer than one entry's worth of
 * tailroom was left; a page left for a new one is marked FULL. */
#include <string.h>

#include "crc32.h"
#include "nvs.h"
#include "tlv.h"

#define PAGE_ACTIVE 0xFFFFFFFEu
#define PAGE_FULL 0xFFFFFFFCu
#define VERSION2 0xFEu
#define FIRST_ENTRY 64u
#define ENTRY 32u
#define KEY_MAX 15u
#define MAX_STRING 4000u

static uint32_t crc_ff(const void *p, size_t n) { return dl_crc32_update(0xFFFFFFFFu, p, n); }

static uint8_t *page_at(struct dl_nvs_writer *w) { return w->img + (size_t)w->page * DL_NVS_PAGE; }

static void page_header(uint8_t *pg, unsigned seq)
{
	dl_put_u32le(pg, PAGE_ACTIVE);
	dl_put_u32le(pg + 4, seq);
	pg[8] = VERSION2;
	dl_put_u32le(pg + 28, crc_ff(pg + 4, 24));
}

void dl_nvs_begin(struct dl_nvs_writer *w, uint8_t *img, size_t size)
{
	memset(w, 0, sizeof *w);
	w->img = img;
	w->size = size;
	memset(img, 0xFF, size);
	if (size < DL_NVS_PAGE || size % DL_NVS_PAGE != 0) {
		w->err = DL_ERR_TOO_LARGE;
		return;
	}
	page_header(img, 0);
}

static void new_page(struct dl_nvs_writer *w)
{
	if (w->err)
		return;
	dl_put_u32le(page_at(w), PAGE_FULL);
	/* The generator keeps one page free at the end (ESP-FACTS §4). */
	if ((size_t)(w->page + 3) * DL_NVS_PAGE > w->size) {
		w->err = DL_ERR_TOO_LARGE;
		return;
	}
	w->page++;
	w->entry = 0;
	page_header(page_at(w), w->page);
}

/* Copies n bytes (unless p is NULL: already in place) as entries from the
 * current position and marks them written. */
static void put_entries(struct dl_nvs_writer *w, const uint8_t *p, size_t n)
{
	uint8_t *pg = page_at(w);
	size_t count = (n + ENTRY - 1) / ENTRY;
	if (p != NULL && n > 0)
		memcpy(pg + FIRST_ENTRY + (size_t)w->entry * ENTRY, p, n);
	for (size_t i = 0; i < count; i++, w->entry++)
		pg[32 + w->entry / 4] &= (uint8_t) ~(1u << ((w->entry * 2) & 7));
}

static void entry_init(uint8_t e[ENTRY], uint8_t ns, uint8_t type, uint8_t span, uint8_t chunk,
		       const char *key)
{
	memset(e, 0xFF, ENTRY);
	e[0] = ns;
	e[1] = type;
	e[2] = span;
	e[3] = chunk;
	memset(e + 8, 0, 16);
	memcpy(e + 8, key, strlen(key));
}

static void entry_crc(uint8_t e[ENTRY])
{
	uint8_t buf[28];
	memcpy(buf, e, 4);
	memcpy(buf + 4, e + 8, 24);
	dl_put_u32le(e + 4, crc_ff(buf, sizeof buf));
}

static int bad_key(struct dl_nvs_writer *w, const char *key)
{
	if (w->err)
		return 1;
	if (strlen(key) == 0 || strlen(key) > KEY_MAX) {
		w->err = DL_ERR_MALFORMED;
		return 1;
	}
	return 0;
}

static void primitive(struct dl_nvs_writer *w, uint8_t ns, const char *key, uint8_t type, uint64_t v)
{
	uint8_t e[ENTRY];
	unsigned width = type & 0x0Fu;
	if (bad_key(w, key))
		return;
	if (w->entry >= DL_NVS_ENTRIES)
		new_page(w);
	if (w->err)
		return;
	entry_init(e, ns, type, 1, 0xFF, key);
	for (unsigned i = 0; i < width; i++)
		e[24 + i] = (uint8_t)(v >> (8 * i));
	entry_crc(e);
	put_entries(w, e, ENTRY);
}

void dl_nvs_namespace(struct dl_nvs_writer *w, const char *name)
{
	if (w->err)
		return;
	w->ns_count++;
	w->ns_cur = w->ns_count;
	primitive(w, 0, name, DL_NVS_U8, w->ns_cur);
}

void dl_nvs_int(struct dl_nvs_writer *w, const char *key, enum dl_nvs_type type, uint64_t v)
{
	primitive(w, w->ns_cur, key, (uint8_t)type, v);
}

void dl_nvs_string(struct dl_nvs_writer *w, const char *key, const char *s, size_t n)
{
	uint8_t e[ENTRY];
	size_t len = n + 1, data_entries = (len + ENTRY - 1) / ENTRY;
	if (bad_key(w, key))
		return;
	if (len > MAX_STRING) {
		w->err = DL_ERR_MALFORMED;
		return;
	}
	if (w->entry + data_entries + 1 >= DL_NVS_ENTRIES)
		new_page(w);
	if (w->err)
		return;
	entry_init(e, w->ns_cur, DL_NVS_STR, (uint8_t)(data_entries + 1), 0xFF, key);
	dl_put_u16le(e + 24, (uint16_t)len);
	uint32_t crc = dl_crc32_update(0xFFFFFFFFu, s, n);
	crc = dl_crc32_update(crc, "", 1);
	dl_put_u32le(e + 28, crc);
	entry_crc(e);
	put_entries(w, e, ENTRY);
	uint8_t *dst = page_at(w) + FIRST_ENTRY + (size_t)w->entry * ENTRY;
	memcpy(dst, s, n);
	dst[n] = 0;
	put_entries(w, NULL, len);
}

/* One blob data chunk on the current page; returns the tailroom it had. */
static size_t blob_chunk(struct dl_nvs_writer *w, uint8_t e[ENTRY], const uint8_t *data, size_t *off,
			 size_t total, uint8_t index)
{
	size_t tailroom = (DL_NVS_ENTRIES - w->entry - 1) * ENTRY;
	size_t chunk = total - *off < tailroom ? total - *off : tailroom;
	e[1] = DL_NVS_BLOB_DATA;
	e[2] = (uint8_t)((chunk + ENTRY - 1) / ENTRY + 1);
	e[3] = index;
	dl_put_u16le(e + 24, (uint16_t)chunk);
	dl_put_u32le(e + 28, crc_ff(data + *off, chunk));
	entry_crc(e);
	put_entries(w, e, ENTRY);
	put_entries(w, data + *off, chunk);
	*off += chunk;
	return tailroom - chunk;
}

void dl_nvs_blob(struct dl_nvs_writer *w, const char *key, const uint8_t *data, size_t n)
{
	uint8_t e[ENTRY];
	size_t off = 0;
	uint8_t chunks = 0;
	if (bad_key(w, key))
		return;
	if (w->entry >= DL_NVS_ENTRIES)
		new_page(w);
	entry_init(e, w->ns_cur, DL_NVS_BLOB_DATA, 0xFF, 0xFF, key);
	while (!w->err) {
		size_t left = blob_chunk(w, e, data, &off, n, chunks);
		chunks++;
		if (off < n || left < ENTRY)
			new_page(w);
		if (off == n)
			break;
	}
	if (w->err)
		return;
	memset(e + 24, 0xFF, 8);
	e[1] = DL_NVS_BLOB_IDX;
	e[2] = 1;
	e[3] = 0xFF;
	dl_put_u32le(e + 24, (uint32_t)n);
	e[28] = chunks;
	e[29] = 0;
	entry_crc(e);
	put_entries(w, e, ENTRY);
}

int dl_nvs_finish(struct dl_nvs_writer *w)
{
	if (w->err)
		return w->err;
	return (int)w->page + 1;
}

/* ---- reader ---- */

static int entry_written(const uint8_t *pg, unsigned i)
{
	return ((pg[32 + i / 4] >> ((i * 2) & 7)) & 3u) == 2u;
}

static int page_ok(const uint8_t *pg)
{
	uint32_t st = dl_get_u32le(pg);
	return (st == PAGE_ACTIVE || st == PAGE_FULL) && pg[8] == VERSION2 &&
	       dl_get_u32le(pg + 28) == crc_ff(pg + 4, 24);
}

static int entry_ok(const uint8_t *e)
{
	uint8_t buf[28];
	memcpy(buf, e, 4);
	memcpy(buf + 4, e + 8, 24);
	return dl_get_u32le(e + 4) == crc_ff(buf, sizeof buf);
}

static int key_is(const uint8_t *e, const char *key)
{
	size_t n = strlen(key);
	if (n > KEY_MAX || memcmp(e + 8, key, n) != 0)
		return 0;
	for (size_t i = n; i < 16; i++)
		if (e[8 + i] != 0)
			return 0;
	return 1;
}

/* Finds the entry (ns, type or 0 = any but blob data, chunk) with key. */
static const uint8_t *find(const uint8_t *img, size_t size, uint8_t ns, const char *key, uint8_t type,
			   uint8_t chunk)
{
	for (size_t p = 0; p + DL_NVS_PAGE <= size; p += DL_NVS_PAGE) {
		const uint8_t *pg = img + p;
		if (!page_ok(pg))
			continue;
		for (unsigned i = 0; i < DL_NVS_ENTRIES;) {
			const uint8_t *e = pg + FIRST_ENTRY + (size_t)i * ENTRY;
			unsigned span = entry_written(pg, i) && entry_ok(e) && e[2] >= 1 ? e[2] : 1;
			if (entry_written(pg, i) && entry_ok(e) && e[0] == ns && key_is(e, key) &&
			    (type ? e[1] == type && e[3] == chunk : e[1] != DL_NVS_BLOB_DATA) &&
			    i + span <= DL_NVS_ENTRIES)
				return e;
			i += span;
		}
	}
	return NULL;
}

static int get_blob(const uint8_t *img, size_t size, uint8_t ns, const char *key, const uint8_t *idx,
		    uint8_t *out, size_t cap)
{
	uint32_t total = dl_get_u32le(idx + 24);
	size_t off = 0;
	if (total > cap)
		return DL_ERR_TOO_LARGE;
	for (uint8_t c = 0; c < idx[28]; c++) {
		const uint8_t *e = find(img, size, ns, key, DL_NVS_BLOB_DATA, (uint8_t)(idx[29] + c));
		if (e == NULL)
			return DL_ERR_NOT_FOUND;
		size_t n = dl_get_u16le(e + 24);
		if (n > total - off || (size_t)(e[2] - 1) * ENTRY < n)
			return DL_ERR_MALFORMED;
		if (crc_ff(e + ENTRY, n) != dl_get_u32le(e + 28))
			return DL_ERR_CRC;
		memcpy(out + off, e + ENTRY, n);
		off += n;
	}
	return off == total ? (int)total : DL_ERR_MALFORMED;
}

int dl_nvs_get(const uint8_t *img, size_t size, const char *ns, const char *key, uint8_t *type,
	       uint8_t *out, size_t cap)
{
	const uint8_t *nse = find(img, size, 0, ns, DL_NVS_U8, 0xFF);
	if (nse == NULL)
		return DL_ERR_NOT_FOUND;
	const uint8_t *e = find(img, size, nse[24], key, 0, 0);
	if (e == NULL)
		return DL_ERR_NOT_FOUND;
	*type = e[1];
	if (e[1] == DL_NVS_BLOB_IDX)
		return get_blob(img, size, nse[24], key, e, out, cap);
	if (e[1] == DL_NVS_STR) {
		size_t n = dl_get_u16le(e + 24);
		if (n > cap)
			return DL_ERR_TOO_LARGE;
		if ((size_t)(e[2] - 1) * ENTRY < n)
			return DL_ERR_MALFORMED;
		if (crc_ff(e + ENTRY, n) != dl_get_u32le(e + 28))
			return DL_ERR_CRC;
		memcpy(out, e + ENTRY, n);
		return (int)n;
	}
	if (cap < 8)
		return DL_ERR_TOO_LARGE;
	memcpy(out, e + 24, 8);
	return 8;
}

int dl_nvs_page_valid(const uint8_t *pg)
{
	if (!page_ok(pg))
		return 0;
	for (unsigned i = 0; i < DL_NVS_ENTRIES;) {
		const uint8_t *e = pg + FIRST_ENTRY + (size_t)i * ENTRY;
		if (!entry_written(pg, i)) {
			i++;
			continue;
		}
		if (!entry_ok(e) || e[2] < 1 || i + e[2] > DL_NVS_ENTRIES)
			return 0;
		i += e[2];
	}
	return 1;
}
