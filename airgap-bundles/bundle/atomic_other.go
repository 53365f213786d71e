//go:build !linux

package bundle

import "os"

func renameNoReplace(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}

func dropCache(*os.File) {}
