package stationhome

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// ControlSocket is the unix socket a running `lineclient run` listens on in
// its home, so the commands that need the store while the line runs (status,
// batch export and import, manifest, labels, …) are executed by the process
// that holds station.db, never by a second one.
const ControlSocket = "control.sock"

// ErrNoControl: no running lineclient listens on the home's control socket.
var ErrNoControl = errors.New("no running lineclient serves this station home")

// Borrow returns a view of h for one command run inside the process that
// opened h: it shares station.db, and its Close does nothing (the owner
// closes the home once, after every borrower is done).
func (h *Home) Borrow() *Home {
	c := *h
	c.borrowed = true
	return &c
}

// ControlListener is the listening control socket of a running station.
type ControlListener struct {
	*net.UnixListener
	path string
}

// Close stops listening and removes the socket file.
func (l *ControlListener) Close() error {
	err := l.UnixListener.Close()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// ListenControl makes the home's control socket (mode 0600 in the 0700
// home). The caller has the home open, so it holds station.db's lock and no
// other process can be serving this home: a socket file left by a killed run
// is stale and replaced.
func (h *Home) ListenControl() (*ControlListener, error) {
	if h.db == nil {
		return nil, fmt.Errorf("station home %s: not open", h.dir)
	}
	path := h.Path(ControlSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	var ln *net.UnixListener
	err := withShortPath(h.dir, func(p string) error {
		var err error
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // the name bound may be a /proc path; Close removes path
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &ControlListener{UnixListener: ln, path: path}, nil
}

// DialControl connects to the control socket of the home in dir. It returns
// ErrNoControl when no process serves it (no socket file, or a stale one).
func DialControl(dir string) (*net.UnixConn, error) {
	path := filepath.Join(dir, ControlSocket)
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoControl
	}
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return nil, fmt.Errorf("control socket %s: not a socket", path)
	}
	var c *net.UnixConn
	err = withShortPath(dir, func(p string) error {
		var err error
		c, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoControl
	}
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return c, nil
}

// PeerIsOwner reports whether the process at the other end of c runs as this
// process's user: the control socket serves no one else, whatever the file
// modes say.
func PeerIsOwner(c *net.UnixConn) (bool, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return false, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return false, err
	}
	if cerr != nil {
		return false, cerr
	}
	return int(cred.Uid) == os.Getuid(), nil
}

// withShortPath calls f with a name for <dir>/control.sock that fits a unix
// socket address (108 bytes): the path itself when short enough, else the
// same file reached through an open descriptor of dir (/proc/self/fd/N/…).
func withShortPath(dir string, f func(string) error) error {
	p := filepath.Join(dir, ControlSocket)
	if abs, err := filepath.Abs(p); err == nil && len(abs) < 100 {
		return f(abs)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return f(fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), ControlSocket))
}
