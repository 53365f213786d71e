package matter

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

type attr struct {
	oid   asn1.ObjectIdentifier
	tag   cbasn1.Tag
	value string
}

// rawName builds a DER Name with one attribute per RDN, any string tag.
func rawName(attrs ...attr) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(a.oid)
					b.AddASN1(a.tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.value)) })
				})
			})
		}
	})
	return b.BytesOrPanic()
}

func cn(s string) attr  { return attr{oidCN, cbasn1.UTF8String, s} }
func vid(s string) attr { return attr{OIDVendorID, cbasn1.UTF8String, s} }
func pid(s string) attr { return attr{OIDProductID, cbasn1.UTF8String, s} }

// ruleFixture builds certificates of each type that differ from a valid one
// in exactly the way a test row says, signed by the right parent.
type ruleFixture struct{ paa, pai testCA }

func (f ruleFixture) build(t *testing.T, typ CertType, mutTmpl func(*x509.Certificate), mutRaw func(*tbsParts)) ([]byte, error) {
	t.Helper()
	key := newKey(t)
	nb := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	var tmpl *x509.Certificate
	var err error
	parent, signer := f.pai.cert, f.pai.key
	switch typ {
	case DAC:
		tmpl, err = DACTemplate(nextSerial(), Subject{CommonName: "rule DAC", VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}, nb, NoExpiry, &key.PublicKey, f.pai.cert)
	case PAI:
		parent, signer = f.paa.cert, f.paa.key
		tmpl, err = PAITemplate(nextSerial(), Subject{CommonName: "rule PAI", VID: 0xFFF1, HasVID: true}, nb, NoExpiry, &key.PublicKey, f.paa.cert)
	case PAA:
		tmpl, err = PAATemplate(nextSerial(), Subject{CommonName: "rule PAA", VID: 0xFFF1, HasVID: true}, nb, NoExpiry, &key.PublicKey)
		parent, signer = nil, key
	}
	if err != nil {
		t.Fatal(err)
	}
	if mutTmpl != nil {
		mutTmpl(tmpl)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, tmpl.PublicKey, signer)
	if err != nil {
		t.Fatalf("x509.CreateCertificate: %v", err)
	}
	if mutRaw != nil {
		p := splitTBS(t, der)
		mutRaw(p)
		der = p.sign(t, signer)
	}
	return der, nil
}

// newRuleFixture builds a PAA and PAI with minimal subjects (VID only), so
// that a DAC under them has room for a 200-byte subject within 600 bytes.
func newRuleFixture(t *testing.T) ruleFixture {
	t.Helper()
	var f ruleFixture
	nb := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	subj := Subject{VID: 0xFFF1, HasVID: true}
	f.paa.key = newKey(t)
	tmpl, err := PAATemplate(nextSerial(), subj, nb, NoExpiry, &f.paa.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if f.paa.der, err = IssueCertificate(tmpl, nil, &f.paa.key.PublicKey, f.paa.key, PAA); err != nil {
		t.Fatal(err)
	}
	f.paa.cert = mustParse(t, f.paa.der)
	f.pai.key = newKey(t)
	if tmpl, err = PAITemplate(nextSerial(), subj, nb, NoExpiry, &f.pai.key.PublicKey, f.paa.cert); err != nil {
		t.Fatal(err)
	}
	if f.pai.der, err = IssueCertificate(tmpl, f.paa.cert, &f.pai.key.PublicKey, f.paa.key, PAI); err != nil {
		t.Fatal(err)
	}
	f.pai.cert = mustParse(t, f.pai.der)
	return f
}

func TestProfileRules(t *testing.T) {
	f := newRuleFixture(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	setKU := func(k x509.KeyUsage) func(*x509.Certificate) { return func(c *x509.Certificate) { c.KeyUsage = k } }
	setSubject := func(attrs ...attr) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.RawSubject = rawName(attrs...) }
	}
	extCrit := func(oid asn1.ObjectIdentifier, crit bool) func(*tbsParts) {
		return func(p *tbsParts) { p.ext(oid).critical = crit }
	}
	drop := func(oid asn1.ObjectIdentifier) func(*tbsParts) { return func(p *tbsParts) { p.dropExt(oid) } }

	rows := []struct {
		rule string
		typ  CertType
		tmpl func(*x509.Certificate)
		raw  func(*tbsParts)
	}{
		// Encoding and algorithms.
		{"dac.size", DAC, func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: bytes.Repeat([]byte{0x04}, 300)}}
		}, nil},
		{"dac.version", DAC, nil, func(p *tbsParts) { p.version = []byte{0xa0, 0x03, 0x02, 0x01, 0x01} }},
		{"dac.serialNumber", DAC, nil, func(p *tbsParts) { p.serial = derInt(bytes.Repeat([]byte{0x11}, 21)) }},
		{"dac.signatureAlgorithm", DAC, func(c *x509.Certificate) { c.SignatureAlgorithm = x509.ECDSAWithSHA384 }, nil},
		{"dac.publicKey", DAC, func(c *x509.Certificate) { c.PublicKey = &p384.PublicKey }, nil},
		{"pai.publicKey", PAI, func(c *x509.Certificate) { c.PublicKey = &rsaKey.PublicKey }, nil},
		{"dac.validity", DAC, func(c *x509.Certificate) { c.NotBefore, c.NotAfter = c.NotAfter, c.NotBefore }, nil},

		// basicConstraints.
		{"dac.basicConstraints.missing", DAC, func(c *x509.Certificate) { c.BasicConstraintsValid = false }, nil},
		{"dac.basicConstraints.critical", DAC, nil, extCrit(oidExtBasicConstraints, false)},
		{"dac.basicConstraints.ca", DAC, func(c *x509.Certificate) { c.IsCA = true }, nil},
		{"dac.basicConstraints.pathLen", DAC, nil, func(p *tbsParts) {
			p.ext(oidExtBasicConstraints).value = []byte{0x30, 0x03, 0x02, 0x01, 0x00} // cA FALSE, pathLen 0
		}},
		{"pai.basicConstraints.missing", PAI, nil, drop(oidExtBasicConstraints)},
		{"pai.basicConstraints.critical", PAI, nil, extCrit(oidExtBasicConstraints, false)},
		{"pai.basicConstraints.ca", PAI, nil, func(p *tbsParts) { p.ext(oidExtBasicConstraints).value = []byte{0x30, 0x00} }},
		{"pai.basicConstraints.pathLen", PAI, func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 1, false }, nil},
		{"pai.basicConstraints.pathLen", PAI, func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = -1, false }, nil},
		{"paa.basicConstraints.ca", PAA, nil, func(p *tbsParts) { p.ext(oidExtBasicConstraints).value = []byte{0x30, 0x00} }},
		{"paa.basicConstraints.pathLen", PAA, func(c *x509.Certificate) { c.MaxPathLen = 2 }, nil},
		{"paa.basicConstraints.critical", PAA, nil, extCrit(oidExtBasicConstraints, false)},

		// keyUsage.
		{"dac.keyUsage.missing", DAC, setKU(0), nil},
		{"dac.keyUsage.critical", DAC, nil, extCrit(oidExtKeyUsage, false)},
		{"dac.keyUsage.digitalSignature", DAC, setKU(x509.KeyUsageKeyEncipherment), nil},
		{"dac.keyUsage.keyCertSign", DAC, setKU(x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign), nil},
		{"dac.keyUsage.cRLSign", DAC, setKU(x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign), nil},
		{"dac.keyUsage.other", DAC, setKU(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement), nil},
		{"pai.keyUsage.missing", PAI, nil, drop(oidExtKeyUsage)},
		{"pai.keyUsage.critical", PAI, nil, extCrit(oidExtKeyUsage, false)},
		{"pai.keyUsage.keyCertSign", PAI, setKU(x509.KeyUsageCRLSign), nil},
		{"pai.keyUsage.cRLSign", PAI, setKU(x509.KeyUsageCertSign), nil},
		{"pai.keyUsage.other", PAI, setKU(x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageKeyEncipherment), nil},
		{"paa.keyUsage.cRLSign", PAA, setKU(x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature), nil},

		// Key identifiers.
		{"dac.subjectKeyId.missing", DAC, nil, drop(oidExtSKID)},
		{"dac.subjectKeyId.critical", DAC, nil, extCrit(oidExtSKID, true)},
		{"dac.subjectKeyId.length", DAC, func(c *x509.Certificate) { c.SubjectKeyId = c.SubjectKeyId[:8] }, nil},
		{"pai.subjectKeyId.missing", PAI, nil, drop(oidExtSKID)},
		{"paa.subjectKeyId.missing", PAA, nil, drop(oidExtSKID)},
		{"dac.authorityKeyId.missing", DAC, nil, drop(oidExtAKID)},
		{"dac.authorityKeyId.critical", DAC, nil, extCrit(oidExtAKID, true)},
		{"dac.authorityKeyId.length", DAC, nil, func(p *tbsParts) {
			p.ext(oidExtAKID).value = []byte{0x30, 0x0a, 0x80, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}
		}},
		{"pai.authorityKeyId.missing", PAI, nil, drop(oidExtAKID)},
		{"paa.authorityKeyId.critical", PAA, nil, extCrit(oidExtAKID, true)},

		// Subject and VID/PID.
		{"dac.subject.length", DAC, setSubject(cn(strings.Repeat("x", 186))), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn("DAC"), vid("fff1"), pid("8000")), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn("DAC"), vid("FFF1"), pid("800")), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn("DAC"), vid("FFF1"), vid("FFF1"), pid("8000")), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn("DAC"), vid("FFF1"), pid("8000"), pid("8000")), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn("DAC Mvid:FF1 Mpid:8000")), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn("DAC Mvid:fff1 Mpid:8000")), nil},
		{"dac.subject.vidpid", DAC, setSubject(cn(""), vid("FFF1"), pid("8000")), nil},
		{"dac.subject.vid.missing", DAC, setSubject(cn("DAC"), pid("8000")), nil},
		{"dac.subject.vid.missing", DAC, setSubject(cn("DAC Mpid:8000")), nil},
		{"dac.subject.pid.missing", DAC, setSubject(cn("DAC"), vid("FFF1")), nil},
		// OID attributes win: a legacy CN PID does not count when a VID attribute exists.
		{"dac.subject.pid.missing", DAC, setSubject(cn("DAC Mpid:8000"), vid("FFF1")), nil},
		{"pai.subject.vid.missing", PAI, setSubject(cn("PAI")), nil},
		{"pai.subject.vidpid", PAI, setSubject(cn("PAI"), vid("FFF")), nil},
		{"paa.subject.pid.present", PAA, setSubject(cn("PAA"), vid("FFF1"), pid("8000")), nil},
		{"paa.subject.pid.present", PAA, setSubject(cn("PAA Mvid:FFF1 Mpid:8000")), nil},
		{"paa.selfSignature", PAA, nil, func(p *tbsParts) {
			// Re-signed by the fixture's PAA key below, not by its own key.
		}},
	}
	for _, r := range rows {
		t.Run(r.rule, func(t *testing.T) {
			var der []byte
			if r.rule == "paa.selfSignature" {
				// Same self-issued TBS, but signed by a different key.
				good, _ := f.build(t, PAA, r.tmpl, nil)
				der = splitTBS(t, good).sign(t, f.paa.key)
			} else {
				der, _ = f.build(t, r.typ, r.tmpl, r.raw)
			}
			_, err := ParseCertificateAs(der, r.typ)
			if got := RuleOf(err); got != r.rule {
				t.Fatalf("got %v (rule %q), want rule %q", err, got, r.rule)
			}
			if !strings.Contains(err.Error(), r.rule) {
				t.Errorf("error %q does not name the rule", err)
			}
		})
	}
	// The unmutated certificates pass: every failure above comes from its mutation.
	for _, typ := range []CertType{DAC, PAI, PAA} {
		der, _ := f.build(t, typ, nil, func(*tbsParts) {})
		cert, err := ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateCertificate(cert, typ); err != nil {
			t.Errorf("unmutated %s fails: %v", typ, err)
		}
	}
	// Legacy CN encoding alone is a valid DAC subject.
	der, _ := f.build(t, DAC, setSubject(cn("ACME Matter Devel DAC 5CDA9899 Mvid:FFF1 Mpid:8000")), nil)
	if err := ValidateDAC(mustParse(t, der)); err != nil {
		t.Errorf("legacy CN DAC: %v", err)
	}
	// A PrintableString VID is what the SDK reads too (it ignores the tag).
	der, _ = f.build(t, DAC, setSubject(cn("DAC"), attr{OIDVendorID, cbasn1.PrintableString, "FFF1"}, pid("8000")), nil)
	if err := ValidateDAC(mustParse(t, der)); err != nil {
		t.Errorf("PrintableString VID: %v", err)
	}
}
