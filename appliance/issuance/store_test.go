package issuance

import (
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func openDB(t *testing.T) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "appliance.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := InitDB(db); err != nil {
		t.Fatal(err)
	}
	return db
}

func rec(key string, serial byte, idx uint32) *DACRecord {
	return &DACRecord{SPKIHash: sha256.Sum256([]byte(key)), Serial: []byte{0x40, serial}, Batch: "b1", Index: idx,
		Station: "line-1", VID: 0xFFF1, PID: 0x8000, IssuedAt: time.Unix(1, 0).UTC(), DER: []byte{0x30, serial}}
}

func TestPutDACInvariants(t *testing.T) {
	db := openDB(t)
	err := db.Update(func(tx *bbolt.Tx) error { return PutDAC(tx, rec("k1", 1, 0)) })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    *DACRecord
		want error
	}{
		{"same key", rec("k1", 2, 1), ErrKeyAlreadyCertified},
		{"same serial", rec("k2", 1, 1), ErrSerialUsed},
		{"same index", rec("k2", 2, 0), ErrIndexIssued},
	} {
		err := db.Update(func(tx *bbolt.Tx) error { return PutDAC(tx, tc.r) })
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	err = db.Update(func(tx *bbolt.Tx) error { return PutDAC(tx, rec("k2", 2, 1)) })
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		n, err := StationIssued(tx, "line-1")
		if err != nil || n != 2 {
			t.Errorf("station count %d %v", n, err)
		}
		r, err := DACBySerial(tx, []byte{0x40, 2})
		if err != nil || r == nil || r.Index != 1 || r.SPKIHash != sha256.Sum256([]byte("k2")) {
			t.Errorf("by serial: %+v %v", r, err)
		}
		var got []uint32
		err = BatchDACs(tx, "b1", func(r *DACRecord) error { got = append(got, r.Index); return nil })
		if err != nil || len(got) != 2 || got[0] != 0 || got[1] != 1 {
			t.Errorf("batch dacs %v %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCeremonyAndRefusals(t *testing.T) {
	db := openDB(t)
	err := db.View(func(tx *bbolt.Tx) error {
		_, err := GetCeremony(tx, "b1")
		return err
	})
	if !errors.Is(err, ErrNoCeremony) {
		t.Fatalf("got %v", err)
	}
	c := &Ceremony{BatchID: "b1", Station: "s", State: StateIssuing, CSRs: 3}
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := StartCeremony(tx, c, nil); err != nil {
			return err
		}
		return PutRefusal(tx, "b1", Refusal{Index: 2, Reason: "duplicate-in-batch", Detail: "same key as csr 0"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		got, err := GetCeremony(tx, "b1")
		if err != nil || got.State != StateIssuing || got.CSRs != 3 {
			t.Errorf("%+v %v", got, err)
		}
		var rs []Refusal
		err = Refusals(tx, "b1", func(r Refusal) error { rs = append(rs, r); return nil })
		if err != nil || len(rs) != 1 || rs[0].Index != 2 {
			t.Errorf("%v %v", rs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := rec("k", 7, 3)
	r.ModuleID = "24:0a:c4:00:01:02"
	r.LogIndex = 1 << 40
	v, err := r.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	if got.SPKIHash != r.SPKIHash || string(got.Serial) != string(r.Serial) || got.Batch != r.Batch || got.Index != r.Index ||
		got.Station != r.Station || got.ModuleID != r.ModuleID || got.VID != r.VID || got.PID != r.PID ||
		got.LogIndex != r.LogIndex || !got.IssuedAt.Equal(r.IssuedAt) || string(got.DER) != string(r.DER) {
		t.Fatalf("round trip: %+v != %+v", got, r)
	}
	for i := range v {
		if _, err := decodeRecord(v[:i]); err == nil {
			t.Fatalf("truncated record (%d of %d bytes) decoded", i, len(v))
		}
	}
	if _, err := decodeRecord(append(v, 0)); err == nil {
		t.Fatal("record with trailing byte decoded")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	v, _ := rec("k", 1, 2).encode()
	f.Add(v)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := r.encode()
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(b) {
			t.Fatalf("decode/encode not stable")
		}
	})
}
