// Package pgtest gives tests a private PostgreSQL server: the Debian
// package's binaries, started in a temporary folder on a free port of
// 127.0.0.1 and stopped again when the test binary ends. The package's own
// cluster service is never touched.
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
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// BinDir is where Debian 12's postgresql-15 package puts initdb and postgres.
const BinDir = "/usr/lib/postgresql/15/bin"

// Server is one running PostgreSQL server.
type Server struct {
	Port int
	dir  string
	cmd  *exec.Cmd
	exit chan error // the postmaster's exit, once
	dbs  atomic.Int64
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// DSN returns the address of a new, empty database on this test binary's
// server, starting the server on first use. A missing PostgreSQL install or a
// server that will not start fails the test with the reason.
func DSN(t testing.TB) string {
	t.Helper()
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start()
	}
	srv, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		t.Fatalf("PostgreSQL test server: %v", err)
	}
	dsn, err := srv.CreateDatabase()
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

// Start runs initdb in a new temporary folder and starts a server on it. When
// the process runs as root, initdb and postgres (which refuse root) run as
// the postgres system user that the Debian package creates.
func Start() (*Server, error) {
	for _, bin := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(BinDir, bin)); err != nil {
			return nil, fmt.Errorf("%s not found (%v): install the postgresql package (make setup does)", filepath.Join(BinDir, bin), err)
		}
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: the postgres user must be able to reach the folder, and
	// the server outlives any single test.
	dir, err := os.MkdirTemp("", "kiln-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("handing %s to the postgres user: %w", dir, err)
		}
	}
	s := &Server{dir: dir, exit: make(chan error, 1)}
	if err := s.start(cred); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// serverCredential is nil when the process may run PostgreSQL as itself, and
// the postgres user's ids when it runs as root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user, which does not exist (%v): install the postgresql package", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *Server) start(cred *syscall.Credential) error {
	data := filepath.Join(s.dir, "data")
	initdb := exec.Command(filepath.Join(BinDir, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	// fsync and friends off: the data is thrown away, and the tests want
	// speed. max_connections covers several daemons' pools at once.
	s.cmd = exec.Command(filepath.Join(BinDir, "postgres"), "-D", data,
		"-p", strconv.Itoa(port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB")
	logFile, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Go sets the parent-death signal after switching to the postgres user,
	// so it survives the switch: a test binary killed outright takes its
	// server with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the forking thread exits, so
		// this goroutine keeps its thread for the server's lifetime.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.exit <- s.cmd.Wait()
	}()
	if err := <-started; err != nil {
		s.cmd = nil
		return fmt.Errorf("starting postgres: %w", err)
	}
	return s.waitReady(30 * time.Second)
}

// waitReady polls until the server accepts a query, or it exits, or the
// deadline passes.
func (s *Server) waitReady(limit time.Duration) error {
	db, err := sql.Open("pgx", s.dsn("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case exitErr := <-s.exit:
			s.exit <- exitErr
			return fmt.Errorf("postgres exited at start (%v); its log:\n%s", exitErr, s.log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %s (%v); its log:\n%s", limit, err, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDatabase creates an empty database and returns its DSN.
func (s *Server) CreateDatabase() (string, error) {
	name := fmt.Sprintf("kiln_test_%d", s.dbs.Add(1))
	db, err := sql.Open("pgx", s.dsn("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return s.dsn(name), nil
}

// Stop shuts the server down at once (SIGQUIT: immediate shutdown; the data
// is thrown away) and removes its folder.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exit
		}
	}
	os.RemoveAll(s.dir)
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before postgres binds it; the server's start then fails with
// its log, which says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
