package auditlog

import (
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ledger keeps what reconciliation needs about every issued DAC and nothing
// more: fixed-size keys and one small record per DAC, so 1,000,000 DACs cost
// tens of megabytes whatever the entries' size.
type ledger struct {
	bySerial map[serialKey]int32  // → index in dacs
	bySPKI   map[hashPrefix]int64 // → seq of the entry that certified the key
	dacs     []issuedDAC

	enrolled map[string]bool   // station → currently enrolled
	revoked  map[string]int64  // station → seq of its revocation
	started  map[string]string // batch id → station of its ceremony-started
	inBatch  map[string]*Counts
	batches  batchBook // what happened to each ceremony (unfinished.go)

	manifests []string // names, in the order reconciled
}

// serialKey is a serial's magnitude, left-padded to 20 bytes (RFC 5280 caps
// serials at 20 octets), so equal numbers give equal keys.
type serialKey [20]byte

type issuedDAC struct {
	seq    int64
	dac    hashPrefix
	serial serialKey
	state  uint8 // 0 unseen in manifests, 1 deployed, 2 unused, 3 in progress
	row    int32 // manifest row that accounted for it (for deployed-twice messages)
	src    int32 // index of that manifest in ledger.manifests
	batch  int32 // index of its batch in ledger.batches
}

const (
	stateUnseen = iota
	stateDeployed
	stateUnused
	stateInProgress // a manifest lists it in-progress; a later one may deploy it
)

func newLedger() *ledger {
	return &ledger{
		bySerial: map[serialKey]int32{},
		bySPKI:   map[hashPrefix]int64{},
		enrolled: map[string]bool{},
		revoked:  map[string]int64{},
		started:  map[string]string{},
		inBatch:  map[string]*Counts{},
		batches:  newBatchBook(),
	}
}

func keyOfSerial(s string) (serialKey, error) {
	n, err := ParseSerial(s)
	if err != nil {
		return serialKey{}, err
	}
	var k serialKey
	n.FillBytes(k[:])
	return k, nil
}

// canonicalSerialKey is keyOfSerial for the canonical form entries carry.
func canonicalSerialKey(s string) serialKey {
	var k serialKey
	hex.Decode(k[len(k)-len(s)/2:], []byte(s))
	return k
}

// productKey is "VVVV/PPPP" in uppercase hex, without fmt on the hot path.
func productKey(vid, pid uint16) string {
	const digits = "0123456789ABCDEF"
	var b [9]byte
	for i, v := range [2]uint16{vid, pid} {
		for j := 0; j < 4; j++ {
			b[i*5+j] = digits[v>>(12-4*j)&0xf]
		}
	}
	b[4] = '/'
	return string(b[:])
}

// hashPrefix is the first 128 bits of a SHA-256, which is what the ledger
// keeps of key and DAC hashes to halve its memory. Equal hashes always have
// equal prefixes, so no duplicate or mismatch is missed; a false "duplicate"
// would need a 2^64-work collision and only raises an alarm, and passing a
// wrong DAC hash off as right would need a 2^128-work second preimage.
type hashPrefix [16]byte

func prefixOf(h [32]byte) hashPrefix { return hashPrefix(h[:16]) }

func decodeHash(s string) ([32]byte, error) {
	var h [32]byte
	b, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(s)))
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%q is not a hex SHA-256", s)
	}
	copy(h[:], b)
	return h, nil
}

// observe applies one parsed entry to the ledger and the report counts.
func (l *ledger) observe(e Entry, r *Report) {
	seq := e.Header().Seq
	r.EntriesByType[e.EntryType()]++
	switch e := e.(type) {
	case *StationEnrolled:
		l.enrolled[e.Station] = true
		delete(l.revoked, e.Station)
	case *StationRevoked:
		l.enrolled[e.Station] = false
		l.revoked[e.Station] = seq
	case *CeremonyStarted:
		l.started[e.BatchID] = e.Station
		l.batches.started(e)
	case *DACIssued:
		l.issue(e, r)
	case *CSRRefused:
		r.Refused++
		counts(r.Stations, e.Station).Refused++
		counts(r.Batches, e.BatchID).Refused++
		counts(l.inBatch, e.BatchID).Refused++
		if e.VID != 0 {
			counts(r.Products, productKey(e.VID, e.PID)).Refused++
		}
	case *BundleWritten:
		l.batches.delivered(e.BatchID)
	case *CeremonyAbandoned:
		l.abandoned(e, r)
	case *CeremonyFinished:
		l.batches.finished(e.BatchID)
		got := l.inBatch[e.BatchID]
		if got == nil {
			got = &Counts{}
		}
		if int64(e.Issued) != got.Issued || int64(e.Refused) != got.Refused {
			r.addFor(l.started[e.BatchID], e.BatchID, KindCeremonyCount, seq, "", "ceremony-finished for batch %s says %d issued, %d refused; the log has %d dac-issued and %d csr-refused entries for it",
				e.BatchID, e.Issued, e.Refused, got.Issued, got.Refused)
		}
	}
}

func (l *ledger) issue(e *DACIssued, r *Report) {
	r.Issued++
	counts(r.Stations, e.Station).Issued++
	counts(r.Batches, e.BatchID).Issued++
	counts(r.Products, productKey(e.VID, e.PID)).Issued++
	counts(l.inBatch, e.BatchID).Issued++

	if at, ok := l.revoked[e.Station]; ok {
		r.addFor(e.Station, e.BatchID, KindNotEnrolled, e.Seq, "", "dac %s issued for station %s, revoked at seq %d", e.Serial, e.Station, at)
	} else if !l.enrolled[e.Station] {
		r.addFor(e.Station, e.BatchID, KindNotEnrolled, e.Seq, "", "dac %s issued for station %s, which the log never enrolled", e.Serial, e.Station)
	}
	if st, ok := l.started[e.BatchID]; !ok {
		r.addFor(e.Station, e.BatchID, KindNoCeremony, e.Seq, "", "dac %s issued in batch %s, for which no ceremony-started entry precedes it", e.Serial, e.BatchID)
	} else if st != e.Station {
		r.addFor(e.Station, e.BatchID, KindNoCeremony, e.Seq, "", "dac %s issued for station %s in batch %s, whose ceremony was started for station %s", e.Serial, e.Station, e.BatchID, st)
	}

	sk := canonicalSerialKey(e.Serial) // validated by ParseEntry
	spki, _ := decodeHash(e.SPKISHA256)
	dac, _ := decodeHash(e.DACSHA256)
	if prev, ok := l.bySPKI[prefixOf(spki)]; ok {
		r.addFor(e.Station, e.BatchID, KindDuplicateSPKI, e.Seq, "", "public key %s… certified twice: seq %d and seq %d", e.SPKISHA256[:16], prev, e.Seq)
	} else {
		l.bySPKI[prefixOf(spki)] = e.Seq
	}
	if i, ok := l.bySerial[sk]; ok {
		r.addFor(e.Station, e.BatchID, KindDuplicateSerial, e.Seq, "", "serial %s issued twice: seq %d and seq %d", e.Serial, l.dacs[i].seq, e.Seq)
		return
	}
	l.bySerial[sk] = int32(len(l.dacs))
	l.dacs = append(l.dacs, issuedDAC{seq: e.Seq, dac: prefixOf(dac), serial: sk, batch: l.batches.issued(e.BatchID)})
}

// Manifest is a line manifest to reconcile: CSV with a header row. Columns
// are found by header name: dac_serial and dac_sha256 are required; a status
// column, when present, marks rows whose value is "unused" as DACs issued but
// never put in a module (anything else counts as deployed).
type Manifest struct {
	Name string
	R    io.Reader
}

// reconcileManifest accounts for every row of m against the ledger.
func (l *ledger) reconcileManifest(m Manifest, r *Report) {
	sum := ManifestSummary{Name: m.Name}
	l.manifests = append(l.manifests, m.Name)
	defer func() { r.Manifests = append(r.Manifests, sum) }()
	cr := csv.NewReader(m.R)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		r.add(KindManifest, -1, m.Name, "cannot read the header row: %v", err)
		return
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	serialCol, ok1 := col["dac_serial"]
	shaCol, ok2 := col["dac_sha256"]
	statusCol, hasStatus := col["status"]
	stationCol, hasStation := col["station"]
	batchCol, hasBatch := col["batch_id"]
	if !ok1 || !ok2 {
		r.add(KindManifest, -1, m.Name, "header has no dac_serial and dac_sha256 columns (got %s)", strings.Join(header, ","))
		return
	}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		src := fmt.Sprintf("%s line %d", m.Name, row)
		if err != nil {
			r.add(KindManifest, -1, src, "%v", err)
			if _, ok := err.(*csv.ParseError); ok {
				continue
			}
			return
		}
		sum.Rows++
		serial, sha := field(rec, serialCol), field(rec, shaCol)
		var rowStation, rowBatch string
		if hasStation {
			rowStation = field(rec, stationCol)
		}
		if hasBatch {
			rowBatch = field(rec, batchCol)
		}
		sk, err := keyOfSerial(serial)
		if err != nil {
			r.add(KindManifest, -1, src, "dac_serial: %v", err)
			continue
		}
		want, err := decodeHash(sha)
		if err != nil {
			r.add(KindManifest, -1, src, "dac_sha256: %v", err)
			continue
		}
		i, ok := l.bySerial[sk]
		if !ok {
			r.addFor(rowStation, rowBatch, KindNeverIssued, -1, src, "dac serial %s was never issued in the log", serial)
			continue
		}
		d := &l.dacs[i]
		st, bt := l.batchOf(d)
		if d.dac != prefixOf(want) {
			r.addFor(st, bt, KindManifestMismatch, d.seq, src, "dac serial %s: manifest dac_sha256 %s… differs from the one issued (%x…)", serial, strings.ToLower(sha)[:16], d.dac[:8])
			continue
		}
		status := ""
		if hasStatus {
			status = strings.ToLower(strings.TrimSpace(field(rec, statusCol)))
		}
		unused := status == "unused"
		if status == "in-progress" {
			// Not finished when that manifest was written: counted in
			// progress unless a manifest deploys it or lists it unused.
			sum.InProgress++
			if d.state == stateUnseen {
				d.state, d.row, d.src = stateInProgress, int32(row), int32(len(l.manifests)-1)
			}
			continue
		}
		if d.state != stateUnseen && d.state != stateInProgress {
			r.addFor(st, bt, KindDeployedTwice, d.seq, src, "dac serial %s already accounted for at %s line %d", serial, l.manifests[d.src], d.row)
			continue
		}
		d.row, d.src = int32(row), int32(len(l.manifests)-1)
		if unused {
			d.state = stateUnused
			sum.Unused++
			r.Unused++
		} else {
			d.state = stateDeployed
			sum.Deployed++
			r.Deployed++
		}
	}
}

func field(rec []string, i int) string {
	if i < len(rec) {
		return rec[i]
	}
	return ""
}

// unaccounted reports every issued DAC no manifest deployed or listed
// unused: missing when no manifest lists it at all, in progress (counted,
// not a discrepancy) when one lists it in-progress.
func (l *ledger) unaccounted(r *Report) {
	type key struct{ station, batch string }
	var order []key
	inProgress := map[key]int64{}
	for i := range l.dacs {
		d := &l.dacs[i]
		if l.batches.isAbandoned(d.batch) {
			continue
		}
		st, bt := l.batchOf(d)
		switch d.state {
		case stateUnseen:
			r.addFor(st, bt, KindNotAccounted, d.seq, "", "dac serial %s is missing: no manifest lists it deployed, unused or in progress", trimSerial(d.serial))
		case stateInProgress:
			k := key{st, bt}
			if inProgress[k] == 0 {
				order = append(order, k)
			}
			inProgress[k]++
			r.InProgress++
		}
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].station != order[j].station {
			return order[i].station < order[j].station
		}
		return order[i].batch < order[j].batch
	})
	for _, k := range order {
		r.InProgressBy = append(r.InProgressBy, InProgressGroup{Station: k.station, Batch: k.batch, DACs: inProgress[k]})
	}
}

// batchOf names the station and batch a DAC was issued in.
func (l *ledger) batchOf(d *issuedDAC) (station, batch string) {
	if d.batch < 0 || int(d.batch) >= len(l.batches.rows) {
		return "", ""
	}
	row := &l.batches.rows[d.batch]
	return row.station, row.id
}

func trimSerial(k serialKey) string {
	b := k[:]
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return hex.EncodeToString(b)
}

// dacAt returns the issued DAC recorded by entry seq, or nil. dacs is in seq
// order because entries are observed in order.
func (l *ledger) dacAt(seq int64) *issuedDAC {
	i := sort.Search(len(l.dacs), func(i int) bool { return l.dacs[i].seq >= seq })
	if i < len(l.dacs) && l.dacs[i].seq == seq {
		return &l.dacs[i]
	}
	return nil
}
