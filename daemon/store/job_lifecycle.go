package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// SetProgress records the progress (clamped to 0..1) and speed of a job this
// node runs. It returns ErrNotRunning once the job has ended, which a late
// progress message may race with, and ErrClaimLost once another node has
// taken the job over; callers can ignore both.
func (s *Store) SetProgress(ctx context.Context, id int64, progress, fps float64) error {
	progress = clamp01(progress)
	if math.IsNaN(fps) || math.IsInf(fps, 0) || fps < 0 {
		fps = 0
	}
	return s.updateRunning(ctx, id, `UPDATE jobs SET progress = ?, fps = ? WHERE id = ? AND state = 'running' AND node = ?`, progress, fps, id, s.Node)
}

// SetWorkerPID records the process running the job, so that Cancel and a
// restarted daemon know what to stop.
func (s *Store) SetWorkerPID(ctx context.Context, id int64, pid int) error {
	return s.updateRunning(ctx, id, `UPDATE jobs SET worker_pid = ? WHERE id = ? AND state = 'running' AND node = ?`, pid, id, s.Node)
}

// updateRunning runs one update of a job this node runs; the query's last
// condition is the node. On SQLite it joins the group commit like every
// writer; on PostgreSQL one statement needs no transaction of its own.
func (s *Store) updateRunning(ctx context.Context, id int64, query string, args ...any) error {
	update := func(q querier) error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("job store: updating job %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("job store: updating job %d: %w", id, err)
		} else if n == 0 {
			if j, err := jobByID(ctx, q, id); err == nil && j.State == Running && j.Node != s.Node {
				return fmt.Errorf("job %d runs on node %s now: %w", id, j.Node, ErrClaimLost)
			}
			return checkState(ctx, q, id, ErrNotRunning)
		}
		return nil
	}
	if s.postgres {
		return update(s.conn)
	}
	return s.inTx(ctx, update)
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
	err := s.inTx(ctx, func(tx querier) error {
		var err error
		out, err = s.finish(ctx, tx, id, nil, state, reason, report)
		return err
	})
	return out, err
}

// FinishClaim is Finish for a job this node claimed: it ends the job only if
// the claim still holds (the job is running on s.Node, at the attempt j was
// claimed with). Otherwise the error wraps ErrClaimLost and nothing changes:
// another node owns the job now, and its result is the one that counts.
func (s *Store) FinishClaim(ctx context.Context, j Job, state State, reason string, report []byte) (SourceOutcome, error) {
	if !state.Finished() {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d as %q: use done, failed or cancelled: %w", j.ID, state, ErrInvalid)
	}
	if report != nil && !json.Valid(report) {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d: its report is not valid JSON: %w", j.ID, ErrInvalid)
	}
	var out SourceOutcome
	err := s.inTx(ctx, func(tx querier) error {
		var err error
		out, err = s.finish(ctx, tx, j.ID, &j, state, reason, report)
		return err
	})
	return out, err
}

// finish ends job id; with a claim, only while that claim holds.
func (s *Store) finish(ctx context.Context, tx querier, id int64, claim *Job, state State, reason string, report []byte) (SourceOutcome, error) {
	var rep sql.NullString
	if report != nil {
		rep = sql.NullString{String: string(report), Valid: true}
	}
	progress := "progress"
	if state == Done {
		progress = "1"
	}
	cond, args := `state IN ('queued', 'running')`, []any{state, reason, rep, s.now(), id}
	if claim != nil {
		cond = `state = 'running' AND node = ? AND attempts = ?`
		args = append(args, claim.Node, claim.Attempts)
	}
	// RETURNING saves reading the source back in a second statement.
	var sourceID int64
	err := tx.QueryRowContext(ctx, `UPDATE jobs SET state = ?, reason = ?, report = ?, finished_at = ?, fps = 0,
			progress = `+progress+`
		WHERE id = ? AND `+cond+` RETURNING source_id`, args...).Scan(&sourceID)
	if errors.Is(err, sql.ErrNoRows) {
		if claim != nil {
			return SourceOutcome{}, lostClaim(ctx, tx, *claim)
		}
		return SourceOutcome{}, checkState(ctx, tx, id, ErrFinished)
	}
	if err != nil {
		return SourceOutcome{}, fmt.Errorf("job store: finishing job %d: %w", id, err)
	}
	return s.settleSource(ctx, tx, sourceID)
}

// Requeue puts a running job back in the queue, keeping its place: queued_at
// is unchanged, so it runs again before younger work of its level. Attempts
// stays raised, so the daemon can stop retrying a job that keeps crashing.
func (s *Store) Requeue(ctx context.Context, id int64, reason string) error {
	return s.requeue(ctx, id, nil, reason)
}

// RequeueClaim is Requeue for a job this node claimed: only while the claim
// holds, else the error wraps ErrClaimLost.
func (s *Store) RequeueClaim(ctx context.Context, j Job, reason string) error {
	return s.requeue(ctx, j.ID, &j, reason)
}

func (s *Store) requeue(ctx context.Context, id int64, claim *Job, reason string) error {
	cond, args := `state = 'running'`, []any{reason, id}
	if claim != nil {
		cond += ` AND node = ? AND attempts = ?`
		args = append(args, claim.Node, claim.Attempts)
	}
	return s.inTx(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', reason = ?, started_at = NULL,
				progress = 0, fps = 0, worker_pid = 0, node = ''
			WHERE id = ? AND `+cond, args...)
		if err != nil {
			return fmt.Errorf("job store: requeueing job %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("job store: requeueing job %d: %w", id, err)
		} else if n == 0 {
			if claim != nil {
				return lostClaim(ctx, tx, *claim)
			}
			return checkState(ctx, tx, id, ErrNotRunning)
		}
		return nil
	})
}

// lostClaim explains why a claim no longer holds.
func lostClaim(ctx context.Context, q querier, claim Job) error {
	j, err := jobByID(ctx, q, claim.ID)
	if err != nil {
		return err
	}
	now := string(j.State)
	if j.State == Running {
		now = fmt.Sprintf("running on node %s (attempt %d)", j.Node, j.Attempts)
	}
	return fmt.Errorf("job %d, claimed by node %s at attempt %d, is now %s: %w", claim.ID, claim.Node, claim.Attempts, now, ErrClaimLost)
}

// RequeueRunning is for daemon start: a job of this node still marked running
// was cut off by a crash or a power cut, and no worker of ours runs it any
// more. Jobs running on other nodes of a fleet are theirs until their lease
// expires (ReapExpired). Jobs claimed before nodes were recorded (node ”)
// count as this node's. Like every requeue, it leaves the attempt counted.
func (s *Store) RequeueRunning(ctx context.Context) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', started_at = NULL, progress = 0, fps = 0,
				worker_pid = 0, node = '', reason = 'requeued: kilnd stopped while the job was running'
			WHERE state = 'running' AND (node = ? OR node = '')`, s.Node)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
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
	return s.inTx(ctx, func(tx querier) error {
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
	err := s.inTx(ctx, func(tx querier) error {
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
		if _, err := s.finish(ctx, tx, id, nil, Cancelled, "cancelled before it started", nil); err != nil {
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
