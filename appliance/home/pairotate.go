package home

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dacline/dacline/appliance/hsm"
)

// paiRotateJournalFile holds "<label> <hex CKA_ID>" of the PAI key `pai
// rotate` is making, until config.json names it (as the test PAA key's
// journal does, see testPAAKey).
const paiRotateJournalFile = ".pai-rotate.journal"

// RotatePAI makes a further PAI key on the token, for vid (and pid, when
// given), and returns its label and a CSR for it to send to the PAA.
//
// Order (record before use): the label and CKA_ID are journaled; the key is
// generated with them; its key-generated entry (attributes read back) is
// committed to the audit log; config.json records it as a pending PAI; the
// journal is removed. A run killed anywhere resumes with the journaled key
// when it is whole, or destroys exactly its halves and starts again. A
// pending PAI for the same VID/PID is reused, so running rotate again only
// writes its CSR again.
func (u *Unlocked) RotatePAI(vid uint16, pid *uint16) (string, []byte, error) {
	h := u.Home
	wantVID, wantPID := fmt.Sprintf("%04X", vid), ""
	if pid != nil {
		wantPID = fmt.Sprintf("%04X", *pid)
	}
	if vid == 0 {
		return "", nil, errors.New("pai rotate: vendor ID 0 is not a vendor")
	}
	views, err := h.PAIs()
	if err != nil {
		return "", nil, fmt.Errorf("pai rotate: %w", err)
	}
	for _, v := range views {
		if !v.First && v.State == PAIPending && v.VID == wantVID && v.PID == wantPID {
			key, err := u.PAIKeyFor(v.Label)
			if err != nil {
				return "", nil, fmt.Errorf("pai rotate: %w", err)
			}
			csr, err := u.paiCSR(key, vid, pid)
			return v.Label, csr, err
		}
	}
	key, err := u.rotatedKey(wantVID, wantPID)
	if err != nil {
		return "", nil, fmt.Errorf("pai rotate: %w", err)
	}
	csr, err := u.paiCSR(key, vid, pid)
	if err != nil {
		return "", nil, err
	}
	return key.Label(), csr, nil
}

func (u *Unlocked) rotatedKey(vid, pid string) (*hsm.Key, error) {
	h := u.Home
	l, err := h.AuditLog()
	if err != nil {
		return nil, err
	}
	key, err := u.resumeRotatedKey()
	if err != nil {
		return nil, err
	}
	generated := false
	if key == nil {
		label := h.nextPAILabel()
		if _, err := u.Token.FindKey(label); err == nil {
			return nil, fmt.Errorf("token already holds a key labelled %q that config.json does not name", label)
		}
		id := make([]byte, hsm.KeyIDSize)
		if _, err := rand.Read(id); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(h.Path(paiRotateJournalFile), []byte(label+" "+hex.EncodeToString(id)+"\n"), 0o600); err != nil {
			return nil, err
		}
		crashPoint("rotate-journal")
		if key, err = u.Token.GenerateKeyPairWithID(hsm.KeyP256, label, id); err != nil {
			return nil, err
		}
		generated = true
		crashPoint("rotate-key")
	}
	if err := recordKeyOnce(l, key); err != nil {
		if generated {
			if derr := key.Destroy(); derr != nil {
				err = fmt.Errorf("%w; cleanup: %v", err, derr)
			}
		}
		return nil, err
	}
	crashPoint("rotate-logged")
	pub, err := encodePublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	h.Config.PAIs = append(h.Config.PAIs, PAIRecord{Label: key.Label(), PublicKey: pub, VID: vid, PID: pid})
	if err := h.SaveConfig(); err != nil {
		h.Config.PAIs = h.Config.PAIs[:len(h.Config.PAIs)-1]
		return nil, err
	}
	if err := os.Remove(h.Path(paiRotateJournalFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return key, nil
}

// resumeRotatedKey returns the key a killed rotate journaled when the token
// holds it whole; else it destroys the objects with the journaled label and
// CKA_ID, removes the journal and returns nil.
func (u *Unlocked) resumeRotatedKey() (*hsm.Key, error) {
	path := u.Home.Path(paiRotateJournalFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	label, id, err := parseRotateJournal(b)
	if err != nil {
		// Written atomically, so never torn; refuse rather than guess.
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if key, err := u.Token.FindKey(label); err == nil && bytes.Equal(key.ID(), id) {
		return key, nil
	}
	for _, ref := range hsm.KeyPairRefs(label, id) {
		if _, err := u.Token.DestroyObjects(ref); err != nil {
			return nil, fmt.Errorf("clean up the PAI key a killed rotate left: %w", err)
		}
	}
	if err := os.Remove(path); err != nil {
		return nil, err
	}
	return nil, nil
}

// PAICSRFor is PAICSR for the PAI key with label ("" = the first PAI key);
// a retired PAI gets no CSR.
func (u *Unlocked) PAICSRFor(label string, vid uint16, pid *uint16) ([]byte, error) {
	if label == "" {
		label = u.Home.Config.Keys.PAI.Label
	}
	v, err := u.Home.PAI(label)
	if err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	if v.State == PAIRetired {
		return nil, fmt.Errorf("pai csr: %q: %w", label, ErrPAIRetired)
	}
	key, err := u.PAIKeyFor(label)
	if err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	return u.paiCSR(key, vid, pid)
}

// parseRotateJournal reads "<label> <hex CKA_ID>\n".
func parseRotateJournal(b []byte) (string, []byte, error) {
	f := strings.Fields(string(b))
	var id []byte
	var err error
	if len(f) == 2 {
		id, err = hex.DecodeString(f[1])
	}
	if len(f) != 2 || err != nil || len(id) != hsm.KeyIDSize || !validPAILabel(f[0]) {
		return "", nil, errors.New("not a PAI key label and key id")
	}
	return f[0], id, nil
}
