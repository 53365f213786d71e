package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/sim"
)

// TestEveryVariableDocumented: every DACLINE_* name in the source, scripts
// and Justfile is listed in environment.md.
func TestEveryVariableDocumented(t *testing.T) {
	doc, err := os.ReadFile("environment.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`DACLINE_[A-Z0-9_]*[A-Z0-9]`)
	found := map[string]string{}
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sh") || d.Name() == "Justfile") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range re.FindAllString(string(b), -1) {
			found[v] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for v, path := range found {
		if !strings.Contains(string(doc), "`"+v+"`") {
			missing = append(missing, v+" ("+path+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("environment.md does not list:\n\t%s", strings.Join(missing, "\n\t"))
	}
	if len(found) < 10 {
		t.Errorf("found only %d variables: the walk is broken", len(found))
	}
}

// TestEveryFaultDocumented: every simulator fault name is explained in the
// operator runbook.
func TestEveryFaultDocumented(t *testing.T) {
	doc, err := os.ReadFile("line-operator.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sim.FaultNames() {
		if !strings.Contains(string(doc), "| `"+f+"` |") {
			t.Errorf("line-operator.md has no row for the fault %q", f)
		}
	}
}
