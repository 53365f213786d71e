package chaos

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SoftHSM2's file object store rewrites its token.object on every login, not
// atomically, so a SIGKILL that lands inside that rewrite can leave the token
// unreadable ("no token labelled …"). A hardware token keeps its objects
// whatever the host process does; this is a property of the development token,
// not of dacline. The ceremony chaos test therefore snapshots the token once
// its keys exist (no key is created during a ceremony) and restores it when,
// and only when, a run after a SIGKILL finds the token gone; every restore is
// counted in the summary line.

// tokenSnapshot copies the appliance home's SoftHSM2 token directory.
func (f *factory) tokenSnapshot() string {
	src := filepath.Join(f.app, "tokens")
	dst := filepath.Join(f.dir, "tokens-snapshot")
	if err := copyTree(src, dst); err != nil {
		f.t.Fatalf("snapshot of the SoftHSM2 token: %v", err)
	}
	return dst
}

// restoreToken puts the snapshot back in place of the damaged token.
func (f *factory) restoreToken(snapshot string) {
	dst := filepath.Join(f.app, "tokens")
	if err := os.RemoveAll(dst); err != nil {
		f.t.Fatal(err)
	}
	if err := copyTree(snapshot, dst); err != nil {
		f.t.Fatalf("restore of the SoftHSM2 token: %v", err)
	}
}

// tokenLost reports whether a run failed because the token could not be found.
func tokenLost(stderr string) bool {
	return strings.Contains(stderr, "no token labelled")
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
}
