// Package securecert reads and writes the TLV format of the
// esp_secure_cert partition (espressif/esp_secure_cert_mgr), where an
// esp-matter device built with the secure-cert DAC provider finds its DAC,
// PAI and DAC key.
//
// Each entry: a 12-byte little-endian header — magic 0xBA5EBA11, flags,
// 3 reserved bytes, type, subtype, data length u16 — the data, zero padding
// to a multiple of 16 bytes, and a CRC32 of header, data and padding,
// computed as zlib.crc32(b, 0xFFFFFFFF) (the tool's seed quirk). Entries
// follow each other from offset 0; the newer builder ends them with an
// INTEGRITY entry (SHA-256 of every byte before it) and the u32 end marker
// 0x0000FFFF; erased flash (0xFF) ends them too.
//
// Invariants:
//   - Encode of the same entries gives the bytes Espressif's builder writes
//     (golden vector in testdata/).
//   - Parse never panics: a bad magic, a bad CRC, a length past the
//     partition's end, a wrong INTEGRITY digest or a duplicate type/subtype
//     is an error naming the offset and the entry.
package securecert
