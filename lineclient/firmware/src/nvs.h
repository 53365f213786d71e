/*
 * nvs.h — ESP-IDF NVS partitions, version 2 (multi-page blobs), unencrypted.
 *
 * The writer lays entries out exactly as Espressif's NVS partition generator
 * (esp-idf-nvs-partition-gen, `generate CSV OUT SIZE`) does for the same
 * sequence of CSV rows: same page headers, bitmaps, spans, chunking, CRCs, and
 * 0xFF for everything unused (ESP-FACTS §4). Feed it the rows in CSV order.
 * It works in a caller-owned image buffer; on any failure the writer is
 * marked failed, later calls do nothing and dl_nvs_finish reports the first
 * error (DL_ERR_TOO_LARGE: the rows do not fit the size; DL_ERR_MALFORMED: a
 * key longer than 15 bytes, a string over 4000 bytes).
 *
 * The reader finds one key of one namespace in an image (every page whose
 * header CRC is valid, every entry marked written whose CRC is valid) and
 * copies its value out: integers as 8 bytes LE, strings with their NUL, blobs
 * reassembled from their chunks with each chunk's data CRC checked. It
 * returns the value length, DL_ERR_NOT_FOUND, DL_ERR_TOO_LARGE (out too
 * small) or DL_ERR_CRC.
 */
#ifndef DL_NVS_H
#define DL_NVS_H

#include <stddef.h>
#include <stdint.h>

#include "dl.h"

#define DL_NVS_PAGE 4096u
#define DL_NVS_ENTRIES 126u

enum dl_nvs_type {
	DL_NVS_U8 = 0x01, DL_NVS_I8 = 0x11, DL_NVS_U16 = 0x02, DL_NVS_I16 = 0x12,
	DL_NVS_U32 = 0x04, DL_NVS_I32 = 0x14, DL_NVS_U64 = 0x08, DL_NVS_I64 = 0x18,
	DL_NVS_STR = 0x21, DL_NVS_BLOB_DATA = 0x42, DL_NVS_BLOB_IDX = 0x48,
};

struct dl_nvs_writer {
	uint8_t *img;
	size_t size;       /* a multiple of DL_NVS_PAGE */
	unsigned page;     /* current page */
	unsigned entry;    /* next free entry in the current page */
	uint8_t ns_count, ns_cur;
	int err;
};

void dl_nvs_begin(struct dl_nvs_writer *w, uint8_t *img, size_t size);
void dl_nvs_namespace(struct dl_nvs_writer *w, const char *name);
/* An integer row: type is one of the eight integer types; v holds its two's complement bits. */
void dl_nvs_int(struct dl_nvs_writer *w, const char *key, enum dl_nvs_type type, uint64_t v);
/* A string row (encoding string): s without its NUL, n bytes. */
void dl_nvs_string(struct dl_nvs_writer *w, const char *key, const char *s, size_t n);
/* A blob row (encodings binary, hex2bin, base64: the decoded bytes). */
void dl_nvs_blob(struct dl_nvs_writer *w, const char *key, const uint8_t *data, size_t n);
/* Returns the number of pages holding entries, or the first error. */
int dl_nvs_finish(struct dl_nvs_writer *w);

int dl_nvs_get(const uint8_t *img, size_t size, const char *ns, const char *key, uint8_t *type,
	       uint8_t *out, size_t cap);

#endif

/* 1 when pg is a whole NVS v2 page whose header and every written entry check (CRCs). */
int dl_nvs_page_valid(const uint8_t *pg);
