// Package partition reads and writes ESP-IDF partition tables in both forms
// Espressif's gen_esp32part.py handles: the CSV a firmware project keeps and
// the binary table flashed at 0x8000.
//
// Binary form: 32-byte entries — magic AA 50, type, subtype, offset u32,
// size u32, name (16 bytes, NUL-padded), flags u32 (bit 0 encrypted, bit 1
// readonly) — then the MD5 entry (EB EB, 14 × FF, MD5 of the entries before
// it), then 0xFF up to 0xC00 bytes.
//
// Invariants:
//   - MarshalBinary of a table parsed from CSV gives the bytes
//     gen_esp32part.py writes for that CSV (an empty subtype of a data or
//     custom type is 0x06 "undefined", as there).
//   - Verify refuses what gen_esp32part.py refuses: duplicate names,
//     overlaps, partitions below the table's sector, misaligned offsets
//     (app 0x10000, others 0x1000), app sizes not a multiple of 0x1000, a
//     second otadata or one not 0x2000 bytes, read-write NVS below 0x3000.
//   - ParseBinary never panics; a bad magic, a bad MD5 or a missing end
//     marker is an error naming the entry and its offset.
package partition
