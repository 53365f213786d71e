package main

import "github.com/urfave/cli/v2"

func moduleCommand() *cli.Command {
	return &cli.Command{
		Name:        "module",
		Usage:       "look at what a module's flash holds",
		Subcommands: []*cli.Command{},
	}
}
