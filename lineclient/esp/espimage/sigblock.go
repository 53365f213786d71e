package espimage

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"slices"
)

// Secure Boot V2 signature block layout (ESP-FACTS §6).
const (
	SigBlockLen     = 1216
	SigBlockMagic   = 0xE7
	SigVersionRSA   = 0x02
	SigVersionECDSA = 0x03
	sigSectorAlign  = 4096
	maxSigBlocks    = 3
	crcOffset       = 1196
	curveP256       = 2
)

// Errors callers and tests branch on.
var (
	ErrUnsigned      = errors.New("no secure boot v2 signature block")
	ErrBadSignature  = errors.New("signature block invalid")
	ErrKeyNotAllowed = errors.New("signed with a key whose digest is not configured for the product")
)

// KeyDigest is the SHA-256 burnt into eFuse for one signing key.
type KeyDigest [32]byte

func (d KeyDigest) String() string { return hex.EncodeToString(d[:]) }

// ParseKeyDigest reads 64 hex digits (or 32 raw bytes, as espsecure writes
// the digest file).
func ParseKeyDigest(b []byte) (KeyDigest, error) {
	var d KeyDigest
	if len(b) == 32 {
		copy(d[:], b)
		return d, nil
	}
	s := string(bytes.TrimSpace(b))
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 32 {
		return d, fmt.Errorf("key digest %q: want 64 hex digits or a 32-byte file", truncate(s, 20))
	}
	copy(d[:], raw)
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// SigBlock is one verified signature block.
type SigBlock struct {
	Index     int
	Offset    int
	Version   byte // SigVersionRSA or SigVersionECDSA
	KeyDigest KeyDigest
}

// Scheme names the signature scheme.
func (s SigBlock) Scheme() string {
	if s.Version == SigVersionRSA {
		return "RSA-3072-PSS"
	}
	return "ECDSA-P256"
}

// SignatureOffset is where the signature sector of an image of imageLen
// bytes is: the image padded to a 4 KB boundary.
func SignatureOffset(imageLen int) int {
	return (imageLen + sigSectorAlign - 1) / sigSectorAlign * sigSectorAlign
}

// VerifySignatures checks the Secure Boot V2 signature blocks of the image
// in b (Parse it first: img.Len says where the image ends). Every block
// present must verify, and its key digest must be in allowed. At least one
// block is required.
func VerifySignatures(b []byte, img *Image, allowed []KeyDigest) ([]SigBlock, error) {
	at := SignatureOffset(img.Len)
	if at+SigBlockLen > len(b) || b[at] != SigBlockMagic {
		return nil, fmt.Errorf("%w at 0x%x (image ends at 0x%x)", ErrUnsigned, at, img.Len)
	}
	digest := sha256.Sum256(b[:at])
	var out []SigBlock
	for i := range maxSigBlocks {
		off := at + i*SigBlockLen
		if off+SigBlockLen > len(b) || b[off] != SigBlockMagic {
			break
		}
		blk := b[off : off+SigBlockLen]
		sb, err := verifyBlock(blk, digest)
		if err != nil {
			return nil, fmt.Errorf("signature block %d at 0x%x: %w", i, off, err)
		}
		sb.Index, sb.Offset = i, off
		if !slices.Contains(allowed, sb.KeyDigest) {
			return nil, fmt.Errorf("signature block %d at 0x%x (%s): %w: key digest %s", i, off, sb.Scheme(), ErrKeyNotAllowed, sb.KeyDigest)
		}
		out = append(out, sb)
	}
	return out, nil
}

func verifyBlock(blk []byte, digest [32]byte) (SigBlock, error) {
	sb := SigBlock{Version: blk[1]}
	if got, want := binary.LittleEndian.Uint32(blk[crcOffset:]), crc32.ChecksumIEEE(blk[:crcOffset]); got != want {
		return sb, fmt.Errorf("%w: CRC32 0x%08x, block gives 0x%08x", ErrBadSignature, got, want)
	}
	if !bytes.Equal(blk[4:36], digest[:]) {
		return sb, fmt.Errorf("%w: image digest in the block does not match the image (the image was changed after signing)", ErrBadSignature)
	}
	switch sb.Version {
	case SigVersionRSA:
		sb.KeyDigest = sha256.Sum256(blk[36:812])
		n := new(big.Int).SetBytes(reversed(blk[36:420]))
		e := binary.LittleEndian.Uint32(blk[420:])
		if n.BitLen() != 3072 || e < 3 || e%2 == 0 {
			return sb, fmt.Errorf("%w: RSA key of %d bits, exponent %d (want 3072 bits)", ErrBadSignature, n.BitLen(), e)
		}
		pub := &rsa.PublicKey{N: n, E: int(e)}
		sig := reversed(blk[812 : 812+384])
		if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}); err != nil {
			return sb, fmt.Errorf("%w: RSA-3072-PSS signature does not verify", ErrBadSignature)
		}
	case SigVersionECDSA:
		if blk[36] != curveP256 {
			return sb, fmt.Errorf("%w: ECDSA curve id %d, only P-256 (2) is supported", ErrBadSignature, blk[36])
		}
		sb.KeyDigest = sha256.Sum256(blk[36:101])
		x := new(big.Int).SetBytes(reversed(blk[37:69]))
		y := new(big.Int).SetBytes(reversed(blk[69:101]))
		pt := append([]byte{4}, append(x.FillBytes(make([]byte, 32)), y.FillBytes(make([]byte, 32))...)...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return sb, fmt.Errorf("%w: ECDSA public key is not a P-256 point", ErrBadSignature)
		}
		r := new(big.Int).SetBytes(reversed(blk[101:133]))
		s := new(big.Int).SetBytes(reversed(blk[133:165]))
		if !ecdsa.Verify(pub, digest[:], r, s) {
			return sb, fmt.Errorf("%w: ECDSA P-256 signature does not verify", ErrBadSignature)
		}
	default:
		return sb, fmt.Errorf("%w: version 0x%02x, want 0x02 (RSA) or 0x03 (ECDSA)", ErrBadSignature, sb.Version)
	}
	return sb, nil
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[len(b)-1-i] = x
	}
	return out
}
