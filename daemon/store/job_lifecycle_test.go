package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLifecycleAllDone(t *testing.T) { forEachBackend(t, testLifecycleAllDone) }

func testLifecycleAllDone(t *testing.T, open opener) {
	s, c := open(t)
	ctx := context.Background()
	src, jobs := add(t, s, "/in/news.mxf", Normal, "pal", "web")
	if src.State != SourceActive || len(jobs) != 2 {
		t.Fatalf("AddSource = %+v, %d jobs", src, len(jobs))
	}
	for _, j := range jobs {
		if j.State != Queued || j.Attempts != 0 || j.SourcePath != "/in/news.mxf" || j.Watch != "pal" || j.OutputDir != "/out/pal" {
			t.Fatalf("new job %+v", j)
		}
		if !j.QueuedAt.Equal(c.Now()) || !j.StartedAt.IsZero() {
			t.Fatalf("new job times %+v", j)
		}
	}

	c.Advance(time.Second)
	j1 := claim(t, s)
	if j1.State != Running || j1.Attempts != 1 || !j1.StartedAt.Equal(c.Now()) {
		t.Fatalf("claimed %+v", j1)
	}
	if err := s.SetWorkerPID(ctx, j1.ID, 4242); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProgress(ctx, j1.ID, 1.5, 97.5); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, j1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Progress != 1 || got.FPS != 97.5 || got.WorkerPID != 4242 {
		t.Errorf("progress not recorded (or not clamped): %+v", got)
	}

	out, err := s.Finish(ctx, j1.ID, Done, "", []byte(`{"ok":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if out.Finished || out.Source.State != SourceActive {
		t.Fatalf("source finished with a job still queued: %+v", out)
	}
	j2 := claim(t, s)
	c.Advance(time.Minute)
	out, err = s.Finish(ctx, j2.ID, Done, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Finished || !out.AllDone || out.Source.State != SourceDone || !out.Source.FinishedAt.Equal(c.Now()) {
		t.Fatalf("outcome %+v", out)
	}
	if len(out.Jobs) != 2 || string(out.Jobs[0].Report) != `{"ok":true}` || out.Jobs[1].Report != nil {
		t.Fatalf("outcome jobs %+v", out.Jobs)
	}
	if _, ok, _ := s.ActiveSource(ctx, "/in/news.mxf"); ok {
		t.Error("source still active after its last job")
	}
	if _, ok, err := s.Claim(ctx); ok || err != nil {
		t.Errorf("Claim on an empty queue = %v, %v", ok, err)
	}
	// A late progress message from the finished worker is refused, not stored.
	if err := s.SetProgress(ctx, j2.ID, 0.5, 1); !errors.Is(err, ErrNotRunning) || !errors.Is(err, ErrFinished) {
		t.Errorf("SetProgress after Finish = %v", err)
	}
	if _, err := s.Finish(ctx, j2.ID, Failed, "again", nil); !errors.Is(err, ErrFinished) {
		t.Errorf("second Finish = %v, want ErrFinished", err)
	}
}

func TestLifecycleOneFailureFailsSource(t *testing.T) {
	forEachBackend(t, testLifecycleOneFailureFailsSource)
}

func testLifecycleOneFailureFailsSource(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	add(t, s, "/in/a.mov", Normal, "pal", "web")
	j1, j2 := claim(t, s), claim(t, s)
	if _, err := s.Finish(ctx, j1.ID, Failed, "no video stream", nil); err != nil {
		t.Fatal(err)
	}
	out, err := s.Finish(ctx, j2.ID, Done, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Finished || out.AllDone || out.Source.State != SourceFailed {
		t.Fatalf("outcome %+v", out)
	}
	if out.Jobs[0].Reason != "no video stream" || out.Jobs[0].State != Failed {
		t.Errorf("failed job %+v", out.Jobs[0])
	}
}

func TestFinishRejectsNonTerminalState(t *testing.T) {
	forEachBackend(t, testFinishRejectsNonTerminalState)
}

func testFinishRejectsNonTerminalState(t *testing.T, open opener) {
	s, _ := open(t)
	add(t, s, "/in/a", Normal, "p")
	j := claim(t, s)
	if _, err := s.Finish(context.Background(), j.ID, Queued, "", nil); err == nil {
		t.Error("Finish accepted state queued")
	}
	if _, err := s.Finish(context.Background(), j.ID, Done, "", []byte("{not json")); err == nil {
		t.Error("Finish accepted a report that is not JSON")
	}
	if _, err := s.Finish(context.Background(), 999, Done, "", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Finish(999) = %v, want ErrNotFound", err)
	}
}

func TestSourceActiveAndRedrop(t *testing.T) { forEachBackend(t, testSourceActiveAndRedrop) }

func testSourceActiveAndRedrop(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	first, _ := add(t, s, "/in/a.ts", Normal, "p")
	_, _, err := s.AddSource(ctx, NewSource{Path: "/in/a.ts", OutputDir: "/out", Jobs: []NewJob{{Profile: "q"}}})
	if !errors.Is(err, ErrSourceActive) {
		t.Fatalf("second drop while active = %v, want ErrSourceActive", err)
	}
	if n, _ := s.Counts(ctx); n[Queued] != 1 {
		t.Fatalf("the refused drop inserted jobs: %v", n)
	}
	got, ok, err := s.ActiveSource(ctx, "/in/a.ts")
	if err != nil || !ok || got.ID != first.ID || got.Size != 1234 || !got.Mtime.Equal(time.Unix(1700000000, 5)) {
		t.Fatalf("ActiveSource = %+v, %v, %v", got, ok, err)
	}

	// Once the drop has finished, the same path is taken in again.
	j := claim(t, s)
	if _, err := s.Finish(ctx, j.ID, Done, "", nil); err != nil {
		t.Fatal(err)
	}
	second, jobs := add(t, s, "/in/a.ts", Low, "p")
	if second.ID == first.ID || jobs[0].Priority != Low {
		t.Fatalf("re-drop = %+v %+v", second, jobs)
	}
}

func TestSourceWithoutMtime(t *testing.T) { forEachBackend(t, testSourceWithoutMtime) }

func testSourceWithoutMtime(t *testing.T, open opener) {
	s, _ := open(t)
	src, _, err := s.AddSource(context.Background(), NewSource{Path: "/in/api.mov", OutputDir: "/out", Jobs: []NewJob{{Profile: "p"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !src.Mtime.IsZero() || src.Watch != "" {
		t.Errorf("API source came back as %+v", src)
	}
}

func TestUniqueIndexGuardsActivePath(t *testing.T) {
	forEachBackend(t, testUniqueIndexGuardsActivePath)
}

func testUniqueIndexGuardsActivePath(t *testing.T, open opener) {
	// The index, not only the Go check, keeps two active drops of one path
	// apart: that is what protects a store shared by several daemons.
	s, _ := open(t)
	add(t, s, "/in/a", Normal, "p")
	_, err := s.db.Exec(`INSERT INTO sources (path, output_dir, size, mtime, state, created_at) VALUES ('/in/a', '', 0, 0, 'active', 0)`)
	if !isUniqueViolation(err) {
		t.Fatalf("second active row for one path: %v, want a unique violation", err)
	}
	if _, err := s.db.Exec(`INSERT INTO sources (path, output_dir, size, mtime, state, created_at) VALUES ('/in/a', '', 0, 0, 'done', 0)`); err != nil {
		t.Fatalf("a finished row for the same path must be allowed: %v", err)
	}
}

func TestRequeue(t *testing.T) { forEachBackend(t, testRequeue) }

func testRequeue(t *testing.T, open opener) {
	s, c := open(t)
	ctx := context.Background()
	add(t, s, "/in/old", Normal, "p")
	c.Advance(time.Second)
	add(t, s, "/in/young", Normal, "p")
	j := claim(t, s)
	if j.SourcePath != "/in/old" {
		t.Fatalf("claimed %s first", j.SourcePath)
	}
	if err := s.SetProgress(ctx, j.ID, 0.4, 25); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, j.ID, "worker crashed: signal 11"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, j.ID)
	if got.State != Queued || got.Attempts != 1 || got.Progress != 0 || !got.StartedAt.IsZero() || got.Reason != "worker crashed: signal 11" {
		t.Fatalf("requeued job %+v", got)
	}
	// It keeps its place ahead of the younger job.
	if again := claim(t, s); again.ID != j.ID || again.Attempts != 2 {
		t.Fatalf("after requeue claimed %+v", again)
	}
	if err := s.Requeue(ctx, 999, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Requeue(999) = %v", err)
	}
	young := claim(t, s)
	if _, err := s.Finish(ctx, young.ID, Done, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, young.ID, ""); !errors.Is(err, ErrFinished) {
		t.Errorf("Requeue of a done job = %v, want ErrFinished", err)
	}
}

func TestRequeueRunningAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	add(t, s, "/in/a", Normal, "p1", "p2", "p3")
	running := claim(t, s)
	claim(t, s)
	if err := s.SetWorkerPID(ctx, running.ID, 77); err != nil {
		t.Fatal(err)
	}
	// The daemon dies: no Finish, no Requeue.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.RequeueRunning(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RequeueRunning = %d, %v; want 2", n, err)
	}
	counts, _ := s.Counts(ctx)
	if counts[Queued] != 3 || counts[Running] != 0 {
		t.Fatalf("counts after restart %v", counts)
	}
	got, _ := s.Get(ctx, running.ID)
	if got.WorkerPID != 0 || got.Attempts != 1 || got.Reason == "" {
		t.Errorf("requeued job %+v", got)
	}
	if n, _ := s.RequeueRunning(ctx); n != 0 {
		t.Errorf("second RequeueRunning moved %d jobs", n)
	}
}

func TestCancel(t *testing.T) { forEachBackend(t, testCancel) }

func testCancel(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	_, jobs := add(t, s, "/in/a", Normal, "run", "wait")
	running := claim(t, s)
	queued := jobs[1]

	// Queued: cancelled at once; the source still has a running job.
	got, err := s.Cancel(ctx, queued.ID)
	if err != nil || got.State != Cancelled || got.FinishedAt.IsZero() {
		t.Fatalf("Cancel(queued) = %+v, %v", got, err)
	}
	if out, _ := s.Outcome(ctx, got.SourceID); out.Finished {
		t.Fatal("source finished while a job still runs")
	}

	// Running: left for the daemon to stop.
	got, err = s.Cancel(ctx, running.ID)
	if err != nil || got.State != Running {
		t.Fatalf("Cancel(running) = %+v, %v", got, err)
	}
	out, err := s.Finish(ctx, running.ID, Cancelled, "cancelled by user", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Finished || out.AllDone || out.Source.State != SourceFailed {
		t.Fatalf("outcome after cancelling everything %+v", out)
	}

	// Finished: refused.
	if _, err := s.Cancel(ctx, queued.ID); !errors.Is(err, ErrFinished) {
		t.Errorf("Cancel(cancelled) = %v, want ErrFinished", err)
	}
	if _, err := s.Cancel(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Cancel(999) = %v, want ErrNotFound", err)
	}
}

func TestCancelLastQueuedJobFinishesSource(t *testing.T) {
	forEachBackend(t, testCancelLastQueuedJobFinishesSource)
}

func testCancelLastQueuedJobFinishesSource(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	_, jobs := add(t, s, "/in/a", Normal, "p")
	if _, err := s.Cancel(ctx, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	out, err := s.Outcome(ctx, jobs[0].SourceID)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Finished || out.AllDone || out.Source.State != SourceFailed {
		t.Fatalf("outcome %+v", out)
	}
	if _, ok, _ := s.Claim(ctx); ok {
		t.Error("a cancelled job was claimed")
	}
}

func TestSetPriority(t *testing.T) { forEachBackend(t, testSetPriority) }

func testSetPriority(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	_, a := add(t, s, "/in/a", Low, "p")
	_, b := add(t, s, "/in/b", Low, "p")
	if err := s.SetPriority(ctx, b[0].ID, High); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s); got.ID != b[0].ID || got.Priority != High {
		t.Fatalf("claimed %+v, want the raised job", got)
	}
	if err := s.SetPriority(ctx, b[0].ID, Low); !errors.Is(err, ErrNotQueued) || errors.Is(err, ErrFinished) {
		t.Errorf("SetPriority(running) = %v, want ErrNotQueued", err)
	}
	if _, err := s.Finish(ctx, b[0].ID, Done, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPriority(ctx, b[0].ID, Low); !errors.Is(err, ErrNotQueued) || !errors.Is(err, ErrFinished) {
		t.Errorf("SetPriority(done) = %v, want ErrNotQueued and ErrFinished", err)
	}
	if err := s.SetPriority(ctx, a[0].ID, Priority(9)); err == nil {
		t.Error("SetPriority accepted priority 9")
	}
	if err := s.SetPriority(ctx, 999, Low); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPriority(999) = %v", err)
	}
}

func TestListAndCounts(t *testing.T) { forEachBackend(t, testListAndCounts) }

func testListAndCounts(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	add(t, s, "/in/a", Normal, "p")
	add(t, s, "/in/b", Normal, "p")
	add(t, s, "/in/c", Normal, "p")
	j := claim(t, s) // /in/a
	if _, err := s.Finish(ctx, j.ID, Failed, "no video stream", nil); err != nil {
		t.Fatal(err)
	}
	claim(t, s) // /in/b

	all, err := s.List(ctx, Filter{})
	if err != nil || len(all) != 3 || all[0].SourcePath != "/in/c" || all[2].SourcePath != "/in/a" {
		t.Fatalf("List = %+v, %v; want newest first", all, err)
	}
	failed, _ := s.List(ctx, Filter{State: Failed})
	if len(failed) != 1 || failed[0].Reason != "no video stream" {
		t.Fatalf("List(failed) = %+v", failed)
	}
	if two, _ := s.List(ctx, Filter{Limit: 2}); len(two) != 2 {
		t.Fatalf("List(limit 2) returned %d", len(two))
	}
	if _, err := s.List(ctx, Filter{State: "bogus"}); err == nil {
		t.Error("List accepted state bogus")
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[State]int{Queued: 1, Running: 1, Done: 0, Failed: 1, Cancelled: 0}
	for st, n := range want {
		if got, ok := counts[st]; !ok || got != n {
			t.Errorf("Counts[%s] = %d (present %v), want %d", st, got, ok, n)
		}
	}
}
