package labels

import (
	"bufio"
	"fmt"
	"io"
	"math"
)

// ZPLDPIs are the print resolutions of Zebra-language thermal printers
// (6, 8, 12 and 24 dots per millimetre).
var ZPLDPIs = []int{152, 203, 300, 600}

// DefaultZPLDPI is the resolution of most desktop thermal label printers.
const DefaultZPLDPI = 203

// WriteZPL writes one ZPL II format (^XA … ^XZ) per label for a thermal
// printer loaded with a roll of sz labels at dpi. The QR code is the
// printer's own (^BQ, model 2, level M, automatic input), so it prints with
// the printer's native dot geometry; the text uses the printer's scalable
// font 0 at the layout's sizes, each line boxed (^FB, one line) to the width
// the layout gives it, so nothing runs off the label. Label fields never hold
// ^ or ~ (Label.check), the only characters ZPL field data cannot carry.
func WriteZPL(w io.Writer, labels []Label, sz Size, dpi int) error {
	if len(labels) == 0 {
		return ErrNoLabels
	}
	ok := false
	for _, d := range ZPLDPIs {
		ok = ok || d == dpi
	}
	if !ok {
		return fmt.Errorf("zpl: %d dpi is not a thermal printer resolution (%v)", dpi, ZPLDPIs)
	}
	dots := func(mm float64) int { return int(math.Round(mm / mmPerInch * float64(dpi))) }
	bw := bufio.NewWriter(w)
	for _, l := range labels {
		lo, err := layoutLabel(l, sz)
		if err != nil {
			return err
		}
		mag := min(10, int(lo.module/mmPerInch*float64(dpi)))
		if mag < 1 {
			return fmt.Errorf("label %s: qr modules of %.2f mm are under one dot at %d dpi", l.Serial, lo.module, dpi)
		}
		// A whole number of dots per module makes the code a little smaller
		// than the layout's: keep it centred where the layout put it.
		slack := (lo.module/mmPerInch*float64(dpi) - float64(mag)) * float64(lo.qrModules) / 2
		fmt.Fprintf(bw, "^XA\n^FX dacline label %s\n^PW%d\n^LL%d\n^LH0,0\n", l.Serial, dots(sz.W), dots(sz.H))
		fmt.Fprintf(bw, "^FO%d,%d^BQN,2,%d,M^FDMA,%s^FS\n", dots(lo.qrX)+int(slack), dots(lo.qrY)+int(slack), mag, l.QRPayload)
		for _, ln := range lo.lines {
			h := dots(ln.size * mmPerPoint)
			top := ln.baseline - ln.face.asc*ln.size*mmPerPoint
			fmt.Fprintf(bw, "^FO%d,%d^A0N,%d,%d^FB%d,1,0,L,0^FD%s^FS\n", dots(ln.x), dots(top), h, h,
				dots(sz.W-textPad-ln.x), ln.text)
		}
		fmt.Fprintf(bw, "^PQ1\n^XZ\n")
	}
	return bw.Flush()
}
