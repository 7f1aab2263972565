package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestGroupCommitIsolatesFailures queues writers behind a leader that holds
// its transaction open, so that they share the next one, and makes every
// other writer fail after it has written: the failed writers' rows must be
// gone, the others' committed, and each writer must get its own result.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	before := s.WriteStats()

	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.inTx(ctx, func(tx querier) error {
			<-release
			return nil
		})
	}()
	waitFor(t, func() bool {
		s.group.mu.Lock()
		defer s.group.mu.Unlock()
		return s.group.leading && len(s.group.queue) == 0
	})

	const writers = 6
	errBoom := errors.New("boom")
	results := make([]chan error, writers)
	for i := range results {
		results[i] = make(chan error, 1)
		go func() {
			if i%2 == 0 {
				_, _, err := s.AddSource(ctx, NewSource{Path: fmt.Sprintf("/in/ok-%d", i), OutputDir: "/out", Jobs: []NewJob{{Profile: "pal"}}})
				results[i] <- err
				return
			}
			results[i] <- s.inTx(ctx, func(tx querier) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO sources (path, output_dir, size, mtime, state, created_at)
					VALUES (?, '/out', 0, 0, 'active', 0)`, fmt.Sprintf("/in/failed-%d", i)); err != nil {
					return err
				}
				return errBoom
			})
		}()
	}
	waitFor(t, func() bool {
		s.group.mu.Lock()
		defer s.group.mu.Unlock()
		return len(s.group.queue) == writers
	})
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		err := <-r
		if i%2 == 0 && err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
		if i%2 == 1 && !errors.Is(err, errBoom) {
			t.Errorf("writer %d: got %v, want its own error", i, err)
		}
	}
	if got := s.WriteStats(); got.Transactions-before.Transactions != 2 || got.Ops-before.Ops != writers+1 {
		t.Errorf("%d transactions for %d writes, want 2 for %d", got.Transactions-before.Transactions, got.Ops-before.Ops, writers+1)
	}
	var ok, failed int
	if err := s.db.QueryRow(`SELECT
			COALESCE(SUM(CASE WHEN path LIKE '/in/ok-%' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN path LIKE '/in/failed-%' THEN 1 ELSE 0 END), 0)
		FROM sources`).Scan(&ok, &failed); err != nil {
		t.Fatal(err)
	}
	if ok != writers/2 || failed != 0 {
		t.Errorf("%d sources of the good writers and %d of the failed ones stored, want %d and 0", ok, failed, writers/2)
	}
	for i := 0; i < writers/2; i++ {
		if _, _, err := s.Claim(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if counts, _ := s.Counts(ctx); counts[Running] != writers/2 {
		t.Errorf("counts %v, want %d running", counts, writers/2)
	}
}

// TestGroupCommitLoneWriterAlone checks that a writer with no company commits
// in a transaction of its own and does not wait for others.
func TestGroupCommitLoneWriterAlone(t *testing.T) {
	s, _ := openTest(t)
	before := s.WriteStats()
	add(t, s, "/in/a.mxf", Normal, "pal")
	claim(t, s)
	if got := s.WriteStats(); got.Transactions-before.Transactions != 2 || got.Ops-before.Ops != 2 {
		t.Errorf("stats went from %+v to %+v, want two transactions of one write each", before, got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}
