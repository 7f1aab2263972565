package main

import (
	"github.com/spf13/cobra"

	"kiln/manpage"
)

// genManCmd writes a man page for each command into DIR: kiln.1,
// kiln-submit.1, ... `make man` runs it and `make install` installs them,
// so that the pages always match the commands.
func genManCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "write the man pages into DIR (for make man)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return manpage.Write(root, "KILN", args[0])
		}),
	}
}
