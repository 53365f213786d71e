// Package ceremony is the appliance's signing ceremony: a csr-batch bundle
// from an enrolled station in, one DAC per accepted CSR issued with the PAI
// key in the HSM, a dac-batch bundle for the station out.
//
// # Steps
//
//  1. OpenBatch decrypts the bundle (age, the appliance's identity), verifies
//     the station's signature against the enrollment registry and every
//     payload hash. A damaged or foreign bundle is refused before anything
//     is read or recorded.
//  2. Runner.Run looks the batch ID up. A batch ID with a ceremony record and
//     the same manifest is resumed (or, when finished, reproduced); with
//     another manifest it is refused (ErrReplayed). The ceremony record is
//     the consumed marker: it is written, together with the bundle layer's
//     consumed-batches entry, in the start transaction.
//  3. Every CSR is checked (check.go): ParseDACCSR (PKCS#10, P-256,
//     ecdsa-with-SHA256, proof of possession), product allowed for the
//     station by the policy and covered by the PAI, key never certified
//     (issuance store) and not twice in the batch. A refused CSR gets a
//     reason and the batch goes on. Batch-level rules (station in the
//     policy, max_batch_size, quota, PAI valid at the DAC notBefore) refuse
//     the whole batch. --dry-run stops here and records nothing.
//  4. Transaction "start-ceremony": ceremony record (policy hash, officer,
//     ceremony time → DAC validity, return batch ID), the reservation of
//     every accepted CSR's key (reservations.go), refusals, and their audit
//     entries (ceremony-started, csr-refused).
//  5. Issuing (issue.go): the producer reads accepted CSRs and draws serials
//     from the HSM (C_GenerateRandom, 16 bytes, top bit cleared and the next
//     set: a positive INTEGER of exactly 16 octets, checked unique against
//     the serial index); workers sign in parallel through the HSM session
//     pool with matter.IssueCertificate (template linted before; signature
//     verified once, by x509.CreateCertificate, and profile after); each
//     chunk (default 256 DACs) commits in
//     one transaction "commit-dacs" with the DACs' audit entries. A DAC
//     exists outside the process only once committed.
//  6. Transaction "finish-issuance" records the audit checkpoint signed after
//     the last DAC; the return bundle's proofs refer to it.
//  7. The return bundle (output.go) is built from the store alone, sealed
//     (manifest signed with the appliance's Ed25519 key, encrypted to the
//     station), its hash recorded as pending before the rename makes it
//     visible ("seal-bundle"), and recorded as written after it is read back
//     ("record-bundle", with bundle-written and ceremony-finished entries).
//
// # Exactly once
//
// Killed anywhere, the ceremony run again with the same bundle finishes: the
// refusals are not re-decided (they are recorded), committed DACs are kept,
// CSRs without a DAC are signed with fresh serials (a signed but uncommitted
// DAC never left the process, so its serial was never used), the
// checkpoint is signed again over the same tree if it was not recorded
// (Ed25519 and the tree are deterministic, so it is the same checkpoint),
// and a return bundle already on the medium is recognised by the pending
// hash. The issuance store enforces one DAC per key, per serial and per
// (batch, index) inside the commit transaction itself.
//
// A finished batch run again writes the same return bundle contents: the
// same manifest (batch ID, creation time, counts, file hashes — fixed at
// start and finish), the same payload files and the same manifest
// signature. Only the age ciphertext differs, by design: age draws a fresh
// file key for every encryption. Nothing is signed again; the log gets one
// bundle-written entry per copy.
//
// A ceremony resumes only under the policy it started with (ErrPolicyChanged).
//
// The ceremony record changes only through the issuance store's named
// transitions (start, commit-chunk, complete-issuance, seal-bundle, finish,
// abandon), each checking its from-state. An unfinished ceremony reserves
// its keys (a later batch refuses them, ReasonReserved) and its accepted
// CSRs count against the station's quota until it finishes or the officer
// abandons it (Abandon: a ceremony-abandoned entry listing the serials of
// its issued, undelivered DACs for revocation). A ceremony rebuilt from a
// log export after a restore (RestoreFromEntry) is never resumed or
// reproduced.
//
// # Chain validation
//
// matter.IssueCertificate verifies each DAC's signature with the PAI key,
// its profile and the DAC↔PAI VID/PID rule. The full matter.ValidateChainAt
// (PAA and PAI profiles, PAI signed by the PAA, issuance-time validity, PAA
// VID) runs on the first DAC of every chunk: everything it adds is the same
// for all DACs of a ceremony (one notBefore), and the rest — issuer name and
// key identifier, validity now, the VID/PID asked for, the CSR's key — is
// checked on every DAC (checkIssued).
//
// # Cost per DAC, and memory
//
// Each DAC costs three public-key operations, each done once: the CSR's
// proof of possession (ParseDACCSR, in the check), the token's signature
// (C_SignInit + C_Sign) and its verification with the PAI key, which
// x509.CreateCertificate performs inside matter.IssueCertificate before
// returning (the PAI signer is hsm.Key.X509Signer, which leaves that
// verification to crypto/x509 instead of doing it a second time). The rest
// — templates, profile checks, the issuance store, the audit log, the
// return bundle — is about a fifth of the CPU. BenchmarkCeremony prints the
// DAC rate beside the raw C_Sign rate of the same token and the CPU time per
// DAC, which does not depend on what else the machine runs.
//
// Memory stays flat with the batch size: CSRs and DACs stream; what grows is
// the check's duplicate-key map (about 50 MB for 1,000,000 CSRs) and the
// bitset of done indexes. bbolt reads through a map of the whole file, and
// every random index lookup maps a 64 KB fault-around window, so the
// ceremony hands the mapped pages back when they pass 64 MB
// (boltmem.ReleaseAbove); appliance sign gives the Go runtime a soft memory
// limit (LimitMemory).
//
// # Test hook
//
// CrashHook (crash.go) is called at each named point of a ceremony. Only
// tests set it (appliance/ceremony/crashtest: the process SIGKILLs itself at
// the n-th arrival at a point, like a power cut); that is how the resume tests
// stop the ceremony at exact places. The test binaries of this package and of
// cmd/appliance read the point from DACLINE_TEST_CRASH_AT=point[:n]; the
// appliance program reads no test variable.
package ceremony
