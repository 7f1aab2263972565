package intake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Candidate is a file in an inbox that may become jobs once it is complete.
type Candidate struct {
	Path  string // absolute
	Name  string
	Size  int64
	Mtime time.Time
	// Inode identifies the file itself rather than its name: a file moved
	// over this one keeps the name but not the inode.
	Inode uint64
}

// Skipped is an entry of an inbox that is never taken in, with the reason a
// person should hear once: a link, a pipe, a device, a folder named like a
// media file. Hidden and in-transit names (Ignored) and plain subfolders are
// not listed: skipping those is the documented convention, not a surprise.
type Skipped struct {
	Name   string
	Reason string
}

// Scan lists the candidate files directly in an inbox; see ScanAll.
func Scan(dir string) ([]Candidate, error) {
	c, _, err := ScanAll(dir)
	return c, err
}

// ScanAll lists the candidate files directly in an inbox, regular files whose
// names are not Ignored, and the entries it skips for a reason worth telling.
// Subfolders, done/ and failed/ among them, are not entered.
//
// Symbolic links are skipped, not followed: a link lets anyone who can write
// to the inbox make Kiln read, and then move into done/ or failed/, a file
// outside it, anywhere the daemon's user can reach.
func ScanAll(dir string) ([]Candidate, []Skipped, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("inbox %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("reading inbox: %w", err)
	}
	var (
		out  []Candidate
		skip []Skipped
	)
	for _, e := range entries {
		if Ignored(e.Name()) {
			continue
		}
		info, err := e.Info() // lstat: a file swapped for a link since is seen as a link
		if errors.Is(err, fs.ErrNotExist) {
			continue // moved away since the listing
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading inbox: %w", err)
		}
		if !info.Mode().IsRegular() {
			if why := skipReason(abs, e.Name(), info.Mode()); why != "" {
				skip = append(skip, Skipped{Name: e.Name(), Reason: why})
			}
			continue
		}
		c := Candidate{
			Path:  filepath.Join(abs, e.Name()),
			Name:  e.Name(),
			Size:  info.Size(),
			Mtime: info.ModTime(),
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			c.Inode = st.Ino
		}
		out = append(out, c)
	}
	return out, skip, nil
}

// mediaSuffixes are extensions that make a folder look like a media file a
// user meant to drop.
var mediaSuffixes = []string{".mp4", ".mov", ".mxf", ".ts", ".m2ts", ".mts", ".mkv", ".mpg", ".mpeg",
	".m2v", ".avi", ".wav", ".mp3", ".m4v", ".webm", ".dv", ".y4m", ".264", ".h264", ".265", ".hevc"}

// skipReason says why an entry that is not a regular file is not taken in;
// "" for a plain subfolder.
func skipReason(dir, name string, mode fs.FileMode) string {
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil {
			return "a symbolic link that cannot be read: Kiln does not follow links in an inbox; drop the file itself"
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Sprintf("a broken symbolic link (to %s, which %s): Kiln does not follow links in an inbox; drop the file itself",
				target, statProblem(err))
		}
		return fmt.Sprintf("a symbolic link (to %s): Kiln does not follow links in an inbox, since a link could make it read and move a file outside; drop or copy the file itself", target)
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO): Kiln takes regular files only, which it can read to their end and check"
	case mode&fs.ModeDevice != 0:
		return "a device node: Kiln takes regular files only"
	case mode&fs.ModeSocket != 0:
		return "a unix socket: Kiln takes regular files only"
	case mode.IsDir():
		if name == "done" || name == "failed" {
			return ""
		}
		lower := strings.ToLower(name)
		for _, s := range mediaSuffixes {
			if strings.HasSuffix(lower, s) {
				return "a folder named like a media file: Kiln takes files, not folders; drop the media file itself"
			}
		}
		return ""
	}
	return "not a regular file: Kiln takes regular files only"
}

func statProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "kilnd may not read"
	}
	return "cannot be reached: " + err.Error()
}
