package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestPriorityHandler: every record is one line that starts with its
// level's sd-daemon prefix and then holds the JSON record, with attributes
// and groups of derived handlers, and concurrent records never interleave.
func TestPriorityHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewPriorityHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	job := log.With("job", 42).WithGroup("stage")
	log.Debug("probing")
	log.Info("job queued")
	job.Warn("nvenc unavailable, x264 instead", "reason", "no device\nsecond line")
	job.Error("worker crashed", "signal", "SIGSEGV")
	log.Log(nil, slog.LevelError+4, "beyond error")
	log.Log(nil, slog.LevelDebug-4, "below debug")

	want := []struct {
		prefix, msg, level string
	}{
		{"<7>", "probing", "DEBUG"},
		{"<6>", "job queued", "INFO"},
		{"<4>", "nvenc unavailable, x264 instead", "WARN"},
		{"<3>", "worker crashed", "ERROR"},
		{"<3>", "beyond error", "ERROR+4"},
		{"<7>", "below debug", "DEBUG-4"},
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines for %d records (a newline in a value must not split an entry):\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		rest, ok := strings.CutPrefix(lines[i], w.prefix)
		if !ok {
			t.Errorf("line %d lacks prefix %s: %s", i, w.prefix, lines[i])
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(rest), &rec); err != nil {
			t.Errorf("line %d after the prefix is not JSON: %v: %s", i, err, rest)
			continue
		}
		if rec["msg"] != w.msg || rec["level"] != w.level {
			t.Errorf("line %d: msg %v level %v, want %s %s", i, rec["msg"], rec["level"], w.msg, w.level)
		}
	}
	if !strings.Contains(lines[3], `"job":42,"stage":{"signal":"SIGSEGV"}`) {
		t.Errorf("derived handler lost its attributes or group: %s", lines[3])
	}

	// The level filter still applies.
	buf.Reset()
	quiet := slog.New(NewPriorityHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	quiet.Info("not shown")
	quiet.Warn("shown")
	if got := buf.String(); !strings.HasPrefix(got, "<4>") || strings.Contains(got, "not shown") {
		t.Errorf("with level warn: %q", got)
	}

	// Concurrent records from derived handlers: whole lines, each prefixed.
	buf.Reset()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("g", g)
			for i := range 100 {
				if i%2 == 0 {
					l.Error("e", "i", i)
				} else {
					l.Info("i", "i", i)
				}
			}
		}()
	}
	wg.Wait()
	lines = strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines from 800 concurrent records", len(lines))
	}
	for _, l := range lines {
		p, rest := l[:3], l[3:]
		if (p != "<3>" && p != "<6>") || !json.Valid([]byte(rest)) || (p == "<3>") != strings.Contains(rest, `"level":"ERROR"`) {
			t.Fatalf("garbled concurrent line: %s", l)
		}
	}
}

// probeEnv makes the test binary act as a small kilnd instead: it reports
// whether it takes its stderr for journald and logs one error and one info
// record through NewHandler(os.Stderr).
const probeEnv = "KILN_JOURNAL_PROBE"

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) == "1" {
		fmt.Println(StderrIsJournal())
		log := slog.New(NewHandler(os.Stderr, nil))
		log.Error("disk full")
		log.Info("job done")
		fmt.Fprintf(ErrorLines(os.Stderr), "kiln.toml:2: daemon: bad\nkiln.toml:3: daemon: worse\n")
		fmt.Fprintf(Lines(os.Stderr, slog.LevelInfo), "kilnd: config /etc/kiln/kiln.toml\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStderrIsJournal runs the probe with stderr on a file, the way systemd
// runs kilnd with stderr on its journal stream, and JOURNAL_STREAM naming
// that file's device and inode, some other inode, nothing, or garbage. Only
// the exact match turns the prefixes on.
func TestStderrIsJournal(t *testing.T) {
	dir := t.TempDir()
	other, err := os.Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	for _, c := range []struct {
		name    string
		stream  func(stderr string) string // the JOURNAL_STREAM value; "" unsets it
		journal bool
	}{
		{"stderr is the journal stream", devIno, true},
		{"another file", func(string) string { return devIno(other.Name()) }, false},
		{"outside systemd", func(string) string { return "" }, false},
		{"malformed", func(string) string { return "journal" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			errPath := filepath.Join(t.TempDir(), "stderr")
			errFile, err := os.Create(errPath)
			if err != nil {
				t.Fatal(err)
			}
			defer errFile.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = []string{probeEnv + "=1"}
			if s := c.stream(errPath); s != "" {
				cmd.Env = append(cmd.Env, "JOURNAL_STREAM="+s)
			}
			cmd.Stderr = errFile
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != fmt.Sprint(c.journal) {
				t.Errorf("StderrIsJournal() = %s, want %v", got, c.journal)
			}
			logged, _ := os.ReadFile(errPath)
			lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
			if len(lines) != 5 {
				t.Fatalf("stderr: %q", logged)
			}
			if c.journal {
				if !strings.HasPrefix(lines[0], `<3>{`) || !strings.HasPrefix(lines[1], `<6>{`) ||
					lines[2] != "<3>kiln.toml:2: daemon: bad" || lines[3] != "<3>kiln.toml:3: daemon: worse" ||
					lines[4] != "<6>kilnd: config /etc/kiln/kiln.toml" {
					t.Errorf("under journald, stderr lacks the priority prefixes:\n%s", logged)
				}
			} else if !strings.HasPrefix(lines[0], "{") || !strings.HasPrefix(lines[1], "{") || lines[2] != "kiln.toml:2: daemon: bad" {
				t.Errorf("outside journald, stderr has prefixes nobody strips:\n%s", logged)
			}
		})
	}
}

// devIno is the JOURNAL_STREAM value systemd would set for path.
func devIno(path string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "0:0"
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// TestPrefixWriter: each line gets the prefix once, also when a line comes
// in several writes.
func TestPrefixWriter(t *testing.T) {
	var buf bytes.Buffer
	w := &prefixWriter{out: &buf, prefix: "<3>"}
	fmt.Fprint(w, "kilnd: the CPU worker ")
	fmt.Fprint(w, "is missing\nsecond\nthi")
	fmt.Fprint(w, "rd\n")
	if got, want := buf.String(), "<3>kilnd: the CPU worker is missing\n<3>second\n<3>third\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
