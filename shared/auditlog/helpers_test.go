package auditlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testOrigin is the log origin and key name used in tests.
const testOrigin = "appliance.test/dacline-lab"

// testKey returns a deterministic Ed25519 key, its note signer and verifier.
func testKey(t testing.TB, seed byte) (ed25519.PrivateKey, note.Signer, note.Verifier) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytesOf(seed, 32))
	s, err := NoteSigner(testOrigin, priv)
	if err != nil {
		t.Fatal(err)
	}
	vk, err := VerifierKey(testOrigin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vk)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s, v
}

// testVerifierKey is the note verifier key (text) of testKey(t, seed).
func testVerifierKey(t testing.TB, seed byte) string {
	t.Helper()
	priv, _, _ := testKey(t, seed)
	vk, err := VerifierKey(testOrigin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return vk
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// stationEntry is a station-enrolled entry with keys derived from seed.
func stationEntry(station, fingerprint string, seed ...any) *StationEnrolled {
	h := sha256.Sum256([]byte(fmt.Sprint(append([]any{"station key"}, seed...)...)))
	pub := ed25519.NewKeyFromSeed(h[:]).Public().(ed25519.PublicKey)
	e, err := NewStationEnrolled(station, fingerprint, "age1"+strings.Repeat("q", 58), pub, hashHex("enrollment", seed))
	if err != nil {
		panic(err)
	}
	return e
}

func hashHex(parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(h[:])
}

// testLog builds a log in memory the way the appliance would, for tests
// that must not depend on appliance/applog.
type testLog struct {
	t       testing.TB
	entries [][]byte
	tree    MemoryTree
	signer  note.Signer
	signed  [][]byte // checkpoints, in signing order
	clock   time.Time
}

func newTestLog(t testing.TB) *testLog {
	_, s, _ := testKey(t, 1)
	return &testLog{t: t, signer: s, clock: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
}

func (l *testLog) add(e Entry) int64 {
	l.t.Helper()
	n := int64(len(l.entries))
	l.clock = l.clock.Add(1500 * time.Millisecond)
	e.SetHeader(n, l.clock)
	b, err := Marshal(e)
	if err != nil {
		l.t.Fatal(err)
	}
	l.entries = append(l.entries, b)
	if err := l.tree.AppendLeaf(tlog.RecordHash(b)); err != nil {
		l.t.Fatal(err)
	}
	return n
}

// checkpoint signs a checkpoint of the current log.
func (l *testLog) checkpoint() []byte {
	l.t.Helper()
	return l.checkpointAt(l.tree.Size())
}

func (l *testLog) checkpointAt(n int64) []byte {
	l.t.Helper()
	root, err := l.tree.Root(n)
	if err != nil {
		l.t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(Checkpoint{testOrigin, n, root}.Text())}, l.signer)
	if err != nil {
		l.t.Fatal(err)
	}
	l.signed = append(l.signed, signed)
	return signed
}

// proof returns the tlog-proof of entry i against signed.
func (l *testLog) proof(i int64, signed []byte) []byte {
	l.t.Helper()
	c, err := SplitSigned(signed)
	if err != nil {
		l.t.Fatal(err)
	}
	p, err := tlog.ProveRecord(c.Size, i, &l.tree)
	if err != nil {
		l.t.Fatal(err)
	}
	return FormatProof(Proof{Index: i, Hashes: p, Checkpoint: signed})
}

// serialOf is the serial of the k-th DAC in tests.
func serialOf(k int) string { return SerialHex(big.NewInt(int64(0x10000 + k))) }

// ceremony appends a ceremony of n DACs for station st and checkpoints it.
// It returns the seqs of the dac-issued entries.
func (l *testLog) ceremony(st, batch string, first, n int) []int64 {
	l.add(&CeremonyStarted{BatchID: batch, BundleSHA256: hashHex("bundle", batch), Officer: "Ada Officer",
		PolicySHA256: hashHex("policy"), Station: st})
	var seqs []int64
	for k := first; k < first+n; k++ {
		seqs = append(seqs, l.add(dacEntry(st, batch, k, k-first)))
	}
	l.add(&BundleWritten{BatchID: batch, BundleSHA256: hashHex("return", batch), FileName: batch + ".dac-batch"})
	l.add(&CeremonyFinished{BatchID: batch, Issued: n, Station: st})
	l.checkpoint()
	return seqs
}

func dacEntry(st, batch string, k, idx int) *DACIssued {
	return &DACIssued{BatchID: batch, DACSHA256: hashHex("dac", k), Index: idx, PID: 0x8000,
		Serial: serialOf(k), SPKISHA256: hashHex("spki", k), Station: st, VID: 0xFFF1}
}

// standardLog is an appliance's life: init, keys, PAI, two stations, two
// ceremonies, each followed by a checkpoint.
func standardLog(t testing.TB) (*testLog, []int64) {
	l := newTestLog(t)
	l.add(&ApplianceInit{Appliance: "lab", NoteVerifier: testVerifierKey(t, 1)})
	l.add(&KeyGenerated{Attributes: map[string]bool{"CKA_SENSITIVE": true, "CKA_EXTRACTABLE": false},
		KeyType: "p256", Label: "pai", PublicKeySHA256: hashHex("pai key")})
	l.add(&PAIImported{PAASHA256: hashHex("paa"), PAISHA256: hashHex("pai"), Subject: "CN=PAI", VID: 0xFFF1})
	l.add(&PolicyChanged{PolicySHA256: hashHex("policy")})
	l.add(stationEntry("line-1", "abcd-ef01", "st1"))
	l.add(stationEntry("line-2", "abcd-ef02", "st2"))
	l.checkpoint()
	seqs := l.ceremony("line-1", "batch-a", 0, 5)
	seqs = append(seqs, l.ceremony("line-2", "batch-b", 5, 4)...)
	return l, seqs
}

// writeExport writes the test log as an export directory and returns it.
func (l *testLog) writeExport(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	err := WriteExport(dir, Export{
		Info:        ExportInfo{Version: ExportVersion, Origin: testOrigin, TreeSize: int64(len(l.entries))},
		Checkpoints: l.signed,
		Entries: func(emit func([]byte) error) error {
			for _, e := range l.entries {
				if err := emit(e); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// manifest writes a CSV manifest of the DACs k in ks.
func manifestCSV(rows ...string) string {
	return "mac,dac_serial,dac_sha256,status\n" + strings.Join(rows, "\n") + "\n"
}

func manifestRow(k int, status string) string {
	return fmt.Sprintf("24:0a:c4:00:00:%02x,%s,%s,%s", k, strings.ToUpper(serialOf(k)), hashHex("dac", k), status)
}

// verifyDir opens and verifies an export directory.
func verifyDir(t testing.TB, dir string, opts VerifyOptions) *Report {
	t.Helper()
	x, err := OpenExport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Verifier == nil {
		_, _, opts.Verifier = testKey(t, 1)
	}
	r, err := Verify(x, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// editLines rewrites entries.jsonl of an export through fn.
func editLines(t testing.TB, dir string, fn func(lines []string) []string) {
	t.Helper()
	p := filepath.Join(dir, ExportEntriesFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines = fn(lines)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
