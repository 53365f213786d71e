package matter

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dacline/dacline/shared/testenv"
)

// Issue 12 item 10: a certificate with an unrecognized extension marked
// critical is refused (RFC 5280 §4.2), at every level of the chain, like the
// SDK's verifiers and OpenSSL; the same extension non-critical is tolerated.
func TestUnknownCriticalExtensionRefused(t *testing.T) {
	f := newRuleFixture(t)
	unknown := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}
	withExt := func(crit bool) func(*x509.Certificate) {
		return func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: unknown, Critical: crit, Value: []byte{0x05, 0x00}}}
		}
	}
	for _, typ := range []CertType{DAC, PAI, PAA} {
		t.Run(typ.String(), func(t *testing.T) {
			der, _ := f.build(t, typ, withExt(true), nil)
			_, err := ParseCertificateAs(der, typ)
			if want := typ.String() + ".extension.unknownCritical"; RuleOf(err) != want {
				t.Fatalf("got %v, want rule %s", err, want)
			}
			if !strings.Contains(err.Error(), unknown.String()) {
				t.Errorf("error does not name the extension: %v", err)
			}
			der, _ = f.build(t, typ, withExt(false), nil)
			if _, err := ParseCertificateAs(der, typ); err != nil {
				t.Fatalf("the same extension, not critical: %v", err)
			}
		})
	}
}

// OpenSSL agrees: it refuses the DAC with the critical extension and
// accepts the one without (the interop reference for the rule above).
func TestUnknownCriticalExtensionOpenSSL(t *testing.T) {
	testenv.RequireTool(t, "openssl")
	f := newRuleFixture(t)
	dir := t.TempDir()
	write := func(name string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paa, pai := write("paa.pem", f.paa.der), write("pai.pem", f.pai.der)
	for _, crit := range []bool{true, false} {
		der, _ := f.build(t, DAC, func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, Critical: crit, Value: []byte{0x05, 0x00}}}
		}, nil)
		out, err := exec.Command("openssl", "verify", "-CAfile", paa, "-untrusted", pai, "-attime", "1700000000", write("dac.pem", der)).CombinedOutput()
		if crit && (err == nil || !strings.Contains(string(out), "unhandled critical extension")) {
			t.Errorf("openssl accepted the critical extension: %s", out)
		}
		if !crit && err != nil {
			t.Errorf("openssl refused the non-critical extension: %s", out)
		}
	}
}
