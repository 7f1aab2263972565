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
	if _, err := os.Stat(path); err != nil {
		return false, fmt.Errorf("checking for writers: %w", err)
	}
	return false, nil
}
