package bundle

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestLogExportLimits: a log-export carries the whole audit log, which
// outgrows batch limits (5,000,000 lines) as DACs are issued; its writer and
// its readers use LogExportLimits, every other kind keeps DefaultLimits.
func TestLogExportLimits(t *testing.T) {
	f := newFixture(t)
	const entries = 6_000_000
	raw := seal(t, Header{Kind: KindLogExport, Created: fixedTime, Counts: map[string]int64{"entries": entries}},
		f.appliance, nil, payloadFile{"entries.jsonl", "{}\n"})
	opts := ReadOptions{Resolve: f.resolve, TempDir: t.TempDir()}
	_, err := Read(bytes.NewReader(raw), opts)
	wantRefused(t, err, ErrTooLarge)
	opts.Limits = LogExportLimits
	b, err := Read(bytes.NewReader(raw), opts)
	if err != nil {
		t.Fatalf("log-export read with LogExportLimits: %v", err)
	}
	b.Close()

	// A batch is still held to the batch limits when written.
	bl, err := NewBuilder(Header{Kind: KindCSRBatch, Sender: f.station.name, Counts: map[string]int64{"csrs": entries}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	bl.AddFile(CSRFile, strings.NewReader(""))
	var out bytes.Buffer
	if _, err := bl.Seal(&out, f.station.signer, f.appliance.id.Recipient()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("csr-batch with %d csrs sealed: %v", entries, err)
	}
	if KindLimits(KindDACBatch) != DefaultLimits || KindLimits(KindLogExport).MaxLines != LogExportLimits.MaxLines {
		t.Fatal("KindLimits")
	}
}
