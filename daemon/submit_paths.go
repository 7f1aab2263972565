package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kiln/config"
)

// pathError is a refused API path, with the code and status the API answers.
type pathError struct {
	status int
	code   string
	msg    string
}

func (e *pathError) Error() string { return e.msg }

// submitSource checks a source path a client asks Kiln to read. It must be
// absolute, without "..", inside submit_roots once every symlink is resolved,
// and a regular file: never a device, a fifo or a folder. Watch inboxes do
// not count: their files are the watch folder's to take, and a submission
// from one would be taken twice. It returns the resolved path, which is what the
// worker opens, so that a symlink swapped after the check changes nothing.
func submitSource(cfg *config.Config, raw string) (string, error) {
	if err := plainAbsolute(raw, "source"); err != nil {
		return "", err
	}
	// Whether the path is inside the roots is decided before anything is
	// said about the file, and from the folders that exist only, so that a
	// client learns nothing about files outside the roots: a path there
	// gets the same answer whether or not it names a file.
	roots := cfg.Daemon.SubmitRoots
	if !within(resolveExisting(raw), roots) {
		return "", &pathError{403, "outside_roots", fmt.Sprintf(
			"source %s is outside the folders Kiln may read (submit_roots: %s); add its folder to submit_roots in the config",
			raw, strings.Join(roots, ", "))}
	}
	resolved, err := filepath.EvalSymlinks(raw)
	if err != nil {
		return "", &pathError{400, "bad_source", "source is not a readable file: " + raw}
	}
	if !within(resolved, roots) {
		// A symlink inside the roots whose target, outside them, is missing
		// resolves inside above; one whose target exists lands here. Same
		// answer as above.
		return "", &pathError{403, "outside_roots", fmt.Sprintf(
			"source %s is outside the folders Kiln may read (submit_roots: %s); add its folder to submit_roots in the config",
			raw, strings.Join(roots, ", "))}
	}
	st, err := os.Lstat(resolved)
	if err != nil || !st.Mode().IsRegular() {
		return "", &pathError{400, "bad_source", "source is not a regular file (a device, fifo or folder cannot be transcoded): " + raw}
	}
	if why := nameTooLong(filepath.Base(resolved)); why != "" {
		return "", &pathError{400, "bad_source", "source " + raw + ": " + why}
	}
	return resolved, nil
}

// resolveExisting resolves the symlinks of the longest leading part of path
// that exists, and appends the rest as written.
func resolveExisting(path string) string {
	existing, rest := filepath.Clean(path), ""
	for existing != "/" {
		if _, err := os.Stat(existing); err == nil {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = filepath.Dir(existing)
	}
	resolved, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return filepath.Join(existing, rest)
	}
	return filepath.Join(resolved, rest)
}

// submitOutput checks an output root a client names: absolute, without "..",
// inside a watch output, <state_dir>/out or submit_roots.
func submitOutput(cfg *config.Config, raw string) (string, error) {
	if err := plainAbsolute(raw, "output"); err != nil {
		return "", err
	}
	roots := append([]string{filepath.Join(cfg.Daemon.StateDir, "out")}, cfg.Daemon.SubmitRoots...)
	roots = append(roots, watchFolders(cfg, func(w config.Watch) string { return w.Output })...)
	// The folder may not exist yet: resolve the part that does.
	existing, rest := raw, ""
	for {
		if _, err := os.Lstat(existing); err == nil || existing == "/" {
			break
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = filepath.Dir(existing)
	}
	resolved, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", &pathError{400, "bad_output", "output folder cannot be resolved: " + raw}
	}
	resolved = filepath.Join(resolved, rest)
	if !within(resolved, roots) && !slicesContain(resolveAll(roots), resolved) {
		return "", &pathError{403, "outside_roots", fmt.Sprintf(
			"output %s is outside the folders Kiln may write (<state_dir>/out, watch outputs, submit_roots: %s)", raw, strings.Join(roots, ", "))}
	}
	return resolved, nil
}

func plainAbsolute(raw, what string) error {
	switch {
	case raw == "":
		return &pathError{400, "bad_" + what, what + " is required"}
	case !filepath.IsAbs(raw):
		return &pathError{400, "bad_" + what, what + " must be an absolute path"}
	case strings.ContainsRune(raw, 0):
		return &pathError{400, "bad_" + what, what + " contains a NUL byte"}
	}
	for _, elem := range strings.Split(raw, "/") {
		if elem == ".." {
			return &pathError{400, "bad_" + what, what + " may not contain \"..\""}
		}
	}
	return nil
}

// within reports whether path lies inside one of roots, comparing resolved
// paths so that a root reached through a symlink still counts.
func within(path string, roots []string) bool {
	for _, r := range resolveAll(roots) {
		if path != r && strings.HasPrefix(path, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

func resolveAll(roots []string) []string {
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		if res, err := filepath.EvalSymlinks(r); err == nil {
			out = append(out, res)
		} else if errors.Is(err, os.ErrNotExist) {
			out = append(out, filepath.Clean(r))
		}
	}
	return out
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func watchFolders(cfg *config.Config, pick func(config.Watch) string) []string {
	var out []string
	for _, w := range cfg.Watches {
		out = append(out, pick(w))
	}
	return out
}
