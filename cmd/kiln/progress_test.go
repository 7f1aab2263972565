package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"

	"kiln/api"
)

// TestProgressLineFitsWidth: whatever the names and the reason, a progress
// line never takes more columns than it is given, wide characters counted
// as two; the bar shrinks before anything is cut.
func TestProgressLineFitsWidth(t *testing.T) {
	jobs := []api.Job{
		{ID: 7, Profile: "p1", Source: "/in/a.mxf", State: "running", Progress: api.Progress{Fraction: 0.42, FPS: 48.2, ETA: 65}},
		{ID: 123456, Profile: "a-very-long-profile-name-indeed", Source: "/in/" + strings.Repeat("新闻", 20) + ".mxf",
			State: "running", Progress: api.Progress{Fraction: 1.5, FPS: 12345.6, ETA: 99999}},
		{ID: 9, Profile: "p1", Source: "/in/x\x1b[2J\n.mxf", State: "failed",
			Reason: "truncated at 12.4 s: " + strings.Repeat("very long reason ", 20)},
		{ID: 10, Profile: "web", Source: "/in/b.mov", State: "done"},
	}
	for _, j := range jobs {
		for cols := 1; cols <= 200; cols++ {
			line := progressLine(j, cols)
			if w := runewidth.StringWidth(line); w > cols {
				t.Fatalf("job %d at %d columns: %d columns wide: %q", j.ID, cols, w, line)
			}
			if strings.ContainsAny(line, "\x1b\n\r") {
				t.Fatalf("control character in %q", line)
			}
		}
	}
	// At 80 columns a running job's line is whole, with a shorter bar.
	line := progressLine(jobs[0], lineCols(80))
	if !regexp.MustCompile(`^    7 p1 +a\.mxf +\[#+\.+\]  42%    48\.2 fps  ETA 1m5s$`).MatchString(line) || len(line) != 79 {
		t.Errorf("80 columns: %q", line)
	}
	// Without a limit the bar is its full 30.
	if line := progressLine(jobs[3], 0); !strings.Contains(line, "["+strings.Repeat("#", 30)+"] 100%  done") {
		t.Errorf("no limit: %q", line)
	}
}

// TestWatchFrameFitsTerminal: more running jobs than the terminal has rows
// are summed up in a last line, so that the cursor can move back over the
// whole frame.
func TestWatchFrameFitsTerminal(t *testing.T) {
	var jobs []api.Job
	for i := range 30 {
		jobs = append(jobs, api.Job{ID: int64(i + 1), Profile: "p1", Source: "/in/a.mxf", State: "running"})
	}
	frame := watchFrame(jobs, 59, 10)
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	if len(lines) != 9 || !strings.HasPrefix(lines[8], "… and 22 more running") {
		t.Errorf("%d lines:\n%s", len(lines), frame)
	}
	for _, l := range lines {
		if runewidth.StringWidth(l) > 59 {
			t.Errorf("line wider than 59: %q", l)
		}
	}
	if frame := watchFrame(jobs, 0, 0); strings.Count(frame, "\n") != 30 {
		t.Errorf("without a terminal every job has its line:\n%s", frame)
	}
}

// ptyOutput runs kiln with its stdout on a pseudo-terminal of the given
// size, as in a terminal window, and returns what the terminal received.
func ptyOutput(t *testing.T, cols, rows uint16, args ...string) (int, string, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: cols, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); io.Copy(&got, ptmx) }()
	var errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, tty, &errOut)
	tty.Close()
	wg.Wait() // the copy ends with EIO once the terminal side is closed
	// The terminal's line discipline turns \n into \r\n.
	return code, strings.ReplaceAll(got.String(), "\r\n", "\n"), errOut.String()
}

// TestProgressOnATerminal: on a 50-column terminal, submit --wait redraws
// its bar in place (\r, clear to the end of the line) and no drawn line is
// wider than 49 columns, so that nothing wraps; without a terminal the same
// command writes plain lines.
func TestProgressOnATerminal(t *testing.T) {
	socket, root := startDaemon(t)
	code, out, errOut := ptyOutput(t, 50, 20, "--socket", socket, "submit", source(t, root, "a-long-file-name-slow.mkv"),
		"--profile", "p1", "--wait")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "\r\x1b[K"); n < 5 {
		t.Errorf("%d redraws in place:\n%q", n, out)
	}
	for _, line := range strings.Split(out, "\n") {
		for _, seg := range strings.Split(line, "\r\x1b[K")[1:] { // each redraw
			if w := runewidth.StringWidth(seg); w > 49 {
				t.Errorf("a %d-column bar on a 50-column terminal: %q", w, seg)
			}
		}
	}
	wantContains(t, "terminal", out, "] 100%  done\n", "    1 p1 ", "  50.0 fps  ETA ", "outputs in ")

	// Not a terminal: plain lines, no escape sequences.
	plain := ok(t, socket, "submit", source(t, root, "b-slow.mkv"), "--profile", "p1", "--wait")
	if strings.ContainsAny(plain, "\r\x1b") || strings.Count(plain, "\n") < 5 {
		t.Errorf("without a terminal:\n%q", plain)
	}
}

// TestWatchOnATerminal: watch on a small terminal redraws its frame by
// moving the cursor up over it, every line within the width.
func TestWatchOnATerminal(t *testing.T) {
	socket, root := startDaemon(t)
	ok(t, socket, "submit", source(t, root, "x-slow.mkv"), "--profile", "p1")
	waitRunning(t, socket, 1)
	code, out, errOut := ptyOutput(t, 40, 10, "--socket", socket, "watch", "--until-idle")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\x1b[1A\x1b[J") {
		t.Errorf("watch did not redraw in place:\n%q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		line = regexp.MustCompile(`\x1b\[\d*[AJK]`).ReplaceAllString(line, "")
		if w := runewidth.StringWidth(line); w > 39 {
			t.Errorf("a %d-column line on a 40-column terminal: %q", w, line)
		}
	}
	wantContains(t, "watch", out, "no running jobs")
}
