// Package nvs reads and writes ESP-IDF NVS partitions, version 2 (multi-page
// blobs), unencrypted: the format of the factory NVS partition (`fctry`,
// namespace `chip-factory`) that esp-matter's factory data provider reads.
//
// Layout (esp-idf components/nvs_flash, Espressif's nvs_partition_gen.py):
// 4,096-byte pages, each a 32-byte header (state, sequence number, version
// 0xFE, CRC32 of bytes 4–27), a 32-byte entry-state bitmap (2 bits an entry:
// 11 empty, 10 written, 00 erased) and 126 entries of 32 bytes. An entry is
// namespace index, type, span, chunk index, CRC32 of bytes 0–3 and 8–31, a
// 16-byte NUL-padded key and 8 data bytes. Strings and blob chunks occupy the
// entries after their header. Namespaces are u8 entries in namespace 0.
//
// Invariants:
//   - Writer output is byte-identical to nvs_partition_gen.py `generate` for
//     the same rows in the same order (golden vectors in testdata/): every
//     CRC uses the generator's seed quirk, crc32(data, 0xFFFFFFFF); unused
//     bytes stay 0xFF; the last page is the reserved (erased) page.
//   - The reader never panics: every offset is bounded; a bad CRC, a span
//     past the page, a blob whose chunks disagree with its index or a
//     duplicate key is an error naming the page, entry and key.
package nvs
