package factorydata

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/shared/lineproto"
)

var update = flag.Bool("update", false, "rewrite testdata/contract-* from the current code")

// contractKey is a fixed, published P-256 key (scalar 1…32): a layout
// vector only, never a device key.
func contractKey(t testing.TB) []byte {
	d := make([]byte, 32)
	for i := range d {
		d[i] = byte(i + 1)
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestContractVectors pins the two partitions the module side writes for
// one fixed set of items (testdata/contract-items.json: item number → hex
// value) — the bytes the C firmware and the simulator must both produce
// (FLASH-CONTRACT.md). Run with -update to regenerate after a deliberate
// format change.
func TestContractVectors(t *testing.T) {
	items := goldenItems(t)
	sc, err := SecureCert(securecert.PlaintextKeyEntries(contractKey(t)), items[lineproto.ItemDAC], items[lineproto.ItemPAI])
	if err != nil {
		t.Fatal(err)
	}
	scPart := bytes.Repeat([]byte{0xFF}, securecert.PartitionSize)
	copy(scPart, sc)
	nvsPart, err := NVS(items)
	if err != nil {
		t.Fatal(err)
	}
	js := map[string]string{}
	var keys []int
	for it := range items {
		keys = append(keys, int(it))
	}
	sort.Ints(keys)
	for _, k := range keys {
		js[lineproto.Item(k).String()+" (0x"+hex.EncodeToString([]byte{byte(k)})+")"] = hex.EncodeToString(items[lineproto.Item(k)])
	}
	js["key (GENERATE_KEY): DER SEC1, plaintext variant"] = hex.EncodeToString(contractKey(t))
	itemsJSON, _ := json.MarshalIndent(js, "", "  ")
	files := map[string][]byte{
		"contract-items.json":          append(itemsJSON, '\n'),
		"contract-esp_secure_cert.bin": scPart,
		"contract-fctry.bin":           nvsPart,
	}
	for name, b := range files {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestContractVectors -update)", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from what the code writes now", name)
		}
	}
}
