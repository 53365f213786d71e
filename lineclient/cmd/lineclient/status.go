package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/clirun"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "modules per state, batches, failures with reasons",
		Flags: []cli.Flag{
			clirun.JSONFlag,
			&cli.IntFlag{Name: "failures", Value: 20, Usage: "list at most `N` failed modules (-1 = all)"},
			&cli.BoolFlag{Name: "check", Usage: "also walk the whole store and check every invariant (slow on big stores)"},
		},
		Action: routed(func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			s, err := st.Status(c.Int("failures"))
			if err != nil {
				return clirun.WithHint(err, "%s", station.RecoveryHint)
			}
			var violations []string
			if c.Bool("check") {
				if violations, err = st.CheckInvariants(); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				out := struct {
					Station    string   `json:"station"`
					VID        string   `json:"vid"`
					PID        string   `json:"pid"`
					Violations []string `json:"violations,omitempty"`
					*station.Status
				}{h.Config.Name, h.Config.VID, h.Config.PID, violations, s}
				if err := clirun.PrintJSON(stdout(c), out); err != nil {
					return err
				}
			} else {
				printStatus(stdout(c), h.Config.Name, s, violations)
			}
			if len(violations) > 0 {
				return fmt.Errorf("station state breaks %d invariant(s)", len(violations))
			}
			return nil
		}),
	}
}

func printStatus(w io.Writer, name string, s *station.Status, violations []string) {
	fmt.Fprintf(w, "station %s: %d modules\n", name, s.Total)
	for _, st := range station.States {
		if n := s.States[st.String()]; n > 0 {
			fmt.Fprintf(w, "  %-20s %d\n", st, n)
		}
	}
	if len(s.Batches) > 0 {
		fmt.Fprintln(w, "batches:")
		for _, b := range s.Batches {
			var parts []string
			for _, st := range station.States {
				if n := b.States[st.String()]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s %d", st, n))
				}
			}
			fmt.Fprintf(w, "  %s  %-13s %d CSRs  created %s  %s\n", b.ID, b.State, b.Count,
				b.CreatedAt.UTC().Format("2006-01-02 15:04"), strings.Join(parts, ", "))
		}
	}
	if len(s.Reasons) > 0 {
		fmt.Fprintln(w, "failures by reason:")
		reasons := make([]string, 0, len(s.Reasons))
		for r := range s.Reasons {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			fmt.Fprintf(w, "  %-28s %d\n", r, s.Reasons[r])
		}
		for _, f := range s.Failures {
			fmt.Fprintf(w, "  %s  %s (in %s): %s\n", f.MAC, f.Reason, f.FailedFrom, f.Detail)
		}
		if s.FailuresOmitted > 0 {
			fmt.Fprintf(w, "  … %d more (--failures -1 lists all)\n", s.FailuresOmitted)
		}
	}
	for _, v := range violations {
		fmt.Fprintf(w, "VIOLATION: %s\n", v)
	}
}
