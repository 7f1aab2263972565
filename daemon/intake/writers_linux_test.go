package intake

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// holder starts a shell that opens path with the given redirection (">>" to
// write, "<" to read) on descriptor 3 and then becomes a sleep, so that the
// process we kill is the one holding the descriptor.
func holder(t *testing.T, redir, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", `exec 3`+redir+`"$1"; echo ready; exec sleep 30`, "sh", path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("holder did not start: %q, %v", line, err)
	}
	return cmd
}

func TestOpenForWriting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "news.mxf")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if open, err := OpenForWriting(p); err != nil || open {
		t.Fatalf("before any writer: %v, %v", open, err)
	}

	w := holder(t, ">>", p)
	if open, err := OpenForWriting(p); err != nil || !open {
		t.Fatalf("while a child holds it for writing: %v, %v", open, err)
	}
	w.Process.Kill()
	w.Wait()
	if open, err := OpenForWriting(p); err != nil || open {
		t.Fatalf("after the writer exited: %v, %v", open, err)
	}

	holder(t, "<", p)
	if open, err := OpenForWriting(p); err != nil || open {
		t.Fatalf("a reader was taken for a writer: %v, %v", open, err)
	}
}

func TestOpenForWritingMatchesTheFileNotTheName(t *testing.T) {
	dir := t.TempDir()
	inbox := filepath.Join(dir, "in", "news.mxf")
	other := filepath.Join(dir, "elsewhere", "news.mxf")
	for _, p := range []string{inbox, other} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	holder(t, ">>", other)
	if open, err := OpenForWriting(inbox); err != nil || open {
		t.Fatalf("a writer of another file with the same name counted: %v, %v", open, err)
	}
}

func TestOpenForWritingIgnoresThisProcess(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.ts")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if open, err := OpenForWriting(p); err != nil || open {
		t.Fatalf("kilnd's own descriptor counted: %v, %v", open, err)
	}
}

func TestOpenForWritingMissingFile(t *testing.T) {
	if _, err := OpenForWriting(filepath.Join(t.TempDir(), "gone")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func BenchmarkOpenForWriting(b *testing.B) {
	p := filepath.Join(b.TempDir(), "a.mxf")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for b.Loop() {
		if _, err := OpenForWriting(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(procs)), "procs")
}
