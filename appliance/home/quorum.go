package home

import (
	"errors"
	"fmt"

	"github.com/dacline/dacline/appliance/quorum"
	"github.com/dacline/dacline/shared/auditlog"
)

// Officer quorum (package quorum): when config.json has a quorum, nobody
// knows the token's PINs; they are combined in memory from a quorum of
// officers' shares for each command, and the log names who took part.

// ErrNoQuorum: the home's PIN is not split among officers.
var ErrNoQuorum = errors.New("this appliance has no officer quorum")

func quorumCreatedEntry(q *quorum.Config) *auditlog.QuorumCreated {
	return &auditlog.QuorumCreated{Officers: q.Names(), QuorumID: q.ID, Threshold: q.Threshold}
}

// QuorumPINs combines officers' shares into the token's PINs (quorum.Combine),
// returning the names of the officers who took part.
func (h *Home) QuorumPINs(shares []*quorum.Share) (quorum.PINs, []string, error) {
	if h.Config.Quorum == nil {
		return quorum.PINs{}, nil, ErrNoQuorum
	}
	return quorum.Combine(h.Config.Quorum, h.Config.Name, shares)
}

// RecordQuorumUnlock logs which officers unlocked the token for command.
func (u *Unlocked) RecordQuorumUnlock(command string, officers []string) error {
	l, err := u.AuditLog()
	if err != nil {
		return err
	}
	return appendEntries(l, &auditlog.QuorumUnlocked{Command: command, Officers: officers, QuorumID: u.Home.Config.Quorum.ID})
}

// Reshare replaces the quorum with q (new officers, threshold and shares of
// the same PINs, made by the caller from a quorum unlock). Record, then act:
// the quorum-created entry is committed before config.json names the new
// quorum; from then on the old shares are refused (another quorum ID).
func (u *Unlocked) Reshare(q *quorum.Config) error {
	if u.Home.Config.Quorum == nil {
		return ErrNoQuorum
	}
	if err := q.Validate(); err != nil {
		return err
	}
	l, err := u.AuditLog()
	if err != nil {
		return err
	}
	if err := appendEntries(l, quorumCreatedEntry(q)); err != nil {
		return err
	}
	old := u.Home.Config.Quorum
	u.Home.Config.Quorum = q
	if err := u.Home.SaveConfig(); err != nil {
		u.Home.Config.Quorum = old
		return fmt.Errorf("reshare: the new quorum is logged but config.json was not updated: %w", err)
	}
	return nil
}
