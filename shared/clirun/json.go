package clirun

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"
)

// JSONFlag is the --json flag every read-only command takes.
var JSONFlag = &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON instead of text"}

// PrintJSON writes v as indented JSON followed by a newline.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
