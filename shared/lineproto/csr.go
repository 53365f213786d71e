package lineproto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrCSR reports a GENERATE_KEY reply whose CSR breaks §5.2.
var ErrCSR = errors.New("lineproto: module csr rejected")

// CheckCSR applies the host's checks of docs/line-protocol.md §5.2 to a
// GENERATE_KEY reply: PKCS#10 DER, EC P-256 key, ecdsa-with-SHA256, a
// signature that verifies, and an SPKI digest that matches the CSR. The
// appliance checks the CSR again against its policy (shared/matter).
func (r *GenerateKeyResponse) CheckCSR() (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(r.CSR)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSR, err)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: key is not ecdsa p-256", ErrCSR)
	}
	if canon, err := x509.MarshalPKIXPublicKey(pub); err != nil || !bytes.Equal(canon, csr.RawSubjectPublicKeyInfo) {
		return nil, fmt.Errorf("%w: subject public key info is not the canonical der of its key", ErrCSR)
	}
	if csr.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return nil, fmt.Errorf("%w: signature algorithm %s, want ecdsa-with-SHA256", ErrCSR, csr.SignatureAlgorithm)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrCSR, err)
	}
	if sha256.Sum256(csr.RawSubjectPublicKeyInfo) != r.SPKIHash {
		return nil, fmt.Errorf("%w: spki digest in the reply does not match the csr", ErrCSR)
	}
	return csr, nil
}
