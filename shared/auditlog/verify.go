package auditlog

import (
	"errors"
	"fmt"
	"runtime"
	"sort"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// VerifyOptions says what to check a log export against.
type VerifyOptions struct {
	// Verifier is the appliance's note verifier (appliance.id note_verifier).
	Verifier note.Verifier
	// VerifierKey is the same key as text (name+hash+base64, appliance.id
	// note_verifier). With it, entry 0 (appliance-init) must record exactly
	// this key; without it, a key of the same name and key hash. Verifier may
	// be left nil when VerifierKey is given.
	VerifierKey string
	// Proofs are tlog-proofs from dac-batch bundles. DACSHA256, when set, is
	// the hex SHA-256 of the DAC the bundle delivered with the proof; the
	// proven entry must be the dac-issued entry for that DAC.
	Proofs []BundleProof
	// Known are signed checkpoints the auditor kept (earlier exports,
	// bundles): the export must extend every one of them.
	Known []NamedFile
	// Manifests are line manifests to reconcile with the issued DACs. With
	// none, reconciliation is skipped (and the report says so by listing none).
	Manifests []Manifest
}

// BundleProof is a tlog-proof as found in a bundle.
type BundleProof struct {
	Name      string
	Data      []byte
	DACSHA256 string
}

// Verify checks an export and returns the report. An error means the check
// could not run (unreadable export); every finding about the log's content is
// a discrepancy in the report. Entries are streamed: memory grows with the
// stored hashes (~64 bytes per entry) and the DAC ledger, never with the
// entries' text.
func Verify(x *ExportDir, opts VerifyOptions) (*Report, error) {
	if opts.VerifierKey != "" {
		kv, err := NewVerifier(opts.VerifierKey)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		if opts.Verifier == nil {
			opts.Verifier = kv
		} else if kv.Name() != opts.Verifier.Name() || kv.KeyHash() != opts.Verifier.KeyHash() {
			return nil, fmt.Errorf("verify: verifier key %q is not the verifier %s+%08x", opts.VerifierKey, opts.Verifier.Name(), opts.Verifier.KeyHash())
		}
	}
	if opts.Verifier == nil {
		return nil, errors.New("verify: no note verifier (give the appliance identity)")
	}
	v := &verification{r: newReport(), tree: &MemoryTree{}, led: newLedger(), nv: opts.Verifier, vkey: opts.VerifierKey,
		bySize: map[int64]namedCheckpoint{}, entriesMatch: true}
	r := v.r
	r.Origin = opts.Verifier.Name()
	if x.Info.Origin != r.Origin {
		r.add(KindExport, -1, ExportInfoFile, "origin %q is not the appliance key name %q", x.Info.Origin, r.Origin)
	}

	ckpts := v.openCheckpoints(x.Checkpoints)
	r.Checkpoints = len(ckpts)
	if v.latest == nil {
		r.add(KindCheckpointSignature, -1, x.Name, "no checkpoint verifies with %s: nothing in this export is authenticated", r.Origin)
	} else {
		r.LatestCheckpoint = v.latest.String()
		if x.Info.TreeSize != v.latest.Size {
			r.add(KindExport, -1, ExportInfoFile, "tree_size %d, latest checkpoint has size %d", x.Info.TreeSize, v.latest.Size)
		}
	}

	// Stream the entries once: leaf hashes into the tree, facts into the ledger.
	err := streamParsed(x, func(n int64, p parsedLine) error {
		if err := v.tree.AppendLeaf(p.leaf); err != nil {
			return err
		}
		if p.err != nil {
			r.add(KindEntry, n, fmt.Sprintf("%s line %d", ExportEntriesFile, n+1), "%v", p.err)
			return nil
		}
		if s := p.entry.Header().Seq; s != n {
			r.add(KindSequence, n, fmt.Sprintf("%s line %d", ExportEntriesFile, n+1), "line holds seq %d where seq %d belongs: an entry was removed, inserted or reordered", s, n)
		}
		if n == 0 {
			v.checkInit(p.entry)
		}
		v.led.observe(p.entry, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.TreeSize = v.tree.Size()
	if r.TreeSize == 0 {
		r.add(KindInit, -1, ExportEntriesFile, "the log has no entries: it does not start with appliance-init")
	}

	v.checkAgainstEntries(ckpts)
	if v.latest != nil && v.tree.Size() > v.latest.Size {
		r.add(KindExtraEntries, v.latest.Size, ExportEntriesFile, "%d entries after seq %d are not covered by any checkpoint", v.tree.Size()-v.latest.Size, v.latest.Size-1)
	}
	v.checkPrevious(x)
	for _, k := range opts.Known {
		c, err := OpenCheckpoint(k.Data, opts.Verifier)
		if err != nil {
			r.add(KindCheckpointSignature, -1, k.Name, "%v", err)
			continue
		}
		v.checkOne(namedCheckpoint{c, k.Name})
	}
	for _, p := range opts.Proofs {
		v.checkProof(p)
	}

	v.led.unfinished(r)
	for _, m := range opts.Manifests {
		v.led.reconcileManifest(m, r)
	}
	if len(opts.Manifests) > 0 {
		r.Reconciled = true
		v.led.unaccounted(r)
	}
	if testHookVerified != nil {
		testHookVerified()
		runtime.KeepAlive(v)
	}
	return r, nil
}

// testHookVerified, when set by a benchmark, runs while all of Verify's
// state is still live, to measure its memory.
var testHookVerified func()

// verification is the state of one Verify run.
type verification struct {
	r            *Report
	tree         *MemoryTree
	led          *ledger
	nv           note.Verifier
	vkey         string                    // the verifier key as text, if given
	latest       *namedCheckpoint          // largest verified export checkpoint
	bySize       map[int64]namedCheckpoint // verified export checkpoints
	entriesMatch bool                      // every export checkpoint matched the entries
}

type namedCheckpoint struct {
	Checkpoint
	name string
}

// openCheckpoints verifies every signature and finds forks among the
// checkpoints themselves (same size, different roots) and rollbacks (a
// checkpoint signed after a larger one).
func (v *verification) openCheckpoints(files []NamedFile) []namedCheckpoint {
	var out []namedCheckpoint
	var maxSeen namedCheckpoint
	for _, f := range files {
		c, err := OpenCheckpoint(f.Data, v.nv)
		if err != nil {
			v.r.add(KindCheckpointSignature, -1, f.Name, "%v", err)
			continue
		}
		nc := namedCheckpoint{c, f.Name}
		if other, ok := v.bySize[c.Size]; ok && other.Root != c.Root {
			v.r.add(KindFork, -1, f.Name, "%v: %s and %s both have size %d with different roots", ErrFork, other.name, f.Name, c.Size)
		}
		if len(out) > 0 && c.Size < maxSeen.Size {
			v.r.add(KindFork, -1, f.Name, "signed after %s but smaller (size %d < %d): the log was rolled back", maxSeen.name, c.Size, maxSeen.Size)
		}
		if _, ok := v.bySize[c.Size]; !ok {
			v.bySize[c.Size] = nc
		}
		out = append(out, nc)
		if len(out) == 1 || c.Size > maxSeen.Size {
			maxSeen = nc
		}
	}
	if len(out) > 0 {
		v.latest = &maxSeen
	}
	return out
}

// checkInit checks entry 0: the appliance-init entry, recording the note
// verifier key this log is verified with. A log that starts elsewhere is not
// the appliance's whole history; one whose appliance recorded another key
// was not signed by the appliance it claims.
func (v *verification) checkInit(e Entry) {
	const where = ExportEntriesFile + " line 1"
	init, ok := e.(*ApplianceInit)
	if !ok {
		v.r.add(KindInit, 0, where, "entry 0 is %s, not appliance-init: the log does not start at the appliance's creation", e.EntryType())
		return
	}
	if v.vkey != "" {
		if init.NoteVerifier != v.vkey {
			v.r.add(KindInit, 0, where, "appliance-init records verifier key %q, the log is verified with %q", init.NoteVerifier, v.vkey)
		}
		return
	}
	rec, err := NewVerifier(init.NoteVerifier)
	switch {
	case err != nil:
		v.r.add(KindInit, 0, where, "appliance-init: %v", err)
	case rec.Name() != v.nv.Name() || rec.KeyHash() != v.nv.KeyHash():
		v.r.add(KindInit, 0, where, "appliance-init records verifier key %s+%08x, the log is verified with %s+%08x",
			rec.Name(), rec.KeyHash(), v.nv.Name(), v.nv.KeyHash())
	}
}

// checkAgainstEntries compares each checkpoint's root with the entries'. A
// mismatch is pinpointed to the entries between the largest matching smaller
// checkpoint and the failing one.
func (v *verification) checkAgainstEntries(ckpts []namedCheckpoint) {
	sorted := append([]namedCheckpoint(nil), ckpts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Size < sorted[j].Size })
	var good int64
	n := v.tree.Size()
	for _, c := range sorted {
		if c.Size > n {
			v.entriesMatch = false
			v.r.add(KindCheckpointMismatch, n, c.name, "checkpoint %s covers %d entries but the export has %d: entries from seq %d on are missing", c, c.Size, n, n)
			continue
		}
		root, _ := v.tree.Root(c.Size)
		if root != c.Root {
			v.entriesMatch = false
			v.r.add(KindCheckpointMismatch, good, c.name, "entries do not hash to checkpoint %s: an entry in seq %d–%d was changed, removed, inserted or reordered", c, good, c.Size-1)
			continue
		}
		good = c.Size
	}
}

// checkOne checks a checkpoint from outside the export (the auditor's, or a
// bundle proof's) against it: not newer than the export's latest checkpoint
// (else the export is stale), the same root as the export's own checkpoint of
// that size (else a fork), and the same root as the entries. It reports
// whether the checkpoint is usable for checking entries (not stale).
func (v *verification) checkOne(c namedCheckpoint) bool {
	r, tree := v.r, v.tree
	if v.latest != nil && c.Size > v.latest.Size {
		r.add(KindStale, v.latest.Size, c.name, "the export's latest checkpoint (size %d) is older than checkpoint %s seen here: entries from seq %d on are missing from the export",
			v.latest.Size, c, v.latest.Size)
		return false
	}
	if c.Size > tree.Size() {
		return false // reported as missing entries already
	}
	if own, ok := v.bySize[c.Size]; ok {
		if own.Root != c.Root {
			r.add(KindFork, -1, c.name, "%v: checkpoint %s and the export's %s (%s) have the same size and different roots", ErrFork, c, own.name, own)
		}
		return true // a mismatch with the entries is reported against the export's own checkpoint
	}
	root, _ := tree.Root(c.Size)
	if root != c.Root {
		if v.entriesMatch {
			r.add(KindFork, -1, c.name, "%v: checkpoint %s does not match the export's entries, which match all the export's checkpoints", ErrFork, c)
		} else {
			r.add(KindCheckpointMismatch, -1, c.name, "checkpoint %s does not match the export's entries (which were changed, or the log forked)", c)
		}
	}
	return true
}

// checkPrevious verifies previous.checkpoint and the consistency proof from
// it to the latest checkpoint.
func (v *verification) checkPrevious(x *ExportDir) {
	r, latest := v.r, v.latest
	if x.Previous == nil {
		if x.Info.PreviousTreeSize != 0 {
			r.add(KindExport, -1, ExportInfoFile, "previous_tree_size %d but no %s", x.Info.PreviousTreeSize, ExportPreviousFile)
		}
		return
	}
	prev, err := OpenCheckpoint(x.Previous.Data, v.nv)
	if err != nil {
		r.add(KindCheckpointSignature, -1, x.Previous.Name, "%v", err)
		return
	}
	if prev.Size != x.Info.PreviousTreeSize {
		r.add(KindExport, -1, ExportInfoFile, "previous_tree_size %d, %s has size %d", x.Info.PreviousTreeSize, ExportPreviousFile, prev.Size)
	}
	v.checkOne(namedCheckpoint{prev, x.Previous.Name})
	if latest == nil {
		return
	}
	if x.ConsistencyFile == nil {
		r.add(KindConsistency, -1, ExportConsistency, "missing: the export has %s but no proof from it", ExportPreviousFile)
		return
	}
	p, err := ParseConsistencyProof(x.ConsistencyFile.Data)
	if err == nil {
		err = p.Verify(prev, latest.Checkpoint)
	}
	if err != nil {
		r.add(KindConsistency, -1, x.ConsistencyFile.Name, "%v", err)
	}
}

// checkProof verifies one bundle's tlog-proof against the export: its
// checkpoint's signature, that the export is not older, that the proven leaf
// is the export's entry at that index (pinpointing a changed entry), and
// that the entry is the bundle's DAC.
func (v *verification) checkProof(bp BundleProof) {
	r := v.r
	r.ProofsChecked++
	p, err := ParseProof(bp.Data)
	if err != nil {
		r.add(KindProof, -1, bp.Name, "%v", err)
		return
	}
	c, err := OpenCheckpoint(p.Checkpoint, v.nv)
	if err != nil {
		r.add(KindCheckpointSignature, p.Index, bp.Name, "%v", err)
		return
	}
	if !v.checkOne(namedCheckpoint{c, bp.Name}) {
		return
	}
	if p.Index >= c.Size {
		r.add(KindProof, p.Index, bp.Name, "proves entry %d in a checkpoint of size %d", p.Index, c.Size)
		return
	}
	leaf, _ := v.tree.Leaf(p.Index)
	if err := tlog.CheckRecord(p.Hashes, c.Size, c.Root, p.Index, leaf); err != nil {
		r.add(KindProof, p.Index, bp.Name, "the export's entry seq %d is not the entry this proof commits to: it was changed, or the proof is bad", p.Index)
		return
	}
	if bp.DACSHA256 != "" {
		want, err := decodeHash(bp.DACSHA256)
		d := v.led.dacAt(p.Index)
		switch {
		case err != nil:
			r.add(KindProof, p.Index, bp.Name, "bundle dac hash: %v", err)
		case d == nil:
			r.add(KindProof, p.Index, bp.Name, "proves seq %d, which is not a dac-issued entry", p.Index)
		case d.dac != prefixOf(want):
			r.add(KindProof, p.Index, bp.Name, "proves the entry for dac %x…, not the bundle's dac %s…", d.dac[:8], bp.DACSHA256[:16])
		}
	}
}
