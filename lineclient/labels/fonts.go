package labels

import (
	"fmt"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// typeface is one TrueType font a label uses, with the metrics layout needs.
// The Go fonts (golang.org/x/image/font/gofont, BSD licence) are compiled
// into the program, so every output looks the same on every station and the
// PDF embeds exactly the bytes the layout was measured with.
type typeface struct {
	name string // the family name given to the PDF
	ttf  []byte
	sf   *sfnt.Font
	upem float64 // design units per em
	asc  float64 // ascent, in em
	desc float64 // descent (positive), in em
}

var (
	faceBold = mustTypeface("GoBold", gobold.TTF) // the manual pairing code
	faceMono = mustTypeface("GoMono", gomono.TTF) // serial number and MAC
)

// mustTypeface parses a font compiled into the program; it cannot fail at
// run time unless the build itself is broken.
func mustTypeface(name string, ttf []byte) *typeface {
	sf, err := opentype.Parse(ttf)
	if err != nil {
		panic(fmt.Sprintf("labels: built-in font %s: %v", name, err))
	}
	upem := float64(sf.UnitsPerEm())
	var buf sfnt.Buffer
	m, err := sf.Metrics(&buf, fixed.I(int(upem)), font.HintingNone)
	if err != nil {
		panic(fmt.Sprintf("labels: built-in font %s: %v", name, err))
	}
	return &typeface{name: name, ttf: ttf, sf: sf, upem: upem,
		asc: float64(m.Ascent) / 64 / upem, desc: float64(m.Descent) / 64 / upem}
}

// width returns the advance width of s, in em, without kerning (the PDF
// writer does not kern either). A rune the font lacks is an error.
func (t *typeface) width(s string) (float64, error) {
	var buf sfnt.Buffer
	w := 0.0
	for _, r := range s {
		g, err := t.sf.GlyphIndex(&buf, r)
		if err != nil || g == 0 {
			return 0, fmt.Errorf("character %q is not in the %s font", r, t.name)
		}
		adv, err := t.sf.GlyphAdvance(&buf, g, fixed.I(int(t.upem)), font.HintingNone)
		if err != nil {
			return 0, fmt.Errorf("character %q: %w", r, err)
		}
		w += float64(adv) / 64 / t.upem
	}
	return w, nil
}

// face returns a rasterizing face of size points at dpi (PNG output).
func (t *typeface) face(size, dpi float64) (font.Face, error) {
	return opentype.NewFace(t.sf, &opentype.FaceOptions{Size: size, DPI: dpi, Hinting: font.HintingNone})
}
