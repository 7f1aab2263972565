package daemon

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const connCapConfig = `
[daemon]
state_dir = "{{root}}/state"
socket = "{{root}}/kiln.sock"
rescan = "1s"
socket_group = ""
api_connections = 40
api_connections_per_user = 20

[[watch]]
name = "in"
inbox = "{{root}}/in"
output = "{{root}}/out"
profiles = ["p1"]
settle = "1s"

[profile.p1]
kind = "file"
codec = "h264"
`

// TestConnectionFloodIsCapped: a client opening 1500 connections that send
// nothing (what about 20,000 half-open connections did to kilnd's file
// descriptors) gets at most api_connections_per_user of them; kilnd's
// descriptors stay bounded, its inboxes are still scanned and its jobs
// run, another user is still served, and the flooding user is told why.
func TestConnectionFloodIsCapped(t *testing.T) {
	t.Parallel()
	root := newTestRoot(t)
	os.Chmod(root, 0o755) // another user must reach the socket
	cfgPath := writeConfig(t, root, connCapConfig)
	sock := filepath.Join(root, "kiln.sock")
	exe, _ := os.Executable()
	cmd := exec.Command(exe, childDaemonArg, cfgPath)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("child daemon log:\n%s", logs)
		}
	}()
	td := &testDaemon{t: t, http: unixClient(t, sock), root: root}
	waitFor(t, 20*time.Second, "the child daemon to answer", func() bool {
		resp, err := td.http.Get("http://kiln/v1/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	td.http.CloseIdleConnections()
	os.Chmod(sock, 0o666)
	fds := func() int {
		ents, _ := os.ReadDir("/proc/" + itoa(cmd.Process.Pid) + "/fd")
		return len(ents)
	}
	base := fds()

	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for i := 0; i < 1500; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		flood = append(flood, c)
	}
	time.Sleep(500 * time.Millisecond)
	if n := fds(); n > base+20+40 {
		t.Errorf("kilnd holds %d descriptors with 1500 idle connections open, %d before: the per-user cap (20) did not hold", n, base)
	}

	// Intake goes on.
	os.MkdirAll(filepath.Join(root, "in"), 0o755)
	os.WriteFile(filepath.Join(root, "in", "during-flood.mkv"), []byte("x"), 0o644)
	waitFor(t, 30*time.Second, "a file dropped during the flood to be transcoded", func() bool {
		_, err := os.Stat(filepath.Join(root, "out", "during-flood", "p1", "during-flood.out"))
		return err == nil
	})

	// Another user is served.
	if status, err := healthAs(sock, 65534); err != nil || status != 200 {
		t.Errorf("another user's health request during the flood: %d %v", status, err)
	}
	// The flooding user is told why.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	c.Close()
	if err != nil || resp.StatusCode != 503 {
		t.Errorf("a connection over the cap: %v %v, want a 503", resp, err)
	} else if b, _ := readAll(resp); !strings.Contains(string(b), "too_many_connections") || !strings.Contains(string(b), "api_connections_per_user") {
		t.Errorf("503 body %q does not say which cap", b)
	}

	for _, c := range flood {
		c.Close()
	}
	flood = nil
	waitFor(t, 10*time.Second, "the flooding user to be served again", func() bool {
		resp, err := td.http.Get("http://kiln/v1/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// healthAs sends GET /v1/health from a connection made with effective uid
// uid.
func healthAs(sock string, uid int) (int, error) {
	status, _, err := requestAs(sock, uid, "GET", "/v1/health", "")
	return status, err
}

// requestAs sends one request from a connection made with effective uid
// uid, and returns the status and body. Only this goroutine's OS thread
// changes uid (a raw setresuid, not Go's, which would change every thread),
// and the thread is thrown away after: SO_PEERCRED takes the credentials at
// connect.
func requestAs(sock string, uid int, method, path, body string) (int, string, error) {
	type answer struct {
		status int
		body   string
		err    error
	}
	ch := make(chan answer, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		const keep = ^uintptr(0)
		if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, keep, uintptr(uid), keep); e != 0 {
			ch <- answer{0, "", e}
			return
		}
		c, err := net.Dial("unix", sock)
		syscall.RawSyscall(syscall.SYS_SETRESUID, keep, 0, keep)
		if err != nil {
			ch <- answer{0, "", err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req, _ := http.NewRequest(method, "http://kiln"+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Close = true
		if err := req.Write(c); err != nil {
			ch <- answer{0, "", err}
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			ch <- answer{0, "", err}
			return
		}
		b, _ := readAll(resp)
		ch <- answer{resp.StatusCode, string(b), nil}
	}()
	a := <-ch
	return a.status, a.body, a.err
}
