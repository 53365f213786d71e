package matter

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertificate(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// TestSDKTestCertificates runs the Matter SDK's own test PKI
// (credentials/test/attestation) through the validators: both stored
// generations of the FFF1 chain, and the NoVID PAA / NoPID PAI pair.
func TestSDKTestCertificates(t *testing.T) {
	now := testTime
	for _, gen := range []string{"sdk", "sdk-gen1"} {
		paa := readCert(t, filepath.Join("testdata", gen, "Chip-Test-PAA-FFF1-Cert.pem"))
		pai := readCert(t, filepath.Join("testdata", gen, "Chip-Test-PAI-FFF1-8000-Cert.pem"))
		dacs, _ := filepath.Glob(filepath.Join("testdata", gen, "Chip-Test-DAC-*-Cert.pem"))
		if len(dacs) == 0 {
			t.Fatalf("%s: no DACs", gen)
		}
		for _, f := range dacs {
			dac := readCert(t, f)
			if err := ValidateChainAt(dac, pai, paa, now); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			// The same DAC under the other generation's PAA must fail.
			other := "sdk"
			if gen == "sdk" {
				other = "sdk-gen1"
			}
			otherPAA := readCert(t, filepath.Join("testdata", other, "Chip-Test-PAA-FFF1-Cert.pem"))
			if err := ValidateChainAt(dac, pai, otherPAA, now); RuleOf(err) != "chain.paaNotFound" {
				t.Errorf("%s under the %s PAA: got %v, want chain.paaNotFound", f, other, err)
			}
		}
	}
	// The gen1 PAA has no VID attribute at all (CN "Matter Test PAA FFF1"
	// carries no Mvid: prefix): a PAA without VID is valid.
	paaNoVIDAttr := readCert(t, "testdata/sdk-gen1/Chip-Test-PAA-FFF1-Cert.pem")
	if vp, err := ExtractVIDPID(paaNoVIDAttr.RawSubject); err != nil || vp.HasVID || vp.HasPID {
		t.Errorf("gen1 PAA VID/PID = %v, %v; want none", vp, err)
	}

	// NoVID PAA → NoPID PAI (FFF2); the SDK publishes the PAI key, so issue
	// a DAC under it with this library and validate the whole chain.
	paa := readCert(t, "testdata/sdk/Chip-Test-PAA-NoVID-Cert.pem")
	pai := readCert(t, "testdata/sdk/Chip-Test-PAI-FFF2-NoPID-Cert.pem")
	if err := ValidatePAA(paa); err != nil {
		t.Fatal(err)
	}
	if err := ValidatePAI(pai); err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile("testdata/sdk/Chip-Test-PAI-FFF2-NoPID-Key.pem")
	if err != nil {
		t.Fatal(err)
	}
	paiKey := parseECKeyPEM(t, keyPEM)
	dacKey := newKey(t)
	for _, pid := range []uint16{0x8001, 0x8004} {
		tmpl, err := DACTemplate(nextSerial(), Subject{CommonName: "dacline DAC under SDK PAI", VID: 0xFFF2, PID: pid, HasVID: true, HasPID: true},
			time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), NoExpiry, &dacKey.PublicKey, pai)
		if err != nil {
			t.Fatal(err)
		}
		der, err := IssueCertificate(tmpl, pai, &dacKey.PublicKey, paiKey, DAC)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateChainAt(mustParse(t, der), pai, paa, now); err != nil {
			t.Errorf("DAC FFF2/%04X under SDK NoPID PAI: %v", pid, err)
		}
	}
}

func parseECKeyPEM(t testing.TB, b []byte) *ecdsa.PrivateKey {
	t.Helper()
	der := b
	if i := strings.Index(string(b), "-----BEGIN"); i >= 0 {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		body := strings.Join(lines[1:len(lines)-1], "")
		var err error
		if der, err = decodeBase64(body); err != nil {
			t.Fatal(err)
		}
	}
	k, err := x509.ParseECPrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type dutVector struct {
	Description string `json:"description"`
	Success     string `json:"is_success_case"`
	DAC         string `json:"dac_cert"`
	PAI         string `json:"pai_cert"`
	CD          string `json:"certification_declaration"`
}

// checkDUTVector does what a commissioner does with an attestation
// response: chain (at now) and CD (signature with the SDK test CD signing
// certificate, then the checks against DAC/PAI/PAA).
func checkDUTVector(v dutVector, paa, cdSigner *x509.Certificate, now time.Time) error {
	raw := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	dac, err := ParseCertificate(raw(v.DAC))
	if err != nil {
		return err
	}
	pai, err := ParseCertificate(raw(v.PAI))
	if err != nil {
		return err
	}
	if err := ValidateChainAt(dac, pai, paa, now); err != nil {
		return err
	}
	cd, err := ParseCD(raw(v.CD))
	if err != nil {
		return err
	}
	if err := cd.Verify(cdSigner); err != nil {
		return err
	}
	return CheckCD(cd, dac, pai, paa)
}

// TestCommissionerDUTVectors runs the SDK's commissioner DUT vectors
// (credentials/development/commissioner_dut): success cases must pass,
// failing cases must fail with the rule named here.
func TestCommissionerDUTVectors(t *testing.T) {
	want := map[string]string{
		"struct_dac_cert_version_v3":                        "",
		"struct_dac_vidpid_fallback_encoding_01":            "",
		"struct_dac_ext_basic_critical_wrong":               "dac.basicConstraints.critical",
		"struct_dac_ext_basic_pathlen0":                     "dac.basicConstraints.pathLen",
		"struct_dac_ext_key_usage_dig_sig_wrong":            "dac.keyUsage.digitalSignature",
		"struct_dac_sig_algo_ecdsa_with_sha1":               "dac.signatureAlgorithm",
		"struct_dac_sig_curve_secp256k1":                    "cert.publicKey",
		"struct_dac_subject_vid_mismatch":                   "chain.dacVendorIdMismatch",
		"struct_dac_valid_in_past":                          "chain.paiNotValidAtIssuance",
		"struct_cd_authorized_paa_list_count10_invalid":     "cd.paaNotAuthorized",
		"struct_cd_vid_mismatch":                            "cd.vendorIdMismatch",
		"struct_cd_cms_sig_algo_ecdsa_with_sha1":            "cd.signatureAlgorithm",
		"struct_cd_signer_info_skid_invalid":                "cd.signerNotFound",
		"struct_cd_dac_origin_vid_pid_present_vid_mismatch": "cd.vendorIdMismatch",
		"struct_cd_format_version_2":                        "cd.formatVersion",
	}
	paa := readCert(t, "testdata/sdk/Chip-Test-PAA-FFF1-Cert.pem")
	signer := readCert(t, "testdata/cd/Chip-Test-CD-Signing-Cert.pem")
	files, _ := filepath.Glob("testdata/commissioner_dut/*.json")
	if len(files) != len(want) {
		t.Errorf("%d vector files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v dutVector
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			rule, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			if (rule == "") != (v.Success == "true") {
				t.Fatalf("expectation disagrees with is_success_case=%s", v.Success)
			}
			err = checkDUTVector(v, paa, signer, testTime)
			if got := RuleOf(err); got != rule || (rule != "" && err == nil) {
				t.Errorf("%s: got %v (rule %q), want rule %q", v.Description, err, got, rule)
			}
		})
	}
}

// TestCommissionerDUTVectors2022 covers DAC profile vectors from the SDK's
// 2022-04 generation, whose PAIs carry pathLen 1 (the SDK has since required
// pathLen 0 on a PAI, so those PAIs fail today): only the DAC is checked,
// and its signature with the PAI key, so a transcription error cannot hide.
func TestCommissionerDUTVectors2022(t *testing.T) {
	want := map[string]string{
		"struct_dac_vidpid_fallback_encoding_07": "dac.subject.vidpid",
		"struct_dac_ext_akid_missing":            "dac.authorityKeyId.missing",
	}
	files, _ := filepath.Glob("testdata/commissioner_dut_2022/*.json")
	if len(files) != len(want) {
		t.Errorf("%d vector files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		b, _ := os.ReadFile(f)
		var v dutVector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		dacDER, _ := hex.DecodeString(v.DAC)
		paiDER, _ := hex.DecodeString(v.PAI)
		pai := mustParse(t, paiDER)
		if RuleOf(ValidatePAI(pai)) != "pai.basicConstraints.pathLen" {
			t.Errorf("%s: expected the 2022 PAI to carry pathLen 1", name)
		}
		dac, err := ParseCertificateAs(dacDER, DAC)
		if got := RuleOf(err); got != want[name] {
			t.Errorf("%s: got %v, want %q", name, err, want[name])
		}
		raw := mustParse(t, dacDER)
		if err := pai.CheckSignature(raw.SignatureAlgorithm, raw.RawTBSCertificate, raw.Signature); err != nil {
			t.Errorf("%s: DAC signature does not verify with the PAI: %v", name, err)
		}
		_ = dac
	}
}
