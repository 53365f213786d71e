package ceremony

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/auditlog"
)

// interrupt runs the batch at path and cancels it once n DACs are committed.
func (f *fixture) interrupt(path, out string, chunk, n int) *Result {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := f.runner()
	r.ChunkSize = chunk
	r.Progress = &cancelAfter{n: n, cancel: cancel}
	res, err := r.Run(ctx, f.open(path), Options{OutDir: out})
	if !errors.Is(err, ErrInterrupted) {
		f.t.Fatalf("interrupting: got %v", err)
	}
	return res
}

func keys(n int) []*ecdsa.PrivateKey {
	out := make([]*ecdsa.PrivateKey, n)
	for i := range out {
		out[i], _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return out
}

func specsOf(ks ...*ecdsa.PrivateKey) []csrSpec {
	out := make([]csrSpec, len(ks))
	for i, k := range ks {
		out[i] = csrSpec{key: k}
	}
	return out
}

// TestUnfinishedCeremonyCannotBeOvertaken (issue 12 item 3): batch A is
// interrupted; batch B certifies one of A's keys that has no DAC yet. B
// refuses that CSR (key-reserved), and A resumes and finishes. On the old
// code B certified the key and A could never finish.
func TestUnfinishedCeremonyCannotBeOvertaken(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	ka := keys(8)
	pathA := f.writeBatch(in, mustID(t), specsOf(ka...))
	if res := f.interrupt(pathA, out, 2, 2); res.Issued != 2 {
		t.Fatalf("interrupted with %d", res.Issued)
	}
	fresh := keys(1)[0]
	resB, err := f.sign(f.writeBatch(in, mustID(t), specsOf(fresh, ka[7])), out)
	if err != nil {
		t.Fatal(err)
	}
	if resB.Issued != 1 || resB.ByReason[ReasonReserved] != 1 || resB.Refusals[0].Index != 1 {
		t.Fatalf("batch B: %+v", resB)
	}
	if !strings.Contains(resB.Refusals[0].Detail, "unfinished ceremony of batch") {
		t.Errorf("refusal detail %q", resB.Refusals[0].Detail)
	}
	resA, err := f.sign(pathA, out)
	if err != nil {
		t.Fatalf("batch A cannot finish: %v", err)
	}
	if resA.Outcome != OutcomeResumed || resA.Issued != 8 {
		t.Fatalf("batch A: %+v", resA)
	}
	f.checkDACs(f.readReturn(resA.OutputPath))
	checkStore(t, f.db)
}

// TestQuotaCountsReservedDACs (issue 12 item 4): with max_dacs 10, three
// interrupted 8-CSR batches issued 24 DACs on the old code once resumed.
// Now the second batch is refused at its check: the first one's 8 accepted
// CSRs count against the quota though only 2 have a DAC.
func TestQuotaCountsReservedDACs(t *testing.T) {
	f := newFixture(t)
	f.policyRaw = []byte(strings.Replace(testPolicy, `"name": "line-1",`, `"name": "line-1", "max_dacs": 10,`, 1))
	in, out := t.TempDir(), t.TempDir()
	var paths []string
	for i := 0; i < 3; i++ {
		paths = append(paths, f.writeBatch(in, mustID(t), specsOf(keys(8)...)))
	}
	f.interrupt(paths[0], out, 2, 2)
	for _, p := range paths[1:] {
		ctx, cancel := context.WithCancel(context.Background())
		r := f.runner()
		r.ChunkSize = 2
		r.Progress = &cancelAfter{n: 2, cancel: cancel}
		_, err := r.Run(ctx, f.open(p), Options{OutDir: out})
		cancel()
		if !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("batch over the quota: got %v", err)
		}
		if !strings.Contains(err.Error(), "6 reserved by unfinished ceremonies") {
			t.Errorf("quota error does not count the reserved DACs: %v", err)
		}
	}
	for _, p := range paths {
		f.sign(p, out)
	}
	var issued uint64
	f.db.View(func(tx *bbolt.Tx) (err error) { issued, err = issuance.StationIssued(tx, "line-1"); return })
	if issued > 10 {
		t.Fatalf("%d DACs issued under a quota of 10", issued)
	}
	if issued != 8 {
		t.Fatalf("%d DACs issued, want the first batch's 8", issued)
	}
}

// TestAbandonListsUndeliveredAndReleasesKeys: abandoning an interrupted
// ceremony records a ceremony-abandoned entry with the serials of its
// issued DACs, refuses the batch from then on, and frees its unissued keys
// for another batch; its issued keys stay certified.
func TestAbandonListsUndeliveredAndReleasesKeys(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	ka := keys(6)
	pathA := f.writeBatch(in, mustID(t), specsOf(ka...))
	f.interrupt(pathA, out, 2, 2)
	id := f.open(pathA).ID

	rec := f.runner().Log
	if _, err := Abandon(f.db, rec, id, "", "x", time.Now()); err == nil {
		t.Fatal("abandon without an officer")
	}
	ab, err := Abandon(f.db, rec, id, "Ada Officer", "station line-1 lost its disk", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ab.Serials) != 2 || ab.Ceremony.State != issuance.StateAbandoned {
		t.Fatalf("abandoned %+v", ab)
	}
	raw, err := f.log.Entry(int64(ab.LogIndex))
	if err != nil {
		t.Fatal(err)
	}
	e, err := auditlog.ParseEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	ca, ok := e.(*auditlog.CeremonyAbandoned)
	if !ok || ca.BatchID != id || ca.Officer != "Ada Officer" || ca.Issued != 2 || len(ca.Serials) != 2 || ca.Serials[0] != ab.Serials[0] {
		t.Fatalf("entry %s", raw)
	}
	if _, err := Abandon(f.db, rec, id, "Ada Officer", "again", time.Now()); !errors.Is(err, issuance.ErrTransition) {
		t.Fatalf("abandoned twice: %v", err)
	}
	if _, err := f.sign(pathA, out); !errors.Is(err, ErrAbandoned) {
		t.Fatalf("abandoned batch signed again: %v", err)
	}
	resB, err := f.sign(f.writeBatch(in, mustID(t), specsOf(ka...)), out)
	if err != nil {
		t.Fatal(err)
	}
	if resB.Issued != 4 || resB.ByReason[ReasonAlreadyCertified] != 2 || resB.ByReason[ReasonReserved] != 0 {
		t.Fatalf("batch B after abandon: %+v", resB)
	}
	checkStore(t, f.db)
}
