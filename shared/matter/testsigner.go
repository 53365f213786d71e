package matter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// NewTestCDSigner creates a development Certification Declaration signing
// key and a self-signed certificate for it ("dacline Test CD Signing
// Authority", valid from now with no expiry). Commissioners trust only the
// CSA keys and the SDK's published test key, so CDs it signs are for
// development tooling and tests; load its certificate where a CD signer is
// configured explicitly.
func NewTestCDSigner(now time.Time) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("test cd signer: %w", err)
	}
	skid, err := KeyID(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	serialBytes := make([]byte, 16)
	if _, err := rand.Read(serialBytes); err != nil {
		return nil, nil, fmt.Errorf("test cd signer: %w", err)
	}
	serial, err := SerialFromRandom(serialBytes)
	if err != nil {
		return nil, nil, err
	}
	subj, err := Subject{CommonName: "dacline Test CD Signing Authority"}.RawSubject()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).Set(serial),
		RawSubject:            subj,
		NotBefore:             now.UTC().Truncate(time.Second),
		NotAfter:              NoExpiry,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
	}
	der, err := x509.CreateCertificate(failingReader{}, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("test cd signer: %w", err)
	}
	return key, der, nil
}
