package runner

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/batch"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
)

// BenchmarkExchangeWhileRunning measures what a batch exchange costs the
// line (issue 18): one process runs 16 ports of simulated modules (fresh
// modules keep coming: SwapWaiting) while, in the same process and on the
// same store — as 'lineclient batch export/import' do through the control
// socket — 10,000 waiting modules go out in one csr-batch bundle (signed,
// encrypted, written, read back), are answered by a software appliance, and
// come back in one dac-batch bundle (verified: signature, chain, CD) and
// are imported. It prints the run's modules keyed per hour without the
// exchange (a window of the same process just before) and during it, and
// their ratio. DACLINE_BENCH_EXCHANGE_MODULES changes the 10,000.
func BenchmarkExchangeWhileRunning(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("DACLINE_BENCH_EXCHANGE_MODULES")); err == nil && v > 0 {
		n = v
	}
	const ports = 16
	app := linetest.NewAppliance(b, "appliance-1")
	h, err := stationhome.Init(filepath.Join(b.TempDir(), "home"), stationhome.InitOptions{
		Appliance: app.ID, Name: "line-1", VID: linetest.VID, PID: linetest.PID, CD: linetest.CD(), Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	st, err := station.New(h.DB())
	if err != nil {
		b.Fatal(err)
	}
	seedWaiting(b, h, st, n)

	s, err := sim.Start(sim.Options{Count: ports, ModulesPerJig: 100000 / ports, SwapPolls: 1, SwapWaiting: true,
		Timing: sim.TimingFast, Seed: 18, StateDir: b.TempDir(), Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	checkCD, err := batch.CDCheck(linetest.CD(), linetest.CDSigner())
	if err != nil {
		b.Fatal(err)
	}
	prov := &Provisioner{Store: st, PAI: app.PKI.PAI, PAA: app.PKI.PAA, CD: linetest.CD(), VID: linetest.VID, PID: linetest.PID, CheckCD: checkCD}
	r, err := New(Config{Ports: s.Ports(), Open: openPTY, EmptyPoll: 30 * time.Millisecond,
		SettledPoll: 100 * time.Millisecond, ReopenDelay: 100 * time.Millisecond}, prov)
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { _, err := r.Run(context.Background(), stop); done <- err }()

	window := func(d time.Duration) (csrs int, took time.Duration) {
		t0, c0 := time.Now(), r.Totals().CSRs
		time.Sleep(d)
		return r.Totals().CSRs - c0, time.Since(t0)
	}
	time.Sleep(3 * time.Second) // warm up: every jig busy
	baseN, baseD := window(10 * time.Second)

	// The exchange, timed; the run's CSRs counted over the same time.
	signer, _ := h.Signer()
	rcpt, _ := h.ApplianceRecipient()
	tmp, _ := h.TempDir()
	usb, out := b.TempDir(), b.TempDir()
	t0, c0 := time.Now(), r.Totals().CSRs
	ex := &batch.Exporter{Store: st, Name: "line-1", Signer: signer, Appliance: rcpt, VID: linetest.VID, PID: linetest.PID, TempDir: tmp}
	res, err := ex.Export(usb, batch.ExportOptions{Limit: n})
	if err != nil {
		b.Fatal(err)
	}
	exportD := time.Since(t0)
	c1 := r.Totals().CSRs
	ageID, _ := h.AgeIdentity()
	pub, _ := h.Identity.PublicKey()
	t1 := time.Now()
	ret := app.Answer(b, res.Path, out, "line-1", pub, ageID.Recipient())
	applianceD := time.Since(t1)
	apub, _ := app.ID.PublicKey()
	im := &batch.Importer{Store: st, Identity: ageID, ApplianceName: "appliance-1", ApplianceKey: apub,
		PAI: app.PKI.PAI, PAA: app.PKI.PAA, VID: linetest.VID, PID: linetest.PID, CD: linetest.CD(), CDSigner: linetest.CDSigner(), TempDir: tmp}
	t2, c2 := time.Now(), r.Totals().CSRs
	ires, err := im.Import(ret)
	if err != nil {
		b.Fatal(err)
	}
	importD := time.Since(t2)
	c3 := r.Totals().CSRs
	wholeN, wholeD := c3-c0, time.Since(t0)
	// The station's own work only: the appliance's signing runs here in the
	// same process for the benchmark, but on its own machine in a factory,
	// so the run is measured over the export and the import.
	duringN, stationD := (c1-c0)+(c3-c2), exportD+importD
	duringD := stationD

	close(stop)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if res.Batch.Count != n || ires.DACs != n {
		b.Fatalf("exchange: %d exported, %d DACs imported; want %d", res.Batch.Count, ires.DACs, n)
	}
	if v, err := st.CheckInvariants(); err != nil || len(v) > 0 {
		b.Fatalf("invariants: %v %v", err, v)
	}
	base := float64(baseN) / baseD.Hours()
	during := float64(duringN) / duringD.Hours()
	fmt.Printf("exchange of %d modules while run drives %d ports: export %v, appliance %v, import %v (station: %v)\n",
		n, ports, exportD.Round(time.Millisecond), applianceD.Round(time.Millisecond), importD.Round(time.Millisecond), stationD.Round(time.Millisecond))
	fmt.Printf("run without the exchange: %.0f modules keyed/hour (%d in %v)\n", base, baseN, baseD.Round(time.Millisecond))
	fmt.Printf("run during export+import: %.0f modules keyed/hour (%d in %v)\n", during, duringN, duringD.Round(time.Millisecond))
	fmt.Printf("ratio during/without: %.2f (issue 18 target: at least 0.90)\n", during/base)
	fmt.Printf("(over the whole window, with the appliance's signing in this process too: %.0f modules keyed/hour, ratio %.2f)\n",
		float64(wholeN)/wholeD.Hours(), float64(wholeN)/wholeD.Hours()/base)
	b.ReportMetric(base, "modules/h-without")
	b.ReportMetric(during, "modules/h-during")
	b.ReportMetric(during/base, "ratio")
}

// seedWaiting records n modules with real P-256 CSRs, waiting for a batch
// (their MACs sort before the simulator's, so a limited export takes them).
func seedWaiting(b *testing.B, h *stationhome.Home, st *station.Store, n int) {
	db := h.DB()
	db.NoSync = true // seeding only: one fsync at the end
	defer func() { db.NoSync = false; db.Sync() }()
	for i := range n {
		mac := fmt.Sprintf("00:0a:c4:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}, key)
		if err != nil {
			b.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(der)
		if _, err := st.Identify(station.Sighting{MAC: mac}); err != nil {
			b.Fatal(err)
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.RecordCSR(mac, station.CSR{DER: der, SPKISHA256: sha256.Sum256(csr.RawSubjectPublicKeyInfo), VID: linetest.VID, PID: linetest.PID}, ob); err != nil {
			b.Fatal(err)
		}
	}
}
