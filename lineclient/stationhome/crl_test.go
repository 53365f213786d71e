package stationhome

import (
	"errors"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/shared/matter"
)

func TestImportCRL(t *testing.T) {
	pki := linetest.NewPKI(t)
	app := bundletest.NewAppliance(t, "appliance-1")
	pub, _ := app.ID.PublicKey()
	id, err := bundle.NewApplianceIdentity("appliance-1", app.Age.Recipient(), pub, pki.PAI.Raw, pki.PAA.Raw)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Init(filepath.Join(t.TempDir(), "station"), InitOptions{Appliance: id, Name: "line-1", VID: 0xFFF1, PID: 0x8000})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if c, err := h.CRL(); c != nil || err != nil {
		t.Fatalf("before import: %v %v", c, err)
	}
	if _, err := h.ImportCRL(pki.CRL(t, 2, big.NewInt(77))); err != nil {
		t.Fatal(err)
	}
	c, err := h.CRL()
	if err != nil || c.Number.Int64() != 2 || matter.RevokedEntry(c, big.NewInt(77)) == nil {
		t.Fatalf("installed: %v %v", c, err)
	}
	// Not newer: refused, the installed one stays.
	for _, n := range []int64{1, 2} {
		if _, err := h.ImportCRL(pki.CRL(t, n)); !errors.Is(err, ErrCRLNotNewer) {
			t.Fatalf("number %d: %v", n, err)
		}
	}
	// Another PAI's CRL: refused.
	other := linetest.NewPKI(t)
	if _, err := h.ImportCRL(other.CRL(t, 9, big.NewInt(77))); err == nil {
		t.Fatal("a crl of another pai was installed")
	}
	if c, _ := h.CRL(); c.Number.Int64() != 2 {
		t.Fatalf("installed crl changed to %v", c.Number)
	}
	if _, err := h.ImportCRL(pki.CRL(t, 3)); err != nil {
		t.Fatal(err)
	}
}
