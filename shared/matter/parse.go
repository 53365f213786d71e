package matter

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// maxPEMInput bounds what ParseCertificate reads before decoding: a PEM of a
// 600-byte certificate is under 900 bytes; allow comments and CRLFs.
const maxPEMInput = 4096

// ParseCertificate parses one attestation certificate given as DER or as a
// single PEM "CERTIFICATE" block. It is strict: the DER must be at most
// MaxCertDER bytes with nothing after it, a PEM input must hold exactly one
// block and nothing but whitespace around it, and the certificate must parse
// under crypto/x509. It does not check the Matter profile (see ValidateDAC and
// friends); failures are *RuleError with rules "cert.size", "cert.pem",
// "cert.parse".
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	der, err := certDER(data)
	if err != nil {
		return nil, err
	}
	if len(der) > MaxCertDER {
		return nil, ruleErr("cert", "size", "certificate is %d bytes DER, Matter allows at most %d", len(der), MaxCertDER)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, ruleErr("cert", "parse", "%v", err)
	}
	return cert, nil
}

// certDER returns the DER inside data, which is either DER or one PEM block.
func certDER(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		return data, nil
	}
	if len(data) > maxPEMInput {
		return nil, ruleErr("cert", "size", "PEM input is %d bytes, at most %d accepted", len(data), maxPEMInput)
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, ruleErr("cert", "pem", "malformed PEM")
	}
	if block.Type != "CERTIFICATE" {
		return nil, ruleErr("cert", "pem", "PEM block is %q, want CERTIFICATE", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, ruleErr("cert", "pem", "PEM block has headers")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, ruleErr("cert", "pem", "data after the PEM block (one certificate per input)")
	}
	return block.Bytes, nil
}

// EncodePEM returns der as a PEM CERTIFICATE block.
func EncodePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseCertificateAs parses data and validates it against the profile of typ.
func ParseCertificateAs(data []byte, typ CertType) (*x509.Certificate, error) {
	cert, err := ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	if err := ValidateCertificate(cert, typ); err != nil {
		return nil, err
	}
	return cert, nil
}
