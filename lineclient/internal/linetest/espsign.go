package linetest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
)

// SignESPImageECDSA appends a Secure Boot V2 ECDSA P-256 signature block to
// an ESP image (ESP-FACTS §6): the image padded with 0xFF to a 4 KB
// boundary, then the 1,216-byte block (magic 0xE7, version 3, the image
// digest, curve 2, X, Y, r, s little-endian, CRC-32 at 1196), then 0xFF to
// the end of that sector. It also returns the key digest a product would
// configure. For tests: a station never signs anything.
func SignESPImageECDSA(img []byte, key *ecdsa.PrivateKey) (signed []byte, keyDigest [32]byte) {
	n := (len(img) + 4095) / 4096 * 4096
	out := make([]byte, n, n+4096)
	copy(out, img)
	for i := len(img); i < n; i++ {
		out[i] = 0xFF
	}
	digest := sha256.Sum256(out)
	blk := make([]byte, 1216)
	blk[0], blk[1] = 0xE7, 0x03
	copy(blk[4:36], digest[:])
	blk[36] = 2                        // P-256
	le := func(dst []byte, v []byte) { // v big-endian, 32 bytes
		for i := range 32 {
			dst[i] = v[31-i]
		}
	}
	pub, _ := key.PublicKey.Bytes() // 04 ‖ X ‖ Y
	le(blk[37:69], pub[1:33])
	le(blk[69:101], pub[33:65])
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		panic(err) // crypto/rand failing: nothing a test can do
	}
	le(blk[101:133], r.FillBytes(make([]byte, 32)))
	le(blk[133:165], s.FillBytes(make([]byte, 32)))
	binary.LittleEndian.PutUint32(blk[1196:], crc32.ChecksumIEEE(blk[:1196]))
	keyDigest = sha256.Sum256(blk[36:101])
	out = append(out, blk...)
	for len(out)%4096 != 0 {
		out = append(out, 0xFF)
	}
	return out, keyDigest
}
