package hsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/pkcs11"
)

// InitToken initialises a fresh token labelled cfg.TokenLabel in the first slot
// holding an uninitialised token (SoftHSM2 always offers one), sets its SO PIN and
// user PIN, and logs out again. It refuses a label already in use. The PINs go to
// the module through C_InitToken and C_InitPIN, never through a command line.
func InitToken(cfg Config, soPIN, userPIN []byte) error {
	if cfg.TokenLabel == "" {
		return errors.New("init token: empty label")
	}
	if len(cfg.TokenLabel) > 32 {
		return fmt.Errorf("init token: label %q is longer than 32 bytes", cfg.TokenLabel)
	}
	if len(soPIN) == 0 || len(userPIN) == 0 {
		return errors.New("init token: SO PIN and user PIN are required")
	}
	mod, err := acquireModule(cfg.ModulePath, cfg.SoftHSMConf)
	if err != nil {
		return err
	}
	defer mod.release()
	ctx := mod.ctx
	if _, _, err := findToken(ctx, cfg.TokenLabel); err == nil {
		return fmt.Errorf("init token: a token labelled %q already exists in %s", cfg.TokenLabel, mod.path)
	}
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("init token: list slots: %w", err)
	}
	free, found := uint(0), false
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free, found = s, true
			break
		}
	}
	if !found {
		return fmt.Errorf("init token: %s offers no uninitialised token", mod.path)
	}
	if err := ctx.InitToken(free, string(soPIN), cfg.TokenLabel); err != nil {
		return fmt.Errorf("init token %q: C_InitToken: %w", cfg.TokenLabel, err)
	}
	// SoftHSM2 moves an initialised token to a new slot: find it again by label.
	slot, _, err := findToken(ctx, cfg.TokenLabel)
	if err != nil {
		return fmt.Errorf("init token %q: %w", cfg.TokenLabel, err)
	}
	sh, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("init token %q: open session: %w", cfg.TokenLabel, err)
	}
	defer ctx.CloseSession(sh)
	if err := ctx.Login(sh, pkcs11.CKU_SO, string(soPIN)); err != nil {
		return fmt.Errorf("init token %q: SO login: %w", cfg.TokenLabel, err)
	}
	defer ctx.Logout(sh)
	if err := ctx.InitPIN(sh, string(userPIN)); err != nil {
		if isRV(err, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID) {
			return fmt.Errorf("init token %q: the token refused the user PIN (length or characters): %w: %w", cfg.TokenLabel, ErrPINRejected, err)
		}
		return fmt.Errorf("init token %q: C_InitPIN: %w", cfg.TokenLabel, err)
	}
	return nil
}

// SoftHSMConfig is the text of a softhsm2.conf whose tokens live in tokenDir.
func SoftHSMConfig(tokenDir string) string {
	return strings.Join([]string{
		"# SoftHSM2 configuration written by dacline: the tokens live next to this file.",
		"directories.tokendir = " + tokenDir,
		"objectstore.backend = file",
		"log.level = ERROR",
		"slots.removable = false",
		"slots.mechanisms = ALL",
		"library.reset_on_fork = false",
		"",
	}, "\n")
}
