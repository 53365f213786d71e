// Package hsm is the appliance's only way to a PKCS#11 token: it opens a token by
// label, logs in once, generates keys inside the token and signs with them.
//
// Invariants:
//
//   - Private keys are generated inside the token and never leave it: every key made
//     here is CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and not CKA_EXTRACTABLE, may only
//     sign (or, for the AES wrap key, encrypt/decrypt), and is refused (and destroyed)
//     unless the token reports it CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE and
//     CKA_LOCAL. A label that already exists on the token is never reused.
//   - Every signature is verified with the key's public key before it is used, so a
//     faulty token cannot hand out a bad signature: Signer verifies before it
//     returns; X509Signer (for crypto/x509's Create* functions only) leaves the
//     ECDSA verification to crypto/x509, which verifies with the signer's public
//     key before it returns the certificate, so it happens once, not twice. ECDSA
//     signatures come from the token as raw r‖s and must be exactly 64 bytes.
//   - C_Initialize runs once per module per process (a process-wide registry); login
//     is token-wide. A wrong PIN is reported and never retried: tokens lock after a
//     few failures.
//   - Sessions live in a pool (a buffered channel) so signers are safe for concurrent
//     use. A session the token declares gone (CKR_SESSION_HANDLE_INVALID,
//     CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED) is discarded, a new one opened and the
//     operation retried once.
//   - The PIN never appears in argv, logs or error messages (see pin.go).
//   - Data objects (dataobject.go; the audit log anchor) are private token
//     objects; a value is replaced by creating the next generation, reading
//     it back, then destroying the older ones, so a crash never leaves none.
//
// All PKCS#11 calls go through the small PKCtx interface (the boulder pattern), so
// unit tests can drive the error paths; integration tests use a real SoftHSM2 token
// (see the hsmtest package).
package hsm
