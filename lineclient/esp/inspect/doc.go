// Package inspect reads a module's flash — a whole image, or one partition
// read back with a flasher — and checks what an esp-matter device would read
// from it: the partition table, every esp_secure_cert TLV and factory NVS
// entry with its CRC, the DAC → PAI (→ PAA) chain, that the DAC certifies
// the stored key (or its public half), the Certification Declaration, and
// the onboarding data against the station's manifest row (the device keeps
// only the SPAKE2+ verifier; the passcode, QR payload and manual code come
// from the row and are recomputed here).
//
// Invariants:
//   - Inspect never panics on input; a format error stops the part it is in
//     (reported as a failed check naming the partition and offset) and the
//     other parts are still inspected.
//   - Report.OK is true only when every check that ran passed; checks that
//     need an input that was not given (PAA, manifest) are skipped, never
//     passed.
//   - No private key bytes are put in a report: a stored key is shown as
//     its public key's SHA-256.
package inspect
