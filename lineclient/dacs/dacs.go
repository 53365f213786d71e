// Package dacs exports the Device Attestation Certificates of provisioned
// modules for a device maker's back end (device registry, cloud onboarding
// allow-list): one file per module, PEM or DER.
//
// Which modules: by default the finished ones (state done: credentials
// written, attested, locked and the lock read back), which are exactly the
// manifest's deployed rows and the devices that ship. With All, also the
// modules that hold a DAC and are still on their way (dac-received through
// locked); their DAC may yet end up unused. The DACs of failed modules are
// never exported: they will never be in a shipped device, and belong on a
// revocation list (the manifest lists them as unused for 'appliance crl').
//
// Invariants:
//   - a file is named by the module's MAC, lower-case hex without
//     separators ("240ac4000102.pem"): the MAC is the station's key for a
//     module, the manifest's first column and unique per chip, and the name
//     is valid on a FAT-formatted stick;
//   - an existing file is never overwritten: one with the same content
//     counts as already exported (an export into the same directory picks
//     up where the last one stopped), one with other content stops the
//     export with ErrExists;
//   - each file is written through a temporary file, fsynced, renamed
//     without replacing and read back (bundle.WriteFileAtomic): a file is
//     whole or absent, whatever happens to the medium;
//   - a DAC is exported only if it matches the digest the station recorded
//     when it imported it, and parses as a certificate.
package dacs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/station"
)

// Format is the file encoding.
type Format string

const (
	PEM Format = "pem" // "-----BEGIN CERTIFICATE-----", one certificate per file
	DER Format = "der" // the certificate's DER bytes
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case PEM, DER:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want pem or der", s)
}

// Errors callers branch on.
var (
	// ErrExists: a file of that name holds something other than the DAC.
	ErrExists = errors.New("file exists with other content")
	// ErrNothing: no module has a DAC to export.
	ErrNothing = errors.New("no module has a dac to export")
)

// Options choose what is exported.
type Options struct {
	Format Format
	All    bool // also modules still in progress (dac-received … locked)
	Batch  string
}

// Result counts what Export did.
type Result struct {
	Written int // new files
	Present int // files already there with the same content
}

// FileName is the file a module's DAC is written to.
func FileName(mac string, f Format) string {
	return strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(mac)) + "." + string(f)
}

// safeName keeps a module ID a lying module reported from naming a path.
var safeName = regexp.MustCompile(`^[0-9a-z]{1,64}\.(pem|der)$`)

// Export writes the DACs into dir, which must exist (a mounted stick).
func Export(st *station.Store, dir string, o Options) (*Result, error) {
	if o.Format != PEM && o.Format != DER {
		return nil, fmt.Errorf("dac export: format %q: want pem or der", o.Format)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("output directory %s: not a directory", dir)
	}
	states := []station.State{station.StateDone}
	if o.All {
		states = []station.State{station.StateDACReceived, station.StateWriting, station.StateCredentialsWritten,
			station.StateAttested, station.StateLocking, station.StateLocked, station.StateDone}
	}
	// MACs first, files after: no file is written inside a read transaction.
	var macs []string
	for _, s := range states {
		err := st.ForEachInState(s, func(m *station.Module) error {
			if o.Batch == "" || m.BatchID == o.Batch {
				macs = append(macs, m.MAC)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(macs) == 0 {
		return nil, ErrNothing
	}
	res := &Result{}
	for _, mac := range macs {
		c, err := st.Credentials(mac)
		if err != nil {
			return res, fmt.Errorf("module %s: %w", mac, err)
		}
		if _, err := x509.ParseCertificate(c.DAC); err != nil {
			return res, fmt.Errorf("module %s: stored dac does not parse: %w", mac, err)
		}
		data := c.DAC
		if o.Format == PEM {
			data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DAC})
		}
		name := FileName(mac, o.Format)
		if !safeName.MatchString(name) {
			return res, fmt.Errorf("module %q: its id cannot be a file name", mac)
		}
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil {
			if !bytes.Equal(old, data) {
				return res, fmt.Errorf("module %s: %s: %w", mac, path, ErrExists)
			}
			res.Present++
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("module %s: %w", mac, err)
		}
		_, err = bundle.WriteFileAtomic(dir, name, func(w io.Writer) error { _, err := w.Write(data); return err }, nil)
		if err != nil {
			return res, fmt.Errorf("module %s: %w", mac, err)
		}
		res.Written++
	}
	return res, nil
}
