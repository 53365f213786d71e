package hsm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/dacline/dacline/shared/testenv"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPINSources(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pin")
	os.WriteFile(good, []byte("123456\n"), 0o600)
	loose := filepath.Join(dir, "loose")
	os.WriteFile(loose, []byte("123456"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	pipeR, pipeW, _ := os.Pipe()
	defer pipeR.Close()
	defer pipeW.Close()

	tests := []struct {
		name    string
		src     PINSource
		want    string
		wantErr string
		is      error
	}{
		{name: "env", src: PINSource{Getenv: env(map[string]string{PINEnv: "9999"})}, want: "9999"},
		{name: "other env", src: PINSource{EnvVar: SOPINEnv, Getenv: env(map[string]string{SOPINEnv: "so"})}, want: "so"},
		{name: "file drops newline", src: PINSource{File: good, Getenv: env(nil)}, want: "123456"},
		{name: "file readable by others", src: PINSource{File: loose, Getenv: env(nil)}, is: ErrPINFileMode, wantErr: "mode 0644"},
		{name: "empty file", src: PINSource{File: empty, Getenv: env(nil)}, wantErr: "is empty"},
		{name: "missing file", src: PINSource{File: filepath.Join(dir, "nope"), Getenv: env(nil)}, is: os.ErrNotExist},
		{name: "env and file", src: PINSource{File: good, Getenv: env(map[string]string{PINEnv: "1"})}, wantErr: "both DACLINE_HSM_PIN and a PIN file"},
		{name: "no terminal", src: PINSource{Terminal: pipeR, Getenv: env(nil)}, is: ErrNoPIN, wantErr: "not a terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.src.Read()
			if tt.is == nil && tt.wantErr == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got PIN %q, want an error", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q lacks %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "123456") {
				t.Errorf("error reveals the PIN: %v", err)
			}
		})
	}
}

// TestPINPrompt types a PIN into a real pseudo-terminal.
func TestPINPrompt(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		ptmx, tty, err := pty.Open()
		if err != nil {
			testenv.Missing(t, "no pty: %v", err)
		}
		var prompts strings.Builder
		src := PINSource{What: "test PIN", Terminal: tty, Prompt: &prompts, Getenv: env(nil)}
		go func() {
			time.Sleep(20 * time.Millisecond)
			ptmx.Write([]byte("4242\r"))
			if confirm {
				time.Sleep(20 * time.Millisecond)
				ptmx.Write([]byte("4242\r"))
			}
		}()
		var pin []byte
		if confirm {
			pin, err = src.ReadNew()
		} else {
			pin, err = src.Read()
		}
		ptmx.Close()
		tty.Close()
		if err != nil || string(pin) != "4242" {
			t.Fatalf("confirm=%v: got %q, %v", confirm, pin, err)
		}
		if !strings.Contains(prompts.String(), "Enter test PIN") || confirm != strings.Contains(prompts.String(), "Repeat test PIN") {
			t.Errorf("prompts: %q", prompts.String())
		}
	}
}
