package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/station"
)

// doneStore builds a store with n modules driven to done (fake CSR/DAC bytes:
// the manifest does not look inside them).
func doneStore(t testing.TB, n int) *station.Store {
	t.Helper()
	s, err := station.OpenFile(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var ret station.Return
	ret.ReturnID, ret.CSRBatchID = "r1", "b1"
	for i := range n {
		mac := fmt.Sprintf("24:0a:c4:00:00:%02x", i)
		key := sha256.Sum256([]byte(mac))
		if _, err := s.Identify(station.Sighting{MAC: mac}); err != nil {
			t.Fatal(err)
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordCSR(mac, station.CSR{DER: []byte("csr"), SPKISHA256: key, VID: 0xFFF1, PID: 0x8000}, ob); err != nil {
			t.Fatal(err)
		}
		ret.DACs = append(ret.DACs, station.ReturnedDAC{SPKISHA256: key, DER: []byte("dac " + mac), Serial: fmt.Sprintf("%X", i+100)})
	}
	if _, err := s.BeginExport("b1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportReturn(&ret); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		mac := fmt.Sprintf("24:0a:c4:00:00:%02x", i)
		for _, f := range []func(string) (*station.Module, error){s.BeginWrite, func(m string) (*station.Module, error) { return s.CredentialsWritten(m, []byte{1}) },
			s.RecordAttested, s.BeginLock, s.RecordLocked, s.RecordDone} {
			if _, err := f(mac); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

func TestWriteReadRoundTrip(t *testing.T) {
	s := doneStore(t, 5)
	path := filepath.Join(t.TempDir(), "manifest.csv")
	n, err := WriteFile(path, s, Options{})
	if err != nil || n != 5 {
		t.Fatalf("wrote %d: %v", n, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest mode %v, want 0600 (it holds passcodes)", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), strings.Join(Header, ",")+"\n") {
		t.Fatalf("header: %q", strings.SplitN(string(b), "\n", 2)[0])
	}
	rows, err := ReadAll(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		sum := sha256.Sum256([]byte("dac " + r.MAC))
		if r.DACSHA256 != hex.EncodeToString(sum[:]) || r.VID != 0xFFF1 || r.PID != 0x8000 || r.BatchID != "b1" {
			t.Errorf("row %+v", r)
		}
		if !strings.HasPrefix(r.QRPayload, "MT:") || len(r.ManualCode) != 11 || r.LockedAt.IsZero() {
			t.Errorf("row codes %+v", r)
		}
	}
	// Temporary files are gone.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries", len(ents))
	}
}

func TestReaderRefusesBadRows(t *testing.T) {
	s := doneStore(t, 1)
	var buf bytes.Buffer
	if _, err := Write(&buf, s, Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	good := strings.Split(lines[1], ",")
	mutate := func(col int, v string) string {
		f := append([]string(nil), good...)
		f[col] = v
		return lines[0] + "\n" + strings.Join(f, ",") + "\n"
	}
	cases := map[string]string{
		"bad header":       strings.Replace(buf.String(), "passcode", "pin", 1),
		"upper mac":        mutate(0, strings.ToUpper(good[0])),
		"short sha":        mutate(3, "abcd"),
		"lower vid":        mutate(4, "fff1"),
		"disc 4096":        mutate(6, "4096"),
		"trivial passcode": mutate(7, "12345678"),
		"qr mismatch":      mutate(7, "00000001"),
		"manual garbage":   mutate(9, "1234"),
		"time":             mutate(11, "yesterday"),
		"extra column":     lines[0] + "\n" + lines[1] + ",x\n",
		"long line":        lines[0] + "\n" + strings.Repeat("a", 5000) + "\n",
	}
	for name, in := range cases {
		if _, err := ReadAll(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(strings.Join(Header, ",") + "\n24:0a:c4:00:00:01,SN,01,00,FFF1,8000,1,20202021,MT:Y.K9042C00KA0648G00,34970112332,b,2026-01-01T00:00:00Z\n")
	f.Add("mac\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := NewReader(strings.NewReader(in))
		if err != nil {
			return
		}
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					return
				}
				return
			}
		}
	})
}
