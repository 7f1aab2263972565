package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Claim takes the next job off the queue: it marks it running, stamps
// started_at and counts the attempt, all in one transaction, so each queued
// job is handed out once however many schedulers (or daemons) ask at the same
// time. ok is false when nothing is queued.
//
// The next job is the one with the best effective rank, then the one queued
// first. The effective rank is the priority less one level per AgingStep
// waited, so a low job that has waited two steps ties with a fresh high job
// and, being older, runs first. Ranking this way is the same as ordering by
// queued_at plus a fixed delay per level, which is why it can never starve
// anything.
func (s *Store) Claim(ctx context.Context) (Job, bool, error) {
	var (
		job Job
		ok  bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var (
			id  int64
			err error
		)
		if step := s.AgingStep.Nanoseconds(); step > 0 {
			// Integer division truncates in SQLite and PostgreSQL alike, so
			// the rank drops by whole levels.
			err = tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE state = 'queued'
				ORDER BY priority - (? - queued_at) / ?, queued_at, id LIMIT 1`, now, step).Scan(&id)
		} else {
			err = tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE state = 'queued'
				ORDER BY priority, queued_at, id LIMIT 1`).Scan(&id)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("job store: picking the next job: %w", err)
		}
		// The state condition makes the update safe even under a weaker lock
		// than BEGIN IMMEDIATE (a PostgreSQL backend would add FOR UPDATE
		// SKIP LOCKED to the select).
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1,
				progress = 0, fps = 0, worker_pid = 0
			WHERE id = ? AND state = 'queued'`, now, id)
		if err != nil {
			return fmt.Errorf("job store: claiming job %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("job store: claiming job %d: %w", id, err)
		} else if n != 1 {
			return fmt.Errorf("job store: job %d was claimed by someone else inside a locked transaction; is the database shared without locking?", id)
		}
		job, err = jobByID(ctx, tx, id)
		ok = err == nil
		return err
	})
	if err != nil {
		return Job{}, false, err
	}
	return job, ok, nil
}
