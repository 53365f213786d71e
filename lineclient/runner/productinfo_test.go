package runner

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestWritesVendorProductAndProductInfo: every finished module holds the
// station's VID, PID and, when the product settings name fields, the
// product-info item; without product settings that item is not written.
func TestWritesVendorProductAndProductInfo(t *testing.T) {
	for _, withInfo := range []bool{true, false} {
		r := newRig(t, sim.Options{Count: 2, Timing: sim.TimingFast, Seed: 21})
		hv := uint16(7)
		info := lineproto.ProductInfo{VendorName: "Acme", ProductName: "Lamp", HardwareVersion: &hv, MfgDate: "2026-12-08"}
		if withInfo {
			r.prov.ProductInfo = info
		}
		ports := r.sim.Ports()
		r.run(ports, 700*time.Millisecond)
		r.answerBatch("b1")
		r.run(ports, 700*time.Millisecond)
		if got := r.states()[station.StateDone]; got != 2 {
			t.Fatalf("with info %v: states %v", withInfo, r.states())
		}
		enc, _ := info.Encode()
		for _, mi := range r.sim.Modules() {
			if mi.Committed[lineproto.ItemVendorID] != sha256.Sum256(lineproto.U16Value(linetest.VID)) ||
				mi.Committed[lineproto.ItemProductID] != sha256.Sum256(lineproto.U16Value(linetest.PID)) {
				t.Errorf("module %d: vendor-id/product-id not the station's", mi.ID)
			}
			d, ok := mi.Committed[lineproto.ItemProductInfo]
			if ok != withInfo || (withInfo && d != sha256.Sum256(enc)) {
				t.Errorf("module %d: product-info committed %v (want %v)", mi.ID, ok, withInfo)
			}
		}
		r.checkInvariants()
	}
}
