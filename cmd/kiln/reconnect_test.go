package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln/api"
)

// TestCarriesOnAcrossRestart: kilnd is stopped while submit --wait and
// watch follow a running job, and started again on the same store a second
// later. Both say "kilnd restarted, reconnecting" once, carry on with the
// same job (re-queued by the stop, run again by the new kilnd) to its end,
// and exit 0.
func TestCarriesOnAcrossRestart(t *testing.T) {
	root, path := testRoot(t)
	first := runDaemon(t, path)
	t.Cleanup(first.stop)
	socket := first.socket

	type result struct {
		code        int
		out, errOut string
	}
	var wg sync.WaitGroup
	var submitted, watched result
	wg.Add(1)
	go func() {
		defer wg.Done()
		submitted.code, submitted.out, submitted.errOut = kiln(t, socket, "submit", source(t, root, "clip-slow.mkv"),
			"--profile", "p1", "--wait")
	}()
	waitRunning(t, socket, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		watched.code, watched.out, watched.errOut = kiln(t, socket, "watch", "--until-idle")
	}()
	time.Sleep(300 * time.Millisecond) // let watch draw a frame first

	first.stop()
	time.Sleep(time.Second)
	second := runDaemon(t, path)
	t.Cleanup(second.stop)
	wg.Wait()

	for what, r := range map[string]result{"submit --wait": submitted, "watch": watched} {
		if r.code != 0 {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", what, r.code, r.out, r.errOut)
		}
		if n := strings.Count(r.errOut, "kilnd restarted, reconnecting"); n != 1 {
			t.Errorf("%s said it reconnects %d times:\n%s", what, n, r.errOut)
		}
	}
	wantContains(t, "submit --wait", submitted.out, "] 100%  done", "outputs in ")
	wantContains(t, "watch", watched.out, "clip-slow.mkv", "no running jobs")
	var j api.Job
	json.Unmarshal([]byte(ok(t, socket, "show", "1", "--json")), &j)
	if j.State != "done" || j.Attempts < 2 {
		t.Errorf("job 1: %s after %d attempts; want done, run again after the restart", j.State, j.Attempts)
	}
}

// TestGivesUpWhenKilndStaysAway: if kilnd does not come back within
// reconnectFor, submit --wait exits 3 (unreachable) and says so.
func TestGivesUpWhenKilndStaysAway(t *testing.T) {
	defer func(d time.Duration) { reconnectFor = d }(reconnectFor)
	reconnectFor = 1500 * time.Millisecond
	root, path := testRoot(t)
	td := runDaemon(t, path)
	t.Cleanup(td.stop)
	done := make(chan struct{})
	var code int
	var errOut bytes.Buffer
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		code = run(ctx, []string{"--socket", td.socket, "submit", source(t, root, "x-hang.mkv"), "--profile", "p1", "--wait"},
			&bytes.Buffer{}, &errOut)
	}()
	waitRunning(t, td.socket, 1)
	td.stop()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("submit --wait still waiting 20 s after kilnd went away for good")
	}
	if code != exitUnreachable || !strings.Contains(errOut.String(), "kilnd did not come back within 1.5s") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut.String())
	}
}
