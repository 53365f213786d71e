package hsm_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
	"github.com/dacline/dacline/shared/testenv"
)

func TestOpenErrors(t *testing.T) {
	conf, label, pin := hsmtest.NewSoftHSMToken(t)
	cfg := hsm.Config{TokenLabel: label, SoftHSMConf: conf}

	t.Run("missing module", func(t *testing.T) {
		c := cfg
		c.ModulePath = "/nonexistent/libpkcs11.so"
		_, err := hsm.Open(c, []byte(pin))
		if !errors.Is(err, hsm.ErrModuleNotFound) || !strings.Contains(err.Error(), "/nonexistent/libpkcs11.so") {
			t.Fatalf("got %v, want ErrModuleNotFound naming the path", err)
		}
	})
	t.Run("not a module", func(t *testing.T) {
		c := cfg
		c.ModulePath = conf // a text file
		_, err := hsm.Open(c, []byte(pin))
		if !errors.Is(err, hsm.ErrModuleLoad) {
			t.Fatalf("got %v, want ErrModuleLoad", err)
		}
	})
	t.Run("wrong label", func(t *testing.T) {
		c := cfg
		c.TokenLabel = "no-such-token"
		_, err := hsm.Open(c, []byte(pin))
		if !errors.Is(err, hsm.ErrTokenNotFound) || !strings.Contains(err.Error(), `"`+label+`"`) {
			t.Fatalf("got %v, want ErrTokenNotFound listing the tokens present", err)
		}
	})
	t.Run("wrong PIN", func(t *testing.T) {
		_, err := hsm.Open(cfg, []byte("wrong-pin"))
		if !errors.Is(err, hsm.ErrPINIncorrect) {
			t.Fatalf("got %v, want ErrPINIncorrect", err)
		}
		if strings.Contains(err.Error(), "wrong-pin") {
			t.Fatalf("error reveals the PIN: %v", err)
		}
	})
	t.Run("right PIN after a wrong one", func(t *testing.T) {
		tok, err := hsm.Open(cfg, []byte(pin))
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Info().Label; got != label {
			t.Errorf("label %q, want %q", got, label)
		}
		tok.Close()
	})
}

func TestP256KeyAndSigner(t *testing.T) {
	tok, _ := hsmtest.Open(t)
	k, err := tok.GenerateP256("pai")
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.Attributes()
	if err != nil {
		t.Fatal(err)
	}
	want := hsm.KeyAttributes{Token: true, Private: true, Sensitive: true, AlwaysSensitive: true, NeverExtractable: true, Local: true, Sign: true,
		Modifiable: hsm.ReportedFalse, Copyable: hsm.ReportedFalse}
	if a != want {
		t.Errorf("attributes %+v, want %+v", a, want)
	}
	if _, err := tok.GenerateP256("pai"); !errors.Is(err, hsm.ErrLabelExists) {
		t.Errorf("second key with the same label: got %v, want ErrLabelExists", err)
	}
	if _, err := tok.GenerateEd25519("pai"); !errors.Is(err, hsm.ErrLabelExists) {
		t.Errorf("Ed25519 key with a P-256 key's label: got %v, want ErrLabelExists", err)
	}

	pub := k.Public().(*ecdsa.PublicKey)
	digest := sha256.Sum256([]byte("tbs"))
	sig, err := k.Signer().Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("signature does not verify")
	}
	if _, err := k.Signer().Sign(nil, digest[:], crypto.SHA384); err == nil {
		t.Error("signing with SHA-384 opts accepted")
	}
	if _, err := k.Signer().Sign(nil, digest[:31], crypto.SHA256); err == nil {
		t.Error("31-byte digest accepted")
	}

	found, err := tok.FindKey("pai")
	if err != nil {
		t.Fatal(err)
	}
	if !found.Public().(*ecdsa.PublicKey).Equal(pub) || !bytes.Equal(found.ID(), k.ID()) || found.Type() != hsm.KeyP256 {
		t.Error("FindKey returned another key")
	}
	if _, err := tok.FindKey("nope"); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Errorf("FindKey(nope): %v, want ErrKeyNotFound", err)
	}
}

func TestEd25519KeyAndSigner(t *testing.T) {
	tok, _ := hsmtest.Open(t)
	k, err := tok.GenerateEd25519("appliance-signing")
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := k.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("public key %T %d bytes", k.Public(), len(pub))
	}
	msg := []byte("a bundle manifest")
	sig, err := k.Signer().Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("signature does not verify")
	}
	if _, err := k.Signer().Sign(nil, msg, crypto.SHA512); err == nil {
		t.Error("Ed25519ph opts accepted")
	}
	found, err := tok.FindKey("appliance-signing")
	if err != nil {
		t.Fatal(err)
	}
	if found.Type() != hsm.KeyEd25519 || !found.Public().(ed25519.PublicKey).Equal(pub) {
		t.Error("FindKey returned another key")
	}
}

func TestAESSealOpen(t *testing.T) {
	tok, _ := hsmtest.Open(t)
	k, err := tok.GenerateAESKey("wrap")
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("context")
	nonce, ct, err := k.Seal([]byte("AGE-SECRET-KEY-1..."), aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("AGE-SECRET")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	k2, err := tok.FindAESKey("wrap")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := k2.Open(nonce, ct, aad)
	if err != nil || string(pt) != "AGE-SECRET-KEY-1..." {
		t.Fatalf("open: %q %v", pt, err)
	}
	bad := bytes.Clone(ct)
	bad[0] ^= 1
	if _, err := k2.Open(nonce, bad, aad); err == nil {
		t.Error("tampered ciphertext opened")
	}
	if _, err := k2.Open(nonce, ct, []byte("other")); err == nil {
		t.Error("ciphertext opened with other associated data")
	}
	if _, err := tok.GenerateAESKey("wrap"); !errors.Is(err, hsm.ErrLabelExists) {
		t.Errorf("got %v, want ErrLabelExists", err)
	}
}

func TestRandom(t *testing.T) {
	tok, _ := hsmtest.Open(t)
	a, err := tok.Random(32)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tok.Random(32)
	if len(a) != 32 || bytes.Equal(a, b) {
		t.Fatalf("random: %x %x", a, b)
	}
	if _, err := tok.Random(0); err == nil {
		t.Error("Random(0) accepted")
	}
}

// TestConcurrentSigning signs from many goroutines at once through the pool
// (run with -race).
func TestConcurrentSigning(t *testing.T) {
	tok, _ := hsmtest.Open(t)
	k, err := tok.GenerateP256("pai")
	if err != nil {
		t.Fatal(err)
	}
	s := k.Signer()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				d := sha256.Sum256([]byte{byte(g), byte(i)})
				sig, err := s.Sign(nil, d[:], crypto.SHA256)
				if err != nil {
					errs <- err
					return
				}
				if !ecdsa.VerifyASN1(k.Public().(*ecdsa.PublicKey), d[:], sig) {
					errs <- errors.New("bad signature")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPKCS11ToolSeesProtectedKey is the "done when": pkcs11-tool, an
// independent PKCS#11 client, lists the generated key as sensitive, always
// sensitive, never extractable and local. The throwaway test PIN goes on
// pkcs11-tool's command line: acceptable for a test token only.
func TestPKCS11ToolSeesProtectedKey(t *testing.T) {
	testenv.RequireTool(t, "pkcs11-tool")
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		t.Fatal(err)
	}
	tok, cfg := hsmtest.Open(t)
	if _, err := tok.GenerateP256("dacline-pai"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--module", hsm.DefaultModule, "--token-label", cfg.TokenLabel,
		"--login", "--pin", hsmtest.PIN, "--list-objects", "--type", "privkey")
	cmd.Env = append(cmd.Environ(), "SOFTHSM2_CONF="+cfg.SoftHSMConf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "label:      dacline-pai") {
		t.Fatalf("pkcs11-tool does not list the key:\n%s", s)
	}
	if !regexp.MustCompile(`(?m)^\s*Access:\s+sensitive, always sensitive, never extractable, local$`).MatchString(s) {
		t.Errorf("pkcs11-tool does not show the key as sensitive, always sensitive, never extractable, local:\n%s", s)
	}
	if !regexp.MustCompile(`(?m)^\s*Usage:\s+sign$`).MatchString(s) {
		t.Errorf("private key usage is not sign only:\n%s", s)
	}
}
