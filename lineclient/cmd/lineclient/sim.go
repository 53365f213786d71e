package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/clirun"
)

func simCommand() *cli.Command {
	return &cli.Command{
		Name:  "sim",
		Usage: "run virtual modules on pseudo-terminals (prints one device path a line)",
		Description: "Starts --count jigs, each a pseudo-terminal with a virtual module that speaks\n" +
			"docs/line-protocol.md, prints the device paths (one a line) and serves until\n" +
			"interrupted (SIGINT/SIGTERM), then saves every module's state and exits 0.\n\n" +
			"With --modules-per-jig K, jig j holds modules j*K … j*K+K-1 in turn: once a module\n" +
			"is settled and has answered --swap-polls IDENTIFY polls in a row (no other command\n" +
			"in between), another is put on the jig — as an operator takes a module off when the\n" +
			"station shows it waiting for its batch or done. A waiting module makes way for one\n" +
			"not keyed yet (--swap-at-wait, default on: 4 jigs of 3 give 12 CSRs in one run); a\n" +
			"locked one for the next that is not locked, going round, so the modules taken off\n" +
			"while they waited come back once their DACs can be. 'lineclient run' polls a settled\n" +
			"module every 500 ms; a stopped or killed station polls nothing, and its modules stay.\n\n" +
			"With --state DIR the jigs are also DIR/jig-0, DIR/jig-1, … (symlinks to the\n" +
			"pseudo-terminals, printed instead of them): the same ports across restarts. And\n" +
			"'lineclient sim pull --state DIR JIG' takes the module off a jig of the running\n" +
			"simulator.\n" +
			"Faults: " + fmt.Sprint(sim.FaultNames()) + ", e.g. noise=0.01,drop=0.01,silent=0.01.\n\n" +
			"With --download the modules start in their chip's ROM loader (download mode) for\n" +
			"'lineclient chip info', 'lineclient flash' and esptool; FLASH_END boots their firmware.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "count", Usage: fmt.Sprintf("number of jigs (pseudo-terminals), 1..%d", transport.MaxPorts), Required: true},
			&cli.StringFlag{Name: "state", Usage: "directory keeping one JSON file and one 4 MiB flash image (flash-<mac>.bin) per module (empty: memory only)", EnvVars: []string{"DACLINE_SIM_STATE"}},
			&cli.StringFlag{Name: "key-storage", Usage: "where new modules keep their DAC key: plaintext (in esp_secure_cert), efuse or derived (docs/esp32.md)", Value: "plaintext"},
			&cli.StringFlag{Name: "timing", Usage: "real (keygen ~300 ms, 115200 baud, eFuse burns) or fast", Value: "real"},
			&cli.StringFlag{Name: "faults", Usage: "fault rates, name=rate,… (see above)"},
			&cli.Uint64Flag{Name: "seed", Usage: "derives MACs, lying modules and fault dice", Value: 1},
			&cli.IntFlag{Name: "modules-per-jig", Usage: "modules that pass through each jig in turn", Value: 1},
			&cli.IntFlag{Name: "swap-polls", Usage: "IDENTIFY polls in a row a settled module answers before it is swapped", Value: 3},
			&cli.BoolFlag{Name: "swap-at-wait", Usage: "also swap a module waiting for its batch for one not keyed yet; taken-off modules come back round", Value: true},
			&cli.DurationFlag{Name: "run-for", Usage: "stop after this long (for scripts; default: until interrupted)"},
			&cli.BoolFlag{Name: "verbose", Usage: "log module events (insert, remove, reboot, faults) to stderr"},
			&cli.BoolFlag{Name: "download", Usage: "start the modules in the chip's ROM loader (download mode) for 'lineclient chip info', 'lineclient flash' and esptool"},
			&cli.StringFlag{Name: "chip", Value: "ESP32-C3", Usage: "chip the modules are: " + fmt.Sprint(romloader.ChipNames())},
			&cli.BoolFlag{Name: "secure-download", Usage: "with --download: the ROM is in secure download mode"},
			&cli.StringFlag{Name: "rom-faults", Usage: "ROM-loader fault rates, name=rate,…: " + fmt.Sprint(sim.ROMFaultNames())},
		},
		Subcommands: []*cli.Command{simPullCommand()},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			opts, err := simOptions(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			if d := c.Duration("run-for"); d > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
			return runSim(ctx, opts)
		},
	}
}

func simOptions(c *cli.Context) (sim.Options, error) {
	timing, err := sim.ParseTiming(c.String("timing"))
	if err != nil {
		return sim.Options{}, clirun.Usage("--timing: %v", err)
	}
	faults, err := sim.ParseFaults(c.String("faults"))
	if err != nil {
		return sim.Options{}, clirun.Usage("--faults: %v", err)
	}
	n := c.Int("count")
	if n < 1 || n > transport.MaxPorts {
		return sim.Options{}, clirun.Usage("--count %d: want 1..%d", n, transport.MaxPorts)
	}
	k := c.Int("modules-per-jig")
	if k < 1 {
		return sim.Options{}, clirun.Usage("--modules-per-jig %d: want at least 1", k)
	}
	if p := c.Int("swap-polls"); p < 1 {
		return sim.Options{}, clirun.Usage("--swap-polls %d: want at least 1", p)
	}
	dl, chip, err := downloadOptions(c)
	if err != nil {
		return sim.Options{}, err
	}
	opts := sim.Options{
		Count: n, ModulesPerJig: k, SwapPolls: c.Int("swap-polls"), SwapWaiting: c.Bool("swap-at-wait"), StateDir: c.String("state"),
		Timing: timing, Faults: faults, Seed: c.Uint64("seed"), KeyStorage: c.String("key-storage"),
		ChipModel: chip, Download: dl,
	}
	switch opts.KeyStorage {
	case sim.KeyPlaintext, sim.KeyEFuse, sim.KeyDerived:
	default:
		return sim.Options{}, clirun.Usage("--key-storage %q: want plaintext, efuse or derived", opts.KeyStorage)
	}
	if c.Bool("verbose") {
		opts.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "lineclient: sim: "+format+"\n", args...)
		}
	}
	return opts, nil
}

// runSim serves until ctx ends, then saves state.
func runSim(ctx context.Context, opts sim.Options) error {
	s, err := sim.Start(opts)
	if err != nil {
		return err
	}
	ports := s.Ports()
	if opts.StateDir != "" {
		if ports, err = linkJigs(opts.StateDir, s); err != nil {
			s.Close()
			return err
		}
		ln, err := serveSimControl(opts.StateDir, s)
		if err != nil {
			s.Close()
			return err
		}
		defer ln.Close()
	}
	for _, p := range ports {
		// clirun.Stdout is unbuffered (os.Stdout): each line is visible at once.
		if _, err := fmt.Fprintln(clirun.Stdout, p); err != nil {
			s.Close()
			return fmt.Errorf("print port: %w", err)
		}
	}
	<-ctx.Done()
	if err := s.Close(); err != nil {
		return fmt.Errorf("save simulator state: %w", err)
	}
	return nil
}
