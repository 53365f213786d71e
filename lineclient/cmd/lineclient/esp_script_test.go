package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestESPScripts runs the ESP flash-format scripts in testdata/esp, with
// Espressif's golden vectors copied into the work directory (vectors/).
func TestESPScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/esp",
		Setup: func(env *testscript.Env) error {
			if err := scriptSetup(env); err != nil {
				return err
			}
			dst := filepath.Join(env.WorkDir, "vectors")
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			src := filepath.Join("..", "..", "esp", "nvs", "testdata")
			entries, err := os.ReadDir(src)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				b, err := os.ReadFile(filepath.Join(src, e.Name()))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
