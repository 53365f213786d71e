package dacs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/station"
)

// provisioned returns a store with, in batch b1, modules 1 and 2 done and
// module 3 locked; in batch b2, module 4 done and module 5 failed after its
// DAC was imported. DACs are real, issued by a software PAI.
func provisioned(t *testing.T) (*station.Store, map[string][]byte) {
	t.Helper()
	st, err := station.OpenFile(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pki := linetest.NewPKI(t)
	dacs := map[string][]byte{}
	batch := func(id string, from, to int) {
		ret := &station.Return{ReturnID: "r-" + id, CSRBatchID: id}
		for i := from; i <= to; i++ {
			mac := fmt.Sprintf("24:0a:c4:00:00:%02x", i)
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}, key)
			csr, _ := x509.ParseCertificateRequest(der)
			spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
			ob, _ := station.NewOnboarding(0)
			if _, err := st.Identify(station.Sighting{MAC: mac}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.RecordCSR(mac, station.CSR{DER: der, SPKISHA256: spki, VID: linetest.VID, PID: linetest.PID}, ob); err != nil {
				t.Fatal(err)
			}
			dac, err := pki.IssueDAC(der, linetest.VID, linetest.PID)
			if err != nil {
				t.Fatal(err)
			}
			dacs[mac] = dac
			ret.DACs = append(ret.DACs, station.ReturnedDAC{SPKISHA256: spki, DER: dac, Serial: fmt.Sprintf("%02X", i)})
		}
		if _, err := st.BeginExport(id, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ImportReturn(ret); err != nil {
			t.Fatal(err)
		}
	}
	batch("b1", 1, 3)
	batch("b2", 4, 5)
	for i, until := range map[int]string{1: "done", 2: "done", 3: "locked", 4: "done"} {
		mac := fmt.Sprintf("24:0a:c4:00:00:%02x", i)
		steps := []func(string) (*station.Module, error){st.BeginWrite,
			func(m string) (*station.Module, error) { return st.CredentialsWritten(m, []byte{1}) },
			st.RecordAttested, st.BeginLock, st.RecordLocked}
		if until == "done" {
			steps = append(steps, st.RecordDone)
		}
		for _, f := range steps {
			if _, err := f(mac); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := st.Fail("24:0a:c4:00:00:05", station.ReasonLyingModule, "test"); err != nil {
		t.Fatal(err)
	}
	return st, dacs
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestExport(t *testing.T) {
	st, dacs := provisioned(t)
	dir := t.TempDir()
	res, err := Export(st, dir, Options{Format: PEM})
	if err != nil || res.Written != 3 || res.Present != 0 {
		t.Fatalf("export: %+v %v", res, err)
	}
	if got := files(t, dir); fmt.Sprint(got) != "[240ac4000001.pem 240ac4000002.pem 240ac4000004.pem]" {
		t.Fatalf("files %v: want the three done modules", got)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "240ac4000004.pem"))
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" || len(rest) != 0 || string(blk.Bytes) != string(dacs["24:0a:c4:00:00:04"]) {
		t.Fatal("pem file is not the module's dac")
	}
	// --all adds the locked module, never the failed one; the rest are there.
	res, err = Export(st, dir, Options{Format: PEM, All: true})
	if err != nil || res.Written != 1 || res.Present != 3 {
		t.Fatalf("export --all: %+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "240ac4000005.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed module's dac was exported")
	}

	// DER, one batch.
	der := t.TempDir()
	if res, err := Export(st, der, Options{Format: DER, Batch: "b2"}); err != nil || res.Written != 1 {
		t.Fatalf("export b2: %+v %v", res, err)
	}
	b, _ = os.ReadFile(filepath.Join(der, "240ac4000004.der"))
	if string(b) != string(dacs["24:0a:c4:00:00:04"]) {
		t.Fatal("der file is not the module's dac")
	}

	// Another content under a module's name stops the export; the file stays.
	os.WriteFile(filepath.Join(der, "240ac4000001.der"), []byte("other"), 0o644)
	if _, err := Export(st, der, Options{Format: DER}); !errors.Is(err, ErrExists) {
		t.Fatalf("other content: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(der, "240ac4000001.der")); string(b) != "other" {
		t.Fatal("an existing file was overwritten")
	}

	if _, err := Export(st, t.TempDir(), Options{Format: PEM, Batch: "nosuch"}); !errors.Is(err, ErrNothing) {
		t.Fatalf("empty selection: %v", err)
	}
	if _, err := Export(st, filepath.Join(dir, "240ac4000001.pem"), Options{Format: PEM}); err == nil {
		t.Fatal("a file accepted as the output directory")
	}
	if _, err := Export(st, dir, Options{Format: "crt"}); err == nil {
		t.Fatal("format crt accepted")
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("24:0A:C4:00:01:02", DER); got != "240ac4000102.der" {
		t.Fatalf("FileName = %q", got)
	}
	for _, s := range []string{"PEM", "der"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("ParseFormat(%q): %v", s, err)
		}
	}
	if _, err := ParseFormat("x509"); err == nil {
		t.Error("ParseFormat(x509) accepted")
	}
}
