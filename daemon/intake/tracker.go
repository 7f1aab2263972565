package intake

import (
	"sync"
	"time"
)

// Tracker decides when a file has stopped changing. It is safe for concurrent
// use.
//
// The settle clock starts when the tracker first sees a file as it is, not at
// the file's mtime: copies that keep the original mtime (rsync -t, cp -p)
// would otherwise look settled the moment they appear.
type Tracker struct {
	settle time.Duration

	mu   sync.Mutex
	seen map[string]observation
}

type observation struct {
	size  int64
	mtime time.Time
	since time.Time // when this size and mtime were first seen
}

// NewTracker returns a tracker that calls a file stable once its size and
// mtime have not changed for settle.
func NewTracker(settle time.Duration) *Tracker {
	return &Tracker{settle: settle, seen: make(map[string]observation)}
}

// Observe records what a scan found at time now and reports whether the file
// has been unchanged for the settle time. Any change of size or mtime starts
// the clock again.
func (t *Tracker) Observe(path string, size int64, mtime, now time.Time) (stable bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.seen[path]
	if !ok || o.size != size || !o.mtime.Equal(mtime) {
		o = observation{size: size, mtime: mtime, since: now}
		t.seen[path] = o
	}
	return now.Sub(o.since) >= t.settle
}

// StableFor reports how long a tracked file has been unchanged at time now;
// 0 for a file the tracker does not know.
func (t *Tracker) StableFor(path string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.seen[path]
	if !ok {
		return 0
	}
	return now.Sub(o.since)
}

// Forget drops a file, once it has been taken in or has gone away.
func (t *Tracker) Forget(path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.seen, path)
}

// Retain forgets every file for which keep returns false. Call it after a
// scan so that files deleted from the inbox do not pile up.
func (t *Tracker) Retain(keep func(path string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range t.seen {
		if !keep(p) {
			delete(t.seen, p)
		}
	}
}

// Len is the number of files being tracked.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.seen)
}
