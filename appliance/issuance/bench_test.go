package issuance

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// BenchmarkStartCeremonyReservations measures what reserving the accepted
// keys adds to the start transaction of a 100,000-CSR ceremony, beside a
// baseline run in the same process: the start of a ceremony that reserves
// nothing. It prints µs per reserved key and the ratio of the two starts.
func BenchmarkStartCeremonyReservations(b *testing.B) {
	const n = 100_000
	keys := make([][32]byte, n)
	for i := range keys {
		rand.Read(keys[i][:])
	}
	run := func(reserve [][32]byte, i int) time.Duration {
		db := openDBB(b)
		t0 := time.Now()
		err := db.Update(func(tx *bbolt.Tx) error {
			return StartCeremony(tx, &Ceremony{BatchID: fmt.Sprint("b", i), Station: "line-1", State: StateIssuing, Accepted: len(reserve)}, reserve)
		})
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var with, without time.Duration
	for i := 0; i < b.N; i++ {
		without += run(nil, i)
		with += run(keys, i)
	}
	b.ReportMetric(float64(with.Microseconds())/float64(b.N)/n, "µs/reserved-key")
	b.ReportMetric(float64(with)/float64(without), "ratio-vs-no-reservation")
	b.ReportMetric(float64(with.Milliseconds())/float64(b.N), "ms/start-100k")
}

func openDBB(b *testing.B) *bbolt.DB {
	b.Helper()
	db, err := bbolt.Open(b.TempDir()+"/appliance.db", 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := InitDB(db); err != nil {
		b.Fatal(err)
	}
	return db
}
