package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/onboarding"
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
	f.Add(strings.Join(Header, ",") + "\n24:0a:c4:00:00:01,SN,01,00,FFF1,8000,1,20202021,MT:Y.K9042C00KA0648G00,34970112332,b,2026-01-01T00:00:00Z,deployed,\n" +
		"24:0a:c4:00:00:02,SN,02," + strings.Repeat("0", 64) + ",FFF1,8000,,,,,b,,unused,lying-module\n")
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

// mixedStore builds modules that end in every way a DAC can end: done,
// failed after the DAC arrived (lying at attestation, lock failed after
// locking), rejected at import (issued, never written), refused by the
// appliance and not returned (no DAC issued), and still in progress.
func mixedStore(t testing.TB) *station.Store {
	t.Helper()
	s, err := station.OpenFile(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	macs := []string{"done", "lying", "lockfail", "rejected", "refused", "notret", "writing"}
	mac := func(i int) string { return fmt.Sprintf("24:0a:c4:00:01:%02x", i) }
	ret := station.Return{ReturnID: "r1", CSRBatchID: "b1"}
	for i, what := range macs {
		key := sha256.Sum256([]byte(mac(i)))
		if _, err := s.Identify(station.Sighting{MAC: mac(i)}); err != nil {
			t.Fatal(err)
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordCSR(mac(i), station.CSR{DER: []byte("csr"), SPKISHA256: key, VID: 0xFFF1, PID: 0x8000}, ob); err != nil {
			t.Fatal(err)
		}
		switch what {
		case "rejected":
			sum := sha256.Sum256([]byte("dac " + mac(i)))
			ret.Refusals = append(ret.Refusals, station.Refusal{MAC: mac(i), Reason: station.ReasonDACRejected, Detail: "chain",
				DACSerial: "7E57", DACSHA256: hex.EncodeToString(sum[:])})
		case "refused":
			ret.Refusals = append(ret.Refusals, station.Refusal{MAC: mac(i), Reason: station.ReasonRefusedByAppliance, Detail: "policy"})
		case "notret":
		default:
			ret.DACs = append(ret.DACs, station.ReturnedDAC{SPKISHA256: key, DER: []byte("dac " + mac(i)), Serial: fmt.Sprintf("%X", i+100)})
		}
	}
	if _, err := s.BeginExport("b1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportReturn(&ret); err != nil {
		t.Fatal(err)
	}
	written := func(m string) (*station.Module, error) { return s.CredentialsWritten(m, []byte{1}) }
	steps := map[string][]func(string) (*station.Module, error){
		"done":     {s.BeginWrite, written, s.RecordAttested, s.BeginLock, s.RecordLocked, s.RecordDone},
		"lying":    {s.BeginWrite, written},
		"lockfail": {s.BeginWrite, written, s.RecordAttested, s.BeginLock, s.RecordLocked},
		"writing":  {s.BeginWrite},
	}
	for i, what := range macs {
		for _, f := range steps[what] {
			if _, err := f(mac(i)); err != nil {
				t.Fatal(err)
			}
		}
		switch what {
		case "lying":
			_, err = s.Fail(mac(i), station.ReasonLyingModule, "attested with another key")
		case "lockfail":
			_, err = s.Fail(mac(i), station.ReasonLockFailed, "lock mask read back 0011 after 3 lock attempts")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestUnusedRows: every DAC the appliance issued for a module that will never
// ship (failed after its DAC arrived, or rejected at import) has an unused
// row, so the auditor can account for it; modules that never got a DAC have
// none; a module still in progress has an in-progress row, last; deployed
// rows come first. Every row names the station.
func TestUnusedRows(t *testing.T) {
	s := mixedStore(t)
	var buf bytes.Buffer
	c, err := WriteCSV(&buf, s, Options{Station: "line-1"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if c != (Counts{Deployed: 1, Unused: 3, InProgress: 1}) || len(rows) != 5 {
		t.Fatalf("wrote %+v, read %d rows, want 5:\n%s", c, len(rows), buf.String())
	}
	want := []struct {
		mac    string
		status Status
		reason station.Reason
	}{
		{"24:0a:c4:00:01:00", StatusDeployed, ""},
		{"24:0a:c4:00:01:01", StatusUnused, station.ReasonLyingModule},
		{"24:0a:c4:00:01:02", StatusUnused, station.ReasonLockFailed},
		{"24:0a:c4:00:01:03", StatusUnused, station.ReasonDACRejected},
		{"24:0a:c4:00:01:06", StatusInProgress, "writing"},
	}
	for i, w := range want {
		r := rows[i]
		if r.MAC != w.mac || r.Status != w.status || r.Reason != string(w.reason) {
			t.Errorf("row %d: %s %s %q, want %s %s %q", i, r.MAC, r.Status, r.Reason, w.mac, w.status, w.reason)
		}
		sum := sha256.Sum256([]byte("dac " + r.MAC))
		if r.DACSHA256 != hex.EncodeToString(sum[:]) || r.DACSerial == "" || r.VID != 0xFFF1 || r.BatchID != "b1" || r.SerialNumber == "" {
			t.Errorf("row %d: dac/product fields %+v", i, r)
		}
		if r.Station != "line-1" {
			t.Errorf("row %d: station %q", i, r.Station)
		}
		if !r.Deployed() && (r.Passcode != 0 || r.QRPayload != "" || r.ManualCode != "" || !r.LockedAt.IsZero()) {
			t.Errorf("unused row %d carries onboarding codes or a lock time: %+v", i, r)
		}
	}
	if rows[3].DACSerial != "7E57" {
		t.Errorf("rejected dac serial %q, want the serial of the dac the appliance issued", rows[3].DACSerial)
	}
	// The raw CSV: an unused row has empty code columns, and the auditor's
	// status column says unused.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if f := strings.Split(lines[2], ","); f[7] != "" || f[8] != "" || f[12] != "unused" || f[13] != "lying-module" {
		t.Errorf("unused line %q", lines[2])
	}
	if f := strings.Split(lines[1], ","); f[12] != "deployed" || f[13] != "" {
		t.Errorf("deployed line %q", lines[1])
	}
}

// TestReaderStatusRules: unused rows must not carry codes and must give a
// reason; deployed rows must not have a reason; the status is one of two;
// a manifest in the first format (no status column) still reads, all deployed.
func TestReaderStatusRules(t *testing.T) {
	s := mixedStore(t)
	var buf bytes.Buffer
	if _, err := Write(&buf, s, Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	deployed, unused := strings.Split(lines[1], ","), strings.Split(lines[2], ",")
	mutate := func(base []string, col int, v string) string {
		f := append([]string(nil), base...)
		f[col] = v
		return lines[0] + "\n" + strings.Join(f, ",") + "\n"
	}
	bad := map[string]string{
		"unused with passcode":   mutate(unused, 7, deployed[7]),
		"unused with qr":         mutate(unused, 8, deployed[8]),
		"unused with locked_at":  mutate(unused, 11, deployed[11]),
		"unused without reason":  mutate(unused, 13, ""),
		"deployed with reason":   mutate(deployed, 13, "lying-module"),
		"unknown status":         mutate(deployed, 12, "shipped"),
		"deployed without codes": mutate(unused, 12, "deployed"),
		"unused bad dac hash":    mutate(unused, 3, "xyz"),
	}
	for name, in := range bad {
		if _, err := ReadAll(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	old := strings.Join(Header[:12], ",") + "\n" + strings.Join(deployed[:12], ",") + "\n"
	rows, err := ReadAll(strings.NewReader(old))
	if err != nil || len(rows) != 1 || rows[0].Status != StatusDeployed {
		t.Fatalf("first-format manifest: %v %+v", err, rows)
	}
	if _, err := ReadAll(strings.NewReader(strings.Join(Header[:13], ",") + "\n")); err == nil {
		t.Error("a header cut after status accepted")
	}
}

func TestFlashColumns(t *testing.T) {
	head := strings.Join(Header[:flashColumns], ",") + "\n" // the third format: up to rom_lock_check
	sum := strings.Repeat("ab", 32)
	p := onboarding.Payload{VID: 0xFFF1, PID: 0x8000, Discovery: onboarding.DiscoveryBLE, Discriminator: 3840, Passcode: 20202021}
	qr, _ := onboarding.EncodeQR(p)
	manual, _ := onboarding.EncodeManual(p)
	base := Row{MAC: "24:0a:c4:00:00:01", SerialNumber: "SN", DACSerial: "01", DACSHA256: sum, VID: 0xFFF1, PID: 0x8000,
		Discriminator: 3840, Passcode: 20202021, QRPayload: qr, ManualCode: manual, BatchID: "b",
		LockedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Status: StatusDeployed}
	rec := base.record()
	row := strings.Join(rec[:statusColumns], ",") + ","
	rows, err := ReadAll(strings.NewReader(head + row + "app.bin@0x20000=" + sum + ";boot.bin@0x0=" + sum + ",ok\n"))
	if err != nil || len(rows) != 1 || rows[0].ROMLockCheck != ROMLockOK || !strings.HasPrefix(rows[0].FlashedImages, "app.bin@0x20000=") {
		t.Fatalf("%+v %v", rows, err)
	}
	if _, err := ReadAll(strings.NewReader(head + row + ",\n")); err != nil {
		t.Fatalf("empty flashing columns: %v", err)
	}
	for name, tail := range map[string]string{
		"no sha":        "app.bin@0x20000,ok",
		"short sha":     "app.bin@0x20000=abcd,",
		"decimal":       "app.bin@131072=" + sum + ",",
		"bad lock":      ",yes",
		"empty element": "app.bin@0x20000=" + sum + ";,",
	} {
		if _, err := ReadAll(strings.NewReader(head + row + tail + "\n")); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The second format (up to reason) still reads.
	if _, err := ReadAll(strings.NewReader(strings.Join(Header[:14], ",") + "\n" + strings.TrimSuffix(row, ",") + "\n")); err != nil {
		t.Errorf("14-column format: %v", err)
	}
}
