package bundle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/shared/auditlog"
)

// TestAuditlogReadsDACLines pins shared/auditlog's own minimal dacs.jsonl
// reader (shared may not import airgap-bundles) against the one definition
// here: the same file name, and the same dac and tlog_proof fields.
func TestAuditlogReadsDACLines(t *testing.T) {
	if auditlog.DACFileName != bundle.DACFile {
		t.Fatalf("auditlog.DACFileName %q, bundle.DACFile %q", auditlog.DACFileName, bundle.DACFile)
	}
	lines := []bundle.DACLine{
		{ID: "24:0a:c4:00:00:01", Index: 0, SPKISHA256: strings.Repeat("00", 32), DAC: []byte("dac one"), VID: "FFF1", PID: "8000", Serial: "01", LogIndex: 5, TLogProof: "c2sp.org/tlog-proof@v1\nindex 5\n"},
		{ID: "24:0a:c4:00:00:02", Index: 2, SPKISHA256: strings.Repeat("11", 32), DAC: []byte("dac two"), VID: "FFF1", PID: "8000", Serial: "02", LogIndex: 6, TLogProof: "c2sp.org/tlog-proof@v1\nindex 6\n"},
	}
	var buf bytes.Buffer
	w := bundle.NewLineWriter(&buf, bundle.DACFile, bundle.MaxDACLine)
	for _, l := range lines {
		if err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	proofs, err := auditlog.ProofsFromDACLines(bundle.DACFile, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != len(lines) {
		t.Fatalf("%d proofs from %d lines", len(proofs), len(lines))
	}
	for i, p := range proofs {
		sum := sha256.Sum256(lines[i].DAC)
		if string(p.Data) != lines[i].TLogProof || p.DACSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("proof %d: %+v", i, p)
		}
	}
	// A line without its proof is refused: auditlog reads the field bundle writes.
	buf.Reset()
	w = bundle.NewLineWriter(&buf, bundle.DACFile, bundle.MaxDACLine)
	w.Write(bundle.DACLine{ID: "m", DAC: []byte("dac")})
	w.Flush()
	if _, err := auditlog.ProofsFromDACLines(bundle.DACFile, &buf); err == nil || !strings.Contains(err.Error(), "tlog_proof") {
		t.Fatalf("line without a proof: %v", err)
	}
}
