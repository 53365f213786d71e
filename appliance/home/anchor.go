package home

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/auditlog"
)

// The log anchor: the newest signed checkpoint of the audit log, kept in a
// token data object (hsm/dataobject.go) labelled LabelLogAnchor — private,
// a token object, outside the home. A backup of the home does not contain
// it, so restoring appliance.db or the whole home from an earlier copy
// leaves the home's log older than the anchor, and every command that signs
// or appends (sign, station, pki setup, log export, checkpoint) refuses
// before doing anything (Unlocked.CheckAnchor). The officer brings the
// missing tail back from a log export (Unlocked.RestoreLog) until the check
// passes.
//
// Init creates the anchor (anchorNewHome); an appliance initialised before
// anchors existed gets one from the officer's explicit, logged command
// (Unlocked.CreateAnchor). A log with entries and no anchor is refused:
// deleting the anchor does not bypass the check.
//
// A SoftHSM2 token made with --new-softhsm-token lives inside the home, so
// a whole-home restore restores its anchor too: such development homes are
// not protected (docs/threat-model.md).

// LabelLogAnchor is the CKA_LABEL of the anchor data object.
const LabelLogAnchor = "dacline-log-anchor"

// tokenAnchor is applog.Anchor over the token. Load verifies the anchored
// checkpoint with the appliance key: a damaged or foreign value is an error,
// never silently "no anchor".
type tokenAnchor struct {
	tok *hsm.Token
	v   note.Verifier
}

func (a tokenAnchor) Load() ([]byte, error) {
	data, err := a.tok.ReadData(LabelLogAnchor)
	if errors.Is(err, hsm.ErrDataObjectMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log anchor: %w", err)
	}
	if _, err := auditlog.OpenCheckpoint(data, a.v); err != nil {
		return nil, fmt.Errorf("audit log anchor on token %q does not verify with the appliance key: %w", a.tok.Label(), err)
	}
	return data, nil
}

func (a tokenAnchor) Store(signed []byte) error { return a.tok.WriteData(LabelLogAnchor, signed) }

func newTokenAnchor(tok *hsm.Token, name string, signing *hsm.Key) (tokenAnchor, error) {
	pub, ok := signing.Public().(ed25519.PublicKey)
	if !ok {
		return tokenAnchor{}, fmt.Errorf("appliance signing key is %T, want Ed25519", signing.Public())
	}
	vkey, err := auditlog.VerifierKey(name, pub)
	if err != nil {
		return tokenAnchor{}, err
	}
	v, err := auditlog.NewVerifier(vkey)
	if err != nil {
		return tokenAnchor{}, err
	}
	return tokenAnchor{tok: tok, v: v}, nil
}

// AuditLog opens the home's audit log guarded by the token's anchor: its
// checkpoints refuse a log that does not extend the anchor and update it.
// Every command that appends or checkpoints with the token open uses it.
func (u *Unlocked) AuditLog() (*applog.Log, error) { return u.auditLog(false) }

func (u *Unlocked) auditLog(newAnchor bool) (*applog.Log, error) {
	a, err := newTokenAnchor(u.Token, u.Home.Config.Name, u.Signing)
	if err != nil {
		return nil, err
	}
	return applog.Open(u.Home.db, applog.Options{
		CheckpointMirror: filepath.Join(u.Home.dir, applog.CheckpointMirrorFile),
		Anchor:           a, NewAnchor: newAnchor,
	})
}

// CheckAnchor proves the home's log is not older than the newest
// checkpoint the appliance ever signed (the token's anchor). Call it before
// signing or appending anything.
func (u *Unlocked) CheckAnchor() (*applog.AnchorState, error) {
	l, err := u.AuditLog()
	if err != nil {
		return nil, err
	}
	return l.CheckAnchor()
}

// ErrAnchorExists: CreateAnchor on a token that has an anchor already.
var ErrAnchorExists = errors.New("the token already holds an audit log anchor")

// CreateAnchor anchors the log of an appliance initialised before anchors
// existed: the officer's explicit decision that this home's log is the
// newest, recorded as a log-anchored entry, then a checkpoint signed over it
// and stored as the anchor. Refused when the token has an anchor (use
// RestoreLog to catch a home up with it).
func (u *Unlocked) CreateAnchor(officer string) ([]byte, error) {
	l, err := u.auditLog(true)
	if err != nil {
		return nil, err
	}
	a, err := newTokenAnchor(u.Token, u.Home.Config.Name, u.Signing)
	if err != nil {
		return nil, err
	}
	if cur, err := a.Load(); err != nil {
		return nil, err
	} else if cur != nil {
		return nil, fmt.Errorf("token %q: %w", u.Token.Label(), ErrAnchorExists)
	}
	if _, err := l.Append(&auditlog.LogAnchored{Officer: officer}); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return signCheckpoint(l, u.Home.Config.Name, u.Signing)
}

// anchorNewHome creates the anchor of a new home at init: the first signed
// checkpoint of the log in the temporary home dir.
func anchorNewHome(dir string, tok *hsm.Token, signing *hsm.Key, name string) error {
	db, err := openDB(filepath.Join(dir, DBFile), false)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := applog.Open(db, applog.Options{})
	if err != nil {
		return err
	}
	signed, err := l.Latest()
	if err != nil {
		return err
	}
	if signed == nil {
		return errors.New("init: no first checkpoint to anchor")
	}
	a, err := newTokenAnchor(tok, name, signing)
	if err != nil {
		return err
	}
	if err := a.Store(signed); err != nil {
		return fmt.Errorf("init: audit log anchor: %w", err)
	}
	return nil
}

// AnchorStatus is the anchor check as `appliance status` shows it.
type AnchorStatus struct {
	OK           bool   `json:"ok"`
	AnchoredSize int64  `json:"anchored_size"`
	LogSize      int64  `json:"log_size"`
	Problem      string `json:"problem,omitempty"`
}

func (u *Unlocked) anchorStatus() *AnchorStatus {
	st, err := u.CheckAnchor()
	out := &AnchorStatus{OK: err == nil}
	if st != nil {
		out.AnchoredSize, out.LogSize = st.Anchored.Size, st.LogSize
	}
	if err != nil {
		out.Problem = err.Error()
	}
	return out
}
