package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/quorum"
	"github.com/dacline/dacline/shared/clirun"
)

// Flags init takes to split the token's PINs among officers.
func quorumInitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "quorum", Usage: "split the token PINs so that any `M` of the --officer officers unlock it together"},
		&cli.StringSliceFlag{Name: "officer", Usage: "with --quorum: an officer `NAME=AGE-RECIPIENT` (or NAME=paper) who holds a share"},
		&cli.StringFlag{Name: "shares-out", Usage: "with --quorum: write the officers' encrypted share files into `DIR` (must exist)"},
	}
}

// quorumPlan is a parsed --quorum/--officer/--shares-out.
type quorumPlan struct {
	m        int
	officers []quorum.OfficerSpec
	out      string
}

func parseQuorumPlan(c *cli.Context, name string) (*quorumPlan, error) {
	if !c.IsSet("quorum") {
		if len(c.StringSlice("officer")) > 0 || c.IsSet("shares-out") {
			return nil, clirun.Usage("--officer and --shares-out go with --quorum M")
		}
		return nil, nil
	}
	p := &quorumPlan{m: c.Int("quorum"), out: c.String("shares-out")}
	for _, s := range c.StringSlice("officer") {
		o, err := quorum.ParseOfficerSpec(s)
		if err != nil {
			return nil, clirun.Usage("--officer: %v", err)
		}
		p.officers = append(p.officers, o)
	}
	if p.m < 1 || p.m > len(p.officers) {
		return nil, clirun.Usage("--quorum %d with %d --officer: want 1 <= M <= the number of officers", p.m, len(p.officers))
	}
	if p.m == 1 && len(p.officers) > 1 {
		return nil, clirun.Usage("--quorum 1: any one officer alone could unlock it; dual control needs M >= 2")
	}
	needFiles := false
	for _, o := range p.officers {
		needFiles = needFiles || o.Recipient != quorum.PaperRecipient
	}
	if needFiles {
		if p.out == "" {
			return nil, clirun.Usage("--shares-out DIR is required: the officers' encrypted shares are written there")
		}
		if fi, err := os.Stat(p.out); err != nil || !fi.IsDir() {
			return nil, clirun.Usage("--shares-out %s: not an existing directory", p.out)
		}
		for _, o := range p.officers {
			if o.Recipient == quorum.PaperRecipient {
				continue
			}
			path := filepath.Join(p.out, quorum.FileName(name, o.Name))
			if _, err := os.Lstat(path); err == nil {
				return nil, withHints(fmt.Errorf("--shares-out: %s: %w", path, os.ErrExist))
			}
		}
	}
	return p, nil
}

// randomPIN is a PIN nobody types: 16 random bytes in hex.
func randomPIN() ([]byte, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(b[:])), nil
}

// writtenShares are the share files made for a quorum, so that a failure
// after them can take them back.
type writtenShares struct {
	files []string
	paper []string // "officer\ntext"
}

func (w *writtenShares) remove() {
	for _, f := range w.files {
		os.Remove(f)
	}
}

// writeShares writes each officer's share: an age file to their recipient in
// dir, or the paper form (returned, for printing). The shares are cleared.
func writeShares(appliance, dir string, cfg *quorum.Config, shares []*quorum.Share) (*writtenShares, error) {
	w := &writtenShares{}
	defer func() {
		for _, s := range shares {
			s.Clear()
		}
	}()
	for i, s := range shares {
		o := cfg.Officers[i]
		if o.Recipient == quorum.PaperRecipient {
			text, err := s.Paper()
			if err != nil {
				w.remove()
				return nil, err
			}
			w.paper = append(w.paper, o.Name+"\n"+text)
			continue
		}
		enc, err := s.Encrypt(o.Recipient)
		if err != nil {
			w.remove()
			return nil, fmt.Errorf("share of %s: %w", o.Name, err)
		}
		path := filepath.Join(dir, quorum.FileName(appliance, o.Name))
		if err := writeNewFile(path, enc, 0o600); err != nil {
			w.remove()
			return nil, withHints(fmt.Errorf("share of %s: %w", o.Name, err))
		}
		w.files = append(w.files, path)
	}
	return w, nil
}

func (w *writtenShares) print(cfg *quorum.Config) {
	printf("officer quorum: any %d of %d officers unlock the token (quorum %s)\n", cfg.Threshold, len(cfg.Officers), cfg.ID[:8])
	for _, f := range w.files {
		printf("  share written: %s\n", f)
	}
	for _, p := range w.paper {
		name, text, _ := cutLine(p)
		printf("paper share of %s (write it down; it is shown once):\n%s\n", name, text)
	}
}

func cutLine(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func quorumCommand() *cli.Command {
	return &cli.Command{
		Name:  "quorum",
		Usage: "the officer quorum that unlocks the token (M of N shares of its PINs)",
		Subcommands: []*cli.Command{
			{
				Name:   "show",
				Usage:  "list the officers and the threshold (no token needed)",
				Flags:  []cli.Flag{clirun.JSONFlag},
				Action: quorumShow,
			},
			{
				Name:      "reshare",
				Usage:     "split the PINs again among a new set of officers; needs a quorum of the current ones",
				UsageText: "appliance quorum reshare --quorum M --officer NAME=AGE-RECIPIENT... --shares-out DIR --share FILE --share-identity FILE ...",
				Description: "A quorum of the current officers unlocks the token; the PINs are split into new shares for\n" +
					"the officers named (an officer who leaves is simply not named) under a new quorum ID. The\n" +
					"quorum-created entry is logged, then config.json names the new quorum: from then on the old\n" +
					"shares are refused.",
				Flags:  append(quorumInitFlags(), pinFileFlag),
				Action: quorumReshare,
			},
		},
	}
}

func quorumShow(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	q := h.Config.Quorum
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, q)
	}
	if q == nil {
		printf("no officer quorum: the token PIN is given with --pin-file, $DACLINE_HSM_PIN or a prompt\n")
		return nil
	}
	printf("officer quorum %s: any %d of %d officers\n", q.ID, q.Threshold, len(q.Officers))
	for _, o := range q.Officers {
		printf("  %-20s share %d  %s\n", o.Name, o.X, o.Recipient)
	}
	return nil
}

func quorumReshare(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h0, err := openHome(c)
	if err != nil {
		return err
	}
	name := h0.Config.Name
	h0.Close()
	plan, err := parseQuorumPlan(c, name)
	if err != nil {
		return err
	}
	if plan == nil {
		return clirun.Usage("--quorum M and --officer NAME=AGE-RECIPIENT are required")
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	if h.Config.Quorum == nil {
		return withHints(home.ErrNoQuorum)
	}
	pins, _, err := tokenPINs(c, h)
	if err != nil {
		return err
	}
	defer pins.Clear()
	cfg, shares, err := quorum.Split(name, pins, plan.m, plan.officers, rand.Reader)
	if err != nil {
		return err
	}
	w, err := writeShares(name, plan.out, cfg, shares)
	if err != nil {
		return err
	}
	if err := u.Reshare(cfg); err != nil {
		w.remove()
		return withHints(err)
	}
	w.print(cfg)
	printf("the previous shares are no longer accepted\n")
	return checkpointAfter(u, "the re-share")
}

// tokenPINs combines the shares again for the PINs themselves (reshare
// splits both the user and the SO PIN).
func tokenPINs(c *cli.Context, h *home.Home) (quorum.PINs, []string, error) {
	shares, err := readShares(c, h)
	defer func() {
		for _, s := range shares {
			s.Clear()
		}
	}()
	if err != nil {
		return quorum.PINs{}, nil, err
	}
	p, o, err := h.QuorumPINs(shares)
	return p, o, quorumHint(err)
}
