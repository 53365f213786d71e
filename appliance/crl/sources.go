package crl

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/dacline/dacline/shared/auditlog"
)

// Serial is a serial number to revoke and where it was named, so that a
// refusal can point at the line that named it.
type Serial struct {
	N      *big.Int
	Source string // "--serial", "revoke.txt:3", "manifest.csv:7"
}

// Hex is the canonical serial text (auditlog.SerialHex).
func (s Serial) Hex() string { return auditlog.SerialHex(s.N) }

// maxLine bounds one line of a serials file or manifest.
const maxLine = 64 << 10

// ReadSerialsFile reads a file of serials: one hex serial per line (any case,
// optional 0x or colons), blank lines and lines starting with # ignored —
// what `appliance ceremony abandon --out` writes.
func ReadSerialsFile(r io.Reader, name string) ([]Serial, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var out []Serial
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		n, err := auditlog.ParseSerial(t)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		out = append(out, Serial{N: n, Source: fmt.Sprintf("%s:%d", name, line)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ReadUnusedFromManifest reads a line manifest (docs/manifest.md) and returns
// the DAC serials of its rows with status "unused": DACs issued for modules
// the station failed for good, which no device carries. A manifest without a
// status column (the first format) has no unused rows and is refused, since
// the caller asked for them.
func ReadUnusedFromManifest(r io.Reader, name string) ([]Serial, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	serialCol, ok1 := col["dac_serial"]
	statusCol, ok2 := col["status"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: not a line manifest with a status column (need dac_serial and status in the header)", name)
	}
	var out []Serial
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		switch rec[statusCol] {
		case "deployed":
			continue
		case "unused":
		default:
			return nil, fmt.Errorf("%s:%d: status %q: want deployed or unused", name, row, rec[statusCol])
		}
		n, err := auditlog.ParseSerial(rec[serialCol])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: dac_serial: %w", name, row, err)
		}
		out = append(out, Serial{N: n, Source: fmt.Sprintf("%s:%d", name, row)})
	}
	return out, nil
}
