package main

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/matter"
)

// cdCommand is `appliance cd`: development Certification Declarations.
func cdCommand() *cli.Command {
	return &cli.Command{
		Name:  "cd",
		Usage: "Certification Declarations",
		Subcommands: []*cli.Command{{
			Name:  "create-test",
			Usage: "write a development CD (certification_type 0) for a test vendor ID",
			Description: "Real CDs come from the CSA. This writes a development CD for a test VID\n" +
				"(FFF1..FFF4), signed by --signer-key/--signer-cert, or by a test signer that\n" +
				"is created next to --out (OUT-signer-key.pem, mode 0600, and OUT-signer-cert.pem)\n" +
				"and reused on later runs.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "vid", Usage: "vendor ID, hex (test VIDs FFF1..FFF4 only)", Required: true},
				&cli.StringSliceFlag{Name: "pid", Usage: "product ID, hex; repeat for several (1..100)", Required: true},
				&cli.StringFlag{Name: "device-type", Usage: "primary device type ID (decimal or 0x hex)", Value: "0x0100"},
				&cli.StringFlag{Name: "certificate-id", Usage: "certificate_id, exactly 19 characters", Value: "ZIG20141ZB330001-24"},
				&cli.StringFlag{Name: "version-number", Usage: "version_number (decimal or 0x hex)", Value: "1"},
				&cli.StringFlag{Name: "dac-origin-vid", Usage: "dac_origin_vendor_id, hex (with --dac-origin-pid)"},
				&cli.StringFlag{Name: "dac-origin-pid", Usage: "dac_origin_product_id, hex (with --dac-origin-vid)"},
				&cli.StringSliceFlag{Name: "authorized-paa", Usage: "PAA certificate whose SKID goes into authorized_paa_list; repeatable (max 10)"},
				&cli.StringFlag{Name: "signer-key", Usage: "CD signing key, PEM (EC P-256)"},
				&cli.StringFlag{Name: "signer-cert", Usage: "certificate of --signer-key, PEM or DER"},
				&cli.StringFlag{Name: "out", Usage: "output file (DER); never overwritten", Required: true},
			},
			Action: cdCreateTest,
		}},
	}
}

func parseHex16(flag, s string) (uint16, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), 16, 16)
	if err != nil {
		return 0, clirun.Usage("--%s %q: want a 16-bit hex value such as FFF1", flag, s)
	}
	return uint16(v), nil
}

func parseNum(flag, s string, bits int) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, clirun.Usage("--%s %q: want a %d-bit number (decimal or 0x hex)", flag, s, bits)
	}
	return v, nil
}

func cdCreateTest(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	content, err := cdContentFromFlags(c)
	if err != nil {
		return err
	}
	if !matter.IsTestVendorID(content.VendorID) {
		return clirun.WithHint(fmt.Errorf("refusing to create a test CD for vendor ID %04X: only the test vendor IDs FFF1..FFF4 get development CDs", content.VendorID),
			"a CD for a real vendor ID is issued by the CSA after certification")
	}
	out := c.String("out")
	if _, err := os.Lstat(out); err == nil {
		return clirun.WithHint(fmt.Errorf("%s already exists", out), "choose another --out or remove the file")
	}

	var signer *ecdsa.PrivateKey
	var signerCert *x509.Certificate
	var signerNote string
	switch keyF, certF := c.String("signer-key"), c.String("signer-cert"); {
	case keyF != "" && certF != "":
		if signer, signerCert, err = loadSigner(keyF, certF); err != nil {
			return err
		}
		signerNote = certF
	case keyF != "" || certF != "":
		return clirun.Usage("--signer-key and --signer-cert go together")
	default:
		if signer, signerCert, signerNote, err = testSigner(out); err != nil {
			return err
		}
	}

	der, err := matter.EncodeCD(content, signerCert.SubjectKeyId, signer)
	if err != nil {
		return err
	}
	// Read back what we are about to write, as a commissioner would.
	cd, err := matter.ParseCD(der)
	if err == nil {
		err = cd.Verify(signerCert)
	}
	if err != nil {
		return fmt.Errorf("encoded CD does not verify: %w", err)
	}
	if err := writeNewFile(out, der, 0o644); err != nil {
		return err
	}
	w := clirun.Stdout
	fmt.Fprintf(w, "wrote %s (%d bytes)\n", out, len(der))
	fmt.Fprintf(w, "vendor_id:      %04X\n", content.VendorID)
	fmt.Fprintf(w, "product_ids:    %s\n", strings.Join(summarizeCD(cd).ProductIDs, " "))
	fmt.Fprintf(w, "device_type_id: 0x%04X\n", content.DeviceTypeID)
	fmt.Fprintf(w, "certificate_id: %s\n", content.CertificateID)
	fmt.Fprintf(w, "signer:         %s (SKID %X)\n", signerNote, signerCert.SubjectKeyId)
	return nil
}

func cdContentFromFlags(c *cli.Context) (matter.CDContent, error) {
	var ct matter.CDContent
	ct.FormatVersion = matter.CDFormatVersion
	ct.CertificationType = matter.CertificationTypeDev
	var err error
	if ct.VendorID, err = parseHex16("vid", c.String("vid")); err != nil {
		return ct, err
	}
	for _, p := range c.StringSlice("pid") {
		for _, one := range strings.Split(p, ",") {
			v, err := parseHex16("pid", strings.TrimSpace(one))
			if err != nil {
				return ct, err
			}
			ct.ProductIDs = append(ct.ProductIDs, v)
		}
	}
	dt, err := parseNum("device-type", c.String("device-type"), 32)
	if err != nil {
		return ct, err
	}
	ct.DeviceTypeID = uint32(dt)
	vn, err := parseNum("version-number", c.String("version-number"), 16)
	if err != nil {
		return ct, err
	}
	ct.VersionNumber = uint16(vn)
	ct.CertificateID = c.String("certificate-id")
	if len(ct.CertificateID) != matter.CDCertificateIDLength {
		return ct, clirun.Usage("--certificate-id %q is %d characters, must be %d", ct.CertificateID, len(ct.CertificateID), matter.CDCertificateIDLength)
	}
	ov, op := c.String("dac-origin-vid"), c.String("dac-origin-pid")
	if (ov == "") != (op == "") {
		return ct, clirun.Usage("--dac-origin-vid and --dac-origin-pid go together")
	}
	if ov != "" {
		ct.HasDACOrigin = true
		if ct.DACOriginVendorID, err = parseHex16("dac-origin-vid", ov); err != nil {
			return ct, err
		}
		if ct.DACOriginProductID, err = parseHex16("dac-origin-pid", op); err != nil {
			return ct, err
		}
	}
	for _, f := range c.StringSlice("authorized-paa") {
		paa, err := loadCert(f, matter.PAA)
		if err != nil {
			return ct, err
		}
		ct.AuthorizedPAAs = append(ct.AuthorizedPAAs, paa.SubjectKeyId)
	}
	if err := ct.Validate(); err != nil {
		return ct, clirun.Usage("%v", err)
	}
	return ct, nil
}

// loadSigner reads a P-256 key (SEC 1 or PKCS#8 PEM) and its certificate and
// checks that they belong together.
func loadSigner(keyF, certF string) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	kb, err := readBounded(keyF, 8192)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(kb)
	if block == nil {
		return nil, nil, fmt.Errorf("%s: not a PEM private key", keyF)
	}
	var key *ecdsa.PrivateKey
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			var ok bool
			if key, ok = k.(*ecdsa.PrivateKey); !ok {
				err = fmt.Errorf("key is %T, want EC P-256", k)
			}
		}
	default:
		err = fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyF, err) // never echoes key bytes
	}
	cert, err := loadCert(certF, -1)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not hold the key of %s", keyF, certF)
	}
	if len(cert.SubjectKeyId) == 0 {
		return nil, nil, fmt.Errorf("%s has no subjectKeyIdentifier to name the CD signer", certF)
	}
	return key, cert, nil
}

// testSigner loads the development signer next to out, creating it on first use.
func testSigner(out string) (*ecdsa.PrivateKey, *x509.Certificate, string, error) {
	base := strings.TrimSuffix(out, filepath.Ext(out))
	keyF, certF := base+"-signer-key.pem", base+"-signer-cert.pem"
	_, kerr := os.Stat(keyF)
	_, cerr := os.Stat(certF)
	switch {
	case kerr == nil && cerr == nil:
		key, cert, err := loadSigner(keyF, certF)
		return key, cert, certF + " (existing test signer)", err
	case !errors.Is(kerr, fs.ErrNotExist) || !errors.Is(cerr, fs.ErrNotExist):
		return nil, nil, "", clirun.WithHint(fmt.Errorf("found only one of %s and %s", keyF, certF), "remove the stray file or pass --signer-key and --signer-cert")
	}
	key, certDER, err := matter.NewTestCDSigner(time.Now())
	if err != nil {
		return nil, nil, "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, "", err
	}
	if err := writeNewFile(keyF, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, "", err
	}
	if err := writeNewFile(certF, matter.EncodePEM(certDER), 0o644); err != nil {
		return nil, nil, "", err
	}
	cert, err := x509.ParseCertificate(certDER)
	return key, cert, certF + " (new test signer)", err
}

// writeNewFile writes a file that must not exist yet, synced before close.
func writeNewFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
