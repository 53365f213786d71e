// Package issuance is the appliance's issuance store: the durable record, in
// the appliance's bbolt file, of every DAC ever issued and of every signing
// ceremony.
//
// Layout (all under the top-level bucket "issuance"):
//
//	batch-dacs     batch ID → bucket: index (uint32 BE) → DACRecord (compact binary, record.go)
//	by-spki        SHA-256(SubjectPublicKeyInfo) → (batch ID, index) of its DACRecord
//	by-serial      serial number bytes           → SHA-256(SPKI)
//	ceremonies     batch ID                      → Ceremony (JSON)
//	batch-refusals batch ID → bucket: index (uint32 BE) → Refusal (JSON)
//	station-issued station name                  → uint64 BE count of DACs
//	reserved       SHA-256(SPKI)                 → batch ID of the unfinished ceremony that reserved the key
//
// Invariants, enforced by PutDAC inside the caller's transaction:
//   - a public key is certified at most once (by-spki is unique);
//   - a serial number is used at most once (by-serial is unique);
//   - a (batch, index) pair gets at most one DAC;
//   - a key reserved by an unfinished ceremony is certified by that batch
//     only (the reservation is made at start, released by the DAC's commit
//     or by abandoning the ceremony).
//
// Ceremony records change only through the named transitions of
// transitions.go (start, commit-chunk, complete-issuance, seal-bundle,
// finish, abandon), each checking the state it moves from.
//
// DAC records live under their batch with sequential keys, so a ceremony's
// commits append to the B+tree instead of touching random pages; the two
// indexes with random keys hold only small values.
//
// The functions here take the caller's *bbolt.Tx so that a DAC record, the
// ceremony state and the audit log entry that describes it commit together:
// the ceremony package names each such transaction. A Ceremony record is also
// the batch's consumed marker: a csr-batch whose ID has a ceremony is never
// signed again, only resumed (same manifest) or refused (different manifest).
package issuance
