package main

import (
	"encoding/json"
	"testing"

	"github.com/dacline/dacline/lineclient/sim"
)

// checkModuleImages runs `lineclient module inspect` on every simulated
// module's flash image after the end-to-end shift, against the appliance's
// PAA, the CD signer and the station's exported manifest: each must pass
// every check, with the chain, the stored key, the CD and the onboarding
// data checked (not skipped).
func checkModuleImages(t *testing.T, s *sim.Sim, lineclient func(args ...string) string) {
	t.Helper()
	for _, mi := range s.Modules() {
		err := s.WithFlash(mi.ID, func(path string) error {
			out := lineclient("module", "inspect", path, "--json", "--paa", "appliance-home/paa.pem",
				"--cd-signer", "cd-signer-cert.pem", "--manifest", "manifest.csv")
			var r struct {
				OK     bool `json:"ok"`
				Checks []struct{ Name, Status, Detail string }
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("module %d: %v\n%s", mi.ID, err, out)
			}
			want := map[string]bool{"chain": true, "dac key": true, "certification declaration": true, "onboarding": true, "esp_secure_cert integrity": true}
			for _, c := range r.Checks {
				if want[c.Name] && c.Status == "ok" {
					delete(want, c.Name)
				}
			}
			if !r.OK || len(want) > 0 {
				t.Errorf("module %d: ok=%v, checks not ok: %v\n%s", mi.ID, r.OK, want, out)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
