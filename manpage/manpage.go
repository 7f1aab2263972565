// Package manpage writes the man pages of a cobra command tree: kiln and
// kilnd each have a hidden `gen-man DIR` command that `make man` runs, so the
// installed pages always match the commands.
package manpage

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Write writes a page per command of root into dir (root.1, root-sub.1, …),
// titled title in section 1.
func Write(root *cobra.Command, title, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.DisableAutoGenTag = true // a date in the page would make builds differ
	escapePlaceholders(root)
	header := &doc.GenManHeader{Title: title, Section: "1", Source: "Kiln", Manual: "Kiln manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("writing man pages: %w", err)
	}
	return nil
}

// escapePlaceholders escapes what the help texts write as <placeholders>: the
// man pages go through Markdown, which takes <output> for an HTML tag and
// drops it. Examples are code blocks there and stay as they are.
func escapePlaceholders(cmd *cobra.Command) {
	cmd.Long = strings.ReplaceAll(cmd.Long, "<", `\<`)
	for _, sub := range cmd.Commands() {
		escapePlaceholders(sub)
	}
}
