package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"kiln/api"
)

const floodConfig = `
[daemon]
state_dir = "{{root}}/state"
socket = "{{root}}/kiln.sock"
cpu_jobs = 8
rescan = "1s"
socket_group = ""

[[watch]]
name = "urgent"
inbox = "{{root}}/in/urgent"
output = "{{root}}/out/urgent"
profiles = ["p1"]
priority = "high"
settle = "1s"

[[watch]]
name = "daily"
inbox = "{{root}}/in/daily"
output = "{{root}}/out/daily"
profiles = ["p1"]
settle = "1s"

[[watch]]
name = "archive"
inbox = "{{root}}/in/archive"
output = "{{root}}/out/archive"
profiles = ["p1"]
priority = "low"
settle = "1s"

[profile.p1]
kind = "file"
codec = "h264"
`

// TestFlood drops 300 files at once across three watch folders of different
// priority: each is processed exactly once, the daemon's memory stays
// bounded, and no job starts while a job of higher priority, or an older one
// of the same priority, is waiting.
func TestFlood(t *testing.T) {
	td := startDaemon(t, floodConfig)
	watches := []string{"urgent", "daily", "archive"}
	for _, w := range watches {
		waitFor(t, 10*time.Second, "inbox "+w, func() bool {
			_, err := os.Stat(filepath.Join(td.root, "in", w))
			return err == nil
		})
	}

	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	go func() {
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	defer close(stop)

	const perWatch = 100
	for i := 0; i < perWatch; i++ {
		for _, w := range watches {
			name := fmt.Sprintf("%s-%03d.mxf", w, i)
			tmp := filepath.Join(td.root, "in", w, "."+name+".part")
			os.WriteFile(tmp, []byte("clip "+name), 0o644)
			os.Rename(tmp, filepath.Join(td.root, "in", w, name))
		}
	}
	waitFor(t, 3*time.Minute, "all 300 files to be done", func() bool {
		for _, w := range watches {
			done, _ := os.ReadDir(filepath.Join(td.root, "in", w, "done"))
			if len(done) != perWatch {
				return false
			}
		}
		return true
	})

	var jobs []api.Job
	td.getJSON("/v1/jobs", &jobs)
	if len(jobs) != 3*perWatch {
		t.Fatalf("%d jobs for %d files: each must become exactly one job", len(jobs), 3*perWatch)
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.Source] {
			t.Errorf("%s processed twice", j.Source)
		}
		seen[j.Source] = true
		if j.State != "done" || j.Attempts != 1 {
			t.Errorf("job %d: %s after %d attempts", j.ID, j.State, j.Attempts)
		}
	}
	rank := map[string]int{"high": 0, "normal": 1, "low": 2}
	violations := 0
	for _, a := range jobs {
		for _, b := range jobs {
			// b was waiting when a started, yet a went first although b
			// ranks higher, or ranks the same and waited longer.
			if a.StartedAt == nil || b.StartedAt == nil || !b.CreatedAt.Before(*a.StartedAt) || !a.StartedAt.Before(*b.StartedAt) {
				continue
			}
			if rank[b.Priority] < rank[a.Priority] || (rank[b.Priority] == rank[a.Priority] && b.CreatedAt.Before(a.CreatedAt)) {
				violations++
				if violations <= 3 {
					t.Errorf("job %d (%s, queued %s) started before waiting job %d (%s, queued %s)",
						a.ID, a.Priority, a.CreatedAt.Format(time.StampMicro), b.ID, b.Priority, b.CreatedAt.Format(time.StampMicro))
				}
			}
		}
	}
	if violations > 0 {
		t.Errorf("%d queue-order violations", violations)
	}
	t.Logf("peak heap in use during the flood: %.1f MB", float64(peakHeap.Load())/(1<<20))
	if peakHeap.Load() > 128<<20 {
		t.Errorf("the daemon's heap reached %.0f MB during a 300-file flood", float64(peakHeap.Load())/(1<<20))
	}
}
