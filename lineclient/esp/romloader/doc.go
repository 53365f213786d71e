// Package romloader speaks the ESP serial ROM-loader protocol (espressif/esptool
// docs/en/advanced-topics/serial-protocol.rst): the client a station uses to
// flash and read back a module held in download mode, and the emulator (Server)
// the simulator puts behind its pseudo-terminals.
//
// Wire format: every packet is SLIP-framed (0xC0 delimits; 0xC0 → DB DC,
// 0xDB → DB DD). A request is `00 op size16 checksum32 data`; a response is
// `01 op size16 value32 data`, the data ending in status bytes — four from a
// chip's ROM loader (status, error, two reserved), two from esptool's stub.
// All integers are little-endian. The checksum (only for *_DATA commands) is
// the XOR of the payload bytes seeded with 0xEF.
//
// Invariants the client keeps:
//   - it never writes before it has synchronised and identified the chip, and
//     it never sends a command secure download mode refuses to a chip in that
//     mode (ErrSecureDownload instead): no READ_REG, no MD5, no compressed
//     writes, no flash read, no RAM loads;
//   - a region counts as written only when the chip's SPI_FLASH_MD5 of it
//     equals the MD5 of the bytes sent (WriteVerified); a write interrupted by
//     a reset, a bad status or a lost reply is restarted from FLASH_BEGIN;
//   - malformed input (bad SLIP escapes, short packets, wrong sizes) is an
//     error naming what was wrong, never a panic.
//
// The emulator answers against a Flash (a 4 MiB image, 0xFF when erased) and a
// SecurityInfo, and can inject the faults a real line sees: dropped and
// corrupted frames, an MD5 that does not match (a bad flash write), a reset in
// the middle of a write, and secure download mode.
package romloader
