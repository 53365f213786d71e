package boltmem

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// rssFile is the process's file-backed resident memory in bytes (Linux).
func rssFile(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no RssFile")
	return 0
}

// TestReleaseKeepsDataDropsRSS: after a scan of a 16 MB store, Release
// inside the same read transaction gives the mapped pages back, and every
// value — including slices taken before the call — still reads the same,
// in that transaction, in a write transaction and in the next one.
func TestReleaseKeepsDataDropsRSS(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "x.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := func(i int) []byte {
		v := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 1000)
		return binary.BigEndian.AppendUint32(v, uint32(i))
	}
	const n = 8000 // about 16 MB of values
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(binary.BigEndian.AppendUint32(nil, uint32(i)), value(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(tx *bbolt.Tx) {
		t.Helper()
		got := 0
		tx.Bucket([]byte("b")).ForEach(func(k, v []byte) error {
			if !bytes.Equal(v, value(int(binary.BigEndian.Uint32(k)))) {
				t.Fatalf("value %x changed", k)
			}
			got++
			return nil
		})
		if got != n {
			t.Fatalf("%d values, want %d", got, n)
		}
	}
	err = db.View(func(tx *bbolt.Tx) error {
		first := tx.Bucket([]byte("b")).Get([]byte{0, 0, 0, 7})
		check(tx)
		if ReleaseAbove(tx, 1<<40) {
			t.Error("ReleaseAbove released below its limit")
		}
		before := rssFile(t)
		if !ReleaseAbove(tx, 4<<20) && runtime.GOOS == "linux" {
			t.Error("ReleaseAbove did not release above its limit")
		}
		after := rssFile(t)
		if runtime.GOOS == "linux" && before-after < 8<<20 {
			t.Errorf("file-backed RSS %d MB before Release, %d MB after: want 8 MB or more given back", before>>20, after>>20)
		}
		if !bytes.Equal(first, value(7)) {
			t.Error("a slice into the map changed after Release")
		}
		check(tx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { check(tx); Release(tx); check(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(tx *bbolt.Tx) error { check(tx); return nil }); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRelease: 2000 random reads in a 256 MB store, with and without a
// Release after them (which makes the next round fault every page in again).
func BenchmarkRelease(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "x.db"), 0o600, &bbolt.Options{InitialMmapSize: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		v := make([]byte, 2000)
		for i := range 128_000 {
			if err := bk.Put(binary.BigEndian.AppendUint32(nil, uint32(i)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, release := range []bool{false, true} {
		b.Run(fmt.Sprintf("release=%v", release), func(b *testing.B) {
			db.View(func(tx *bbolt.Tx) error {
				bk := tx.Bucket([]byte("b"))
				for b.Loop() {
					for i := range 2000 {
						bk.Get(binary.BigEndian.AppendUint32(nil, uint32(i*64)))
					}
					if release {
						Release(tx)
					}
				}
				return nil
			})
		})
	}
}
