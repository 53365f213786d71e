// Package docs holds dacline's runbooks and format specs (Markdown). Its only
// Go file is this test, which keeps the runbooks honest: every `appliance …`
// and `lineclient …` command a document shows must exist in the built programs,
// with every flag it names.
package docs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dacline/dacline/shared/testenv"
)

// pending lists commands the runbooks describe whose code is still on its way
// (another branch). A pending command that is missing from the build is
// skipped with a log line; once it exists it is checked like any other, and
// the entry should be removed. Keep this list short and explicit. Under CI
// (testenv.CI) nothing is pending: a missing command fails the test.
var pending = map[string]string{
	// "appliance sign": "the ceremony (ceremony branch)",
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != nil {
		os.RemoveAll(built.bin)
	}
	os.Exit(code)
}

// TestRunbookCommandsExist checks every command line in docs/*.md, the README
// and the bundle format spec.
func TestRunbookCommandsExist(t *testing.T) {
	cli := buildCLIs(t)
	docs, err := filepath.Glob("*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md found (%v)", err)
	}
	docs = append(docs, "../README.md", "../airgap-bundles/FORMAT.md")
	perDoc := map[string]int{}
	skipped := 0
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range extractCommands(string(b)) {
			perDoc[doc]++
			err := cli.check(cmd.words)
			if err == nil {
				continue
			}
			if p, ok := pendingFor(cmd.words); ok && cli.missing(cmd.words) && !testenv.CI() {
				skipped++
				t.Logf("%s:%d: skipped, %s is pending (%s): %s", doc, cmd.line, p, pending[p], cmd.text)
				continue
			}
			t.Errorf("%s:%d: %v\n\t%s", doc, cmd.line, err, cmd.text)
		}
	}
	// The extraction itself must find the procedures: a runbook without
	// commands means the parser (or the runbook) is broken.
	for _, doc := range []string{"security-officer.md", "line-operator.md", "auditor.md"} {
		if perDoc[doc] < 3 {
			t.Errorf("%s: found %d commands; a runbook shows its procedure's commands in ```sh blocks", doc, perDoc[doc])
		}
	}
	t.Logf("checked %d command lines in %d documents, %d skipped as pending", sum(perDoc), len(docs), skipped)
}

// TestCheckerRejects makes sure the checker can fail: made-up commands and
// flags are reported.
func TestCheckerRejects(t *testing.T) {
	cli := buildCLIs(t)
	bad := []string{
		"appliance frobnicate",
		"appliance paa create-test --vid FFF1 --no-such-flag",
		"appliance init --pin 1234",
		"lineclient init --appliance appliance.id --vid FFF1 --colour red",
		"lineclient sim --count 3 --timing fast --turbo",
		"appliance pai nonsense",
		"appliance --no-global status",
		"appliance station enroll BUNDLE --yes --no-such-flag",
	}
	for _, line := range bad {
		if err := cli.check(splitWords(line)); err == nil {
			t.Errorf("%q: accepted, want an error", line)
		}
	}
	good := []string{
		"appliance init --new-softhsm-token --name line-1 --pin-file pin",
		"appliance --home /tmp/h pai import --paa paa.pem pai.pem",
		"appliance audit verify --log DIR --manifest a.csv --manifest b.csv --key appliance.id",
		"lineclient sim --count=24 --timing fast",
		"appliance status --json",
		"appliance station enroll BUNDLE --yes",
		"appliance sign BUNDLE --out DIR --dry-run",
		"lineclient --help",
	}
	for _, line := range good {
		if err := cli.check(splitWords(line)); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}

// TestDemoCommandsExist checks the commands scripts/demo.sh runs the same way,
// so the demo and the runbooks use one command surface.
func TestDemoCommandsExist(t *testing.T) {
	cli := buildCLIs(t)
	b, err := os.ReadFile("../scripts/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmds := extractScriptCommands(string(b))
	if len(cmds) < 15 {
		t.Fatalf("found %d commands in scripts/demo.sh; the extraction is broken", len(cmds))
	}
	for _, cmd := range cmds {
		if err := cli.check(cmd.words); err != nil {
			t.Errorf("scripts/demo.sh:%d: %v\n\t%s", cmd.line, err, cmd.text)
		}
	}
}

// extractScriptCommands finds the program invocations of a bash script: lines
// (with "\" continuations) that start with `step LOG appliance|lineclient …`
// or `"$BIN/appliance"|"$BIN/lineclient" …`.
func extractScriptCommands(script string) []docCommand {
	var out []docCommand
	lines := strings.Split(script, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		text := strings.TrimSpace(lines[i])
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + " " + strings.TrimSpace(lines[i])
		}
		words := splitWords(text)
		if len(words) >= 3 && words[0] == "step" {
			words = words[2:]
		}
		if len(words) == 0 {
			continue
		}
		words[0] = strings.TrimPrefix(words[0], "$BIN/")
		if isProgram(words[0]) {
			out = append(out, docCommand{line: start + 1, text: text, words: words})
		}
	}
	return out
}

func TestExtractCommands(t *testing.T) {
	md := "Run `appliance status` first.\n\n" +
		"```sh\n$ appliance init --new-softhsm-token \\\n    --name line-1\n# a comment\nls -l\nlineclient enroll --out /media/usb  # stick\n```\n" +
		"```text\n$ appliance identity --out appliance.id\nappliance identity of line-1 written\n```\n"
	var got []string
	for _, c := range extractCommands(md) {
		got = append(got, strings.Join(c.words, " "))
	}
	want := []string{
		"appliance status",
		"appliance init --new-softhsm-token --name line-1",
		"lineclient enroll --out /media/usb",
		"appliance identity --out appliance.id",
	}
	if !slices.Equal(got, want) {
		t.Errorf("extracted\n%q\nwant\n%q", got, want)
	}
}

// --- extraction ----------------------------------------------------------------

type docCommand struct {
	line  int
	text  string
	words []string
}

var (
	fenceRE  = regexp.MustCompile("^\\s*```+\\s*([A-Za-z0-9_-]*)")
	inlineRE = regexp.MustCompile("`((?:appliance|lineclient) [^`]*)`")
)

func isProgram(w string) bool { return w == "appliance" || w == "lineclient" }

// extractCommands finds commands in Markdown: every line of a ```sh/bash/shell/
// console block whose first word is appliance or lineclient (a leading "$ " is
// dropped, "\" continues a line), "$ appliance …" lines in any other block,
// and inline code spans that start with a program name.
func extractCommands(md string) []docCommand {
	var out []docCommand
	inBlock, shell := false, false
	pend, pendLine := "", 0
	sc := bufio.NewScanner(strings.NewReader(md))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			if !inBlock {
				inBlock = true
				switch m[1] {
				case "sh", "bash", "shell", "console", "shell-session":
					shell = true
				default:
					shell = false
				}
			} else {
				inBlock = false
			}
			pend = ""
			continue
		}
		if !inBlock {
			for _, m := range inlineRE.FindAllStringSubmatch(line, -1) {
				out = append(out, docCommand{line: n, text: m[1], words: splitWords(m[1])})
			}
			continue
		}
		text := strings.TrimSpace(line)
		if pend != "" {
			text = pend + " " + text
		} else {
			pendLine = n
			prompt := strings.HasPrefix(text, "$ ")
			text = strings.TrimPrefix(text, "$ ")
			if !prompt && !shell {
				continue
			}
		}
		if strings.HasSuffix(text, "\\") {
			pend = strings.TrimSpace(strings.TrimSuffix(text, "\\"))
			continue
		}
		pend = ""
		words := splitWords(text)
		if len(words) > 0 && isProgram(words[0]) {
			out = append(out, docCommand{line: pendLine, text: text, words: words})
		}
	}
	return out
}

// splitWords splits a shell command line into words, honouring quotes, and
// stops at a comment, a pipe, a redirection or a command separator.
func splitWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := rune(0)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case (r == '#' && !inWord) || r == '|' || r == ';' || r == '>' || r == '<' || r == '&':
			flush()
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}

// --- the command trees of the built programs -----------------------------------

type clis struct {
	bin  string
	mu   sync.Mutex
	help map[string]*helpPage // "appliance pai" → its --help
}

type helpPage struct {
	ok       bool
	commands map[string]bool
	flags    map[string]bool // name (without dashes) → takes a value
	args     bool            // takes arguments besides its subcommands (USAGE line)
}

var (
	buildOnce sync.Once
	built     *clis
	buildErr  error
)

// buildCLIs builds both programs once per test binary.
func buildCLIs(t *testing.T) *clis {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dacline-runbook-")
		if err != nil {
			buildErr = err
			return
		}
		goBin := "go" // go test puts its own GOROOT/bin first on PATH
		for _, p := range []string{"appliance", "lineclient"} {
			cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, p), "./"+p+"/cmd/"+p)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", p, err, out)
				return
			}
		}
		built = &clis{bin: dir, help: map[string]*helpPage{}}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// page returns the parsed --help of a command path such as ["appliance", "pai"].
func (c *clis) page(path []string) *helpPage {
	key := strings.Join(path, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.help[key]; ok {
		return p
	}
	args := append(append([]string{}, path[1:]...), "--help")
	cmd := exec.Command(filepath.Join(c.bin, path[0]), args...)
	cmd.Env = append(os.Environ(), "DACLINE_HOME="+filepath.Join(c.bin, "no-home"))
	out, err := cmd.Output()
	p := &helpPage{ok: err == nil, commands: map[string]bool{}, flags: map[string]bool{"help": false, "h": false}}
	if p.ok {
		parseHelp(out, p)
	}
	c.help[key] = p
	return p
}

// parseHelp reads urfave/cli's help layout: a COMMANDS: section with
// "   name, alias   usage" lines and OPTIONS: / GLOBAL OPTIONS: sections with
// "   --name value, -n value   usage" lines. A flag shown with a placeholder
// after its name takes a value.
func parseHelp(out []byte, p *helpPage) {
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && line[0] != ' ' {
			section = strings.TrimSuffix(strings.TrimSpace(line), ":")
			continue
		}
		text := strings.TrimSpace(line)
		if text == "" {
			continue
		}
		head, _, _ := strings.Cut(text, "  ") // names end at the first double space
		switch section {
		case "USAGE":
			// "lineclient flash [command options] OFFSET FILE": a command
			// with subcommands that also takes arguments itself.
			if _, after, ok := strings.Cut(text, "[command options]"); ok {
				a := strings.TrimSpace(after)
				p.args = a != "" && a != "[arguments...]"
			}
		case "COMMANDS":
			for _, name := range strings.Split(head, ",") {
				p.commands[strings.TrimSpace(name)] = true
			}
		case "OPTIONS", "GLOBAL OPTIONS":
			if !strings.HasPrefix(text, "-") {
				continue
			}
			for _, alt := range strings.Split(head, ", ") {
				f := strings.Fields(alt)
				if len(f) == 0 || !strings.HasPrefix(f[0], "-") {
					continue
				}
				p.flags[strings.TrimLeft(f[0], "-")] = len(f) > 1
			}
		}
	}
}

// missing reports whether the command path of words names a command the build lacks.
func (c *clis) missing(words []string) bool {
	err := c.check(words)
	return err != nil && strings.Contains(err.Error(), "no command")
}

// check walks words through the command tree: every word before the first
// positional argument must be a subcommand while the command has
// subcommands, and every flag must be one the command (or the program, for
// global flags) defines.
func (c *clis) check(words []string) error {
	if len(words) == 0 || !isProgram(words[0]) {
		return fmt.Errorf("not a dacline command")
	}
	path := []string{words[0]}
	root := c.page(path)
	if !root.ok {
		return fmt.Errorf("%s --help failed", words[0])
	}
	cur := root
	for i := 1; i < len(words); i++ {
		w := strings.Trim(words[i], "[]") // "[--dry-run]": optional in a synopsis
		if w == "--" || w == "…" || w == "..." {
			break // the rest is elided or arguments
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			// Flags may follow arguments ("sign BUNDLE --out DIR", as in
			// DESIGN.md): shared/clirun.Interspersed reorders them.
			name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			takes, ok := cur.flags[name]
			if !ok && cur != root {
				takes, ok = root.flags[name]
			}
			if !ok {
				return fmt.Errorf("%s has no flag %s", strings.Join(path, " "), "--"+name)
			}
			if takes && !hasValue {
				i++ // the flag's value
			}
			continue
		}
		if strings.HasPrefix(w, "$") {
			continue // a script variable: its value is not known here
		}
		if len(cur.commands) == 0 || (cur.args && !cur.commands[w]) {
			continue // a positional argument
		}
		if !cur.commands[w] {
			return fmt.Errorf("no command %q under %q (have: %s)", w, strings.Join(path, " "), keys(cur.commands))
		}
		path = append(path, w)
		cur = c.page(path)
		if !cur.ok {
			return fmt.Errorf("%s --help failed", strings.Join(path, " "))
		}
	}
	return nil
}

func pendingFor(words []string) (string, bool) {
	for n := len(words); n >= 2; n-- {
		p := strings.Join(words[:n], " ")
		if _, ok := pending[p]; ok {
			return p, true
		}
	}
	return "", false
}

func keys(m map[string]bool) string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return strings.Join(k, ", ")
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
