// Package staging makes a job's outputs appear whole or not at all.
//
// A job writes into a private folder under <output root>/.kiln-staging/, on the
// same filesystem as its final place. Once the outputs are verified, Publish
// fsyncs every file and folder and renames the folder into <output>/S/P/ in one
// step that never replaces an existing folder. A reader of the output folder
// therefore sees a whole delivery or none, never a half-written file, and a
// published delivery is never replaced by another job's.
//
// It is pure Go and knows nothing about media.
package staging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// FolderName is the hidden folder, inside an output root, that holds staging.
const FolderName = ".kiln-staging"

// QuarantineName is the hidden folder, inside an output root, where outputs
// that failed verification are kept for an engineer to inspect, never
// published.
const QuarantineName = ".kiln-quarantine"

// Dir is one job's staging folder and the place it will be published to.
type Dir struct {
	Path  string // the staging folder
	Final string // <output root>/<source name>/<profile>

	// Mode is what Publish gives the published folders; files get it
	// without execute and setgid. 0 means DefaultMode.
	Mode fs.FileMode
	// ParentMode is what Publish gives <output root>/<source name>, which
	// other publications share; 0 means Mode. A private folder (content
	// keys) sets it so as not to close the shared folder to readers.
	ParentMode fs.FileMode
	// Companion names the sibling folder published right after this one
	// (the package whose content keys this folder holds). A folder of
	// this name with no companion beside it, and no report of its own, is
	// what an earlier run of the same job left when it died between the
	// two publications: the daemon gives each source an output name of its
	// own, so nothing else publishes there. Publish replaces it.
	Companion string

	root, source, profile string
	id                    int64
}

// New creates a fresh staging folder for job id, whose outputs will be
// published to outputRoot/sourceName/profile.
func New(outputRoot, sourceName, profile string, id int64) (*Dir, error) {
	base := filepath.Join(outputRoot, FolderName)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("creating staging folder in %s: %w", outputRoot, err)
	}
	path, err := os.MkdirTemp(base, "job-"+strconv.FormatInt(id, 10)+"-")
	if err != nil {
		return nil, fmt.Errorf("creating staging folder in %s: %w", outputRoot, err)
	}
	return &Dir{Path: path, Final: filepath.Join(outputRoot, sourceName, profile),
		root: outputRoot, source: sourceName, profile: profile, id: id}, nil
}

// File returns the staging path of an output file.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// FinalFile returns where an output file will be once published.
func (d *Dir) FinalFile(name string) string { return filepath.Join(d.Final, name) }

// DefaultMode is the mode of published folders when Dir.Mode is unset:
// readable by kilnd's group, so that playout accounts in it can fetch
// deliverables. Files get the same bits without execute.
const DefaultMode = fs.FileMode(0o750)

// ErrPublished is returned by Publish when the final folder already holds a
// delivery of another job: Kiln never replaces a published folder, the daemon
// picks a free name before the job runs.
var ErrPublished = errors.New("the output folder already holds a delivery")

// Publish makes the staged outputs durable, then moves them into place in one
// rename that never replaces anything: the final folder must not exist. The
// only exception is a delivery of this same job (its report, S.kiln.json,
// names this job id), left by an earlier run whose end was never recorded
// (kilnd killed right after the publish): that one is swapped out
// atomically and removed, since the job is the same work run again.
func (d *Dir) Publish() error {
	mode := d.Mode
	if mode == 0 {
		mode = DefaultMode
	}
	// The staging folder is made 0700 by MkdirTemp: the published tree gets
	// its modes before it becomes visible, not after.
	if err := applyMode(d.Path, mode); err != nil {
		return err
	}
	// Every file and folder of the tree, ABR rung folders included, reaches
	// the disk before the rename makes it visible: otherwise a power cut
	// right after the rename could leave a published name over empty or
	// short files. Children are synced before the folder holding them.
	if err := syncTree(d.Path); err != nil {
		return err
	}
	parent := filepath.Dir(d.Final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating output folder %s: %w", parent, err)
	}
	parentMode := d.ParentMode
	if parentMode == 0 {
		parentMode = mode
	}
	if err := os.Chmod(parent, parentMode); err != nil {
		return fmt.Errorf("setting the mode of output folder %s: %w", parent, err)
	}

	err := renameNoReplace(d.Path, d.Final)
	if err != nil && (errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY)) {
		owner, known := d.publishedBy()
		if !known && d.orphaned() {
			owner, known = d.id, true
		}
		if !known || owner != d.id {
			who := "a delivery Kiln did not make"
			if known {
				who = fmt.Sprintf("the delivery of job %d", owner)
			}
			return fmt.Errorf("%w: %s holds %s, which Kiln does not replace", ErrPublished, d.Final, who)
		}
		// This job's own earlier run: swap the two folders atomically,
		// then delete the old one, which now sits at the staging path.
		if err = exchange(d.Path, d.Final); err == nil {
			if rmErr := os.RemoveAll(d.Path); rmErr != nil {
				return fmt.Errorf("removing the replaced delivery: %w", rmErr)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("moving outputs into %s: %w", d.Final, err)
	}
	// The rename itself is a change to the parent folder's entries: it is
	// durable only once that folder is synced.
	return syncPath(parent)
}

// publishedBy reads the job id from the report of the delivery at d.Final.
func (d *Dir) publishedBy() (int64, bool) {
	b, err := os.ReadFile(filepath.Join(d.Final, d.source+".kiln.json"))
	if err != nil {
		return 0, false
	}
	var r struct {
		JobID *int64 `json:"job_id"`
	}
	if json.Unmarshal(b, &r) != nil || r.JobID == nil {
		return 0, false
	}
	return *r.JobID, true
}

// orphaned reports whether d.Final is a companion folder whose main
// publication never followed (see Companion).
func (d *Dir) orphaned() bool {
	if d.Companion == "" {
		return false
	}
	_, err := os.Lstat(filepath.Join(filepath.Dir(d.Final), d.Companion))
	return errors.Is(err, fs.ErrNotExist)
}

// applyMode gives every folder under root mode and every file mode without
// execute and setgid.
func applyMode(root string, mode fs.FileMode) error {
	return filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		m := mode
		if !e.IsDir() {
			m = mode.Perm() &^ 0o111
		}
		if e.Type()&fs.ModeSymlink != 0 {
			return nil // chmod would follow it
		}
		if err := os.Chmod(path, m); err != nil {
			return fmt.Errorf("setting the mode of %s: %w", path, err)
		}
		return nil
	})
}

// Quarantine moves the staged outputs to
// <output root>/.kiln-quarantine/<source>/<profile>-job<id>/ instead of
// publishing them, and returns that folder. An earlier quarantine of the same
// job is replaced.
func (d *Dir) Quarantine() (string, error) {
	dest := filepath.Join(d.root, QuarantineName, d.source, d.profile+"-job"+strconv.FormatInt(d.id, 10))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("creating quarantine folder: %w", err)
	}
	if err := os.RemoveAll(dest); err != nil {
		return "", fmt.Errorf("clearing quarantine folder: %w", err)
	}
	if err := os.Rename(d.Path, dest); err != nil {
		return "", fmt.Errorf("quarantining outputs: %w", err)
	}
	return dest, nil
}

// Discard removes the staging folder and everything in it.
func (d *Dir) Discard() error {
	if err := os.RemoveAll(d.Path); err != nil {
		return fmt.Errorf("removing staging folder: %w", err)
	}
	return nil
}

// Sweep removes staging folders left behind by jobs that died, in outputRoot.
// keep reports whether a folder belongs to a job that is still running.
func Sweep(outputRoot string, keep func(jobID int64) bool) error {
	base := filepath.Join(outputRoot, FolderName)
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", base, err)
	}
	var errs []error
	for _, e := range entries {
		if id, ok := jobIDOf(e.Name()); ok && keep != nil && keep(id) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(base, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// jobIDOf parses "job-<id>-<random>".
func jobIDOf(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, "job-")
	if !ok {
		return 0, false
	}
	idText, _, _ := strings.Cut(rest, "-")
	id, err := strconv.ParseInt(idText, 10, 64)
	return id, err == nil
}

// syncTree fsyncs every file and folder under root, depth first, root last.
func syncTree(root string) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("reading staging folder: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if e.IsDir() {
			err = syncTree(path)
		} else {
			err = syncPath(path)
		}
		if err != nil {
			return err
		}
	}
	return syncPath(root)
}

// The file-system operations Publish orders are variables so that a test can
// record that order: durability is a property of the sequence of calls, which
// no read-back of the files can show.
var (
	syncFile        = func(f *os.File) error { return f.Sync() }
	rename          = os.Rename
	renameNoReplace = func(a, b string) error {
		err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// A filesystem without RENAME_NOREPLACE: rename would silently
			// take the place of an empty folder, so look first.
			if _, serr := os.Lstat(b); serr == nil {
				return &os.LinkError{Op: "rename", Old: a, New: b, Err: unix.EEXIST}
			}
			return rename(a, b)
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: a, New: b, Err: err}
		}
		return nil
	}
	exchange = func(a, b string) error {
		return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	}
)

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	defer f.Close()
	if err := syncFile(f); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	return nil
}
