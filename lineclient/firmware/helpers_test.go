// Package firmware_test builds the C reference firmware (lineclient/firmware)
// and proves it against the Go host side over real PTYs: the lineproto
// client, and the station (`lineclient run`) end to end. The package has no
// Go code of its own: the firmware is C (see README.md).
package firmware_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/testenv"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  string
)

// firmwareDir is this package's directory (the C sources and Makefile).
func firmwareDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// requireToolchain stops t (testenv: skip locally, fail under CI) without a
// C compiler, make and the mbedTLS headers.
func requireToolchain(t testing.TB) {
	t.Helper()
	testenv.RequireTool(t, "cc", "make")
	testenv.RequireFile(t, "/usr/include/mbedtls/version.h", "mbedTLS headers (libmbedtls-dev)")
}

// TestMain removes what the tests built once for all of them.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if goBuildDir != "" {
		os.RemoveAll(goBuildDir)
	}
	os.Exit(code)
}

// buildFirmware builds bin/dacline-module once per test binary.
func buildFirmware(t testing.TB) string {
	t.Helper()
	requireToolchain(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dacline-fw-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		buildDir = dir
		args := []string{"-s", "-C", firmwareDir(t), "BIN=" + dir, "BUILD=" + filepath.Join(dir, "obj")}
		if cflags := os.Getenv("DACLINE_FW_CFLAGS"); cflags != "" {
			// e.g. "-O1 -g -fsanitize=address,undefined": the host program under the sanitizers
			args = append(args, "CFLAGS="+cflags)
		}
		if tree := os.Getenv("DACLINE_FW_MBEDTLS"); tree != "" {
			args = append(args, "MBEDTLS="+tree) // an mbedTLS source tree (e.g. 3.6) instead of the system's
		}
		cmd := exec.Command("make", args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err.Error() + "\n" + string(out)
		}
	})
	if buildErr != "" {
		t.Fatalf("build firmware: %s", buildErr)
	}
	return filepath.Join(buildDir, "dacline-module")
}

// module is one running dacline-module process.
type module struct {
	cmd  *exec.Cmd
	Path string // its PTY
	Dir  string // its state (flash, eFuses)
	done chan struct{}
}

// startModule starts the firmware on dir and waits for its PTY path.
func startModule(t testing.TB, bin, dir string, args ...string) *module {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--state", dir}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &module{cmd: cmd, Dir: dir, done: make(chan struct{})}
	go func() { cmd.Wait(); close(m.done) }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "/dev/") {
		m.Kill()
		t.Fatalf("dacline-module printed %q (%v), want a PTY path", line, err)
	}
	m.Path = strings.TrimSpace(line)
	t.Cleanup(m.Kill)
	return m
}

// Kill is a power cut: SIGKILL, and wait until the process is gone.
func (m *module) Kill() {
	if m.cmd.Process != nil {
		m.cmd.Process.Kill()
	}
	<-m.done
}

// Stop is an orderly SIGTERM.
func (m *module) Stop(t testing.TB) {
	m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		t.Fatal("dacline-module did not stop on SIGINT")
	}
	if code := m.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("dacline-module exited %d after SIGINT", code)
	}
}

// dial opens the module's PTY as a station does and returns a client.
func dial(t testing.TB, path string, opts lineproto.ClientOptions) *lineproto.Client {
	t.Helper()
	p, err := transport.Open(path, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := lineproto.NewClient(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
