package matter

import (
	"bytes"
	"os"
	"testing"
)

func TestParseCertificateInputs(t *testing.T) {
	pemBytes, err := os.ReadFile("testdata/sdk/Chip-Test-DAC-FFF1-8000-0000-Cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertificate(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	der := c.Raw
	if _, err := ParseCertificate(der); err != nil {
		t.Fatalf("DER: %v", err)
	}
	crlf := bytes.ReplaceAll(pemBytes, []byte("\n"), []byte("\r\n"))
	if _, err := ParseCertificate(crlf); err != nil {
		t.Fatalf("CRLF PEM: %v", err)
	}
	rows := []struct {
		name, rule string
		in         []byte
	}{
		{"two PEM blocks", "cert.encoding", append(append([]byte(nil), pemBytes...), pemBytes...)},
		{"wrong PEM type", "cert.encoding", bytes.Replace(bytes.Replace(pemBytes, []byte("BEGIN CERTIFICATE"), []byte("BEGIN PUBLIC KEY"), 1), []byte("END CERTIFICATE"), []byte("END PUBLIC KEY"), 1)},
		{"broken PEM", "cert.encoding", pemBytes[:len(pemBytes)-30]},
		{"text after PEM", "cert.encoding", append(append([]byte(nil), pemBytes...), []byte("junk\n")...)},
		{"DER trailing byte", "cert.parse", append(append([]byte(nil), der...), 0)},
		{"DER truncated", "cert.parse", der[:len(der)-1]},
		{"empty", "cert.parse", nil},
		{"oversize DER", "cert.size", make([]byte, MaxCertDER+1)},
		{"oversize PEM", "cert.size", append([]byte("-----BEGIN CERTIFICATE-----\n"), make([]byte, maxPEMInput)...)},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := ParseCertificate(r.in)
			if RuleOf(err) != r.rule {
				t.Fatalf("got %v, want %q", err, r.rule)
			}
		})
	}
	if _, err := ParseCertificateAs(make([]byte, MaxCertDER+1), DAC); RuleOf(err) != "dac.size" {
		t.Errorf("ParseCertificateAs: %v", err)
	}
}
