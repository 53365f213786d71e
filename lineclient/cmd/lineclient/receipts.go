package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/clirun"
)

// receiptsDir is where the station keeps a copy of every bundle it exported
// and imported, so the auditor's receipts never depend on a USB stick.
const receiptsDir = "receipts"

// keepReceipt copies a bundle the station wrote or imported into
// <home>/receipts (mode 0600, written to a temporary file, synced, then
// renamed). A receipt already there with the same content is kept; one with
// other content is never replaced.
func keepReceipt(h *stationhome.Home, bundlePath string) error {
	b, err := os.ReadFile(bundlePath)
	if err != nil {
		return receiptErr(bundlePath, err)
	}
	dir := h.Path(receiptsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return receiptErr(bundlePath, err)
	}
	// A bundle written again (export --rewrite) has the same name and other
	// bytes: it is kept next to the first, as <name>.2, <name>.3, …
	var dst string
	for n := 1; ; n++ {
		dst = filepath.Join(dir, filepath.Base(bundlePath))
		if n > 1 {
			dst += fmt.Sprintf(".%d", n)
		}
		old, err := os.ReadFile(dst)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return receiptErr(bundlePath, err)
		}
		if bytes.Equal(old, b) {
			return nil
		}
	}
	f, err := os.CreateTemp(dir, ".receipt-*")
	if err != nil {
		return receiptErr(bundlePath, err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, dst)
	}
	if werr != nil {
		os.Remove(tmp)
		return receiptErr(bundlePath, werr)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func receiptErr(path string, err error) error {
	return clirun.WithHint(fmt.Errorf("receipt of %s: %w", filepath.Base(path), err),
		"the batch is recorded in the station; copy the bundle into the home's receipts directory by hand")
}
