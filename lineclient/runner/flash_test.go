package runner

import (
	"os"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/inspect"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestShiftFlashImagesInspect: after a simulated shift (keygen, batch,
// writes, attestation, lock), every module's flash image is what an
// esp-matter device reads — `module inspect` validates it against the PAA,
// the CD signer and the station's manifest — for every key storage variant.
func TestShiftFlashImagesInspect(t *testing.T) {
	for _, storage := range []string{sim.KeyPlaintext, sim.KeyEFuse, sim.KeyDerived} {
		t.Run(storage, func(t *testing.T) {
			r := newRig(t, sim.Options{Count: 3, Timing: sim.TimingFast, Seed: 31, KeyStorage: storage})
			hv := uint16(2)
			r.prov.ProductInfo = lineproto.ProductInfo{VendorName: "Acme", ProductName: "Lamp", HardwareVersion: &hv, MfgDate: "2026-12-08"}
			ports := r.sim.Ports()
			for range 3 {
				if r.run(ports, 700*time.Millisecond); r.states()[station.StateKeyGenerated] == 3 {
					break
				}
			}
			r.answerBatch("b1")
			// A busy machine can leave a module for the next run: at most three.
			for range 3 {
				if r.run(ports, 700*time.Millisecond); r.states()[station.StateDone] == 3 {
					break
				}
			}
			var rows []manifest.Row
			err := r.store.ForEach(func(m *station.Module) error {
				if m.State != station.StateDone {
					t.Errorf("module %s is %s", m.MAC, m.State)
					return nil
				}
				row, err := manifest.RowOf(m, manifest.Options{})
				rows = append(rows, row)
				return err
			})
			if err != nil || len(rows) != 3 {
				t.Fatalf("%d rows: %v", len(rows), err)
			}
			for _, mi := range r.sim.Modules() {
				err := r.sim.WithFlash(mi.ID, func(path string) error {
					img, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					rep := inspect.Inspect(img, inspect.Options{PAA: r.pki.PAA, CDSigner: linetest.CDSigner(), Manifest: rows})
					if !rep.OK {
						t.Errorf("module %d: failed checks %+v", mi.ID, rep.Failed())
					}
					want := map[string]string{"chain": inspect.StatusOK, "onboarding": inspect.StatusOK,
						"certification declaration": inspect.StatusOK, "esp_secure_cert integrity": inspect.StatusOK,
						"dac key": inspect.StatusOK}
					if storage != sim.KeyPlaintext {
						want["dac key"] = inspect.StatusSkip
					}
					for _, c := range rep.Checks {
						if w, ok := want[c.Name]; ok && c.Status != w {
							t.Errorf("module %d: check %s is %s (%s), want %s", mi.ID, c.Name, c.Status, c.Detail, w)
						}
						delete(want, c.Name)
					}
					if len(want) > 0 {
						t.Errorf("module %d: checks not run: %v", mi.ID, want)
					}
					if rep.KeyStorage != map[string]string{sim.KeyPlaintext: "plaintext", sim.KeyEFuse: "efuse", sim.KeyDerived: "hmac-derived"}[storage] {
						t.Errorf("module %d: key storage %s", mi.ID, rep.KeyStorage)
					}
					if rep.Factory == nil || rep.Factory.VendorName != "Acme" || rep.Factory.HardwareVersion == nil || *rep.Factory.HardwareVersion != 2 {
						t.Errorf("module %d: product info not in nvs: %+v", mi.ID, rep.Factory)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			r.checkInvariants()
		})
	}
}
