//go:build linux

package intake

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Issue 21, item 6: kilnd under User=kiln cannot read other users'
// /proc/PID/fd, so their writers go unseen. OpenForWritingSeen must say so
// (unseen > 0) rather than answer "not open" with confidence. The check runs
// as user nobody against a file this (root) test process holds open for
// writing; when the tests do not run as root, the check runs here, and
// root's own processes (pid 1) are the other user's.
func TestOpenForWritingCountsUnseenProcesses(t *testing.T) {
	dir, err := os.MkdirTemp("", "unseen")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "held.mxf")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var got unseenResult
	if os.Geteuid() != 0 {
		got.Open, got.Unseen, err = OpenForWritingSeen(path)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		got = checkAsNobody(t, dir, path)
	}
	if got.Unseen == 0 {
		t.Errorf("a check that cannot read other users' descriptors reported none unseen: %+v", got)
	}
	if os.Geteuid() == 0 && got.Open {
		t.Errorf("nobody saw root's writer, which it cannot: %+v", got)
	}

	// With the rights to look (root here), the same writer is seen.
	if os.Geteuid() == 0 {
		holder(t, ">>", path)
		open, _, err := OpenForWritingSeen(path)
		if err != nil || !open {
			t.Errorf("root does not see the writer: %v, %v", open, err)
		}
	}
}

type unseenResult struct {
	Open   bool   `json:"open"`
	Unseen int    `json:"unseen"`
	Err    string `json:"err,omitempty"`
}

// checkAsNobody runs OpenForWritingSeen in a copy of the test binary as
// uid/gid 65534.
func checkAsNobody(t *testing.T, dir, path string) unseenResult {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "intake.test")
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	cmd := exec.Command(bin, "-test.run=^TestUnseenChild$")
	cmd.Env = append(os.Environ(), "KILN_UNSEEN_CHECK="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check as nobody: %v\n%s", err, out)
	}
	var r unseenResult
	for _, line := range splitLines(out) {
		if json.Unmarshal(line, &r) == nil {
			break
		}
	}
	if r.Err != "" {
		t.Fatalf("check as nobody: %s", r.Err)
	}
	return r
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}

// TestUnseenChild is the child side of checkAsNobody; it does nothing
// unless that test started it.
func TestUnseenChild(t *testing.T) {
	path := os.Getenv("KILN_UNSEEN_CHECK")
	if path == "" {
		return
	}
	var r unseenResult
	var err error
	r.Open, r.Unseen, err = OpenForWritingSeen(path)
	if err != nil {
		r.Err = err.Error()
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}
