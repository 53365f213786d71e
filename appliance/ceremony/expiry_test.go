package ceremony

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/dacline/dacline/shared/matter"
)

func TestCheckOutlives(t *testing.T) {
	end := time.Date(2027, 1, 7, 5, 0, 0, 0, time.UTC)
	pai := &x509.Certificate{NotAfter: end}
	for _, c := range []struct {
		name    string
		na      time.Time
		refused bool
	}{
		{"ends before the PAI", end.Add(-time.Hour), false},
		{"ends with the PAI", end, false},
		{"ends a second after the PAI", end.Add(time.Second), true},
		{"a year after", end.AddDate(1, 0, 0), true},
		{"no well-defined expiry", matter.NoExpiry, false},
	} {
		err := checkOutlives(pai, c.na)
		if got := errors.Is(err, ErrDACOutlivesPAI); got != c.refused {
			t.Errorf("%s: got %v, refused want %v", c.name, err, c.refused)
		}
	}
}
