package hsm

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// Config names the token to use.
type Config struct {
	// ModulePath is the PKCS#11 library; DefaultModule when empty.
	ModulePath string
	// TokenLabel selects the token (CKA_LABEL of the token, trailing blanks ignored).
	TokenLabel string
	// SoftHSMConf, for SoftHSM2 only, is exported as SOFTHSM2_CONF before the
	// module is initialised (a token kept inside the appliance home).
	SoftHSMConf string
	// Sessions is the size of the session pool; DefaultSessions when zero.
	Sessions int
}

// DefaultSessions is the session pool size: enough for the signing workers of a
// ceremony; SoftHSM2 does not sign faster with more.
const DefaultSessions = 4

// Token is a logged-in PKCS#11 token. It is safe for concurrent use.
type Token struct {
	mod   *module
	ctx   PKCtx
	slot  uint
	label string
	info  pkcs11.TokenInfo
	pin   []byte
	pool  *pool

	closeOnce sync.Once
}

// TokenInfo describes the token for status displays.
type TokenInfo struct {
	Label         string `json:"label"`
	Manufacturer  string `json:"manufacturer"`
	Model         string `json:"model"`
	SerialNumber  string `json:"serial_number"`
	Slot          uint   `json:"slot"`
	Module        string `json:"module"`
	FirmwareVer   string `json:"firmware_version"`
	LoginRequired bool   `json:"login_required"`
	RNG           bool   `json:"rng"`
}

// Open loads the module (once per process), finds the token by label and logs in
// with pin. A refused PIN is returned as ErrPINIncorrect and never retried.
func Open(cfg Config, pin []byte) (*Token, error) {
	if cfg.TokenLabel == "" {
		return nil, errors.New("open token: no token label configured")
	}
	mod, err := acquireModule(cfg.ModulePath, cfg.SoftHSMConf)
	if err != nil {
		return nil, err
	}
	t, err := openOn(mod, cfg, pin)
	if err != nil {
		mod.release()
		return nil, err
	}
	return t, nil
}

func openOn(mod *module, cfg Config, pin []byte) (*Token, error) {
	slot, info, err := findToken(mod.ctx, cfg.TokenLabel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mod.path, err)
	}
	n := cfg.Sessions
	if n <= 0 {
		n = DefaultSessions
	}
	t := &Token{mod: mod, ctx: mod.ctx, slot: slot, label: cfg.TokenLabel, info: info, pin: slices.Clone(pin)}
	t.pool = newPool(mod.ctx, slot, n, t.login)
	// Take one session now: it logs in, so a wrong PIN fails Open, once.
	sh, err := t.pool.take()
	if err != nil {
		t.pool.close()
		clear(t.pin)
		return nil, err
	}
	t.pool.give(sh)
	return t, nil
}

// findToken returns the slot holding the initialised token labelled label.
func findToken(ctx PKCtx, label string) (uint, pkcs11.TokenInfo, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("list slots: %w", err)
	}
	var seen []string
	var found []uint
	var foundInfo pkcs11.TokenInfo
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err != nil {
			continue // a slot that cannot describe its token holds no usable token
		}
		if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		l := strings.TrimRight(ti.Label, " \x00")
		seen = append(seen, fmt.Sprintf("%q", l))
		if l == label {
			found = append(found, s)
			foundInfo = ti
		}
	}
	switch len(found) {
	case 1:
		return found[0], foundInfo, nil
	case 0:
		if len(seen) == 0 {
			return 0, pkcs11.TokenInfo{}, fmt.Errorf("%w: no token labelled %q (the module shows no initialised token)", ErrTokenNotFound, label)
		}
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("%w: no token labelled %q (tokens present: %s)", ErrTokenNotFound, label, strings.Join(seen, ", "))
	default:
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("%d tokens are labelled %q; relabel one so the choice is unambiguous", len(found), label)
	}
}

// login logs the user in on sh. Login is token-wide: on every session after the
// first the token answers CKR_USER_ALREADY_LOGGED_IN, which is success.
func (t *Token) login(sh pkcs11.SessionHandle) error {
	err := t.ctx.Login(sh, pkcs11.CKU_USER, string(t.pin))
	switch {
	case err == nil, isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN):
		return nil
	case isRV(err, pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE):
		return fmt.Errorf("token %q: %w (not retried: the token locks the PIN after repeated failures)", t.label, ErrPINIncorrect)
	case isRV(err, pkcs11.CKR_PIN_LOCKED):
		return fmt.Errorf("token %q: %w", t.label, ErrPINLocked)
	default:
		return fmt.Errorf("token %q: login: %w", t.label, tokenGoneErr(err))
	}
}

// do runs op on a pooled session. If the token says the session is gone, the
// session is discarded and op runs once more on a fresh one; any other error is
// returned as is. Only operations that are safe to repeat use do.
func (t *Token) do(op func(sh pkcs11.SessionHandle) error) error {
	for attempt := 0; ; attempt++ {
		take := t.pool.take
		if attempt > 0 {
			take = t.pool.takeFresh
		}
		sh, err := take()
		if err != nil {
			return err
		}
		err = op(sh)
		if err != nil && sessionGone(err) {
			t.pool.discard(sh)
			if attempt == 0 {
				continue
			}
			return tokenGoneErr(err)
		}
		t.pool.give(sh)
		return err
	}
}

// doOnce runs op on a pooled session without a retry, for operations that must
// not be repeated blindly (key generation, destruction).
func (t *Token) doOnce(op func(sh pkcs11.SessionHandle) error) error {
	sh, err := t.pool.take()
	if err != nil {
		return err
	}
	err = op(sh)
	if err != nil && sessionGone(err) {
		t.pool.discard(sh)
		return tokenGoneErr(err)
	}
	t.pool.give(sh)
	return err
}

// Close closes every session (waiting for operations in flight) and releases the
// module; the last Close in the process finalises it.
func (t *Token) Close() error {
	t.closeOnce.Do(func() {
		t.pool.close()
		clear(t.pin)
		t.mod.release()
	})
	return nil
}

// Label is the token's label.
func (t *Token) Label() string { return t.label }

// Info describes the token.
func (t *Token) Info() TokenInfo {
	i := t.info
	return TokenInfo{
		Label:         strings.TrimRight(i.Label, " \x00"),
		Manufacturer:  strings.TrimRight(i.ManufacturerID, " \x00"),
		Model:         strings.TrimRight(i.Model, " \x00"),
		SerialNumber:  strings.TrimRight(i.SerialNumber, " \x00"),
		Slot:          t.slot,
		Module:        t.mod.path,
		FirmwareVer:   fmt.Sprintf("%d.%d", i.FirmwareVersion.Major, i.FirmwareVersion.Minor),
		LoginRequired: i.Flags&pkcs11.CKF_LOGIN_REQUIRED != 0,
		RNG:           i.Flags&pkcs11.CKF_RNG != 0,
	}
}

// Random returns n bytes from the token's random number generator.
func (t *Token) Random(n int) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("random: invalid length %d", n)
	}
	var out []byte
	err := t.do(func(sh pkcs11.SessionHandle) error {
		b, err := t.ctx.GenerateRandom(sh, n)
		out = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("token %q: C_GenerateRandom: %w", t.label, err)
	}
	if len(out) != n {
		return nil, fmt.Errorf("token %q: C_GenerateRandom returned %d bytes, asked for %d", t.label, len(out), n)
	}
	return out, nil
}

// RandReader is an io.Reader over the token's RNG (C_GenerateRandom), for
// serial numbers and nonces that should come from the HSM.
func (t *Token) RandReader() io.Reader { return tokenRand{t} }

type tokenRand struct{ t *Token }

func (r tokenRand) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.t.Random(len(p))
	if err != nil {
		return 0, err
	}
	return copy(p, b), nil
}
