package main

// The control socket: while `lineclient run` holds station.db, the commands
// marked routed (status, batch export/import/cancel, manifest, labels, dacs
// export, module retry) are not refused as "in use" but sent to the running
// process, which runs them with the same code on its own open store. bbolt
// then has one process and one *DB: its transactions serialise the
// command's writes with the workers', and nothing is written by two
// processes. The socket is <home>/control.sock, mode 0600 in the 0700 home,
// and the server also checks the peer's uid (SO_PEERCRED).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/clirun"
)

// controlVersion is the version of the request and reply.
const controlVersion = 1

// Bounds on a request: it is a command line, never data.
const (
	maxControlRequest = 1 << 20
	maxControlArgs    = 256
)

// controlRequest is one command line forwarded by a client.
type controlRequest struct {
	Version int      `json:"version"`
	Args    []string `json:"args"` // without the program name
	Cwd     string   `json:"cwd"`  // the client's directory: relative paths are its
}

// controlReply is what the command printed and its exit code.
type controlReply struct {
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
	Code   int    `json:"code"`
}

// parseControlRequest reads one request: a JSON object on one line, strict.
func parseControlRequest(b []byte) (*controlRequest, error) {
	if len(b) > maxControlRequest {
		return nil, fmt.Errorf("control request: %d bytes, at most %d", len(b), maxControlRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r controlRequest
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("control request: %w", err)
	}
	if dec.More() {
		return nil, errors.New("control request: trailing data after the JSON object")
	}
	switch {
	case r.Version != controlVersion:
		return nil, fmt.Errorf("control request: version %d, want %d", r.Version, controlVersion)
	case len(r.Args) == 0 || len(r.Args) > maxControlArgs:
		return nil, fmt.Errorf("control request: %d arguments, want 1..%d", len(r.Args), maxControlArgs)
	case !filepath.IsAbs(r.Cwd):
		return nil, fmt.Errorf("control request: directory %q is not absolute", r.Cwd)
	}
	return &r, nil
}

// invocation is this process's command line (set by run), forwarded as is.
var invocation []string

type (
	sharedHomeKey struct{} // *stationhome.Home: the running process's open home
	routedKey     struct{} // set while a routed command runs in the server
	stdoutKey     struct{} // io.Writer: the request's stdout
	stderrKey     struct{} // io.Writer: the request's stderr
	cwdKey        struct{} // string: the request's directory
)

// stdout is where a command writes its normal output: the request's buffer
// when it runs for a client, else clirun.Stdout.
func stdout(c *cli.Context) io.Writer {
	if w, ok := c.Context.Value(stdoutKey{}).(io.Writer); ok {
		return w
	}
	return clirun.Stdout
}

// stderr is where a command writes warnings: the request's buffer when it
// runs for a client, else os.Stderr.
func stderr(c *cli.Context) io.Writer {
	if w, ok := c.Context.Value(stderrKey{}).(io.Writer); ok {
		return w
	}
	return os.Stderr
}

// userPath resolves a path the user typed: against the client's directory
// when the command runs for a client, as is otherwise.
func userPath(c *cli.Context, p string) string {
	if cwd, ok := c.Context.Value(cwdKey{}).(string); ok && p != "" && !filepath.IsAbs(p) {
		return filepath.Join(cwd, p)
	}
	return p
}

// sharedHome returns the home of the running process when the command runs
// for a client. A command not marked routed gets an error: it must never
// run inside `run` (a second runner, a new init…).
func sharedHome(c *cli.Context) (*stationhome.Home, bool, error) {
	h, ok := c.Context.Value(sharedHomeKey{}).(*stationhome.Home)
	if !ok {
		return nil, false, nil
	}
	if c.Context.Value(routedKey{}) == nil {
		return nil, true, fmt.Errorf("%s does not run while 'lineclient run' runs on this home", c.Command.FullName())
	}
	return h.Borrow(), true, nil
}

// routed marks a command that works while `lineclient run` runs: in a
// client it is forwarded to the running process when one serves the home;
// in that process it runs on the shared home.
func routed(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.Context.Value(sharedHomeKey{}) != nil {
			c.Context = context.WithValue(c.Context, routedKey{}, true)
			return action(c)
		}
		conn, err := stationhome.DialControl(c.String("home"))
		if errors.Is(err, stationhome.ErrNoControl) || len(invocation) < 2 {
			if conn != nil {
				conn.Close()
			}
			return action(c)
		}
		if err != nil {
			return clirun.WithHint(err, "a 'lineclient run' may be serving this home; if none is, remove the file")
		}
		defer conn.Close()
		return forward(conn, invocation[1:])
	}
}

// forward sends one command line and prints what the server ran it to.
func forward(conn *net.UnixConn, args []string) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	req, _ := json.Marshal(controlRequest{Version: controlVersion, Args: args, Cwd: cwd})
	if _, err := conn.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("control socket: send: %w", err)
	}
	conn.CloseWrite()
	var rep controlReply
	if err := json.NewDecoder(conn).Decode(&rep); err != nil {
		return clirun.WithHint(fmt.Errorf("control socket: no reply from the running lineclient: %w", err),
			"the command may or may not have run: see 'lineclient status' before running it again")
	}
	clirun.Stdout.Write(rep.Stdout)
	os.Stderr.Write(rep.Stderr)
	return clirun.Exited(rep.Code)
}

// controlServer runs forwarded commands one at a time on the open home.
type controlServer struct {
	ln   *stationhome.ControlListener
	home *stationhome.Home
	mu   sync.Mutex // one command at a time; Close waits for it
	wg   sync.WaitGroup
}

// serveControl starts serving the home's control socket.
func serveControl(h *stationhome.Home) (*controlServer, error) {
	if _, err := h.TempDir(); err != nil { // prepared once, before any borrower
		return nil, err
	}
	ln, err := h.ListenControl()
	if err != nil {
		return nil, err
	}
	s := &controlServer{ln: ln, home: h}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *controlServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.handle(c)
		}()
	}
}

func (s *controlServer) handle(c *net.UnixConn) {
	if ok, err := stationhome.PeerIsOwner(c); err != nil || !ok {
		return
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxControlRequest+1), 64<<10).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	var rep controlReply
	req, err := parseControlRequest(line)
	if err != nil {
		rep = controlReply{Stderr: []byte("lineclient: error: " + err.Error() + "\n"), Code: 2}
	} else {
		rep = s.execute(req)
	}
	c.SetWriteDeadline(time.Now().Add(time.Minute))
	json.NewEncoder(c).Encode(rep)
}

// execute runs one command line with the program's own code.
func (s *controlServer) execute(req *controlRequest) controlReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out, errb bytes.Buffer
	ctx := context.WithValue(context.Background(), sharedHomeKey{}, s.home)
	ctx = context.WithValue(ctx, stdoutKey{}, io.Writer(&out))
	ctx = context.WithValue(ctx, stderrKey{}, io.Writer(&errb))
	ctx = context.WithValue(ctx, cwdKey{}, req.Cwd)
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errb
	code := clirun.MainContext(ctx, app, append([]string{"lineclient"}, req.Args...), &errb)
	return controlReply{Stdout: out.Bytes(), Stderr: errb.Bytes(), Code: code}
}

// Close stops accepting, waits for the command in progress and removes the
// socket.
func (s *controlServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}
