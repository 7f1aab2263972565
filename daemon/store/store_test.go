package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kiln/daemon/store/pgtest"
)

// clock is a manual clock for Store.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// opener opens a fresh, empty store with a manual clock.
type opener func(t testing.TB) (*Store, *clock)

// forEachBackend runs a store test against SQLite and against PostgreSQL (a
// fresh database on this test binary's private server).
func forEachBackend(t *testing.T, test func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { test(t, openTest) })
	t.Run("postgres", func(t *testing.T) { test(t, openPostgresTest) })
}

func openTest(t testing.TB) (*Store, *clock) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state", "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	return withTestClock(t, s)
}

func openPostgresTest(t testing.TB) (*Store, *clock) {
	t.Helper()
	s, err := OpenPostgres(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	return withTestClock(t, s)
}

func withTestClock(t testing.TB, s *Store) (*Store, *clock) {
	t.Cleanup(func() { s.Close() })
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	return s, c
}

// add takes in one file with one job per profile at the given priority.
func add(t testing.TB, s *Store, path string, p Priority, profiles ...string) (Source, []Job) {
	t.Helper()
	ns := NewSource{Path: path, Watch: "pal", OutputDir: "/out/pal", Size: 1234, Mtime: time.Unix(1700000000, 5)}
	for _, pr := range profiles {
		ns.Jobs = append(ns.Jobs, NewJob{Profile: pr, Priority: p})
	}
	src, jobs, err := s.AddSource(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return src, jobs
}

func claim(t testing.TB, s *Store) Job {
	t.Helper()
	j, ok, err := s.Claim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("Claim found nothing queued")
	}
	return j
}

func TestOpenPragmasAndSchema(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"busy_timeout": "30000",
		"foreign_keys": "1",
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	v, err := schemaVersion(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	if want := migrations[len(migrations)-1].version; v != want {
		t.Errorf("schema version %d, want %d", v, want)
	}
}

func TestMigrationsAreOrdered(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migration %d (%s) has version %d; versions must run 1, 2, 3 without gaps", i, m.name, m.version)
		}
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, jobs := add(t, s, "/in/a.mxf", Normal, "p")
	s.Close()

	s, err = Open(path) // migrations must not run twice
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j, err := s.Get(context.Background(), jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.SourcePath != "/in/a.mxf" || j.State != Queued {
		t.Errorf("after reopen got %+v", j)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO schema_version (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open accepted a store from a newer kilnd")
	}
}

func TestOpenRejectsNonDatabase(t *testing.T) {
	dir := t.TempDir()
	if s, err := Open(dir); err == nil { // a folder is not a database file
		s.Close()
		t.Fatal("Open accepted a folder")
	}
}

func TestPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?#% name", "jobs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	add(t, s, "/in/a", Normal, "p")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not where it was asked to be: %v", err)
	}
}

func TestPriorityParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Priority
		ok   bool
	}{
		{"high", High, true}, {"normal", Normal, true}, {"low", Low, true},
		{"HIGH", High, true}, {" low ", Low, true},
		{"", Normal, false}, {"urgent", Normal, false},
	} {
		got, err := ParsePriority(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParsePriority(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.want.String() {
			t.Errorf("String round trip of %q gave %q", tc.in, got.String())
		}
	}
	if _, err := Priority(7).MarshalText(); err == nil {
		t.Error("MarshalText accepted priority 7")
	}
	var p Priority
	if err := p.UnmarshalText([]byte("low")); err != nil || p != Low {
		t.Errorf("UnmarshalText(low) = %v, %v", p, err)
	}
}

func TestAddSourceValidates(t *testing.T) { forEachBackend(t, testAddSourceValidates) }

func testAddSourceValidates(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	for name, ns := range map[string]NewSource{
		"no path":           {Jobs: []NewJob{{Profile: "p"}}},
		"no jobs":           {Path: "/in/a"},
		"empty profile":     {Path: "/in/a", Jobs: []NewJob{{}}},
		"duplicate profile": {Path: "/in/a", Jobs: []NewJob{{Profile: "p"}, {Profile: "p"}}},
		"bad priority":      {Path: "/in/a", Jobs: []NewJob{{Profile: "p", Priority: 5}}},
	} {
		if _, _, err := s.AddSource(ctx, ns); err == nil {
			t.Errorf("%s: AddSource accepted it", name)
		}
	}
	if _, ok, _ := s.ActiveSource(ctx, "/in/a"); ok {
		t.Error("a rejected source was stored")
	}
}

func TestErrorsNameTheJob(t *testing.T) { forEachBackend(t, testErrorsNameTheJob) }

func testErrorsNameTheJob(t *testing.T, open opener) {
	s, _ := open(t)
	_, err := s.Get(context.Background(), 42)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(42) = %v, want ErrNotFound", err)
	}
	if want := fmt.Sprintf("job %d: not found", 42); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// An appliance upgraded from before fleet mode: its SQLite file has schema
// version 1 and perhaps a job left running. Open migrates it, and the job,
// claimed by no recorded node, is this node's to re-queue.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	stmts := append([]string{`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`},
		migrations[0].statements...)
	stmts = append(stmts, `INSERT INTO schema_version VALUES (1, 0)`,
		`INSERT INTO sources (path, output_dir, size, mtime, state, created_at) VALUES ('/in/a', '/out', 1, 1, 'active', 1)`,
		`INSERT INTO jobs (source_id, profile, priority, state, attempts, created_at, queued_at, started_at)
			VALUES (1, 'p', 0, 'running', 1, 1, 1, 2)`)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := schemaVersion(context.Background(), s.conn); v != len(migrations) {
		t.Fatalf("schema version %d after Open, want %d", v, len(migrations))
	}
	n, err := s.RequeueRunning(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("RequeueRunning = %d, %v; want the job from before the upgrade", n, err)
	}
	if j := claim(t, s); j.Node != s.Node || j.Attempts != 2 {
		t.Errorf("claimed %+v", j)
	}
}
