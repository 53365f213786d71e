package labels

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dacline/dacline/shared/testenv"
)

// measureDPI is the resolution pages are rendered at to be measured: one
// pixel is 0.127 mm.
const measureDPI = 200

// page is one rendered page of a PDF and what poppler read from it.
type page struct {
	img      *image.Gray
	wMM, hMM float64
	ink      image.Rectangle // dark pixels
	words    []word
	wordsW   float64 // page width in points, as pdftotext gives it
	wordsH   float64
}

type word struct {
	text                   string
	xMin, yMin, xMax, yMax float64 // points from the top-left corner
}

// edges returns the distance in millimetres from the ink to the left, top,
// right and bottom page edges.
func (p page) edges() [4]float64 {
	mm := func(px int) float64 { return float64(px) * mmPerInch / measureDPI }
	b := p.img.Bounds()
	return [4]float64{mm(p.ink.Min.X), mm(p.ink.Min.Y), mm(b.Max.X - p.ink.Max.X), mm(b.Max.Y - p.ink.Max.Y)}
}

var (
	pageRe = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">`)
	wordRe = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>`)
)

// renderPDF renders every page with poppler's pdftoppm and reads every
// word's box with pdftotext -bbox: the measurements come from the PDF as a
// printer driver would see it, not from the layout code.
func renderPDF(t *testing.T, pdf []byte) []page {
	t.Helper()
	testenv.RequireTool(t, "pdftoppm", "pdftotext")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-gray", "-png", "-r", strconv.Itoa(measureDPI), in, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	html, err := exec.Command("pdftotext", "-bbox", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "p-*.png"))
	slices.Sort(files)
	pagesHTML := strings.Split(string(html), "<page ")[1:]
	if len(pagesHTML) != len(files) {
		t.Fatalf("pdftoppm made %d pages, pdftotext read %d", len(files), len(pagesHTML))
	}
	var pages []page
	for i, f := range files {
		b, _ := os.ReadFile(f)
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		g := image.NewGray(img.Bounds())
		draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
		p := page{img: g, ink: inkBox(g, g.Bounds())}
		p.wMM = float64(g.Bounds().Dx()) * mmPerInch / measureDPI
		p.hMM = float64(g.Bounds().Dy()) * mmPerInch / measureDPI
		pm := pageRe.FindStringSubmatch("<page " + pagesHTML[i])
		p.wordsW, _ = strconv.ParseFloat(pm[1], 64)
		p.wordsH, _ = strconv.ParseFloat(pm[2], 64)
		for _, m := range wordRe.FindAllStringSubmatch(pagesHTML[i], -1) {
			w := word{text: m[5]}
			for j, dst := range []*float64{&w.xMin, &w.yMin, &w.xMax, &w.yMax} {
				*dst, _ = strconv.ParseFloat(m[j+1], 64)
			}
			p.words = append(p.words, w)
		}
		pages = append(pages, p)
	}
	return pages
}

// TestSheetMarginsMeasuredFromThePDF: on A4 and Letter sheets, every dark
// pixel of the rendered pages (QR modules and text alike) and every word box
// poppler reads is at least 5 mm from every page edge; every code scans to
// its label's payload and every label's text is there.
func TestSheetMarginsMeasuredFromThePDF(t *testing.T) {
	for _, sheet := range []Sheet{SheetA4, SheetLetter} {
		t.Run(sheet.Name, func(t *testing.T) {
			ls := testLabels(t, sheet.PerPage()+5) // a full page and a part-filled one
			var buf bytes.Buffer
			if err := WritePDF(&buf, ls, OnSheet(sheet)); err != nil {
				t.Fatal(err)
			}
			pages := renderPDF(t, buf.Bytes())
			if len(pages) != 2 {
				t.Fatalf("%d pages, want 2", len(pages))
			}
			if w, h := pages[0].wMM, pages[0].hMM; abs(w-sheet.PageW) > 0.5 || abs(h-sheet.PageH) > 0.5 {
				t.Fatalf("page is %.1f × %.1f mm, want %.1f × %.1f", w, h, sheet.PageW, sheet.PageH)
			}
			var texts []string
			for i, p := range pages {
				e := p.edges()
				t.Logf("page %d: ink %.1f mm from the left, %.1f top, %.1f right, %.1f bottom", i+1, e[0], e[1], e[2], e[3])
				for j, d := range e {
					if d < MinSheetMargin {
						t.Errorf("page %d: ink %.2f mm from the %s edge, want at least %.0f", i+1, d, []string{"left", "top", "right", "bottom"}[j], MinSheetMargin)
					}
				}
				for _, w := range p.words {
					margin := MinSheetMargin / mmPerPoint
					if w.xMin < margin || w.yMin < margin || p.wordsW-w.xMax < margin || p.wordsH-w.yMax < margin {
						t.Errorf("page %d: word %q at (%.1f, %.1f)–(%.1f, %.1f) pt is within 5 mm of an edge", i+1, w.text, w.xMin, w.yMin, w.xMax, w.yMax)
					}
					texts = append(texts, w.text)
				}
				onPage := ls[i*sheet.PerPage() : min(len(ls), (i+1)*sheet.PerPage())]
				got := decodeQRs(t, p.img)
				var want []string
				for _, l := range onPage {
					want = append(want, l.QRPayload)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("page %d: %d qr codes read, want the %d payloads of its labels", i+1, len(got), len(want))
				}
			}
			all := " " + strings.Join(texts, " ") + " "
			for _, l := range ls {
				for _, s := range []string{l.ManualCode, l.Serial, l.MAC} {
					if !strings.Contains(all, " "+s+" ") {
						t.Errorf("label %s: %q is not in the pdf text", l.Serial, s)
					}
				}
			}
		})
	}
}

// TestMarginMeasureCatchesInkAtTheEdge: the measurement above is not
// vacuous: a sheet whose labels start at the left edge is caught.
func TestMarginMeasureCatchesInkAtTheEdge(t *testing.T) {
	tight := SheetA4
	tight.Left = 0
	var buf bytes.Buffer
	if err := WritePDF(&buf, testLabels(t, 3), OnSheet(tight)); err != nil {
		t.Fatal(err)
	}
	e := renderPDF(t, buf.Bytes())[0].edges()
	// The QR quiet zone sits inside the label: its first dark module is a
	// few millimetres in, still well under 5 mm from the edge.
	if e[0] >= MinSheetMargin {
		t.Fatalf("labels at the page edge measured %.2f mm from it: the measure cannot fail", e[0])
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestPDFEmbedsItsFonts: every font the PDF uses is embedded, read by
// poppler's pdffonts where it is installed, and by the file's own font
// descriptors always.
func TestPDFEmbedsItsFonts(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePDF(&buf, testLabels(t, 2), OnSheet(SheetLetter)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if n := bytes.Count(b, []byte("/FontFile2 ")); n != 2 {
		t.Errorf("%d embedded TrueType font programs, want 2 (bold and mono)", n)
	}
	if n := bytes.Count(b, []byte("/BaseFont /Helvetica")) + bytes.Count(b, []byte("/BaseFont /Courier")); n != 0 {
		t.Errorf("%d references to a standard, non-embedded font", n)
	}
	testenv.RequireTool(t, "pdffonts")
	path := filepath.Join(t.TempDir(), "l.pdf")
	os.WriteFile(path, b, 0o600)
	out, err := exec.Command("pdffonts", path).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 { // header, rule, two fonts
		t.Fatalf("pdffonts:\n%s", out)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		// name type… encoding emb sub uni id gen: emb is the fifth field from the end.
		if len(f) < 6 || f[len(f)-5] != "yes" {
			t.Errorf("font not embedded: %s", l)
		}
	}
}

// TestRollPDF: one page per label, the page the size of the label, and the
// code on it scans.
func TestRollPDF(t *testing.T) {
	ls := testLabels(t, 3)
	var buf bytes.Buffer
	if err := WritePDF(&buf, ls, OnRoll(DefaultRollSize)); err != nil {
		t.Fatal(err)
	}
	pages := renderPDF(t, buf.Bytes())
	if len(pages) != 3 {
		t.Fatalf("%d pages for 3 labels", len(pages))
	}
	for i, p := range pages {
		if abs(p.wMM-50.8) > 0.3 || abs(p.hMM-25.4) > 0.3 {
			t.Fatalf("page %d is %.1f × %.1f mm, want 50.8 × 25.4", i+1, p.wMM, p.hMM)
		}
		if got := decodeQR(t, p.img); got != ls[i].QRPayload {
			t.Errorf("page %d reads %q, want %q", i+1, got, ls[i].QRPayload)
		}
		// On a roll the text keeps the label's own padding from the edge.
		for j, d := range p.edges() {
			if d < qrInset {
				t.Errorf("page %d: ink %.2f mm from edge %d", i+1, d, j)
			}
		}
	}
	if err := WritePDF(&buf, nil, OnRoll(DefaultRollSize)); err != ErrNoLabels {
		t.Fatalf("empty pdf: %v", err)
	}
}
