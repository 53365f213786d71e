package auditlog

import (
	"strings"
	"testing"
)

// TestVerifyApplianceInit: entry 0 must be the appliance-init entry that
// records the key the log is verified with.
func TestVerifyApplianceInit(t *testing.T) {
	// A log like standardLog's, with entry 0 chosen by the test and every
	// checkpoint validly signed, so only the init rule can fail.
	build := func(t *testing.T, first Entry) *testLog {
		l := newTestLog(t)
		if first != nil {
			l.add(first)
		}
		l.add(&PolicyChanged{PolicySHA256: hashHex("policy")})
		l.add(stationEntry("line-1", "abcd-ef01", "st1"))
		l.checkpoint()
		l.ceremony("line-1", "batch-a", 0, 2)
		return l
	}
	t.Run("clean, verifier key compared as text", func(t *testing.T) {
		l := build(t, &ApplianceInit{Appliance: "lab", NoteVerifier: testVerifierKey(t, 1)})
		for _, opts := range []VerifyOptions{{}, {VerifierKey: testVerifierKey(t, 1)}} {
			if r := verifyDir(t, l.writeExport(t), opts); !r.OK() || len(r.Find(KindInit)) != 0 {
				t.Fatalf("clean log: %v", r.Discrepancies)
			}
		}
		// The verifier key alone is enough to verify with.
		x, err := OpenExport(l.writeExport(t))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := Verify(x, VerifyOptions{VerifierKey: testVerifierKey(t, 1)}); err != nil || !r.OK() {
			t.Fatalf("with VerifierKey only: %v %v", err, r)
		}
	})
	t.Run("log starts without appliance-init", func(t *testing.T) {
		r := verifyDir(t, build(t, nil).writeExport(t), VerifyOptions{})
		wantKind(t, r, KindInit, 0, "entry 0 is policy-changed, not appliance-init")
		if r.OK() {
			t.Fatal("report is OK")
		}
	})
	t.Run("appliance-init names another key", func(t *testing.T) {
		l := build(t, &ApplianceInit{Appliance: "lab", NoteVerifier: testVerifierKey(t, 9)})
		r := verifyDir(t, l.writeExport(t), VerifyOptions{})
		wantKind(t, r, KindInit, 0, "appliance-init records verifier key "+testOrigin+"+")
		r = verifyDir(t, l.writeExport(t), VerifyOptions{VerifierKey: testVerifierKey(t, 1)})
		wantKind(t, r, KindInit, 0, testVerifierKey(t, 9))
	})
	t.Run("appliance-init with an unparsable key", func(t *testing.T) {
		l := build(t, &ApplianceInit{Appliance: "lab", NoteVerifier: "x+00000000+AQ=="})
		wantKind(t, verifyDir(t, l.writeExport(t), VerifyOptions{}), KindInit, 0, "invalid verifier hash")
		wantKind(t, verifyDir(t, l.writeExport(t), VerifyOptions{VerifierKey: testVerifierKey(t, 1)}), KindInit, 0, "records verifier key \"x+00000000+AQ==\"")
	})
	t.Run("appliance-init later in the log does not count", func(t *testing.T) {
		l := build(t, &PolicyChanged{PolicySHA256: hashHex("first")})
		l.add(&ApplianceInit{Appliance: "lab", NoteVerifier: testVerifierKey(t, 1)})
		l.checkpoint()
		wantKind(t, verifyDir(t, l.writeExport(t), VerifyOptions{}), KindInit, 0, "not appliance-init")
	})
	t.Run("empty log", func(t *testing.T) {
		l := newTestLog(t)
		l.checkpoint()
		wantKind(t, verifyDir(t, l.writeExport(t), VerifyOptions{}), KindInit, -1, "no entries")
	})
	t.Run("verifier and verifier key disagree", func(t *testing.T) {
		x, err := OpenExport(build(t, &ApplianceInit{Appliance: "lab", NoteVerifier: testVerifierKey(t, 1)}).writeExport(t))
		if err != nil {
			t.Fatal(err)
		}
		_, _, v1 := testKey(t, 1)
		if _, err := Verify(x, VerifyOptions{Verifier: v1, VerifierKey: testVerifierKey(t, 9)}); err == nil || !strings.Contains(err.Error(), "is not the verifier") {
			t.Fatalf("got %v", err)
		}
	})
}
