package station

import (
	"errors"
	"strings"
	"testing"
)

// TestCancelWrittenBatch: a batch the appliance refused goes back to
// waiting with the same CSRs, is re-exported split with a limit, and its
// late answer is refused.
func TestCancelWrittenBatch(t *testing.T) {
	s, _ := openTest(t)
	for i := range 5 {
		keyGen(t, s, i)
	}
	if _, err := s.BeginExport("b1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExportWritten("b1", "csr-batch-x-b1.age", []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelBatch("b1", "  "); err == nil {
		t.Fatal("cancel without a reason accepted")
	}
	b, err := s.CancelBatch("b1", "appliance: quota of line-1 exceeded")
	if err != nil {
		t.Fatal(err)
	}
	if b.State != BatchCancelled || len(b.Cancel.Modules) != 5 || b.Cancel.Reason != "appliance: quota of line-1 exceeded" {
		t.Fatalf("cancelled batch %+v %+v", b, b.Cancel)
	}
	mustNoViolations(t, s)
	for i := range 5 {
		m, _ := s.Get(testMAC(i))
		if m.State != StateKeyGenerated || m.BatchID != "" || m.SPKISHA256 == "" {
			t.Fatalf("module %d after cancel: %+v", i, m)
		}
	}
	if got, _ := s.Batch("b1"); got.State != BatchCancelled || got.Cancel == nil {
		t.Fatalf("the record of the cancel is not kept: %+v", got)
	}
	if _, err := s.CancelBatch("b1", "again"); !errors.Is(err, ErrCancel) {
		t.Fatalf("second cancel: %v", err)
	}
	if err := s.BatchCSRs("b1", func(string, string, []byte) error { return nil }); err == nil {
		t.Fatal("a cancelled batch can be written again")
	}
	// Split: 3 then 2, the same CSRs.
	b2, err := s.BeginExport("b2", 3)
	if err != nil || b2.Count != 3 {
		t.Fatalf("b2: %+v %v", b2, err)
	}
	b3, err := s.BeginExport("b3", 3)
	if err != nil || b3.Count != 2 {
		t.Fatalf("b3: %+v %v", b3, err)
	}
	// The appliance answers the cancelled batch after all: refused.
	_, err = s.ImportReturn(&Return{ReturnID: "late", CSRBatchID: "b1",
		DACs: []ReturnedDAC{{SPKISHA256: testKey(0), DER: []byte("dac0"), Serial: "01"}}})
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("answer to a cancelled batch: %v", err)
	}
	// The new batch's answer is taken.
	if _, err := s.ImportReturn(&Return{ReturnID: "r2", CSRBatchID: "b2",
		DACs: []ReturnedDAC{{SPKISHA256: testKey(0), DER: []byte("dac0"), Serial: "01"}}}); err != nil {
		t.Fatal(err)
	}
	mustNoViolations(t, s)
}

// TestCancelAnsweredBatch: a batch answered with refusals only is
// cancelled (the refused modules wait again); one with a DAC never is.
func TestCancelAnsweredBatch(t *testing.T) {
	s, _ := openTest(t)
	for i := range 3 {
		keyGen(t, s, i)
	}
	s.BeginExport("b1", 2)
	if _, err := s.ImportReturn(&Return{ReturnID: "r1", CSRBatchID: "b1", Refusals: []Refusal{
		{MAC: testMAC(0), Reason: ReasonRefusedByAppliance, Detail: "pid not in policy"},
		{MAC: testMAC(1), Reason: ReasonRefusedByAppliance, Detail: "pid not in policy"}}}); err != nil {
		t.Fatal(err)
	}
	b, err := s.CancelBatch("b1", "policy fixed")
	if err != nil || len(b.Cancel.Modules) != 2 {
		t.Fatalf("cancel: %+v %v", b, err)
	}
	mustNoViolations(t, s)
	b2, err := s.BeginExport("b2", 0)
	if err != nil || b2.Count != 3 {
		t.Fatalf("re-export: %+v %v", b2, err)
	}
	if _, err := s.ImportReturn(&Return{ReturnID: "r2", CSRBatchID: "b2",
		DACs:     []ReturnedDAC{{SPKISHA256: testKey(0), DER: []byte("dac0"), Serial: "01"}},
		Refusals: []Refusal{{MAC: testMAC(1), Reason: ReasonRefusedByAppliance}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelBatch("b2", "try again"); !errors.Is(err, ErrCancel) {
		t.Fatalf("cancel of a batch with a DAC: %v", err)
	}
	if _, err := s.CancelBatch("nope", "x"); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("unknown batch: %v", err)
	}
	mustNoViolations(t, s)
}

// TestRetryModule: a lock-failed module goes back to locking, once per
// reason; failures that may mean foreign credentials never do.
func TestRetryModule(t *testing.T) {
	s, _ := openTest(t)
	keyGen(t, s, 0)
	mac := testMAC(0)
	driveToLocked(t, s, mac)
	if _, err := s.RetryModule(mac, "glitch"); !errors.Is(err, ErrNotRetriable) {
		t.Fatalf("retry of a locked module: %v", err)
	}
	if _, err := s.Relock(mac); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fail(mac, ReasonLockFailed, "jig 3 lost power during burn"); err != nil {
		t.Fatal(err)
	}
	m, err := s.RetryModule(mac, "jig 3 power supply replaced")
	if err != nil || m.State != StateLocking || m.Reason != "" {
		t.Fatalf("retry: %+v %v", m, err)
	}
	mustNoViolations(t, s)
	if _, err := s.Fail(mac, ReasonLockFailed, "again"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RetryModule(mac, "Jig 3  POWER supply replaced"); !errors.Is(err, ErrNotRetriable) || !strings.Contains(err.Error(), "new reason") {
		t.Fatalf("second retry with the same reason: %v", err)
	}
	if _, err := s.RetryModule(mac, "jig 3 cable reseated"); err != nil {
		t.Fatalf("retry with a new reason: %v", err)
	}
	rs, err := s.Retries(mac)
	if err != nil || len(rs) != 2 || rs[0].Failed != ReasonLockFailed || rs[1].Reason != "jig 3 cable reseated" {
		t.Fatalf("retries %+v %v", rs, err)
	}
	if _, err := s.RecordLocked(mac); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordDone(mac); err != nil {
		t.Fatal(err)
	}
	mustNoViolations(t, s)

	// A lying module is never retried, whatever the reason given.
	keyGen(t, s, 7)
	s.Fail(testMAC(7), ReasonLyingModule, "attested with another key")
	if _, err := s.RetryModule(testMAC(7), "operator says so"); !errors.Is(err, ErrNotRetriable) || !strings.Contains(err.Error(), "another chip") {
		t.Fatalf("retry of a lying module: %v", err)
	}
	for _, r := range []Reason{ReasonLyingModule, ReasonForeignModule, ReasonDuplicateKey, ReasonCredentialsMismatch,
		ReasonAttestationFailed, ReasonKeyLost, ReasonRefusedByAppliance, ReasonNotReturned, ReasonDACRejected, ReasonBadCSR} {
		if Retriable(r) {
			t.Errorf("%s is retriable", r)
		}
	}
	// lock-failed from a state other than locking/locked is not retried.
	keyGen(t, s, 8)
	s.Fail(testMAC(8), ReasonLockFailed, "odd")
	if _, err := s.RetryModule(testMAC(8), "why not"); !errors.Is(err, ErrNotRetriable) {
		t.Fatalf("lock-failed from key-generated: %v", err)
	}
	if _, err := s.RetryModule(testMAC(99), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown module: %v", err)
	}
	mustNoViolations(t, s)
}
