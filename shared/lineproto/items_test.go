package lineproto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

func selfSigned(t *testing.T, pub, priv any) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestValidateItem(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	epub, epriv, _ := ed25519.GenerateKey(rand.Reader)
	p256 := selfSigned(t, &k.PublicKey, k)
	verifier := make([]byte, 97)
	verifier[32] = 0x04
	good := map[Item][]byte{
		ItemDAC: p256, ItemPAI: p256, ItemCD: {0x30, 0x00}, ItemDiscriminator: DiscriminatorValue(4095),
		ItemVerifier: verifier, ItemSalt: make([]byte, 16), ItemIterations: IterationsValue(1000),
		ItemSerialNumber: []byte("SN 0001"), ItemRotatingIDUnique: make([]byte, 16),
		ItemVendorID: U16Value(0xFFF4), ItemProductID: U16Value(0xFFFF), ItemProductInfo: {TagVendorName, 1, 0, 'A'},
	}
	for it, v := range good {
		if err := ValidateItem(it, v); err != nil {
			t.Errorf("%s: %v", it, err)
		}
	}
	bad := []struct {
		rule string
		item Item
		v    []byte
	}{
		{"unknown item", Item(0x0D), []byte{1}},
		{"dac not a certificate", ItemDAC, []byte{0x30, 0x00}},
		{"dac over 600 bytes", ItemDAC, bytes.Repeat([]byte{0x30}, 601)},
		{"dac on p-384", ItemDAC, selfSigned(t, &k384.PublicKey, k384)},
		{"pai on ed25519", ItemPAI, selfSigned(t, epub, epriv)},
		{"cd not a sequence", ItemCD, []byte{0x04, 0x00}},
		{"cd over 790 bytes", ItemCD, append([]byte{0x30}, make([]byte, 790)...)},
		{"discriminator 4096", ItemDiscriminator, DiscriminatorValue(4096)},
		{"discriminator 3 bytes", ItemDiscriminator, []byte{1, 2, 3}},
		{"verifier 96 bytes", ItemVerifier, verifier[:96]},
		{"verifier L compressed", ItemVerifier, append(append(bytes.Clone(verifier[:32]), 0x02), make([]byte, 64)...)},
		{"salt 15 bytes", ItemSalt, make([]byte, 15)},
		{"salt 33 bytes", ItemSalt, make([]byte, 33)},
		{"iterations 999", ItemIterations, IterationsValue(999)},
		{"iterations 100001", ItemIterations, IterationsValue(100001)},
		{"serial empty", ItemSerialNumber, nil},
		{"serial 33 bytes", ItemSerialNumber, bytes.Repeat([]byte{'A'}, 33)},
		{"serial with newline", ItemSerialNumber, []byte("SN\n1")},
		{"rd-id-uid 15 bytes", ItemRotatingIDUnique, make([]byte, 15)},
		{"vendor-id 0", ItemVendorID, U16Value(0)},
		{"vendor-id 0xfff5", ItemVendorID, U16Value(0xFFF5)},
		{"vendor-id 3 bytes", ItemVendorID, []byte{1, 0, 0}},
		{"product-id 0", ItemProductID, U16Value(0)},
		{"product-id 1 byte", ItemProductID, []byte{1}},
		{"product-info empty", ItemProductInfo, nil},
		{"product-info unknown tag", ItemProductInfo, []byte{0x09, 1, 0, 'A'}},
		{"product-info 513 bytes", ItemProductInfo, make([]byte, 513)},
	}
	for _, b := range bad {
		if err := ValidateItem(b.item, b.v); !errors.Is(err, ErrInvalidItem) {
			t.Errorf("%s: got %v, want ErrInvalidItem", b.rule, err)
		}
	}
}

func TestLockMask(t *testing.T) {
	for m := range 256 {
		mask := LockMask(m)
		valid := mask == 0 || mask == 1 || mask == 3 || mask == 7 || mask == 15
		if mask.Valid() != valid {
			t.Errorf("mask 0x%02x valid=%v", m, mask.Valid())
		}
	}
	if LockMask(0x03).Next() != LockReadDisableProtect || LockMaskAll.Next() != 0 {
		t.Fatal("Next")
	}
	if AllItemsMask != 0x7FF {
		t.Fatalf("all items mask 0x%x", AllItemsMask)
	}
}
