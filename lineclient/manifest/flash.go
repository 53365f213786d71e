package manifest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dacline/dacline/lineclient/station"
)

// The flashing columns (issue 15): what the station wrote into the module
// through its ROM loader and what the ROM said about the lock.

// ROM lock check values.
const (
	ROMLockOK         = "ok"
	ROMLockIncomplete = "incomplete"
)

// setFlashColumns fills the flashing columns from a module's flashing
// record (nil: the station flashed nothing).
func setFlashColumns(r *Row, rec *station.FlashRecord) {
	if rec == nil {
		return
	}
	if p := rec.Production; p != nil && p.State == station.FlashDone {
		parts := make([]string, len(p.Images))
		for i, im := range p.Images {
			parts[i] = fmt.Sprintf("%s@0x%x=%s", im.Name, im.Offset, im.SHA256)
		}
		r.FlashedImages = strings.Join(parts, ";")
	}
	if c := rec.ROMLockCheck; c != nil {
		r.ROMLockCheck = ROMLockIncomplete
		if c.OK {
			r.ROMLockCheck = ROMLockOK
		}
	}
}

var flashedImageRE = regexp.MustCompile(`^[^;@=,"\s]{1,64}@0x[0-9a-f]{1,8}=[0-9a-f]{64}$`)

func checkFlashColumns(images, lock string) error {
	if images != "" {
		for _, part := range strings.Split(images, ";") {
			if !flashedImageRE.MatchString(part) {
				return fmt.Errorf("flashed_images entry %q is not name@0xOFFSET=sha256", part)
			}
		}
	}
	switch lock {
	case "", ROMLockOK, ROMLockIncomplete:
		return nil
	}
	return fmt.Errorf("rom_lock_check %q is not ok, incomplete or empty", lock)
}
