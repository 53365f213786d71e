package chaos

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// storeDamage is one way a store file gets damaged.
type storeDamage struct {
	name   string
	damage func(b []byte) []byte // nil result: the file is removed
	want   string                // what the refusal says
}

// bbolt's meta page: 16-byte page header, then magic, version, page size,
// flags, root (root page, sequence), freelist page, high water mark, txid.
func boltPage(b []byte, meta int, field int) (pageSize, page int) {
	ps := int(binary.NativeEndian.Uint32(b[16+8:]))
	return ps, int(binary.NativeEndian.Uint64(b[meta*ps+16+field:]))
}

// inUse is the meta page bbolt opens the store on: the one with the higher
// txid (both are valid in a store that is not damaged yet).
func inUse(b []byte) int {
	ps := int(binary.NativeEndian.Uint32(b[16+8:]))
	if binary.NativeEndian.Uint64(b[ps+16+48:]) > binary.NativeEndian.Uint64(b[16+48:]) {
		return 1
	}
	return 0
}

func storeDamages() []storeDamage {
	zeroPage := func(page func(b []byte) (int, int)) func([]byte) []byte {
		return func(b []byte) []byte {
			ps, p := page(b)
			clear(b[p*ps : (p+1)*ps])
			return b
		}
	}
	return []storeDamage{
		{"missing", func([]byte) []byte { return nil }, "store is missing"},
		{"zero-length", func([]byte) []byte { return []byte{} }, "store is empty"},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }, "store is damaged"},
		{"truncated to one page", func(b []byte) []byte { ps, _ := boltPage(b, 0, 0); return b[:ps] }, "store is damaged"},
		// One torn meta page is what a power cut during a commit leaves, and
		// bbolt recovers from it (shared/storecheck accepts it); both are not.
		{"both meta pages flipped", func(b []byte) []byte {
			ps, _ := boltPage(b, 0, 0)
			b[16+48] ^= 0x5a
			b[ps+16+2] ^= 0x5a
			return b
		}, "store is damaged: meta page 0"},
		{"root page zeroed", zeroPage(func(b []byte) (int, int) { return boltPage(b, inUse(b), 16) }), "store is damaged"},
		{"freelist page zeroed", zeroPage(func(b []byte) (int, int) { return boltPage(b, inUse(b), 32) }), "store is damaged"},
		{"all zero", func(b []byte) []byte { return make([]byte, len(b)) }, "store is damaged"},
	}
}

// TestDamagedStore: station.db and appliance.db are truncated, emptied,
// removed, and have their meta, root and freelist pages flipped or zeroed.
// Every command that opens the store refuses with a clear error naming the
// file and a hint to restore it — exit status 1, no SIGBUS, no panic — and
// nothing re-creates or changes the file. Once the backup is restored, the
// shift goes on to the end and every invariant holds.
func TestDamagedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	jigs := 4
	r := rng(t)
	f := newFactory(t)
	s := f.startSim(jigs, "", r.Uint64()>>1)
	f.run(f.cmd("lineclient", f.st, s.runArgs(true)...))
	res := f.sign(f.exportBatch())
	f.lineclient("batch", "import", res.OutputPath)

	stationDB, applianceDB := filepath.Join(f.st, "station.db"), filepath.Join(f.app, "appliance.db")
	commands := map[string][]*exec.Cmd{
		stationDB: {
			f.cmd("lineclient", f.st, "status"),
			f.cmd("lineclient", f.st, append(s.runArgs(true), "--idle-timeout", "200ms")...),
			f.cmd("lineclient", f.st, "batch", "export", "--out", f.usb),
			f.cmd("lineclient", f.st, "manifest"),
		},
		applianceDB: {
			f.cmd("appliance", f.app, "status"),
			f.cmd("appliance", f.app, "station", "list"),
			f.cmd("appliance", f.app, "log", "export", "--out", f.usb),
			f.cmd("appliance", f.app, "sign", "--out", f.usb, res.OutputPath),
		},
	}
	refusals := 0
	for _, db := range []string{stationDB, applianceDB} {
		good, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range storeDamages() {
			bad := d.damage(bytes.Clone(good))
			if bad == nil {
				os.Remove(db)
			} else if err := os.WriteFile(db, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range commands[db] {
				c := exec.Command(c.Path, c.Args[1:]...)
				c.Env = f.cmd("lineclient", f.st).Env
				var stderr bytes.Buffer
				c.Stderr = &stderr
				err := c.Run()
				ws, _ := c.ProcessState.Sys().(syscall.WaitStatus)
				what := fmt.Sprintf("%s with %s %s", strings.Join(c.Args[1:4], " "), filepath.Base(db), d.name)
				switch {
				case ws.Signaled():
					t.Errorf("%s: killed by %v\n%s", what, ws.Signal(), stderr.String())
				case err == nil || ws.ExitStatus() != 1:
					t.Errorf("%s: exit %v, want 1\n%s", what, err, stderr.String())
				case !strings.Contains(stderr.String(), d.want) || !strings.Contains(stderr.String(), "hint:") || strings.Contains(stderr.String(), "panic"):
					t.Errorf("%s: want %q and a hint, got:\n%s", what, d.want, stderr.String())
				default:
					refusals++
				}
				got, err := os.ReadFile(db)
				switch {
				case bad == nil && err == nil:
					t.Errorf("%s: the store was re-created", what)
				case bad != nil && !bytes.Equal(got, bad):
					t.Errorf("%s: the store was changed (%d bytes, was %d)", what, len(got), len(bad))
				}
			}
		}
		if err := os.WriteFile(db, good, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// With the backups back, the shift continues to the end.
	f.run(f.cmd("lineclient", f.st, s.runArgs(true)...))
	s.stop()
	mods, err := readSimModules(s.state)
	if err != nil {
		t.Fatal(err)
	}
	v, locked, _ := f.checkModules(mods)
	for _, b := range v {
		t.Error(b)
	}
	st, err := f.stationStatus()
	if err != nil {
		t.Error(err)
	}
	if st.States["done"] != jigs || locked != jigs {
		t.Errorf("after restoring the backups: station %v, %d of %d modules locked", st.States, locked, jigs)
	}
	manifest := filepath.Join(f.dir, "manifest.csv")
	f.lineclient("manifest", "--out", manifest)
	verdict := "log verifies (appliance audit verify with the manifest)"
	if _, err := f.auditVerify("damaged", manifest); err != nil {
		t.Error("audit: " + err.Error())
		verdict = "appliance audit verify FAILED"
	}
	t.Logf("chaos: damaged stores survived: %d damages of station.db and appliance.db (%d kinds) met %d clear refusals (exit 1, error and hint, file untouched, never re-created); after restoring the backups %d modules done; %s",
		2*len(storeDamages()), len(storeDamages()), refusals, st.States["done"], verdict)
}
