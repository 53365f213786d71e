package main

import (
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/quorum"
)

// promptPaperShares asks on the terminal, without echo, for paper shares
// until the threshold is reached (an empty line stops early).
func promptPaperShares(h *home.Home) ([]*quorum.Share, error) {
	q := h.Config.Quorum
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil, fmt.Errorf("--paper-share: %w: standard input is not a terminal to type the shares on", hsm.ErrNoPIN)
	}
	var out []*quorum.Share
	for i := 0; i < q.Threshold; i++ {
		fmt.Fprintf(os.Stderr, "paper share %d of %d (the groups on one line; empty to stop): ", i+1, q.Threshold)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return out, fmt.Errorf("--paper-share: read from terminal: %w", err)
		}
		if len(b) == 0 {
			break
		}
		s, err := quorum.ParsePaper(string(b), q, h.Config.Name)
		clear(b)
		if err != nil {
			return out, quorumHint(err)
		}
		fmt.Fprintf(os.Stderr, "share of officer %s accepted\n", s.Officer)
		out = append(out, s)
	}
	return out, nil
}
