package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/matter"
	"github.com/dacline/dacline/shared/onboarding"
)

// TestModuleScripts runs testdata/module: `lineclient module inspect` on a
// provisioned module image built here (module.bin), with its PAA, CD signer
// and manifest, and on damaged copies.
func TestModuleScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/module",
		Setup: func(env *testscript.Env) error {
			if err := scriptSetup(env); err != nil {
				return err
			}
			return writeModuleFixture(t, env.WorkDir)
		},
	})
}

func writeModuleFixture(t *testing.T, dir string) error {
	pki := linetest.NewPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	dac, err := pki.IssueDACFor(&key.PublicKey, linetest.VID, linetest.PID)
	if err != nil {
		return err
	}
	const passcode = 20202021
	salt := bytes.Repeat([]byte{9}, 32)
	ver, err := onboarding.Verifier(passcode, salt, 10000)
	if err != nil {
		return err
	}
	hv := uint16(3)
	info, _ := lineproto.ProductInfo{VendorName: "Acme", ProductName: "Lamp", HardwareVersion: &hv}.Encode()
	items := factorydata.Items{
		lineproto.ItemDAC: dac, lineproto.ItemPAI: pki.PAI.Raw, lineproto.ItemCD: linetest.CD(),
		lineproto.ItemDiscriminator: lineproto.DiscriminatorValue(3840), lineproto.ItemIterations: lineproto.IterationsValue(10000),
		lineproto.ItemSalt: salt, lineproto.ItemVerifier: ver, lineproto.ItemSerialNumber: []byte("SN-0001"),
		lineproto.ItemRotatingIDUnique: bytes.Repeat([]byte{1}, 16), lineproto.ItemProductInfo: info,
		lineproto.ItemVendorID: lineproto.U16Value(linetest.VID), lineproto.ItemProductID: lineproto.U16Value(linetest.PID),
	}
	der, _ := x509.MarshalECPrivateKey(key)
	sc, err := factorydata.SecureCert(securecert.PlaintextKeyEntries(der), dac, pki.PAI.Raw)
	if err != nil {
		return err
	}
	nvsBin, err := factorydata.NVS(items)
	if err != nil {
		return err
	}
	img := flash.Blank()
	copy(img[0xD000:], sc)
	copy(img[0x3E0000:], nvsBin)
	bad := bytes.Clone(img)
	bad[0xD000+200] ^= 0x01 // in the CA_CERT entry (the PRIV_KEY entry is 0x90 bytes)
	sum := sha256.Sum256(dac)
	dacCert, _ := x509.ParseCertificate(dac)
	manifestFor := func(passcode uint32) []byte {
		p := onboarding.Payload{VID: linetest.VID, PID: linetest.PID, Discovery: onboarding.DiscoveryBLE, Discriminator: 3840, Passcode: passcode}
		qr, _ := onboarding.EncodeQR(p)
		mc, _ := onboarding.EncodeManual(p)
		var m bytes.Buffer
		w := csv.NewWriter(&m)
		w.Write(manifest.Header[:14]) // the 14-column format (up to reason) the row below fills
		w.Write([]string{"02:da:c1:00:00:01", "SN-0001", dacCert.SerialNumber.Text(16), hex.EncodeToString(sum[:]),
			fmt.Sprintf("%04X", linetest.VID), fmt.Sprintf("%04X", linetest.PID), "3840", fmt.Sprintf("%08d", passcode),
			qr, mc, "csr-1", "2026-12-08T04:00:00Z", "deployed", ""})
		w.Flush()
		return m.Bytes()
	}
	files := map[string][]byte{
		"module.bin": img, "bad.bin": bad, "esp_secure_cert.bin": img[0xD000:0xF000], "fctry.bin": img[0x3E0000:0x3E6000],
		"paa.pem": matter.EncodePEM(pki.PAA.Raw), "cd-signer.pem": matter.EncodePEM(linetest.CDSigner().Raw),
		"manifest.csv": manifestFor(passcode), "manifest-wrong-passcode.csv": manifestFor(passcode + 1),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
