package matter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"
)

// Issue 12 item 10: an official (or provisional) CD signed by the SDK's
// published test CD signing key is refused, even when the caller names that
// key's certificate as the signer (--cd-signer): commissioners accept the
// test key only on development CDs. A development CD under it, and an
// official CD under any other key, still verify.
func TestOfficialCDUnderTestKeyRefused(t *testing.T) {
	cert := readCert(t, "testdata/cd/Chip-Test-CD-Signing-Cert.pem")
	b, err := os.ReadFile("testdata/cd/Chip-Test-CD-Signing-Key.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !IsPublishedTestCDSigner(&key.PublicKey) {
		t.Fatal("the SDK test key is not known as a test CD signer")
	}
	sign := func(typ uint8, skid []byte, k *ecdsa.PrivateKey) *CD {
		c := exampleContent()
		c.CertificationType = typ
		der, err := EncodeCD(c, skid, k)
		if err != nil {
			t.Fatal(err)
		}
		cd, err := ParseCD(der)
		if err != nil {
			t.Fatal(err)
		}
		return cd
	}
	for _, typ := range []uint8{CertificationTypeProv, CertificationTypeOffic} {
		err := sign(typ, cert.SubjectKeyId, key).Verify(cert)
		if RuleOf(err) != "cd.testSignerNotDevelopment" || !strings.Contains(err.Error(), "published test key") {
			t.Errorf("certification_type %d under the test key: got %v, want cd.testSignerNotDevelopment", typ, err)
		}
	}
	if err := sign(CertificationTypeDev, cert.SubjectKeyId, key).Verify(cert); err != nil {
		t.Errorf("development CD under the test key: %v", err)
	}

	// Another key that claims the test key's identifier is refused too
	// (the SDK goes by the identifier).
	impostor, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := sign(CertificationTypeOffic, cert.SubjectKeyId, impostor).VerifyKey(&impostor.PublicKey); RuleOf(err) != "cd.testSignerNotDevelopment" {
		t.Errorf("official CD naming the test key identifier: got %v", err)
	}

	// Control: an official CD under a key nobody published verifies.
	own, ownCert, err := NewTestCDSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	oc, err := x509.ParseCertificate(ownCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign(CertificationTypeOffic, oc.SubjectKeyId, own).Verify(oc); err != nil {
		t.Errorf("official CD under an unpublished key: %v", err)
	}
}
