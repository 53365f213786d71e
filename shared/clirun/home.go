package clirun

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

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
	f := &cli.StringFlag{
		Name:    "home",
		Usage:   role + " home directory",
		EnvVars: []string{"DACLINE_HOME"},
		Value:   def,
	}
	homeRoles.Store(f, role)
	return f
}

// homeRoles maps the flags HomeFlag made to their role; Configure checks the
// home they name is not the other program's.
var homeRoles sync.Map // *cli.StringFlag → "appliance" | "station"

// homeMarkers are files only one program's home holds.
var homeMarkers = map[string][]string{
	"appliance": {"appliance.db", "identity.age.enc"},
	"station":   {"station.db", "station.id"},
}

// OtherHome reports, for a program of role, whether dir is the home of the
// other dacline program; it returns that role ("" when not).
func OtherHome(dir, role string) string {
	for other, files := range homeMarkers {
		if other == role {
			continue
		}
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				return other
			}
		}
	}
	return ""
}

// checkHome refuses a --home (or $DACLINE_HOME) that is the other
// program's home, saying so, before any command runs.
func checkHome(c *cli.Context, role string) error {
	dir := c.String("home")
	other := OtherHome(dir, role)
	if other == "" {
		return nil
	}
	err := fmt.Errorf("%s is %s home, not %s home", dir, article(other), article(role))
	if env, ok := os.LookupEnv("DACLINE_HOME"); ok && env == dir {
		return WithHint(err, "DACLINE_HOME points at the %s's home: unset it in this shell, or give --home with the %s home", other, role)
	}
	return WithHint(err, "give --home the %s home (default ~/.dacline/%s)", role, role)
}

func article(role string) string {
	if role == "appliance" {
		return "an appliance"
	}
	return "a " + role
}

// configureHomeCheck adds the home check to an app with a HomeFlag.
func configureHomeCheck(app *cli.App) {
	for _, f := range app.Flags {
		sf, ok := f.(*cli.StringFlag)
		if !ok {
			continue
		}
		role, ok := homeRoles.Load(sf)
		if !ok {
			continue
		}
		before := app.Before
		app.Before = func(c *cli.Context) error {
			if slices.Contains(c.Args().Slice(), "--help") || slices.Contains(c.Args().Slice(), "-h") {
				return nil // help works with any home
			}
			if err := checkHome(c, role.(string)); err != nil {
				return err
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
		return
	}
}
