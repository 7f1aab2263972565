package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Source is one drop of a file: the same path dropped again after its earlier
// jobs finished is a new Source with a new id.
type Source struct {
	ID        int64
	Path      string // absolute, as found in the inbox or given to the API
	Watch     string // the watch folder's name; "" for API submissions
	OutputDir string // the output root the jobs write under
	Size      int64
	Mtime     time.Time
	// ContentHash identifies the file's content (the daemon hashes its
	// first bytes); "" for API submissions and older rows.
	ContentHash string
	// OutputName is the S of <OutputDir>/S/P/; "" for the stem of Path.
	OutputName string
	// Inode is the file's inode when it was taken in; 0 when unknown.
	Inode uint64
	State SourceState

	CreatedAt  time.Time
	FinishedAt time.Time // zero while active
}

// NewSource describes a file to take in and the jobs to make from it.
type NewSource struct {
	Path      string
	Watch     string
	OutputDir string
	Size      int64
	Mtime     time.Time
	// ContentHash, set for watch-folder files, makes path, size, mtime and
	// hash one drop's identity: a second AddSource of the same drop, by this
	// node or another sharing the store, adds nothing and returns
	// ErrAlreadyTaken, even after the first drop's jobs have finished.
	ContentHash string
	OutputName  string // the S of <OutputDir>/S/P/; "" for the stem of Path
	Inode       uint64 // the file's inode, checked again at filing; 0 for none
	Jobs        []NewJob
}

// NewJob is one job of a NewSource: one per profile.
type NewJob struct {
	Profile  string
	Priority Priority
}

// SourceOutcome tells the daemon what a finished job means for its source.
// When Finished is true the source's last job has ended, and the file must move
// to done/ (AllDone) or failed/ (anything else; Jobs says which failed and why).
type SourceOutcome struct {
	Source   Source
	Finished bool
	AllDone  bool
	Jobs     []Job // all of the source's jobs, as they stand after the change
}

const sourceColumns = `id, path, watch, output_dir, size, mtime, content_hash, output_name, inode, state, created_at, finished_at`

// AddSource takes in a file: it inserts the source and one queued job per
// NewJob, all or nothing. If the path already has an active source it inserts
// nothing and returns ErrSourceActive; if this very drop (same identity, see
// NewSource.ContentHash) was taken before, ErrAlreadyTaken.
func (s *Store) AddSource(ctx context.Context, ns NewSource) (Source, []Job, error) {
	if err := ns.validate(); err != nil {
		return Source{}, nil, err
	}
	var (
		src  Source
		jobs []Job
	)
	err := s.inTx(ctx, func(tx querier) error {
		// The explicit check gives the common case a clear error; the partial
		// unique index on sources(path) still guards a PostgreSQL store
		// shared by several daemons, hence the second check on insert.
		if _, ok, err := activeSource(ctx, tx, ns.Path); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%s: %w", ns.Path, ErrSourceActive)
		}
		if taken, err := s.dropTaken(ctx, tx, ns); err != nil {
			return err
		} else if taken {
			return fmt.Errorf("%s: %w", ns.Path, ErrAlreadyTaken)
		}
		// RETURNING hands back the rows as stored, so nothing is read back.
		now := s.now()
		var err error
		src, err = scanSource(tx.QueryRowContext(ctx, `INSERT INTO sources (path, watch, output_dir, size, mtime, content_hash, output_name, inode, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+sourceColumns,
			ns.Path, ns.Watch, ns.OutputDir, ns.Size, mtimeNanos(ns.Mtime), ns.ContentHash, ns.OutputName, int64(ns.Inode), SourceActive, now))
		if isUniqueViolation(err) {
			// Another node inserted the same file between the checks and
			// the insert (PostgreSQL; SQLite's write lock rules this out).
			return errLostInsertRace
		}
		if err != nil {
			return fmt.Errorf("job store: adding source %s: %w", ns.Path, err)
		}
		jobs = make([]Job, 0, len(ns.Jobs))
		for _, nj := range ns.Jobs {
			added, err := queryJobs(ctx, tx, `INSERT INTO jobs (source_id, profile, priority, state, created_at, queued_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING `+jobReturning, src.ID, nj.Profile, int(nj.Priority), Queued, now, now)
			if err == nil && len(added) != 1 {
				err = fmt.Errorf("the insert returned %d rows", len(added))
			}
			if err != nil {
				return fmt.Errorf("job store: adding %s job for %s: %w", nj.Profile, ns.Path, err)
			}
			jobs = append(jobs, added[0])
		}
		return nil
	})
	if errors.Is(err, errLostInsertRace) {
		// The transaction is aborted; ask again outside it which index the
		// other node's insert filled.
		if _, active, aerr := s.ActiveSource(ctx, ns.Path); aerr == nil && active {
			return Source{}, nil, fmt.Errorf("%s: %w", ns.Path, ErrSourceActive)
		}
		if ns.OutputName != "" {
			if inUse, aerr := s.OutputNamesInUse(ctx, ns.OutputDir); aerr == nil && inUse[ns.OutputName] {
				return Source{}, nil, fmt.Errorf("%s: %s: %w", ns.Path, ns.OutputName, ErrOutputNameTaken)
			}
		}
		return Source{}, nil, fmt.Errorf("%s: %w", ns.Path, ErrAlreadyTaken)
	}
	if err != nil {
		return Source{}, nil, err
	}
	return src, jobs, nil
}

var errLostInsertRace = errors.New("another node took the file in at the same instant")

// dropTaken reports whether this drop of a watch-folder file is already in
// the store, in any state.
func (s *Store) dropTaken(ctx context.Context, q querier, ns NewSource) (bool, error) {
	if ns.Watch == "" || ns.ContentHash == "" {
		return false, nil
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sources
		WHERE path = ? AND size = ? AND mtime = ? AND content_hash = ? AND watch <> ''`,
		ns.Path, ns.Size, mtimeNanos(ns.Mtime), ns.ContentHash).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("job store: looking up %s: %w", ns.Path, err)
	}
	return n > 0, nil
}

func (ns NewSource) validate() error {
	if ns.Path == "" {
		return errors.New("job store: a source needs a path")
	}
	if len(ns.Jobs) == 0 {
		// A source without jobs would stay active forever and block the path.
		return fmt.Errorf("job store: %s: no profiles to run", ns.Path)
	}
	seen := make(map[string]bool, len(ns.Jobs))
	for _, j := range ns.Jobs {
		if j.Profile == "" {
			return fmt.Errorf("job store: %s: a job needs a profile name", ns.Path)
		}
		if seen[j.Profile] {
			// Both jobs would write to <output>/<source>/<profile>/.
			return fmt.Errorf("job store: %s: profile %q listed twice", ns.Path, j.Profile)
		}
		seen[j.Profile] = true
		if !j.Priority.valid() {
			return fmt.Errorf("job store: %s: %s job: invalid %s", ns.Path, j.Profile, j.Priority)
		}
	}
	return nil
}

// ActiveSource returns the path's active source, if it has one.
func (s *Store) ActiveSource(ctx context.Context, path string) (Source, bool, error) {
	return activeSource(ctx, s.conn, path)
}

func activeSource(ctx context.Context, q querier, path string) (Source, bool, error) {
	// 'active' is written out, not bound: SQLite's planner reads a bound
	// value to prove a partial index usable (sources_one_active_per_path),
	// and then re-prepares the statement on every new binding.
	src, err := scanSource(q.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE path = ? AND state = 'active'`, path))
	if errors.Is(err, sql.ErrNoRows) {
		return Source{}, false, nil
	}
	if err != nil {
		return Source{}, false, fmt.Errorf("job store: looking up %s: %w", path, err)
	}
	return src, true, nil
}

// OutputNamesInUse lists the output names that active sources hold under
// outputDir (the stem of the path for rows that named none): the names a new
// source of that output folder may not take, though nothing is published
// under them yet.
func (s *Store) OutputNamesInUse(ctx context.Context, outputDir string) (map[string]bool, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT path, output_name FROM sources WHERE output_dir = ? AND state = 'active'`, outputDir)
	if err != nil {
		return nil, fmt.Errorf("job store: listing output names: %w", err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var path, name string
		if err := rows.Scan(&path, &name); err != nil {
			return nil, fmt.Errorf("job store: listing output names: %w", err)
		}
		if name == "" {
			base := filepath.Base(path)
			name = strings.TrimSuffix(base, filepath.Ext(base))
		}
		names[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job store: listing output names: %w", err)
	}
	return names, nil
}

// Outcome reports where a source stands, as Finish does. The daemon uses it
// after Cancel has cancelled a queued job, to learn whether the file must now
// move to failed/.
func (s *Store) Outcome(ctx context.Context, sourceID int64) (SourceOutcome, error) {
	return outcome(ctx, s.conn, sourceID)
}

func outcome(ctx context.Context, q querier, sourceID int64) (SourceOutcome, error) {
	src, err := sourceByID(ctx, q, sourceID)
	if err != nil {
		return SourceOutcome{}, err
	}
	jobs, err := jobsOfSource(ctx, q, sourceID)
	if err != nil {
		return SourceOutcome{}, err
	}
	return SourceOutcome{
		Source:   src,
		Finished: src.State != SourceActive,
		AllDone:  src.State == SourceDone,
		Jobs:     jobs,
	}, nil
}

// settleSource closes the source once none of its jobs is unfinished, and
// returns the outcome either way. It runs in the transaction that finished a
// job, so exactly one caller sees Finished become true.
//
// With PostgreSQL two nodes may finish a source's last two jobs at the same
// instant; each transaction then counts before the other has committed, and
// both would see one job left. Locking the source row first makes the second
// wait for the first to commit, so its count sees both ends.
func (s *Store) settleSource(ctx context.Context, tx querier, sourceID int64) (SourceOutcome, error) {
	if s.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM sources WHERE id = ? FOR UPDATE`, sourceID); err != nil {
			return SourceOutcome{}, fmt.Errorf("job store: locking source %d: %w", sourceID, err)
		}
	}
	// One statement counts and closes. Anything short of every job done
	// fails the source, cancelled jobs included: the file goes to failed/ so
	// that a person looks at it, rather than to done/ with outputs missing.
	if _, err := tx.ExecContext(ctx, `UPDATE sources
		SET state = CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE source_id = ? AND state <> 'done') THEN ? ELSE ? END,
			finished_at = ?
		WHERE id = ? AND state = 'active'
			AND NOT EXISTS (SELECT 1 FROM jobs WHERE source_id = ? AND state IN ('queued', 'running'))`,
		sourceID, SourceFailed, SourceDone, s.now(), sourceID, sourceID); err != nil {
		return SourceOutcome{}, fmt.Errorf("job store: closing source %d: %w", sourceID, err)
	}
	return outcome(ctx, tx, sourceID)
}

func sourceByID(ctx context.Context, q querier, id int64) (Source, error) {
	src, err := scanSource(q.QueryRowContext(ctx, `SELECT `+sourceColumns+` FROM sources WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Source{}, fmt.Errorf("source %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Source{}, fmt.Errorf("job store: reading source %d: %w", id, err)
	}
	return src, nil
}

func scanSource(row *sql.Row) (Source, error) {
	var (
		src            Source
		mtime, created int64
		finished       sql.NullInt64
		inode          int64
	)
	err := row.Scan(&src.ID, &src.Path, &src.Watch, &src.OutputDir, &src.Size, &mtime, &src.ContentHash, &src.OutputName, &inode,
		&src.State, &created, &finished)
	if err != nil {
		return Source{}, err
	}
	src.Inode = uint64(inode)
	src.Mtime = mtimeFromNanos(mtime)
	src.CreatedAt = time.Unix(0, created)
	src.FinishedAt = fromNanos(finished)
	return src, nil
}
