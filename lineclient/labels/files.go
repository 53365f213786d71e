package labels

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/dacline/dacline/lineclient/manifest"
)

var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// WritePNGs writes one <serial>.png per label into dir (created 0700), each
// file 0600 and durable (written, fsynced and renamed into place) before the
// next is started. It returns how many it wrote: on an error, labels[:n] are
// on disk and the rest are not.
func WritePNGs(dir string, labels []Label, sz Size, dpi int) (int, error) {
	if len(labels) == 0 {
		return 0, ErrNoLabels
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("labels: %w", err)
	}
	for i, l := range labels {
		if !safeName.MatchString(l.Serial) {
			return i, fmt.Errorf("label %d: serial %q cannot be a file name", i+1, l.Serial)
		}
		b, err := l.PNG(sz, dpi)
		if err != nil {
			return i, err
		}
		path := filepath.Join(dir, l.Serial+".png")
		err = manifest.AtomicWrite(path, 0o600, func(w io.Writer) error { _, err := w.Write(b); return err })
		if err != nil {
			return i, err
		}
	}
	return len(labels), nil
}

// WritePDFFile writes the PDF atomically and durably with mode 0600: the
// labels carry setup passcodes.
func WritePDFFile(path string, labels []Label, m Media) error {
	return manifest.AtomicWrite(path, 0o600, func(w io.Writer) error { return WritePDF(w, labels, m) })
}

// WriteZPLFile writes the ZPL atomically and durably with mode 0600.
func WriteZPLFile(path string, labels []Label, sz Size, dpi int) error {
	return manifest.AtomicWrite(path, 0o600, func(w io.Writer) error { return WriteZPL(w, labels, sz, dpi) })
}
