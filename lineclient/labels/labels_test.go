package labels

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/skip2/go-qrcode"
)

func testLabels(n int) []Label {
	var out []Label
	for i := range n {
		out = append(out, Label{QRPayload: "MT:Y.K9042C00KA0648G00", ManualCode: "3497-011-2332",
			Serial: "A1B2C3D4E5F6070" + string(rune('0'+i)), MAC: "24:0a:c4:00:00:01"})
	}
	return out
}

func TestPNG(t *testing.T) {
	b, err := testLabels(1)[0].PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() < 300 || img.Bounds().Dy() <= 300 {
		t.Fatalf("label is %v", img.Bounds())
	}
	// The QR part is the code of the payload: compare with a fresh rendering.
	q, _ := qrcode.New("MT:Y.K9042C00KA0648G00", qrcode.Medium)
	want := q.Image(300)
	off := (img.Bounds().Dx() - 300) / 2
	for y := 0; y < 300; y += 7 {
		for x := 0; x < 300; x += 7 {
			r1, _, _, _ := want.At(x, y).RGBA()
			r2, _, _, _ := img.At(x+off, y).RGBA()
			if (r1 > 0x7fff) != (r2 > 0x7fff) {
				t.Fatalf("qr pixel (%d,%d) differs", x, y)
			}
		}
	}
	// Some ink below the code: the text lines.
	ink := 0
	for y := 300; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x7fff {
				ink++
			}
		}
	}
	if ink < 100 {
		t.Fatalf("no text under the qr code (%d dark pixels)", ink)
	}
}

func TestWritePNGsAndPDF(t *testing.T) {
	dir := t.TempDir()
	n, err := WritePNGs(filepath.Join(dir, "png"), testLabels(3))
	if err != nil || n != 3 {
		t.Fatalf("%d %v", n, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "png", "A1B2C3D4E5F60700.png"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("png: %v %v", fi, err)
	}
	pdfPath := filepath.Join(dir, "labels.pdf")
	if err := WritePDFFile(pdfPath, testLabels(30)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pdfPath)
	if !bytes.HasPrefix(b, []byte("%PDF-")) || bytes.Count(b, []byte("/Type /Page\n")) != 2 {
		t.Fatalf("pdf: %d bytes, %d pages", len(b), bytes.Count(b, []byte("/Type /Page\n")))
	}
	if _, err := WritePNGs(dir, []Label{{QRPayload: "MT:Y.K9042C00KA0648G00", Serial: "../x"}}); err == nil {
		t.Fatal("path traversal in serial accepted")
	}
	if err := WritePDF(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("empty pdf written")
	}
}
