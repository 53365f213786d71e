package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/storecheck"
)

// pinFileFlag is the only way to name a PIN on the command line: a file, never
// the value. Every command that logs in to the token takes it.
var pinFileFlag = &cli.StringFlag{
	Name:    "pin-file",
	Usage:   "read the HSM user PIN from `FILE` (mode 0600); else $" + hsm.PINEnv + ", else a prompt",
	EnvVars: []string{"DACLINE_HSM_PIN_FILE"},
}

// userPIN is the HSM user PIN source of a command.
func userPIN(c *cli.Context) hsm.PINSource {
	return hsm.PINSource{What: "HSM user PIN", EnvVar: hsm.PINEnv, File: c.String("pin-file")}
}

// openHome opens the appliance home named by --home.
func openHome(c *cli.Context) (*home.Home, error) {
	h, err := home.Open(c.String("home"))
	return h, withHints(err)
}

// unlockAppliance opens the home and logs in to its token with the PIN from
// --pin-file, $DACLINE_HSM_PIN or a prompt. Commands of other packages (sign,
// station enroll, log export) use it too; close both when done:
//
//	h, u, err := unlockAppliance(c)
//	if err != nil { return err }
//	defer h.Close()
//	defer u.Close()
//
// Before it returns it proves the home's audit log is not older than the
// token's anchor (home.Unlocked.CheckAnchor): every command that signs or
// appends goes through here, so a home restored from an older backup is
// refused before anything is signed. Only the commands that inspect or
// repair such a home use unlockApplianceUnchecked.
func unlockAppliance(c *cli.Context) (*home.Home, *home.Unlocked, error) {
	h, u, err := unlockApplianceUnchecked(c)
	if err != nil {
		return nil, nil, err
	}
	if _, err := u.CheckAnchor(); err != nil {
		u.Close()
		h.Close()
		return nil, nil, anchorHint(err)
	}
	if quorumOfficers != nil {
		// The log names the officers who unlocked it (quorum-unlocked).
		if err := u.RecordQuorumUnlock(commandPath(c), quorumOfficers); err != nil {
			u.Close()
			h.Close()
			return nil, nil, withHints(err)
		}
	}
	return h, u, nil
}

// unlockApplianceUnchecked is unlockAppliance without the anchor check: for
// status, identity and the log restore commands, which must work on a
// restored home.
func unlockApplianceUnchecked(c *cli.Context) (*home.Home, *home.Unlocked, error) {
	h, err := openHome(c)
	if err != nil {
		return nil, nil, err
	}
	pin, officers, err := tokenPIN(c, h) // quorumflags.go
	if err != nil {
		h.Close()
		return nil, nil, withHints(err)
	}
	defer clear(pin)
	u, err := h.OpenToken(pin)
	if err != nil {
		h.Close()
		return nil, nil, withHints(err)
	}
	quorumOfficers = officers
	return h, u, nil
}

// quorumOfficers are the officers whose shares unlocked the token in this
// process (nil without a quorum); unlockAppliance logs them once the log is
// proven current.
var quorumOfficers []string

// withHints adds the fix for errors whose fix is known.
func withHints(err error) error {
	if err == nil || clirun.HintOf(err) != "" {
		return err
	}
	hints := []struct {
		target error
		hint   string
	}{
		{hsm.ErrModuleNotFound, "install SoftHSM2 ('just setup') or pass --hsm-module with the path of your HSM's PKCS#11 library"},
		{hsm.ErrModuleLoad, "--hsm-module must be a PKCS#11 library (.so) built for this machine"},
		{hsm.ErrTokenNotFound, "check the token label (--token at init, hsm.token_label in config.json) and that the HSM is connected; 'pkcs11-tool --module MODULE --list-token-slots' lists tokens"},
		{hsm.ErrPINIncorrect, "check $" + hsm.PINEnv + " or --pin-file; do not retry blindly: the token locks the PIN after a few failures"},
		{hsm.ErrPINLocked, "the security officer must unlock the user PIN with the token's SO tools"},
		{hsm.ErrNoPIN, "set $" + hsm.PINEnv + ", pass --pin-file FILE (mode 0600), or run the command on a terminal"},
		{hsm.ErrPINFileMode, "make the PIN file private: chmod 600 FILE"},
		{hsm.ErrPINRejected, "choose another PIN: SoftHSM2 takes 4 to 255 characters (other HSMs: see their PIN policy); nothing was kept"},
		{hsm.ErrPINMismatch, "type the same PIN twice; nothing was created, run the command again"},
		{hsm.ErrTokenRemoved, "reconnect the HSM and run the command again"},
		{home.ErrNoHome, "run 'appliance init' first, or point --home / $DACLINE_HOME at the appliance home"},
		{home.ErrHomeExists, "choose another --home, or move the existing home away first"},
		{home.ErrHomeInUse, "another appliance command is using this home; wait for it to finish"},
		{home.ErrKeyMismatch, "config.json and the token disagree: is this the right token for this home?"},
		{home.ErrNotTestVID, "development PKI is for the test vendor IDs FFF1 to FFF4; for a real vendor ID use 'appliance pai csr' and 'appliance pai import'"},
		{home.ErrNoPAA, "create a development PAA with 'appliance paa create-test --vid FFF1', or pass --paa FILE"},
		{home.ErrNoPAI, "install a PAI first: 'appliance pai create-test' (test vendor IDs) or 'appliance pai import'"},
		{home.ErrPAIKeyMismatch, "the PAA must issue the PAI for the request made by 'appliance pai csr' on this appliance"},
		{home.ErrKilledInitElsewhere, "run 'appliance init' again with the --hsm-module and --token the killed run used, so that it can remove what it left there"},
		{hsm.ErrLabelExists, "keys with dacline's labels are already on this token and no killed init of this home recorded them: another appliance uses this token; use another token (--token), or, if no appliance uses it, delete the dacline-* objects with the token's tools"},
		{storecheck.ErrMissing, storeLostHint},
		{storecheck.ErrEmpty, storeLostHint},
		{storecheck.ErrDamaged, storeLostHint},
		{os.ErrExist, "outputs are never overwritten: choose another path or remove the file"},
	}
	for _, h := range hints {
		if errors.Is(err, h.target) {
			return clirun.WithHint(err, "%s", h.hint)
		}
	}
	return err
}

// storeLostHint is the fix for a missing, empty or damaged appliance.db.
const storeLostHint = "do not delete it or run init again: stop, copy the home aside, and restore appliance.db " +
	"(or the whole appliance home) from the latest backup; see 'Backup and restore' in docs/security-officer.md"

// parseID parses a vendor or product ID given as 4 hex digits (optionally 0x).
func parseID(flag, s string) (uint16, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t) == 0 || len(t) > 4 {
		return 0, clirun.Usage("--%s %q: want up to 4 hex digits, e.g. FFF1", flag, s)
	}
	v, err := strconv.ParseUint(t, 16, 16)
	if err != nil {
		return 0, clirun.Usage("--%s %q: want hex digits, e.g. FFF1", flag, s)
	}
	return uint16(v), nil
}

// optionalPID parses --pid when given.
func optionalPID(c *cli.Context) (*uint16, error) {
	if !c.IsSet("pid") {
		return nil, nil
	}
	p, err := parseID("pid", c.String("pid"))
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func requiredVID(c *cli.Context) (uint16, error) {
	if !c.IsSet("vid") {
		return 0, clirun.Usage("--vid is required")
	}
	return parseID("vid", c.String("vid"))
}

func printf(format string, args ...any) { fmt.Fprintf(clirun.Stdout, format, args...) }
