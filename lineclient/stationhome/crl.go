package stationhome

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dacline/dacline/shared/matter"
)

// CRLFile is the latest CRL of the station's PAI (`lineclient crl import`):
// the station refuses to write a DAC it lists.
const CRLFile = "crl.der"

// ErrCRLNotNewer: an imported CRL's number is not above the one installed.
var ErrCRLNotNewer = errors.New("crl is not newer than the one installed")

// CRL returns the installed CRL, verified against the station's PAI, or nil
// when none was imported.
func (h *Home) CRL() (*x509.RevocationList, error) {
	b, err := os.ReadFile(h.Path(CRLFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pai, _, err := h.Certificates()
	if err != nil {
		return nil, err
	}
	crl, err := matter.ParseCRLFrom(b, pai)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Path(CRLFile), err)
	}
	return crl, nil
}

// ImportCRL installs data as the station's CRL after checking that the
// station's PAI signed it and that its CRL number is above the installed
// one's (an older CRL would un-revoke DACs). The file is replaced
// atomically: a reader sees the old CRL or the new one.
func (h *Home) ImportCRL(data []byte) (*x509.RevocationList, error) {
	pai, _, err := h.Certificates()
	if err != nil {
		return nil, err
	}
	crl, err := matter.ParseCRLFrom(data, pai)
	if err != nil {
		return nil, err
	}
	old, err := h.CRL()
	if err != nil {
		return nil, err
	}
	if old != nil && crl.Number.Cmp(old.Number) <= 0 {
		return nil, fmt.Errorf("crl number %s: %w (number %s, issued %s)", crl.Number, ErrCRLNotNewer, old.Number, old.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if err := replaceFile(h.Path(CRLFile), crl.Raw); err != nil {
		return nil, err
	}
	return crl, nil
}

// replaceFile writes path atomically: temporary file, fsync, rename, fsync
// of the directory.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".crl-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
