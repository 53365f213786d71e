package home_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/auditlog"
)

// TestInitAnchorsTheLog: init leaves the first checkpoint on the token, and
// every later checkpoint moves it on.
func TestInitAnchorsTheLog(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	st, err := u.CheckAnchor()
	if err != nil {
		t.Fatal(err)
	}
	if st.Anchored.Size != st.LogSize || st.LogSize == 0 {
		t.Fatalf("after init: anchor %d, log %d", st.Anchored.Size, st.LogSize)
	}
	if _, err := u.CreateTestPAA(0xFFF1, time.Now()); err != nil {
		t.Fatal(err)
	}
	signed, err := u.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	onToken, err := u.Token.ReadData(home.LabelLogAnchor)
	if err != nil || string(onToken) != string(signed) {
		t.Fatalf("token anchor %q %v, want the latest checkpoint", onToken, err)
	}
	if _, err := u.CreateAnchor("alice"); !errors.Is(err, home.ErrAnchorExists) {
		t.Fatalf("second anchor: %v", err)
	}
}

// TestRestoredWholeHomeIsRefused: the whole home restored from a copy
// (database and checkpoint mirror) — which the mirror alone never caught —
// is refused by the anchor, with the sizes; a deleted anchor is refused too,
// and only the officer's logged 'log anchor' makes a new one.
func TestRestoredWholeHomeIsRefused(t *testing.T) {
	dir := newHome(t)
	files := []string{home.DBFile, applog.CheckpointMirrorFile}
	saved := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	u := unlock(t, dir)
	if _, err := u.CreateTestPAA(0xFFF1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	u.Close()
	u.Home.Close()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), saved[f], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u = unlock(t, dir)
	if _, err := u.CheckAnchor(); !errors.Is(err, applog.ErrBehindAnchor) {
		t.Fatalf("restored home: %v", err)
	}
	if _, err := u.Checkpoint(); err == nil {
		t.Fatal("restored home signed a checkpoint")
	}
	if st, _ := u.Status(time.Now()); st == nil || st.LogAnchor == nil || st.LogAnchor.OK {
		t.Fatalf("status does not show the refused anchor: %+v", st)
	}

	// Delete the anchor: still refused, as "no anchor".
	if err := u.Token.DestroyData(home.LabelLogAnchor); err != nil {
		t.Fatal(err)
	}
	if _, err := u.CheckAnchor(); !errors.Is(err, applog.ErrNoAnchor) {
		t.Fatalf("deleted anchor: %v", err)
	}
	if _, err := u.Checkpoint(); !errors.Is(err, applog.ErrNoAnchor) {
		t.Fatalf("checkpoint without anchor: %v", err)
	}
	// The officer's explicit, logged decision (an appliance from before anchors).
	if _, err := u.CreateAnchor("Alice Officer"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.CheckAnchor(); err != nil {
		t.Fatalf("after log anchor: %v", err)
	}
	es := entries(t, u.Home)
	if a, ok := es[len(es)-1].(*auditlog.LogAnchored); !ok || a.Officer != "Alice Officer" {
		t.Fatalf("last entry %T, want log-anchored by the officer", es[len(es)-1])
	}
}
