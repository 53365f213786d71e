package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/quorum"
	"github.com/dacline/dacline/shared/clirun"
)

// The officer quorum's unlock flags. Every command that logs in to the token
// (those with --pin-file) also takes them: on an appliance with a quorum,
// the PIN comes only from them.
var (
	shareFlag = &cli.StringSliceFlag{
		Name:  "share",
		Usage: "with an officer quorum: an officer's share `FILE` (age-encrypted); once per officer",
	}
	shareIdentityFlag = &cli.StringSliceFlag{
		Name:  "share-identity",
		Usage: "age identity `FILE` that opens an officer's --share (mode 0600); once per officer",
	}
	paperShareFlag = &cli.BoolFlag{
		Name:  "paper-share",
		Usage: "with an officer quorum: prompt on the terminal for paper shares, one per officer",
	}
)

// withQuorumFlags adds the share flags to every command that takes --pin-file.
func withQuorumFlags(cmds []*cli.Command) []*cli.Command {
	for _, c := range cmds {
		if slices.Contains(c.Flags, cli.Flag(pinFileFlag)) && !slices.Contains(c.Flags, cli.Flag(shareFlag)) && c.Name != "init" {
			c.Flags = append(c.Flags, shareFlag, shareIdentityFlag, paperShareFlag)
		}
		withQuorumFlags(c.Subcommands)
	}
	return cmds
}

// tokenPIN is the user PIN of a command: from the quorum's shares when the
// home has a quorum (officers names who took part), else from --pin-file,
// $DACLINE_HSM_PIN or a prompt (officers nil).
func tokenPIN(c *cli.Context, h *home.Home) (pin []byte, officers []string, err error) {
	if h.Config.Quorum == nil {
		if len(c.StringSlice("share")) > 0 {
			return nil, nil, clirun.Usage("--share: this appliance has no officer quorum; it uses the HSM PIN")
		}
		pin, err := userPIN(c).Read()
		return pin, nil, err
	}
	shares, err := readShares(c, h)
	defer func() {
		for _, s := range shares {
			s.Clear()
		}
	}()
	if err != nil {
		return nil, nil, err
	}
	pins, officers, err := h.QuorumPINs(shares)
	if err != nil {
		return nil, nil, quorumHint(err)
	}
	clear(pins.SO)
	return pins.User, officers, nil
}

// readShares decrypts every --share with the --share-identity files, and
// reads paper shares from the terminal with --paper-share.
func readShares(c *cli.Context, h *home.Home) ([]*quorum.Share, error) {
	var ids []age.Identity
	for _, path := range c.StringSlice("share-identity") {
		b, err := readPrivateFile(path)
		if err != nil {
			return nil, fmt.Errorf("--share-identity %s: %w", path, err)
		}
		parsed, err := age.ParseIdentities(bytes.NewReader(b))
		clear(b)
		if err != nil {
			return nil, fmt.Errorf("--share-identity %s: not an age identity file", path)
		}
		ids = append(ids, parsed...)
	}
	var shares []*quorum.Share
	files := c.StringSlice("share")
	if len(files) > 0 && len(ids) == 0 {
		return nil, clirun.Usage("--share needs --share-identity FILE: each officer's age identity opens their share")
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return shares, fmt.Errorf("--share: %w", err)
		}
		s, err := quorum.Decrypt(b, ids)
		if err != nil {
			return shares, quorumHint(fmt.Errorf("--share %s: %w", path, err))
		}
		shares = append(shares, s)
	}
	if c.Bool("paper-share") {
		paper, err := promptPaperShares(h)
		shares = append(shares, paper...)
		if err != nil {
			return shares, err
		}
	}
	if len(shares) == 0 {
		q := h.Config.Quorum
		return nil, clirun.WithHint(fmt.Errorf("%w: this appliance is unlocked by %d of its %d officers together, and no share was given",
			quorum.ErrTooFewShares, q.Threshold, len(q.Officers)),
			"each officer present passes --share FILE and --share-identity FILE (or --paper-share); see docs/security-officer.md, \"Officer quorum\"")
	}
	return shares, nil
}

// readPrivateFile reads a secret file that must not be readable by others.
func readPrivateFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, clirun.WithHint(fmt.Errorf("mode %v: readable by others", fi.Mode().Perm()), "chmod 600 %s", path)
	}
	return os.ReadFile(path)
}

func quorumHint(err error) error {
	switch {
	case errors.Is(err, quorum.ErrTooFewShares):
		return clirun.WithHint(err, "more officers must join: each passes --share FILE and --share-identity FILE")
	case errors.Is(err, quorum.ErrOtherAppliance):
		return clirun.WithHint(err, "this share belongs to another appliance or to a quorum replaced by 'appliance quorum reshare'; use the officer's current share")
	case errors.Is(err, quorum.ErrCorruptShare):
		return clirun.WithHint(err, "the share file is damaged: use the officer's backup copy of it, or re-share with the other officers ('appliance quorum reshare')")
	case errors.Is(err, quorum.ErrNotForIdentity):
		return clirun.WithHint(err, "each officer's --share-identity must be the age identity their share was encrypted to")
	}
	return err
}

// commandPath is the command as typed without flags, e.g. "paa create-test".
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// requireQuorum is for commands that change what the appliance trusts without
// using the token (policy set): on an appliance with an officer quorum they
// still need M officers. It unlocks the token with their shares, which
// proves the shares and logs quorum-unlocked, and closes it again.
func requireQuorum(c *cli.Context) error {
	h, err := openHome(c)
	if err != nil {
		return err
	}
	q := h.Config.Quorum
	h.Close()
	if q == nil {
		return nil
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	u.Close()
	return h.Close()
}
