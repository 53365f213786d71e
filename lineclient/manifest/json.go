package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/dacline/dacline/lineclient/station"
)

// jsonRow is a row in the JSON form: the CSV's columns as keys, empty
// fields left out.
type jsonRow struct {
	MAC           string `json:"mac"`
	SerialNumber  string `json:"serial_number"`
	DACSerial     string `json:"dac_serial"`
	DACSHA256     string `json:"dac_sha256"`
	VID           string `json:"vid"`
	PID           string `json:"pid"`
	Discriminator *int   `json:"discriminator,omitempty"`
	Passcode      string `json:"passcode,omitempty"`
	QRPayload     string `json:"qr_payload,omitempty"`
	ManualCode    string `json:"manual_code,omitempty"`
	BatchID       string `json:"batch_id"`
	LockedAt      string `json:"locked_at,omitempty"`
	Status        Status `json:"status"`
	Reason        string `json:"reason,omitempty"`
	FlashedImages string `json:"flashed_images,omitempty"`
	ROMLockCheck  string `json:"rom_lock_check,omitempty"`
	Station       string `json:"station,omitempty"`
}

func (r Row) jsonRow() jsonRow {
	j := jsonRow{MAC: r.MAC, SerialNumber: r.SerialNumber, DACSerial: r.DACSerial, DACSHA256: r.DACSHA256,
		VID: fmt.Sprintf("%04X", r.VID), PID: fmt.Sprintf("%04X", r.PID), BatchID: r.BatchID,
		Status: r.Status, Reason: r.Reason, FlashedImages: r.FlashedImages, ROMLockCheck: r.ROMLockCheck, Station: r.Station}
	if r.Deployed() {
		d := int(r.Discriminator)
		j.Discriminator = &d
		j.Passcode = fmt.Sprintf("%08d", r.Passcode)
		j.QRPayload, j.ManualCode = r.QRPayload, r.ManualCode
		j.LockedAt = r.LockedAt.UTC().Format(time.RFC3339)
	}
	return j
}

// WriteJSON streams the manifest to w as one JSON array of row objects, in
// the CSV's order and with its column names as keys (docs/manifest.md).
func WriteJSON(w io.Writer, s *station.Store, opt Options) (Counts, error) {
	if _, err := io.WriteString(w, "["); err != nil {
		return Counts{}, err
	}
	first := true
	c, err := walk(s, opt, func(r Row) error {
		b, err := json.Marshal(r.jsonRow())
		if err != nil {
			return err
		}
		sep := ",\n  "
		if first {
			sep, first = "\n  ", false
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return c, err
	}
	_, err = io.WriteString(w, "\n]\n")
	return c, err
}
