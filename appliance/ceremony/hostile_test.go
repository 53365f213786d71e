package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/shared/matter/csrtest"
)

// Issue 12 item 2: a CSR whose SubjectPublicKeyInfo is a valid P-256 key in
// non-canonical DER is refused per CSR as malformed-csr in the check (so
// --dry-run and the real run agree), and the ceremony finishes. Today it
// passes the check and every run stops at "certifies another key".
func TestNonCanonicalKeyRefusedPerCSR(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var lines []bundle.CSRLine
	add := func(der []byte) {
		lines = append(lines, bundle.CSRLine{ID: fmt.Sprintf("24:0a:c4:00:01:%02x", len(lines)), VID: "FFF1", PID: "8000", CSR: der})
	}
	for _, v := range []string{csrtest.ExtraParameter, csrtest.TrailingBytes} {
		der, _, err := csrtest.NonCanonical(key, v)
		if err != nil {
			t.Fatal(err)
		}
		add(der)
	}
	add(newCSR(t, key)) // the same key, canonical: issued
	add(newCSR(t, nil))
	res, err := f.sign(f.writeLines(in, mustID(t), lines), out)
	if err != nil {
		t.Fatalf("the ceremony did not finish: %v", err)
	}
	if res.Outcome != OutcomeSigned || res.Issued != 2 || res.Refused != 2 {
		t.Fatalf("result: outcome %s, issued %d, refused %d", res.Outcome, res.Issued, res.Refused)
	}
	r := f.readReturn(res.OutputPath)
	for _, rf := range r.refusals {
		if rf.Index > 1 || rf.Reason != ReasonMalformedCSR {
			t.Errorf("csr %d refused as %s (%s), want csrs 0 and 1 as %s", rf.Index, rf.Reason, rf.Detail, ReasonMalformedCSR)
		}
	}
	f.checkDACs(r)
}

// Issue 12 item 11: the run's summary (appliance sign --json) carries each
// refusal's real audit log index, the one in the return bundle.
func TestRefusalLogIndexInSummary(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	specs := make([]csrSpec, 6)
	specs[1] = csrSpec{corrupt: true}
	specs[4] = csrSpec{vid: "FFF2", pid: "8000"}
	res, err := f.sign(f.writeBatch(in, mustID(t), specs), out)
	if err != nil {
		t.Fatal(err)
	}
	r := f.readReturn(res.OutputPath)
	if len(res.Refusals) != 2 || len(r.refusals) != 2 {
		t.Fatalf("%d refusals in the summary, %d in the bundle", len(res.Refusals), len(r.refusals))
	}
	seen := map[uint64]bool{}
	for i, rf := range res.Refusals {
		if rf.LogIndex == 0 || seen[rf.LogIndex] {
			t.Errorf("refusal of csr %d: log index %d", rf.Index, rf.LogIndex)
		}
		seen[rf.LogIndex] = true
		if rf.LogIndex != r.refusals[i].LogIndex {
			t.Errorf("refusal of csr %d: summary says log index %d, the return bundle %d", rf.Index, rf.LogIndex, r.refusals[i].LogIndex)
		}
	}
}
