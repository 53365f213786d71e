package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
)

// fakeCtx is a PKCtx that behaves like a token holding one P-256 key pair
// (objects 1 = private, 2 = public), with hooks to inject failures.
type fakeCtx struct {
	PKCtx // unused methods panic

	mu        sync.Mutex
	key       *ecdsa.PrivateKey
	nextSess  pkcs11.SessionHandle
	open      map[pkcs11.SessionHandle]bool
	logins    int
	destroyed []pkcs11.ObjectHandle
	attrs     map[uint][]byte // private key attribute overrides

	login func(pin string) error
	sign  func(sh pkcs11.SessionHandle, digest []byte) ([]byte, error)
}

func newFake(t *testing.T) *fakeCtx {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &fakeCtx{key: k, open: map[pkcs11.SessionHandle]bool{}, attrs: map[uint][]byte{}}
}

func (f *fakeCtx) Initialize(...pkcs11.InitializeOption) error { return nil }
func (f *fakeCtx) Finalize() error                             { return nil }
func (f *fakeCtx) Destroy()                                    {}
func (f *fakeCtx) GetSlotList(bool) ([]uint, error)            { return []uint{7}, nil }
func (f *fakeCtx) GetTokenInfo(uint) (pkcs11.TokenInfo, error) {
	return pkcs11.TokenInfo{Label: "fake" + strings.Repeat(" ", 28), Flags: pkcs11.CKF_TOKEN_INITIALIZED}, nil
}
func (f *fakeCtx) OpenSession(uint, uint) (pkcs11.SessionHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextSess++
	f.open[f.nextSess] = true
	return f.nextSess, nil
}
func (f *fakeCtx) CloseSession(sh pkcs11.SessionHandle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.open, sh)
	return nil
}
func (f *fakeCtx) Login(_ pkcs11.SessionHandle, _ uint, pin string) error {
	f.mu.Lock()
	f.logins++
	n := f.logins
	f.mu.Unlock()
	if f.login != nil {
		return f.login(pin)
	}
	if n > 1 {
		return pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)
	}
	return nil
}
func (f *fakeCtx) FindObjectsInit(pkcs11.SessionHandle, []*pkcs11.Attribute) error { return nil }
func (f *fakeCtx) FindObjectsFinal(pkcs11.SessionHandle) error                     { return nil }
func (f *fakeCtx) FindObjects(pkcs11.SessionHandle, int) ([]pkcs11.ObjectHandle, bool, error) {
	return nil, false, nil
}
func (f *fakeCtx) GenerateRandom(_ pkcs11.SessionHandle, n int) ([]byte, error) {
	b := make([]byte, n)
	rand.Read(b)
	return b, nil
}
func (f *fakeCtx) GenerateKeyPair(pkcs11.SessionHandle, []*pkcs11.Mechanism, []*pkcs11.Attribute, []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	return 2, 1, nil
}
func (f *fakeCtx) DestroyObject(_ pkcs11.SessionHandle, o pkcs11.ObjectHandle) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.destroyed = append(f.destroyed, o)
	return nil
}
func (f *fakeCtx) GetAttributeValue(_ pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	out := make([]*pkcs11.Attribute, 0, len(a))
	for _, at := range a {
		var v []byte
		switch {
		case o == 2 && at.Type == pkcs11.CKA_EC_PARAMS:
			v = ecParamsP256
		case o == 2 && at.Type == pkcs11.CKA_EC_POINT:
			raw, _ := f.key.PublicKey.Bytes()
			v = append([]byte{0x04, byte(len(raw))}, raw...)
		case o == 1:
			if ov, ok := f.attrs[at.Type]; ok {
				v = ov
				break
			}
			switch at.Type {
			case pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_DECRYPT, pkcs11.CKA_UNWRAP, pkcs11.CKA_DERIVE:
				v = []byte{0}
			default:
				v = []byte{1}
			}
		}
		out = append(out, pkcs11.NewAttribute(at.Type, v))
	}
	return out, nil
}
func (f *fakeCtx) SignInit(pkcs11.SessionHandle, []*pkcs11.Mechanism, pkcs11.ObjectHandle) error {
	return nil
}
func (f *fakeCtx) Sign(sh pkcs11.SessionHandle, digest []byte) ([]byte, error) {
	f.mu.Lock()
	ok := f.open[sh]
	f.mu.Unlock()
	if !ok {
		return nil, pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID)
	}
	if f.sign != nil {
		return f.sign(sh, digest)
	}
	return f.rawSign(digest), nil
}
func (f *fakeCtx) rawSign(digest []byte) []byte {
	r, s, _ := ecdsa.Sign(rand.Reader, f.key, digest)
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

var fakeModules int

// openFake opens a Token on f through the module registry.
func openFake(t *testing.T, f *fakeCtx, pin string) (*Token, error) {
	t.Helper()
	old := loadModule
	loadModule = func(string) (PKCtx, error) { return f, nil }
	t.Cleanup(func() { loadModule = old })
	fakeModules++
	tok, err := Open(Config{ModulePath: fmt.Sprintf("/fake/%s/%d", t.Name(), fakeModules), TokenLabel: "fake", Sessions: 2}, []byte(pin))
	if err == nil {
		t.Cleanup(func() { tok.Close() })
	}
	return tok, err
}

func TestLoginErrorMapping(t *testing.T) {
	tests := []struct {
		rv   uint
		want error
	}{
		{pkcs11.CKR_PIN_INCORRECT, ErrPINIncorrect},
		{pkcs11.CKR_PIN_LEN_RANGE, ErrPINIncorrect},
		{pkcs11.CKR_PIN_LOCKED, ErrPINLocked},
		{pkcs11.CKR_DEVICE_REMOVED, ErrTokenRemoved},
	}
	for _, tt := range tests {
		f := newFake(t)
		calls := 0
		f.login = func(pin string) error { calls++; return pkcs11.Error(tt.rv) }
		_, err := openFake(t, f, "secret-pin")
		if !errors.Is(err, tt.want) {
			t.Errorf("login %s: got %v, want %v", pkcs11.Error(tt.rv), err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-pin") {
			t.Errorf("error reveals the PIN: %v", err)
		}
		if calls != 1 {
			t.Errorf("login %s: tried %d times, want exactly 1 (a token can lock)", pkcs11.Error(tt.rv), calls)
		}
	}
}

func TestAlreadyLoggedInIsSuccess(t *testing.T) {
	f := newFake(t)
	f.login = func(string) error { return pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN) }
	if _, err := openFake(t, f, "1234"); err != nil {
		t.Fatal(err)
	}
}

func fakeKey(t *testing.T, tok *Token) *Key {
	t.Helper()
	k, err := tok.GenerateP256("k")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignRejectsBadRawSignatures(t *testing.T) {
	f := newFake(t)
	tok, err := openFake(t, f, "1234")
	if err != nil {
		t.Fatal(err)
	}
	k := fakeKey(t, tok)
	d := sha256.Sum256([]byte("x"))
	for name, sig := range map[string]func([]byte) []byte{
		"63 bytes":      func(d []byte) []byte { return f.rawSign(d)[:63] },
		"65 bytes":      func(d []byte) []byte { return append(f.rawSign(d), 0) },
		"DER not raw":   func(d []byte) []byte { s, _ := ecdsa.SignASN1(rand.Reader, f.key, d); return s },
		"zero r":        func(d []byte) []byte { s := f.rawSign(d); clear(s[:32]); return s },
		"other message": func([]byte) []byte { o := sha256.Sum256([]byte("y")); return f.rawSign(o[:]) },
		"flipped bit":   func(d []byte) []byte { s := f.rawSign(d); s[40] ^= 1; return s },
	} {
		f.sign = func(_ pkcs11.SessionHandle, d []byte) ([]byte, error) { return sig(d), nil }
		_, err := k.Signer().Sign(nil, d[:], crypto.SHA256)
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
	f.sign = nil
	if _, err := k.Signer().Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Errorf("good signature refused: %v", err)
	}
}

func TestSessionInvalidIsReopenedOnce(t *testing.T) {
	f := newFake(t)
	tok, err := openFake(t, f, "1234")
	if err != nil {
		t.Fatal(err)
	}
	k := fakeKey(t, tok)
	d := sha256.Sum256([]byte("x"))

	// The token forgets every session (as after a token reset): the signer
	// discards its session, opens a new one and succeeds.
	f.mu.Lock()
	clear(f.open)
	f.mu.Unlock()
	if _, err := k.Signer().Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatalf("sign after sessions vanished: %v", err)
	}

	// A token that keeps failing is retried exactly once, then reported removed.
	calls := 0
	f.sign = func(pkcs11.SessionHandle, []byte) ([]byte, error) {
		calls++
		return nil, pkcs11.Error(pkcs11.CKR_DEVICE_REMOVED)
	}
	_, err = k.Signer().Sign(nil, d[:], crypto.SHA256)
	if !errors.Is(err, ErrTokenRemoved) || calls != 2 {
		t.Errorf("got %v after %d calls, want ErrTokenRemoved after 2", err, calls)
	}
	// Other errors are not retried.
	calls = 0
	f.sign = func(pkcs11.SessionHandle, []byte) ([]byte, error) {
		calls++
		return nil, pkcs11.Error(pkcs11.CKR_FUNCTION_FAILED)
	}
	if _, err := k.Signer().Sign(nil, d[:], crypto.SHA256); err == nil || calls != 1 {
		t.Errorf("got %v after %d calls, want an error after 1", err, calls)
	}
	// The pool is intact: all sessions come back.
	f.sign = nil
	if _, err := k.Signer().Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestUnprotectedKeyIsDestroyed(t *testing.T) {
	for _, attr := range []uint{pkcs11.CKA_ALWAYS_SENSITIVE, pkcs11.CKA_NEVER_EXTRACTABLE, pkcs11.CKA_LOCAL, pkcs11.CKA_SENSITIVE} {
		f := newFake(t)
		f.attrs[attr] = []byte{0}
		tok, err := openFake(t, f, "1234")
		if err != nil {
			t.Fatal(err)
		}
		_, err = tok.GenerateP256("k")
		if !errors.Is(err, ErrKeyNotProtected) {
			t.Errorf("attr 0x%x false: got %v, want ErrKeyNotProtected", attr, err)
		}
		if len(f.destroyed) != 2 {
			t.Errorf("attr 0x%x false: destroyed %v, want both halves", attr, f.destroyed)
		}
	}
	f := newFake(t)
	f.attrs[pkcs11.CKA_DECRYPT] = []byte{1}
	tok, _ := openFake(t, f, "1234")
	if _, err := tok.GenerateP256("k"); !errors.Is(err, ErrKeyNotProtected) {
		t.Errorf("decrypt-capable key: got %v, want ErrKeyNotProtected", err)
	}
}

func TestClosedTokenRefuses(t *testing.T) {
	f := newFake(t)
	tok, err := openFake(t, f, "1234")
	if err != nil {
		t.Fatal(err)
	}
	tok.Close()
	if _, err := tok.Random(8); !errors.Is(err, ErrClosed) {
		t.Errorf("got %v, want ErrClosed", err)
	}
	if len(f.open) != 0 {
		t.Errorf("sessions left open: %v", f.open)
	}
}

func TestUnwrapECPoint(t *testing.T) {
	raw := make([]byte, 65)
	raw[0] = 4
	for _, tt := range []struct {
		in []byte
		ok bool
	}{
		{raw, true},
		{append([]byte{0x04, 65}, raw...), true},
		{append([]byte{0x04, 64}, raw...), false},
		{raw[:64], false},
		{nil, false},
	} {
		_, err := unwrapECPoint(tt.in, 65)
		if (err == nil) != tt.ok {
			t.Errorf("len %d: err %v", len(tt.in), err)
		}
	}
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add(ecParamsP256, []byte{0x04, 0x41, 0x04})
	f.Add(ecParamsEd25519, make([]byte, 34))
	f.Fuzz(func(t *testing.T, params, point []byte) {
		for _, typ := range []KeyType{KeyP256, KeyEd25519} {
			parsePublicKey(typ, params, point)
		}
	})
}

// TestX509SignerBadSignatureIsCaught: X509Signer leaves the ECDSA
// verification to crypto/x509, so a token signature that does not verify
// must still make x509.CreateCertificate (and CreateCertificateRequest) fail;
// malformed raw signatures are refused by the signer itself.
func TestX509SignerBadSignatureIsCaught(t *testing.T) {
	f := newFake(t)
	tok, err := openFake(t, f, "1234")
	if err != nil {
		t.Fatal(err)
	}
	k := fakeKey(t, tok)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0), BasicConstraintsValid: true, IsCA: true}
	create := func() error {
		_, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k.X509Signer())
		return err
	}
	createCSR := func() error {
		_, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, k.X509Signer())
		return err
	}
	if err := create(); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	if err := createCSR(); err != nil {
		t.Fatalf("good csr signature refused: %v", err)
	}
	for name, sig := range map[string]func([]byte) []byte{
		"other message": func([]byte) []byte { o := sha256.Sum256([]byte("y")); return f.rawSign(o[:]) },
		"flipped bit":   func(d []byte) []byte { s := f.rawSign(d); s[40] ^= 1; return s },
	} {
		f.sign = func(_ pkcs11.SessionHandle, d []byte) ([]byte, error) { return sig(d), nil }
		if err := create(); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("%s: CreateCertificate accepted a bad token signature (err %v)", name, err)
		}
		if err := createCSR(); err == nil {
			t.Errorf("%s: CreateCertificateRequest accepted a bad token signature", name)
		}
	}
	for name, sig := range map[string]func([]byte) []byte{
		"63 bytes": func(d []byte) []byte { return f.rawSign(d)[:63] },
		"zero s":   func(d []byte) []byte { s := f.rawSign(d); clear(s[32:]); return s },
	} {
		f.sign = func(_ pkcs11.SessionHandle, d []byte) ([]byte, error) { return sig(d), nil }
		if err := create(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
}
