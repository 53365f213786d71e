package stationhome

import (
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/shared/matter"
)

func must(cd, _ []byte) []byte { return cd }

// TestInitRefusesProductNotCovered: a VID/PID outside the CD or the
// appliance's PAI is refused at init, and nothing is created.
func TestInitRefusesProductNotCovered(t *testing.T) {
	app := linetest.NewAppliance(t, "appliance-1") // PAI for FFF1/8000
	pai, _, err := app.ID.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	vp, _ := matter.ExtractVIDPID(pai.RawSubject)
	if !vp.HasVID {
		t.Fatalf("test PAI has no VID: %s", vp)
	}
	cd := must(testCD(t)) // FFF1 / 8000
	origin := originFor(t, 0xFFF1, 0x8000)
	for _, c := range []struct {
		name     string
		vid, pid uint16
		cd       []byte
		want     error
		mention  string
	}{
		{"pid not in cd", 0xFFF1, 0x8000, cdFor(t, 0xFFF1, 0x8001), ErrCDNotForProduct, "PID 8001, not VID FFF1 PID 8000"},
		{"vid not in pai", 0xFFF2, 0x8000, nil, ErrPAINotForProduct, "VID FFF2 PID 8000, the PAI is for VID FFF1 PID 8000"},
		{"pid not in pai", 0xFFF1, 0x8001, nil, ErrPAINotForProduct, "PID 8001"},
		{"dac origin other", 0xFFF1, 0x8000, originFor(t, 0xFFF1, 0x8002), ErrCDNotForProduct, "DAC origin is VID FFF1 PID 8002"},
		{"dac origin ok", 0xFFF1, 0x8000, origin, nil, ""},
		{"no cd", 0xFFF1, 0x8000, nil, nil, ""},
		{"covered", 0xFFF1, 0x8000, cd, nil, ""},
	} {
		dir := filepath.Join(t.TempDir(), "station")
		h, err := Init(dir, InitOptions{Appliance: app.ID, Name: "line-1", VID: c.vid, PID: c.pid, CD: c.cd})
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else {
				h.Close()
			}
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, c.want, c.mention)
		}
		if _, err := Open(dir); !errors.Is(err, ErrNotInitialized) {
			t.Errorf("%s: a home was created: %v", c.name, err)
		}
	}
}

func cdFor(t *testing.T, vid, pid uint16) []byte {
	return encodeTestCD(t, matter.CDContent{FormatVersion: 1, VendorID: vid, ProductIDs: []uint16{pid},
		DeviceTypeID: 0x0016, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1})
}

// originFor is a CD of another vendor whose DACs come from vid/pid.
func originFor(t *testing.T, vid, pid uint16) []byte {
	return encodeTestCD(t, matter.CDContent{FormatVersion: 1, VendorID: 0xFFF2, ProductIDs: []uint16{0x1234},
		DeviceTypeID: 0x0016, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1,
		HasDACOrigin: true, DACOriginVendorID: vid, DACOriginProductID: pid})
}

func encodeTestCD(t *testing.T, c matter.CDContent) []byte {
	t.Helper()
	key, certDER, err := matter.NewTestCDSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(certDER)
	b, err := matter.EncodeCD(c, cert.SubjectKeyId, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
