package batch

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/matter"
)

type fixture struct {
	t     *testing.T
	app   *linetest.Appliance
	home  *stationhome.Home
	store *station.Store
	usb   string
	keys  map[string]*ecdsa.PrivateKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	app := linetest.NewAppliance(t, "appliance-1")
	h, err := stationhome.Init(filepath.Join(t.TempDir(), "home"), stationhome.InitOptions{
		Appliance: app.ID, Name: "line-1", VID: linetest.VID, PID: linetest.PID, CD: linetest.CD(), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	st, err := station.New(h.DB())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, app: app, home: h, store: st, usb: t.TempDir(), keys: map[string]*ecdsa.PrivateKey{}}
}

// keygen records n modules with real CSRs.
func (f *fixture) keygen(n int) {
	f.t.Helper()
	for i := range n {
		mac := fmt.Sprintf("24:0a:c4:00:%02x:%02x", len(f.keys), i)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}, key)
		if err != nil {
			f.t.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(der)
		if _, err := f.store.Identify(station.Sighting{MAC: mac}); err != nil {
			f.t.Fatal(err)
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.store.RecordCSR(mac, station.CSR{DER: der, SPKISHA256: sha256.Sum256(csr.RawSubjectPublicKeyInfo), VID: linetest.VID, PID: linetest.PID}, ob); err != nil {
			f.t.Fatal(err)
		}
		f.keys[mac] = key
	}
}

func (f *fixture) exporter() *Exporter {
	s, err := f.home.Signer()
	if err != nil {
		f.t.Fatal(err)
	}
	r, _ := f.home.ApplianceRecipient()
	return &Exporter{Store: f.store, Name: "line-1", Signer: s, Appliance: r, VID: linetest.VID, PID: linetest.PID, TempDir: f.t.TempDir()}
}

func (f *fixture) importer() *Importer {
	id, err := f.home.AgeIdentity()
	if err != nil {
		f.t.Fatal(err)
	}
	pub, _ := f.app.ID.PublicKey()
	return &Importer{Store: f.store, Identity: id, ApplianceName: "appliance-1", ApplianceKey: pub,
		PAI: f.app.PKI.PAI, PAA: f.app.PKI.PAA, VID: linetest.VID, PID: linetest.PID, CD: linetest.CD(), CDSigner: linetest.CDSigner(), TempDir: f.t.TempDir()}
}

// TestImportChecksCDSignature: with a CD signer the station's CD must verify
// before anything is imported; without one the import goes ahead on the
// CD's content alone.
func TestImportChecksCDSignature(t *testing.T) {
	_, otherDER, err := matter.NewTestCDSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := x509.ParseCertificate(otherDER)
	f := newFixture(t)
	f.keygen(2)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ret := f.answer(res.Path)
	im := f.importer()
	im.CDSigner = other
	if _, err := im.Import(ret); !errors.Is(err, ErrCDSignature) || !strings.Contains(err.Error(), "cd.signerNotFound") {
		t.Fatalf("CD signed by another key: got %v, want ErrCDSignature", err)
	}
	if st, _ := f.store.Status(-1); st.States["exported"] != 2 {
		t.Fatalf("something was imported: %v", st.States)
	}
	if _, err := CDCheck(linetest.CD(), other); !errors.Is(err, ErrCDSignature) {
		t.Fatalf("CDCheck with another signer: %v", err)
	}
	im = f.importer()
	im.CDSigner = nil
	ir, err := im.Import(ret)
	if err != nil || ir.DACs != 2 {
		t.Fatalf("import without a cd signer: %+v, %v", ir, err)
	}
	f.violations()
}

func (f *fixture) answer(csrBundle string) string {
	pub, _ := f.home.Identity.PublicKey()
	rcpt, _ := f.home.Identity.Recipient()
	return f.app.Answer(f.t, csrBundle, f.t.TempDir(), "line-1", pub, rcpt)
}

func (f *fixture) violations() {
	f.t.Helper()
	v, err := f.store.CheckInvariants()
	if err != nil || len(v) > 0 {
		f.t.Fatalf("invariants: %v %s", err, strings.Join(v, "\n"))
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.keygen(3)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch.Count != 3 || res.Batch.State != station.BatchWritten || res.Resumed {
		t.Fatalf("export %+v", res.Batch)
	}
	if !strings.HasPrefix(filepath.Base(res.Path), "csr-batch-line-1-") {
		t.Fatalf("bundle name %s", res.Path)
	}
	// Nothing more to export.
	if _, err := f.exporter().Export(f.usb, ExportOptions{}); !errors.Is(err, station.ErrNothingToExport) {
		t.Fatalf("second export: %v", err)
	}
	ret := f.answer(res.Path)
	ir, err := f.importer().Import(ret)
	if err != nil {
		t.Fatal(err)
	}
	if ir.DACs != 3 || ir.Refused != 0 || ir.NotReturned != 0 {
		t.Fatalf("import %+v", ir)
	}
	for mac, key := range f.keys {
		c, err := f.store.Credentials(mac)
		if err != nil {
			t.Fatal(err)
		}
		dac, _ := x509.ParseCertificate(c.DAC)
		if !dac.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
			t.Errorf("%s: dac certifies another key", mac)
		}
	}
	// The same bundle again is a replay.
	if _, err := f.importer().Import(ret); !errors.Is(err, bundle.ErrReplay) && !errors.Is(err, station.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	f.violations()
}

// TestExportAfterCrash: the batch was committed but the file never written
// (crash between begin-export and the write); the next export writes the
// same batch, and a rewrite gives the same signed manifest.
func TestExportAfterCrash(t *testing.T) {
	f := newFixture(t)
	f.keygen(2)
	id, _ := bundle.NewBatchID()
	b, err := f.store.BeginExport(id.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	f.keygen(1) // a CSR taken after the crash waits for the next batch
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Batch.ID != b.ID || res.Batch.Count != 2 {
		t.Fatalf("resume: %+v resumed=%v", res.Batch, res.Resumed)
	}
	read := func(path string) []byte {
		pub, _ := f.home.Identity.PublicKey()
		bb, err := bundle.ReadFile(path, bundle.ReadOptions{Identities: []age.Identity{f.app.Age},
			Resolve: func(string, bundle.Kind) (ed25519.PublicKey, error) { return pub, nil }})
		if err != nil {
			t.Fatal(err)
		}
		defer bb.Close()
		return bb.ManifestRaw
	}
	first := read(res.Path)
	again, err := f.exporter().Export(f.usb, ExportOptions{Rewrite: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if again.Path != res.Path || string(read(again.Path)) != string(first) {
		t.Fatal("rewrite produced a different manifest")
	}
	// The remaining CSR goes in a new batch.
	next, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil || next.Batch.ID == b.ID || next.Batch.Count != 1 {
		t.Fatalf("next batch %+v %v", next, err)
	}
	ents, _ := os.ReadDir(f.usb)
	if len(ents) != 2 {
		t.Fatalf("%d files on the stick", len(ents))
	}
	f.violations()
}

func TestImportRefusalsAndRejections(t *testing.T) {
	f := newFixture(t)
	f.keygen(4)
	macs := []string{}
	for m := range f.keys {
		macs = append(macs, m)
	}
	refused, tampered := macs[0], macs[1]
	f.app.Refuse = func(id string) (string, bool) { return "key-already-certified", id == refused }
	f.app.Tamper = func(l *bundle.DACLine) {
		if l.ID == tampered {
			l.SPKISHA256 = strings.Repeat("0", 64)
		}
	}
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ir, err := f.importer().Import(f.answer(res.Path))
	if err != nil {
		t.Fatal(err)
	}
	if ir.DACs != 2 || ir.Refused != 2 || len(ir.Rejected) != 1 {
		t.Fatalf("import %+v", ir)
	}
	m, _ := f.store.Get(refused)
	if m.State != station.StateFailed || m.Reason != station.ReasonRefusedByAppliance || !strings.Contains(m.Detail, "key-already-certified") {
		t.Fatalf("refused module %+v", m)
	}
	m, _ = f.store.Get(tampered)
	if m.State != station.StateFailed || m.Reason != station.ReasonDACRejected {
		t.Fatalf("tampered module %+v", m)
	}
	f.violations()
}

func TestImportRefusesWholeBundle(t *testing.T) {
	cases := map[string]struct {
		setup func(f *fixture)
		want  error
	}{
		"dac for a key never sent": {setup: func(f *fixture) {
			f.app.Tamper = func(l *bundle.DACLine) {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				der, _ := f.app.PKI.IssueDACFor(&k.PublicKey, linetest.VID, linetest.PID)
				l.DAC = der
			}
		}, want: station.ErrUnknownKey},
		"dac line with an unknown field": {setup: func(f *fixture) {
			f.app.Rewrite = func(name string, data []byte) []byte {
				if name != bundle.DACFile {
					return data
				}
				return bytes.Replace(data, []byte(`{"id":`), []byte(`{"subject":"x","id":`), 1)
			}
		}, want: bundle.ErrPayloadLine},
		"refusal line over the length limit": {setup: func(f *fixture) {
			f.app.Rewrite = func(name string, data []byte) []byte {
				if name != bundle.RefusalFile {
					return data
				}
				return []byte(`{"id":"` + strings.Repeat("x", bundle.MaxRefusalLine) + `"}` + "\n")
			}
		}, want: ErrMalformed},
		"another appliance": {setup: func(f *fixture) {
			other := linetest.NewAppliance(f.t, "appliance-1")
			other.Age = f.app.Age // decrypts, but signs with its own key
			f.app = other
		}, want: bundle.ErrSignature},
		"wrong trust anchors": {setup: func(f *fixture) {
			other := linetest.NewAppliance(f.t, "appliance-1")
			other.Age, other.Signer = f.app.Age, f.app.Signer
			f.app = other
		}, want: ErrTrustAnchors},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.keygen(2)
			res, err := f.exporter().Export(f.usb, ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			orig := f.app
			c.setup(f)
			ret := f.answer(res.Path)
			f.app = orig
			_, err = f.importer().Import(ret)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			st, _ := f.store.Status(-1)
			if st.States["exported"] != 2 {
				t.Fatalf("something was imported: %v", st.States)
			}
			f.violations()
		})
	}
}

// TestImportForAnotherStation: a bundle encrypted to another station is
// refused before anything is read.
func TestImportForAnotherStation(t *testing.T) {
	f := newFixture(t)
	g := newFixture(t)
	g.app = f.app
	f.keygen(1)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ret := f.answer(res.Path)
	g.keygen(1)
	if _, err := g.importer().Import(ret); !errors.Is(err, bundle.ErrWrongRecipient) {
		t.Fatalf("got %v, want ErrWrongRecipient", err)
	}
}

// TestImportChecksCD: DACs for a product the station's CD does not list are
// rejected per module.
func TestImportChecksCD(t *testing.T) {
	f := newFixture(t)
	f.keygen(2)
	res, err := f.exporter().Export(f.usb, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im := f.importer()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	skid, _ := matter.KeyID(&key.PublicKey)
	im.CD, err = matter.EncodeCD(matter.CDContent{FormatVersion: 1, VendorID: linetest.VID, ProductIDs: []uint16{0x8001},
		DeviceTypeID: 0x16, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1}, skid, key)
	if err != nil {
		t.Fatal(err)
	}
	im.CDSigner = nil // a CD of a key of its own: its content is what is checked here
	ir, err := im.Import(f.answer(res.Path))
	if err != nil {
		t.Fatal(err)
	}
	if ir.DACs != 0 || len(ir.Rejected) != 2 || !strings.Contains(ir.Rejected[0].Detail, "certification declaration") {
		t.Fatalf("import %+v", ir)
	}
	f.violations()
}
