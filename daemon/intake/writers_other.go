//go:build !linux

package intake

import (
	"fmt"
	"os"
)

// OpenForWriting cannot tell on this system, which has no /proc to read: it
// reports false, and the settle time alone guards against taking in a file
// that is still being written. Kiln appliances run Linux; this keeps the
// package building elsewhere for development.
func OpenForWriting(path string) (bool, error) {
	open, _, err := OpenForWritingSeen(path)
	return open, err
}

// OpenForWritingSeen sees no process here: unseen is 1, so that the watch
// folder waits as long as it does when other users' writers are hidden.
func OpenForWritingSeen(path string) (open bool, unseen int, err error) {
	if _, err := os.Stat(path); err != nil {
		return false, 0, fmt.Errorf("checking for writers: %w", err)
	}
	return false, 1, nil
}
