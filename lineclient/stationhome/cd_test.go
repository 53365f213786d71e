package stationhome

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
	"github.com/dacline/dacline/shared/matter"
)

// testCD returns a CD for FFF1/8000 and the DER certificate of its signer.
func testCD(t *testing.T) (cd, signer []byte) {
	t.Helper()
	key, certDER, err := matter.NewTestCDSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatal(err)
	}
	cd, err = matter.EncodeCD(matter.CDContent{FormatVersion: 1, VendorID: 0xFFF1, ProductIDs: []uint16{0x8000},
		DeviceTypeID: 0x0016, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1}, cert.SubjectKeyId, key)
	if err != nil {
		t.Fatal(err)
	}
	return cd, certDER
}

func TestInitWithCDSigner(t *testing.T) {
	app := bundletest.NewAppliance(t, "appliance-1")
	cd, signer := testCD(t)
	_, other := testCD(t)
	base := InitOptions{Appliance: app.ID, Name: "line-1", VID: 0xFFF1, PID: 0x8000}

	// Refusals leave nothing behind.
	for name, tc := range map[string]struct {
		cd, signer []byte
		want       string
	}{
		"signer without cd": {nil, signer, "needs a certification declaration"},
		"another signer":    {cd, other, "cd.signerNotFound"},
		"not a certificate": {cd, []byte("not a certificate"), "cd signer certificate"},
		"cd not a cms":      {[]byte{0x30, 0x00}, signer, "certification declaration"},
		"tampered cd":       {flipLast(cd), signer, "cd.signature"},
	} {
		dir := filepath.Join(t.TempDir(), "h")
		o := base
		o.CD, o.CDSigner = tc.cd, tc.signer
		_, err := Init(dir, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, tc.want)
		}
		if name == "signer without cd" && !errors.Is(err, ErrCDSignerWithoutCD) {
			t.Errorf("%s: %v is not ErrCDSignerWithoutCD", name, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: left a home behind", name)
		}
	}

	// Accepted: kept as PEM, read back as the same certificate.
	dir := filepath.Join(t.TempDir(), "h")
	o := base
	o.CD, o.CDSigner = cd, signer
	h, err := Init(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.CDSigner()
	if err != nil || got == nil || !bytes.Equal(got.Raw, signer) || !h.Config.HasCDSigner {
		t.Fatalf("CDSigner: %v, %v, has %v", got, err, h.Config.HasCDSigner)
	}
	h.Close()
	pemData, _ := os.ReadFile(filepath.Join(dir, CDSignerFile))
	if !bytes.HasPrefix(pemData, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("%s is not PEM: %.40q", CDSignerFile, pemData)
	}

	// A home made without a signer has none (and an older config.json
	// without the field opens).
	dir = filepath.Join(t.TempDir(), "h")
	o.CDSigner = nil
	h, err = Init(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got, err := h.CDSigner(); got != nil || err != nil {
		t.Fatalf("home without a signer: %v, %v", got, err)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if bytes.Contains(cfg, []byte("has_cd_signer")) {
		t.Errorf("config.json of a home without a signer names has_cd_signer: %s", cfg)
	}
}

func flipLast(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-1] ^= 1
	return c
}
