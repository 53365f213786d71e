package auditlog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// wantOnly fails unless r reports discrepancies of exactly the given kinds
// (each at least once) and the first of kind names want in its text.
func wantKind(t *testing.T, r *Report, kind string, seq int64, text string) {
	t.Helper()
	ds := r.Find(kind)
	if len(ds) == 0 {
		var sb strings.Builder
		r.WriteText(&sb)
		t.Fatalf("no %s discrepancy; report:\n%s", kind, sb.String())
	}
	for _, d := range ds {
		if (seq < 0 || d.Seq != nil && *d.Seq == seq) && strings.Contains(d.String(), text) {
			return
		}
	}
	t.Fatalf("no %s discrepancy at seq %d mentioning %q; got %v", kind, seq, text, ds)
}

func allProofs(l *testLog, seqs []int64, signed []byte) []BundleProof {
	var ps []BundleProof
	for _, i := range seqs {
		ps = append(ps, BundleProof{Name: fmt.Sprintf("b/%d.tlog-proof", i), Data: l.proof(i, signed), DACSHA256: hashHex("dac", int(i))})
	}
	return ps
}

func TestVerifyCleanExport(t *testing.T) {
	l, seqs := standardLog(t)
	dir := l.writeExport(t)
	// The proofs of the first ceremony use that ceremony's checkpoint.
	ceremony1 := l.signed[1]
	var proofs []BundleProof
	for k, i := range seqs {
		ck := l.signed[1]
		if k >= 5 {
			ck = l.signed[2]
		}
		proofs = append(proofs, BundleProof{Name: fmt.Sprintf("p%d", k), Data: l.proof(i, ck), DACSHA256: hashHex("dac", k)})
	}
	var rows []string
	for k := 0; k < 9; k++ {
		status := "done"
		if k == 3 {
			status = "unused"
		}
		rows = append(rows, manifestRow(k, status))
	}
	r := verifyDir(t, dir, VerifyOptions{
		Proofs:    proofs,
		Known:     []NamedFile{{Name: "kept.checkpoint", Data: ceremony1}},
		Manifests: []Manifest{{Name: "line.csv", R: strings.NewReader(manifestCSV(rows...))}},
	})
	var sb strings.Builder
	r.WriteText(&sb)
	if !r.OK() {
		t.Fatalf("clean export reported discrepancies:\n%s", sb.String())
	}
	if r.Issued != 9 || r.Deployed != 8 || r.Unused != 1 || r.ProofsChecked != 9 {
		t.Errorf("counts: issued %d deployed %d unused %d proofs %d", r.Issued, r.Deployed, r.Unused, r.ProofsChecked)
	}
	if r.Stations["line-1"].Issued != 5 || r.Batches["batch-b"].Issued != 4 || r.Products["FFF1/8000"].Issued != 9 {
		t.Errorf("per-station/batch/product counts wrong: %s", sb.String())
	}
	for _, s := range []string{"OK: no discrepancies", "station  line-2", "vid/pid  FFF1/8000", "manifest line.csv: 9 rows, 8 deployed, 1 unused"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, sb.String())
		}
	}
	js, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(js), `"discrepancies":[]`) {
		t.Errorf("json report: %v %s", err, js)
	}
}

func TestVerifyTamperedEntries(t *testing.T) {
	l, seqs := standardLog(t)
	dacSeq := seqs[2] // a dac-issued entry of the first ceremony
	latest := l.signed[len(l.signed)-1]
	proofs := allProofs(l, seqs, latest)

	t.Run("changed", func(t *testing.T) {
		dir := l.writeExport(t)
		editLines(t, dir, func(ls []string) []string {
			e, _ := ParseEntry([]byte(ls[dacSeq]))
			d := e.(*DACIssued)
			d.Station = "line-9" // still a valid, canonical entry
			b, _ := Marshal(d)
			ls[dacSeq] = string(b)
			return ls
		})
		r := verifyDir(t, dir, VerifyOptions{Proofs: proofs})
		wantKind(t, r, KindProof, dacSeq, fmt.Sprintf("entry seq %d is not the entry", dacSeq))
		wantKind(t, r, KindCheckpointMismatch, -1, "seq 6–")
	})
	t.Run("changed without proofs is located between checkpoints", func(t *testing.T) {
		dir := l.writeExport(t)
		editLines(t, dir, func(ls []string) []string {
			ls[dacSeq] = strings.Replace(ls[dacSeq], `"pid":32768`, `"pid":32769`, 1)
			return ls
		})
		r := verifyDir(t, dir, VerifyOptions{})
		// Checkpoints at 6, 14, 21: the change is in 6..13.
		wantKind(t, r, KindCheckpointMismatch, 6, "seq 6–13")
	})
	t.Run("non-canonical edit", func(t *testing.T) {
		dir := l.writeExport(t)
		editLines(t, dir, func(ls []string) []string {
			ls[dacSeq] = strings.Replace(ls[dacSeq], `,"pid"`, `, "pid"`, 1)
			return ls
		})
		r := verifyDir(t, dir, VerifyOptions{})
		wantKind(t, r, KindEntry, dacSeq, "not canonical")
	})
	t.Run("removed", func(t *testing.T) {
		dir := l.writeExport(t)
		editLines(t, dir, func(ls []string) []string { return append(ls[:dacSeq:dacSeq], ls[dacSeq+1:]...) })
		r := verifyDir(t, dir, VerifyOptions{})
		wantKind(t, r, KindSequence, dacSeq, fmt.Sprintf("holds seq %d where seq %d belongs", dacSeq+1, dacSeq))
	})
	t.Run("reordered", func(t *testing.T) {
		dir := l.writeExport(t)
		editLines(t, dir, func(ls []string) []string {
			ls[dacSeq], ls[dacSeq+1] = ls[dacSeq+1], ls[dacSeq]
			return ls
		})
		r := verifyDir(t, dir, VerifyOptions{})
		wantKind(t, r, KindSequence, dacSeq, fmt.Sprintf("holds seq %d where seq %d belongs", dacSeq+1, dacSeq))
	})
	t.Run("inserted", func(t *testing.T) {
		dir := l.writeExport(t)
		extra := dacEntry("line-1", "batch-a", 99, 9)
		extra.SetHeader(dacSeq, l.clock)
		b, _ := Marshal(extra)
		editLines(t, dir, func(ls []string) []string {
			return append(ls[:dacSeq:dacSeq], append([]string{string(b)}, ls[dacSeq:]...)...)
		})
		r := verifyDir(t, dir, VerifyOptions{Proofs: proofs})
		wantKind(t, r, KindSequence, dacSeq+1, fmt.Sprintf("holds seq %d where seq %d belongs", dacSeq, dacSeq+1))
		wantKind(t, r, KindProof, dacSeq, fmt.Sprintf("entry seq %d", dacSeq))
	})
	t.Run("appended beyond checkpoint", func(t *testing.T) {
		dir := l.writeExport(t)
		extra := dacEntry("line-1", "batch-a", 99, 9)
		extra.SetHeader(int64(len(l.entries)), l.clock)
		b, _ := Marshal(extra)
		editLines(t, dir, func(ls []string) []string { return append(ls, string(b)) })
		r := verifyDir(t, dir, VerifyOptions{})
		wantKind(t, r, KindExtraEntries, int64(len(l.entries)), "not covered by any checkpoint")
	})
	t.Run("truncated", func(t *testing.T) {
		dir := l.writeExport(t)
		editLines(t, dir, func(ls []string) []string { return ls[:len(ls)-2] })
		r := verifyDir(t, dir, VerifyOptions{})
		wantKind(t, r, KindCheckpointMismatch, int64(len(l.entries)-2), "entries from seq 19 on are missing")
	})
}

func TestVerifyBadCheckpoints(t *testing.T) {
	t.Run("forged", func(t *testing.T) {
		l, _ := standardLog(t)
		_, forger, _ := testKey(t, 66)
		root, _ := l.tree.Root(l.tree.Size())
		forged, _ := note.Sign(&note.Note{Text: string(Checkpoint{testOrigin, l.tree.Size(), root}.Text())}, forger)
		l.signed = append(l.signed, forged)
		r := verifyDir(t, l.writeExport(t), VerifyOptions{})
		wantKind(t, r, KindCheckpointSignature, -1, "checkpoints.txt note 4 (line 16)")
	})
	t.Run("wrong verifier", func(t *testing.T) {
		l, _ := standardLog(t)
		_, _, other := testKey(t, 9)
		r := verifyDir(t, l.writeExport(t), VerifyOptions{Verifier: other})
		wantKind(t, r, KindCheckpointSignature, -1, "nothing in this export is authenticated")
	})
	t.Run("fork: same size, different roots", func(t *testing.T) {
		l, _ := standardLog(t)
		n := l.tree.Size()
		// Sign a second checkpoint of the same size over a different history.
		other := newTestLog(t)
		for i := int64(0); i < n; i++ {
			other.add(&PolicyChanged{PolicySHA256: hashHex("fork", i)})
		}
		l.signed = append(l.signed, other.checkpointAt(n))
		r := verifyDir(t, l.writeExport(t), VerifyOptions{})
		wantKind(t, r, KindFork, -1, fmt.Sprintf("checkpoints.txt note 3 (line 11) and checkpoints.txt note 4 (line 16) both have size %d", n))
	})
	t.Run("stale: export older than a bundle proof", func(t *testing.T) {
		l, seqs := standardLog(t)
		full := l.checkpoint()
		proof := BundleProof{Name: "late.tlog-proof", Data: l.proof(seqs[len(seqs)-1], full)}
		// The export stops at the first ceremony's checkpoint.
		c1, _ := SplitSigned(l.signed[1])
		l.entries, l.signed = l.entries[:c1.Size], l.signed[:2]
		r := verifyDir(t, l.writeExport(t), VerifyOptions{Proofs: []BundleProof{proof}})
		wantKind(t, r, KindStale, c1.Size, "late.tlog-proof")
	})
	t.Run("stale: export older than a kept checkpoint", func(t *testing.T) {
		l, _ := standardLog(t)
		l.add(&PolicyChanged{PolicySHA256: hashHex("policy 2")})
		kept := l.checkpoint()
		l.signed = l.signed[:len(l.signed)-1]
		c, _ := SplitSigned(l.signed[len(l.signed)-1])
		l.entries = l.entries[:c.Size]
		r := verifyDir(t, l.writeExport(t), VerifyOptions{Known: []NamedFile{{Name: "kept", Data: kept}}})
		wantKind(t, r, KindStale, c.Size, "kept")
	})
	t.Run("fork against a bundle proof", func(t *testing.T) {
		l, seqs := standardLog(t)
		other := newTestLog(t)
		for i := int64(0); i < l.tree.Size(); i++ {
			other.add(&PolicyChanged{PolicySHA256: hashHex("fork", i)})
		}
		p := BundleProof{Name: "forked.tlog-proof", Data: other.proof(seqs[0], other.checkpoint())}
		r := verifyDir(t, l.writeExport(t), VerifyOptions{Proofs: []BundleProof{p}})
		wantKind(t, r, KindFork, -1, "forked.tlog-proof")
	})
	t.Run("proof for another DAC", func(t *testing.T) {
		l, seqs := standardLog(t)
		p := BundleProof{Name: "swap.tlog-proof", Data: l.proof(seqs[1], l.signed[len(l.signed)-1]), DACSHA256: hashHex("dac", 0)}
		r := verifyDir(t, l.writeExport(t), VerifyOptions{Proofs: []BundleProof{p}})
		wantKind(t, r, KindProof, seqs[1], "not the bundle's dac")
	})
}

func TestVerifyPreviousExport(t *testing.T) {
	l, _ := standardLog(t)
	prev := l.signed[1]
	pc, _ := SplitSigned(prev)
	cur, _ := SplitSigned(l.signed[len(l.signed)-1])
	hs, _ := tlog.ProveTree(cur.Size, pc.Size, &l.tree)
	write := func(cp ConsistencyProof, previous []byte) string {
		dir := filepath.Join(t.TempDir(), "x")
		err := WriteExport(dir, Export{
			Info:        ExportInfo{Version: ExportVersion, Origin: testOrigin, TreeSize: cur.Size, PreviousTreeSize: pc.Size},
			Checkpoints: l.signed, Previous: previous, Consistency: &cp,
			Entries: func(emit func([]byte) error) error {
				for _, e := range l.entries {
					emit(e)
				}
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	r := verifyDir(t, write(ConsistencyProof{pc.Size, cur.Size, hs}, prev), VerifyOptions{})
	if !r.OK() {
		t.Fatalf("good previous export: %v", r.Discrepancies)
	}
	bad := append(tlog.TreeProof(nil), hs...)
	bad[0][0] ^= 1
	r = verifyDir(t, write(ConsistencyProof{pc.Size, cur.Size, bad}, prev), VerifyOptions{})
	wantKind(t, r, KindConsistency, -1, "forked log")
}

func TestReconcile(t *testing.T) {
	l, _ := standardLog(t)
	// A second DAC with serial of DAC 1 and a third with the key of DAC 2.
	l.add(&CeremonyStarted{BatchID: "batch-c", BundleSHA256: hashHex("c"), Officer: "Ada", PolicySHA256: hashHex("policy"), Station: "line-1"})
	dupSerial := dacEntry("line-1", "batch-c", 50, 0)
	dupSerial.Serial = serialOf(1)
	dupSerialSeq := l.add(dupSerial)
	dupKey := dacEntry("line-1", "batch-c", 51, 1)
	dupKey.SPKISHA256 = hashHex("spki", 2)
	dupKeySeq := l.add(dupKey)
	l.add(&CeremonyFinished{BatchID: "batch-c", Issued: 3, Station: "line-1"}) // says 3, log has 2
	l.add(&StationRevoked{Reason: "retired", Station: "line-2"})
	revokedSeq := l.add(dacEntry("line-2", "batch-b", 60, 9))
	l.checkpoint()

	var rows []string
	for k := 0; k < 9; k++ {
		if k != 4 { // DAC 4 is never accounted for
			rows = append(rows, manifestRow(k, ""))
		}
	}
	rows = append(rows, manifestRow(0, ""))                                                                   // deployed twice
	rows = append(rows, manifestRow(77, ""))                                                                  // never issued
	rows = append(rows, fmt.Sprintf("m,%s,%s,", serialOf(5), hashHex("other dac")))                           // wrong DAC hash
	rows = append(rows, manifestRow(51, ""), manifestRow(60, "unused"), "m,not-hex,"+hashHex("x")+",", "m,1") // bad rows
	r := verifyDir(t, l.writeExport(t), VerifyOptions{
		Manifests: []Manifest{{Name: "line.csv", R: strings.NewReader(manifestCSV(rows...))}},
	})
	wantKind(t, r, KindDuplicateSerial, dupSerialSeq, fmt.Sprintf("serial %s issued twice: seq 8 and seq %d", serialOf(1), dupSerialSeq))
	wantKind(t, r, KindDuplicateSPKI, dupKeySeq, fmt.Sprintf("seq 9 and seq %d", dupKeySeq))
	wantKind(t, r, KindCeremonyCount, dupKeySeq+1, "says 3 issued")
	wantKind(t, r, KindNotEnrolled, revokedSeq, "revoked at seq")
	wantKind(t, r, KindNotAccounted, 11, serialOf(4))
	wantKind(t, r, KindDeployedTwice, 7, "line.csv line 2")
	wantKind(t, r, KindNeverIssued, -1, fmt.Sprintf("line.csv line %d", 2+8+1))
	wantKind(t, r, KindManifestMismatch, 15, serialOf(5))
	wantKind(t, r, KindManifest, -1, "not-hex")
	var sb strings.Builder
	r.WriteText(&sb)
	if !strings.Contains(sb.String(), "FAILED") || !strings.Contains(sb.String(), "never-issued") {
		t.Errorf("text report:\n%s", sb.String())
	}
}

func TestVerifyMissingManifestColumns(t *testing.T) {
	l, _ := standardLog(t)
	r := verifyDir(t, l.writeExport(t), VerifyOptions{
		Manifests: []Manifest{{Name: "m.csv", R: strings.NewReader("serial,sha\n1,2\n")}},
	})
	wantKind(t, r, KindManifest, -1, "dac_serial and dac_sha256")
}

func TestWriteExportRefusesOverwrite(t *testing.T) {
	l, _ := standardLog(t)
	dir := l.writeExport(t)
	err := WriteExport(dir, Export{Checkpoints: l.signed, Entries: func(func([]byte) error) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ExportEntriesFile)); err != nil {
		t.Fatal(err)
	}
}

func TestProofsFromDir(t *testing.T) {
	l, seqs := standardLog(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "b1"), 0o755)
	os.WriteFile(filepath.Join(dir, "b1", "0.tlog-proof"), l.proof(seqs[0], l.signed[1]), 0o644)
	os.WriteFile(filepath.Join(dir, "b1", "dac.der"), []byte("x"), 0o644)
	ps, err := ProofsFromDir(dir)
	if err != nil || len(ps) != 1 || ps[0].Name != filepath.Join("b1", "0.tlog-proof") {
		t.Fatalf("%v %v", ps, err)
	}
}

// FuzzReconcileManifest feeds arbitrary CSV to the manifest reader: it must
// never panic, and every row it cannot account for is a discrepancy.
func FuzzReconcileManifest(f *testing.F) {
	f.Add(manifestCSV(manifestRow(0, ""), manifestRow(1, "unused")))
	f.Add("dac_sha256,dac_serial\n\"x,1\n")
	f.Add("\ufeffDAC_SERIAL,dac_sha256,status\n0x10000," + hashHex("dac", 0) + ",UNUSED\n")
	l, _ := standardLog(f)
	led := newLedger()
	r0 := newReport()
	for _, e := range l.entries {
		ent, _ := ParseEntry(e)
		led.observe(ent, r0)
	}
	f.Fuzz(func(t *testing.T, csv string) {
		// A fresh copy of the ledger's per-DAC state for each input.
		l2 := *led
		l2.dacs = append([]issuedDAC(nil), led.dacs...)
		l2.manifests = nil
		r := newReport()
		l2.reconcileManifest(Manifest{Name: "m.csv", R: strings.NewReader(csv)}, r)
		if len(r.Manifests) != 1 {
			t.Fatal("manifest not summarized")
		}
		if s := r.Manifests[0]; s.Deployed+s.Unused > s.Rows {
			t.Fatalf("accounted %d+%d of %d rows", s.Deployed, s.Unused, s.Rows)
		}
	})
}

func FuzzProofsFromDACLines(f *testing.F) {
	f.Add(`{"dac":"AAEC","tlog_proof":"c2sp.org/tlog-proof@v1\nindex 0\n\nx"}` + "\n")
	f.Add("{}\n[]\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ProofsFromDACLines("dacs.jsonl", strings.NewReader(in))
		if err == nil {
			for _, p := range ps {
				if len(p.DACSHA256) != 64 || len(p.Data) == 0 {
					t.Fatalf("bad proof record %+v", p)
				}
			}
		}
	})
}
