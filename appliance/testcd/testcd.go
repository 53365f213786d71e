// Package testcd makes development Certification Declarations (CDs) for the
// test vendor IDs 0xFFF1–0xFFF4, so a development line has a CD to write into
// its modules and to check against each DAC.
//
// In production the CSA issues the CD, signed with a CSA CD signing key, and
// the vendor only copies it to the stations (lineclient init --cd). For
// development the appliance plays the CSA: a P-256 "test CD signing" key is
// generated inside the appliance's token (non-extractable, like every key
// there), with a self-signed certificate kept in the appliance home
// (cd-signing.pem) so that anyone can verify the CDs it signed. No commissioner
// trusts that certificate unless told to, exactly as with the test PAA.
//
// Invariants: only test vendor IDs; the CD content passes matter's
// CDContent.Validate; every CD is parsed back and its signature verified with
// the signing certificate before it is returned; the CD names the installed
// PAA in its authorized_paa_list, so a DAC rooted anywhere else fails CheckCD.
package testcd

import (
	"crypto/ecdsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/matter"
)

// Names of the signing key on the token and of its certificate in the home.
const (
	KeyLabel    = "dacline-test-cd-signing"
	SignerFile  = "cd-signing.pem"
	signerYears = 10
)

// ErrNotTestVID: development CDs are only for the test vendor IDs.
var ErrNotTestVID = errors.New("not a test vendor ID (0xFFF1-0xFFF4)")

// Options say what the CD certifies.
type Options struct {
	VID  uint16
	PIDs []uint16 // 1..100 product IDs
	// DeviceType is the primary device type (Matter Device Library), e.g.
	// 0x0100 On/Off Light; commissioners do not check it.
	DeviceType uint32
	// CertificateID is the 19-character certificate identifier; empty makes
	// one from the VID and first PID ("DEVFFF1800000000-01").
	CertificateID string
	// Version is the CD's version_number (1 when zero).
	Version uint16
}

// Result is a signed CD and the certificate that verifies it.
type Result struct {
	CD         []byte            // DER CMS SignedData
	Content    matter.CDContent  // what it says
	Signer     *x509.Certificate // the test CD signing certificate
	SignerPath string            // where that certificate is kept
	NewSigner  bool              // the key and certificate were made by this call
}

// Create signs a development CD with the token's test CD signing key, making
// the key and its certificate on first use.
func Create(u *home.Unlocked, o Options, now time.Time) (*Result, error) {
	if !matter.IsTestVendorID(o.VID) {
		return nil, fmt.Errorf("create test cd: vendor ID %04X: %w", o.VID, ErrNotTestVID)
	}
	if len(o.PIDs) == 0 {
		return nil, fmt.Errorf("create test cd: at least one product ID is required")
	}
	content := matter.CDContent{
		FormatVersion:     matter.CDFormatVersion,
		VendorID:          o.VID,
		ProductIDs:        o.PIDs,
		DeviceTypeID:      o.DeviceType,
		CertificateID:     o.CertificateID,
		VersionNumber:     o.Version,
		CertificationType: 0, // development and test
	}
	if content.CertificateID == "" {
		content.CertificateID = fmt.Sprintf("DEV%04X%04X00000-01", o.VID, o.PIDs[0])
	}
	if content.VersionNumber == 0 {
		content.VersionNumber = 1
	}
	if u.PAA != nil {
		if len(u.PAA.SubjectKeyId) == 0 {
			return nil, fmt.Errorf("create test cd: the installed PAA has no subject key identifier")
		}
		content.AuthorizedPAAs = [][]byte{u.PAA.SubjectKeyId}
	}
	if err := content.Validate(); err != nil {
		return nil, fmt.Errorf("create test cd: %w", err)
	}
	key, cert, isNew, err := signer(u, o.VID, now)
	if err != nil {
		return nil, fmt.Errorf("create test cd: %w", err)
	}
	der, err := matter.EncodeCD(content, cert.SubjectKeyId, key.Signer())
	if err != nil {
		return nil, fmt.Errorf("create test cd: %w", err)
	}
	cd, err := matter.ParseCD(der)
	if err != nil {
		return nil, fmt.Errorf("create test cd: the CD just signed does not parse: %w", err)
	}
	if err := cd.Verify(cert); err != nil {
		return nil, fmt.Errorf("create test cd: the CD just signed does not verify: %w", err)
	}
	return &Result{CD: der, Content: content, Signer: cert, SignerPath: u.Home.Path(SignerFile), NewSigner: isNew}, nil
}

// signer finds or makes the test CD signing key and its certificate. Order:
// key on the token, then the certificate file; a run interrupted between the
// two finds the key and writes the certificate.
func signer(u *home.Unlocked, vid uint16, now time.Time) (*hsm.Key, *x509.Certificate, bool, error) {
	path := u.Home.Path(SignerFile)
	key, err := u.Token.FindKey(KeyLabel)
	switch {
	case errors.Is(err, hsm.ErrKeyNotFound):
		if _, serr := os.Stat(path); serr == nil {
			return nil, nil, false, fmt.Errorf("%s exists but the token has no key %q: the token is not the one it was made with", path, KeyLabel)
		}
		if key, err = u.Token.GenerateP256(KeyLabel); err != nil {
			return nil, nil, false, fmt.Errorf("test cd signing key: %w", err)
		}
	case err != nil:
		return nil, nil, false, fmt.Errorf("test cd signing key: %w", err)
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, nil, false, fmt.Errorf("test cd signing key %q is not a P-256 key", KeyLabel)
	}
	if b, err := os.ReadFile(path); err == nil {
		cert, err := matter.ParseCertificate(b)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", path, err)
		}
		if cp, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !cp.Equal(pub) {
			return nil, nil, false, fmt.Errorf("%s certifies another key than the token's %q", path, KeyLabel)
		}
		return key, cert, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, err
	}
	cert, err := selfSign(u, key, pub, vid, now)
	if err != nil {
		return nil, nil, false, err
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})); err != nil {
		return nil, nil, false, err
	}
	return key, cert, true, nil
}

// selfSign makes the test CD signing certificate: an end-entity certificate
// (digitalSignature only), like the SDK's Chip-Test-CD-Signing-Cert.
func selfSign(u *home.Unlocked, key *hsm.Key, pub *ecdsa.PublicKey, vid uint16, now time.Time) (*x509.Certificate, error) {
	rnd, err := u.Token.Random(16)
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	serial, err := matter.SerialFromRandom(rnd)
	if err != nil {
		return nil, err
	}
	point, err := pub.ECDH() // the uncompressed point: the SPKI's subjectPublicKey bits
	if err != nil {
		return nil, fmt.Errorf("test cd signing key: %w", err)
	}
	skid := sha1.Sum(point.Bytes()) // RFC 5280 4.2.1.2 method 1
	start := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("dacline test CD signing %04X", vid)},
		NotBefore:             start,
		NotAfter:              start.AddDate(signerYears, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SubjectKeyId:          skid[:],
		AuthorityKeyId:        skid[:],
	}
	der, err := x509.CreateCertificate(failingReader{}, tmpl, tmpl, pub, key.Signer())
	if err != nil {
		return nil, fmt.Errorf("test cd signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, fmt.Errorf("test cd signing certificate: %w", err)
	}
	return cert, nil
}

// failingReader makes sure no randomness outside the token is used: the
// serial comes from the HSM, and the HSM signer ignores the reader.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) {
	return 0, errors.New("no randomness expected outside the token")
}

// writeNew writes a file that must not exist yet, durably.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
