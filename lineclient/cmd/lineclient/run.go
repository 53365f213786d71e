package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/dacline/dacline/lineclient/batch"
	"github.com/dacline/dacline/lineclient/runner"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/clirun"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "drive the jigs: keygen, credential writes, attestation, lock",
		Description: "One worker per --port, all in parallel. Modules are detected as they are put on and\n" +
			"taken off the jigs; each gets the next step its record allows. Ctrl-C stops at a safe\n" +
			"point (a second Ctrl-C stops at once; the station resumes either way).",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "port", Usage: "serial port of a jig (repeat for each jig)", Required: true, EnvVars: []string{"DACLINE_PORTS"}},
			&cli.BoolFlag{Name: "until-idle", Usage: "exit once every port has had nothing to do for --idle-timeout"},
			&cli.DurationFlag{Name: "idle-timeout", Value: 10 * time.Second, Usage: "idle time that ends a run with --until-idle"},
			&cli.IntFlag{Name: "baud", Value: transport.DefaultBaud, Usage: "line rate"},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			if c.Duration("idle-timeout") <= 0 {
				return clirun.Usage("--idle-timeout must be positive")
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			pai, paa, err := h.Certificates()
			if err != nil {
				return err
			}
			cd, err := h.CD()
			if err != nil {
				return err
			}
			if len(cd) == 0 {
				return clirun.WithHint(fmt.Errorf("run: the station has no certification declaration to write to modules"),
					"re-initialize the station with 'lineclient init --cd cd.der' (for test VIDs: 'appliance cd create-test')")
			}
			vid, pid, err := product(h)
			if err != nil {
				return err
			}
			cdSigner, err := h.CDSigner()
			if err != nil {
				return err
			}
			checkCD, err := batch.CDCheck(cd, cdSigner)
			if err != nil {
				return err
			}
			crl, err := h.CRL() // 'lineclient crl import': DACs it lists are never written
			if err != nil {
				return err
			}
			others, err := h.OtherPAIs() // renewed or rotated PAIs accepted at import
			if err != nil {
				return err
			}
			// The commands an operator needs during the shift go through
			// this process (control.go) rather than wait for station.db.
			ctl, err := serveControl(h)
			if err != nil {
				return err
			}
			defer ctl.Close()
			prov := &runner.Provisioner{Store: st, PAI: pai, PAA: paa, OtherPAIs: others, CD: cd, VID: vid, PID: pid, CheckCD: checkCD, CRL: crl}
			if prov.FlashProduction, err = flashProductionConfigured(h); err != nil {
				return err
			}
			if h.Config.Product != nil {
				prov.ProductInfo = *h.Config.Product
			}
			ports := c.StringSlice("port")
			out := clirun.Stdout
			tty := false
			if f, ok := out.(*os.File); ok {
				tty = term.IsTerminal(int(f.Fd()))
			}
			disp := runner.NewDisplay(out, ports, tty)
			baud := c.Int("baud")
			r, err := runner.New(runner.Config{
				Ports: ports, UntilIdle: c.Bool("until-idle"), IdleTimeout: c.Duration("idle-timeout"),
				Open: func(path string) (runner.Port, error) {
					return transport.Open(path, transport.Config{Baud: baud})
				},
				Client: runnerClientOptions(baud),
				Events: disp.Event,
			}, prov)
			if err != nil {
				return clirun.Usage("%v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := make(chan struct{})
			sig := make(chan os.Signal, 2)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
			go func() {
				<-sig
				const msg = "lineclient: stopping after the current steps (Ctrl-C again to stop now)"
				if tty {
					disp.Notice(msg) // above the status block, which redraws below it
				} else {
					fmt.Fprintln(os.Stderr, msg)
				}
				close(stop)
				<-sig
				cancel()
			}()
			done := make(chan struct{})
			go func() {
				t := time.NewTicker(250 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						disp.Tick(r.Totals())
					}
				}
			}()
			tot, err := r.Run(ctx, stop)
			close(done)
			disp.Final(tot)
			if errors.Is(err, syscall.ENOSPC) {
				return clirun.WithHint(err, "the station's disk is full: free space on the disk of the station home, then run `lineclient run` again; every module resumes where its record says")
			}
			return err
		},
	}
}
