package hsm

import (
	"crypto"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/dacline/dacline/shared/testenv"
)

// TestReopenOnRealToken closes every session of the process behind the pool's
// back (C_CloseAllSessions, which also ends the login, as a token reset does) on
// a real SoftHSM2 token: the next signature discards the dead session, opens and
// logs in a new one, and succeeds.
func TestReopenOnRealToken(t *testing.T) {
	testenv.RequireTool(t, "softhsm2-util")
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	os.Mkdir(filepath.Join(dir, "tokens"), 0o700)
	os.WriteFile(conf, []byte(SoftHSMConfig(filepath.Join(dir, "tokens"))), 0o600)
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "reopen", "--so-pin", "0000-so", "--pin", "1111-user")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	tok, err := Open(Config{TokenLabel: "reopen", SoftHSMConf: conf}, []byte("1111-user"))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	k, err := tok.GenerateP256("k")
	if err != nil {
		t.Fatal(err)
	}
	aes, err := tok.GenerateAESKey("wrap")
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("x"))
	if _, err := k.Signer().Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := tok.ctx.(*pkcs11.Ctx).CloseAllSessions(tok.slot); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * DefaultSessions {
		if _, err := k.Signer().Sign(nil, d[:], crypto.SHA256); err != nil {
			t.Fatalf("signature %d after all sessions were closed: %v", i, err)
		}
	}
	if err := tok.ctx.(*pkcs11.Ctx).CloseAllSessions(tok.slot); err != nil {
		t.Fatal(err)
	}
	nonce, ct, err := aes.Seal([]byte("secret"), nil)
	if err != nil {
		t.Fatalf("seal after all sessions were closed: %v", err)
	}
	if pt, err := aes.Open(nonce, ct, nil); err != nil || string(pt) != "secret" {
		t.Fatalf("open: %q %v", pt, err)
	}
}
