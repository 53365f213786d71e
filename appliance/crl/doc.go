// Package crl is the appliance's DAC revocation (Matter Core 1.4 §6.2.4):
// certificate revocation lists signed by the PAI key in the token, the set of
// revoked serials they list, and the two forms a device maker publishes them
// in (the DCL revocation distribution point and the revocation set that
// commissioners and test harnesses read).
//
// Invariants:
//   - Only DACs this appliance issued are revoked: every serial is looked up
//     in the issuance store, and one the appliance never issued (or that
//     another PAI signed) refuses the whole request before anything is
//     written.
//   - Every CRL is complete (RFC 5280 full CRL, Matter revocationType 1): it
//     lists every serial ever revoked, each with the time and reason of its
//     first revocation. A serial is never removed (no certificateHold).
//   - CRL numbers are strictly increasing: the number, the revoked set, the
//     CRL itself and its crl-issued audit log entry are committed in one
//     bbolt transaction, before the file is written. A crash after the commit
//     costs a number, never reuses one.
//   - A CRL is verified against the PAI certificate (signature, issuer,
//     authority key ID, every listed serial) before it is recorded.
//   - The PAI that signs is named by the caller (Issuer.PAI); nothing here
//     assumes there is only one.
package crl
