package hsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// PINEnv is the environment variable the user PIN may come from.
const PINEnv = "DACLINE_HSM_PIN"

// SOPINEnv is the environment variable a new token's SO PIN may come from.
const SOPINEnv = "DACLINE_HSM_SO_PIN"

// Sentinel errors for PIN sources; the command line adds the hint.
var (
	// ErrNoPIN: no PIN source is set and there is no terminal to prompt on.
	ErrNoPIN = errors.New("no PIN given")
	// ErrPINFileMode: the PIN file can be read by group or others.
	ErrPINFileMode = errors.New("PIN file is readable by group or others")
)

// maxPINFile bounds what is read from a PIN file.
const maxPINFile = 1024

// PINSource says where a PIN comes from: an environment variable, a file, or a
// prompt on the terminal, never a command-line value. The PIN is never logged
// and never part of an error message.
type PINSource struct {
	// What names the PIN in prompts and errors ("HSM user PIN").
	What string
	// EnvVar is the environment variable to read (PINEnv when empty).
	EnvVar string
	// File is a file holding the PIN (--pin-file); it must not be readable by
	// group or others. Trailing newlines are dropped.
	File string
	// Terminal is where to prompt (os.Stdin when nil); the prompt goes to
	// Prompt (os.Stderr when nil).
	Terminal *os.File
	Prompt   io.Writer
	// Getenv replaces os.Getenv in tests.
	Getenv func(string) string
}

func (s PINSource) what() string {
	if s.What == "" {
		return "HSM PIN"
	}
	return s.What
}

func (s PINSource) env() (name, val string) {
	name = s.EnvVar
	if name == "" {
		name = PINEnv
	}
	get := s.Getenv
	if get == nil {
		get = os.Getenv
	}
	return name, get(name)
}

// Given reports whether the environment variable or the file is set, i.e.
// whether Read will not prompt.
func (s PINSource) Given() bool {
	_, v := s.env()
	return v != "" || s.File != ""
}

// Read returns the PIN. Exactly one of the environment variable and the file may
// be set; with neither, it prompts on the terminal, and refuses when there is none.
func (s PINSource) Read() ([]byte, error) {
	name, val := s.env()
	switch {
	case val != "" && s.File != "":
		return nil, fmt.Errorf("%s: both %s and a PIN file are set; use one", s.what(), name)
	case val != "":
		return []byte(val), nil
	case s.File != "":
		return readPINFile(s.what(), s.File)
	}
	return s.prompt(false)
}

// ReadNew returns a PIN being set for the first time: like Read, but a prompt
// asks twice and the two must match.
func (s PINSource) ReadNew() ([]byte, error) {
	if s.Given() {
		return s.Read()
	}
	return s.prompt(true)
}

func readPINFile(what, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file", what, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %s (mode %04o): %w", what, path, fi.Mode().Perm(), ErrPINFileMode)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPINFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", what, path, err)
	}
	if len(b) > maxPINFile {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes", what, path, maxPINFile)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", what, path)
	}
	return b, nil
}

func (s PINSource) prompt(confirm bool) ([]byte, error) {
	in := s.Terminal
	if in == nil {
		in = os.Stdin
	}
	out := s.Prompt
	if out == nil {
		out = os.Stderr
	}
	name, _ := s.env()
	if !term.IsTerminal(int(in.Fd())) {
		return nil, fmt.Errorf("%s: %w: %s is not set, no PIN file was given, and standard input is not a terminal to prompt on", s.what(), ErrNoPIN, name)
	}
	read := func(label string) ([]byte, error) {
		fmt.Fprintf(out, "%s: ", label)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return nil, fmt.Errorf("%s: read from terminal: %w", s.what(), err)
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("%s: empty PIN", s.what())
		}
		return b, nil
	}
	pin, err := read("Enter " + s.what())
	if err != nil || !confirm {
		return pin, err
	}
	again, err := read("Repeat " + s.what())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pin, again) {
		return nil, fmt.Errorf("%s: %w", s.what(), ErrPINMismatch)
	}
	return pin, nil
}
