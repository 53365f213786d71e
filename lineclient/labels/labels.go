package labels

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"

	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/shared/onboarding"
)

// Label is what one module's label shows.
type Label struct {
	QRPayload  string // "MT:…"
	ManualCode string // grouped, "3497-011-2332"
	Serial     string
	MAC        string
}

// Of builds a label from a manifest row.
func Of(r manifest.Row) Label {
	return Label{QRPayload: r.QRPayload, ManualCode: onboarding.FormatManual(r.ManualCode), Serial: r.SerialNumber, MAC: r.MAC}
}

func (l Label) qr() (*qrcode.QRCode, error) {
	// Level M (15 % recovery) is what Matter labels commonly use; the payload
	// is upper-case alphanumeric, so the code stays small (version 2).
	q, err := qrcode.New(l.QRPayload, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("label %s: qr code: %w", l.Serial, err)
	}
	return q, nil
}

// PNG renders the label: the QR code with the manual code and serial under it.
func (l Label) PNG() ([]byte, error) {
	q, err := l.qr()
	if err != nil {
		return nil, err
	}
	const qrSize, scale, pad = 300, 3, 12
	lines := []string{l.ManualCode, "SN " + l.Serial}
	w := qrSize
	for _, s := range lines {
		w = max(w, textWidth(s, scale)+2*pad)
	}
	h := qrSize + len(lines)*(9*scale) + pad
	img := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.Gray{Y: 255}}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect((w-qrSize)/2, 0, (w+qrSize)/2, qrSize), q.Image(qrSize), image.Point{}, draw.Src)
	y := qrSize
	for _, s := range lines {
		drawText(img, s, (w-textWidth(s, scale))/2, y, scale)
		y += 9 * scale
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("label %s: png: %w", l.Serial, err)
	}
	return buf.Bytes(), nil
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// WritePNGs writes one <serial>.png per label into dir (created 0700), each
// file 0600, and returns how many it wrote.
func WritePNGs(dir string, labels []Label) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("labels: %w", err)
	}
	for i, l := range labels {
		if !safeName.MatchString(l.Serial) {
			return i, fmt.Errorf("label %d: serial %q cannot be a file name", i+1, l.Serial)
		}
		b, err := l.PNG()
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

// Sheet geometry, millimetres: A4, 3 columns × 8 rows of 70 × 37 mm labels
// (the common 24-up sheet), no gaps.
const (
	sheetCols, sheetRows = 3, 8
	labelW, labelH       = 70.0, 37.0
	marginX              = (210.0 - sheetCols*labelW) / 2
	marginY              = (297.0 - sheetRows*labelH) / 2
	qrMM                 = 31.0
)

// ErrNoLabels: nothing to print.
var ErrNoLabels = errors.New("no labels to print")

// WritePDF writes the labels as A4 sheets.
func WritePDF(w io.Writer, labels []Label) error {
	if len(labels) == 0 {
		return ErrNoLabels
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetCreator("dacline lineclient labels", true)
	pdf.SetDrawColor(200, 200, 200)
	pdf.SetFillColor(0, 0, 0)
	perPage := sheetCols * sheetRows
	for i, l := range labels {
		if i%perPage == 0 {
			pdf.AddPage()
		}
		slot := i % perPage
		x := marginX + float64(slot%sheetCols)*labelW
		y := marginY + float64(slot/sheetCols)*labelH
		pdf.Rect(x, y, labelW, labelH, "D") // cut guide
		q, err := l.qr()
		if err != nil {
			return err
		}
		drawQR(pdf, q, x+3, y+3, qrMM)
		tx := x + 3 + qrMM + 2
		pdf.SetFont("Helvetica", "B", 11)
		pdf.Text(tx, y+12, l.ManualCode)
		pdf.SetFont("Helvetica", "", 7)
		pdf.Text(tx, y+18, "Manual pairing code")
		pdf.SetFont("Courier", "", 8)
		pdf.Text(tx, y+25, "SN "+l.Serial)
		pdf.Text(tx, y+30, l.MAC)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("labels pdf: %w", err)
	}
	return pdf.Output(w)
}

// drawQR draws the QR code's dark modules as filled squares, joining runs in
// a row into one rectangle, with the code's own quiet zone.
func drawQR(pdf *fpdf.Fpdf, q *qrcode.QRCode, x, y, size float64) {
	bm := q.Bitmap() // includes the quiet zone
	n := len(bm)
	cell := size / float64(n)
	for r, row := range bm {
		for c := 0; c < n; {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < n && row[c] {
				c++
			}
			pdf.Rect(x+float64(start)*cell, y+float64(r)*cell, float64(c-start)*cell, cell, "F")
		}
	}
}

// WritePDFFile writes the PDF atomically with mode 0600.
func WritePDFFile(path string, labels []Label) error {
	return manifest.AtomicWrite(path, 0o600, func(w io.Writer) error { return WritePDF(w, labels) })
}
