package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Signer returns a crypto.Signer backed by the token, safe for concurrent use.
//
// For P-256 keys Sign takes a SHA-256 digest (opts.HashFunc() == crypto.SHA256,
// the only hash Matter certificates use) and returns an ASN.1 DER ECDSA signature.
// For Ed25519 keys Sign takes the whole message (opts.HashFunc() == 0) and returns
// the 64-byte signature. Either way the signature is verified with the public key
// before it is returned. The rand argument is ignored: the token draws its own.
func (k *Key) Signer() crypto.Signer { return &tokenSigner{k: k} }

// X509Signer returns a crypto.Signer for the key to hand to crypto/x509's
// CreateCertificate, CreateCertificateRequest and CreateRevocationList only.
// It is Signer without its own verification of P-256 signatures, because
// those functions verify the signature they got with the signer's Public()
// key before returning it (crypto/x509 signTBS; "x509: signature returned by
// signer is invalid"), so verifying here too would check every certificate
// signature twice — the second most expensive step of issuing a DAC. The
// raw r‖s is still checked to be 64 bytes with non-zero halves. Ed25519 keys
// get the verifying Signer. Hand anything else the Signer.
func (k *Key) X509Signer() crypto.Signer {
	if k.typ != KeyP256 {
		return k.Signer()
	}
	return &tokenSigner{k: k, callerVerifies: true}
}

type tokenSigner struct {
	k *Key
	// callerVerifies: crypto/x509 verifies the ECDSA signature (X509Signer).
	callerVerifies bool
}

func (s *tokenSigner) Public() crypto.PublicKey { return s.k.public }

func (s *tokenSigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	k := s.k
	switch k.typ {
	case KeyP256:
		if opts == nil || opts.HashFunc() != crypto.SHA256 {
			return nil, fmt.Errorf("key %q: P-256 signing needs a SHA-256 digest (got hash %v)", k.label, hashOf(opts))
		}
		if len(msg) != 32 {
			return nil, fmt.Errorf("key %q: SHA-256 digest must be 32 bytes, got %d", k.label, len(msg))
		}
		raw, err := k.sign(pkcs11.CKM_ECDSA, msg)
		if err != nil {
			return nil, err
		}
		der, err := ecdsaRawToDER(raw)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.label, err)
		}
		if !s.callerVerifies && !ecdsa.VerifyASN1(k.public.(*ecdsa.PublicKey), msg, der) {
			return nil, fmt.Errorf("key %q: %w: ECDSA signature does not verify", k.label, ErrBadSignature)
		}
		return der, nil
	case KeyEd25519:
		if opts != nil && opts.HashFunc() != 0 {
			return nil, fmt.Errorf("key %q: Ed25519 signs the message itself, not a %v digest (Ed25519ph is not supported)", k.label, opts.HashFunc())
		}
		sig, err := k.sign(ckmEdDSA, msg)
		if err != nil {
			return nil, err
		}
		if len(sig) != ed25519.SignatureSize {
			return nil, fmt.Errorf("key %q: %w: Ed25519 signature has %d bytes, want %d", k.label, ErrBadSignature, len(sig), ed25519.SignatureSize)
		}
		if !ed25519.Verify(k.public.(ed25519.PublicKey), msg, sig) {
			return nil, fmt.Errorf("key %q: %w: Ed25519 signature does not verify", k.label, ErrBadSignature)
		}
		return sig, nil
	}
	return nil, fmt.Errorf("key %q: unsupported key type %v", k.label, k.typ)
}

// sign runs C_SignInit + C_Sign on a pooled session.
func (k *Key) sign(mech uint, data []byte) ([]byte, error) {
	var sig []byte
	op := func(sh pkcs11.SessionHandle) error {
		if err := k.tok.ctx.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, k.privHandle()); err != nil {
			return err
		}
		var err error
		sig, err = k.tok.ctx.Sign(sh, data)
		return err
	}
	err := k.tok.do(op)
	if err != nil && handleStale(err) {
		if rerr := k.refind(); rerr != nil {
			return nil, fmt.Errorf("key %q on token %q: sign: %w (finding the key again: %v)", k.label, k.tok.label, err, rerr)
		}
		err = k.tok.do(op)
	}
	if err != nil {
		return nil, fmt.Errorf("key %q on token %q: sign: %w", k.label, k.tok.label, err)
	}
	return sig, nil
}

// ecdsaRawToDER converts the PKCS#11 ECDSA signature r‖s, which for P-256 must be
// exactly 2×32 bytes, into the ASN.1 SEQUENCE { r INTEGER, s INTEGER } of X.509.
func ecdsaRawToDER(raw []byte) ([]byte, error) {
	if len(raw) != 64 {
		return nil, fmt.Errorf("%w: raw ECDSA signature has %d bytes, want 64 (r‖s)", ErrBadSignature, len(raw))
	}
	r := new(big.Int).SetBytes(raw[:32])
	s := new(big.Int).SetBytes(raw[32:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, fmt.Errorf("%w: raw ECDSA signature has a zero component", ErrBadSignature)
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}

func hashOf(opts crypto.SignerOpts) any {
	if opts == nil {
		return "none"
	}
	return opts.HashFunc()
}
