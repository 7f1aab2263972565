package intake

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	const settle = 5 * time.Second
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mtime := t0.Add(-time.Hour) // an old mtime (cp -p) does not count as settled
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	tr := NewTracker(settle)
	steps := []struct {
		name  string
		size  int64
		mtime time.Time
		now   time.Time
		want  bool
	}{
		{"first sight", 100, mtime, at(0), false},
		{"unchanged, not yet settled", 100, mtime, at(4 * time.Second), false},
		{"unchanged for settle", 100, mtime, at(5 * time.Second), true},
		{"still unchanged", 100, mtime, at(9 * time.Second), true},
		{"grew: clock restarts", 200, mtime, at(10 * time.Second), false},
		{"unchanged 4.9s after growing", 200, mtime, at(14*time.Second + 900*time.Millisecond), false},
		{"mtime touched: clock restarts", 200, mtime.Add(time.Second), at(15 * time.Second), false},
		{"settled again", 200, mtime.Add(time.Second), at(20 * time.Second), true},
		{"shrank: clock restarts", 50, mtime.Add(time.Second), at(21 * time.Second), false},
	}
	for _, s := range steps {
		if got := tr.Observe("/in/a.mxf", s.size, s.mtime, s.now); got != s.want {
			t.Fatalf("%s: Observe = %v, want %v", s.name, got, s.want)
		}
	}

	// Files are tracked separately.
	if tr.Observe("/in/b.mxf", 1, mtime, at(30*time.Second)) {
		t.Fatal("a new file was stable at first sight")
	}
	if !tr.Observe("/in/a.mxf", 50, mtime.Add(time.Second), at(30*time.Second)) {
		t.Fatal("a.mxf lost its clock when b.mxf arrived")
	}

	// Forget starts over.
	tr.Forget("/in/a.mxf")
	if tr.Observe("/in/a.mxf", 50, mtime.Add(time.Second), at(31*time.Second)) {
		t.Fatal("a forgotten file was stable at first sight")
	}

	tr.Retain(func(p string) bool { return p == "/in/b.mxf" })
	if tr.Len() != 1 {
		t.Fatalf("after Retain %d files tracked, want 1", tr.Len())
	}
	if !tr.Observe("/in/b.mxf", 1, mtime, at(40*time.Second)) {
		t.Fatal("Retain lost the clock of a kept file")
	}
}

func TestTrackerZeroSettle(t *testing.T) {
	tr := NewTracker(0)
	now := time.Now()
	if !tr.Observe("/in/a", 1, now, now) {
		t.Fatal("with no settle time a file is stable at once")
	}
}
