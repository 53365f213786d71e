// Package bundle writes and reads dacline air-gap bundles: the only thing that crosses
// between a station and the appliance (and from the appliance to auditors) is a file on a
// USB stick in the format specified in airgap-bundles/FORMAT.md.
//
// A bundle is a canonical ustar archive — manifest.json, manifest.sig, then the payload
// files in manifest order — encrypted with age to exactly the receiver's X25519
// recipient, binary (never armored) (log-export may be signed-only). manifest.sig is a C2SP signed note by the sender's
// Ed25519 key over a text that carries the SHA-256 of manifest.json; the manifest carries
// the size, SHA-256 and line count of every payload file.
//
// Invariants:
//   - Writing and reading stream: payload files are spooled to a private temporary
//     directory (writer) or decrypted to one (reader); no batch is held in memory.
//   - The reader uses decrypted bytes only after age reports a clean end, verifies the
//     signature against the sender's trusted key before the manifest or any payload is
//     parsed, and checks every byte of the archive (canonical headers, zero padding,
//     nothing after the end) and every payload hash before returning. Any failure is a
//     *RefusalError whose Reason says what failed; a refused bundle yields nothing.
//     A failure of the local disk while decrypting (no space left) is an error of
//     the reader's machine, never a refusal: it wraps the system error.
//   - Replay: the reader refuses a batch ID the receiver's ConsumedStore reports; the
//     receiver records the ID with MarkConsumed in the same bbolt transaction that commits
//     the import, so a batch is imported once or not at all.
//   - Bundles are written to removable media atomically and durably and are read back
//     and verified before success is reported; an existing bundle is never overwritten.
package bundle
