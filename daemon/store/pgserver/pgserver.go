// Package pgserver runs a private PostgreSQL server from the Debian
// package's binaries: initdb in a folder of its own, the server on a free
// port of 127.0.0.1 with its unix socket in that folder, stopped again by its
// owner. The package's own cluster service is never touched.
//
// The tests (through pgtest) and the bench's store section start their
// servers here; they differ only in durability. Nothing in kilnd uses it: a
// fleet's PostgreSQL is the site's own server.
package pgserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// BinDir is where Debian 12's postgresql-15 package puts initdb and postgres.
const BinDir = "/usr/lib/postgresql/15/bin"

// Options say how the server is run.
type Options struct {
	// Durable keeps fsync, synchronous_commit and full_page_writes on, as a
	// fleet's store must run: what the bench measures. Off, the server
	// skips them for speed, which suits tests that throw the data away.
	Durable bool
	// Password, when set, makes the postgres user need it (scram-sha-256
	// over TCP) instead of trusting every local connection: for tests of
	// how kilnd gets the password.
	Password string
}

// Server is one running PostgreSQL server.
type Server struct {
	Port     int
	password string
	dir      string
	temp     bool // dir was made by Start and goes with Stop
	cmd      *exec.Cmd
	exit     chan error // the postmaster's exit, once
}

// Start runs initdb in dir (a new temporary folder when dir is "") and
// starts a server on it. When the process runs as root, initdb and postgres
// (which refuse root) run as the postgres system user that the Debian
// package creates.
func Start(dir string, opt Options) (*Server, error) {
	for _, bin := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(BinDir, bin)); err != nil {
			return nil, fmt.Errorf("%s not found (%v): install the postgresql package (make setup does)", filepath.Join(BinDir, bin), err)
		}
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, exit: make(chan error, 1)}
	if dir == "" {
		// Not a test's TempDir: the postgres user must be able to reach
		// the folder, and the server may outlive a single test.
		if s.dir, err = os.MkdirTemp("", "kiln-pg-"); err != nil {
			return nil, err
		}
		s.temp = true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			s.Stop()
			return nil, fmt.Errorf("handing %s to the postgres user: %w", s.dir, err)
		}
	}
	if err := s.start(cred, opt); err != nil {
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

func (s *Server) start(cred *syscall.Credential, opt Options) error {
	data := filepath.Join(s.dir, "data")
	initArgs := []string{"-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"}
	if opt.Password != "" {
		pwFile := filepath.Join(s.dir, "pwfile")
		if err := os.WriteFile(pwFile, []byte(opt.Password+"\n"), 0o600); err != nil {
			return err
		}
		if cred != nil {
			if err := os.Chown(pwFile, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
		initArgs = append(initArgs, "--auth-host=scram-sha-256", "--pwfile="+pwFile)
		s.password = opt.Password
	}
	if !opt.Durable {
		initArgs = append(initArgs, "--no-sync")
	}
	initdb := exec.Command(filepath.Join(BinDir, "initdb"), initArgs...)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	// Run from the server's own folder: the caller's working directory (a
	// checkout under /root, say) may be closed to the postgres user.
	initdb.Dir = s.dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	// max_connections covers several daemons' pools at once.
	args := []string{"-D", data, "-p", strconv.Itoa(port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"}
	if !opt.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=32MB")
	}
	s.cmd = exec.Command(filepath.Join(BinDir, "postgres"), args...)
	s.cmd.Dir = s.dir
	logFile, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Go sets the parent-death signal after switching to the postgres user,
	// so it survives the switch: an owner killed outright takes its server
	// with it.
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
	db, err := sql.Open("pgx", s.DSN("postgres"))
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

// DSN is the address of database db on this server.
func (s *Server) DSN(db string) string {
	if s.password != "" {
		u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", s.password),
			Host: fmt.Sprintf("127.0.0.1:%d", s.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
		return u.String()
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDatabase creates an empty database called name and returns its DSN.
func (s *Server) CreateDatabase(name string) (string, error) {
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// Pid is the postmaster's process id, 0 when it is not running.
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop shuts the server down at once (SIGQUIT: immediate shutdown; what a
// test or a bench wrote is not kept) and removes the folder Start made.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exit
		}
		s.cmd = nil
	}
	if s.temp {
		os.RemoveAll(s.dir)
	}
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
