package station

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "station.db")
	s, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func testMAC(i int) string {
	return fmt.Sprintf("24:0a:c4:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
}

func testKey(i int) [32]byte { return sha256.Sum256([]byte(fmt.Sprintf("key %d", i))) }

func testOnboarding(i int) *Onboarding {
	return &Onboarding{Passcode: uint32(20202021 + i), Discriminator: uint16(i % 4096), Salt: make([]byte, 32),
		Iterations: 1000, Verifier: make([]byte, 97), SerialNumber: fmt.Sprintf("SN%08d", i), RotatingID: make([]byte, 16)}
}

func mustNoViolations(t testing.TB, s *Store) {
	t.Helper()
	v, err := s.CheckInvariants()
	if err != nil {
		t.Fatal(err)
	}
	if len(v) > 0 {
		t.Fatalf("invariant violations:\n%s", strings.Join(v, "\n"))
	}
}

// keyGen brings module i to key-generated.
func keyGen(t testing.TB, s *Store, i int) {
	t.Helper()
	if _, err := s.Identify(Sighting{MAC: testMAC(i), Port: "/dev/pts/1"}); err != nil {
		t.Fatal(err)
	}
	csr := CSR{DER: []byte(fmt.Sprintf("csr %d", i)), SPKISHA256: testKey(i), VID: 0xFFF1, PID: 0x8000}
	if _, err := s.RecordCSR(testMAC(i), csr, testOnboarding(i)); err != nil {
		t.Fatal(err)
	}
}

func TestTransitionTable(t *testing.T) {
	cases := []struct {
		from, to State
		ok       bool
	}{
		{StateUnknown, StateIdentified, true},
		{StateIdentified, StateKeyGenerated, true},
		{StateIdentified, StateExported, false},
		{StateKeyGenerated, StateExported, true},
		{StateKeyGenerated, StateDACReceived, false},
		{StateExported, StateDACReceived, true},
		{StateDACReceived, StateWriting, true},
		{StateDACReceived, StateAttested, false},
		{StateDACReceived, StateLocking, false},
		{StateWriting, StateCredentialsWritten, true},
		{StateWriting, StateLocking, false},
		{StateCredentialsWritten, StateAttested, true},
		{StateCredentialsWritten, StateLocking, false},
		{StateAttested, StateLocking, true},
		{StateLocking, StateLocked, true},
		{StateLocking, StateDone, false},
		{StateLocked, StateDone, true},
		{StateLocked, StateLocking, true}, // relock
		{StateLocked, StateAttested, false},
		{StateDone, StateFailed, false},
		{StateFailed, StateIdentified, false},
		{StateLocking, StateFailed, true},
	}
	for _, c := range cases {
		if got := CanTransition(c.from, c.to); got != c.ok {
			t.Errorf("%s → %s: got %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

// driveToLocked takes key-generated module mac through export, import and
// every step to locked.
func driveToLocked(t testing.TB, s *Store, mac string) {
	t.Helper()
	m, err := s.Get(mac)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	if b, err := hex.DecodeString(m.SPKISHA256); err != nil || copy(key[:], b) != 32 {
		t.Fatalf("spki %q: %v", m.SPKISHA256, err)
	}
	if _, err := s.BeginExport("lock-"+mac, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportReturn(&Return{ReturnID: "r-" + mac, CSRBatchID: "lock-" + mac,
		DACs: []ReturnedDAC{{SPKISHA256: key, DER: []byte("dac " + mac), Serial: "0A"}}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(string) (*Module, error){s.BeginWrite, func(m string) (*Module, error) { return s.CredentialsWritten(m, []byte{1}) },
		s.RecordAttested, s.BeginLock, s.RecordLocked} {
		if _, err := f(mac); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRelock: only a locked module can be locked again; the attempt is
// counted, and the module goes back to locked and done as before.
func TestRelock(t *testing.T) {
	s, _ := openTest(t)
	keyGen(t, s, 1)
	mac := testMAC(1)
	if _, err := s.Relock(mac); !errors.Is(err, ErrTransition) {
		t.Fatalf("relock from key-generated: %v, want ErrTransition", err)
	}
	driveToLocked(t, s, mac)
	before, _ := s.Get(mac)
	m, err := s.Relock(mac)
	if err != nil || m.State != StateLocking || m.LockAttempts != before.LockAttempts+1 || !m.LockingAt.Equal(before.LockingAt) {
		t.Fatalf("relock: %+v %v", m, err)
	}
	if _, err := s.Relock(mac); !errors.Is(err, ErrTransition) {
		t.Fatalf("relock from locking: %v, want ErrTransition", err)
	}
	if _, err := s.RecordLocked(mac); err != nil {
		t.Fatal(err)
	}
	if m, err := s.RecordDone(mac); err != nil || m.State != StateDone {
		t.Fatalf("done after relock: %+v %v", m, err)
	}
	if _, err := s.Relock(mac); !errors.Is(err, ErrTransition) {
		t.Fatalf("relock from done: %v, want ErrTransition", err)
	}
	mustNoViolations(t, s)
}

func TestLockRequiresAttestation(t *testing.T) {
	s, _ := openTest(t)
	keyGen(t, s, 1)
	for _, step := range []func(string) (*Module, error){s.BeginLock, s.RecordLocked, s.RecordDone, s.RecordAttested} {
		if _, err := step(testMAC(1)); !errors.Is(err, ErrTransition) {
			t.Fatalf("step from key-generated: got %v, want ErrTransition", err)
		}
	}
	mustNoViolations(t, s)
}

func TestRecordCSROneKeyPerModule(t *testing.T) {
	s, _ := openTest(t)
	keyGen(t, s, 1)
	// Same key again (a retry after a lost reply): unchanged, onboarding kept.
	m, err := s.RecordCSR(testMAC(1), CSR{DER: []byte("csr 1"), SPKISHA256: testKey(1)}, testOnboarding(99))
	if err != nil {
		t.Fatal(err)
	}
	if m.Passcode != testOnboarding(1).Passcode {
		t.Fatalf("onboarding data replaced on a retry")
	}
	// Another key for the same module: refused.
	if _, err := s.RecordCSR(testMAC(1), CSR{DER: []byte("x"), SPKISHA256: testKey(2)}, testOnboarding(2)); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("second key: got %v, want ErrKeyChanged", err)
	}
	// The same key for another module: refused.
	if _, err := s.Identify(Sighting{MAC: testMAC(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordCSR(testMAC(2), CSR{DER: []byte("x"), SPKISHA256: testKey(1)}, testOnboarding(2)); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("shared key: got %v, want ErrDuplicateKey", err)
	}
	m2, _ := s.Get(testMAC(2))
	if m2.State != StateIdentified {
		t.Fatalf("module 2 is %s after a refused csr", m2.State)
	}
	mustNoViolations(t, s)
}

func TestExportImportRoundTrip(t *testing.T) {
	s, _ := openTest(t)
	for i := range 5 {
		keyGen(t, s, i)
	}
	b, err := s.BeginExport("b1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Count != 5 {
		t.Fatalf("batch has %d modules", b.Count)
	}
	if _, err := s.BeginExport("b2", 0); !errors.Is(err, ErrNothingToExport) {
		t.Fatalf("second export: %v", err)
	}
	if p, _ := s.PendingWrite(); p == nil || p.ID != "b1" {
		t.Fatalf("pending write = %v", p)
	}
	n := 0
	if err := s.BatchCSRs("b1", func(mac, spki string, csr []byte) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("BatchCSRs: %d, %v", n, err)
	}
	if _, err := s.ExportWritten("b1", "csr-batch-x-b1.age", []byte{1}); err != nil {
		t.Fatal(err)
	}
	ret := &Return{ReturnID: "r1", CSRBatchID: "b1",
		DACs:     []ReturnedDAC{{SPKISHA256: testKey(0), DER: []byte("dac0"), Serial: "01"}, {SPKISHA256: testKey(1), DER: []byte("dac1"), Serial: "02"}},
		Refusals: []Refusal{{MAC: testMAC(2), Reason: ReasonRefusedByAppliance, Detail: "vid outside policy"}}}
	res, err := s.ImportReturn(ret)
	if err != nil {
		t.Fatal(err)
	}
	if res.DACs != 2 || res.Refused != 1 || res.NotReturned != 2 {
		t.Fatalf("import result %+v", res)
	}
	if _, err := s.ImportReturn(ret); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	st, err := s.Status(-1)
	if err != nil {
		t.Fatal(err)
	}
	if st.States["dac-received"] != 2 || st.States["failed"] != 3 || st.Total != 5 {
		t.Fatalf("status %+v", st.States)
	}
	if st.Reasons[string(ReasonNotReturned)] != 2 || st.Reasons[string(ReasonRefusedByAppliance)] != 1 {
		t.Fatalf("reasons %+v", st.Reasons)
	}
	if len(st.Batches) != 1 || st.Batches[0].States["dac-received"] != 2 {
		t.Fatalf("batches %+v", st.Batches)
	}
	mustNoViolations(t, s)

	// Finish module 0.
	mac := testMAC(0)
	steps := []func() (*Module, error){
		func() (*Module, error) { return s.BeginWrite(mac) },
		func() (*Module, error) { return s.BeginWrite(mac) }, // pulled mid-write, written again
		func() (*Module, error) { return s.CredentialsWritten(mac, []byte{9}) },
		func() (*Module, error) { return s.RecordAttested(mac) },
		func() (*Module, error) { return s.BeginLock(mac) },
		func() (*Module, error) { return s.BeginLock(mac) },
		func() (*Module, error) { return s.RecordLocked(mac) },
		func() (*Module, error) { return s.RecordDone(mac) },
	}
	for i, f := range steps {
		if _, err := f(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	m, _ := s.Get(mac)
	if m.State != StateDone || m.WriteAttempts != 2 || m.LockAttempts != 2 {
		t.Fatalf("module 0: %+v", m)
	}
	c, err := s.Credentials(mac)
	if err != nil || string(c.DAC) != "dac0" || c.Onboarding.Passcode != testOnboarding(0).Passcode {
		t.Fatalf("credentials %+v %v", c, err)
	}
	mustNoViolations(t, s)
}

func TestImportRefusesForeignKeys(t *testing.T) {
	s, _ := openTest(t)
	keyGen(t, s, 1)
	keyGen(t, s, 2)
	if _, err := s.BeginExport("b1", 1); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Return{
		"unknown key":     {ReturnID: "r", CSRBatchID: "b1", DACs: []ReturnedDAC{{SPKISHA256: testKey(7), DER: []byte("d")}}},
		"key of no batch": {ReturnID: "r", CSRBatchID: "b1", DACs: []ReturnedDAC{{SPKISHA256: testKey(2), DER: []byte("d")}}},
		"unknown batch":   {ReturnID: "r", CSRBatchID: "nope", DACs: []ReturnedDAC{{SPKISHA256: testKey(1), DER: []byte("d")}}},
		"module twice":    {ReturnID: "r", CSRBatchID: "b1", DACs: []ReturnedDAC{{SPKISHA256: testKey(1), DER: []byte("d")}, {SPKISHA256: testKey(1), DER: []byte("e")}}},
		"no return id":    {CSRBatchID: "b1"},
	} {
		if _, err := s.ImportReturn(r); err == nil {
			t.Errorf("%s: imported", name)
		}
	}
	// Nothing was imported by the refused bundles.
	m, _ := s.Get(testMAC(1))
	if m.State != StateExported {
		t.Fatalf("module 1 is %s", m.State)
	}
	if ok, _ := s.Consumed("r"); ok {
		t.Fatal("refused bundle marked consumed")
	}
	mustNoViolations(t, s)
}

func TestCorruptFileRefused(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"garbage":   []byte(strings.Repeat("not a bbolt file ", 400)),
		"truncated": make([]byte, 100),
	}
	for name, content := range cases {
		path := filepath.Join(dir, name+".db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenFile(path)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
		after, _ := os.ReadFile(path)
		if string(after) != string(content) {
			t.Errorf("%s: file was modified", name)
		}
	}

	// A valid bbolt file from another program (no schema marker, other buckets).
	s, path := openTest(t)
	s.Close()
	// Flip bytes in the meta pages: bbolt detects the checksum mismatch.
	b, _ := os.ReadFile(path)
	for i := 16; i < 64; i++ {
		b[i] ^= 0xFF
		b[4096+i] ^= 0xFF
	}
	os.WriteFile(path, b, 0o600)
	if _, err := OpenFile(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("flipped meta pages: got %v, want ErrCorrupt", err)
	}
}

func TestFailKeepsFirstReason(t *testing.T) {
	s, _ := openTest(t)
	keyGen(t, s, 1)
	if _, err := s.Fail(testMAC(1), ReasonKeyLost, "module reports no key"); err != nil {
		t.Fatal(err)
	}
	m, err := s.Fail(testMAC(1), ReasonLyingModule, "x")
	if err != nil || m.Reason != ReasonKeyLost || m.FailedFrom != StateKeyGenerated {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := s.BeginWrite(testMAC(1)); !errors.Is(err, ErrTransition) {
		t.Fatalf("failed module written: %v", err)
	}
	mustNoViolations(t, s)
}

func TestModuleRecordRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m := &Module{MAC: testMAC(7), State: StateFailed, FailedFrom: StateLocking, Reason: ReasonLockFailed, Detail: "x",
		ChipModel: "ESP32", Firmware: "1", Port: "/dev/pts/3", SPKISHA256: "ab", VID: 0xFFF1, PID: 0x8000,
		SerialNumber: "SN", Passcode: 20202021, Discriminator: 4095, BatchID: "b", DACSerial: "01", DACSHA256: "cd",
		CredentialsSHA256: "ef", WriteAttempts: 3, LockAttempts: 2, IdentifiedAt: now, LockingAt: now.Add(time.Second), UpdatedAt: now}
	b, err := encodeModule(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeModule([]byte(m.MAC), b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	for i := range len(b) {
		if _, err := decodeModule([]byte(m.MAC), b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
}

func FuzzDecodeModule(f *testing.F) {
	b, _ := encodeModule(&Module{MAC: "m", State: StateDone})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeModule([]byte("m"), b)
		if err != nil {
			return
		}
		again, err := encodeModule(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeModule([]byte("m"), again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
