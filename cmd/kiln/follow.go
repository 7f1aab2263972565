package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"kiln/api"
)

// reconnectFor is how long submit --wait and watch keep trying to reach a
// kilnd that went away after they had reached it. A restart takes seconds,
// plus stop_grace (default 30 s) for the jobs then running; kilnd.socket
// even holds connections meanwhile. A variable so that tests can shorten it.
var reconnectFor = 2 * time.Minute

// reconnectMaxDelay caps the backoff between two tries.
const reconnectMaxDelay = 5 * time.Second

// reconnector paces the tries to reach kilnd again after it went away, and
// says so once per outage, on stderr so that stdout stays the output.
type reconnector struct {
	stderr io.Writer
	lostAt time.Time // zero while kilnd answers
	delay  time.Duration
}

// reached is called whenever kilnd answers.
func (r *reconnector) reached() { r.lostAt = time.Time{} }

// wait waits before the next try, or returns an error once kilnd has been
// away for reconnectFor, or ctx ends.
func (r *reconnector) wait(ctx context.Context, cause error) error {
	if r.lostAt.IsZero() {
		r.lostAt, r.delay = time.Now(), 250*time.Millisecond
		fmt.Fprintln(r.stderr, "kiln: kilnd restarted, reconnecting")
	}
	if time.Since(r.lostAt) > reconnectFor {
		return &unreachableError{fmt.Errorf("kilnd did not come back within %s: %w", reconnectFor, cause)}
	}
	t := time.NewTimer(r.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	r.delay = min(2*r.delay, reconnectMaxDelay)
	return nil
}

// follow shows one job's progress bar, from the daemon's event stream,
// until the job finishes, and returns the finished job. A stream that breaks
// before the end (kilnd restarted, or went silent) is opened again for the
// same job id: the job itself survives in the store, queued again if it was
// running.
func (c *cli) follow(ctx context.Context, id int64) (api.Job, error) {
	var final api.Job
	finished := false
	bar := c.newBar()
	again := &reconnector{stderr: c.errOut}
	for !finished {
		err := c.api.events(ctx, id, func(event string, j api.Job) {
			again.reached()
			if event == api.EventEnd {
				final, finished = j, true
			}
			if !c.json {
				bar.draw(j)
			}
		})
		if finished {
			break
		}
		var refused *refusedError
		if ctx.Err() != nil || errors.As(err, &refused) {
			bar.end()
			return final, err
		}
		if err == nil {
			err = fmt.Errorf("kilnd ended the event stream of job %d before it finished", id)
		}
		bar.end() // the notice goes on a line of its own
		if werr := again.wait(ctx, err); werr != nil {
			return final, werr
		}
	}
	if c.json {
		b, _ := json.MarshalIndent(final, "", "  ")
		c.emitJSON(b)
		return final, nil
	}
	bar.end()
	if final.State == "done" {
		fmt.Fprintf(c.out, "outputs in %s\n", termSafe(final.Output))
	}
	return final, nil
}

// watch redraws the running jobs' progress bars until interrupted or, with
// untilIdle, until nothing is queued or running. On a terminal it redraws in
// place; elsewhere it prints the bars again whenever they changed. Once it
// has reached kilnd, it rides out a restart.
func (c *cli) watch(ctx context.Context, untilIdle bool) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	again := &reconnector{stderr: c.errOut}
	everReached := false
	lines := 0
	last := ""
	for {
		jobs, raw, idle, err := c.poll(ctx, untilIdle)
		var unreachable *unreachableError
		if err != nil && everReached && ctx.Err() == nil && errors.As(err, &unreachable) {
			if werr := again.wait(ctx, err); werr != nil {
				return werr
			}
			lines = 0 // the notice sits below the last frame; draw under it
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		everReached = true
		again.reached()
		if c.json {
			c.emitJSON(compactJSON(raw))
		} else {
			sort.Slice(jobs, func(i, k int) bool { return jobs[i].ID < jobs[k].ID })
			cols, rows := 0, 0
			if c.tty {
				cols, rows = c.size()
			}
			frame := watchFrame(jobs, lineCols(cols), rows)
			switch {
			case c.tty:
				// Move the cursor back over the previous frame and redraw.
				if lines > 0 {
					fmt.Fprintf(c.out, "\x1b[%dA\x1b[J", lines)
				}
				fmt.Fprint(c.out, frame)
				lines = strings.Count(frame, "\n")
			case frame != last:
				fmt.Fprint(c.out, frame)
			}
			last = frame
		}
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// poll reads the running jobs and, when asked, whether kilnd is idle.
func (c *cli) poll(ctx context.Context, untilIdle bool) (jobs []api.Job, raw []byte, idle bool, err error) {
	raw, err = c.api.call(ctx, "GET", "/v1/jobs?state=running", nil, &jobs)
	if err != nil || !untilIdle || len(jobs) > 0 {
		return jobs, raw, false, err
	}
	var h api.Health
	if _, err := c.api.call(ctx, "GET", "/v1/health", nil, &h); err != nil {
		return nil, nil, false, err
	}
	return jobs, raw, h.QueueDepth == 0 && h.Running == 0, nil
}

// compactJSON puts an answer on one line, for JSON-lines output.
func compactJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
