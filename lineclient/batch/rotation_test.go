package batch

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/internal/linetest"
)

// TestImportRotatedPAI: after the appliance rotated (or renewed) its PAI, a
// return bundle carries the new PAI; the station, given the old one at init,
// accepts it because its PAA issued it, and checks every DAC against it.
func TestImportRotatedPAI(t *testing.T) {
	f := newFixture(t)
	f.keygen(2)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im := f.importer() // trusts the PAI of before the rotation
	var kept []*x509.Certificate
	im.KeepPAI = func(c *x509.Certificate) error { kept = append(kept, c); return nil }
	old := f.app.PKI.PAI
	f.app.PKI.RotatePAI(t)
	if f.app.PKI.PAI.Equal(old) {
		t.Fatal("the PAI did not change")
	}
	got, err := im.Import(f.answer(res.Path))
	if err != nil {
		t.Fatal(err)
	}
	if got.DACs != 2 || len(got.Rejected) != 0 {
		t.Fatalf("imported %d, rejected %v", got.DACs, got.Rejected)
	}
	if len(kept) != 1 || !kept[0].Equal(f.app.PKI.PAI) {
		t.Fatalf("KeepPAI was given %d certificates, want the rotated PAI once", len(kept))
	}
	f.violations()
}

// TestImportPAIFromAnotherPAA: a bundle whose pai.der the station's PAA did
// not issue is refused whole, even with the station's own paa.der.
func TestImportPAIFromAnotherPAA(t *testing.T) {
	f := newFixture(t)
	f.keygen(2)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im := f.importer()
	im.KeepPAI = func(c *x509.Certificate) error { t.Error("KeepPAI called for a PAI the PAA did not issue"); return nil }
	f.app.PKI.UsePAIOf(linetest.NewPKI(t))
	_, err = im.Import(f.answer(res.Path))
	if !errors.Is(err, ErrTrustAnchors) {
		t.Fatalf("got %v, want ErrTrustAnchors", err)
	}
	st, _ := f.store.Status(-1)
	if st.States["exported"] != 2 {
		t.Fatalf("something was imported: %v", st.States)
	}
}

// TestImportKeepPAIFailureStoresNothing: when the rotated PAI cannot be kept,
// the import is refused and nothing is stored.
func TestImportKeepPAIFailureStoresNothing(t *testing.T) {
	f := newFixture(t)
	f.keygen(2)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im := f.importer()
	im.KeepPAI = func(*x509.Certificate) error { return errors.New("disk full") }
	f.app.PKI.RotatePAI(t)
	if _, err := im.Import(f.answer(res.Path)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
	st, _ := f.store.Status(-1)
	if st.States["exported"] != 2 {
		t.Fatalf("something was imported: %v", st.States)
	}
}
