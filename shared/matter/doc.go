// Package matter holds the Matter device-attestation knowledge dacline relies on:
// the PAA, PAI and DAC certificate profiles (templates, issuance and
// validation), DAC certificate signing requests, and Certification
// Declarations (Matter-TLV content wrapped in CMS SignedData).
//
// Every rule comes from the Matter Core specification §6.2 and from what the
// Matter SDK (project-chip/connectedhomeip) enforces:
// VerifyAttestationCertificateFormat in src/crypto/CHIPCryptoPALOpenSSL.cpp,
// ExtractVIDPIDFromX509Cert in src/crypto/CHIPCryptoPAL.cpp, the chain and
// VID/PID checks of DefaultDeviceAttestationVerifier.cpp, and
// src/credentials/CertificationDeclaration.cpp.
//
// Invariants:
//   - Every validation failure is a *RuleError whose Rule names the rule that
//     failed ("dac.basicConstraints.critical", "chain.dacVendorIdMismatch",
//     "cd.vendorIdMismatch"), so an operator can tell exactly what is wrong.
//   - IssueCertificate never returns a certificate that does not pass the same
//     validators a commissioner runs, and never uses hidden randomness: serial
//     numbers come from the caller, and the signer is given a reader that fails.
//   - Parsers never panic on input and refuse oversize input before parsing.
//   - Validation time is always explicit (the *At variants); the plain
//     variants use time.Now.
package matter
