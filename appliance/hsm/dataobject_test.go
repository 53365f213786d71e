package hsm_test

import (
	"errors"
	"testing"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
)

// TestDataObjectOnSoftHSM writes, replaces, reads back and destroys a data
// object on a real token, and checks a second login sees it (it is a token
// object, not a session object).
func TestDataObjectOnSoftHSM(t *testing.T) {
	tok, cfg := hsmtest.Open(t)
	if _, err := tok.ReadData("dacline-test-anchor"); !errors.Is(err, hsm.ErrDataObjectMissing) {
		t.Fatalf("missing object: %v", err)
	}
	if err := tok.WriteData("dacline-test-anchor", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := tok.WriteData("dacline-test-anchor", []byte("two, longer")); err != nil {
		t.Fatal(err)
	}
	tok.Close()
	tok2, err := hsm.Open(cfg, []byte(hsmtest.PIN))
	if err != nil {
		t.Fatal(err)
	}
	defer tok2.Close()
	got, err := tok2.ReadData("dacline-test-anchor")
	if err != nil || string(got) != "two, longer" {
		t.Fatalf("read back %q %v", got, err)
	}
	if err := tok2.WriteData("dacline-test-anchor", nil); err == nil {
		t.Fatal("empty value written")
	}
	if err := tok2.DestroyData("dacline-test-anchor"); err != nil {
		t.Fatal(err)
	}
	if _, err := tok2.ReadData("dacline-test-anchor"); !errors.Is(err, hsm.ErrDataObjectMissing) {
		t.Fatalf("after destroy: %v", err)
	}
}

// TestDataObjectNewestGenerationWins: a crash between creating the new
// generation and destroying the old leaves both; the newest is read, and
// the next write goes past it and leaves one.
func TestDataObjectNewestGenerationWins(t *testing.T) {
	tok, _ := hsmtest.Open(t)
	if err := tok.WriteData("dacline-test-anchor", []byte("gen1")); err != nil {
		t.Fatal(err)
	}
	if err := hsm.CreateDataGenerationForTest(tok, "dacline-test-anchor", 5, []byte("gen5")); err != nil {
		t.Fatal(err)
	}
	if got, err := tok.ReadData("dacline-test-anchor"); err != nil || string(got) != "gen5" {
		t.Fatalf("read %q %v", got, err)
	}
	if err := tok.WriteData("dacline-test-anchor", []byte("gen6")); err != nil {
		t.Fatal(err)
	}
	if n, err := hsm.CountDataForTest(tok, "dacline-test-anchor"); err != nil || n != 1 {
		t.Fatalf("%d objects left, %v", n, err)
	}
}
