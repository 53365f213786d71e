// Package lineproto is the factory line protocol between the line client
// (host) and a module's manufacturing firmware over a UART
// (docs/line-protocol.md is the normative spec; this package is its codec and
// its host side).
//
// Layers, bottom up:
//   - framing (frame.go, cobs.go): COBS-encoded frames ending in 0x00, each
//     with a CRC-32; a Deframer resynchronises on the next delimiter after
//     noise, dropped bytes or an overlong run;
//   - messages (message.go): a 10-byte header (version, type, flags, status,
//     request ID, body length) and a TLV body (tlv.go, bodies.go);
//   - the Client (client.go): one command at a time, per-command timeouts,
//     retries that reuse the request ID.
//
// Invariants:
//   - No message type can carry a private key. The module's key is generated
//     on the chip and only its CSR, SPKI digest and signatures leave it.
//   - Every command is idempotent: a retry with the same request ID after a
//     lost reply yields the same answer, and even a new request ID repeats the
//     effect at most once (GENERATE_KEY never makes a second key, COMMIT of
//     the same digest is a no-op, LOCK of a burned step reports it burned).
//   - Decoders never panic on input and bound every length (MaxBody,
//     MaxEncodedFrame, per-field limits).
package lineproto
