package labels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// PNGDPI is the resolution of label images unless asked otherwise: what
// desktop label printers and office printers print at.
const PNGDPI = 300

// PNG renders the label at its size and dpi (the image is size × dpi
// pixels) and records the resolution in the file's pHYs chunk, so a printer
// driver prints it at its real size. QR modules are snapped to whole pixels
// so the code prints crisp.
func (l Label) PNG(sz Size, dpi int) ([]byte, error) {
	if dpi < 72 || dpi > 1200 {
		return nil, fmt.Errorf("label %s: %d dpi is out of range (72 to 1200)", l.Serial, dpi)
	}
	lo, err := layoutLabel(l, sz)
	if err != nil {
		return nil, err
	}
	px := func(mm float64) int { return int(math.Round(mm / mmPerInch * float64(dpi))) }
	img := image.NewGray(image.Rect(0, 0, px(sz.W), px(sz.H)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	mod := int(lo.module / mmPerInch * float64(dpi))
	if mod < 1 {
		return nil, fmt.Errorf("label %s: qr modules of %.2f mm are under one pixel at %d dpi", l.Serial, lo.module, dpi)
	}
	// Centre the snapped code where the layout put it.
	slack := (lo.module/mmPerInch*float64(dpi) - float64(mod)) * float64(lo.qrModules) / 2
	ox, oy := px(lo.qrX)+int(slack), px(lo.qrY)+int(slack)
	for r, row := range lo.qr {
		for c, dark := range row {
			if dark {
				draw.Draw(img, image.Rect(ox+c*mod, oy+r*mod, ox+(c+1)*mod, oy+(r+1)*mod), image.Black, image.Point{}, draw.Src)
			}
		}
	}
	for _, ln := range lo.lines {
		face, err := ln.face.face(ln.size, float64(dpi))
		if err != nil {
			return nil, fmt.Errorf("label %s: font: %w", l.Serial, err)
		}
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face,
			Dot: fixed.Point26_6{X: fixed.Int26_6(ln.x / mmPerInch * float64(dpi) * 64), Y: fixed.Int26_6(ln.baseline / mmPerInch * float64(dpi) * 64)}}
		d.DrawString(ln.text)
		face.Close()
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("label %s: png: %w", l.Serial, err)
	}
	return withPHYs(buf.Bytes(), dpi)
}

// withPHYs inserts a pHYs chunk (PNG spec §11.3.5.3: pixels per metre on
// each axis, unit 1 = metre) right after IHDR, which image/png does not write.
func withPHYs(p []byte, dpi int) ([]byte, error) {
	const sigLen, ihdrLen = 8, 8 + 13 + 4
	if len(p) < sigLen+ihdrLen || string(p[sigLen+4:sigLen+8]) != "IHDR" {
		return nil, fmt.Errorf("png: no IHDR chunk")
	}
	ppm := uint32(math.Round(float64(dpi) / 0.0254))
	chunk := make([]byte, 0, 4+4+9+4)
	chunk = binary.BigEndian.AppendUint32(chunk, 9)
	chunk = append(chunk, "pHYs"...)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = append(chunk, 1)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	at := sigLen + ihdrLen
	out := make([]byte, 0, len(p)+len(chunk))
	out = append(append(append(out, p[:at]...), chunk...), p[at:]...)
	return out, nil
}
