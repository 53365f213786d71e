package clirun

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

// HomeFlag is the global --home flag of a dacline program: the directory that
// holds all of its state. role is "appliance" or "station"; the default is
// $DACLINE_HOME, else ~/.dacline/<role>.
func HomeFlag(role string) *cli.StringFlag {
	def := filepath.Join(".dacline", role)
	if h, err := os.UserHomeDir(); err == nil {
		def = filepath.Join(h, def)
	}
	return &cli.StringFlag{
		Name:    "home",
		Usage:   role + " home directory",
		EnvVars: []string{"DACLINE_HOME"},
		Value:   def,
	}
}
