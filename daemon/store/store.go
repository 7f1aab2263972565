// Package store is the daemon's job store: every source file Kiln has taken in,
// every job made from it, and where each job stands. The scheduler claims work
// here, workers' progress lands here, and the API reads from here.
//
// The embedded backend is SQLite through modernc.org/sqlite, which is pure Go,
// so the daemon stays free of cgo. The schema and its versioned migrations are
// kept to SQL that PostgreSQL also accepts, so that several appliances can later
// share one PostgreSQL store with the same tables.
//
// The package owns only the database. It must not touch the files it describes
// (moving sources to done/ or failed/ is the daemon's work), start processes,
// or import config, pipeline or anything that links cgo.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultAgingStep is how long a queued job waits before it is ranked one
// priority level higher.
const DefaultAgingStep = 10 * time.Minute

// Store is the job store. Its methods are safe for concurrent use, also by
// several processes sharing the same file: each write runs in a transaction
// that takes SQLite's write lock up front.
type Store struct {
	// Now is the clock used for every timestamp and for aging. Tests replace
	// it; set it before the store is shared.
	Now func() time.Time
	// AgingStep lifts a queued job by one priority level for each step it has
	// waited, so that a steady stream of high-priority work cannot starve low
	// priority jobs forever. Zero or negative turns aging off.
	AgingStep time.Duration

	db   *sql.DB
	path string

	// writeMu queues this process's writers. SQLite has one writer at a
	// time anyway; waiting here is fair (Go's mutex hands over in order
	// under contention), where SQLite's busy handler sleeps and retries and
	// can starve one claimer past any timeout on a loaded machine. Other
	// processes (a second tool on the same file) still meet busy_timeout.
	writeMu sync.Mutex
}

// Open opens the job store at path, creating the file and its folder if they
// do not exist, and brings the schema up to date.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("job store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("job store: creating its folder: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("job store %s: %w", abs, err)
	}
	// database/sql keeps only two idle connections by default; the rest are
	// closed after use and reopened, pragmas and all, on the next burst of
	// claims and progress updates. Keep a small fixed pool instead. Nothing
	// in this package uses s.db while holding a transaction, so a bounded
	// pool cannot deadlock.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &Store{Now: time.Now, AgingStep: DefaultAgingStep, db: db, path: abs}
	// sql.Open connects lazily; ping so that a bad path or a file that is not
	// a database fails here, with the path in the message.
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("job store %s: %w", abs, err)
	}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("job store %s: %w", abs, err)
	}
	return s, nil
}

// dsn builds the modernc.org/sqlite connection string. The pragmas are set on
// every new connection of the pool, not just the first:
//   - WAL lets the API read while a worker's progress is being written;
//   - synchronous=FULL makes a committed state change survive a power cut,
//     which matters more to an appliance than write throughput;
//   - busy_timeout makes a writer wait for another process's lock instead
//     of failing (writers of this process queue on writeMu);
//   - foreign_keys keeps a job from pointing at a source that does not exist.
//
// _txlock=immediate makes every read-write transaction start with BEGIN
// IMMEDIATE: it takes the write lock before the first read, so two claims can
// never read the same queued job and both mark it running, and two deferred
// transactions can never deadlock upgrading their read locks.
func dsn(abs string) string {
	u := url.URL{Scheme: "file", Path: abs} // escapes '?', '#' and '%' in the path
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return u.String() + "?" + q.Encode()
}

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Jobs still marked running stay so; the next Open
// is followed by RequeueRunning.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing job store %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) now() int64 { return s.Now().UnixNano() }

// querier is what *sql.DB and *sql.Tx have in common, so that reads can run
// inside or outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a read-write transaction and commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("job store: starting transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("job store: committing: %w", err)
	}
	return nil
}

// Timestamps are stored as Unix nanoseconds in BIGINT columns: portable, exact,
// and cheap to compare in the queue's ORDER BY. NULL means "not yet".
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64)
}

// mtimeNanos stores a source's mtime; an unknown (zero) mtime is stored as 0,
// because UnixNano of the zero time.Time is undefined.
func mtimeNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func mtimeFromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// isUniqueViolation reports whether err is SQLite's SQLITE_CONSTRAINT_UNIQUE
// (2067). It is checked through an interface so the driver's types stay out of
// this package's API.
func isUniqueViolation(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code() == 2067
}
