package chaos

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dacline/dacline/shared/lineproto"
)

// logEntry is the part of an `appliance log show --json` entry the checks read.
type logEntry struct {
	Seq     int64  `json:"seq"`
	Type    string `json:"type"`
	BatchID string `json:"batch_id"`
	Index   *int   `json:"index"`
	SPKI    string `json:"spki_sha256"`
	Serial  string `json:"serial"`
	DAC     string `json:"dac_sha256"`
}

// logEntries reads the whole audit log back through `appliance log show`.
func (f *factory) logEntries() ([]logEntry, error) {
	out, err := f.try(f.cmd("appliance", f.app, "log", "show", "--json", "--last", "-1"))
	if err != nil {
		return nil, err
	}
	var v struct {
		Size    int64      `json:"size"`
		Entries []logEntry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("appliance log show --json: %w", err)
	}
	if int64(len(v.Entries)) != v.Size {
		return nil, fmt.Errorf("log show: size %d but %d entries listed", v.Size, len(v.Entries))
	}
	return v.Entries, nil
}

// logSummary counts what the checks need and lists every rule the log breaks:
// sequence numbers 0..n-1 in order; one dac-issued per public key, per serial,
// per (batch, CSR index); at most one ceremony-started and one
// ceremony-finished per batch, the finish after the start.
type logSummary struct {
	issued     int
	bySPKI     map[string]string // spki → dac sha256
	batches    map[string]int    // batch → dac-issued
	finished   map[string]bool
	violations []string
}

func checkLog(ents []logEntry) *logSummary {
	s := &logSummary{bySPKI: map[string]string{}, batches: map[string]int{}, finished: map[string]bool{}}
	bad := func(format string, args ...any) { s.violations = append(s.violations, fmt.Sprintf(format, args...)) }
	serials := map[string]int64{}
	indexes := map[string]int64{}
	started := map[string]int64{}
	for i, e := range ents {
		if e.Seq != int64(i) {
			bad("entry %d has seq %d", i, e.Seq)
		}
		switch e.Type {
		case "ceremony-started":
			if _, dup := started[e.BatchID]; dup {
				bad("seq %d: second ceremony-started for batch %s", e.Seq, e.BatchID)
			}
			started[e.BatchID] = e.Seq
		case "ceremony-finished":
			if _, ok := started[e.BatchID]; !ok {
				bad("seq %d: ceremony-finished for batch %s that never started", e.Seq, e.BatchID)
			}
			if s.finished[e.BatchID] {
				bad("seq %d: second ceremony-finished for batch %s", e.Seq, e.BatchID)
			}
			s.finished[e.BatchID] = true
		case "dac-issued":
			s.issued++
			s.batches[e.BatchID]++
			if _, ok := started[e.BatchID]; !ok {
				bad("seq %d: dac issued in batch %s before its ceremony-started", e.Seq, e.BatchID)
			}
			if s.finished[e.BatchID] {
				bad("seq %d: dac issued in batch %s after its ceremony-finished", e.Seq, e.BatchID)
			}
			if _, dup := s.bySPKI[e.SPKI]; dup || e.SPKI == "" {
				bad("seq %d: second DAC for public key %s", e.Seq, e.SPKI)
			}
			s.bySPKI[e.SPKI] = e.DAC
			if prev, dup := serials[e.Serial]; dup || e.Serial == "" {
				bad("seq %d: serial %s used again (seq %d)", e.Seq, e.Serial, prev)
			}
			serials[e.Serial] = e.Seq
			if e.Index != nil {
				k := fmt.Sprintf("%s/%d", e.BatchID, *e.Index)
				if prev, dup := indexes[k]; dup {
					bad("seq %d: CSR %d of batch %s issued twice (seq %d)", e.Seq, *e.Index, e.BatchID, prev)
				}
				indexes[k] = e.Seq
			}
		}
	}
	return s
}

// auditVerify exports the log to a fresh directory and runs the auditor's
// verifier on it, with the appliance identity and the given line manifests.
func (f *factory) auditVerify(name string, manifests ...string) (string, error) {
	dir := filepath.Join(f.dir, "log-export-"+name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	if _, err := f.try(f.cmd("appliance", f.app, "log", "export", "--out", dir)); err != nil {
		return "", fmt.Errorf("appliance log export (before the verifier could run): %w", err)
	}
	args := []string{"audit", "verify", "--log", dir, "--key", f.applianceID}
	for _, m := range manifests {
		args = append(args, "--manifest", m)
	}
	out, err := f.try(f.cmd("appliance", f.app, args...))
	if err != nil {
		// Name the discrepancies by kind: the report can run to thousands of lines.
		l := strings.Split(out, "\n")
		for i, line := range l {
			if !strings.HasPrefix(line, "FAILED") {
				continue
			}
			kinds, first := map[string]int{}, map[string]string{}
			for _, d := range l[i+1:] {
				if k, _, ok := strings.Cut(strings.TrimSpace(d), " "); ok && !strings.HasPrefix(k, "…") {
					kinds[k]++
					if first[k] == "" {
						first[k] = strings.TrimSpace(d)
					}
				}
			}
			var ex []string
			for _, k := range sortedKeys(kinds) {
				ex = append(ex, "e.g. "+first[k])
			}
			return out, fmt.Errorf("%s %s\n%s\n(full report: appliance audit verify --log %s --key %s)",
				line, fmtCounts(kinds), strings.Join(ex, "\n"), dir, f.applianceID)
		}
	}
	return out, err
}

// stationStatus is `lineclient status --json --check`; err is set when the
// store breaks an invariant (the command exits 1 and lists them).
type stationStatus struct {
	Total      int            `json:"total"`
	States     map[string]int `json:"states"`
	Reasons    map[string]int `json:"failure_reasons"`
	Violations []string       `json:"violations"`
}

func (f *factory) stationStatus() (*stationStatus, error) {
	out, err := f.try(f.cmd("lineclient", f.st, "status", "--json", "--check", "--failures", "0"))
	var s stationStatus
	if jerr := json.Unmarshal([]byte(out), &s); jerr != nil && err == nil {
		err = fmt.Errorf("lineclient status --json: %w", jerr)
	}
	if len(s.Violations) > 0 {
		err = fmt.Errorf("station invariants broken:\n  %s", strings.Join(s.Violations, "\n  "))
	}
	return &s, err
}

// simModule is the part of a simulator state file (module-<mac>.json) the
// checks read: what the module itself holds, the ground truth a station
// record can only claim.
type simModule struct {
	MAC           string            `json:"mac"`
	KeyPKCS8      []byte            `json:"key_pkcs8"`
	KeysGenerated int               `json:"keys_generated"`
	Lying         bool              `json:"lying"`
	Items         map[string][]byte `json:"items"`
	LockMask      uint8             `json:"lock_mask"`
}

func readSimModules(dir string) (map[string]*simModule, error) {
	files, err := filepath.Glob(filepath.Join(dir, "module-*.json"))
	if err != nil {
		return nil, err
	}
	mods := map[string]*simModule{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var m simModule
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		mods[strings.ToLower(m.MAC)] = &m
	}
	return mods, nil
}

// macKey spells a manifest MAC (02:da:c1:…) the way state files do (02dac1…).
func macKey(mac string) string { return strings.ToLower(strings.ReplaceAll(mac, ":", "")) }

// checkModules checks every simulated module: at most one key ever
// generated; any lock bit burned only on a module that holds a DAC for its
// own key, issued under the PAI, and that is not a lying module (whose
// attestation key differs from its CSR key, so attestation must have
// failed). It returns the violations and the number of fully locked modules.
func (f *factory) checkModules(mods map[string]*simModule) (violations []string, locked, lying int) {
	bad := func(mac, format string, args ...any) {
		violations = append(violations, mac+": "+fmt.Sprintf(format, args...))
	}
	dacItem := fmt.Sprint(uint8(lineproto.ItemDAC))
	for mac, m := range mods {
		if m.Lying {
			lying++
		}
		if m.KeysGenerated > 1 {
			bad(mac, "%d keys generated", m.KeysGenerated)
		}
		if m.LockMask == 0 {
			continue
		}
		if lineproto.LockMask(m.LockMask) == lineproto.LockMaskAll {
			locked++
		}
		if m.Lying {
			bad(mac, "lying module (attests with another key) has lock mask %04b", m.LockMask)
		}
		der, ok := m.Items[dacItem]
		if !ok {
			bad(mac, "lock mask %04b without a DAC written", m.LockMask)
			continue
		}
		dac, err := x509.ParseCertificate(der)
		if err != nil {
			bad(mac, "locked with an unparsable DAC: %v", err)
			continue
		}
		if err := dac.CheckSignatureFrom(f.pai); err != nil {
			bad(mac, "locked with a DAC not signed by the PAI: %v", err)
		}
		k, err := x509.ParsePKCS8PrivateKey(m.KeyPKCS8)
		if err != nil {
			bad(mac, "locked without a key: %v", err)
			continue
		}
		if pub, ok := dac.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(k.(*ecdsa.PrivateKey).Public()) {
			bad(mac, "locked with a DAC for another key")
		}
	}
	return violations, locked, lying
}

// checkManifest reads the line manifest and checks each row against the
// module: fully locked, and holding exactly the DAC the row names. It returns
// the rows by MAC.
func checkManifest(path string, mods map[string]*simModule) (rows map[string]string, violations []string, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, nil, fmt.Errorf("manifest %s: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	mi, mo := col["mac"], col["dac_sha256"]
	if _, ok := col["mac"]; !ok {
		return nil, nil, fmt.Errorf("manifest %s: no mac column", path)
	}
	if _, ok := col["dac_sha256"]; !ok {
		return nil, nil, fmt.Errorf("manifest %s: no dac_sha256 column", path)
	}
	rows = map[string]string{}
	dacs := map[string]string{}
	dacItem := fmt.Sprint(uint8(lineproto.ItemDAC))
	for _, r := range recs[1:] {
		mac, dac := macKey(r[mi]), strings.ToLower(r[mo])
		if _, dup := rows[mac]; dup {
			violations = append(violations, fmt.Sprintf("manifest: module %s listed twice", r[mi]))
		}
		if other, dup := dacs[dac]; dup {
			violations = append(violations, fmt.Sprintf("manifest: DAC %s on %s and %s", dac[:16], other, r[mi]))
		}
		rows[mac], dacs[dac] = dac, r[mi]
		m, ok := mods[mac]
		if !ok {
			violations = append(violations, fmt.Sprintf("manifest: module %s not on any jig", r[mi]))
			continue
		}
		if lineproto.LockMask(m.LockMask) != lineproto.LockMaskAll {
			violations = append(violations, fmt.Sprintf("manifest: module %s listed done but lock mask %04b", r[mi], m.LockMask))
		}
		sum := sha256.Sum256(m.Items[dacItem])
		if hex.EncodeToString(sum[:]) != dac {
			violations = append(violations, fmt.Sprintf("manifest: module %s holds another DAC than the row says", r[mi]))
		}
	}
	return rows, violations, nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
