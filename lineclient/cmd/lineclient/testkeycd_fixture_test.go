package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/shared/matter"
)

// writeTestKeyCDFixture signs two CDs for FFF1/8000 with the Matter SDK's
// published test CD signing key (shared/matter/testdata/cd): a development
// one ($WORK/dev-cd-test-key.der) and an official one
// ($WORK/official-cd-test-key.der), with the key's certificate
// ($WORK/sdk-test-cd-signer.pem).
func writeTestKeyCDFixture(env *testscript.Env) error {
	dir := filepath.Join("..", "..", "..", "shared", "matter", "testdata", "cd")
	certPEM, err := os.ReadFile(filepath.Join(dir, "Chip-Test-CD-Signing-Cert.pem"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "Chip-Test-CD-Signing-Key.pem"))
	if err != nil {
		return err
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return fmt.Errorf("no PEM key in %s", dir)
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return err
	}
	cert, err := matter.ParseCertificate(certPEM)
	if err != nil {
		return err
	}
	files := map[string][]byte{"sdk-test-cd-signer.pem": certPEM}
	for name, typ := range map[string]uint8{"dev-cd-test-key.der": matter.CertificationTypeDev, "official-cd-test-key.der": matter.CertificationTypeOffic} {
		cd, err := matter.EncodeCD(matter.CDContent{FormatVersion: 1, VendorID: 0xFFF1, ProductIDs: []uint16{0x8000},
			DeviceTypeID: 0x0016, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1, CertificationType: typ}, cert.SubjectKeyId, key)
		if err != nil {
			return err
		}
		files[name] = cd
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(env.WorkDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
