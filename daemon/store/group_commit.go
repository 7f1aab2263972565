package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many writers share one SQLite transaction, so that one
// commit never holds the write lock for long while others queue.
const maxBatch = 128

// groupCommit runs this process's SQLite writers, sharing transactions.
//
// Why: with synchronous=FULL every commit waits for an fsync of the WAL, and
// SQLite has one writer at a time, so writers committing one by one are
// bounded by the fsync rate however many cores are idle. After statements
// were cached, the profile of concurrent claimers showed the commits' fsyncs
// dominating the store's wall time. Writers that arrive while a commit is in
// progress therefore queue; the next leader runs all queued operations in one
// transaction, each inside its own SAVEPOINT, and commits them with a single
// fsync. An operation that fails is rolled back to its savepoint alone and
// gets its own error; the others still commit. Every caller returns only
// after the commit that holds its operation has returned, so an
// acknowledged change is as durable as before.
//
// A lone writer does not wait for company: when no commit is in progress it
// leads at once, with a batch of one, and runs as a plain transaction (no
// savepoint). There is no batching delay; batches form only from writers
// that would have waited for the write lock anyway.
//
// It replaces the writer mutex that queued this process's writers: the
// queue is still served in order, so no claimer starves behind SQLite's
// busy handler. Other processes on the same file still meet busy_timeout.
type groupCommit struct {
	s *Store

	mu      sync.Mutex
	queue   []*writeOp
	leading bool // a leader is running a batch; newcomers queue

	batches atomic.Int64 // transactions committed or rolled back
	ops     atomic.Int64 // operations run in them
}

// writeOp is one caller's transaction body.
type writeOp struct {
	ctx   context.Context
	fn    func(tx querier) error
	plain bool
	done  chan opResult // one result, then nothing; or a lead, then one result
}

type opResult struct {
	err  error
	lead bool // the caller is to run the next batch
}

var errBatchAborted = errors.New("job store: the transaction shared with other writers failed; nothing of this change was committed")

// do runs fn in a transaction, maybe shared, and returns once it committed or
// failed. fn runs with the caller's ctx; the caller waits for its batch even
// when ctx is cancelled meanwhile, because returning early could report a
// change as failed that then commits.
func (g *groupCommit) do(ctx context.Context, plain bool, fn func(tx querier) error) error {
	op := &writeOp{ctx: ctx, fn: fn, plain: plain, done: make(chan opResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, op)
	if g.leading {
		g.mu.Unlock()
		r := <-op.done
		if !r.lead {
			return r.err
		}
		// The previous leader handed over with op first in the queue.
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	g.lead()
	return (<-op.done).err
}

// lead runs the queued operations (the leader's own among them) as one
// batch, then hands leadership to the first writer that queued meanwhile, or
// gives it up.
func (g *groupCommit) lead() {
	g.mu.Lock()
	n := min(len(g.queue), maxBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	answered := false
	defer func() {
		if !answered {
			// fn panicked (run rolled the transaction back): the other
			// writers must not wait for ever, and the panic goes on up.
			for _, op := range batch {
				select {
				case op.done <- opResult{err: errBatchAborted}:
				default:
				}
			}
		}
		g.mu.Lock()
		if len(g.queue) > 0 {
			g.queue[0].done <- opResult{lead: true}
		} else {
			g.leading = false
		}
		g.mu.Unlock()
	}()
	errs := g.run(batch)
	answered = true
	for i, op := range batch {
		op.done <- opResult{err: errs[i]}
	}
}

// run runs one batch in one transaction and returns each operation's error.
func (g *groupCommit) run(batch []*writeOp) []error {
	g.batches.Add(1)
	g.ops.Add(int64(len(batch)))
	errs := make([]error, len(batch))
	all := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	// Not the callers' contexts: a cancelled caller must not abort the
	// others' transaction. Each fn runs its statements with its own ctx.
	bg := context.Background()
	tx, err := g.s.db.BeginTx(bg, nil)
	if err != nil {
		return all(fmt.Errorf("job store: starting transaction: %w", err))
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	q := g.s.txQuerier(tx, false)
	if len(batch) == 1 {
		// Alone: the transaction is the operation's, no savepoint needed.
		op := batch[0]
		q.plain = op.plain
		if errs[0] = op.fn(q); errs[0] != nil {
			return errs
		}
	} else {
		for i, op := range batch {
			if errs[i] = op.ctx.Err(); errs[i] != nil {
				continue
			}
			if _, err := q.ExecContext(bg, `SAVEPOINT op`); err != nil {
				return all(fmt.Errorf("job store: starting an operation in a shared transaction: %w: %w", err, errBatchAborted))
			}
			oq := q
			oq.plain = op.plain
			if errs[i] = op.fn(oq); errs[i] != nil {
				// Undo this operation's own changes only. If SQLite has
				// already rolled the whole transaction back (a full disk,
				// an I/O error), the savepoint is gone and every
				// operation fails with nothing committed.
				if _, err := q.ExecContext(bg, `ROLLBACK TO op`); err != nil {
					return all(fmt.Errorf("job store: undoing a failed operation (%v): %w: %w", errs[i], err, errBatchAborted))
				}
			}
			if _, err := q.ExecContext(bg, `RELEASE op`); err != nil {
				return all(fmt.Errorf("job store: ending an operation in a shared transaction: %w: %w", err, errBatchAborted))
			}
		}
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return all(fmt.Errorf("job store: committing: %w", err))
	}
	return errs
}

// WriteStats counts a SQLite store's write transactions and the writers'
// operations they carried since Open: Ops/Transactions is how many writers
// shared each commit and its fsync. PostgreSQL stores report zeros: the
// server shares WAL flushes itself.
type WriteStats struct {
	Transactions int64
	Ops          int64
}

// WriteStats reports the group commit's counts.
func (s *Store) WriteStats() WriteStats {
	return WriteStats{Transactions: s.group.batches.Load(), Ops: s.group.ops.Load()}
}
