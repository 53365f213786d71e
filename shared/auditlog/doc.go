// Package auditlog defines dacline's audit log as an auditor sees it: the
// entry format, signed checkpoints, proofs, the log-export directory, and the
// offline verifier that reconciles a log with bundles and line manifests.
//
// It runs on any machine and needs no HSM: everything here is public data.
// The appliance side (durable append in bbolt, checkpoint signing) lives in
// appliance/applog and builds on these types.
//
// # Invariants
//
//   - An entry is one canonical JSON object (docs/audit-log.md, "Canonical
//     JSON"): keys sorted, no insignificant whitespace, UTF-8, integers only,
//     every field always present. ParseEntry rejects anything else, so one
//     event has exactly one byte encoding and one leaf hash.
//   - Entry seq is the zero-based index of the entry in the log and the index
//     of its leaf in the Merkle tree.
//   - The tree is the RFC 6962 Merkle tree of golang.org/x/mod/sumdb/tlog:
//     leaf hash = tlog.RecordHash(entry bytes) = SHA-256(0x00 ‖ entry).
//   - A checkpoint is a C2SP tlog-checkpoint (origin, decimal size, base64
//     root) signed as a C2SP signed note with the appliance's Ed25519 key.
//     The checkpoint origin equals the signing key's name.
//   - A tlog-proof (c2sp.org/tlog-proof@v1) proves one entry against one
//     checkpoint without the rest of the log.
package auditlog
