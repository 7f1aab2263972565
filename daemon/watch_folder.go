package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"kiln/config"
	"kiln/daemon/intake"
	"kiln/daemon/store"
)

// watchFolder turns complete files in one inbox into jobs.
//
// fsnotify gives prompt events on local disks; a periodic rescan catches what
// network shares never report. A file becomes jobs only once it has been
// unchanged for `settle`, nobody holds it open for writing, and its container
// is structurally whole.
type watchFolder struct {
	watch  config.Watch
	rescan time.Duration // [daemon] rescan; a change restarts the watch
	d      *Daemon
	log    *slog.Logger

	tracker *intake.Tracker
	// waiting remembers why a file is not taken yet, so the log says it once.
	waiting map[string]string
	// overdue holds the files that stayed unready past incomplete_timeout
	// in a state that failing them would not help (a writer still holds
	// them open); they are a health note until that changes.
	overdue map[string]bool
	// checkComplete is intake.CheckComplete; a test replaces it to see a
	// file kilnd may not read, which root (running the tests) always can.
	checkComplete func(path string) (intake.Completeness, error)
	// openForWriting is intake.OpenForWritingSeen; a test replaces it to
	// see as kilnd under User=kiln does.
	openForWriting func(path string) (open bool, unseen int, err error)
	// blind: the last writer check could not see some processes.
	blind bool
}

func (wf *watchFolder) run(ctx context.Context) {
	w := wf.watch
	notes := &wf.d.notes
	notes.retain(w.Name, func(string) bool { return false }) // a restarted watch starts afresh
	// The config check refuses this, links followed; a link made after
	// the start must still not make Kiln take its own job store for media.
	if how := ownStateDir(w.Inbox, wf.d.cfg.Load().Daemon.StateDir); how != "" {
		wf.log.Error("inbox "+how+" state_dir; watch disabled until reload", "inbox", w.Inbox)
		notes.set(w.Name, noteInbox, fmt.Sprintf("watch %q is disabled until a reload: its inbox %s %s state_dir, whose job store Kiln must not take for media",
			w.Name, w.Inbox, how), true)
		return
	}
	for _, dir := range []string{w.Inbox, filepath.Join(w.Inbox, "done"), filepath.Join(w.Inbox, "failed"), w.Output} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			wf.log.Error("cannot create folder; watch disabled until reload", "dir", dir, "err", err)
			notes.set(w.Name, noteInbox, fmt.Sprintf("watch %q is disabled until a reload: cannot create %s: %v", w.Name, dir, err), true)
			return
		}
	}
	defer notes.retain(w.Name, func(string) bool { return false })
	wf.tracker = intake.NewTracker(w.Settle.Duration)
	wf.waiting = map[string]string{}
	wf.overdue = map[string]bool{}
	if wf.checkComplete == nil {
		wf.checkComplete = intake.CheckComplete
	}
	if wf.openForWriting == nil {
		wf.openForWriting = intake.OpenForWritingSeen
	}

	events := make(<-chan fsnotify.Event)
	// fsnotify blocks its reader until an error is taken, so errors are
	// read too; an overflow means lost events, which a rescan makes up for.
	errs := make(<-chan error)
	notifier, err := fsnotify.NewWatcher()
	if err == nil {
		if err = notifier.Add(w.Inbox); err == nil {
			events, errs = notifier.Events, notifier.Errors
		}
		defer notifier.Close()
	}
	if err != nil {
		wf.log.Warn("no filesystem events; relying on rescans", "err", err)
	}

	rescan := wf.rescan
	// While files are settling, look again often enough to take them
	// promptly once settled.
	settlePoll := max(w.Settle.Duration/4, 200*time.Millisecond)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				// The notifier gave up; a closed channel would spin.
				wf.log.Warn("filesystem events ended; relying on rescans")
				events, errs = nil, nil
				continue
			}
			wf.d.metrics.watchEvent(w.Name)
			// Coalesce bursts: a copy writes many events.
			timer.Reset(50 * time.Millisecond)
			continue
		case err, ok := <-errs:
			if !ok {
				events, errs = nil, nil
				continue
			}
			wf.log.Warn("filesystem events", "err", err)
			timer.Reset(50 * time.Millisecond)
			continue
		case <-timer.C:
		}
		wf.scan(ctx)
		next := rescan
		if wf.tracker.Len() > 0 {
			next = min(next, settlePoll)
		}
		timer.Reset(next)
	}
}

// Subjects of intakeNotes besides file names, which never start with a
// space.
const noteInbox = " inbox"

func (wf *watchFolder) scan(ctx context.Context) {
	candidates, skipped, err := intake.ScanAll(wf.watch.Inbox)
	if err != nil {
		// An inbox that is gone (an unmounted share, a removed folder) is
		// not recreated: that would hide the fault, and on a mount point
		// fill the wrong disk. The health answer says degraded until it is
		// back.
		note := fmt.Sprintf("watch %q: inbox %s cannot be read: %v", wf.watch.Name, wf.watch.Inbox, err)
		if errors.Is(err, fs.ErrNotExist) {
			note = fmt.Sprintf("watch %q: inbox %s is missing; nothing dropped there is taken in until it is back", wf.watch.Name, wf.watch.Inbox)
		}
		if wf.d.notes.set(wf.watch.Name, noteInbox, note, true) {
			wf.log.Error("scanning inbox", "inbox", wf.watch.Inbox, "err", err)
		}
		return
	}
	if wf.d.notes.clear(wf.watch.Name, noteInbox) {
		wf.log.Info("inbox readable again", "inbox", wf.watch.Inbox)
	}
	wf.tellSkipped(skipped)
	now := time.Now()
	present := map[string]bool{}
	for _, c := range candidates {
		present[c.Path] = true
		if _, active, err := wf.d.store.ActiveSource(ctx, c.Path); err != nil {
			wf.log.Error("job store", "err", err)
			return
		} else if active {
			wf.tracker.Forget(c.Path)
			continue // its jobs are queued or running
		}
		if !wf.tracker.Observe(c.Path, c.Size, c.Mtime, now) {
			continue
		}
		if _, err := os.Lstat(c.Path); errors.Is(err, fs.ErrNotExist) {
			// Moved away since the listing: on a shared inbox, by the node
			// that filed it to done/ or failed/.
			wf.tracker.Forget(c.Path)
			continue
		}
		if why := nameTooLong(c.Name); why != "" {
			// Refused before any work: its report and error file could not
			// be named later.
			wf.giveUp(c, why)
			continue
		}
		reason, format := wf.notReady(c.Path)
		if reason == "" && wf.tracker.StableFor(c.Path, now) < 2*wf.watch.Settle.Duration {
			switch {
			case intake.NoEndMarker(format):
				// A TS has nothing that marks its end, and a writer that
				// appends whole packets in bursts leaves one that looks
				// whole between bursts: it must stay unchanged for a
				// second settle.
				reason = reasonSecondSettle + ": an MPEG-TS has no end marker, so a pause in a bursty writer looks like the end"
			case wf.blind:
				reason = reasonSecondSettle + ": kilnd cannot see other users' writers"
			}
		}
		if reason != "" {
			// A second settle ends by itself; everything else that has
			// not changed for incomplete_timeout will not by waiting.
			if !strings.HasPrefix(reason, reasonSecondSettle) && wf.tracker.StableFor(c.Path, now) > wf.watch.IncompleteTimeout.Duration {
				wf.overdueFile(c, reason)
				continue
			}
			if wf.waiting[c.Path] != reason {
				wf.waiting[c.Path] = reason
				wf.log.Info("waiting for file", "file", c.Name, "reason", reason)
			}
			continue
		}
		wf.take(ctx, c)
	}
	wf.tracker.Retain(func(p string) bool { return present[p] })
	for p := range wf.waiting {
		if !present[p] {
			delete(wf.waiting, p)
		}
	}
	for p := range wf.overdue {
		if !present[p] {
			delete(wf.overdue, p)
			wf.d.notes.clear(wf.watch.Name, "overdue "+filepath.Base(p))
		}
	}
}

// overdueFile acts on a file that has sat unchanged past incomplete_timeout
// without becoming ready, whatever held it back: nothing will change by
// waiting longer. A file kilnd cannot read, or whose container stays cut,
// goes to failed/ with the reason. One that a process still holds open for
// writing is not moved under its writer, which would go on writing into
// failed/: it becomes a health note instead, until the writer lets go.
func (wf *watchFolder) overdueFile(c intake.Candidate, reason string) {
	if reason != reasonOpenForWriting {
		wf.giveUp(c, fmt.Sprintf("%s after %s unchanged", reason, wf.watch.IncompleteTimeout.Duration))
		return
	}
	if wf.overdue[c.Path] {
		return
	}
	wf.overdue[c.Path] = true
	note := fmt.Sprintf("watch %q: %s has been held open for writing, unchanged, for more than %s; it is taken in once its writer closes it",
		wf.watch.Name, c.Name, wf.watch.IncompleteTimeout.Duration)
	wf.d.notes.set(wf.watch.Name, "overdue "+c.Name, note, false)
	wf.log.Warn("file held open past incomplete_timeout", "file", c.Name, "timeout", wf.watch.IncompleteTimeout.Duration.String())
}

// tellSkipped logs, once each, the inbox entries Kiln never takes in, and
// keeps them as health notes while they are there.
func (wf *watchFolder) tellSkipped(skipped []intake.Skipped) {
	here := map[string]bool{}
	for _, s := range skipped {
		subject := "skip " + s.Name
		here[subject] = true
		note := fmt.Sprintf("watch %q: %q is not taken in: %s", wf.watch.Name, s.Name, s.Reason)
		if wf.d.notes.set(wf.watch.Name, subject, note, false) {
			wf.log.Warn("inbox entry not taken in", "file", s.Name, "reason", s.Reason)
		}
	}
	wf.d.notes.retain(wf.watch.Name, func(subject string) bool {
		return !strings.HasPrefix(subject, "skip ") || here[subject]
	})
}

const (
	reasonOpenForWriting = "still open for writing"
	reasonSecondSettle   = "waiting a second settle"
)

// notReady says why a settled file cannot be taken yet, or "", and the
// container its content shows.
func (wf *watchFolder) notReady(path string) (reason, format string) {
	open, unseen, err := wf.openForWriting(path)
	if err == nil && open {
		return reasonOpenForWriting, ""
	}
	if err == nil {
		wf.tellUnseen(unseen)
	}
	c, err := wf.checkComplete(path)
	if err != nil {
		return "cannot read: " + err.Error(), ""
	}
	if !c.Complete {
		return "incomplete: " + c.Reason, c.Format
	}
	return "", c.Format
}

// tellUnseen records whether the last writer check could see every
// process, and says once (log and health note) when it could not: under
// User=kiln without CAP_SYS_PTRACE, other users' writers are invisible, and
// every file must then stay unchanged for a second settle.
func (wf *watchFolder) tellUnseen(unseen int) {
	wf.blind = unseen > 0
	if !wf.blind {
		if wf.d.notes.clear(wf.watch.Name, noteBlind) {
			wf.log.Info("writers of every process are visible again")
		}
		return
	}
	note := fmt.Sprintf("watch %q: kilnd cannot see which files other users' processes hold open for writing, so every file waits a second settle (%s in all); give kilnd CAP_SYS_PTRACE, or have writers use a *.part name and rename when done (see the README)",
		wf.watch.Name, 2*wf.watch.Settle.Duration)
	if wf.d.notes.set(wf.watch.Name, noteBlind, note, false) {
		wf.log.Warn("cannot see other users' writers; files wait a second settle", "unseen_processes", unseen,
			"settle", wf.watch.Settle.Duration.String())
	}
}

const noteBlind = " writers unseen"

// take records the file and one job per profile. Every node of a fleet
// watches the same inbox; the store takes each drop of a file once, and the
// nodes that lose the race see ErrSourceActive or ErrAlreadyTaken.
func (wf *watchFolder) take(ctx context.Context, c intake.Candidate) {
	cfg := wf.d.cfg.Load()
	hash, err := contentHash(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		wf.tracker.Forget(c.Path) // filed away by another node meanwhile
		return
	}
	if err != nil {
		wf.log.Error("reading new file", "file", c.Name, "err", err)
		return
	}
	ns := store.NewSource{Path: c.Path, Watch: wf.watch.Name, OutputDir: wf.watch.Output, Size: c.Size, Mtime: c.Mtime,
		ContentHash: hash, Inode: c.Inode}
	for _, name := range wf.watch.Profiles {
		p, ok := cfg.Profile(name)
		if !ok {
			continue // validation makes this impossible; a reload may race
		}
		prio := p.Priority
		if wf.watch.Priority != "" {
			prio = wf.watch.Priority
		}
		pr, err := store.ParsePriority(prio)
		if err != nil {
			pr = store.Normal
		}
		ns.Jobs = append(ns.Jobs, store.NewJob{Profile: name, Priority: pr})
	}
	src, jobs, outNote, err := wf.d.addSource(ctx, ns, wf.watch.OnRedrop)
	if errors.Is(err, errRedropRefused) {
		wf.giveUp(c, err.Error())
		return
	}
	if errors.Is(err, store.ErrSourceActive) {
		return
	}
	if errors.Is(err, store.ErrAlreadyTaken) {
		// Usually another node took it and is filing it away. A file still
		// here later is the same drop again (copied with its mtime kept):
		// say once what would make it new work.
		wf.tracker.Forget(c.Path)
		const why = "already taken in (same path, size, mtime and content); touch or rename it to run it again"
		if wf.waiting[c.Path] != why {
			wf.waiting[c.Path] = why
			wf.log.Info("file not taken", "file", c.Name, "reason", why)
		}
		return
	}
	if err != nil {
		wf.log.Error("recording new file", "file", c.Name, "err", err)
		return
	}
	wf.tracker.Forget(c.Path)
	delete(wf.waiting, c.Path)
	if wf.overdue[c.Path] {
		delete(wf.overdue, c.Path)
		wf.d.notes.clear(wf.watch.Name, "overdue "+c.Name)
	}
	wf.d.metrics.fileTaken(wf.watch.Name)
	wf.log.Info("file taken", "file", c.Name, "source", src.ID, "jobs", len(jobs), "output", filepath.Join(wf.watch.Output, src.OutputName))
	if outNote != "" {
		wf.log.Warn("output folder renamed so that no delivery is replaced", "file", c.Name, "source", src.ID, "output_name", src.OutputName, "reason", outNote)
	}
	wf.d.poke()
}

// giveUp moves a file that will never become jobs to failed/ with the reason.
func (wf *watchFolder) giveUp(c intake.Candidate, reason string) {
	if _, err := os.Lstat(c.Path); errors.Is(err, fs.ErrNotExist) {
		wf.tracker.Forget(c.Path) // another node of a fleet gave up on it first
		return
	}
	if err := failUntaken(c.Path, reason); err != nil {
		wf.log.Error("moving an incomplete file to failed/", "file", c.Name, "err", err)
		return
	}
	wf.tracker.Forget(c.Path)
	delete(wf.waiting, c.Path)
	wf.log.Warn("file failed without a job", "file", c.Name, "reason", reason)
}

// hashPrefix is how much of a file contentHash reads: enough to tell apart
// two files of the same name, size and mtime, cheap on a network share.
const hashPrefix = 64 << 10

// contentHash is the hex SHA-256 of the file's first hashPrefix bytes: with
// path, size and mtime it identifies one drop of a file in the store.
func contentHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, hashPrefix)); err != nil {
		return "", fmt.Errorf("hashing %s: %w", filepath.Base(path), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ownStateDir says how the inbox, links followed, stands to state_dir ("is",
// "is inside", "holds"), or "" when they are apart.
func ownStateDir(inbox, stateDir string) string {
	resolve := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	in, state := resolve(inbox), resolve(stateDir)
	switch {
	case in == state:
		return "is"
	case strings.HasPrefix(in, state+"/"):
		return "is inside"
	case strings.HasPrefix(state, in+"/"):
		return "holds"
	}
	return ""
}
