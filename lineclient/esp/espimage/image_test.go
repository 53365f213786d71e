package espimage

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/lineclient/internal/linetest"
)

func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func digest(t testing.TB, name string) KeyDigest {
	t.Helper()
	d, err := ParseKeyDigest(vector(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseGoldenImages(t *testing.T) {
	for _, tc := range []struct {
		file string
		chip uint16
		segs int
		len  int
	}{
		{"bootloader_unsigned_v2.bin", 0, 4, 30480},
		{"bootloader_signed_v2_rsa.bin", 0, 4, 30480},
		{"bootloader_esp32c3_unsigned.bin", 5, 4, 17744},
	} {
		img, err := Parse(vector(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if img.ChipID != tc.chip || img.SegmentCount != tc.segs || img.Len != tc.len || !img.HashAppended {
			t.Errorf("%s: chip %d segs %d len %d hash %v", tc.file, img.ChipID, img.SegmentCount, img.Len, img.HashAppended)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := vector(t, "bootloader_unsigned_v2.bin")
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"magic":          mod(func(b []byte) []byte { b[0] = 0xE8; return b }),
		"no segments":    mod(func(b []byte) []byte { b[1] = 0; return b }),
		"17 segments":    mod(func(b []byte) []byte { b[1] = 17; return b }),
		"segment length": mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[28:], 1<<30); return b }),
		"segment byte":   mod(func(b []byte) []byte { b[100] ^= 1; return b }),
		"checksum":       mod(func(b []byte) []byte { b[30447] ^= 1; return b }),
		"sha-256":        mod(func(b []byte) []byte { b[30450] ^= 1; return b }),
		"truncated":      good[:30000],
		"header only":    good[:10],
		"hash flag":      mod(func(b []byte) []byte { b[23] = 2; return b }),
	} {
		if _, err := Parse(b); !errors.Is(err, ErrImage) {
			t.Errorf("%s: err = %v, want ErrImage", name, err)
		}
	}
}

func TestVerifyGoldenSignatures(t *testing.T) {
	rsaD, ecD := digest(t, "rsa_public_key_digest.bin"), digest(t, "ecdsa256_public_key_digest.bin")
	for _, tc := range []struct {
		file, scheme string
		key          KeyDigest
	}{
		{"bootloader_signed_v2_rsa.bin", "RSA-3072-PSS", rsaD},
		{"bootloader_signed_v2_ecdsa256.bin", "ECDSA-P256", ecD},
	} {
		b := vector(t, tc.file)
		img, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := VerifySignatures(b, img, []KeyDigest{rsaD, ecD})
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(sigs) != 1 || sigs[0].Scheme() != tc.scheme || sigs[0].KeyDigest != tc.key || sigs[0].Offset != 0x8000 {
			t.Fatalf("%s: %+v", tc.file, sigs)
		}
		// Negative: the other scheme's digest only.
		other := rsaD
		if tc.key == rsaD {
			other = ecD
		}
		if _, err := VerifySignatures(b, img, []KeyDigest{other}); !errors.Is(err, ErrKeyNotAllowed) {
			t.Errorf("%s with the wrong digest: %v", tc.file, err)
		}
		if _, err := VerifySignatures(b, img, nil); !errors.Is(err, ErrKeyNotAllowed) {
			t.Errorf("%s with no digest configured: %v", tc.file, err)
		}
	}
}

// fixCRC rewrites the block CRC so a test reaches the signature check.
func fixCRC(b []byte, at int) {
	binary.LittleEndian.PutUint32(b[at+crcOffset:], crc32.ChecksumIEEE(b[at:at+crcOffset]))
}

func TestVerifyRejects(t *testing.T) {
	all := []KeyDigest{digest(t, "rsa_public_key_digest.bin"), digest(t, "ecdsa256_public_key_digest.bin")}
	unsigned := vector(t, "bootloader_unsigned_v2.bin")
	img, _ := Parse(unsigned)
	if _, err := VerifySignatures(unsigned, img, all); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	for _, file := range []string{"bootloader_signed_v2_rsa.bin", "bootloader_signed_v2_ecdsa256.bin"} {
		good := vector(t, file)
		img, _ := Parse(good)
		for name, tc := range map[string]struct {
			mod  func(b []byte)
			want error
		}{
			// A byte of the padding between image and block: the image
			// still parses, but it is not what was signed.
			"padding byte": {func(b []byte) { b[0x7F00] ^= 0x01 }, ErrBadSignature},
			"block crc":    {func(b []byte) { b[0x8000+200] ^= 0x01 }, ErrBadSignature},
			"signature":    {func(b []byte) { b[0x8000+140] ^= 0x01; fixCRC(b, 0x8000) }, ErrBadSignature},
			"image digest": {func(b []byte) { b[0x8000+4] ^= 0x01; fixCRC(b, 0x8000) }, ErrBadSignature},
			"version":      {func(b []byte) { b[0x8001] = 0x09; fixCRC(b, 0x8000) }, ErrBadSignature},
			"second block": {func(b []byte) {
				copy(b[0x8000+SigBlockLen:], b[0x8000:0x8000+SigBlockLen])
				b[0x8000+SigBlockLen+150] ^= 1
			}, ErrBadSignature},
			"block missing": {func(b []byte) { b[0x8000] = 0xFF }, ErrUnsigned},
		} {
			b := bytes.Clone(good)
			tc.mod(b)
			if _, err := VerifySignatures(b, img, all); !errors.Is(err, tc.want) {
				t.Errorf("%s %s: err = %v, want %v", file, name, err, tc.want)
			}
		}
	}
}

func TestCheckChip(t *testing.T) {
	img, _ := Parse(vector(t, "bootloader_esp32c3_unsigned.bin"))
	if err := img.CheckChip(0, "ESP32"); !errors.Is(err, ErrWrongChip) {
		t.Fatalf("C3 image on an ESP32: %v", err)
	}
	if err := img.CheckChip(5, "ESP32-C3"); err != nil {
		t.Fatal(err)
	}
}

func TestParseKeyDigest(t *testing.T) {
	raw := vector(t, "rsa_public_key_digest.bin")
	d1, _ := ParseKeyDigest(raw)
	d2, err := ParseKeyDigest([]byte(d1.String() + "\n"))
	if err != nil || d1 != d2 {
		t.Fatalf("hex form: %v", err)
	}
	if _, err := ParseKeyDigest([]byte("abcd")); err == nil {
		t.Fatal("short digest accepted")
	}
}

func FuzzParseImage(f *testing.F) {
	f.Add(vector(f, "bootloader_esp32c3_unsigned.bin")[:2000])
	f.Add([]byte{0xE9, 1, 2, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Parse(b)
		if err != nil {
			return
		}
		if img.Len > len(b) {
			t.Fatalf("image length %d beyond %d bytes", img.Len, len(b))
		}
		_, _ = VerifySignatures(b, img, nil)
	})
}

func TestSelfSignedImageVerifies(t *testing.T) {
	// A C3 image signed here with a fresh key: the verifier accepts it with
	// that key's digest and refuses it without.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signed, kd := linetest.SignESPImageECDSA(vector(t, "bootloader_esp32c3_unsigned.bin"), key)
	img, err := Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignatures(signed, img, []KeyDigest{kd}); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignatures(signed, img, []KeyDigest{digest(t, "ecdsa256_public_key_digest.bin")}); !errors.Is(err, ErrKeyNotAllowed) {
		t.Fatal(err)
	}
}
