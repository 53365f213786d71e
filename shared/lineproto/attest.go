package lineproto

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
)

// attestContext separates attestation signatures from anything else the DAC
// key signs (Matter attestation signs attestation_elements ‖ challenge; this
// prefix makes an ATTEST signature useless as one of those and vice versa).
const attestContext = "dacline line-protocol attest v1\x00"

// AttestationMessage returns the exact bytes the module signs for ATTEST
// (docs/line-protocol.md §5.6):
//
//	"dacline line-protocol attest v1" 0x00 ‖ nonce (32) ‖ SHA-256(DAC DER) (32)
//
// The signature is ECDSA P-256 over SHA-256 of these 96 bytes, ASN.1 DER.
// Binding the DAC digest proves that the key answering is the key of the DAC
// the module holds, not merely some key.
func AttestationMessage(nonce, dacSHA256 [32]byte) []byte {
	m := make([]byte, 0, len(attestContext)+64)
	m = append(m, attestContext...)
	m = append(m, nonce[:]...)
	return append(m, dacSHA256[:]...)
}

// ErrAttestation reports an attestation that does not verify.
var ErrAttestation = errors.New("lineproto: attestation does not verify")

// VerifyAttestation checks an ATTEST response against the DAC the host
// wrote and the nonce it sent: the digest must be the DAC's, and the
// signature must verify under the DAC's public key.
func VerifyAttestation(dacDER []byte, nonce [32]byte, r *AttestResponse) error {
	if got := sha256.Sum256(dacDER); got != r.DACSHA256 {
		return fmt.Errorf("%w: module attests dac %x, host wrote %x", ErrAttestation, r.DACSHA256[:8], got[:8])
	}
	cert, err := x509.ParseCertificate(dacDER)
	if err != nil {
		return fmt.Errorf("%w: parse dac: %v", ErrAttestation, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: dac key is not ecdsa", ErrAttestation)
	}
	h := sha256.Sum256(AttestationMessage(nonce, r.DACSHA256))
	if !ecdsa.VerifyASN1(pub, h[:], r.Signature) {
		return fmt.Errorf("%w: signature does not verify under the dac public key", ErrAttestation)
	}
	return nil
}
