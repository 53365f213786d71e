package inspect

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestFactoryPartitionDACLayout: without the secure-cert provider,
// esp-matter reads the DAC, PAI and key from NVS (dac-cert, pai-cert,
// dac-key, dac-pub-key); the inspector checks that layout too.
func TestFactoryPartitionDACLayout(t *testing.T) {
	f := newFixture(t)
	entries, err := factorydata.NVSEntries(f.items)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := f.key.PublicKey.Bytes()
	raw, _ := f.key.Bytes()
	build := func(pubKey []byte) []byte {
		es := append(append([]nvs.Entry{}, entries...),
			nvs.Blob(factorydata.Namespace, "dac-cert", f.items[lineproto.ItemDAC]),
			nvs.Blob(factorydata.Namespace, "pai-cert", f.items[lineproto.ItemPAI]),
			nvs.Blob(factorydata.Namespace, "dac-key", raw),
			nvs.Blob(factorydata.Namespace, "dac-pub-key", pubKey))
		b, err := nvs.Encode(0x6000, es)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	r := Inspect(build(pub), f.opts())
	if !r.OK || r.DACSource != "nvs" {
		t.Fatalf("nvs layout: %s %+v", r.DACSource, r.Failed())
	}
	for _, name := range []string{"dac key", "chain", "onboarding", "certification declaration"} {
		if st, d := status(r, name); st != StatusOK {
			t.Errorf("%s: %s %s", name, st, d)
		}
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if bytes.Contains(text.Bytes(), raw) || strings.Contains(text.String(), sha256hex(raw)) {
		t.Fatal("nvs key bytes in the report")
	}
	bad := bytes.Clone(pub)
	bad[10] ^= 1
	r = Inspect(build(bad), f.opts())
	if st, d := status(r, "dac key"); r.OK || st != StatusFail || !strings.Contains(d, "dac-pub-key is not the DAC's public key") {
		t.Fatalf("wrong public half: %s %s", st, d)
	}
}

// TestGoldenFactoryVector: Espressif's generator output (DAC and PAI in
// NVS, no key) reads as esp-matter would read it.
func TestGoldenFactoryVector(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "nvs", "testdata", "matter-factory.bin"))
	if err != nil {
		t.Fatal(err)
	}
	r := Inspect(b, Options{})
	if r.Kind != KindNVS || r.DACSource != "nvs" || r.Factory == nil || r.Factory.SerialNumber != "0123456789ABCDEF" {
		t.Fatalf("golden: %+v", r)
	}
	for name, want := range map[string]string{"factory nvs": StatusOK, "factory data": StatusOK, "vid/pid": StatusOK, "dac key": StatusSkip, "chain": StatusSkip} {
		if st, d := status(r, name); st != want {
			t.Errorf("%s: %s %s, want %s", name, st, d, want)
		}
	}
}
