package storecheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// newStore makes a real bbolt file with enough data for a branch root, free
// pages and overflow pages, and returns its path and bytes.
func newStore(t testing.TB) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	// NoSync: the file is complete once Close returns; fsyncs would only
	// slow the fuzzer's workers, which each make one.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		if err := db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("modules"))
			if err != nil {
				return err
			}
			for i := 0; i < 500; i++ {
				if err := b.Put([]byte(fmt.Sprintf("mac-%05d", i)), bytes.Repeat([]byte{byte(round)}, 300)); err != nil {
					return err
				}
			}
			return b.Put([]byte("big"), bytes.Repeat([]byte("x"), 20000))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

func TestCheckGoodStore(t *testing.T) {
	path, _ := newStore(t)
	if err := Check(path); err != nil {
		t.Fatalf("a good store: %v", err)
	}
	// A freshly made, empty store too.
	p := filepath.Join(t.TempDir(), "fresh.db")
	db, err := bbolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := Check(p); err != nil {
		t.Fatalf("a fresh store: %v", err)
	}
}

func TestCheckRefusesMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	err := Check(filepath.Join(dir, "none.db"))
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "none.db") {
		t.Fatalf("missing: %v", err)
	}
	p := filepath.Join(dir, "zero.db")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(p); !errors.Is(err, ErrEmpty) {
		t.Fatalf("zero-length: %v", err)
	}
	if err := Check(dir); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a directory: %v", err)
	}
}

func TestCheckRefusesDamage(t *testing.T) {
	_, good := newStore(t)
	ps := int(order.Uint32(good[pageHeaderSize+8:]))
	root := int(order.Uint64(good[pageHeaderSize+16:]))
	freelist := int(order.Uint64(good[pageHeaderSize+32:]))
	hwm := max(int(order.Uint64(good[pageHeaderSize+40:])), int(order.Uint64(good[ps+pageHeaderSize+40:])))
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x40; return b }
	}
	zero := func(from, n int) func([]byte) []byte {
		return func(b []byte) []byte { clear(b[from : from+n]); return b }
	}
	cases := []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }, "truncated"},
		{"truncated to one page", func(b []byte) []byte { return b[:ps] }, "truncated"},
		{"truncated to 100 bytes", func(b []byte) []byte { return b[:100] }, "meta page"},
		{"last page in use cut", func(b []byte) []byte { return b[:(hwm-1)*ps] }, "truncated"},
		{"both meta pages zeroed", func(b []byte) []byte { clear(b[:2*ps]); return b }, "meta page 0: bad magic (not a bbolt file, or overwritten); meta page 1: not found"},
		{"both meta pages flipped", func(b []byte) []byte {
			b[pageHeaderSize+48] ^= 0x40
			b[ps+pageHeaderSize+4] ^= 0x40
			return b
		}, "meta page 0: checksum mismatch; meta page 1: not found"},
		{"zeroed root page", zero(root*ps, ps), "root bucket page"},
		{"flipped root page type", flip(root*ps + 8), "root bucket page"},
		{"zeroed freelist page", zero(freelist*ps, ps), "freelist page"},
		{"freelist id out of range", func(b []byte) []byte {
			if order.Uint16(b[freelist*ps+10:]) == 0 {
				order.PutUint16(b[freelist*ps+10:], 1)
			}
			order.PutUint64(b[freelist*ps+pageHeaderSize:], 1<<40)
			return b
		}, "free page id"},
		{"all zero", func(b []byte) []byte { return make([]byte, len(b)) }, "meta page 0: bad magic"},
		{"text file", func([]byte) []byte { return []byte("# not a database\n") }, "meta page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.damage(bytes.Clone(good))
			p := filepath.Join(t.TempDir(), "station.db")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			err := Check(p)
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("want ErrDamaged, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q: want it to name %s and say %q", err, p, c.want)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, b) {
				t.Fatal("Check changed the file")
			}
		})
	}
}

// One torn meta page is what a power cut during a commit leaves: bbolt opens
// the store on the other one, and so must Check. So is a meta page not in use
// whose freelist page a later transaction reused (seen after a SIGKILL in the
// ceremony chaos test: "meta page 0 (txid 92): freelist page 413: page type
// 0x01").
func TestCheckAcceptsWhatBboltRecovers(t *testing.T) {
	_, good := newStore(t)
	ps := int(order.Uint32(good[pageHeaderSize+8:]))
	older := 0
	if order.Uint64(good[pageHeaderSize+48:]) > order.Uint64(good[ps+pageHeaderSize+48:]) {
		older = 1
	}
	olderFreelist := int(order.Uint64(good[older*ps+pageHeaderSize+32:]))
	cases := []struct {
		name   string
		damage func([]byte)
	}{
		{"zeroed meta page 0", func(b []byte) { clear(b[:ps]) }},
		{"zeroed meta page 1", func(b []byte) { clear(b[ps : 2*ps]) }},
		{"flipped meta 0 txid", func(b []byte) { b[pageHeaderSize+48] ^= 0x40 }},
		{"flipped meta 1 version", func(b []byte) { b[ps+pageHeaderSize+4] ^= 0x40 }},
		{"older meta's freelist page reused as a branch page", func(b []byte) {
			if olderFreelist >= 2 && olderFreelist*ps+ps <= len(b) {
				order.PutUint16(b[olderFreelist*ps+8:], flagBranch)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(good)
			c.damage(b)
			p := filepath.Join(t.TempDir(), "station.db")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := Check(p); err != nil {
				t.Fatalf("bbolt recovers from this, Check refused it: %v", err)
			}
			db, err := bbolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatalf("Check passed a store bbolt cannot open: %v", err)
			}
			defer db.Close()
			// The next commit writes the meta page not in use: the torn one.
			if err := db.Update(func(tx *bbolt.Tx) error {
				b := tx.Bucket([]byte("modules"))
				if b == nil {
					return fmt.Errorf("bucket modules is gone")
				}
				return b.Put([]byte("after"), []byte("recovery"))
			}); err != nil {
				t.Fatalf("commit after recovery: %v", err)
			}
			if err := db.View(func(tx *bbolt.Tx) error {
				if tx.Bucket([]byte("modules")) == nil {
					return fmt.Errorf("bucket modules is gone")
				}
				for err := range tx.Check() {
					return err
				}
				return nil
			}); err != nil {
				t.Fatalf("bbolt check of a store Check passed: %v", err)
			}
		})
	}
}

// The freelist check is what stops bbolt's "invalid freelist page" panic;
// the size check is what stops the SIGBUS of mapping past the end.
func TestCheckedStoresOpen(t *testing.T) {
	path, good := newStore(t)
	if err := Check(path); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("bbolt check of a store Check passed: %v", err)
	}
	_ = good
}

func FuzzCheckReader(f *testing.F) {
	_, good := newStore(f)
	f.Add(good[:8192])
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(b []byte) {
			err := CheckReader(bytes.NewReader(b), int64(len(b)))
			if err != nil && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("unexpected error class: %v", err)
			}
		}
		check(b)
		// The same with valid meta checksums, so that the fuzzer reaches
		// the page checks behind them.
		b = bytes.Clone(b)
		if len(b) >= pageHeaderSize+metaSize {
			fixSum(b[pageHeaderSize:])
			if ps := int(order.Uint32(b[pageHeaderSize+8:])); ps > 0 && ps < len(b)-pageHeaderSize-metaSize {
				fixSum(b[ps+pageHeaderSize:])
			}
		}
		check(b)
	})
}

func fixSum(meta []byte) { order.PutUint64(meta[metaSumLen:], checksum(meta[:metaSumLen])) }
