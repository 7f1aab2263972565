// Package store is the daemon's job store: every source file Kiln has taken in,
// every job made from it, where each job stands and, in a fleet, which node
// runs it. The scheduler claims work here, workers' progress lands here, and
// the API reads from here.
//
// Two backends share one schema, one set of versioned migrations and one set
// of queries (written with ? placeholders; rebind turns them into $n for
// PostgreSQL):
//   - SQLite through modernc.org/sqlite, pure Go, embedded: one appliance.
//   - PostgreSQL through pgx: several appliances ("nodes") share one store.
//     Claims take rows with FOR UPDATE SKIP LOCKED, each node keeps a lease
//     alive with heartbeats, and the jobs of a node whose lease expired are
//     re-queued for the others (ReapExpired).
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
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	kilndsn "kiln/dsn"
)

// DefaultAgingStep is how long a queued job waits before it is ranked one
// priority level higher.
const DefaultAgingStep = 10 * time.Minute

// Store is the job store. Its methods are safe for concurrent use, also by
// several processes sharing the same file or the same PostgreSQL database:
// each write runs in a transaction that takes SQLite's write lock up front, or
// locks the PostgreSQL rows it decides on.
type Store struct {
	// Node names this appliance in a fleet: claims record it, and only its
	// own jobs are re-queued by RequeueRunning. Open sets it to the host
	// name; set it before the store is shared.
	Node string
	// Instance is this process's id in the node registry, random per
	// Open: claims record it, and a name is held by one instance at a
	// time (Heartbeat).
	Instance string
	// Now is the clock used for every timestamp and for aging. Tests replace
	// it; set it before the store is shared.
	Now func() time.Time
	// AgingStep lifts a queued job by one priority level for each step it has
	// waited, so that a steady stream of high-priority work cannot starve low
	// priority jobs forever. Zero or negative turns aging off.
	AgingStep time.Duration

	db       *sql.DB
	conn     querier // db, through prepared statements, placeholders rebound for the dialect
	stmts    stmtCache
	group    groupCommit // SQLite's writers, one transaction and one fsync per batch
	postgres bool
	path     string // the SQLite file, or the PostgreSQL DSN without its password
	host     string // this machine's host name, recorded in the node registry
	bootID   string // this boot's id, which tells a restart on this machine from a clone

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
	return newStore(db, abs, "", false)
}

// OpenPostgres opens a PostgreSQL job store shared by a fleet, and brings the
// schema up to date. dsn is a postgres:// or postgresql:// URL; errors name it
// without its password.
func OpenPostgres(dsn string) (*Store, error) {
	shown := kilndsn.Redact(dsn)
	if !kilndsn.IsPostgres(dsn) {
		return nil, fmt.Errorf("job store %s: not a postgres:// or postgresql:// URL", shown)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("job store %s: %w", shown, err)
	}
	// Each daemon holds a few connections: claims, progress, the API and
	// the heartbeat. PostgreSQL's default max_connections (100) then
	// serves a fleet of a dozen nodes.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	return newStore(db, shown, dsnPassword(dsn), true)
}

// newStore checks the connection and migrates. shown names the store in
// errors; secret is the password, kept out of them.
func newStore(db *sql.DB, shown, secret string, postgres bool) (*Store, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	s := &Store{Node: host, host: host, Now: time.Now, AgingStep: DefaultAgingStep, db: db,
		postgres: postgres, path: shown, Instance: newInstanceID(), bootID: bootID()}
	liveInstances.Store(s.Instance, true)
	s.conn = stmtQuerier{s: s}
	s.group.s = s
	// sql.Open connects lazily; ping so that a bad path, a file that is not
	// a database or an unreachable server fails here, named.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("job store %s: %w", shown, redactSecret(err, secret))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("job store %s: %w", shown, err)
	}
	return s, nil
}

// Postgres reports whether the store is a shared PostgreSQL database.
func (s *Store) Postgres() bool { return s.postgres }

// dsn builds the modernc.org/sqlite connection string. The pragmas are set on
// every new connection of the pool, not just the first:
//   - WAL lets the API read while a worker's progress is being written;
//   - synchronous=FULL makes a committed state change survive a power cut,
//     which matters more to an appliance than write throughput;
//   - busy_timeout makes a writer wait for another process's lock instead
//     of failing (writers of this process queue in the group commit);
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

// Path is the absolute path of the database file, or the PostgreSQL DSN with
// its password redacted.
func (s *Store) Path() string { return s.path }

// Close closes the database. Jobs still marked running stay so; the next Open
// is followed by RequeueRunning.
func (s *Store) Close() error {
	liveInstances.Delete(s.Instance)
	s.stmts.close()
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

// inTx runs fn in a read-write transaction and returns once that transaction
// has committed (durably: synchronous=FULL on SQLite, synchronous_commit on
// PostgreSQL), or with fn's error and nothing of fn's changed.
//
// SQLite runs fn through the group commit (group_commit.go): fn may share its
// transaction with other writers of this process, each in its own savepoint.
// fn must therefore do nothing but database work on tx, and must not keep
// state between calls that a rollback of its savepoint would leave wrong.
//
// PostgreSQL runs it at READ COMMITTED, one transaction per call: the
// statements that decide something lock their rows (FOR UPDATE, or an UPDATE
// with its condition re-checked), so nodes never wait on one another for more
// than a row, and the server already shares WAL flushes between concurrent
// commits.
func (s *Store) inTx(ctx context.Context, fn func(tx querier) error) error {
	return s.inTxMode(ctx, false, fn)
}

// inTxMode is inTx; plain runs fn's statements unprepared, for migrations
// whose statements run once.
func (s *Store) inTxMode(ctx context.Context, plain bool, fn func(tx querier) error) error {
	if !s.postgres {
		return s.group.do(ctx, plain, fn)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("job store: starting transaction: %w", err)
	}
	if err := fn(s.txQuerier(tx, plain)); err != nil {
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
// (2067) or PostgreSQL's unique_violation (23505). It is checked through
// interfaces so the drivers' types stay out of this package's API.
func isUniqueViolation(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code() == 2067 {
		return true
	}
	var pg interface{ SQLState() string }
	return errors.As(err, &pg) && pg.SQLState() == "23505"
}

// rebind numbers the ? placeholders $1, $2, … for PostgreSQL. The queries of
// this package hold no ? inside string literals, which rebind would not skip.
func (s *Store) rebind(query string) string {
	if !s.postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// forUpdate is the row-lock clause for a SELECT that decides a write: SQLite
// has none and needs none (BEGIN IMMEDIATE already holds the write lock).
func (s *Store) forUpdate(clause string) string {
	if s.postgres {
		return " " + clause
	}
	return ""
}
