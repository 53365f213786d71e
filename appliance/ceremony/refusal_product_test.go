package ceremony

import (
	"testing"

	"github.com/dacline/dacline/shared/auditlog"
)

// TestRefusalsCarryProduct (issue 12 item 9): every csr-refused entry names
// the VID/PID its batch line asked for, so the auditor's per-product refused
// counts are real (on the old code they were always 0).
func TestRefusalsCarryProduct(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	specs := make([]csrSpec, 4)
	specs[1] = csrSpec{vid: "FFF1", pid: "8002"} // not allowed by the policy
	specs[2] = csrSpec{corrupt: true}
	if _, err := f.sign(f.writeBatch(in, mustID(t), specs), out); err != nil {
		t.Fatal(err)
	}
	n, _ := f.log.Size()
	got := map[string]int{}
	err := f.log.ForEach(0, n, func(_ int64, raw []byte) error {
		e, err := auditlog.ParseEntry(raw)
		if err != nil {
			return err
		}
		if r, ok := e.(*auditlog.CSRRefused); ok {
			got[r.ModuleID] = int(r.VID)<<16 | int(r.PID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"24:0a:c4:00:00:01": 0xFFF1<<16 | 0x8002, "24:0a:c4:00:00:02": 0xFFF1<<16 | 0x8000}
	if len(got) != len(want) {
		t.Fatalf("refusals %v", got)
	}
	for m, w := range want {
		if got[m] != w {
			t.Errorf("csr-refused for %s carries %08x, want %08x", m, got[m], w)
		}
	}
}
