package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClaimPriorityThenFIFO(t *testing.T) { forEachBackend(t, testClaimPriorityThenFIFO) }

func testClaimPriorityThenFIFO(t *testing.T, open opener) {
	s, c := open(t)
	s.AgingStep = 0 // ordering only; aging has its own test
	var want []string
	for i, p := range []Priority{Low, Normal, High, Low, High, Normal} {
		c.Advance(time.Second)
		add(t, s, fmt.Sprintf("/in/%d-%s", i, p), p, "p")
	}
	want = []string{"/in/2-high", "/in/4-high", "/in/1-normal", "/in/5-normal", "/in/0-low", "/in/3-low"}
	for _, w := range want {
		if got := claim(t, s); got.SourcePath != w {
			t.Fatalf("claimed %s, want %s", got.SourcePath, w)
		}
	}
}

func TestClaimAging(t *testing.T) { forEachBackend(t, testClaimAging) }

func testClaimAging(t *testing.T, open opener) {
	const step = 10 * time.Minute
	for _, tc := range []struct {
		name    string
		aging   time.Duration
		waitLow time.Duration // how long after the low job the claim happens
		want    string
	}{
		// The high job arrives 19 minutes after the low one. The low job
		// needs two steps more waiting than the high one to tie it, and
		// wins ties by being older.
		{"one step short", step, 2*step - time.Second, "/in/high"},
		{"two steps waited", step, 2 * step, "/in/low"},
		{"long wait", step, 10 * step, "/in/low"},
		{"aging off", 0, 100 * step, "/in/high"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := open(t)
			s.AgingStep = tc.aging
			start := c.Now()
			add(t, s, "/in/low", Low, "p")
			c.Advance(19 * time.Minute)
			add(t, s, "/in/high", High, "p")
			c.t = start.Add(tc.waitLow)
			if got := claim(t, s); got.SourcePath != tc.want {
				t.Errorf("claimed %s, want %s", got.SourcePath, tc.want)
			}
		})
	}
}

func TestClaimAgingCannotStarve(t *testing.T) { forEachBackend(t, testClaimAgingCannotStarve) }

func testClaimAgingCannotStarve(t *testing.T, open opener) {
	// A high job arrives every minute, and one job is claimed every minute.
	// Without aging the low job would wait for ever.
	s, c := open(t)
	add(t, s, "/in/low", Low, "p")
	for i := 0; i < 100; i++ {
		c.Advance(time.Minute)
		add(t, s, fmt.Sprintf("/in/high-%d", i), High, "p")
		if j := claim(t, s); j.SourcePath == "/in/low" {
			if waited := c.Now().Sub(j.QueuedAt); waited > 3*DefaultAgingStep {
				t.Errorf("low job waited %v", waited)
			}
			return
		}
	}
	t.Fatal("the low job never ran while high jobs kept arriving")
}

func TestClaimExactlyOnceConcurrently(t *testing.T) {
	forEachBackend(t, testClaimExactlyOnceConcurrently)
}

func testClaimExactlyOnceConcurrently(t *testing.T, open opener) {
	const (
		sources    = 50
		perSource  = 10
		total      = sources * perSource
		goroutines = 8
	)
	s, _ := open(t)
	ctx := context.Background()
	for i := 0; i < sources; i++ {
		ns := NewSource{Path: fmt.Sprintf("/in/%d", i), OutputDir: "/out"}
		for k := 0; k < perSource; k++ {
			ns.Jobs = append(ns.Jobs, NewJob{Profile: fmt.Sprintf("p%d", k), Priority: Priority(k%3 - 1)})
		}
		if _, _, err := s.AddSource(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu      sync.Mutex
		claimed = make(map[int64]int)
		wg      sync.WaitGroup
		errs    = make(chan error, goroutines)
	)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, ok, err := s.Claim(ctx)
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				claimed[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(claimed) != total {
		t.Fatalf("%d distinct jobs claimed, want %d", len(claimed), total)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
	counts, _ := s.Counts(ctx)
	if counts[Running] != total || counts[Queued] != 0 {
		t.Errorf("counts %v", counts)
	}
	var maxAttempts int
	if err := s.db.QueryRow(`SELECT MAX(attempts) FROM jobs`).Scan(&maxAttempts); err != nil || maxAttempts != 1 {
		t.Errorf("max attempts %d, %v; want 1", maxAttempts, err)
	}
}

func BenchmarkEnqueueClaimFinish(b *testing.B) {
	s, _ := openTest(b)
	s.Now = time.Now
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _, err := s.AddSource(ctx, NewSource{Path: fmt.Sprintf("/in/%d.mxf", i), OutputDir: "/out",
			Jobs: []NewJob{{Profile: "pal"}}})
		if err != nil {
			b.Fatal(err)
		}
		j, ok, err := s.Claim(ctx)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		if _, err := s.Finish(ctx, j.ID, Done, "", []byte(`{}`)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkProducerAndClaimers is the bench's concurrent scenarios in
// miniature: one goroutine enqueues while N claim and finish, polling again
// at once when the queue is empty. With several writers at once, the group
// commit shares their fsyncs.
func BenchmarkProducerAndClaimers(b *testing.B) {
	for _, claimers := range []int{1, 8} {
		b.Run(fmt.Sprintf("claimers=%d", claimers), func(b *testing.B) {
			s, _ := openTest(b)
			s.Now = time.Now
			ctx := context.Background()
			var (
				done atomic.Int64
				wg   sync.WaitGroup
				errs = make(chan error, claimers+1)
			)
			b.ResetTimer()
			wg.Add(1 + claimers)
			go func() {
				defer wg.Done()
				for i := 0; i < b.N; i++ {
					if _, _, err := s.AddSource(ctx, NewSource{Path: fmt.Sprintf("/in/%d.mxf", i), OutputDir: "/out",
						Jobs: []NewJob{{Profile: "pal"}}}); err != nil {
						errs <- err
						return
					}
				}
			}()
			for c := 0; c < claimers; c++ {
				go func() {
					defer wg.Done()
					for done.Load() < int64(b.N) && len(errs) == 0 {
						j, ok, err := s.Claim(ctx)
						if err == nil && ok {
							_, err = s.Finish(ctx, j.ID, Done, "", []byte(`{}`))
							done.Add(1)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			b.ReportMetric(float64(s.group.ops.Load())/float64(max(s.group.batches.Load(), 1)), "ops/commit")
		})
	}
}
