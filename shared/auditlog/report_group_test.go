package auditlog

import (
	"strings"
	"testing"
)

// TestInProgressIsNotMissing: a DAC a manifest lists in-progress is counted
// in progress, per station and batch, not reported missing; a later
// manifest that deploys it accounts for it; one no manifest lists is
// missing, grouped under its station and batch.
func TestInProgressIsNotMissing(t *testing.T) {
	l, _ := standardLog(t)
	dir := l.writeExport(t)
	var first, later []string
	for k := 0; k < 9; k++ {
		switch {
		case k == 2:
			// no row at all: missing
		case k == 6 || k == 7:
			first = append(first, manifestRow(k, "in-progress"))
		default:
			first = append(first, manifestRow(k, "deployed"))
		}
	}
	r := verifyDir(t, dir, VerifyOptions{Manifests: []Manifest{{Name: "m1.csv", R: strings.NewReader(manifestCSV(first...))}}})
	var sb strings.Builder
	r.WriteText(&sb)
	if r.InProgress != 2 || len(r.InProgressBy) != 1 || r.InProgressBy[0] != (InProgressGroup{Station: "line-2", Batch: "batch-b", DACs: 2}) {
		t.Fatalf("in progress %d %+v\n%s", r.InProgress, r.InProgressBy, sb.String())
	}
	ds := r.Find(KindNotAccounted)
	if len(ds) != 1 || ds[0].Station != "line-1" || ds[0].Batch != "batch-a" || !strings.Contains(ds[0].Detail, "missing") {
		t.Fatalf("missing: %+v\n%s", ds, sb.String())
	}
	for _, s := range []string{
		"FAILED: 1 discrepancy\n",
		"  station line-1, batch batch-a: 1 discrepancy\n    not-accounted",
		"manifest m1.csv: 8 rows, 6 deployed, 0 unused, 2 in progress",
		"in progress: station line-2 batch batch-b: 2 DACs",
	} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, sb.String())
		}
	}
	// The next manifest deploys them and lists the missing one: all accounted.
	later = append(later, manifestRow(2, "deployed"), manifestRow(6, "deployed"), manifestRow(7, "unused"))
	r = verifyDir(t, dir, VerifyOptions{Manifests: []Manifest{
		{Name: "m1.csv", R: strings.NewReader(manifestCSV(first...))},
		{Name: "m2.csv", R: strings.NewReader(manifestCSV(later...))}}})
	sb.Reset()
	r.WriteText(&sb)
	if !r.OK() || r.InProgress != 0 || r.Deployed != 8 || r.Unused != 1 {
		t.Fatalf("after the later manifest: in progress %d deployed %d unused %d\n%s", r.InProgress, r.Deployed, r.Unused, sb.String())
	}
	// A DAC listed in progress after it was deployed stays deployed.
	r = verifyDir(t, dir, VerifyOptions{Manifests: []Manifest{
		{Name: "m2.csv", R: strings.NewReader(manifestCSV(later...))},
		{Name: "m1.csv", R: strings.NewReader(manifestCSV(first...))}}})
	if !r.OK() || r.InProgress != 0 {
		t.Fatalf("in-progress after deployed: %+v", r.Discrepancies)
	}
}

func TestDiscrepanciesWord(t *testing.T) {
	for n, want := range map[int64]string{0: "0 discrepancies", 1: "1 discrepancy", 2: "2 discrepancies"} {
		if got := Discrepancies(n); got != want {
			t.Errorf("%d: %q", n, got)
		}
	}
}
