package labels

import (
	"fmt"
	"io"
	"time"

	"github.com/go-pdf/fpdf"
)

// WritePDF writes the labels as a PDF: sheets of m.Sheet, or one page of the
// label size per label for a roll. The fonts are embedded (TrueType subsets
// of the Go fonts), so the file prints the same from any viewer or printer
// driver, and the QR code is drawn as vector squares so it prints sharp at
// any resolution. On a sheet, ink keeps MinSheetMargin from every page edge.
func WritePDF(w io.Writer, labels []Label, m Media) error {
	if len(labels) == 0 {
		return ErrNoLabels
	}
	page := m.Size
	if m.Sheet != nil {
		page = Size{m.Sheet.PageW, m.Sheet.PageH}
	}
	layouts := make([]*layout, len(labels))
	for i, l := range labels {
		lo, err := layoutLabel(l, m.Size)
		if err != nil {
			return err
		}
		layouts[i] = lo
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: page.W, Ht: page.H}})
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetCreator("dacline lineclient labels", true)
	pdf.SetCreationDate(time.Now().UTC())
	pdf.SetFillColor(0, 0, 0)
	pdf.SetTextColor(0, 0, 0)
	for _, f := range []*typeface{faceBold, faceMono} {
		pdf.AddUTF8FontFromBytes(f.name, "", f.ttf)
	}
	for i, lo := range layouts {
		x, y := 0.0, 0.0
		if m.Sheet != nil {
			if i%m.Sheet.PerPage() == 0 {
				pdf.AddPage()
			}
			x, y = m.Sheet.origin(i)
		} else {
			pdf.AddPage()
		}
		drawPDF(pdf, lo, x, y)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("labels pdf: %w", err)
	}
	return pdf.Output(w)
}

// drawPDF draws one label with its top-left corner at (x, y).
func drawPDF(pdf *fpdf.Fpdf, lo *layout, x, y float64) {
	// Dark modules as filled rectangles, joining runs in a row.
	for r, row := range lo.qr {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			pdf.Rect(x+lo.qrX+float64(start)*lo.module, y+lo.qrY+float64(r)*lo.module, float64(c-start)*lo.module, lo.module, "F")
		}
	}
	for _, ln := range lo.lines {
		pdf.SetFont(ln.face.name, "", ln.size)
		pdf.Text(x+ln.x, y+ln.baseline, ln.text)
	}
}
