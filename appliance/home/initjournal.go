package home

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dacline/dacline/appliance/hsm"
)

// A killed `appliance init` leaves its temporary home (.<home>.init-*) and,
// on an existing token, the objects it made there. So that running init again
// works, on SoftHSM2 and on a real token alike, init records what it is about
// to make before it makes it (record, then act): the journal, written and
// fsynced in the temporary home before the first token object, names the
// token and, for each key, its label and the CKA_ID init chose for it. A
// re-run reads the journals of killed runs and destroys exactly the objects
// they name (class, label and CKA_ID all equal), so an object of another
// appliance that merely carries the same label is never touched; then it
// removes their directories. A run on a new SoftHSM2 token kept its token
// inside the temporary home, so removing the directory is all there is.

// initJournalFile is the journal's name inside the temporary home.
const initJournalFile = "init-journal.json"

// ErrKilledInitElsewhere: a killed init left objects on another token than
// the one this run uses; they must be cleaned up with that token.
var ErrKilledInitElsewhere = errors.New("a killed appliance init left objects on another token")

type initJournal struct {
	Version         int          `json:"version"`
	Module          string       `json:"module"`
	TokenLabel      string       `json:"token_label"`
	NewSoftHSMToken bool         `json:"new_softhsm_token"`
	Keys            []journalKey `json:"keys"`
}

type journalKey struct {
	Label  string `json:"label"`
	Secret bool   `json:"secret,omitempty"` // an AES key, else a key pair
	ID     string `json:"id"`               // hex CKA_ID
}

func newInitJournal(o InitOptions, labels []string, secret map[string]bool) (*initJournal, error) {
	j := &initJournal{Version: 1, Module: o.Module, TokenLabel: o.TokenLabel, NewSoftHSMToken: o.NewSoftHSMToken}
	for _, l := range labels {
		id := make([]byte, hsm.KeyIDSize)
		if _, err := rand.Read(id); err != nil {
			return nil, fmt.Errorf("init: key id: %w", err)
		}
		j.Keys = append(j.Keys, journalKey{Label: l, Secret: secret[l], ID: hex.EncodeToString(id)})
	}
	return j, nil
}

// id is the CKA_ID the journal chose for label.
func (j *initJournal) id(label string) []byte {
	for _, k := range j.Keys {
		if k.Label == label {
			b, _ := hex.DecodeString(k.ID)
			return b
		}
	}
	return nil
}

// refs are the objects the journal's run may have made, newest first (the
// anchor, then the keys in reverse order of generation).
func (j *initJournal) refs() []hsm.ObjectRef {
	out := []hsm.ObjectRef{hsm.DataRef(LabelLogAnchor)}
	for i := len(j.Keys) - 1; i >= 0; i-- {
		k := j.Keys[i]
		id, _ := hex.DecodeString(k.ID)
		if k.Secret {
			out = append(out, hsm.SecretKeyRef(k.Label, id))
		} else {
			out = append(out, hsm.KeyPairRefs(k.Label, id)...)
		}
	}
	return out
}

// write records the journal in the temporary home, durably.
func (j *initJournal) write(tmp string) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileNew(filepath.Join(tmp, initJournalFile), b, 0o600); err != nil {
		return fmt.Errorf("init: journal: %w", err)
	}
	return syncDir(tmp)
}

func readInitJournal(dir string) (*initJournal, error) {
	b, err := os.ReadFile(filepath.Join(dir, initJournalFile))
	if err != nil {
		return nil, err
	}
	var j initJournal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, initJournalFile), err)
	}
	for _, k := range j.Keys {
		if id, err := hex.DecodeString(k.ID); err != nil || len(id) != hsm.KeyIDSize || k.Label == "" {
			return nil, fmt.Errorf("%s: key %q: bad id", filepath.Join(dir, initJournalFile), k.Label)
		}
	}
	return &j, nil
}

// killedInits lists the temporary homes killed inits of dir left.
func killedInits(dir string) ([]string, error) {
	parent, prefix := filepath.Dir(dir), "."+filepath.Base(dir)+".init-"
	ents, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, filepath.Join(parent, e.Name()))
		}
	}
	return out, nil
}

// cleanupKilledInits removes what killed inits of dir left (see the top of
// this file). Only the home's own init runs use these directories (init of
// one home runs once at a time: the final rename refuses an existing home),
// so every one found belongs to a run that is gone.
func cleanupKilledInits(dir string, o InitOptions) error {
	stale, err := killedInits(dir)
	if err != nil {
		return err
	}
	for _, d := range stale {
		j, err := readInitJournal(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Killed before its journal: it made nothing outside d.
		case err != nil:
			// A journal is complete before the first token object is made
			// (written, fsynced, then acted on): a torn one means nothing
			// was made on a token either.
		case j.NewSoftHSMToken:
			// Its token lives in d and goes with it.
		case j.Module != o.Module || j.TokenLabel != o.TokenLabel:
			return fmt.Errorf("%w: %s names token %q of %s; this run uses token %q of %s: %v",
				ErrKilledInitElsewhere, d, j.TokenLabel, j.Module, o.TokenLabel, o.Module, j.Keys)
		default:
			if err := destroyJournaled(j, o); err != nil {
				return fmt.Errorf("init: clean up after a killed init (%s): %w", d, err)
			}
		}
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("init: remove %s: %w", d, err)
		}
	}
	if len(stale) > 0 {
		return syncDir(filepath.Dir(dir))
	}
	return nil
}

// destroyJournaled destroys on the token the objects a killed init's journal
// names. The anchor data object has no CKA_ID: it is destroyed only when the
// killed run's own signing key is still on the token, which proves that no
// other appliance uses this token (an appliance's key labels are fixed, and a
// label is never made twice), so the anchor can only be that run's.
func destroyJournaled(j *initJournal, o InitOptions) error {
	tok, err := hsm.Open(hsm.Config{ModulePath: o.Module, TokenLabel: o.TokenLabel}, o.PIN)
	if err != nil {
		return err
	}
	defer tok.Close()
	ours := 0
	if id := j.id(LabelSigning); id != nil {
		if ours, err = tok.CountObjects(hsm.KeyPairRefs(LabelSigning, id)[0]); err != nil {
			return err
		}
	}
	for _, ref := range j.refs() {
		if ref.Label == LabelLogAnchor && ours == 0 {
			continue
		}
		if _, err := tok.DestroyObjects(ref); err != nil {
			return err
		}
	}
	return nil
}
