package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
)

// SetProgress records a running job's progress (clamped to 0..1) and speed.
// It returns ErrNotRunning once the job has ended, which a late progress
// message may race with; callers can ignore that case.
func (s *Store) SetProgress(ctx context.Context, id int64, progress, fps float64) error {
	progress = clamp01(progress)
	if math.IsNaN(fps) || math.IsInf(fps, 0) || fps < 0 {
		fps = 0
	}
	return s.updateRunning(ctx, id, `UPDATE jobs SET progress = ?, fps = ? WHERE id = ? AND state = 'running'`, progress, fps, id)
}

// SetWorkerPID records the process running the job, so that Cancel and a
// restarted daemon know what to stop.
func (s *Store) SetWorkerPID(ctx context.Context, id int64, pid int) error {
	return s.updateRunning(ctx, id, `UPDATE jobs SET worker_pid = ? WHERE id = ? AND state = 'running'`, pid, id)
}

func (s *Store) updateRunning(ctx context.Context, id int64, query string, args ...any) error {
	s.writeMu.Lock()
	res, err := s.db.ExecContext(ctx, query, args...)
	s.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("job store: updating job %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("job store: updating job %d: %w", id, err)
	} else if n == 0 {
		return checkState(ctx, s.db, id, ErrNotRunning)
	}
	return nil
}

// Finish ends a job as done, failed or cancelled, with a reason a person can
// act on and the job's report (JSON, or nil). A queued job may be finished
// too, for a job the daemon refuses before it starts. If this was the source's
// last unfinished job the source is closed in the same transaction, and the
// outcome tells the daemon where the file goes.
func (s *Store) Finish(ctx context.Context, id int64, state State, reason string, report []byte) (SourceOutcome, error) {
	if !state.Finished() {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d as %q: use done, failed or cancelled", id, state)
	}
	// Checked here because the API embeds the stored report verbatim.
	if report != nil && !json.Valid(report) {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d: its report is not valid JSON", id)
	}
	var out SourceOutcome
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.finish(ctx, tx, id, state, reason, report)
		return err
	})
	return out, err
}

func (s *Store) finish(ctx context.Context, tx *sql.Tx, id int64, state State, reason string, report []byte) (SourceOutcome, error) {
	var rep sql.NullString
	if report != nil {
		rep = sql.NullString{String: string(report), Valid: true}
	}
	progress := "progress"
	if state == Done {
		progress = "1"
	}
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, reason = ?, report = ?, finished_at = ?, fps = 0,
			progress = `+progress+`
		WHERE id = ? AND state IN ('queued', 'running')`, state, reason, rep, s.now(), id)
	if err != nil {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d: %w", id, err)
	} else if n == 0 {
		return SourceOutcome{}, checkState(ctx, tx, id, ErrFinished)
	}
	var sourceID int64
	if err := tx.QueryRowContext(ctx, `SELECT source_id FROM jobs WHERE id = ?`, id).Scan(&sourceID); err != nil {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d: %w", id, err)
	}
	return s.settleSource(ctx, tx, sourceID)
}

// Requeue puts a running job back in the queue, keeping its place: queued_at
// is unchanged, so it runs again before younger work of its level. Attempts
// stays raised, so the daemon can stop retrying a job that keeps crashing.
func (s *Store) Requeue(ctx context.Context, id int64, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', reason = ?, started_at = NULL,
				progress = 0, fps = 0, worker_pid = 0
			WHERE id = ? AND state = 'running'`, reason, id)
		if err != nil {
			return fmt.Errorf("job store: requeueing job %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("job store: requeueing job %d: %w", id, err)
		} else if n == 0 {
			return checkState(ctx, tx, id, ErrNotRunning)
		}
		return nil
	})
}

// RequeueRunning is for daemon start: a job still marked running was cut off
// by a crash or a power cut, and no worker of ours runs it any more.
func (s *Store) RequeueRunning(ctx context.Context) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE jobs SET state = 'queued', started_at = NULL, progress = 0, fps = 0,
			worker_pid = 0, reason = 'requeued: kilnd stopped while the job was running'
		WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("job store: requeueing interrupted jobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("job store: requeueing interrupted jobs: %w", err)
	}
	return int(n), nil
}

// SetPriority changes a queued job's priority. A job that has started keeps
// its priority, and the error wraps ErrNotQueued (and ErrFinished once it has
// ended).
func (s *Store) SetPriority(ctx context.Context, id int64, p Priority) error {
	if !p.valid() {
		return fmt.Errorf("job %d: invalid %s: use high, normal or low", id, p)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET priority = ? WHERE id = ? AND state = 'queued'`, int(p), id)
		if err != nil {
			return fmt.Errorf("job store: changing priority of job %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("job store: changing priority of job %d: %w", id, err)
		} else if n == 0 {
			return checkState(ctx, tx, id, ErrNotQueued)
		}
		return nil
	})
}

// Cancel cancels a job.
//   - Queued: it is cancelled here and its source is settled as Finish would;
//     call Outcome(job.SourceID) to learn whether the file must now move.
//   - Running: nothing changes. The returned job is still running; the daemon
//     stops its worker (job.WorkerPID), removes its staging and then calls
//     Finish with Cancelled.
//   - Finished: the error wraps ErrFinished.
func (s *Store) Cancel(ctx context.Context, id int64) (Job, error) {
	var job Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if job, err = jobByID(ctx, tx, id); err != nil {
			return err
		}
		switch {
		case job.State == Running:
			return nil
		case job.State.Finished():
			return &stateError{id: id, state: job.State, want: ErrFinished}
		}
		if _, err := s.finish(ctx, tx, id, Cancelled, "cancelled before it started", nil); err != nil {
			return err
		}
		job, err = jobByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return Job{}, err
	}
	return job, nil
}

func clamp01(v float64) float64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}
