package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kiln/api"
	"kiln/daemon/intake"
)

// intakeConfig is one watch "w" with profile p1; extra lines go into the
// [[watch]] table.
func intakeConfig(extra string) string {
	return baseConfig + `
[[watch]]
name = "w"
inbox = "{{root}}/in"
output = "{{root}}/out"
profiles = ["p1"]
settle = "1s"
` + extra
}

// dropBytes writes content into the inbox under a hidden name, then renames
// it into place, as a careful uploader does.
func dropBytes(t *testing.T, inbox, name, content string) string {
	t.Helper()
	os.MkdirAll(inbox, 0o755)
	tmp := filepath.Join(inbox, ".drop.part")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(inbox, name)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// waitJobs waits until n jobs exist and all are finished, and returns them
// oldest first.
func (td *testDaemon) waitJobs(n int, timeout time.Duration) []api.Job {
	td.t.Helper()
	var jobs []api.Job
	waitFor(td.t, timeout, fmt.Sprintf("%d finished jobs", n), func() bool {
		jobs = nil
		td.getJSON("/v1/jobs", &jobs)
		if len(jobs) != n {
			return false
		}
		for _, j := range jobs {
			if j.State == "queued" || j.State == "running" {
				return false
			}
		}
		return true
	})
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID < jobs[b].ID })
	return jobs
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Issue 21, item 1: a.mp4 and a.mov in one inbox both publish, into folders
// of their own; a file dropped again is versioned, never published over the
// first delivery; reports and the log say why the folder is not the stem.
// Published folders are group-readable (item 15).
func TestSameStemSourcesKeepTheirOwnDeliveries(t *testing.T) {
	td := startDaemon(t, intakeConfig(""))
	in, out := filepath.Join(td.root, "in"), filepath.Join(td.root, "out")
	dropBytes(t, in, "a.mp4", "first source")
	td.waitJobs(1, 20*time.Second)
	dropBytes(t, in, "a.mov", "second source")
	jobs := td.waitJobs(2, 20*time.Second)
	for _, j := range jobs {
		if j.State != "done" {
			t.Fatalf("job %d %s: %s", j.ID, j.State, j.Reason)
		}
	}
	if got := readString(t, filepath.Join(out, "a", "p1", "a.out")); !strings.Contains(got, "a.mp4") {
		t.Errorf("out/a/p1 holds %q, want a.mp4's delivery kept", got)
	}
	if got := readString(t, filepath.Join(out, "a.mov", "p1", "a.mov.out")); !strings.Contains(got, "a.mov") {
		t.Errorf("out/a.mov/p1 holds %q, want a.mov's delivery", got)
	}
	if jobs[1].Output != filepath.Join(out, "a.mov", "p1") {
		t.Errorf("second job's output %s, want out/a.mov/p1", jobs[1].Output)
	}
	full := td.job(jobs[1].ID)
	if !strings.Contains(string(full.Report), "published to a.mov/ rather than a/") {
		t.Errorf("report of the second job does not say why its folder is a.mov/: %s", full.Report)
	}
	if len(td.logs.records("output folder renamed so that no delivery is replaced")) != 1 {
		t.Errorf("the log does not say once that a.mov's output folder was renamed")
	}

	// The first file again, new content: a new drop, versioned.
	waitFor(t, 10*time.Second, "a.mp4 filed to done/", func() bool {
		_, err := os.Stat(filepath.Join(in, "done", "a.mp4"))
		return err == nil
	})
	dropBytes(t, in, "a.mp4", "first source, corrected")
	jobs = td.waitJobs(3, 20*time.Second)
	if jobs[2].State != "done" || jobs[2].Output != filepath.Join(out, "a~2", "p1") {
		t.Errorf("re-dropped a.mp4: job %s into %s, want done into out/a~2/p1", jobs[2].State, jobs[2].Output)
	}
	if got := readString(t, filepath.Join(out, "a", "p1", "a.out")); !strings.Contains(got, "a.mp4") {
		t.Errorf("the first delivery was touched: %q", got)
	}
	for _, dir := range []string{"a", "a/p1", "a~2/p1"} {
		st, err := os.Stat(filepath.Join(out, dir))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o750 {
			t.Errorf("published folder %s is %v, want 0750 (group-readable)", dir, st.Mode().Perm())
		}
	}
	st, _ := os.Stat(filepath.Join(out, "a", "p1", "a.out"))
	if st.Mode().Perm() != 0o640 {
		t.Errorf("published file is %v, want 0640", st.Mode().Perm())
	}
}

// on_redrop = "fail": a file dropped again under a delivered name goes to
// failed/ with the reason, and the delivery stays as it was.
func TestRedropFailsWhenTheWatchSaysSo(t *testing.T) {
	td := startDaemon(t, intakeConfig(`on_redrop = "fail"`))
	in, out := filepath.Join(td.root, "in"), filepath.Join(td.root, "out")
	dropBytes(t, in, "x.mp4", "first")
	td.waitJobs(1, 20*time.Second)
	waitFor(t, 10*time.Second, "x.mp4 filed to done/", func() bool {
		_, err := os.Stat(filepath.Join(in, "done", "x.mp4"))
		return err == nil
	})
	dropBytes(t, in, "x.mp4", "again")
	var ef ErrorFile
	waitFor(t, 20*time.Second, "the re-drop filed to failed/", func() bool {
		b, err := os.ReadFile(filepath.Join(in, "failed", "x.error.json"))
		return err == nil && json.Unmarshal(b, &ef) == nil
	})
	if !strings.Contains(ef.Reason, "delivered before") || !strings.Contains(ef.Reason, `on_redrop = "fail"`) {
		t.Errorf("reason %q does not say the name was delivered before and on_redrop refuses it", ef.Reason)
	}
	if got := readString(t, filepath.Join(in, "failed", "x.mp4")); got != "again" {
		t.Errorf("failed/x.mp4 holds %q, want the re-drop", got)
	}
	var jobs []api.Job
	td.getJSON("/v1/jobs", &jobs)
	if len(jobs) != 1 {
		t.Errorf("%d jobs, want only the first drop's", len(jobs))
	}
	if got := readString(t, filepath.Join(out, "x", "p1", "x.out")); !strings.Contains(got, "x.mp4") {
		t.Errorf("the delivery changed: %q", got)
	}
}

// An API submission whose output is a watch's output folder gets a folder
// of its own there, instead of publishing over the watch's delivery.
func TestSubmissionIntoWatchOutputKeepsItsDeliveries(t *testing.T) {
	td := startDaemon(t, intakeConfig(""))
	in, out := filepath.Join(td.root, "in"), filepath.Join(td.root, "out")
	dropBytes(t, in, "clip.mxf", "from the inbox")
	td.waitJobs(1, 20*time.Second)
	src := td.source("clip.mxf")
	b, _ := json.Marshal(api.SubmitRequest{Source: src, Profile: "p1", Output: out})
	status, body := td.call("POST", "/v1/jobs", string(b))
	if status != 201 {
		t.Fatalf("submit: %d %s", status, body)
	}
	jobs := td.waitJobs(2, 20*time.Second)
	if jobs[1].State != "done" || jobs[1].Output == filepath.Join(out, "clip", "p1") {
		t.Errorf("submitted job %s into %s; want done, into a folder other than the watch's out/clip/p1", jobs[1].State, jobs[1].Output)
	}
	if got := readString(t, filepath.Join(out, "clip", "p1", "clip.out")); !strings.Contains(got, in) {
		t.Errorf("the watch's delivery was replaced: %q", got)
	}
}

// Issue 21, item 2: a file moved over the source while its job runs is not
// filed to done/ as if it had been encoded; it stays in the inbox and is
// taken in as a new source.
func TestReplacedSourceIsNotFiledAsEncoded(t *testing.T) {
	td := startDaemon(t, intakeConfig(""))
	in := filepath.Join(td.root, "in")
	dropBytes(t, in, "rep-slow.mp4", "the original")
	var first api.Job
	waitFor(t, 20*time.Second, "the job to run", func() bool {
		var jobs []api.Job
		td.getJSON("/v1/jobs", &jobs)
		if len(jobs) == 1 {
			first = jobs[0]
		}
		return len(jobs) == 1 && jobs[0].State == "running"
	})
	other := filepath.Join(td.root, "other.mov")
	os.WriteFile(other, []byte("another file altogether, longer"), 0o644)
	if err := os.Rename(other, filepath.Join(in, "rep-slow.mp4")); err != nil {
		t.Fatal(err)
	}
	td.waitState(first.ID, "done", 20*time.Second)
	waitFor(t, 10*time.Second, "the log to say the source was replaced", func() bool {
		return len(td.logs.records("source not filed: it was replaced while its jobs ran; the new file is taken in as a new source")) == 1
	})
	// The replacement is new work: a job of its own, then done/.
	jobs := td.waitJobs(2, 30*time.Second)
	if jobs[1].State != "done" {
		t.Fatalf("the replacement's job: %s %s", jobs[1].State, jobs[1].Reason)
	}
	waitFor(t, 10*time.Second, "the replacement filed to done/", func() bool {
		b, err := os.ReadFile(filepath.Join(in, "done", "rep-slow.mp4"))
		return err == nil && string(b) == "another file altogether, longer"
	})
	if _, err := os.Stat(filepath.Join(in, "done", "rep-slow-2.mp4")); err == nil {
		t.Errorf("two files in done/ for one replacement")
	}
}

// Issue 21, item 11: a name too long for Kiln's report and error files is
// refused at intake, with the limit in the reason, and filed to failed/
// next to an error file whose own name fits.
func TestOverlongNameRefusedAtIntake(t *testing.T) {
	td := startDaemon(t, intakeConfig(""))
	in := filepath.Join(td.root, "in")
	name := strings.Repeat("n", 251) + ".mp4" // 255 bytes, the most a name can be
	dropBytes(t, in, name, "long")
	waitFor(t, 20*time.Second, "the file filed to failed/", func() bool {
		_, err := os.Stat(filepath.Join(in, "failed", name))
		return err == nil
	})
	entries, _ := os.ReadDir(filepath.Join(in, "failed"))
	var ef ErrorFile
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".error.json") {
			b, _ := os.ReadFile(filepath.Join(in, "failed", e.Name()))
			json.Unmarshal(b, &ef)
		}
	}
	want := fmt.Sprintf("at most %d bytes", maxNameBytes)
	if !strings.Contains(ef.Reason, want) || ef.Source != name {
		t.Errorf("error file %+v; want the full name and a reason saying %q", ef, want)
	}
	var jobs []api.Job
	td.getJSON("/v1/jobs", &jobs)
	if len(jobs) != 0 {
		t.Errorf("%d jobs made of a name Kiln cannot report on", len(jobs))
	}
}

// Issue 21, items 12 and 16: entries Kiln never takes in are told once in
// the log and listed in /v1/health; a missing inbox makes the daemon
// degraded, with a note naming it, until it is back.
func TestHealthTellsSkippedEntriesAndMissingInbox(t *testing.T) {
	td := startDaemon(t, intakeConfig(""))
	in := filepath.Join(td.root, "in")
	os.MkdirAll(in, 0o755)
	os.Symlink("/etc/hostname", filepath.Join(in, "link.mxf"))
	os.Symlink(filepath.Join(td.root, "nowhere.mxf"), filepath.Join(in, "dangling.mxf"))
	syscall.Mkfifo(filepath.Join(in, "pipe.ts"), 0o644)
	var h api.Health
	waitFor(t, 10*time.Second, "health notes for the three entries", func() bool {
		h = api.Health{}
		td.getJSON("/v1/health", &h)
		return len(h.Notes) == 3
	})
	joined := strings.Join(h.Notes, "\n")
	for _, want := range []string{`"link.mxf" is not taken in: a symbolic link`, `"dangling.mxf" is not taken in: a broken symbolic link`, `"pipe.ts" is not taken in: a named pipe`} {
		if !strings.Contains(joined, want) {
			t.Errorf("health notes %q lack %q", h.Notes, want)
		}
	}
	if h.Status != "ok" {
		t.Errorf("status %s; entries not taken in are notes, not a fault", h.Status)
	}
	time.Sleep(2500 * time.Millisecond) // a few rescans
	if n := len(td.logs.records("inbox entry not taken in")); n != 3 {
		t.Errorf("%d log lines for three skipped entries over several scans, want 3 (once each)", n)
	}

	if err := os.RemoveAll(in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "health to turn degraded", func() bool {
		h = api.Health{}
		td.getJSON("/v1/health", &h)
		return h.Status == "degraded"
	})
	if len(h.Notes) == 0 || !strings.Contains(h.Notes[0], in) || !strings.Contains(h.Notes[0], "missing") {
		t.Errorf("notes %q; want the first to say inbox %s is missing", h.Notes, in)
	}
	os.MkdirAll(in, 0o755)
	defer func() {
		if t.Failed() {
			t.Logf("last health: %+v", h)
		}
	}()
	waitFor(t, 10*time.Second, "health to be ok again", func() bool {
		h = api.Health{}
		td.getJSON("/v1/health", &h)
		return h.Status == "ok" && len(h.Notes) == 0
	})
}

// Issue 21, item 8: a file kilnd may not read waits no longer than
// incomplete_timeout; then it goes to failed/ with the reason. Tests run as
// root, which reads any file, so the check sees the file as a non-root
// kilnd would: mode 000 is "permission denied".
func TestUnreadableFileFailsAfterIncompleteTimeout(t *testing.T) {
	td := initDaemon(t, intakeConfig(`incomplete_timeout = "2s"`))
	w := td.d.cfg.Load().Watches[0]
	wf := &watchFolder{watch: w, rescan: time.Second, d: td.d, log: td.d.Logger,
		checkComplete: func(path string) (intake.Completeness, error) {
			if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o444 == 0 {
				return intake.Completeness{}, fmt.Errorf("checking completeness: open %s: %w", path, fs.ErrPermission)
			}
			return intake.CheckComplete(path)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); wf.run(ctx) }()
	defer func() { cancel(); <-done }()

	in := filepath.Join(td.root, "in")
	p := dropBytes(t, in, "locked.mxf", "unreadable")
	os.Chmod(p, 0)
	var ef ErrorFile
	waitFor(t, 15*time.Second, "the unreadable file filed to failed/", func() bool {
		b, err := os.ReadFile(filepath.Join(in, "failed", "locked.error.json"))
		return err == nil && json.Unmarshal(b, &ef) == nil
	})
	if !strings.Contains(ef.Reason, "permission denied") || !strings.Contains(ef.Reason, "after 2s unchanged") {
		t.Errorf("reason %q; want the read error and the timeout", ef.Reason)
	}
}

// Issue 21, item 3: an inbox that is state_dir through a link made after the
// config was checked is not watched: Kiln never takes its own job store for
// media. The health answer says so.
func TestInboxLinkedToStateDirIsNotWatched(t *testing.T) {
	td := initDaemon(t, intakeConfig(""))
	in := filepath.Join(td.root, "in")
	os.RemoveAll(in)
	if err := os.Symlink(filepath.Join(td.root, "state"), in); err != nil {
		t.Fatal(err)
	}
	td.run()
	var h api.Health
	waitFor(t, 10*time.Second, "health to say the watch is disabled", func() bool {
		h = api.Health{}
		status, body := td.call("GET", "/v1/health", "")
		return status == 200 && json.Unmarshal(body, &h) == nil && h.Status == "degraded"
	})
	if len(h.Notes) != 1 || !strings.Contains(h.Notes[0], "is state_dir") {
		t.Errorf("notes %q; want one saying the inbox is state_dir", h.Notes)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(td.root, "state", "kiln.db")); err != nil {
		t.Errorf("the job store moved: %v", err)
	}
	if _, err := os.Stat(filepath.Join(td.root, "state", "failed")); err == nil {
		t.Errorf("a failed/ folder was made in state_dir")
	}
}

// Issue 21, item 5: a TS appended in bursts of whole packets, with pauses
// longer than settle (open, append, close, pause), is taken in only once it
// is whole: one job, and the file filed to done/ has every byte.
func TestBurstWrittenTSIsNotTakenTruncated(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is not on PATH: run make setup (it installs ffmpeg)")
	}
	src := filepath.Join(t.TempDir(), "clip.ts")
	cmd := exec.Command(ffmpeg, "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=d=3:s=320x240:r=25",
		"-f", "lavfi", "-i", "sine=d=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "mp2", "-f", "mpegts", src)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	whole, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}

	td := startDaemon(t, intakeConfig(""))
	in := filepath.Join(td.root, "in")
	os.MkdirAll(in, 0o755)
	dst := filepath.Join(in, "burst.ts")
	const bursts = 4
	packets := len(whole) / 188
	for i := 1; i <= bursts; i++ {
		from, to := (i-1)*packets/bursts*188, i*packets/bursts*188
		if i == bursts {
			to = len(whole)
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(whole[from:to])
		f.Close()
		if i < bursts {
			time.Sleep(1500 * time.Millisecond) // settle is 1 s
		}
	}
	jobs := td.waitJobs(1, 30*time.Second)
	if jobs[0].State != "done" {
		t.Fatalf("job %s: %s", jobs[0].State, jobs[0].Reason)
	}
	waitFor(t, 10*time.Second, "burst.ts filed to done/", func() bool {
		_, err := os.Stat(filepath.Join(in, "done", "burst.ts"))
		return err == nil
	})
	st, _ := os.Stat(filepath.Join(in, "done", "burst.ts"))
	if st.Size() != int64(len(whole)) {
		t.Errorf("done/burst.ts is %d bytes, want all %d: taken in before the writer finished", st.Size(), len(whole))
	}
	time.Sleep(1500 * time.Millisecond)
	var all []api.Job
	td.getJSON("/v1/jobs", &all)
	if len(all) != 1 {
		t.Errorf("%d jobs for one file written in bursts", len(all))
	}
}

// Issue 21, item 6: when kilnd cannot see other users' processes (User=kiln
// without CAP_SYS_PTRACE), a file held open by another user's writer looks
// closed. The watch says so once (log and health note) and makes every file
// wait a second settle. The writer check sees as such a kilnd does: three
// processes it may not look into.
func TestUnseenWritersMakeFilesWaitASecondSettle(t *testing.T) {
	td := initDaemon(t, intakeConfig(""))
	w := td.d.cfg.Load().Watches[0]
	wf := &watchFolder{watch: w, rescan: time.Second, d: td.d, log: td.d.Logger,
		openForWriting: func(path string) (bool, int, error) { return false, 3, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); wf.run(ctx) }()
	defer func() { cancel(); <-done }()

	in := filepath.Join(td.root, "in")
	dropped := time.Now()
	dropBytes(t, in, "held.mxf", "written by another user")
	var took time.Duration
	waitFor(t, 15*time.Second, "the file to be taken in", func() bool {
		_, active, err := td.d.store.ActiveSource(context.Background(), filepath.Join(in, "held.mxf"))
		took = time.Since(dropped)
		return err == nil && active
	})
	if took < 2*w.Settle.Duration {
		t.Errorf("taken in after %s; with other users' writers unseen it must stay unchanged for 2 × settle (%s)", took, 2*w.Settle.Duration)
	}
	notes, _ := td.d.notes.list()
	if len(notes) != 1 || !strings.Contains(notes[0], "cannot see which files other users' processes hold open") {
		t.Errorf("health notes %q; want one saying other users' writers are unseen", notes)
	}
	dropBytes(t, in, "second.mxf", "another")
	time.Sleep(2500 * time.Millisecond)
	if n := len(td.logs.records("cannot see other users' writers; files wait a second settle")); n != 1 {
		t.Errorf("%d log lines about unseen writers, want 1", n)
	}
}

// Issue 21, item 2, before the job starts: a queued job whose source was
// moved over does not encode the replacement under its name; it fails with
// the reason, and the replacement is taken in as a new source.
func TestSourceReplacedWhileQueuedIsNotEncodedAsIt(t *testing.T) {
	td := startDaemon(t, strings.Replace(intakeConfig(""), "cpu_jobs = 2", "cpu_jobs = 1", 1))
	in := filepath.Join(td.root, "in")
	dropBytes(t, in, "a-slow.mp4", "keeps the only slot busy")
	dropBytes(t, in, "b.mp4", "the original b")
	var queued api.Job
	waitFor(t, 20*time.Second, "b's job to be queued behind a's", func() bool {
		var jobs []api.Job
		td.getJSON("/v1/jobs?state=queued", &jobs)
		if len(jobs) == 1 && strings.HasSuffix(jobs[0].Source, "b.mp4") {
			queued = jobs[0]
			return true
		}
		return false
	})
	other := filepath.Join(td.root, "other.mov")
	os.WriteFile(other, []byte("a replacement for b, longer than the original"), 0o644)
	if err := os.Rename(other, filepath.Join(in, "b.mp4")); err != nil {
		t.Fatal(err)
	}
	j := td.waitState(queued.ID, "failed", 30*time.Second)
	if !strings.Contains(j.Reason, "not started") || !strings.Contains(j.Reason, "another file now") {
		t.Errorf("reason %q; want it to say the job did not start on a replaced source", j.Reason)
	}
	jobs := td.waitJobs(3, 30*time.Second)
	if jobs[2].State != "done" || !strings.HasSuffix(jobs[2].Source, "b.mp4") {
		t.Errorf("the replacement's job: %+v", jobs[2])
	}
	waitFor(t, 10*time.Second, "the replacement filed to done/", func() bool {
		b, err := os.ReadFile(filepath.Join(in, "done", "b.mp4"))
		return err == nil && string(b) == "a replacement for b, longer than the original"
	})
	if _, err := os.Stat(filepath.Join(in, "failed", "b.mp4")); err == nil {
		t.Errorf("the replacement was filed to failed/ with the old job's outcome")
	}
}

// Issue 21, item 8, a writer that never lets go: past incomplete_timeout
// the file becomes a health note (it is not moved under its writer, which
// would go on writing into failed/), and the note goes once it is taken.
func TestFileHeldOpenPastTimeoutIsTold(t *testing.T) {
	td := initDaemon(t, intakeConfig(`incomplete_timeout = "2s"`))
	w := td.d.cfg.Load().Watches[0]
	var held atomic.Bool
	held.Store(true)
	wf := &watchFolder{watch: w, rescan: time.Second, d: td.d, log: td.d.Logger,
		openForWriting: func(path string) (bool, int, error) { return held.Load(), 0, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); wf.run(ctx) }()
	defer func() { cancel(); <-done }()

	in := filepath.Join(td.root, "in")
	p := dropBytes(t, in, "held.mxf", "a writer holds this")
	waitFor(t, 15*time.Second, "a health note for the held file", func() bool {
		notes, _ := td.d.notes.list()
		return len(notes) == 1 && strings.Contains(notes[0], "held.mxf has been held open for writing")
	})
	if _, err := os.Stat(p); err != nil {
		t.Errorf("the held file was moved: %v", err)
	}
	held.Store(false)
	waitFor(t, 15*time.Second, "the file taken in and the note gone", func() bool {
		notes, _ := td.d.notes.list()
		_, active, _ := td.d.store.ActiveSource(context.Background(), p)
		return active && len(notes) == 0
	})
}
