package config

import (
	"fmt"
	"strings"
)

// Error is one problem found in a config, located at a line of its source so
// that an engineer can jump straight to it.
type Error struct {
	File string // the config's origin: a path or "<embedded default>"
	Line int    // 1-based; 0 when no line could be attributed
	Msg  string
}

// Error formats the problem the way compilers do, "file:line: reason", which
// editors and CI logs already know how to link.
func (e Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors is every problem found in one config. Parse reports them all at once
// so a broken file takes one edit round, not one per mistake.
type Errors struct {
	List []Error // sorted by line
}

// Error joins the problems one per line.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, err := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap lets errors.As reach a single Error.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, err := range e.List {
		out[i] = err
	}
	return out
}
