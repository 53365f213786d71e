package hsm

import (
	"errors"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"
)

// SecretKey is an AES-256 key inside the token, used with CKM_AES_GCM to keep
// small secrets (the appliance's age identity) encrypted on disk. It can encrypt
// and decrypt only: it cannot wrap, unwrap, sign or derive, and it never leaves
// the token.
type SecretKey struct {
	tok   *Token
	label string

	mu  sync.Mutex
	obj pkcs11.ObjectHandle // refreshed when the token invalidates it
}

func (k *SecretKey) handle() pkcs11.ObjectHandle {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.obj
}

// withHandle runs op with the key's handle; if the token says the handle went
// stale (see Key.refind) the key is looked up again by label and op retried once.
func (k *SecretKey) withHandle(op func(pkcs11.ObjectHandle) error) error {
	err := op(k.handle())
	if err == nil || !handleStale(err) {
		return err
	}
	hs, ferr := k.tok.findObjects([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.label),
	})
	if ferr != nil || len(hs) != 1 {
		return err
	}
	k.mu.Lock()
	k.obj = hs[0]
	k.mu.Unlock()
	return op(hs[0])
}

// GCMNonceSize is the nonce length Seal uses (96 bits, NIST SP 800-38D).
const GCMNonceSize = 12

const gcmTagBits = 128

// Label is the key's CKA_LABEL.
func (k *SecretKey) Label() string { return k.label }

// GenerateAESKey generates a 256-bit AES key inside the token.
func (t *Token) GenerateAESKey(label string) (*SecretKey, error) { return t.generateAES(label, nil) }

// GenerateAESKeyWithID is GenerateAESKey with the CKA_ID chosen by the caller
// (see GenerateKeyPairWithID).
func (t *Token) GenerateAESKeyWithID(label string, id []byte) (*SecretKey, error) {
	if len(id) != KeyIDSize {
		return nil, fmt.Errorf("generate AES key %q: key id of %d bytes, want %d", label, len(id), KeyIDSize)
	}
	return t.generateAES(label, id)
}

func (t *Token) generateAES(label string, id []byte) (*SecretKey, error) {
	if label == "" {
		return nil, errors.New("generate AES key: empty label")
	}
	exists, err := t.labelExists(label)
	if err != nil {
		return nil, fmt.Errorf("generate AES key %q: %w", label, err)
	}
	if exists {
		return nil, fmt.Errorf("generate AES key %q on token %q: %w", label, t.label, ErrLabelExists)
	}
	if id == nil {
		if id, err = t.Random(KeyIDSize); err != nil {
			return nil, fmt.Errorf("generate AES key %q: key id: %w", label, err)
		}
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	var obj pkcs11.ObjectHandle
	err = t.withLockedTemplate(func(lock []*pkcs11.Attribute) error {
		return t.doOnce(func(sh pkcs11.SessionHandle) error {
			var err error
			obj, err = t.ctx.GenerateKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, append(tmpl, lock...))
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("generate AES key %q on token %q: %w", label, t.label, err)
	}
	k := &SecretKey{tok: t, label: label, obj: obj}
	if err := k.check(); err != nil {
		if derr := k.Destroy(); derr != nil {
			err = fmt.Errorf("%w (and destroying it failed: %v)", err, derr)
		}
		return nil, fmt.Errorf("generate AES key %q: %w", label, err)
	}
	return k, nil
}

// FindAESKey returns the AES key labelled label, refusing one that is not held
// as always sensitive, never extractable and locally generated.
func (t *Token) FindAESKey(label string) (*SecretKey, error) {
	hs, err := t.findObjects([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	})
	if err != nil {
		return nil, fmt.Errorf("AES key %q: %w", label, err)
	}
	switch len(hs) {
	case 0:
		return nil, fmt.Errorf("AES key %q on token %q: %w", label, t.label, ErrKeyNotFound)
	case 1:
	default:
		return nil, fmt.Errorf("AES key %q on token %q: %d keys carry this label", label, t.label, len(hs))
	}
	k := &SecretKey{tok: t, label: label, obj: hs[0]}
	if err := k.check(); err != nil {
		return nil, fmt.Errorf("AES key %q: %w", label, err)
	}
	return k, nil
}

func (k *SecretKey) check() error {
	a, err := k.Attributes()
	if err != nil {
		return err
	}
	if err := a.protected(); err != nil {
		return err
	}
	if a.Sign || a.Unwrap || a.Derive {
		return fmt.Errorf("%w: AES key may sign=%v unwrap=%v derive=%v", ErrKeyNotProtected, a.Sign, a.Unwrap, a.Derive)
	}
	return nil
}

// Attributes reads the key's protection attributes back from the token.
func (k *SecretKey) Attributes() (KeyAttributes, error) {
	var a KeyAttributes
	err := k.withHandle(func(o pkcs11.ObjectHandle) error {
		var err error
		a, err = k.tok.readProtection(o)
		return err
	})
	return a, err
}

// Seal encrypts plaintext with AES-256-GCM inside the token under a fresh nonce
// from the token's RNG, authenticating aad as well. It returns the nonce and the
// ciphertext with its 16-byte tag.
func (k *SecretKey) Seal(plaintext, aad []byte) (nonce, ciphertext []byte, err error) {
	nonce, err = k.tok.Random(GCMNonceSize)
	if err != nil {
		return nil, nil, fmt.Errorf("AES key %q: nonce: %w", k.label, err)
	}
	err = k.withHandle(func(o pkcs11.ObjectHandle) error {
		return k.tok.do(func(sh pkcs11.SessionHandle) error {
			params := pkcs11.NewGCMParams(nonce, aad, gcmTagBits)
			defer params.Free()
			if err := k.tok.ctx.EncryptInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, o); err != nil {
				return err
			}
			var err error
			ciphertext, err = k.tok.ctx.Encrypt(sh, plaintext)
			return err
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("AES key %q: encrypt: %w", k.label, err)
	}
	if len(ciphertext) != len(plaintext)+gcmTagBits/8 {
		return nil, nil, fmt.Errorf("AES key %q: encrypt returned %d bytes for %d bytes of plaintext", k.label, len(ciphertext), len(plaintext))
	}
	return nonce, ciphertext, nil
}

// Open decrypts and authenticates what Seal produced.
func (k *SecretKey) Open(nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != GCMNonceSize {
		return nil, fmt.Errorf("AES key %q: nonce has %d bytes, want %d", k.label, len(nonce), GCMNonceSize)
	}
	if len(ciphertext) < gcmTagBits/8 {
		return nil, fmt.Errorf("AES key %q: ciphertext too short (%d bytes)", k.label, len(ciphertext))
	}
	var plain []byte
	err := k.withHandle(func(o pkcs11.ObjectHandle) error {
		return k.tok.do(func(sh pkcs11.SessionHandle) error {
			params := pkcs11.NewGCMParams(nonce, aad, gcmTagBits)
			defer params.Free()
			if err := k.tok.ctx.DecryptInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_GCM, params)}, o); err != nil {
				return err
			}
			var err error
			plain, err = k.tok.ctx.Decrypt(sh, ciphertext)
			return err
		})
	})
	if err != nil {
		if isRV(err, pkcs11.CKR_ENCRYPTED_DATA_INVALID, pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE) {
			return nil, fmt.Errorf("AES key %q: decrypt: ciphertext is not authentic (tampered, or sealed under another key): %w", k.label, err)
		}
		return nil, fmt.Errorf("AES key %q: decrypt: %w", k.label, err)
	}
	return plain, nil
}

// Destroy removes the key from the token (cleanup after a failed setup only).
func (k *SecretKey) Destroy() error {
	err := k.tok.doOnce(func(sh pkcs11.SessionHandle) error { return k.tok.ctx.DestroyObject(sh, k.handle()) })
	if err != nil {
		return fmt.Errorf("destroy AES key %q: %w", k.label, err)
	}
	return nil
}
