package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migration is one step of the schema. Steps are applied in order, each in its
// own transaction, and recorded in schema_version; a step is never edited once
// released, only followed by a new one.
//
// The SQL is kept to what SQLite and PostgreSQL both accept (BIGINT, TEXT,
// DOUBLE PRECISION, CHECK, partial indexes) so that both backends apply the
// same steps. The one dialect difference is the id column: SQLite's
// INTEGER PRIMARY KEY AUTOINCREMENT becomes BIGINT GENERATED ALWAYS AS
// IDENTITY there (see dialect). AUTOINCREMENT (rather than a plain rowid) because job ids
// are shown to users and must never be reused, even after old rows are pruned.
type migration struct {
	version    int
	name       string
	statements []string
}

var migrations = []migration{
	{
		version: 1,
		name:    "sources and jobs",
		statements: []string{
			`CREATE TABLE sources (
				id          INTEGER PRIMARY KEY AUTOINCREMENT,
				path        TEXT NOT NULL,
				watch       TEXT NOT NULL DEFAULT '',
				output_dir  TEXT NOT NULL,
				size        BIGINT NOT NULL,
				mtime       BIGINT NOT NULL,
				state       TEXT NOT NULL CHECK (state IN ('active', 'done', 'failed')),
				created_at  BIGINT NOT NULL,
				finished_at BIGINT
			)`,
			// A file is taken in again only after its earlier drop has
			// finished: at most one active source per path. The index is the
			// guarantee even if two daemons share the store.
			`CREATE UNIQUE INDEX sources_one_active_per_path ON sources (path) WHERE state = 'active'`,
			`CREATE TABLE jobs (
				id          INTEGER PRIMARY KEY AUTOINCREMENT,
				source_id   BIGINT NOT NULL REFERENCES sources (id),
				profile     TEXT NOT NULL,
				priority    INTEGER NOT NULL,
				state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
				attempts    INTEGER NOT NULL DEFAULT 0,
				reason      TEXT NOT NULL DEFAULT '',
				created_at  BIGINT NOT NULL,
				queued_at   BIGINT NOT NULL,
				started_at  BIGINT,
				finished_at BIGINT,
				progress    DOUBLE PRECISION NOT NULL DEFAULT 0,
				fps         DOUBLE PRECISION NOT NULL DEFAULT 0,
				report      TEXT,
				worker_pid  INTEGER NOT NULL DEFAULT 0
			)`,
			`CREATE INDEX jobs_by_state ON jobs (state, priority, queued_at)`,
			`CREATE INDEX jobs_by_source ON jobs (source_id)`,
		},
	},
	{
		version: 2,
		name:    "fleet: nodes, claims and file identity",
		statements: []string{
			// The node that claimed a running job; '' for jobs claimed before
			// this step, which RequeueRunning treats as this node's.
			`ALTER TABLE jobs ADD COLUMN node TEXT NOT NULL DEFAULT ''`,
			`CREATE INDEX jobs_running_by_node ON jobs (node) WHERE state = 'running'`,
			// A hash of the file's first bytes: with path, size and mtime it
			// identifies one drop of a file, so that nodes watching the same
			// folder take it once, and a node that scans just after another
			// filed it away does not take it again. Rows from before this step
			// keep '' and stay out of the index.
			`ALTER TABLE sources ADD COLUMN content_hash TEXT NOT NULL DEFAULT ''`,
			`CREATE UNIQUE INDEX sources_one_per_file ON sources (path, size, mtime, content_hash)
				WHERE watch <> '' AND content_hash <> ''`,
			// The registry: one row per node, rewritten by every heartbeat. A
			// node is up while lease_until is in the future.
			`CREATE TABLE nodes (
				name         TEXT PRIMARY KEY,
				host         TEXT NOT NULL,
				version      TEXT NOT NULL DEFAULT '',
				hardware     TEXT NOT NULL DEFAULT '{}',
				slots        INTEGER NOT NULL DEFAULT 0,
				gpu_slots    INTEGER NOT NULL DEFAULT 0,
				running      INTEGER NOT NULL DEFAULT 0,
				running_gpu  INTEGER NOT NULL DEFAULT 0,
				started_at   BIGINT NOT NULL,
				heartbeat_at BIGINT NOT NULL,
				lease_until  BIGINT NOT NULL
			)`,
		},
	},
	{
		version: 3,
		name:    "fleet: instance identity",
		statements: []string{
			// Each kilnd process registers under a random instance id, with
			// its boot id and pid: a second live kilnd under the same name
			// (a cloned appliance keeps the host name) is told apart from a
			// restart of the same node, and refused.
			`ALTER TABLE nodes ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE nodes ADD COLUMN boot_id TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE nodes ADD COLUMN pid INTEGER NOT NULL DEFAULT 0`,
			// The instance that claimed a running job: a job running under
			// this node's name but another instance's is an orphan of a
			// dead instance, which the live one re-queues.
			`ALTER TABLE jobs ADD COLUMN instance TEXT NOT NULL DEFAULT ''`,
		},
	},
	{
		version: 4,
		name:    "intake: output names and file identity",
		statements: []string{
			// The S of <output>/S/P/ the daemon chose at intake, so that two
			// sources of one stem, or a file dropped again, never publish
			// into one folder; '' (rows from before this step) means the
			// file name's stem.
			`ALTER TABLE sources ADD COLUMN output_name TEXT NOT NULL DEFAULT ''`,
			// Nodes of a fleet sharing an output folder choose names apart;
			// this makes the second of two that chose alike fail its insert.
			`CREATE UNIQUE INDEX sources_one_output_name ON sources (output_dir, output_name)
				WHERE state = 'active' AND output_name <> ''`,
			// The inode the file had when taken in: filing checks that the
			// path still names that file, not one moved over it meanwhile.
			// 0 for rows from before this step and for API submissions.
			`ALTER TABLE sources ADD COLUMN inode BIGINT NOT NULL DEFAULT 0`,
		},
	},
}

// schemaLockKey is the PostgreSQL advisory lock that serialises migrations:
// several nodes starting at once against a fresh database apply each step
// once. Any fixed number works; this one spells "kiln".
const schemaLockKey = 0x6b696c6e

// dialect adapts a statement to the backend. SQLite's AUTOINCREMENT key
// becomes an identity column in PostgreSQL; both never reuse an id.
func (s *Store) dialect(stmt string) string {
	if !s.postgres {
		return stmt
	}
	return strings.ReplaceAll(stmt, "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
}

// lockSchema serialises migrating transactions across processes: SQLite's
// BEGIN IMMEDIATE already does; PostgreSQL takes an advisory lock held until
// the transaction ends.
func (s *Store) lockSchema(ctx context.Context, tx querier) error {
	if !s.postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(schemaLockKey)); err != nil {
		return fmt.Errorf("locking the schema for migration: %w", err)
	}
	return nil
}

// migrate creates schema_version if needed and applies the missing steps.
func (s *Store) migrate(ctx context.Context) error {
	err := s.inTxMode(ctx, true, func(tx querier) error {
		if err := s.lockSchema(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating schema_version: %w", err)
	}
	latest := migrations[len(migrations)-1].version
	for _, m := range migrations {
		err := s.inTxMode(ctx, true, func(tx querier) error {
			// Read the version inside the locked transaction, so that two
			// processes opening a fresh store cannot both apply a step.
			if err := s.lockSchema(ctx, tx); err != nil {
				return err
			}
			current, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if current > latest {
				return fmt.Errorf("the database has schema version %d but this kilnd knows only up to %d: run a newer kilnd or restore the store from a backup", current, latest)
			}
			if current >= m.version {
				return nil
			}
			for _, stmt := range m.statements {
				if _, err := tx.ExecContext(ctx, s.dialect(stmt)); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, m.version, s.now()); err != nil {
				return fmt.Errorf("migration %d (%s): recording it: %w", m.version, m.name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return int(v.Int64), nil
}
