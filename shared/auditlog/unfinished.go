package auditlog

import (
	"sort"
)

// Unfinished work: what the log says about ceremonies that did not end.
//
// Every ceremony-started must be followed by ceremony-finished (its return
// bundle was written) or ceremony-abandoned (the officer ended it). A
// started ceremony with neither is a finding (KindUnfinished), and so are
// DACs of a batch no bundle-written entry delivered (KindUndelivered): a
// DAC that exists only inside the appliance is either work to resume or a
// DAC to revoke, and an auditor must see which. An abandoned ceremony is
// not a finding: its DACs are reported as listed for revocation
// (Report.Abandoned), and they are excluded from manifest reconciliation,
// since no module ever received them.

// Kinds of unfinished-work findings.
const (
	KindUnfinished  = "unfinished-ceremony" // ceremony-started with neither ceremony-finished nor ceremony-abandoned
	KindUndelivered = "undelivered-dacs"    // dac-issued entries of a batch no bundle-written entry delivered
	KindAbandoned   = "bad-abandon"         // a ceremony-abandoned entry disagrees with the log
)

// AbandonedBatch is a ceremony the officer abandoned, with the DACs it
// issued and never delivered: listed for revocation.
type AbandonedBatch struct {
	BatchID string   `json:"batch_id"`
	Station string   `json:"station"`
	Officer string   `json:"officer"`
	Reason  string   `json:"reason"`
	Seq     int64    `json:"seq"`
	Issued  int      `json:"issued"`
	Serials []string `json:"serials_to_revoke"`
}

// batchBook follows each batch through its ceremony, in a few bytes per
// batch: DACs are tied to it by a small index (issuedDAC.batch).
type batchBook struct {
	index map[string]int32
	rows  []batchRow
}

type batchRow struct {
	id         string
	station    string
	startSeq   int64 // -1 when no ceremony-started was seen
	issued     int64
	firstDAC   int64
	finished   bool
	delivered  bool
	abandoned  bool
	abandonSeq int64
}

func newBatchBook() batchBook { return batchBook{index: map[string]int32{}} }

func (b *batchBook) row(id string) int32 {
	if i, ok := b.index[id]; ok {
		return i
	}
	i := int32(len(b.rows))
	b.index[id] = i
	b.rows = append(b.rows, batchRow{id: id, startSeq: -1, firstDAC: -1})
	return i
}

func (b *batchBook) started(e *CeremonyStarted) {
	r := &b.rows[b.row(e.BatchID)]
	r.startSeq, r.station = e.Seq, e.Station
}

func (b *batchBook) issued(id string) int32 {
	i := b.row(id)
	b.rows[i].issued++
	return i
}

func (b *batchBook) delivered(id string) { b.rows[b.row(id)].delivered = true }
func (b *batchBook) finished(id string)  { b.rows[b.row(id)].finished = true }

func (b *batchBook) isAbandoned(i int32) bool {
	return i >= 0 && int(i) < len(b.rows) && b.rows[i].abandoned
}

// abandoned checks a ceremony-abandoned entry against the log so far and
// reports its DACs as listed for revocation.
func (l *ledger) abandoned(e *CeremonyAbandoned, r *Report) {
	i := l.batches.row(e.BatchID)
	row := &l.batches.rows[i]
	switch {
	case row.startSeq < 0:
		r.add(KindAbandoned, e.Seq, "", "batch %s abandoned, but no ceremony-started entry precedes it", e.BatchID)
	case row.finished:
		r.add(KindAbandoned, e.Seq, "", "batch %s abandoned after its ceremony finished", e.BatchID)
	case row.abandoned:
		r.add(KindAbandoned, e.Seq, "", "batch %s abandoned twice (first at seq %d)", e.BatchID, row.abandonSeq)
	case e.Station != row.station:
		r.add(KindAbandoned, e.Seq, "", "batch %s abandoned for station %s, its ceremony was started for %s", e.BatchID, e.Station, row.station)
	}
	if int64(e.Issued) != row.issued {
		r.add(KindAbandoned, e.Seq, "", "batch %s abandoned with %d DACs listed as issued; the log has %d dac-issued entries for it", e.BatchID, e.Issued, row.issued)
	}
	for _, s := range e.Serials {
		j, ok := l.bySerial[canonicalSerialKey(s)]
		if !ok || l.dacs[j].batch != i {
			r.add(KindAbandoned, e.Seq, "", "batch %s abandoned listing dac %s, which the log did not issue in that batch", e.BatchID, s)
		}
	}
	row.abandoned, row.abandonSeq = true, e.Seq
	ab := AbandonedBatch{BatchID: e.BatchID, Station: e.Station, Officer: e.Officer, Reason: e.Reason, Seq: e.Seq, Issued: e.Issued}
	if len(e.Serials) == e.Issued {
		ab.Serials = append([]string(nil), e.Serials...)
	} else {
		// More than an entry lists: the batch's own dac-issued entries.
		for j := range l.dacs {
			if l.dacs[j].batch == i {
				ab.Serials = append(ab.Serials, trimSerial(l.dacs[j].serial))
			}
		}
	}
	r.Abandoned = append(r.Abandoned, ab)
}

// unfinished reports, once every entry is read, the ceremonies that neither
// finished nor were abandoned and the DACs no return bundle delivered.
func (l *ledger) unfinished(r *Report) {
	rows := l.batches.rows
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return rows[order[a]].startSeq < rows[order[b]].startSeq })
	for _, i := range order {
		row := rows[i]
		if row.abandoned {
			continue
		}
		if row.startSeq >= 0 && !row.finished {
			r.add(KindUnfinished, row.startSeq, "", "ceremony for batch %s (station %s) started at seq %d and neither finished nor was abandoned: resume it with 'appliance sign', or end it with 'appliance ceremony abandon %s'",
				row.id, row.station, row.startSeq, row.id)
		}
		if row.issued > 0 && !row.delivered {
			r.add(KindUndelivered, row.startSeq, "", "%d DACs of batch %s were issued but never delivered in a return bundle", row.issued, row.id)
		}
	}
}
