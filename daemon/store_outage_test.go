package daemon

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"kiln/daemon/daemontest"
)

// A store that stays unreachable for ten minutes, failing every second,
// leaves one line when it starts, one a minute while it lasts, and one when
// it clears: not six hundred.
func TestOutageLogThrottles(t *testing.T) {
	var buf daemontest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var o outageLog
	const what = "claiming a job"
	start := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	o.ok(log, what, start) // nothing to clear: no line
	down := errors.New("connection refused")
	for s := 0; s < 600; s++ {
		o.fail(log, what, start.Add(time.Duration(s)*time.Second), down)
	}
	o.ok(log, what, start.Add(600*time.Second))
	o.ok(log, what, start.Add(601*time.Second))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1+9+1 {
		t.Fatalf("%d log lines, want 11 (start, one a minute, end):\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], `msg="claiming a job"`) || !strings.Contains(lines[0], "connection refused") {
		t.Errorf("first line: %s", lines[0])
	}
	if !strings.Contains(lines[1], "still fails") || !strings.Contains(lines[1], "failures_not_logged=59") {
		t.Errorf("a minute later: %s", lines[1])
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "works again") || !strings.Contains(last, "after=10m0s") {
		t.Errorf("last line: %s", last)
	}
	// A new outage is logged at once.
	o.fail(log, what, start.Add(700*time.Second), down)
	if n := strings.Count(buf.String(), "\n"); n != 12 {
		t.Errorf("a new outage was not logged at once: %d lines", n)
	}
}
