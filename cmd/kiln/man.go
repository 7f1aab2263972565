package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
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
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root.DisableAutoGenTag = true // a date in the page would make builds differ
			escapeForMan(root)
			header := &doc.GenManHeader{Title: "KILN", Section: "1", Source: "Kiln", Manual: "Kiln manual"}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return fmt.Errorf("writing man pages: %w", err)
			}
			return nil
		}),
	}
}

// escapeForMan escapes what the help texts write as <placeholders>: the man
// pages go through Markdown, which takes <output> for an HTML tag and drops
// it. Examples are code blocks there and stay as they are.
func escapeForMan(cmd *cobra.Command) {
	cmd.Long = strings.ReplaceAll(cmd.Long, "<", `\<`)
	for _, sub := range cmd.Commands() {
		escapeForMan(sub)
	}
}
