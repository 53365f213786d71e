package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/clirun"
)

// A simulator run with --state keeps, in that directory, a symlink per jig
// (jig-0, jig-1, …) to its pseudo-terminal, so the ports given to
// 'lineclient run' stay the same across restarts, and a control socket
// (sim.sock, 0600) through which 'lineclient sim pull' takes a module off a
// running jig, as an operator does.

const simSocket = "sim.sock"

// jigLink is the stable name of jig i under the state directory.
func jigLink(state string, i int) string { return filepath.Join(state, fmt.Sprintf("jig-%d", i)) }

// linkJigs points <state>/jig-N at the jigs' pseudo-terminals (replacing
// links left by an earlier run atomically) and returns the link paths.
func linkJigs(state string, s *sim.Sim) ([]string, error) {
	var out []string
	for i, p := range s.Ports() {
		link := jigLink(state, i)
		tmp := link + ".new"
		os.Remove(tmp)
		if err := os.Symlink(p, tmp); err != nil {
			return nil, fmt.Errorf("jig %d link: %w", i, err)
		}
		if err := os.Rename(tmp, link); err != nil {
			return nil, fmt.Errorf("jig %d link: %w", i, err)
		}
		abs, err := filepath.Abs(link)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}

// serveSimControl answers "pull JIG" on <state>/sim.sock until the listener
// is closed.
func serveSimControl(state string, s *sim.Sim) (net.Listener, error) {
	path := filepath.Join(state, simSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("sim control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				fmt.Fprintln(c, simControl(s, strings.Fields(line)))
			}()
		}
	}()
	return ln, nil
}

// simControl runs one control command and returns its one-line answer.
func simControl(s *sim.Sim, f []string) string {
	if len(f) != 2 || f[0] != "pull" {
		return "error: want: pull JIG"
	}
	i, err := strconv.Atoi(f[1])
	if err != nil || i < 0 || i >= len(s.Ports()) {
		return fmt.Sprintf("error: jig %q: want 0..%d", f[1], len(s.Ports())-1)
	}
	id, ok := s.Jig(i).Current()
	if !ok {
		return fmt.Sprintf("error: jig %d is empty", i)
	}
	s.Jig(i).Remove()
	return fmt.Sprintf("ok: module %d taken off jig %d", id, i)
}

func simPullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "take the module off a jig of a running 'lineclient sim --state DIR'",
		ArgsUsage: "JIG",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state", Usage: "the running simulator's state `DIR`", Required: true, EnvVars: []string{"DACLINE_SIM_STATE"}},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c, "JIG"); err != nil {
				return err
			}
			conn, err := net.DialTimeout("unix", filepath.Join(c.String("state"), simSocket), 2*time.Second)
			if err != nil {
				return clirun.WithHint(fmt.Errorf("sim pull: %w", err), "start the simulator with 'lineclient sim --state %s' first", c.String("state"))
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "pull %s\n", c.Args().First())
			ans, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				return fmt.Errorf("sim pull: no answer: %w", err)
			}
			ans = strings.TrimSpace(ans)
			if msg, bad := strings.CutPrefix(ans, "error: "); bad {
				return fmt.Errorf("sim pull: %s", msg)
			}
			fmt.Fprintln(stdout(c), strings.TrimPrefix(ans, "ok: "))
			return nil
		},
	}
}
