package stationhome

import (
	"os"
	"testing"

	"github.com/dacline/dacline/lineclient/internal/linetest"
)

func TestKeepPAI(t *testing.T) {
	h := &Home{dir: t.TempDir()}
	if got, err := h.OtherPAIs(); err != nil || len(got) != 0 {
		t.Fatalf("empty home: %v, %v", got, err)
	}
	a, b := linetest.NewPKI(t).PAI, linetest.NewPKI(t).PAI
	for range 2 { // the second time is a no-op
		if err := h.KeepPAI(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.KeepPAI(b); err != nil {
		t.Fatal(err)
	}
	got, err := h.OtherPAIs()
	if err != nil || len(got) != 2 {
		t.Fatalf("%d PAIs, %v", len(got), err)
	}
	if !(got[0].Equal(a) && got[1].Equal(b) || got[0].Equal(b) && got[1].Equal(a)) {
		t.Fatal("not the PAIs kept")
	}
	// A damaged file is an error naming it, never skipped.
	if err := os.WriteFile(h.Path(PAIsDir)+"/00.pem", []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.OtherPAIs(); err == nil {
		t.Fatal("a damaged PAI file was accepted")
	}
}
