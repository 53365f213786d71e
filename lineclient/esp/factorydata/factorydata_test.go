package factorydata

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/shared/lineproto"
)

func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "nvs", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenItems are the items behind Espressif's matter-factory vector.
func goldenItems(t testing.TB) Items {
	salt, _ := base64.StdEncoding.DecodeString("t7aIc5jEeyXu0FqhTEt1cRl5hZk2gcUTNbXHZ8gjHvI=")
	ver, _ := base64.StdEncoding.DecodeString("on3vXb3AwmXiDAc+ogTy0PpyH86QMKk/+/BBtsN65k8Enec4Y9V85xcXtHNhmZoG2E+/iFi0OprBJ/mwkuHwaVBZGTthz+vguczP/aXyDmtIVclctItrNcm5Z4feY0+orA==")
	hv := uint16(1)
	info, err := lineproto.ProductInfo{VendorName: "dacline test vendor", ProductName: "dacline test product",
		HardwareVersion: &hv, HardwareVerStr: "1.0", MfgDate: "2026-12-08"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return Items{
		lineproto.ItemDAC: vector(t, "dac.der"), lineproto.ItemPAI: vector(t, "pai.der"), lineproto.ItemCD: vector(t, "cd.der"),
		lineproto.ItemDiscriminator: lineproto.DiscriminatorValue(3840), lineproto.ItemIterations: lineproto.IterationsValue(10000),
		lineproto.ItemSalt: salt, lineproto.ItemVerifier: ver, lineproto.ItemSerialNumber: []byte("0123456789ABCDEF"),
		lineproto.ItemVendorID: lineproto.U16Value(0xFFF1), lineproto.ItemProductID: lineproto.U16Value(0x8000),
		lineproto.ItemProductInfo:      info,
		lineproto.ItemRotatingIDUnique: []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF},
	}
}

// TestNVSMatchesGenerator: the items of Espressif's matter-factory vector
// give that vector's entries (without dac-cert and pai-cert, which live in
// esp_secure_cert here), and the partition equals what the generator makes
// of the equivalent CSV.
func TestNVSMatchesGenerator(t *testing.T) {
	items := goldenItems(t)
	got, err := NVSEntries(items)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := nvs.Parse(vector(t, "matter-factory.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var want []nvs.Entry
	for _, e := range golden.Entries {
		if e.Key != "dac-cert" && e.Key != "pai-cert" {
			want = append(want, e)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries\n%v\nwant\n%v", got, want)
	}
	bin, err := NVS(items)
	if err != nil {
		t.Fatal(err)
	}
	// The equivalent CSV through the generator-exact writer.
	rows, err := nvs.ReadCSV(strings.NewReader(CSV(got)))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := nvs.NewWriter(PartitionSize)
	if err := nvs.WriteRows(w, rows, nil); err != nil {
		t.Fatal(err)
	}
	fromCSV, _ := w.Bytes()
	if !bytes.Equal(bin, fromCSV) {
		t.Fatal("partition differs from the generator's output for the equivalent CSV")
	}
	p, err := nvs.Parse(bin)
	if err != nil || !reflect.DeepEqual(p.Entries, want) {
		t.Fatalf("read back: %v", err)
	}
}

func TestNVSOptionalAndOrder(t *testing.T) {
	items := goldenItems(t)
	info, _ := lineproto.ProductInfo{PartNumber: "PN-1", ProductURL: "https://example.com/p", ProductLabel: "Lamp, white"}.Encode()
	items[lineproto.ItemProductInfo] = info
	es, err := NVSEntries(items)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	want := "discriminator iteration-count salt verifier serial-num vendor-id product-id part-number product-label product-url rd-id-uid cert-dclrn"
	if strings.Join(keys, " ") != want {
		t.Fatalf("keys %v", keys)
	}
	if !strings.Contains(CSV(es), `product-label,data,string,"Lamp, white"`) {
		t.Fatalf("csv quoting:\n%s", CSV(es))
	}
	delete(items, lineproto.ItemProductInfo)
	delete(items, lineproto.ItemCD)
	es, _ = NVSEntries(items)
	if es[len(es)-1].Key != KeyRotatingID || len(es) != 8 {
		t.Fatalf("without product info and cd: %v", es)
	}
	items[lineproto.ItemDiscriminator] = lineproto.DiscriminatorValue(5000)
	if _, err := NVS(items); err == nil || !strings.Contains(err.Error(), "discriminator 5000") {
		t.Fatalf("invalid item: %v", err)
	}
}

func TestSecureCertLayout(t *testing.T) {
	key := bytes.Repeat([]byte{0x30}, 121)
	keyOnly, err := SecureCert(securecert.PlaintextKeyEntries(key), vector(t, "dac.der"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := securecert.Parse(keyOnly)
	if err != nil || len(p.Entries) != 1 || p.Sealed {
		t.Fatalf("key only: %v %+v", err, p)
	}
	full, err := SecureCert(securecert.PlaintextKeyEntries(key), vector(t, "dac.der"), vector(t, "pai.der"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(full, keyOnly) {
		t.Fatal("the full partition does not extend the key-only one (no append)")
	}
	p, err = securecert.Parse(full)
	if err != nil || !p.Sealed || !p.EndMarker {
		t.Fatalf("full: %v %+v", err, p)
	}
	var types []securecert.Type
	for _, e := range p.Entries {
		types = append(types, e.Type)
	}
	if !reflect.DeepEqual(types, []securecert.Type{securecert.TypePrivKey, securecert.TypeCACert, securecert.TypeDevCert, securecert.TypeIntegrity}) {
		t.Fatalf("order %v", types)
	}
	if _, err := SecureCert(securecert.PlaintextKeyEntries(key), make([]byte, 5000), make([]byte, 5000)); err == nil {
		t.Fatal("oversized certificates accepted")
	}
}

// BenchmarkBuildFactoryData builds one module's factory data, both
// partitions (target ≤ 1 ms), against a baseline in the same process: one
// SHA-256 pass over the two partitions' bytes.
func BenchmarkBuildFactoryData(b *testing.B) {
	items := goldenItems(b)
	key := bytes.Repeat([]byte{0x30}, 121)
	var base, full time.Duration
	for range b.N {
		start := time.Now()
		nvsBin, err := NVS(items)
		if err != nil {
			b.Fatal(err)
		}
		sc, err := SecureCert(securecert.PlaintextKeyEntries(key), items[lineproto.ItemDAC], items[lineproto.ItemPAI])
		if err != nil {
			b.Fatal(err)
		}
		full += time.Since(start)
		start = time.Now()
		sha256.Sum256(append(sc, nvsBin...))
		base += time.Since(start)
	}
	b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N), "ms/module")
	b.ReportMetric(float64(base.Microseconds())/1000/float64(b.N), "ms/sha256-baseline")
	b.ReportMetric(float64(full)/float64(base), "ratio-build/sha256")
	b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N)/1, "fraction-of-1ms-budget")
}
