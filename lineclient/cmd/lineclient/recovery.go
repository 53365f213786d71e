package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/clirun"
)

var reasonFlag = &cli.StringFlag{Name: "reason", Usage: "why, in the operator's words (kept in the station record)", Required: true}

func batchCancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "take back a batch the appliance refused: its modules wait again with the same CSR",
		ArgsUsage: "ID",
		Description: "For a batch the appliance refused as a whole (quota, size, policy): every module of a batch not\n" +
			"answered yet, or every module the appliance refused in its answer, goes back to waiting for a\n" +
			"batch with the same CSR. The next 'batch export' takes them again (--limit splits them). The\n" +
			"cancellation is kept in the batch's record; a bundle that answers the batch later is refused.\n" +
			"A batch for which the appliance issued any DAC is never cancelled.",
		Flags: []cli.Flag{reasonFlag},
		Action: routed(func(c *cli.Context) error {
			if err := clirun.Args(c, "ID"); err != nil {
				return err
			}
			if err := station.CheckReasonText(c.String("reason")); err != nil {
				return clirun.Usage("--reason: %v", err)
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			b, err := st.CancelBatch(c.Args().First(), c.String("reason"))
			switch {
			case errors.Is(err, station.ErrUnknownBatch):
				return clirun.WithHint(err, "'lineclient status' lists the batches")
			case errors.Is(err, station.ErrCancel):
				return clirun.WithHint(err, "only a batch the appliance refused is cancelled; one it answered with DACs is imported")
			case err != nil:
				return err
			}
			fmt.Fprintf(stdout(c), "cancelled batch %s: %s back to waiting for a batch (same CSRs)\n", b.ID, plural(len(b.Cancel.Modules), "module"))
			fmt.Fprintln(stdout(c), "next: 'lineclient batch export --out DIR' (with --limit N to split them)")
			return nil
		}),
	}
}

// moduleRetryCommand is 'lineclient module retry'.
func moduleRetryCommand() *cli.Command {
	return &cli.Command{
		Name:      "retry",
		Usage:     "retry a module that failed for a transient cause (a jig glitch during lock)",
		ArgsUsage: "MAC",
		Description: "The module goes back to the state it failed from; the next time it is on a jig the station\n" +
			"takes that step again. Only lock-failed modules are retried: a failure that may mean the\n" +
			"module carries another chip's key or credentials never is, and refused or not-returned\n" +
			"modules are taken back with 'lineclient batch cancel'. Every retry is kept in the station\n" +
			"record, and a module is never retried twice for the same reason.",
		Flags: []cli.Flag{reasonFlag},
		Action: routed(func(c *cli.Context) error {
			if err := clirun.Args(c, "MAC"); err != nil {
				return err
			}
			if err := station.CheckReasonText(c.String("reason")); err != nil {
				return clirun.Usage("--reason: %v", err)
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			m, err := st.RetryModule(storeMAC(c.Args().First()), c.String("reason"))
			switch {
			case errors.Is(err, station.ErrNotFound):
				return clirun.WithHint(err, "give the MAC as 'lineclient status' lists it (aa:bb:cc:dd:ee:ff)")
			case errors.Is(err, station.ErrNotRetriable):
				return clirun.WithHint(err, "docs/line-operator.md, \"Retrying a module\", says which failures are retried")
			case err != nil:
				return err
			}
			fmt.Fprintf(stdout(c), "module %s back to %s: put it on a jig\n", m.MAC, m.State)
			return nil
		}),
	}
}

// storeMAC writes a MAC typed with or without separators, in any case, as
// the store keys it (aa:bb:cc:dd:ee:ff); anything else is returned as typed.
func storeMAC(s string) string {
	n := normalMAC(s)
	if len(n) != 12 {
		return s
	}
	for _, r := range n {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return s
		}
	}
	return n[0:2] + ":" + n[2:4] + ":" + n[4:6] + ":" + n[6:8] + ":" + n[8:10] + ":" + n[10:12]
}

// importHint adds the fix to a refused import.
func importHint(err error) error {
	switch {
	case clirun.HintOf(err) != "":
		return err
	case errors.Is(err, bundle.ErrCiphertext), errors.Is(err, bundle.ErrStructure),
		errors.Is(err, bundle.ErrHashMismatch), errors.Is(err, bundle.ErrAgeHeader):
		return clirun.WithHint(err, "the file is damaged (a truncated copy or a bad stick); nothing was imported: copy it again from the appliance's output, or ask the officer to write the return bundle again")
	case errors.Is(err, bundle.ErrWrongRecipient):
		return clirun.WithHint(err, "the bundle is for another station: import it on the station it names")
	}
	return err
}
