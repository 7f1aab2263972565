package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"kiln/daemon/store"
)

// file records a job's end and, when it was its source's last job, moves the
// source out of the inbox: to done/ when every job succeeded, otherwise to
// failed/ next to S.error.json. The source moves only after its outputs are in
// place (the worker published them before reporting success).
//
// In a fleet, j's claim must still hold: a node whose lease expired has lost
// the job to another node, whose result counts instead. Exactly one node sees
// a source's last job end, and that node files the source.
func (d *Daemon) file(j store.Job, state store.State, reason string, report []byte) {
	outcome, err := d.recordEnd(j, state, reason, report)
	if errors.Is(err, store.ErrClaimLost) {
		d.Logger.Warn("job result discarded: another node took the job over", "job", j.ID, "err", err)
		return
	}
	if err != nil {
		d.Logger.Error("recording job end", "job", j.ID, "err", err)
		return
	}
	if !outcome.Finished || outcome.Source.Watch == "" {
		// API submissions are the caller's files: Kiln leaves them where they are.
		return
	}
	if err := fileSource(outcome); errors.Is(err, errSourceReplaced) {
		// The file at the path is not the one that was encoded: it stays
		// in the inbox, where the watch takes it in as a new source.
		d.Logger.Warn("source not filed: it was replaced while its jobs ran; the new file is taken in as a new source",
			"source", outcome.Source.Path, "err", err)
	} else if err != nil {
		d.Logger.Error("moving source out of the inbox", "source", outcome.Source.Path, "err", err)
	}
}

// sourceReplaced says why a watch folder job must not start because its
// source is no longer the file taken in (moved over, or gone), or "": the
// worker opens the path, and would encode the replacement under this job.
// The replacement stays in the inbox and is taken in as a new source.
func (d *Daemon) sourceReplaced(j store.Job) string {
	if j.Watch == "" {
		return "" // API submissions are the caller's files, not tracked
	}
	o, err := d.store.Outcome(context.Background(), j.SourceID)
	if err != nil {
		return "" // the worker will say what it finds
	}
	if err := sameFile(o.Source, j.SourcePath); errors.Is(err, errSourceReplaced) {
		return "not started: " + err.Error() + "; the file now there is taken in as a new source"
	} else if errors.Is(err, fs.ErrNotExist) {
		return "not started: the source is gone from the inbox"
	}
	return ""
}

// errSourceReplaced: the path no longer names the file that was taken in.
var errSourceReplaced = errors.New("the source was replaced")

// sameFile checks that the file at path is still the one taken in as src:
// the same inode, size and mtime. Rows from before the store recorded
// inodes (Inode 0) are checked on size and mtime alone.
func sameFile(src store.Source, path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	switch {
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w: %s is no longer a regular file", errSourceReplaced, filepath.Base(path))
	case src.Inode != 0 && ino != src.Inode:
		return fmt.Errorf("%w: %s is another file now (inode %d, was %d when taken in)", errSourceReplaced, filepath.Base(path), ino, src.Inode)
	case st.Size() != src.Size || !st.ModTime().Equal(src.Mtime):
		return fmt.Errorf("%w: %s changed since it was taken in (size %d, was %d; mtime %s, was %s)", errSourceReplaced,
			filepath.Base(path), st.Size(), src.Size, st.ModTime().UTC().Format(time.RFC3339Nano), src.Mtime.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// recordEndRetryMax is the longest wait between attempts to record a job's
// end while the job store cannot be reached.
const recordEndRetryMax = 30 * time.Second

// recordEnd records j's end in the store. While the store cannot be reached
// (a fleet's PostgreSQL down, a disk error) it tries again, waiting 1 s,
// then twice as long each time up to recordEndRetryMax, until the change is
// recorded, the store refuses it for good (the claim is lost, the job is
// gone or finished), or the daemon has stopped: the worker's result and its
// published outputs are real, and dropping the record would make the job
// run again. A daemon that stops meanwhile leaves the job running in the
// store; its next start re-queues it.
func (d *Daemon) recordEnd(j store.Job, state store.State, reason string, report []byte) (store.SourceOutcome, error) {
	const what = "recording a job's end"
	log := d.Logger.With("job", j.ID)
	wait := time.Second
	for {
		outcome, err := d.store.FinishClaim(context.Background(), j, state, reason, report)
		if err == nil {
			d.recordOutage.ok(log, what, time.Now())
			return outcome, nil
		}
		if !storeUnavailable(err) {
			return outcome, err
		}
		d.metrics.storeFailed("finish")
		d.recordOutage.fail(log, what, time.Now(), err)
		select {
		case <-d.stopped:
			return outcome, err
		case <-time.After(wait):
		}
		wait = min(2*wait, recordEndRetryMax)
	}
}

// storeUnavailable tells a store that could not be reached or could not
// write (worth trying again) from one that answered and refused the change.
func storeUnavailable(err error) bool {
	for _, refusal := range []error{store.ErrClaimLost, store.ErrNotFound, store.ErrFinished,
		store.ErrNotRunning, store.ErrNotQueued, store.ErrInvalid} {
		if errors.Is(err, refusal) {
			return false
		}
	}
	return true
}

// ErrorFile is the content of <inbox>/failed/S.error.json.
type ErrorFile struct {
	Source   string         `json:"source"`
	Reason   string         `json:"reason"` // the first failure, in words
	FailedAt time.Time      `json:"failed_at"`
	Jobs     []ErrorFileJob `json:"jobs"`
}

// ErrorFileJob is one job of a failed source.
type ErrorFileJob struct {
	ID      int64  `json:"id"`
	Profile string `json:"profile"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
}

func fileSource(o store.SourceOutcome) error {
	src := o.Source.Path
	if err := sameFile(o.Source, src); err != nil {
		return err
	}
	inbox := filepath.Dir(src)
	sub := "done"
	if !o.AllDone {
		sub = "failed"
	}
	dest, err := freeName(filepath.Join(inbox, sub), filepath.Base(src))
	if err != nil {
		return err
	}
	if !o.AllDone {
		ef := ErrorFile{Source: filepath.Base(src), FailedAt: time.Now().UTC()}
		for _, j := range o.Jobs {
			ef.Jobs = append(ef.Jobs, ErrorFileJob{ID: j.ID, Profile: j.Profile, State: string(j.State), Reason: j.Reason})
			if ef.Reason == "" && j.State != store.Done && j.Reason != "" {
				ef.Reason = j.Reason
			}
		}
		b, _ := json.MarshalIndent(ef, "", "  ")
		if err := writeFileAtomic(filepath.Join(filepath.Dir(dest), errorFileName(dest)), append(b, '\n')); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dest); err != nil {
		return fmt.Errorf("moving %s to %s/: %w", filepath.Base(src), sub, err)
	}
	return nil
}

// freeName returns dir/name, or dir/name-2, -3… if that is taken, so a file
// dropped twice never overwrites the earlier copy.
func freeName(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s-%d%s", stem, i, ext)
			if over := len(candidate) - 255; over > 0 {
				// A name near NAME_MAX: shorten the stem, not the suffix.
				cut := max(len(stem)-over, 0)
				for cut > 0 && !utf8.RuneStart(stem[cut]) {
					cut--
				}
				candidate = fmt.Sprintf("%s-%d%s", stem[:cut], i, ext)
			}
		}
		p := filepath.Join(dir, candidate)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// failUntaken moves a file that never became jobs to failed/, next to its
// S.error.json.
func failUntaken(path, reason string) error {
	dest, err := freeName(filepath.Join(filepath.Dir(path), "failed"), filepath.Base(path))
	if err != nil {
		return err
	}
	ef := ErrorFile{Source: filepath.Base(path), Reason: reason, FailedAt: time.Now().UTC(), Jobs: []ErrorFileJob{}}
	b, _ := json.MarshalIndent(ef, "", "  ")
	if err := writeFileAtomic(filepath.Join(filepath.Dir(dest), errorFileName(dest)), append(b, '\n')); err != nil {
		return err
	}
	return os.Rename(path, dest)
}
