package intake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Candidate is a file in an inbox that may become jobs once it is complete.
type Candidate struct {
	Path  string // absolute
	Name  string
	Size  int64
	Mtime time.Time
}

// Scan lists the candidate files directly in an inbox: regular files whose
// names are not Ignored. Subfolders, done/ and failed/ among them, are not
// entered.
//
// Symbolic links are skipped, not followed: a link lets anyone who can write
// to the inbox make Kiln read, and then move into done/ or failed/, a file
// outside it, anywhere the daemon's user can reach.
func Scan(dir string) ([]Candidate, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("inbox %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("reading inbox: %w", err)
	}
	var out []Candidate
	for _, e := range entries {
		if Ignored(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info() // lstat: a file swapped for a link since is seen as a link
		if errors.Is(err, fs.ErrNotExist) {
			continue // moved away since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("reading inbox: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		out = append(out, Candidate{
			Path:  filepath.Join(abs, e.Name()),
			Name:  e.Name(),
			Size:  info.Size(),
			Mtime: info.ModTime(),
		})
	}
	return out, nil
}
