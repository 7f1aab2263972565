// Package pgtest gives tests a private PostgreSQL server (package pgserver:
// the Debian package's binaries, a temporary folder, a free port of
// 127.0.0.1), with fsync and its kin off since the data is thrown away.
//
// One server runs per test binary (started on first use); each test gets a
// fresh database on it, so tests stay independent without paying for an
// initdb each. A test binary that uses it calls Stop from TestMain after
// m.Run, so that no server outlives it; if the binary is killed instead, the
// server gets SIGKILL from the kernel (parent-death signal).
//
// It is test support only: nothing outside _test.go files may import it.
package pgtest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"kiln/daemon/store/pgserver"
)

var (
	sharedMu  sync.Mutex
	shared    *pgserver.Server
	sharedErr error
	databases atomic.Int64
)

// DSN returns the address of a new, empty database on this test binary's
// server, starting the server on first use. A missing PostgreSQL install or a
// server that will not start fails the test with the reason.
func DSN(t testing.TB) string {
	t.Helper()
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = pgserver.Start("", pgserver.Options{})
	}
	srv, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		t.Fatalf("PostgreSQL test server: %v", err)
	}
	dsn, err := srv.CreateDatabase(fmt.Sprintf("kiln_test_%d", databases.Add(1)))
	if err != nil {
		t.Fatalf("PostgreSQL test server: %v", err)
	}
	return dsn
}

// Stop stops this test binary's server, if one was started. Call it from
// TestMain after m.Run.
func Stop() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
}
