package matter

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
)

// MaxCSRDER bounds a DAC CSR. The SDK's own CSR (P-256, placeholder subject,
// empty extension request) is about 230 bytes; 1024 leaves room for a
// module's descriptive subject without admitting junk.
const MaxCSRDER = 1024

// CSR is a validated DAC certificate signing request. Only the public key is
// used for issuance: the subject is informational, the DAC subject comes
// from policy.
type CSR struct {
	PublicKey *ecdsa.PublicKey
	// SPKIHash is the SHA-256 of the DER SubjectPublicKeyInfo; it identifies
	// the device key (one DAC per key).
	SPKIHash [32]byte
	Subject  pkix.Name
	Raw      []byte
}

// ParseDACCSR parses and checks a PKCS#10 DAC CSR in DER: at most MaxCSRDER
// bytes with no trailing data, version 1, an EC P-256 key, ecdsa-with-SHA256,
// the key's SubjectPublicKeyInfo in canonical DER (x509.MarshalPKIXPublicKey's
// bytes), and a signature that verifies with the CSR's own key (proof of
// possession). Failures are *RuleError with rules "csr.size", "csr.parse",
// "csr.version", "csr.publicKey", "csr.spki", "csr.signatureAlgorithm" and
// "csr.signature".
func ParseDACCSR(der []byte) (*CSR, error) {
	if len(der) == 0 {
		return nil, ruleErr("csr", "parse", "CSR is empty")
	}
	if len(der) > MaxCSRDER {
		return nil, ruleErr("csr", "size", "CSR is %d bytes, at most %d accepted", len(der), MaxCSRDER)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, ruleErr("csr", "parse", "%v", err)
	}
	if req.Version != 0 {
		return nil, ruleErr("csr", "version", "CSR version is %d, PKCS#10 v1 (0) required", req.Version)
	}
	pub, ok := req.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, ruleErr("csr", "publicKey", "CSR public key is %s, a DAC key must be EC P-256", describeKey(req.PublicKey))
	}
	// One key, one encoding: the SPKI digest names the key everywhere (the
	// appliance's one-DAC-per-key index, the station's duplicate check, the
	// digest a module reports, the DAC's own SPKI), so a key written any
	// other way (a parameter after the curve OID, bytes after the BIT
	// STRING, all of which crypto/x509 reads) would be a second key to
	// every one of those checks (issue 12, item 2).
	if canon, err := x509.MarshalPKIXPublicKey(pub); err != nil || !bytes.Equal(canon, req.RawSubjectPublicKeyInfo) {
		return nil, ruleErr("csr", "spki", "CSR SubjectPublicKeyInfo (%d bytes) is not the canonical DER of its P-256 key (%d bytes)", len(req.RawSubjectPublicKeyInfo), len(canon))
	}
	if req.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return nil, ruleErr("csr", "signatureAlgorithm", "CSR is signed with %s, ecdsa-with-SHA256 required", req.SignatureAlgorithm)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, ruleErr("csr", "signature", "CSR signature does not verify with its own key (no proof of possession): %v", err)
	}
	return &CSR{
		PublicKey: pub,
		SPKIHash:  sha256.Sum256(req.RawSubjectPublicKeyInfo),
		Subject:   req.Subject,
		Raw:       append([]byte(nil), der...),
	}, nil
}
