package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Job is one profile run on one source, with the source fields the daemon
// needs to start a worker and file the result.
type Job struct {
	ID       int64
	SourceID int64
	Profile  string
	Priority Priority
	State    State
	// Attempts counts how often the job was claimed; a worker crash
	// followed by Requeue leaves it raised.
	Attempts int
	// Reason is the last human explanation: why it failed, why it was
	// requeued or cancelled.
	Reason string

	CreatedAt  time.Time
	QueuedAt   time.Time
	StartedAt  time.Time // zero until claimed
	FinishedAt time.Time // zero until finished

	Progress  float64 // 0..1
	FPS       float64
	Report    json.RawMessage // nil until the job finished with a report
	WorkerPID int             // 0 when no worker is known
	// Node is the fleet node that claimed the job; with Attempts it is the
	// claim a node must still hold to finish or re-queue it.
	Node string

	SourcePath string
	Watch      string
	OutputDir  string
	OutputName string // the S of <OutputDir>/S/P/; "" for the stem of SourcePath
}

// Filter selects jobs for List.
type Filter struct {
	State State // "" for every state
	Limit int   // 0 for no limit
}

const jobSelect = `SELECT j.id, j.source_id, j.profile, j.priority, j.state, j.attempts, j.reason,
		j.created_at, j.queued_at, j.started_at, j.finished_at, j.progress, j.fps, j.report, j.worker_pid,
		j.node, s.path, s.watch, s.output_dir, s.output_name
	FROM jobs j JOIN sources s ON s.id = j.source_id`

// jobReturning is jobSelect's column list for a RETURNING clause of an
// INSERT or UPDATE of jobs, which cannot join: the source's columns come from
// subqueries on its primary key instead.
const jobReturning = `id, source_id, profile, priority, state, attempts, reason,
		created_at, queued_at, started_at, finished_at, progress, fps, report, worker_pid, node,
		(SELECT path FROM sources WHERE sources.id = jobs.source_id),
		(SELECT watch FROM sources WHERE sources.id = jobs.source_id),
		(SELECT output_dir FROM sources WHERE sources.id = jobs.source_id),
		(SELECT output_name FROM sources WHERE sources.id = jobs.source_id)`

// Get returns one job, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Job, error) {
	return jobByID(ctx, s.conn, id)
}

// List returns jobs, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Job, error) {
	var (
		where []string
		args  []any
	)
	if f.State != "" {
		if !f.State.Valid() {
			return nil, fmt.Errorf("job state %q: use queued, running, done, failed or cancelled", f.State)
		}
		where = append(where, "j.state = ?")
		args = append(args, f.State)
	}
	q := jobSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY j.id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	jobs, err := queryJobs(ctx, s.conn, q, args...)
	if err != nil {
		return nil, fmt.Errorf("job store: listing jobs: %w", err)
	}
	return jobs, nil
}

// Counts returns the number of jobs in each state; every state is present,
// zero included, so metrics can export all of them.
func (s *Store) Counts(ctx context.Context) (map[State]int, error) {
	counts := make(map[State]int, len(States))
	for _, st := range States {
		counts[st] = 0
	}
	rows, err := s.conn.QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("job store: counting jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			st State
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("job store: counting jobs: %w", err)
		}
		counts[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job store: counting jobs: %w", err)
	}
	return counts, nil
}

func jobByID(ctx context.Context, q querier, id int64) (Job, error) {
	jobs, err := queryJobs(ctx, q, jobSelect+" WHERE j.id = ?", id)
	if err != nil {
		return Job{}, fmt.Errorf("job store: reading job %d: %w", id, err)
	}
	if len(jobs) == 0 {
		return Job{}, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return jobs[0], nil
}

func jobsOfSource(ctx context.Context, q querier, sourceID int64) ([]Job, error) {
	jobs, err := queryJobs(ctx, q, jobSelect+" WHERE j.source_id = ? ORDER BY j.id", sourceID)
	if err != nil {
		return nil, fmt.Errorf("job store: reading jobs of source %d: %w", sourceID, err)
	}
	return jobs, nil
}

func queryJobs(ctx context.Context, q querier, query string, args ...any) ([]Job, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []Job
	for rows.Next() {
		var (
			j                 Job
			created, queued   int64
			started, finished sql.NullInt64
			report            sql.NullString
		)
		if err := rows.Scan(&j.ID, &j.SourceID, &j.Profile, &j.Priority, &j.State, &j.Attempts, &j.Reason,
			&created, &queued, &started, &finished, &j.Progress, &j.FPS, &report, &j.WorkerPID,
			&j.Node, &j.SourcePath, &j.Watch, &j.OutputDir, &j.OutputName); err != nil {
			return nil, err
		}
		j.CreatedAt = time.Unix(0, created)
		j.QueuedAt = time.Unix(0, queued)
		j.StartedAt = fromNanos(started)
		j.FinishedAt = fromNanos(finished)
		if report.Valid {
			j.Report = json.RawMessage(report.String)
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// checkState explains why job id could not change: it does not exist, or it
// is in a state the change does not apply to. want is the sentinel for the
// wrong-state case.
func checkState(ctx context.Context, q querier, id int64, want error) error {
	var st State
	err := q.QueryRowContext(ctx, `SELECT state FROM jobs WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("job store: reading job %d: %w", id, err)
	}
	return &stateError{id: id, state: st, want: want}
}

// stateError is a change refused because of the job's state. It matches the
// caller's sentinel (ErrNotQueued, ErrNotRunning, ErrFinished) and, when the
// job has finished, ErrFinished too, so "is it over?" has one test.
type stateError struct {
	id    int64
	state State
	want  error
}

func (e *stateError) Error() string {
	return fmt.Sprintf("job %d is %s: %v", e.id, e.state, e.want)
}

func (e *stateError) Is(target error) bool {
	return target == e.want || (target == ErrFinished && e.state.Finished())
}
