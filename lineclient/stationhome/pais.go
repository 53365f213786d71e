package stationhome

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dacline/dacline/shared/matter"
)

// PAIsDir holds the further PAIs the station accepted in return bundles
// (the appliance renewed or rotated its PAI, or signs a product with another
// of its PAIs): pais/<first 16 hex digits of the DER's SHA-256>.pem. Each was
// checked by `lineclient batch import` as a Matter PAI the station's PAA
// issued, and is kept before the bundle's DACs are stored, so every stored
// DAC's PAI is in the home when `lineclient run` writes it to the module.
const PAIsDir = "pais"

// KeepPAI stores pai under PAIsDir (once; a second call is a no-op).
func (h *Home) KeepPAI(pai *x509.Certificate) error {
	sum := sha256.Sum256(pai.Raw)
	dir := h.Path(PAIsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := hex.EncodeToString(sum[:8]) + ".pem"
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return nil
	}
	tmp := filepath.Join(dir, name+".new")
	os.Remove(tmp)
	if err := writeFile(dir, name+".new", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pai.Raw}), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OtherPAIs reads the PAIs KeepPAI stored, in file name order.
func (h *Home) OtherPAIs() ([]*x509.Certificate, error) {
	ents, err := os.ReadDir(h.Path(PAIsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".pem") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []*x509.Certificate
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(h.Path(PAIsDir), n))
		if err != nil {
			return nil, err
		}
		c, err := matter.ParseCertificateAs(b, matter.PAI)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(h.Path(PAIsDir), n), err)
		}
		out = append(out, c)
	}
	return out, nil
}
