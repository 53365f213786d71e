package matter

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
)

// The published test CD signing key of the Matter SDK
// (credentials/test/certification-declaration/Chip-Test-CD-Signing-Cert.pem,
// "Matter Test CD Signing Authority"). Its private key is public too, so
// anyone can sign a CD with it. DefaultDACVerifier::
// ValidateCertificationDeclarationSignature
// (src/credentials/attestation_verifier/DefaultDeviceAttestationVerifier.cpp)
// accepts a CD under this key only when its certification_type is 0
// (development and test); provisional (1) only in SDK builds with
// kEnableCdTestKeysForProvisionalCds, which commissioners do not ship.
var publishedTestCDSigners = []struct {
	name  string
	skid  []byte
	point []byte // uncompressed P-256 point
}{{
	name:  "Matter Test CD Signing Authority (SDK test key)",
	skid:  mustHex("62fa823359acfaa9963e1cfa140addf504f37160"),
	point: mustHex("043c398922452b55caf389c25bd1bca4656952ccb90e8869249ad8474653014cbf95d687965e036b521c51037e6b8cedefca1eb44046694fa08882eed6519decba"),
}}

// testCDSigner names the published test CD signer that the CD claims (by its
// signer key identifier) or that key pub is, or returns "".
func testCDSigner(skid []byte, pub *ecdsa.PublicKey) string {
	var point []byte
	if pub != nil {
		if k, err := pub.ECDH(); err == nil {
			point = k.Bytes()
		}
	}
	for _, s := range publishedTestCDSigners {
		if bytes.Equal(skid, s.skid) || (point != nil && bytes.Equal(point, s.point)) {
			return s.name
		}
	}
	return ""
}

// IsPublishedTestCDSigner reports whether pub is one of the published test
// CD signing keys (see publishedTestCDSigners).
func IsPublishedTestCDSigner(pub *ecdsa.PublicKey) bool { return testCDSigner(nil, pub) != "" }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err) // constant input
	}
	return b
}
