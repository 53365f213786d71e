package batch

import (
	"errors"
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
