package auditlog

import (
	"bytes"
	"strings"
	"testing"
)

// interrupted appends a ceremony that started and issued n DACs, and stops
// there (no bundle-written, no ceremony-finished).
func (l *testLog) interrupted(st, batch string, first, n int) {
	l.add(&CeremonyStarted{BatchID: batch, BundleSHA256: hashHex("bundle", batch), Officer: "Ada Officer",
		PolicySHA256: hashHex("policy"), Station: st})
	for k := first; k < first+n; k++ {
		l.add(dacEntry(st, batch, k, k-first))
	}
}

// TestUnfinishedCeremonyIsAFinding: a ceremony started and never finished,
// whose DACs no bundle delivered, is reported as two findings. On the old
// verifier this log verified OK.
func TestUnfinishedCeremonyIsAFinding(t *testing.T) {
	l, _ := standardLog(t)
	l.interrupted("line-1", "batch-c", 100, 3)
	l.checkpoint()
	r := verifyDir(t, l.writeExport(t), VerifyOptions{})
	if r.OK() || r.Count(KindUnfinished) != 1 || r.Count(KindUndelivered) != 1 {
		t.Fatalf("findings %v", r.Discrepancies)
	}
	if d := r.Find(KindUndelivered)[0]; !strings.Contains(d.Detail, "3 DACs of batch batch-c") {
		t.Errorf("undelivered finding: %s", d)
	}
	if d := r.Find(KindUnfinished)[0]; !strings.Contains(d.Detail, "appliance ceremony abandon batch-c") {
		t.Errorf("unfinished finding: %s", d)
	}
}

// TestAbandonedCeremonyListsRevocations: an abandoned ceremony is no
// finding; its DACs are listed for revocation and are not "not accounted"
// in reconciliation.
func TestAbandonedCeremonyListsRevocations(t *testing.T) {
	l, _ := standardLog(t)
	l.interrupted("line-1", "batch-c", 100, 2)
	l.add(&CeremonyAbandoned{BatchID: "batch-c", Issued: 2, Officer: "Ada Officer", Reason: "station lost",
		Serials: []string{serialOf(100), serialOf(101)}, Station: "line-1"})
	l.checkpoint()
	man := manifestCSV(manifestRow(0, "deployed"), manifestRow(1, "deployed"), manifestRow(2, "deployed"),
		manifestRow(3, "deployed"), manifestRow(4, "deployed"), manifestRow(5, "deployed"), manifestRow(6, "deployed"),
		manifestRow(7, "deployed"), manifestRow(8, "deployed"))
	r := verifyDir(t, l.writeExport(t), VerifyOptions{Manifests: []Manifest{{Name: "m.csv", R: strings.NewReader(man)}}})
	if !r.OK() {
		t.Fatalf("findings %v", r.Discrepancies)
	}
	if len(r.Abandoned) != 1 || r.Abandoned[0].Issued != 2 || len(r.Abandoned[0].Serials) != 2 || r.Abandoned[0].Serials[0] != serialOf(100) {
		t.Fatalf("abandoned %+v", r.Abandoned)
	}
	var out bytes.Buffer
	r.WriteText(&out)
	if !strings.Contains(out.String(), "listed for revocation") || !strings.Contains(out.String(), "revoke "+serialOf(101)) {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestAbandonMustMatchTheLog: an abandon entry that lists a DAC of another
// batch, or the wrong count, is a finding.
func TestAbandonMustMatchTheLog(t *testing.T) {
	l, _ := standardLog(t)
	l.interrupted("line-1", "batch-c", 100, 2)
	l.add(&CeremonyAbandoned{BatchID: "batch-c", Issued: 2, Officer: "Ada Officer", Reason: "station lost",
		Serials: []string{serialOf(100), serialOf(0)}, Station: "line-1"})
	l.add(&CeremonyAbandoned{BatchID: "batch-a", Issued: 0, Officer: "Ada Officer", Reason: "too late",
		Serials: []string{}, Station: "line-1"})
	l.checkpoint()
	r := verifyDir(t, l.writeExport(t), VerifyOptions{})
	if r.Count(KindAbandoned) < 3 { // wrong serial; batch-a finished; batch-a count 0 ≠ 5
		t.Fatalf("findings %v", r.Discrepancies)
	}
}

// TestNothingReconciledIsSaid: without a manifest the report says that
// nothing was reconciled (the old report said nothing at all).
func TestNothingReconciledIsSaid(t *testing.T) {
	l, _ := standardLog(t)
	r := verifyDir(t, l.writeExport(t), VerifyOptions{})
	var out bytes.Buffer
	r.WriteText(&out)
	if r.Reconciled || !strings.Contains(out.String(), "nothing was reconciled") {
		t.Fatalf("reconciled=%v\n%s", r.Reconciled, out.String())
	}
	r = verifyDir(t, l.writeExport(t), VerifyOptions{Manifests: []Manifest{{Name: "m.csv", R: strings.NewReader(manifestCSV(manifestRow(0, "")))}}})
	out.Reset()
	r.WriteText(&out)
	if !r.Reconciled || strings.Contains(out.String(), "nothing was reconciled") {
		t.Fatalf("reconciled=%v\n%s", r.Reconciled, out.String())
	}
}

// TestRefusedCountsPerProduct: csr-refused entries carry VID/PID, so the
// per-product counts are real.
func TestRefusedCountsPerProduct(t *testing.T) {
	l, _ := standardLog(t)
	l.add(&CeremonyStarted{BatchID: "batch-r", BundleSHA256: hashHex("bundle", "r"), Officer: "Ada Officer", PolicySHA256: hashHex("policy"), Station: "line-1"})
	l.add(&CSRRefused{BatchID: "batch-r", Index: 0, ModuleID: "m0", Reason: "not-p256", Station: "line-1", VID: 0xFFF1, PID: 0x8001})
	l.add(&CSRRefused{BatchID: "batch-r", Index: 1, ModuleID: "m1", Reason: "not-p256", Station: "line-1", VID: 0xFFF1, PID: 0x8001})
	l.add(&BundleWritten{BatchID: "batch-r", BundleSHA256: hashHex("return", "r"), FileName: "r.dac-batch"})
	l.add(&CeremonyFinished{BatchID: "batch-r", Refused: 2, Station: "line-1"})
	l.checkpoint()
	r := verifyDir(t, l.writeExport(t), VerifyOptions{})
	if !r.OK() {
		t.Fatalf("findings %v", r.Discrepancies)
	}
	if c := r.Products["FFF1/8001"]; c == nil || c.Refused != 2 {
		t.Fatalf("products %v", r.Products)
	}
}
