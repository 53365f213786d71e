package matter

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// NoExpiry is the Matter "no well-defined expiration date" notAfter,
// encoded as GeneralizedTime 99991231235959Z (Matter Core 6.2.2.1; the SDK
// maps it to CHIP epoch 0).
var NoExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Size limits from src/credentials/CHIPCert.h and src/crypto/CHIPCryptoPAL.h.
const (
	MaxCertDER       = 600 // kMaxDERCertLength
	maxSerialOctets  = 20  // kMaxCertificateSerialNumberLength
	keyIdentifierLen = 20  // kSubjectKeyIdentifierLength / kAuthorityKeyIdentifierLength
)

// SerialFromRandom turns caller-supplied random bytes (for example from the
// HSM's C_GenerateRandom) into a positive certificate serial number that fits
// the Matter limit of 20 octets. It wants 8 to 19 bytes, not all zero.
func SerialFromRandom(b []byte) (*big.Int, error) {
	if len(b) < 8 || len(b) > maxSerialOctets-1 {
		return nil, fmt.Errorf("serial needs 8 to %d random bytes, got %d", maxSerialOctets-1, len(b))
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		return nil, fmt.Errorf("serial random bytes are all zero")
	}
	return n, nil
}

// checkSerial enforces RFC 5280 4.1.2.2 (positive) and the Matter limit of
// 20 octets for the DER INTEGER contents.
func checkSerial(n *big.Int) error {
	if n == nil {
		return fmt.Errorf("serial number is missing")
	}
	if n.Sign() <= 0 {
		return fmt.Errorf("serial number %s is not positive", n)
	}
	if o := serialOctets(n); o > maxSerialOctets {
		return fmt.Errorf("serial number is %d octets, Matter allows at most %d", o, maxSerialOctets)
	}
	return nil
}

func serialOctets(n *big.Int) int {
	der, err := asn1.Marshal(n)
	if err != nil || len(der) < 2 {
		return 0
	}
	// Short-form length: serials here are far below 128 octets; long form
	// means it is oversize anyway.
	if der[1]&0x80 != 0 {
		return 128
	}
	return len(der) - 2
}

// p256Key returns pub as a P-256 ECDSA key or an error naming what it is.
func p256Key(pub crypto.PublicKey) (*ecdsa.PublicKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, Matter requires ECDSA P-256", pub)
	}
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("public key is on %s, Matter requires P-256 (prime256v1)", k.Curve.Params().Name)
	}
	return k, nil
}

// KeyID computes the 20-byte key identifier of a P-256 public key: the SHA-1
// of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1), as chip-cert does.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	k, err := p256Key(pub)
	if err != nil {
		return nil, err
	}
	ek, err := k.ECDH()
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	sum := sha1.Sum(ek.Bytes())
	return sum[:], nil
}

// baseTemplate fills what PAA, PAI and DAC share: serial, subject, validity
// (to the second, UTC), ecdsa-with-SHA256, SKID.
func baseTemplate(serial *big.Int, subj Subject, notBefore, notAfter time.Time, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := checkSerial(serial); err != nil {
		return nil, err
	}
	rawSubject, err := subj.RawSubject()
	if err != nil {
		return nil, err
	}
	nb, na := notBefore.UTC().Truncate(time.Second), notAfter.UTC().Truncate(time.Second)
	if !nb.Before(na) {
		return nil, fmt.Errorf("notBefore %s is not before notAfter %s", nb.Format(time.RFC3339), na.Format(time.RFC3339))
	}
	skid, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          new(big.Int).Set(serial),
		RawSubject:            rawSubject,
		NotBefore:             nb,
		NotAfter:              na,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
		BasicConstraintsValid: true,
		SubjectKeyId:          skid,
		PublicKey:             pub,
	}, nil
}

// PAATemplate builds a self-signed PAA template (Matter Core 6.2.2.5):
// basicConstraints critical cA=TRUE without pathLen, keyUsage critical
// keyCertSign+cRLSign, SKID, AKID = SKID. The PAA subject must not carry a PID.
func PAATemplate(serial *big.Int, subj Subject, notBefore, notAfter time.Time, pub crypto.PublicKey) (*x509.Certificate, error) {
	if subj.HasPID {
		return nil, fmt.Errorf("a PAA subject must not carry a product ID")
	}
	t, err := baseTemplate(serial, subj, notBefore, notAfter, pub)
	if err != nil {
		return nil, fmt.Errorf("paa template: %w", err)
	}
	t.IsCA = true
	t.MaxPathLen = -1
	t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	t.AuthorityKeyId = t.SubjectKeyId
	return t, nil
}

// PAITemplate builds a PAI template (Matter Core 6.2.2.4): basicConstraints
// critical cA=TRUE pathLen=0, keyUsage critical keyCertSign+cRLSign, SKID,
// AKID = issuer SKID. The PAI subject must carry a VID.
func PAITemplate(serial *big.Int, subj Subject, notBefore, notAfter time.Time, pub crypto.PublicKey, issuer *x509.Certificate) (*x509.Certificate, error) {
	if !subj.HasVID {
		return nil, fmt.Errorf("pai template: a PAI subject must carry a vendor ID")
	}
	t, err := baseTemplate(serial, subj, notBefore, notAfter, pub)
	if err != nil {
		return nil, fmt.Errorf("pai template: %w", err)
	}
	if err := setAuthority(t, issuer); err != nil {
		return nil, fmt.Errorf("pai template: %w", err)
	}
	t.IsCA = true
	t.MaxPathLen = 0
	t.MaxPathLenZero = true
	t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	return t, nil
}

// DACTemplate builds a DAC template (Matter Core 6.2.2.3): basicConstraints
// critical cA=FALSE without pathLen, keyUsage critical digitalSignature only,
// SKID, AKID = issuer SKID. The DAC subject must carry VID and PID.
func DACTemplate(serial *big.Int, subj Subject, notBefore, notAfter time.Time, pub crypto.PublicKey, issuer *x509.Certificate) (*x509.Certificate, error) {
	if !subj.HasVID || !subj.HasPID {
		return nil, fmt.Errorf("dac template: a DAC subject must carry a vendor ID and a product ID")
	}
	t, err := baseTemplate(serial, subj, notBefore, notAfter, pub)
	if err != nil {
		return nil, fmt.Errorf("dac template: %w", err)
	}
	if err := setAuthority(t, issuer); err != nil {
		return nil, fmt.Errorf("dac template: %w", err)
	}
	t.IsCA = false
	t.MaxPathLen = -1
	t.KeyUsage = x509.KeyUsageDigitalSignature
	return t, nil
}

func setAuthority(t, issuer *x509.Certificate) error {
	if issuer == nil {
		return fmt.Errorf("issuer certificate is missing")
	}
	if len(issuer.SubjectKeyId) != keyIdentifierLen {
		return fmt.Errorf("issuer subjectKeyIdentifier is %d bytes, want %d", len(issuer.SubjectKeyId), keyIdentifierLen)
	}
	t.AuthorityKeyId = append([]byte(nil), issuer.SubjectKeyId...)
	return nil
}
