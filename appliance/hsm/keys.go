package hsm

import (
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/miekg/pkcs11"
)

// Key is a key pair whose private half lives in the token.
type Key struct {
	tok    *Token
	label  string
	id     []byte
	typ    KeyType
	pub    pkcs11.ObjectHandle
	public crypto.PublicKey

	mu   sync.Mutex
	priv pkcs11.ObjectHandle // refreshed when the token invalidates it
}

// privHandle returns the current handle of the private key.
func (k *Key) privHandle() pkcs11.ObjectHandle {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.priv
}

// refind looks the private key up again by label and ID. Tokens may renumber
// private objects after a logout or reset (SoftHSM2 does), so a handle that was
// valid can become CKR_OBJECT_HANDLE_INVALID while the key itself is unchanged.
func (k *Key) refind() error {
	hs, err := k.tok.findObjects([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, k.id),
	})
	if err != nil {
		return err
	}
	if len(hs) != 1 {
		return fmt.Errorf("key %q: found %d private keys with its label and id, want 1", k.label, len(hs))
	}
	k.mu.Lock()
	k.priv = hs[0]
	k.mu.Unlock()
	return nil
}

// handleStale reports whether err says an object handle is no longer valid.
func handleStale(err error) bool {
	return isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID)
}

// Label is the key's CKA_LABEL (shared by both halves).
func (k *Key) Label() string { return k.label }

// ID is the key's CKA_ID (shared by both halves).
func (k *Key) ID() []byte { return k.id }

// Type is the key's algorithm.
func (k *Key) Type() KeyType { return k.typ }

// Public is the public key read back from the token: *ecdsa.PublicKey for P-256,
// ed25519.PublicKey for Ed25519.
func (k *Key) Public() crypto.PublicKey { return k.public }

// KeyAttributes are the protection attributes the token reports for a private
// (or secret) key.
type KeyAttributes struct {
	Token            bool `json:"token"`
	Private          bool `json:"private"`
	Sensitive        bool `json:"sensitive"`
	AlwaysSensitive  bool `json:"always_sensitive"`
	Extractable      bool `json:"extractable"`
	NeverExtractable bool `json:"never_extractable"`
	Local            bool `json:"local"`
	Sign             bool `json:"sign"`
	Decrypt          bool `json:"decrypt"`
	Unwrap           bool `json:"unwrap"`
	Derive           bool `json:"derive"`
	// Modifiable and Copyable (PKCS#11 v2.40) are NotReported by a token
	// that predates them; see lockattrs.go.
	Modifiable Reported `json:"modifiable"`
	Copyable   Reported `json:"copyable"`
}

// protected reports why a key is not held as this package requires, or nil.
func (a KeyAttributes) protected() error {
	var missing []string
	check := func(ok bool, what string) {
		if !ok {
			missing = append(missing, what)
		}
	}
	check(a.Token, "CKA_TOKEN")
	check(a.Private, "CKA_PRIVATE")
	check(a.Sensitive, "CKA_SENSITIVE")
	check(a.AlwaysSensitive, "CKA_ALWAYS_SENSITIVE")
	check(!a.Extractable, "not CKA_EXTRACTABLE")
	check(a.NeverExtractable, "CKA_NEVER_EXTRACTABLE")
	check(a.Local, "CKA_LOCAL")
	if len(missing) > 0 {
		return fmt.Errorf("%w: token reports the key without %v", ErrKeyNotProtected, missing)
	}
	return nil
}

var protectionAttrs = []uint{
	pkcs11.CKA_TOKEN, pkcs11.CKA_PRIVATE, pkcs11.CKA_SENSITIVE, pkcs11.CKA_ALWAYS_SENSITIVE,
	pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_NEVER_EXTRACTABLE, pkcs11.CKA_LOCAL,
	pkcs11.CKA_SIGN, pkcs11.CKA_DECRYPT, pkcs11.CKA_UNWRAP, pkcs11.CKA_DERIVE,
}

// readProtection reads the protection attributes of a private or secret key.
func (t *Token) readProtection(o pkcs11.ObjectHandle) (KeyAttributes, error) {
	vals, err := t.attributes(o, protectionAttrs...)
	if err != nil {
		return KeyAttributes{}, err
	}
	b := func(typ uint) bool { v := vals[typ]; return len(v) == 1 && v[0] != 0 }
	mod, err := t.readOptionalBool(o, pkcs11.CKA_MODIFIABLE)
	if err != nil {
		return KeyAttributes{}, err
	}
	cp, err := t.readOptionalBool(o, pkcs11.CKA_COPYABLE)
	if err != nil {
		return KeyAttributes{}, err
	}
	return KeyAttributes{
		Modifiable: mod, Copyable: cp,
		Token: b(pkcs11.CKA_TOKEN), Private: b(pkcs11.CKA_PRIVATE), Sensitive: b(pkcs11.CKA_SENSITIVE),
		AlwaysSensitive: b(pkcs11.CKA_ALWAYS_SENSITIVE), Extractable: b(pkcs11.CKA_EXTRACTABLE),
		NeverExtractable: b(pkcs11.CKA_NEVER_EXTRACTABLE), Local: b(pkcs11.CKA_LOCAL),
		Sign: b(pkcs11.CKA_SIGN), Decrypt: b(pkcs11.CKA_DECRYPT), Unwrap: b(pkcs11.CKA_UNWRAP),
		Derive: b(pkcs11.CKA_DERIVE),
	}, nil
}

// Attributes reads the private key's protection attributes back from the token.
func (k *Key) Attributes() (KeyAttributes, error) {
	a, err := k.tok.readProtection(k.privHandle())
	if err != nil && handleStale(err) && k.refind() == nil {
		a, err = k.tok.readProtection(k.privHandle())
	}
	if err != nil {
		return a, fmt.Errorf("key %q: %w", k.label, err)
	}
	return a, nil
}

// attributes reads attribute values of one object; an attribute the token does
// not have is an error.
func (t *Token) attributes(o pkcs11.ObjectHandle, types ...uint) (map[uint][]byte, error) {
	tmpl := make([]*pkcs11.Attribute, len(types))
	for i, typ := range types {
		tmpl[i] = pkcs11.NewAttribute(typ, nil)
	}
	var got []*pkcs11.Attribute
	err := t.do(func(sh pkcs11.SessionHandle) error {
		var err error
		got, err = t.ctx.GetAttributeValue(sh, o, tmpl)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read attributes: %w", err)
	}
	out := make(map[uint][]byte, len(got))
	for _, a := range got {
		out[a.Type] = a.Value
	}
	return out, nil
}

// findObjects returns the handles of every object matching tmpl.
func (t *Token) findObjects(tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	var all []pkcs11.ObjectHandle
	err := t.do(func(sh pkcs11.SessionHandle) error {
		all = all[:0]
		if err := t.ctx.FindObjectsInit(sh, tmpl); err != nil {
			return err
		}
		defer t.ctx.FindObjectsFinal(sh)
		for {
			hs, _, err := t.ctx.FindObjects(sh, 32)
			if err != nil {
				return err
			}
			if len(hs) == 0 {
				return nil
			}
			all = append(all, hs...)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("find objects: %w", err)
	}
	return all, nil
}

// labelExists reports whether any object on the token carries label.
func (t *Token) labelExists(label string) (bool, error) {
	hs, err := t.findObjects([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
	return len(hs) > 0, err
}

// GenerateP256 generates an ECDSA P-256 key pair inside the token.
func (t *Token) GenerateP256(label string) (*Key, error) { return t.generate(KeyP256, label, nil) }

// GenerateEd25519 generates an Ed25519 key pair inside the token
// (CKM_EC_EDWARDS_KEY_PAIR_GEN).
func (t *Token) GenerateEd25519(label string) (*Key, error) {
	return t.generate(KeyEd25519, label, nil)
}

// GenerateKeyPairWithID is GenerateP256 or GenerateEd25519 with the CKA_ID
// chosen by the caller (KeyIDSize bytes): set-up that may be killed records
// the ID first, so a re-run finds exactly the objects it made (DestroyObjects).
func (t *Token) GenerateKeyPairWithID(typ KeyType, label string, id []byte) (*Key, error) {
	if len(id) != KeyIDSize {
		return nil, fmt.Errorf("generate %s key %q: key id of %d bytes, want %d", typ, label, len(id), KeyIDSize)
	}
	return t.generate(typ, label, id)
}

// KeyIDSize is the length of the CKA_ID of every key made here.
const KeyIDSize = 16

func (t *Token) generate(typ KeyType, label string, id []byte) (*Key, error) {
	if label == "" {
		return nil, errors.New("generate key: empty label")
	}
	exists, err := t.labelExists(label)
	if err != nil {
		return nil, fmt.Errorf("generate %s key %q: %w", typ, label, err)
	}
	if exists {
		return nil, fmt.Errorf("generate %s key %q on token %q: %w", typ, label, t.label, ErrLabelExists)
	}
	if id == nil {
		if id, err = t.Random(KeyIDSize); err != nil {
			return nil, fmt.Errorf("generate %s key %q: key id: %w", typ, label, err)
		}
	}
	mech, keyType := uint(pkcs11.CKM_EC_KEY_PAIR_GEN), uint(pkcs11.CKK_EC)
	if typ == KeyEd25519 {
		mech, keyType = ckmECEdwardsKeyPairGen, ckkECEdwards
	}
	pubTmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, typ.ecParams()),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	privTmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	var pub, priv pkcs11.ObjectHandle
	err = t.withLockedTemplate(func(lock []*pkcs11.Attribute) error {
		return t.doOnce(func(sh pkcs11.SessionHandle) error {
			var err error
			pub, priv, err = t.ctx.GenerateKeyPair(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)},
				append(pubTmpl, lock...), append(privTmpl, lock...))
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("generate %s key %q on token %q: %w", typ, label, t.label, err)
	}
	k := &Key{tok: t, label: label, id: id, typ: typ, priv: priv, pub: pub}
	if err := k.load(); err != nil {
		// A key the token does not hold as required is never used: remove it.
		if derr := k.Destroy(); derr != nil {
			err = fmt.Errorf("%w (and destroying it failed: %v)", err, derr)
		}
		return nil, fmt.Errorf("generate %s key %q: %w", typ, label, err)
	}
	return k, nil
}

// load checks the private key's protection and reads the public key back,
// checking its curve.
func (k *Key) load() error {
	a, err := k.tok.readProtection(k.priv)
	if err != nil {
		return err
	}
	if err := a.protected(); err != nil {
		return err
	}
	if !a.Sign || a.Decrypt || a.Unwrap || a.Derive {
		return fmt.Errorf("%w: private key usage is not sign-only (sign=%v decrypt=%v unwrap=%v derive=%v)",
			ErrKeyNotProtected, a.Sign, a.Decrypt, a.Unwrap, a.Derive)
	}
	vals, err := k.tok.attributes(k.pub, pkcs11.CKA_EC_PARAMS, pkcs11.CKA_EC_POINT)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	pub, err := parsePublicKey(k.typ, vals[pkcs11.CKA_EC_PARAMS], vals[pkcs11.CKA_EC_POINT])
	if err != nil {
		return err
	}
	k.public = pub
	return nil
}

// FindKey returns the key pair labelled label, refusing one the token does not
// hold as always sensitive, never extractable and locally generated.
func (t *Token) FindKey(label string) (*Key, error) {
	privs, err := t.findObjects([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	})
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", label, err)
	}
	switch len(privs) {
	case 0:
		return nil, fmt.Errorf("key %q on token %q: %w", label, t.label, ErrKeyNotFound)
	case 1:
	default:
		return nil, fmt.Errorf("key %q on token %q: %d private keys carry this label", label, t.label, len(privs))
	}
	vals, err := t.attributes(privs[0], pkcs11.CKA_KEY_TYPE, pkcs11.CKA_ID)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", label, err)
	}
	var typ KeyType
	switch kt := attrUint(vals[pkcs11.CKA_KEY_TYPE]); kt {
	case pkcs11.CKK_EC:
		typ = KeyP256
	case ckkECEdwards:
		typ = KeyEd25519
	default:
		return nil, fmt.Errorf("key %q: unsupported key type 0x%x", label, kt)
	}
	id := vals[pkcs11.CKA_ID]
	pubs, err := t.findObjects([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	})
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", label, err)
	}
	if len(pubs) != 1 {
		return nil, fmt.Errorf("key %q on token %q: found %d public keys with its label and id, want 1", label, t.label, len(pubs))
	}
	k := &Key{tok: t, label: label, id: id, typ: typ, priv: privs[0], pub: pubs[0]}
	if err := k.load(); err != nil {
		return nil, fmt.Errorf("key %q: %w", label, err)
	}
	return k, nil
}

// Destroy removes both halves of the key from the token. It is used to clean up
// after a failed setup; keys in service are never destroyed by dacline.
func (k *Key) Destroy() error {
	var errs []error
	for _, o := range []pkcs11.ObjectHandle{k.privHandle(), k.pub} {
		err := k.tok.doOnce(func(sh pkcs11.SessionHandle) error { return k.tok.ctx.DestroyObject(sh, o) })
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destroy key %q: %w", k.label, err)
	}
	return nil
}

// attrUint decodes a CK_ULONG attribute value (native byte order and width);
// a value of another size decodes to a number no key type has.
func attrUint(v []byte) uint {
	switch len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v))
	case 4:
		return uint(binary.NativeEndian.Uint32(v))
	}
	return ^uint(0)
}
