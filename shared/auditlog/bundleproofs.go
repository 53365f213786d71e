package auditlog

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DACFileName is the dac-batch payload file that carries, per DAC, the DAC
// DER and its tlog-proof. Its one definition is bundle.DACFile and
// bundle.DACLine (airgap-bundles/bundle/payload.go); shared may not import
// airgap-bundles, so this package reads the two fields it needs itself, and
// airgap-bundles/bundle/payload_pin_test.go pins the name and fields.
const DACFileName = "dacs.jsonl"

// maxDACLine bounds one dacs.jsonl line (a DAC, a proof, a few fields).
const maxDACLine = 64 << 10

// ProofsFromDir collects the tlog-proofs under dir: every *.tlog-proof file,
// and every proof inside a dacs.jsonl (the decrypted payload of a dac-batch
// bundle), where each proof is paired with the SHA-256 of its DAC so the
// verifier checks the proof is for that DAC.
func ProofsFromDir(dir string) ([]BundleProof, error) {
	var out []BundleProof
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.IsDir():
			return nil
		case strings.HasSuffix(d.Name(), ".tlog-proof"):
			data, err := readLimited(path, maxProofSize)
			if err != nil {
				return err
			}
			out = append(out, BundleProof{Name: rel, Data: data})
		case d.Name() == DACFileName:
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			ps, err := ProofsFromDACLines(rel, f)
			if err != nil {
				return err
			}
			out = append(out, ps...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading proofs under %s: %w", dir, err)
	}
	return out, nil
}

// ProofsFromDACLines reads the tlog-proofs of a dacs.jsonl stream. Only the
// fields the audit needs are read: dac (DER, base64) and tlog_proof (the
// json names of bundle.DACLine.DAC and .TLogProof).
func ProofsFromDACLines(name string, r io.Reader) ([]BundleProof, error) {
	var out []BundleProof
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxDACLine)
	for n := 1; sc.Scan(); n++ {
		var line struct {
			DAC       []byte `json:"dac"`
			TLogProof string `json:"tlog_proof"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, n, err)
		}
		if len(line.DAC) == 0 || line.TLogProof == "" {
			return nil, fmt.Errorf("%s line %d: no dac or no tlog_proof", name, n)
		}
		sum := sha256.Sum256(line.DAC)
		out = append(out, BundleProof{Name: fmt.Sprintf("%s line %d", name, n), Data: []byte(line.TLogProof), DACSHA256: hex.EncodeToString(sum[:])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
