package labels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	qrmulti "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/dacline/dacline/shared/onboarding"
)

// testLabels returns n labels with real, distinct onboarding payloads, as
// the station would make them.
func testLabels(t testing.TB, n int) []Label {
	t.Helper()
	var out []Label
	for i := range n {
		p := onboarding.Payload{VID: 0xFFF1, PID: 0x8000, Discovery: onboarding.DiscoveryBLE,
			Discriminator: uint16(100 + i), Passcode: uint32(20202021 + 7*i)}
		qr, err := onboarding.EncodeQR(p)
		if err != nil {
			t.Fatal(err)
		}
		manual, err := onboarding.EncodeManual(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Label{QRPayload: qr, ManualCode: onboarding.FormatManual(manual),
			Serial: fmt.Sprintf("A1B2C3D4E5F6%04X", i), MAC: fmt.Sprintf("24:0a:c4:00:%02x:%02x", i/256, i%256)})
	}
	return out
}

// decodeQRs reads every QR code in img, as a phone or scanner would.
func decodeQRs(t testing.TB, img image.Image) []string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrmulti.NewQRCodeMultiReader().DecodeMultiple(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range res {
		out = append(out, r.GetText())
	}
	return out
}

func decodeQR(t testing.TB, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	r, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("no qr code read: %v", err)
	}
	return r.GetText()
}

// pngChunks lists a PNG file's chunks in order: type and data.
func pngChunks(t testing.TB, b []byte) (types []string, data map[string][]byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("not a png")
	}
	data = map[string][]byte{}
	for p := b[8:]; len(p) > 0; {
		if len(p) < 12 {
			t.Fatalf("truncated chunk")
		}
		n := int(binary.BigEndian.Uint32(p))
		typ, body := string(p[4:8]), p[8:8+n]
		if crc := binary.BigEndian.Uint32(p[8+n:]); crc != crc32.ChecksumIEEE(p[4:8+n]) {
			t.Fatalf("chunk %s: bad crc", typ)
		}
		types = append(types, typ)
		data[typ] = body
		p = p[12+n:]
	}
	return types, data
}

func TestPNGAt300DPIWithPHYs(t *testing.T) {
	l := testLabels(t, 1)[0]
	b, err := l.PNG(DefaultRollSize, PNGDPI)
	if err != nil {
		t.Fatal(err)
	}
	types, data := pngChunks(t, b)
	phys, ok := data["pHYs"]
	if !ok || len(phys) != 9 {
		t.Fatalf("no pHYs chunk (chunks %v)", types)
	}
	x, y, unit := binary.BigEndian.Uint32(phys), binary.BigEndian.Uint32(phys[4:]), phys[8]
	if x != 11811 || y != 11811 || unit != 1 { // 300 / 0.0254 m
		t.Fatalf("pHYs %d × %d per unit %d, want 11811 per metre (300 dpi)", x, y, unit)
	}
	// PNG spec: pHYs must come before the first IDAT.
	if strings.Index(strings.Join(types, " "), "pHYs") > strings.Index(strings.Join(types, " "), "IDAT") {
		t.Fatalf("pHYs after IDAT: %v", types)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != (image.Point{600, 300}) {
		t.Fatalf("a 2\" × 1\" label at 300 dpi is %v pixels, want 600 × 300", got)
	}
	if got := decodeQR(t, img); got != l.QRPayload {
		t.Fatalf("qr code reads %q, want %q", got, l.QRPayload)
	}
	// Text right of the code: some ink there.
	if ink := inkBox(img.(*image.Gray), image.Rect(300, 0, 600, 300)); ink.Empty() {
		t.Fatal("no text right of the qr code")
	}
	if _, err := l.PNG(DefaultRollSize, 10); err == nil {
		t.Fatal("10 dpi accepted")
	}
}

// inkBox is the bounding box of the dark pixels of img inside r.
func inkBox(img *image.Gray, r image.Rectangle) image.Rectangle {
	box := image.Rectangle{}
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.GrayAt(x, y).Y < 160 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box
}

func TestWritePNGs(t *testing.T) {
	dir := t.TempDir()
	n, err := WritePNGs(filepath.Join(dir, "png"), testLabels(t, 3), DefaultRollSize, PNGDPI)
	if err != nil || n != 3 {
		t.Fatalf("%d %v", n, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "png", "A1B2C3D4E5F60000.png"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("png: %v %v", fi, err)
	}
	bad := testLabels(t, 2)
	bad[1].Serial = "../x"
	if n, err := WritePNGs(dir, bad, DefaultRollSize, PNGDPI); err == nil || n != 1 {
		t.Fatalf("path traversal in serial: wrote %d, %v", n, err)
	}
	if _, err := WritePNGs(dir, nil, DefaultRollSize, PNGDPI); err != ErrNoLabels {
		t.Fatalf("no labels: %v", err)
	}
}

func TestLabelRefusesWhatCannotBePrinted(t *testing.T) {
	base := testLabels(t, 1)[0]
	for name, mut := range map[string]func(*Label){
		"zpl caret in serial":    func(l *Label) { l.Serial = "A^XZ" },
		"zpl tilde in mac":       func(l *Label) { l.MAC = "~JR" },
		"newline in manual":      func(l *Label) { l.ManualCode = "1\n2" },
		"no payload":             func(l *Label) { l.QRPayload = "" },
		"no serial":              func(l *Label) { l.Serial = "" },
		"overlong mac":           func(l *Label) { l.MAC = strings.Repeat("a", 65) },
		"non-ascii serial":       func(l *Label) { l.Serial = "Ä1" },
		"serial too long to fit": func(l *Label) { l.Serial = strings.Repeat("W", 60) },
	} {
		l := base
		mut(&l)
		if _, err := layoutLabel(l, DefaultRollSize); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := layoutLabel(base, Size{15, 15}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("15 × 15 mm label: %v", err)
	}
	if _, err := layoutLabel(base, DefaultRollSize); err != nil {
		t.Fatal(err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"2x1in": {50.8, 25.4}, "50x25mm": {50, 25}, " 2.25X1.25IN ": {57.15, 31.75}} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2x1", "2in", "x1in", "ax1in", "1x0.5in", "400x20mm", "NaNx20mm", "-2x1in", ""} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	if s := DefaultRollSize.String(); s != "2x1in" {
		t.Errorf("DefaultRollSize prints as %q", s)
	}
	if s := (Size{50, 25}).String(); s != "50x25mm" {
		t.Errorf("50 × 25 mm prints as %q", s)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"2x1in", "50x25mm", "1e400x1in", "2x1inin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sz, err := ParseSize(s)
		if err == nil && !(sz.W >= 15 && sz.W <= 300 && sz.H >= 15 && sz.H <= 300) {
			t.Fatalf("%q → %v", s, sz)
		}
	})
}
