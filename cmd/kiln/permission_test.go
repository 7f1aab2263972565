package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// asNobodyEnv makes the test binary, started again, run kiln as a plain
// user against the socket it names (see TestPermissionDeniedNamesGroup).
const asNobodyEnv = "KILN_TEST_AS_NOBODY_SOCKET"

func init() {
	if sock := os.Getenv(asNobodyEnv); sock != "" {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"--socket", sock, "health"}, &out, &errOut)
		fmt.Printf("exit=%d\n%s", code, errOut.String())
		os.Exit(0)
	}
}

// TestPermissionDeniedNamesGroup: a user who may not open the socket is told
// which group to join, named from the socket itself, and kiln exits 3.
func TestPermissionDeniedNamesGroup(t *testing.T) {
	dir, err := os.MkdirTemp("", "kp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "kiln.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	// The socket as kilnd leaves it: 0660, owned by a group the caller is
	// not in.
	var group *user.Group
	for _, name := range []string{"adm", "daemon", "sys", "bin"} {
		if g, err := user.LookupGroup(name); err == nil {
			group = g
			break
		}
	}
	if group == nil {
		t.Fatal("none of the groups adm, daemon, sys, bin exists")
	}
	gid, _ := strconv.Atoi(group.Gid)
	os.Chmod(sock, 0o660)

	var stdout string
	if os.Geteuid() == 0 {
		// root may open any socket: run kiln again as nobody.
		if err := os.Chown(sock, 0, gid); err != nil {
			t.Fatal(err)
		}
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		// nobody must be able to run the test binary: copy it out of go
		// test's private build folder.
		bin := filepath.Join(dir, "kiln.test")
		copyFile(t, exe, bin)
		cmd := exec.Command(bin, "-test.run", "^$")
		cmd.Env = append(os.Environ(), asNobodyEnv+"="+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("running kiln as nobody: %v\n%s", err, b)
		}
		stdout = string(b)
	} else {
		// A plain user: take the group's permission away instead.
		os.Chmod(sock, 0o600)
		os.Chown(sock, -1, os.Getegid())
		if g, err := user.LookupGroupId(strconv.Itoa(os.Getegid())); err == nil {
			group = g
		}
		os.Chmod(sock, 0o000)
		var errOut bytes.Buffer
		code := run(context.Background(), []string{"--socket", sock, "health"}, io.Discard, &errOut)
		stdout = fmt.Sprintf("exit=%d\n%s", code, errOut.String())
	}
	want := fmt.Sprintf("permission denied on %s: add yourself to group %s (sudo usermod -aG %s $USER) and log in again",
		sock, group.Name, group.Name)
	if !strings.Contains(stdout, "exit=3\n") || !strings.Contains(stdout, want) {
		t.Errorf("got:\n%s\nwant exit 3 and %q", stdout, want)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
