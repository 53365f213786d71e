package inspect

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/shared/matter"
	"github.com/dacline/dacline/shared/onboarding"
)

// crossCheck ties the parts together: the chain, VID/PID in the DAC and in
// NVS, the CD, and the manifest row.
func (r *Report) crossCheck(o Options) {
	r.attestationFromNVS()
	if r.DAC != nil && r.PAI != nil {
		r.checkChain(o)
	}
	f := r.Factory
	if f != nil && r.DAC != nil {
		if v, err := matter.ExtractVIDPID(r.DAC.RawSubject); err != nil {
			r.fail("vid/pid", fmt.Sprintf("dac subject: %v", err))
		} else if f.VendorID != nil && f.ProductID != nil {
			if uint32(v.VID) != *f.VendorID || uint32(v.PID) != *f.ProductID {
				r.fail("vid/pid", fmt.Sprintf("nvs vendor-id/product-id %04X/%04X, the DAC says %04X/%04X", *f.VendorID, *f.ProductID, v.VID, v.PID))
			} else {
				r.ok("vid/pid", fmt.Sprintf("%04X/%04X in nvs and in the DAC", v.VID, v.PID))
			}
		}
	}
	if f != nil && f.CD != nil {
		r.checkCD(o)
	}
	if f != nil || r.DAC != nil {
		r.checkManifest(o)
	}
}

func (r *Report) checkChain(o Options) {
	if err := matter.ValidateDAC(r.DAC); err != nil {
		r.fail("dac profile", err.Error())
	}
	if err := matter.ValidatePAI(r.PAI); err != nil {
		r.fail("pai profile", err.Error())
	}
	if o.PAA == nil {
		if err := matter.ValidateIssuedBy(r.DAC, r.PAI, matter.DAC); err != nil {
			r.fail("chain", "dac → pai: "+err.Error())
		} else {
			r.skip("chain", "the PAI issued the DAC; PAA not checked (no --paa)")
		}
		return
	}
	if err := matter.ValidateChainAt(r.DAC, r.PAI, o.PAA, o.Now); err != nil {
		r.fail("chain", "dac → pai → paa: "+err.Error())
		return
	}
	r.ok("chain", "dac → pai → paa "+o.PAA.Subject.String())
}

func (r *Report) checkCD(o Options) {
	cd, err := matter.ParseCD(r.Factory.CD)
	if err != nil {
		r.fail("certification declaration", fmt.Sprintf("cert-dclrn: %v", err))
		return
	}
	if o.CDSigner != nil {
		if err := cd.Verify(o.CDSigner); err != nil {
			r.fail("certification declaration", fmt.Sprintf("signature: %v", err))
			return
		}
	}
	if r.DAC == nil || r.PAI == nil {
		r.skip("certification declaration", "parsed; no DAC/PAI to check it against")
		return
	}
	var info *matter.DeviceInfo
	if r.Factory.VendorID != nil && r.Factory.ProductID != nil {
		info = &matter.DeviceInfo{VendorID: uint16(*r.Factory.VendorID), ProductID: uint16(*r.Factory.ProductID)}
	}
	if err := matter.CheckCDFor(cd, r.DAC, r.PAI, o.PAA, info); err != nil {
		r.fail("certification declaration", err.Error())
		return
	}
	detail := fmt.Sprintf("vendor %04X, products %v, matches the DAC and the nvs vid/pid", cd.Content.VendorID, hexIDs(cd.Content.ProductIDs))
	if o.CDSigner == nil {
		detail += "; signature not checked (no --cd-signer)"
	}
	r.ok("certification declaration", detail)
}

func hexIDs(ids []uint16) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("%04X", id))
	}
	return out
}

// checkManifest finds the module's row (by the DAC's SHA-256, else the
// serial number) and checks the onboarding data the device will use.
func (r *Report) checkManifest(o Options) {
	if o.Manifest == nil {
		r.skip("manifest", "no --manifest given")
		return
	}
	var row *manifest.Row
	var dacSum string
	if r.DAC != nil {
		s := sha256.Sum256(r.DAC.Raw)
		dacSum = hex.EncodeToString(s[:])
	}
	for i := range o.Manifest {
		m := &o.Manifest[i]
		if (dacSum != "" && m.DACSHA256 == dacSum) || (dacSum == "" && r.Factory != nil && m.SerialNumber == r.Factory.SerialNumber) {
			row = m
			break
		}
	}
	if row == nil {
		r.fail("manifest", "no manifest row has this module's DAC (or serial number)")
		return
	}
	if row.Unused() {
		r.fail("manifest", fmt.Sprintf("row %s is unused (%s): this DAC must not ship", row.MAC, row.Reason))
		return
	}
	if !row.Deployed() {
		r.fail("manifest", fmt.Sprintf("row %s is %s (%s): the module is not finished, it does not ship yet", row.MAC, row.Status, row.Reason))
		return
	}
	f := r.Factory
	if f == nil {
		r.skip("onboarding", fmt.Sprintf("manifest row %s found; no factory nvs to compare", row.MAC))
		return
	}
	var problems []string
	if f.SerialNumber != row.SerialNumber {
		problems = append(problems, fmt.Sprintf("serial-num %q, manifest %q", f.SerialNumber, row.SerialNumber))
	}
	if f.VendorID == nil || f.ProductID == nil || *f.VendorID != uint32(row.VID) || *f.ProductID != uint32(row.PID) {
		problems = append(problems, fmt.Sprintf("vid/pid differ from the manifest's %04X/%04X", row.VID, row.PID))
	}
	if f.Discriminator == nil || *f.Discriminator != uint32(row.Discriminator) {
		problems = append(problems, fmt.Sprintf("discriminator differs from the manifest's %d", row.Discriminator))
	}
	if f.Verifier != nil && f.Salt != nil && f.Iterations != nil {
		if err := onboarding.MatchVerifier(f.Verifier, row.Passcode, f.Salt, int(*f.Iterations)); err != nil {
			problems = append(problems, "the verifier is not the manifest passcode's with this salt and iteration count")
		}
	}
	// The codes printed on the label, recomputed from the row's values (flow
	// and discovery as its QR payload carries them).
	qp, err := onboarding.DecodeQR(row.QRPayload)
	if err != nil {
		problems = append(problems, fmt.Sprintf("qr_payload: %v", err))
	} else {
		p := onboarding.Payload{VID: row.VID, PID: row.PID, Flow: qp.Flow, Discovery: qp.Discovery,
			Discriminator: row.Discriminator, Passcode: row.Passcode}
		if qr, err := onboarding.EncodeQR(p); err != nil || qr != row.QRPayload {
			problems = append(problems, fmt.Sprintf("qr_payload %s is not the one the row's values give (%s)", row.QRPayload, qr))
		}
		if mc, err := onboarding.EncodeManual(p); err != nil || mc != row.ManualCode {
			problems = append(problems, fmt.Sprintf("manual_code %s is not the one the row's values give (%s)", row.ManualCode, mc))
		}
	}
	if len(problems) > 0 {
		r.fail("onboarding", fmt.Sprintf("manifest row %s: %v", row.MAC, problems))
		return
	}
	r.ok("onboarding", fmt.Sprintf("manifest row %s: serial, vid/pid, discriminator match; the verifier is the passcode's; qr %s and manual code %s recomputed", row.MAC, row.QRPayload, onboarding.FormatManual(row.ManualCode)))
}

// attestationFromNVS takes the DAC, PAI and key from the factory NVS
// partition when esp_secure_cert does not hold them (esp-matter's
// factory-partition DAC provider: dac-cert, pai-cert, dac-key, dac-pub-key),
// then reports what is still missing.
func (r *Report) attestationFromNVS() {
	f := r.Factory
	if f != nil && r.DAC == nil && f.DACCert != nil {
		if c, err := x509.ParseCertificate(f.DACCert); err != nil {
			r.fail("dac", fmt.Sprintf("nvs dac-cert is not a DER certificate: %v", err))
		} else {
			r.DAC, r.DACSource = c, "nvs"
		}
	}
	if f != nil && r.PAI == nil && f.PAICert != nil {
		if c, err := x509.ParseCertificate(f.PAICert); err != nil {
			r.fail("pai", fmt.Sprintf("nvs pai-cert is not a DER certificate: %v", err))
		} else {
			r.PAI = c
		}
	}
	keyChecked := false
	for _, m := range r.missing {
		switch {
		case m.Name == "dac" && r.DAC != nil, m.Name == "pai" && r.PAI != nil:
			continue
		case m.Name == "dac key" && f != nil && (f.DACKey != nil || f.DACPubKey != nil):
			r.checkNVSKey()
			keyChecked = true
			continue
		}
		r.Checks = append(r.Checks, m)
	}
	if !keyChecked && r.SecureCert == nil && r.DACSource == "nvs" {
		if f.DACKey != nil || f.DACPubKey != nil {
			r.checkNVSKey() // an NVS dump alone
		} else {
			r.skip("dac key", "no dac-key or dac-pub-key in nvs (the key is elsewhere, e.g. esp_secure_cert)")
		}
	}
}

// checkNVSKey compares dac-key (raw 32-byte P-256 scalar) and dac-pub-key
// (65-byte uncompressed point) with the DAC's public key.
func (r *Report) checkNVSKey() {
	f := r.Factory
	if r.DAC == nil {
		r.skip("dac key", "key in nvs; no DAC to compare it with")
		return
	}
	pub, ok := r.DAC.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		r.fail("dac key", "the DAC's key is not ECDSA")
		return
	}
	point, err := pub.Bytes()
	if err != nil {
		r.fail("dac key", err.Error())
		return
	}
	if f.DACKey != nil {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), f.DACKey)
		if err != nil {
			r.fail("dac key", fmt.Sprintf("nvs dac-key is not a 32-byte P-256 private key: %v", err))
			return
		}
		if !k.PublicKey.Equal(pub) {
			r.fail("dac key", "the DAC certifies another key than nvs dac-key")
			return
		}
	}
	if f.DACPubKey != nil && !bytes.Equal(f.DACPubKey, point) {
		r.fail("dac key", "nvs dac-pub-key is not the DAC's public key")
		return
	}
	what := "dac-key"
	if f.DACKey == nil {
		what = "dac-pub-key (the public half)"
	}
	r.ok("dac key", "the DAC certifies the key in nvs "+what)
}
