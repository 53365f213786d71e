// Package onboarding encodes and decodes the Matter onboarding payload that goes on
// a device label — the QR code payload ("MT:" + base38) and the manual pairing code
// (11 or 21 digits with a Verhoeff check digit) — generates passcodes and
// discriminators from crypto/rand, and derives the SPAKE2+ verifier a device stores
// instead of its passcode.
//
// Sources: Matter Core specification §5.1 (onboarding payload) and the PAKE chapter (SPAKE2+),
// as implemented by the Matter SDK (project-chip/connectedhomeip
// src/setup_payload and scripts/tools/spake2p); the facts used are summarised in
// MATTER-FACTS.md §3–4.
//
// Invariants:
//   - Every encoder refuses a payload the SDK would refuse to produce: version ≠ 0,
//     passcode outside IsValidPasscode, discriminator above 12 bits, reserved flow or
//     discovery bits, vendor IDs above 0xFFF4, product ID 0 with a vendor ID.
//   - Every decoder refuses what the SDK refuses to consume, with an error that names
//     the field and the value, and never panics on any input (fuzzed).
//   - decode(encode(x)) == x for every payload, manual code and optional TLV datum the
//     encoders accept.
//   - Passcodes and discriminators come from crypto/rand only, by rejection sampling
//     (uniform, and no invalid passcode is ever returned).
package onboarding
