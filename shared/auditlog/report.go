package auditlog

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Discrepancy kinds: each names one rule the verifier checks.
const (
	KindCheckpointSignature = "checkpoint-signature" // a checkpoint does not verify with the appliance key
	KindInit                = "appliance-init"       // entry 0 is not the appliance-init naming the verifying key
	KindCheckpointMismatch  = "checkpoint-mismatch"  // entries do not hash to a checkpoint's root
	KindFork                = "fork"                 // two checkpoints that cannot be one append-only log
	KindStale               = "stale-checkpoint"     // export older than a checkpoint seen elsewhere
	KindEntry               = "bad-entry"            // entry does not parse or is not canonical
	KindSequence            = "sequence"             // seq out of place: entry removed, inserted or reordered
	KindExtraEntries        = "extra-entries"        // entries beyond the latest checkpoint
	KindProof               = "proof"                // a tlog-proof does not verify against the export
	KindConsistency         = "consistency"          // consistency proof from the previous export fails
	KindDuplicateSerial     = "duplicate-serial"     // one serial issued twice
	KindDuplicateSPKI       = "duplicate-spki"       // one public key certified twice
	KindNotEnrolled         = "station-not-enrolled" // DAC issued for a station never enrolled or revoked
	KindNoCeremony          = "no-ceremony"          // DAC issued outside a started ceremony
	KindCeremonyCount       = "ceremony-count"       // ceremony-finished counts disagree with the log
	KindNeverIssued         = "never-issued"         // a manifest row names a DAC the log never issued
	KindManifestMismatch    = "manifest-mismatch"    // manifest DAC hash differs from the log
	KindDeployedTwice       = "deployed-twice"       // one DAC in two manifest rows
	KindNotAccounted        = "not-accounted"        // issued DAC neither deployed nor listed unused
	KindManifest            = "bad-manifest"         // a manifest cannot be read
	KindExport              = "bad-export"           // export.json claims something false
)

// maxListed bounds the discrepancies kept in a report; the rest are counted.
const maxListed = 1000

// Discrepancy is one failed check, with where it shows.
type Discrepancy struct {
	Kind string `json:"kind"`
	// Seq is the entry that shows the problem, when one does.
	Seq *int64 `json:"seq,omitempty"`
	// Source is the file (and line) that shows it, when it is not the log.
	Source string `json:"source,omitempty"`
	// Station and Batch name the station and csr-batch the finding is
	// about, when it is about one DAC or batch; the text report groups by them.
	Station string `json:"station,omitempty"`
	Batch   string `json:"batch,omitempty"`
	Detail  string `json:"detail"`
}

func (d Discrepancy) String() string {
	var b strings.Builder
	b.WriteString(d.Kind)
	if d.Seq != nil {
		fmt.Fprintf(&b, " seq %d", *d.Seq)
	}
	if d.Source != "" {
		fmt.Fprintf(&b, " (%s)", d.Source)
	}
	b.WriteString(": " + d.Detail)
	return b.String()
}

// Counts are issuance figures for one station, batch or product.
type Counts struct {
	Issued  int64 `json:"issued"`
	Refused int64 `json:"refused"`
}

// ManifestSummary is what one manifest contributed.
type ManifestSummary struct {
	Name     string `json:"name"`
	Rows     int64  `json:"rows"`
	Deployed int64  `json:"deployed"`
	Unused   int64  `json:"unused"`
	// InProgress counts in-progress rows: DACs in modules the station had
	// not finished when it wrote the manifest.
	InProgress int64 `json:"in_progress"`
}

// InProgressGroup counts the DACs of one station and batch that the
// manifests list in progress (and none deployed or unused): not missing,
// not accounted for yet.
type InProgressGroup struct {
	Station string `json:"station,omitempty"`
	Batch   string `json:"batch,omitempty"`
	DACs    int64  `json:"dacs"`
}

// Report is the verifier's result. OK reports whether it found nothing wrong.
type Report struct {
	Origin           string             `json:"origin"`
	TreeSize         int64              `json:"tree_size"`
	Checkpoints      int                `json:"checkpoints"`
	LatestCheckpoint string             `json:"latest_checkpoint,omitempty"`
	EntriesByType    map[Type]int64     `json:"entries_by_type"`
	Stations         map[string]*Counts `json:"stations"`
	Batches          map[string]*Counts `json:"batches"`
	Products         map[string]*Counts `json:"products"` // key "VVVV/PPPP" in hex
	Issued           int64              `json:"issued"`
	Refused          int64              `json:"refused"`
	ProofsChecked    int                `json:"proofs_checked"`
	Manifests        []ManifestSummary  `json:"manifests"`
	// Reconciled is false when no manifest was given: no issued DAC was
	// matched against a line manifest.
	Reconciled bool `json:"reconciled"`
	// Abandoned lists the ceremonies the officer abandoned, with the DACs
	// they issued and never delivered: to be revoked.
	Abandoned []AbandonedBatch `json:"abandoned"`
	Deployed  int64            `json:"deployed"`
	Unused    int64            `json:"unused"`
	// InProgress counts issued DACs that no manifest deployed or listed
	// unused but one lists in progress; InProgressBy groups them. They are
	// not discrepancies: a later manifest accounts for them.
	InProgress   int64             `json:"in_progress"`
	InProgressBy []InProgressGroup `json:"in_progress_by,omitempty"`
	// ApplianceFingerprint is the fingerprint of the appliance identity the
	// log was verified against, when the caller knows it.
	ApplianceFingerprint string           `json:"appliance_fingerprint,omitempty"`
	Discrepancies        []Discrepancy    `json:"discrepancies"`
	Omitted              int64            `json:"discrepancies_omitted"`
	byKind               map[string]int64 // all discrepancies per kind, listed or not
}

func newReport() *Report {
	return &Report{
		EntriesByType: map[Type]int64{},
		Stations:      map[string]*Counts{},
		Batches:       map[string]*Counts{},
		Products:      map[string]*Counts{},
		Discrepancies: []Discrepancy{},
		Abandoned:     []AbandonedBatch{},
		byKind:        map[string]int64{},
	}
}

// OK is true when no check failed.
func (r *Report) OK() bool { return len(r.Discrepancies) == 0 && r.Omitted == 0 }

// Count returns how many discrepancies of kind were found (listed or not).
func (r *Report) Count(kind string) int64 { return r.byKind[kind] }

// Find returns the listed discrepancies of kind.
func (r *Report) Find(kind string) []Discrepancy {
	var out []Discrepancy
	for _, d := range r.Discrepancies {
		if d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

func (r *Report) add(kind string, seq int64, source, format string, args ...any) {
	r.byKind[kind]++
	if len(r.Discrepancies) >= maxListed {
		r.Omitted++
		return
	}
	d := Discrepancy{Kind: kind, Source: source, Detail: fmt.Sprintf(format, args...)}
	if seq >= 0 {
		s := seq
		d.Seq = &s
	}
	r.Discrepancies = append(r.Discrepancies, d)
}

// addFor is add for a finding about one station's batch.
func (r *Report) addFor(station, batch, kind string, seq int64, source, format string, args ...any) {
	n := len(r.Discrepancies)
	r.add(kind, seq, source, format, args...)
	if len(r.Discrepancies) > n {
		r.Discrepancies[n].Station, r.Discrepancies[n].Batch = station, batch
	}
}

func counts(m map[string]*Counts, k string) *Counts {
	c := m[k]
	if c == nil {
		c = &Counts{}
		m[k] = c
	}
	return c
}

// WriteText prints the report for a person: summary, counts, then every
// discrepancy on its own line.
func (r *Report) WriteText(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("log %s: %d entries, %d checkpoints", r.Origin, r.TreeSize, r.Checkpoints)
	if r.LatestCheckpoint != "" {
		p(", latest %s", r.LatestCheckpoint)
	}
	p("\n")
	p("entries:")
	for _, t := range Types() {
		if n := r.EntriesByType[t]; n > 0 {
			p(" %s=%d", t, n)
		}
	}
	p("\nDACs issued %d, CSRs refused %d, tlog-proofs checked %d\n", r.Issued, r.Refused, r.ProofsChecked)
	for _, sec := range []struct {
		title string
		m     map[string]*Counts
	}{{"station", r.Stations}, {"batch", r.Batches}, {"vid/pid", r.Products}} {
		keys := make([]string, 0, len(sec.m))
		for k := range sec.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p("  %-8s %-24s issued %d refused %d\n", sec.title, k, sec.m[k].Issued, sec.m[k].Refused)
		}
	}
	if r.ApplianceFingerprint != "" {
		p("verified against appliance fingerprint %s\n", r.ApplianceFingerprint)
	}
	for _, m := range r.Manifests {
		p("manifest %s: %d rows, %d deployed, %d unused", m.Name, m.Rows, m.Deployed, m.Unused)
		if m.InProgress > 0 {
			p(", %d in progress", m.InProgress)
		}
		p("\n")
	}
	if len(r.Manifests) > 0 {
		p("reconciled: %d issued, %d deployed, %d listed unused", r.Issued, r.Deployed, r.Unused)
		if r.InProgress > 0 {
			p(", %d in progress (in modules not finished yet: not missing; a later manifest accounts for them)", r.InProgress)
		}
		p("\n")
		for _, g := range r.InProgressBy {
			p("  in progress: station %s batch %s: %d DACs\n", orDash(g.Station), orDash(g.Batch), g.DACs)
		}
	} else {
		p("nothing was reconciled: no --manifest was given, so no issued DAC was matched against a line manifest\n")
	}
	for _, a := range r.Abandoned {
		p("abandoned: batch %s (station %s) by %s at seq %d: %q; %d DACs issued, never delivered, listed for revocation\n",
			a.BatchID, a.Station, a.Officer, a.Seq, a.Reason, a.Issued)
		for _, s := range a.Serials {
			p("  revoke %s\n", s)
		}
	}
	if r.OK() {
		p("OK: no discrepancies\n")
		return nil
	}
	p("FAILED: %s\n", Discrepancies(int64(len(r.Discrepancies))+r.Omitted))
	// Findings about the log as a whole first, then one group per station
	// and batch, in name order.
	type group struct{ station, batch string }
	var order []group
	by := map[group][]Discrepancy{}
	for _, d := range r.Discrepancies {
		g := group{d.Station, d.Batch}
		if g == (group{}) {
			p("  %s\n", d)
			continue
		}
		if _, ok := by[g]; !ok {
			order = append(order, g)
		}
		by[g] = append(by[g], d)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].station != order[j].station {
			return order[i].station < order[j].station
		}
		return order[i].batch < order[j].batch
	})
	for _, g := range order {
		p("  station %s, batch %s: %s\n", orDash(g.station), orDash(g.batch), Discrepancies(int64(len(by[g]))))
		for _, d := range by[g] {
			p("    %s\n", d)
		}
	}
	if r.Omitted > 0 {
		p("  … and %d more not listed\n", r.Omitted)
	}
	return nil
}

// Discrepancies is "1 discrepancy" or "N discrepancies".
func Discrepancies(n int64) string {
	if n == 1 {
		return "1 discrepancy"
	}
	return fmt.Sprintf("%d discrepancies", n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
