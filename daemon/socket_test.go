package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/daemontest"
)

// childDaemonArg makes the test binary run a daemon, as kilnd does, so that
// a test can hand it an inherited socket the way systemd does.
const childDaemonArg = "kiln-child-daemon"

func runChildDaemonIfAsked() {
	if len(os.Args) < 3 || os.Args[1] != childDaemonArg {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := config.Load(os.Args[2])
	if err != nil {
		logger.Error("config", "err", err)
		os.Exit(1)
	}
	d := &Daemon{Config: cfg, ConfigPath: os.Args[2], Logger: logger, WorkerCmd: daemontest.WorkerCmd(), Version: "child"}
	if err := d.Initialize(); err != nil {
		logger.Error("start failed", "err", err)
		os.Exit(1)
	}
	err = d.Run(ctx)
	d.Close()
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// TestSocketActivation hands a daemon a listening socket the way systemd
// does: as fd 3, with LISTEN_FDS=1 and LISTEN_PID set to the daemon's own
// pid (by a shell that then execs it, keeping the pid). The config names
// another socket path; the daemon answering on the passed socket, and never
// creating the configured one, shows it used what it was given.
func TestSocketActivation(t *testing.T) {
	t.Parallel()
	root := newTestRoot(t)
	cfgPath := writeConfig(t, root, baseConfig)
	configured := filepath.Join(root, "kiln.sock")
	passed := filepath.Join(root, "activated.sock")

	l, err := net.Listen("unix", passed)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // the child holds the socket through f from here on

	exe, _ := os.Executable()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=kilnd.socket exec "$0" "$@"`,
		exe, childDaemonArg, cfgPath)
	cmd.ExtraFiles = []*os.File{f}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("the child daemon did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("child daemon log:\n%s", logs)
		}
	}()

	td := &testDaemon{t: t, http: unixClient(t, passed), root: root}
	waitFor(t, 20*time.Second, "the child daemon to answer on the passed socket", func() bool {
		resp, err := td.http.Get("http://kiln/v1/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	var h api.Health
	td.getJSON("/v1/health", &h)
	if h.Version != "child" {
		t.Errorf("health = %+v", h)
	}
	if _, err := os.Stat(configured); err == nil {
		t.Error("the daemon bound the configured socket path although systemd passed one")
	}
	if !strings.Contains(logs.String(), "using the socket passed by systemd") {
		t.Errorf("no log of the passed socket")
	}

	// A job runs through the activated socket; its worker must not see the
	// LISTEN_* variables (it would think the socket was its own).
	id := td.submit(td.source("act.mkv"), "p1", "")
	j := td.waitState(id, "done", 20*time.Second)
	var rep struct{ Warnings []string }
	if err := json.Unmarshal(j.Report, &rep); err != nil || len(rep.Warnings) != 0 {
		t.Errorf("worker report warnings %v (%v); want none", rep.Warnings, err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("child daemon exited with %v", exitErr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the child daemon did not stop on SIGTERM")
	}
	// The socket belongs to systemd (kilnd.socket): it stays for the next start.
	if _, err := os.Stat(passed); err != nil {
		t.Errorf("the daemon removed the socket systemd passed: %v", err)
	}
}

// TestSocketModeAndGroup: a socket kilnd binds itself is 0660 and belongs to
// socket_group; a group that does not exist is a warning, not a failure.
func TestSocketModeAndGroup(t *testing.T) {
	t.Parallel()
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skipf("this process's group has no name to configure: %v", err)
	}
	cfg := strings.Replace(baseConfig, `socket_group = ""`, fmt.Sprintf("socket_group = %q", g.Name), 1)
	td := startDaemon(t, cfg)
	st, err := os.Stat(td.d.Config.Daemon.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v; want a socket with 0660", st.Mode())
	}
	if gid := st.Sys().(*syscall.Stat_t).Gid; int(gid) != os.Getgid() {
		t.Errorf("socket gid = %d, want %d", gid, os.Getgid())
	}
	if w := td.logs.records("socket group not found; the socket keeps kilnd's group"); len(w) != 0 {
		t.Errorf("warned about an existing group: %v", w)
	}

	cfg = strings.Replace(baseConfig, `socket_group = ""`, `socket_group = "no-such-kiln-group"`, 1)
	td2 := startDaemon(t, cfg)
	if w := td2.logs.records("socket group not found; the socket keeps kilnd's group"); len(w) != 1 {
		t.Errorf("no warning about the missing group:\n%s", td2.logs)
	}
	var h api.Health
	td2.getJSON("/v1/health", &h)

	// Root may give the socket to any group: check a gid this process is
	// not in, given as a number.
	if os.Getuid() == 0 {
		cfg = strings.Replace(baseConfig, `socket_group = ""`, `socket_group = "4242"`, 1)
		td3 := startDaemon(t, cfg)
		st, err := os.Stat(td3.d.Config.Daemon.Socket)
		if err != nil {
			t.Fatal(err)
		}
		if gid := st.Sys().(*syscall.Stat_t).Gid; gid != 4242 {
			t.Errorf("socket gid = %d, want 4242", gid)
		}
	}
}

// TestSecondDaemonRefused: a daemon does not steal the socket of a live
// one, and does not touch its jobs: a running job stays running, not
// re-queued as one a crash left behind.
func TestSecondDaemonRefused(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	id := td.submit(td.source("busy-hang.mkv"), "p1", "")
	td.waitState(id, "running", 20*time.Second)
	d2 := &Daemon{Config: td.d.Config, Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), WorkerCmd: []string{"true"}}
	err := d2.Initialize()
	if err == nil {
		d2.Close()
		t.Fatal("a second daemon started on a live socket")
	}
	if !strings.Contains(err.Error(), "already listening") {
		t.Errorf("error = %v", err)
	}
	if j := td.job(id); j.State != "running" || j.Attempts != 1 {
		t.Errorf("the first daemon's job after a refused second start: %s, attempts %d", j.State, j.Attempts)
	}
	td.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", id), "")
}
