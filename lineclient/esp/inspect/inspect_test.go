package inspect

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/onboarding"
)

// fixture is one provisioned module: its items, key, image and manifest row.
type fixture struct {
	pki   *linetest.PKI
	key   *ecdsa.PrivateKey
	items factorydata.Items
	img   []byte
	row   manifest.Row
}

const passcode = 20202021

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{pki: linetest.NewPKI(t)}
	var err error
	if f.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	dac, err := f.pki.IssueDACFor(&f.key.PublicKey, linetest.VID, linetest.PID)
	if err != nil {
		t.Fatal(err)
	}
	salt := bytes.Repeat([]byte{7}, 32)
	ver, err := onboarding.Verifier(passcode, salt, 10000)
	if err != nil {
		t.Fatal(err)
	}
	f.items = factorydata.Items{
		lineproto.ItemDAC: dac, lineproto.ItemPAI: f.pki.PAI.Raw, lineproto.ItemCD: linetest.CD(),
		lineproto.ItemDiscriminator: lineproto.DiscriminatorValue(3840), lineproto.ItemIterations: lineproto.IterationsValue(10000),
		lineproto.ItemSalt: salt, lineproto.ItemVerifier: ver, lineproto.ItemSerialNumber: []byte("SN-0001"),
		lineproto.ItemRotatingIDUnique: bytes.Repeat([]byte{1}, 16),
		lineproto.ItemVendorID:         lineproto.U16Value(linetest.VID), lineproto.ItemProductID: lineproto.U16Value(linetest.PID),
	}
	der, _ := x509.MarshalECPrivateKey(f.key)
	f.img = f.build(t, securecert.PlaintextKeyEntries(der), dac)
	p := onboarding.Payload{VID: linetest.VID, PID: linetest.PID, Discovery: onboarding.DiscoveryBLE, Discriminator: 3840, Passcode: passcode}
	qr, _ := onboarding.EncodeQR(p)
	mc, _ := onboarding.EncodeManual(p)
	dacSum := sha256hex(dac)
	f.row = manifest.Row{MAC: "02:da:c1:00:00:01", SerialNumber: "SN-0001", DACSHA256: dacSum, VID: linetest.VID, PID: linetest.PID,
		Discriminator: 3840, Passcode: passcode, QRPayload: qr, ManualCode: mc, Status: manifest.StatusDeployed}
	return f
}

func (f *fixture) build(t testing.TB, keys []securecert.Entry, dac []byte) []byte {
	t.Helper()
	sc, err := factorydata.SecureCert(keys, dac, f.items[lineproto.ItemPAI])
	if err != nil {
		t.Fatal(err)
	}
	nvsBin, err := factorydata.NVS(f.items)
	if err != nil {
		t.Fatal(err)
	}
	img := flash.Blank()
	copy(img[0xD000:], sc)
	copy(img[0x3E0000:], nvsBin)
	return img
}

func (f *fixture) opts() Options {
	return Options{PAA: f.pki.PAA, CDSigner: linetest.CDSigner(), Manifest: []manifest.Row{f.row}}
}

func status(r *Report, name string) (string, string) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Status, c.Detail
		}
	}
	return "", ""
}

func TestGoodImage(t *testing.T) {
	f := newFixture(t)
	r := Inspect(f.img, f.opts())
	if !r.OK || r.Kind != KindImage {
		t.Fatalf("failed: %+v", r.Failed())
	}
	for _, name := range []string{"partition table", "esp_secure_cert tlvs", "esp_secure_cert integrity", "dac key",
		"factory nvs", "factory data", "chain", "vid/pid", "certification declaration", "onboarding"} {
		if st, d := status(r, name); st != StatusOK {
			t.Errorf("%s: %s %s", name, st, d)
		}
	}
	if len(r.TLVs) != 4 || r.TLVs[0].Type != "PRIV_KEY" || len(r.Partitions) != 8 || len(r.NVSEntries) < 12 {
		t.Fatalf("listing: %d tlvs, %d partitions, %d nvs entries", len(r.TLVs), len(r.Partitions), len(r.NVSEntries))
	}
	var text bytes.Buffer
	r.WriteText(&text)
	for _, want := range []string{"esp_secure_cert at 0xd000", "PRIV_KEY", "crc 0x", "chip-factory/serial-num", "result: ok"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	// No key bytes in the report.
	der, _ := x509.MarshalECPrivateKey(f.key)
	if bytes.Contains(text.Bytes(), der[7:39]) || strings.Contains(text.String(), sha256hex(der)) {
		t.Fatal("key material in the report")
	}
	// Without references, the checks that need them are skipped, not passed.
	r = Inspect(f.img, Options{})
	if !r.OK {
		t.Fatalf("without references: %+v", r.Failed())
	}
	if st, _ := status(r, "chain"); st != StatusSkip {
		t.Errorf("chain without paa: %s", st)
	}
	if st, _ := status(r, "manifest"); st != StatusSkip {
		t.Errorf("manifest without --manifest: %s", st)
	}
}

func TestPartitionDumps(t *testing.T) {
	f := newFixture(t)
	sc := Inspect(f.img[0xD000:0xF000], f.opts())
	if sc.Kind != KindSecureCert || !sc.OK {
		t.Fatalf("esp_secure_cert dump: %s %+v", sc.Kind, sc.Failed())
	}
	n := Inspect(f.img[0x3E0000:0x3E6000], f.opts())
	if n.Kind != KindNVS || !n.OK {
		t.Fatalf("nvs dump: %s %+v", n.Kind, n.Failed())
	}
	if st, _ := status(n, "onboarding"); st != StatusOK {
		t.Errorf("nvs dump onboarding (row found by serial): %s", st)
	}
	tab := Inspect(f.img[0x8000:0x9000], Options{})
	if tab.Kind != KindTable || !tab.OK {
		t.Fatalf("table: %+v", tab.Failed())
	}
}

func TestBadImages(t *testing.T) {
	f := newFixture(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDAC, _ := f.pki.IssueDACFor(&other.PublicKey, linetest.VID, linetest.PID)
	der, _ := x509.MarshalECPrivateKey(f.key)
	cases := []struct {
		rule  string
		img   func() []byte
		opts  func(o *Options)
		check string
		want  string
	}{
		{"tlv crc", func() []byte { b := bytes.Clone(f.img); b[0xD000+40] ^= 1; return b }, nil,
			"esp_secure_cert tlvs", "offset 0x0: PRIV_KEY subtype 0: crc"},
		{"dac for another key", func() []byte { return f.build(t, securecert.PlaintextKeyEntries(der), otherDAC) }, nil,
			"dac key", "certifies another key"},
		{"no integrity", func() []byte {
			b := flash.Blank()
			enc, _ := securecert.Encode([]securecert.Entry{{Type: securecert.TypePrivKey, Data: der},
				{Type: securecert.TypeCACert, Data: f.pki.PAI.Raw}, {Type: securecert.TypeDevCert, Data: f.items[lineproto.ItemDAC]}})
			copy(b[0xD000:], enc)
			copy(b[0x3E0000:], f.img[0x3E0000:0x3E6000])
			return b
		}, nil, "esp_secure_cert integrity", "no INTEGRITY"},
		{"wrong passcode in the manifest", func() []byte { return f.img }, func(o *Options) {
			row := f.row
			row.Passcode = 20202022
			p := onboarding.Payload{VID: row.VID, PID: row.PID, Discovery: onboarding.DiscoveryBLE, Discriminator: 3840, Passcode: row.Passcode}
			row.QRPayload, _ = onboarding.EncodeQR(p)
			row.ManualCode, _ = onboarding.EncodeManual(p)
			o.Manifest = []manifest.Row{row}
		}, "onboarding", "the verifier is not the manifest passcode's"},
		{"manual code not the row's", func() []byte { return f.img }, func(o *Options) {
			row := f.row
			row.ManualCode = "12345678901"
			o.Manifest = []manifest.Row{row}
		}, "onboarding", "manual_code 12345678901 is not the one"},
		{"unused row", func() []byte { return f.img }, func(o *Options) {
			row := f.row
			row.Status, row.Reason = manifest.StatusUnused, "lying-module"
			o.Manifest = []manifest.Row{row}
		}, "manifest", "must not ship"},
		{"no row", func() []byte { return f.img }, func(o *Options) { o.Manifest = []manifest.Row{} }, "manifest", "no manifest row"},
		{"other paa", func() []byte { return f.img }, func(o *Options) { o.PAA = linetest.NewPKI(t).PAA }, "chain", "dac → pai → paa"},
		{"nvs vid differs", func() []byte {
			items := factorydata.Items{}
			for k, v := range f.items {
				items[k] = v
			}
			items[lineproto.ItemVendorID] = lineproto.U16Value(0xFFF2)
			g := *f
			g.items = items
			return g.build(t, securecert.PlaintextKeyEntries(der), f.items[lineproto.ItemDAC])
		}, nil, "vid/pid", "nvs vendor-id/product-id FFF2/8000, the DAC says FFF1/8000"},
		{"table md5", func() []byte { b := bytes.Clone(f.img); b[0x8000+20] ^= 1; return b }, nil, "partition table", "at 0x8000: partition table: md5 entry"},
		{"nvs page crc", func() []byte { b := bytes.Clone(f.img); b[0x3E0000+10] ^= 1; return b }, nil, "factory nvs", "partition at 0x3e0000: nvs: page 0 (offset 0x0): header crc"},
		{"nvs entry crc", func() []byte { b := bytes.Clone(f.img); b[0x3E0000+64+32+24] ^= 1; return b }, nil, "factory nvs", `entry 1 (offset 0x60) key "discriminator": entry crc`},
		{"garbage", func() []byte { return []byte("hello") }, nil, "input", "are not a flash image"},
		{"secure cert not encrypted", func() []byte {
			b := bytes.Clone(f.img)
			tab, _ := flash.Table(b)
			tab.Entries[0].Flags = 0
			bin, _ := tab.MarshalBinary()
			copy(b[0x8000:], bin)
			return b
		}, nil, "esp_secure_cert", "not flagged encrypted"},
	}
	for _, c := range cases {
		o := f.opts()
		if c.opts != nil {
			c.opts(&o)
		}
		r := Inspect(c.img(), o)
		st, detail := status(r, c.check)
		if r.OK || st != StatusFail || !strings.Contains(detail, c.want) {
			t.Errorf("%s: ok=%v, %s = %s %q, want fail %q", c.rule, r.OK, c.check, st, detail, c.want)
		}
	}
}

func TestKeyVariants(t *testing.T) {
	f := newFixture(t)
	ef, _ := securecert.EFuseKeyEntries(5)
	r := Inspect(f.build(t, ef, f.items[lineproto.ItemDAC]), f.opts())
	if st, d := status(r, "dac key"); !r.OK || st != StatusSkip || !strings.Contains(d, "eFuse block 5") || r.KeyStorage != "efuse" {
		t.Fatalf("efuse: %v %s %s %+v", r.OK, st, d, r.Failed())
	}
	dk, _ := securecert.DerivedKeyEntries(bytes.Repeat([]byte{3}, 32))
	r = Inspect(f.build(t, dk, f.items[lineproto.ItemDAC]), f.opts())
	if st, _ := status(r, "dac key"); !r.OK || st != StatusSkip || r.KeyStorage != "hmac-derived" {
		t.Fatalf("derived: %s %+v", st, r.Failed())
	}
	bad := []securecert.Entry{{Type: securecert.TypePrivKey, Flags: securecert.FlagECDSAPeripheral, Data: []byte{}}}
	r = Inspect(f.build(t, bad, f.items[lineproto.ItemDAC]), f.opts())
	if st, d := status(r, "dac key"); st != StatusFail || !strings.Contains(d, "SEC_CFG") {
		t.Fatalf("efuse without sec_cfg: %s %s", st, d)
	}
	short := []securecert.Entry{{Type: securecert.TypePrivKey, Data: []byte{0x30, 0}}}
	r = Inspect(f.build(t, short, f.items[lineproto.ItemDAC]), f.opts())
	if st, d := status(r, "dac key"); st != StatusFail || !strings.Contains(d, "not a DER SEC1 EC key") {
		t.Fatalf("bad key: %s %s", st, d)
	}
}

func FuzzInspect(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.img[0xD000:0xD400])
	f.Add(fx.img[0x8000:0x8200])
	f.Add(append([]byte{0xFE, 0xFF, 0xFF, 0xFF}, make([]byte, 100)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := Inspect(b, Options{Now: time.Unix(1800000000, 0)})
		if r.OK && len(r.Checks) == 0 {
			t.Fatal("ok without checks")
		}
		_ = binary.LittleEndian
	})
}

// BenchmarkInspectImage inspects a whole 4 MB image (target ≤ 50 ms) and
// compares it with a baseline in the same process: one SHA-256 pass over
// the image (the cost of reading it at all). With references, the SPAKE2+
// verifier check (PBKDF2, 10,000 iterations) dominates.
func BenchmarkInspectImage(b *testing.B) {
	f := newFixture(b)
	for _, bc := range []struct {
		name string
		o    Options
	}{{"no-references", Options{}}, {"paa-cd-manifest", f.opts()}} {
		b.Run(bc.name, func(b *testing.B) {
			var base, full time.Duration
			for range b.N {
				start := time.Now()
				sha256hex(f.img)
				base += time.Since(start)
				start = time.Now()
				if r := Inspect(f.img, bc.o); !r.OK {
					b.Fatal(r.Failed())
				}
				full += time.Since(start)
			}
			b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N), "ms/image")
			b.ReportMetric(float64(base.Microseconds())/1000/float64(b.N), "ms/sha256-baseline")
			b.ReportMetric(float64(full)/float64(base), "ratio-inspect/sha256")
			b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N)/50, "fraction-of-50ms-budget")
		})
	}
}
