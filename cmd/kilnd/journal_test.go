package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runAsKilnd makes a copy of the test binary act as kilnd itself, so that
// a test can give it the stderr systemd would: see TestKilndLogsToJournal.
const runAsKilnd = "KILND_TEST_RUN_AS_KILND"

func TestMain(m *testing.M) {
	if os.Getenv(runAsKilnd) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestKilndLogsToJournal runs kilnd with its stderr on a file that
// JOURNAL_STREAM names, as systemd does with the journal's stream: every
// line it writes starts with a priority prefix, info at <6>; a start that
// fails (no worker) says why at <3>.
func TestKilndLogsToJournal(t *testing.T) {
	// A copy of this test binary as <dir>/bin/kilnd: kilnd looks for its
	// workers from its own executable's folder.
	dir := t.TempDir()
	kilnd := filepath.Join(dir, "bin", "kilnd")
	copyFile(t, kilnd)
	conf := filepath.Join(dir, "kiln.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("[daemon]\nstate_dir = %q\nsocket = %q\nsocket_group = \"\"\n",
		filepath.Join(dir, "state"), filepath.Join(dir, "kiln.sock"))), 0o644)

	start := func(t *testing.T) (*exec.Cmd, string) {
		t.Helper()
		errPath := filepath.Join(t.TempDir(), "stderr")
		errFile, err := os.Create(errPath)
		if err != nil {
			t.Fatal(err)
		}
		defer errFile.Close()
		var st syscall.Stat_t
		if err := syscall.Fstat(int(errFile.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(kilnd, "--config", conf)
		cmd.Env = append(os.Environ(), runAsKilnd+"=1", fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
		cmd.Stderr = errFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, errPath
	}

	t.Run("no worker", func(t *testing.T) {
		cmd, errPath := start(t)
		err := cmd.Wait()
		out, _ := os.ReadFile(errPath)
		if cmd.ProcessState.ExitCode() != 1 || !regexp.MustCompile(`(?m)^<3>kilnd: .*kiln-worker not found`).Match(out) {
			t.Errorf("exit %v, stderr:\n%s", err, out)
		}
	})

	t.Run("running", func(t *testing.T) {
		worker := filepath.Join(dir, "libexec", "kiln", "kiln-worker")
		os.MkdirAll(filepath.Dir(worker), 0o755)
		os.WriteFile(worker, []byte("#!/bin/sh\nexit 1\n"), 0o755)
		cmd, errPath := start(t)
		defer cmd.Process.Kill()
		var out []byte
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			out, _ = os.ReadFile(errPath)
			if strings.Contains(string(out), "<6>{") {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		out, _ = os.ReadFile(errPath)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		// JSON records from the logger, and the odd plain line written
		// before it exists: all with their priority.
		prefixed := regexp.MustCompile(`^<[3467]>(\{"time":|kilnd: )`)
		info := 0
		for _, l := range lines {
			if !prefixed.MatchString(l) {
				t.Errorf("a line without its priority prefix: %s", l)
			}
			if strings.HasPrefix(l, "<6>") && strings.Contains(l, `"level":"INFO"`) {
				info++
			}
		}
		if info == 0 {
			t.Errorf("no info line at <6>:\n%s", out)
		}
		t.Logf("kilnd's stderr under journald:\n%s", out)
	})
}

// copyFile copies this test binary to dst.
func copyFile(t *testing.T, dst string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	os.MkdirAll(filepath.Dir(dst), 0o755)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
