package matter

import (
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"
)

// TestChainRules has one row per chain rule, each built so that the three
// certificates pass their profiles and only the chain rule breaks.
func TestChainRules(t *testing.T) {
	paa, pai, dac := testChain(t)
	otherPAA, otherPAI, _ := testChain(t)
	nb := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)

	// issue signs a template with any parent and key, bypassing IssueCertificate's own checks.
	issue := func(tmpl, parent *x509.Certificate, signer testCA) *x509.Certificate {
		t.Helper()
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, tmpl.PublicKey, signer.key)
		if err != nil {
			t.Fatal(err)
		}
		return mustParse(t, der)
	}
	dacWith := func(subj Subject, notBefore, notAfter time.Time) *x509.Certificate {
		k := newKey(t)
		tmpl, err := DACTemplate(nextSerial(), subj, notBefore, notAfter, &k.PublicKey, pai.cert)
		if err != nil {
			t.Fatal(err)
		}
		return issue(tmpl, pai.cert, pai)
	}
	fff1 := Subject{CommonName: "DAC", VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}

	// A PAI for FFF2 under the FFF1 PAA (for paiVendorIdMismatch), and a
	// PAI that expired before a DAC was issued.
	paiKey := newKey(t)
	tmpl, _ := PAITemplate(nextSerial(), Subject{CommonName: "PAI FFF2", VID: 0xFFF2, HasVID: true}, nb.AddDate(-1, 0, 0), NoExpiry, &paiKey.PublicKey, paa.cert)
	paiFFF2 := testCA{cert: issue(tmpl, paa.cert, paa), key: paiKey}
	k := newKey(t)
	tmpl, _ = DACTemplate(nextSerial(), Subject{CommonName: "DAC", VID: 0xFFF2, PID: 1, HasVID: true, HasPID: true}, nb, NoExpiry, &k.PublicKey, paiFFF2.cert)
	dacFFF2 := issue(tmpl, paiFFF2.cert, paiFFF2)

	shortKey := newKey(t)
	tmpl, _ = PAITemplate(nextSerial(), Subject{CommonName: "short PAI", VID: 0xFFF1, HasVID: true}, nb.AddDate(-1, 0, 0), nb.AddDate(0, -6, 0), &shortKey.PublicKey, paa.cert)
	shortPAI := testCA{cert: issue(tmpl, paa.cert, paa), key: shortKey}
	k = newKey(t)
	tmpl, _ = DACTemplate(nextSerial(), fff1, nb, NoExpiry, &k.PublicKey, shortPAI.cert)
	dacAfterPAI := issue(tmpl, shortPAI.cert, shortPAI)
	// ...and the converse: the PAI is still valid, but the DAC was issued
	// before the PAA's notBefore.
	earlyKey := newKey(t)
	tmpl, _ = PAITemplate(nextSerial(), Subject{CommonName: "early PAI", VID: 0xFFF1, HasVID: true}, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), NoExpiry, &earlyKey.PublicKey, paa.cert)
	earlyPAI := testCA{cert: issue(tmpl, paa.cert, paa), key: earlyKey}
	k = newKey(t)
	tmpl, _ = DACTemplate(nextSerial(), fff1, time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), NoExpiry, &k.PublicKey, earlyPAI.cert)
	dacBeforePAA := issue(tmpl, earlyPAI.cert, earlyPAI)

	// Same names and key identifiers as the real PAI, but signed by another key.
	dacForged := mustParse(t, splitTBS(t, dacWith(fff1, nb, NoExpiry).Raw).sign(t, otherPAI.key))

	rows := []struct {
		rule          string
		dac, pai, paa *x509.Certificate
		now           time.Time
	}{
		{"", dac.cert, pai.cert, paa.cert, testTime},
		{"chain.paaNotFound", dac.cert, pai.cert, otherPAA.cert, testTime},
		{"chain.paiNotFound", dac.cert, otherPAI.cert, otherPAA.cert, testTime},
		{"chain.dacSignatureInvalid", dacForged, pai.cert, paa.cert, testTime},
		{"chain.paiNotValidAtIssuance", dacAfterPAI, shortPAI.cert, paa.cert, testTime},
		{"chain.paaNotValidAtIssuance", dacBeforePAA, earlyPAI.cert, paa.cert, testTime},
		{"chain.dacNotYetValid", dac.cert, pai.cert, paa.cert, dac.cert.NotBefore.Add(-time.Second)},
		{"chain.dacExpired", dacWith(fff1, nb, nb.AddDate(1, 0, 0)), pai.cert, paa.cert, nb.AddDate(1, 0, 1)},
		{"", dacWith(fff1, nb, nb.AddDate(1, 0, 0)), pai.cert, paa.cert, nb.AddDate(0, 11, 0)},
		{"chain.dacVendorIdMismatch", dacWith(Subject{CommonName: "DAC", VID: 0xFFF2, PID: 0x8000, HasVID: true, HasPID: true}, nb, NoExpiry), pai.cert, paa.cert, testTime},
		{"chain.dacProductIdMismatch", dacWith(Subject{CommonName: "DAC", VID: 0xFFF1, PID: 0x8001, HasVID: true, HasPID: true}, nb, NoExpiry), pai.cert, paa.cert, testTime},
		{"chain.paiVendorIdMismatch", dacFFF2, paiFFF2.cert, paa.cert, testTime},
		{"pai.basicConstraints.ca", dac.cert, dac.cert, paa.cert, testTime},
		{"paa.missing", dac.cert, pai.cert, nil, testTime},
	}
	for _, r := range rows {
		name := r.rule
		if name == "" {
			name = "valid"
		}
		t.Run(name, func(t *testing.T) {
			err := ValidateChainAt(r.dac, r.pai, r.paa, r.now)
			if got := RuleOf(err); got != r.rule || (r.rule != "" && err == nil) {
				t.Fatalf("got %v (rule %q), want %q", err, got, r.rule)
			}
		})
	}
}

func TestExtractVIDPID(t *testing.T) {
	rows := []struct {
		name    string
		subject []byte
		want    VIDPID
		wantErr bool
	}{
		{"oid", rawName(cn("x"), vid("FFF1"), pid("8000")), VIDPID{VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}, false},
		{"cn any order", rawName(cn("Mpid:00B1 ACME Mvid:FFF1")), VIDPID{VID: 0xFFF1, PID: 0xB1, HasVID: true, HasPID: true, FromCN: true}, false},
		{"cn leftmost valid", rawName(cn("Mvid:ZZZZ Mvid:FFF2")), VIDPID{VID: 0xFFF2, HasVID: true, FromCN: true}, false},
		{"cn prefix without hex", rawName(cn("Mvid:FF")), VIDPID{}, true},
		{"cn uppercase prefix is not a prefix", rawName(cn("MVID:FFF1")), VIDPID{}, false},
		{"cn underscore", rawName(cn("Mpid_00B1")), VIDPID{}, false},
		{"oid wins over cn", rawName(cn("Mvid:FFF2 Mpid:0001"), vid("FFF1")), VIDPID{VID: 0xFFF1, HasVID: true}, false},
		{"cn beyond 64 bytes ignored", rawName(cn(string(make([]byte, 0)) + "0123456789012345678901234567890123456789012345678901234567890 Mvid:FFF1")), VIDPID{}, false},
		{"lowercase oid", rawName(vid("fff1")), VIDPID{}, true},
		{"five digits", rawName(vid("0FFF1")), VIDPID{}, true},
		{"duplicate", rawName(vid("FFF1"), vid("FFF1")), VIDPID{}, true},
		{"empty value", rawName(pid("")), VIDPID{}, true},
		{"malformed", []byte{0x30, 0x05, 0x31}, VIDPID{}, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := ExtractVIDPID(r.subject)
			if (err != nil) != r.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, r.wantErr)
			}
			if err == nil && got != r.want {
				t.Fatalf("got %+v, want %+v", got, r.want)
			}
		})
	}
}

func TestValidateIssuedBy(t *testing.T) {
	paa, pai, dac := testChain(t)
	otherPAA, otherPAI, _ := testChain(t)
	rows := []struct {
		rule          string
		child, parent *x509.Certificate
		typ           CertType
	}{
		{"", dac.cert, pai.cert, DAC},
		{"", pai.cert, paa.cert, PAI},
		{"chain.paiNotFound", dac.cert, otherPAI.cert, DAC},
		{"chain.paaNotFound", pai.cert, otherPAA.cert, PAI},
		{"pai.basicConstraints.ca", dac.cert, dac.cert, DAC},
	}
	for _, r := range rows {
		if err := ValidateIssuedBy(r.child, r.parent, r.typ); RuleOf(err) != r.rule {
			t.Errorf("%q: got %v", r.rule, err)
		}
	}
	if err := ValidateIssuedBy(paa.cert, paa.cert, PAA); err == nil {
		t.Error("PAA issued-by accepted")
	}
}
