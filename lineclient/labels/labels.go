package labels

import (
	"errors"

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

// ErrNoLabels: nothing to print.
var ErrNoLabels = errors.New("no labels to print")

// Media is what the labels are printed on: a sheet of pre-cut labels
// (Sheet set), or a roll of labels of one Size, one label per PDF page,
// PNG image or ZPL format.
type Media struct {
	Sheet *Sheet
	Size  Size
}

// OnSheet prints on sheets of s.
func OnSheet(s Sheet) Media { return Media{Sheet: &s, Size: s.Label} }

// OnRoll prints one label of size sz at a time.
func OnRoll(sz Size) Media { return Media{Size: sz} }

func (m Media) String() string {
	if m.Sheet != nil {
		return m.Sheet.Name
	}
	return "roll " + m.Size.String()
}
