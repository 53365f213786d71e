package labels

import (
	"fmt"

	"github.com/skip2/go-qrcode"
)

// Layout rules, millimetres unless named otherwise. Every output (PDF, PNG,
// ZPL) draws the same layout, so a label looks the same from every printer.
const (
	textPad   = 2.0  // label edge to any text
	qrInset   = 0.4  // label edge to the QR code's quiet zone
	quietZone = 4    // white modules around the QR code (ISO/IEC 18004 §9.1)
	minModule = 0.25 // smallest QR module a phone camera reads reliably at arm's length
	minTextPt = 4.5  // smallest text, in points, that still reads on a 203-dpi print
	qrShare   = 0.45 // the QR code takes at most this share of the label width
)

// line is one line of text on a label, placed in millimetres from the
// label's top-left corner.
type line struct {
	face     *typeface
	size     float64 // points
	x        float64
	baseline float64
	text     string
}

// layout is a label's content placed on a label of a given size.
type layout struct {
	size      Size
	qr        [][]bool // dark modules, without the quiet zone
	qrX, qrY  float64  // top-left corner of the first module
	module    float64  // side of one module
	lines     []line
	label     Label
	qrModules int // modules per side
}

// qrBitmap encodes the payload at error correction level M (15 %), which is
// what Matter labels commonly use; the "MT:" payload is upper-case
// alphanumeric, so the code stays small (version 2, 25 × 25 modules).
func qrBitmap(l Label) ([][]bool, error) {
	q, err := qrcode.New(l.QRPayload, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("label %s: qr code: %w", l.Serial, err)
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}

// layoutLabel places the QR code at the left, as large as the label height
// allows (with its quiet zone inside the label), and the manual pairing code,
// serial number and MAC to its right, each shrunk to fit the width left and
// the block centred vertically. A label whose code or text cannot be drawn
// legibly at this size is an error, never a clipped label.
func layoutLabel(l Label, sz Size) (*layout, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	bm, err := qrBitmap(l)
	if err != nil {
		return nil, err
	}
	n := len(bm)
	total := min(sz.H-2*qrInset, qrShare*sz.W)
	module := total / float64(n+2*quietZone)
	if module < minModule {
		return nil, fmt.Errorf("label %s: a %s label is too small for its %d×%d qr code (modules of %.2f mm, want at least %.2f)",
			l.Serial, sz, n, n, module, minModule)
	}
	lo := &layout{size: sz, qr: bm, module: module, label: l, qrModules: n,
		qrX: qrInset + quietZone*module, qrY: (sz.H-total)/2 + quietZone*module}

	type want struct {
		face    *typeface
		nominal float64
		text    string
		leading float64 // line height, in em
	}
	var wants []want
	if l.ManualCode != "" {
		wants = append(wants, want{faceBold, 12, l.ManualCode, 1.45})
	}
	wants = append(wants, want{faceMono, 7.5, "SN " + l.Serial, 1.3})
	if l.MAC != "" {
		wants = append(wants, want{faceMono, 7.5, "MAC " + l.MAC, 1.3})
	}
	x0 := qrInset + total // right after the quiet zone
	avail := sz.W - x0 - textPad
	sizes := make([]float64, len(wants))
	height := 0.0
	for i, w := range wants {
		em, err := w.face.width(w.text)
		if err != nil {
			return nil, fmt.Errorf("label %s: %q: %w", l.Serial, w.text, err)
		}
		sizes[i] = w.nominal
		if em*w.nominal*mmPerPoint > avail {
			sizes[i] = avail / (em * mmPerPoint)
		}
		height += sizes[i] * w.leading * mmPerPoint
	}
	// The last line needs only its ascent and descent, not its leading.
	last := len(wants) - 1
	height -= sizes[last] * (wants[last].leading - wants[last].face.asc - wants[last].face.desc) * mmPerPoint
	if availH := sz.H - 2*textPad; height > availH {
		for i := range sizes {
			sizes[i] *= availH / height
		}
		height = availH
	}
	top := (sz.H - height) / 2
	for i, w := range wants {
		if sizes[i] < minTextPt {
			return nil, fmt.Errorf("label %s: %q does not fit a %s label at a legible size (%.1f pt, want at least %.1f)",
				l.Serial, w.text, sz, sizes[i], minTextPt)
		}
		lo.lines = append(lo.lines, line{face: w.face, size: sizes[i], x: x0,
			baseline: top + w.face.asc*sizes[i]*mmPerPoint, text: w.text})
		top += sizes[i] * w.leading * mmPerPoint
	}
	return lo, nil
}

// check refuses label text that no output could print faithfully: labels may
// come from a manifest file, which is input like any other.
func (l Label) check() error {
	if l.QRPayload == "" {
		return fmt.Errorf("label %s: no qr payload", l.Serial)
	}
	for _, f := range []struct{ name, v string }{{"serial", l.Serial}, {"qr payload", l.QRPayload},
		{"manual code", l.ManualCode}, {"mac", l.MAC}} {
		if len(f.v) > 64 {
			return fmt.Errorf("label %s: %s is %d characters long (at most 64)", l.Serial, f.name, len(f.v))
		}
		for _, r := range f.v {
			if r < 0x20 || r > 0x7e || r == '^' || r == '~' {
				return fmt.Errorf("label %q: %s holds %q, which a label cannot print", l.Serial, f.name, r)
			}
		}
	}
	if l.Serial == "" {
		return fmt.Errorf("label for qr payload %s: no serial number", l.QRPayload)
	}
	return nil
}
