package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
	"github.com/dacline/dacline/shared/matter"
)

// writeApplianceFixture gives every script a throwaway appliance: $WORK/appliance.id
// (public identity, as `appliance identity` writes it) and $WORK/appliance.agekey (its age
// identity, so scripts can open bundles addressed to the appliance with the age CLI).
func writeApplianceFixture(env *testscript.Env) error {
	a, err := bundletest.Generate("appliance-1")
	if err != nil {
		return err
	}
	return a.WriteFiles(env.WorkDir)
}

// writeCDFixture gives every script a development Certification Declaration
// for FFF1/8000: $WORK/cd.der, the certificate it is signed by
// ($WORK/cd-signer.pem) and another signer's certificate ($WORK/other-cd-signer.pem).
func writeCDFixture(env *testscript.Env) error {
	key, certDER, err := matter.NewTestCDSigner(time.Now())
	if err != nil {
		return err
	}
	_, otherDER, err := matter.NewTestCDSigner(time.Now())
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return err
	}
	cd, err := matter.EncodeCD(matter.CDContent{FormatVersion: 1, VendorID: 0xFFF1, ProductIDs: []uint16{0x8000},
		DeviceTypeID: 0x0016, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1}, cert.SubjectKeyId, key)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"cd.der": cd, "cd-signer.pem": matter.EncodePEM(certDER), "other-cd-signer.pem": matter.EncodePEM(otherDER)} {
		if err := os.WriteFile(filepath.Join(env.WorkDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
