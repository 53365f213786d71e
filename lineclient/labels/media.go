package labels

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// mmPerInch and mmPerPoint convert the units label stock and fonts are sold in.
const (
	mmPerInch  = 25.4
	mmPerPoint = mmPerInch / 72
)

// MinSheetMargin is the least distance, in millimetres, between any ink
// (text or QR module) and the edge of a sheet page: office printers leave
// about 4 mm at the edges unprinted, and a code cut by that edge does not scan.
const MinSheetMargin = 5.0

// Size is a label's width and height in millimetres.
type Size struct{ W, H float64 }

// DefaultRollSize is the common 2" × 1" thermal label.
var DefaultRollSize = Size{2 * mmPerInch, 1 * mmPerInch}

// String writes the size back in inches when it is a whole number of
// thousandths of an inch, else in millimetres.
func (s Size) String() string {
	w, h := s.W/mmPerInch, s.H/mmPerInch
	if thousandths(w) && thousandths(h) {
		return trimFloat(w) + "x" + trimFloat(h) + "in"
	}
	return trimFloat(s.W) + "x" + trimFloat(s.H) + "mm"
}

func thousandths(f float64) bool { return math.Abs(f*1000-math.Round(f*1000)) < 1e-6 }

func trimFloat(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64) }

// ParseSize reads a label size as operators write it on a roll's box:
// "2x1in", "2.25x1.25in", "50x25mm" (width first). Labels from 15 mm to
// 300 mm a side are accepted.
func ParseSize(s string) (Size, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	unit := 0.0
	switch {
	case strings.HasSuffix(in, "in"):
		unit, in = mmPerInch, strings.TrimSuffix(in, "in")
	case strings.HasSuffix(in, "mm"):
		unit, in = 1, strings.TrimSuffix(in, "mm")
	default:
		return Size{}, fmt.Errorf("label size %q: give a unit, e.g. 2x1in or 50x25mm", s)
	}
	ws, hs, ok := strings.Cut(in, "x")
	if !ok {
		return Size{}, fmt.Errorf("label size %q: want WIDTHxHEIGHT, e.g. 2x1in", s)
	}
	w, err1 := strconv.ParseFloat(strings.TrimSpace(ws), 64)
	h, err2 := strconv.ParseFloat(strings.TrimSpace(hs), 64)
	if err := errors.Join(err1, err2); err != nil {
		return Size{}, fmt.Errorf("label size %q: not a number", s)
	}
	sz := Size{w * unit, h * unit}
	for _, v := range []float64{sz.W, sz.H} {
		if !(v >= 15 && v <= 300) { // also refuses NaN
			return Size{}, fmt.Errorf("label size %q: each side must be between 15 and 300 mm", s)
		}
	}
	return sz, nil
}

// Sheet is a page of pre-cut labels in a grid, millimetres.
type Sheet struct {
	Name            string
	PageW, PageH    float64
	Cols, Rows      int
	Label           Size
	Left, Top       float64 // page edge to the first label
	PitchX, PitchY  float64 // label origin to the next one (label plus gap)
	fpdfSize        string  // fpdf's name for the page size
	fpdfOrientation string
}

// The two office sheets stations print on. Their geometry is that of the
// usual laser-label stock sold for each paper size.
var (
	// SheetA4: 24 labels of 63.5 × 33.9 mm, 3 × 8 (e.g. Avery L7159).
	SheetA4 = Sheet{Name: "a4", PageW: 210, PageH: 297, Cols: 3, Rows: 8, Label: Size{63.5, 33.9},
		Left: 7.25, Top: 12.9, PitchX: 66.0, PitchY: 33.9, fpdfSize: "A4", fpdfOrientation: "P"}
	// SheetLetter: 30 labels of 2⅝" × 1", 3 × 10 (e.g. Avery 5160).
	SheetLetter = Sheet{Name: "letter", PageW: 215.9, PageH: 279.4, Cols: 3, Rows: 10, Label: Size{66.675, 25.4},
		Left: 4.7625, Top: 12.7, PitchX: 69.85, PitchY: 25.4, fpdfSize: "Letter", fpdfOrientation: "P"}
)

// PerPage is the number of labels on one sheet.
func (s Sheet) PerPage() int { return s.Cols * s.Rows }

// origin is the top-left corner of the i-th label on its page.
func (s Sheet) origin(i int) (x, y float64) {
	slot := i % s.PerPage()
	return s.Left + float64(slot%s.Cols)*s.PitchX, s.Top + float64(slot/s.Cols)*s.PitchY
}

// SheetByName returns the sheet for a --paper value.
func SheetByName(name string) (Sheet, bool) {
	switch strings.ToLower(name) {
	case "a4":
		return SheetA4, true
	case "letter":
		return SheetLetter, true
	}
	return Sheet{}, false
}
