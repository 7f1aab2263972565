package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"kiln/api"
)

const (
	// eventGap is the least time between two events of one stream: a worker
	// may report every frame, a progress bar needs a few updates a second.
	eventGap = 250 * time.Millisecond
	// keepaliveEvery sends a comment on a quiet stream, so that the client
	// can tell a queued job from a dead daemon.
	keepaliveEvery = 15 * time.Second
	// eventWriteTimeout drops a client that stops reading.
	eventWriteTimeout = 10 * time.Second
)

// jobEvents streams a job's progress as server-sent events (api.EventProgress)
// until it finishes (api.EventEnd, with the report), the client leaves or
// the daemon stops.
func (a *apiServer) jobEvents(w http.ResponseWriter, r *http.Request) {
	first, ok := a.lookup(w, r)
	if !ok {
		return
	}
	id := first.ID
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)

	seq := 0
	write := func(format string, args ...any) bool {
		rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send := func(event string, v api.Job) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		seq++
		return write("id: %d\nevent: %s\ndata: %s\n\n", seq, event, b)
	}
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	var last progressKey
	for {
		// Taken before the read, so that a change after the read wakes us.
		changed := a.d.changes.wait()
		j, err := a.d.store.Get(r.Context(), id)
		if err != nil {
			if r.Context().Err() == nil {
				a.log.Warn("event stream: reading job", "job", id, "err", err)
			}
			return
		}
		v := a.view(j, j.State.Finished())
		if j.State.Finished() {
			send(api.EventEnd, v)
			return
		}
		if k := keyOf(v); seq == 0 || k != last {
			if !send(api.EventProgress, v) {
				return
			}
			last = k
		}
		pause := time.NewTimer(eventGap)
		select {
		case <-r.Context().Done():
			pause.Stop()
			return
		case <-a.closing:
			pause.Stop()
			return
		case <-pause.C:
		}
		select {
		case <-r.Context().Done():
			return
		case <-a.closing:
			return
		case <-changed:
		case <-keepalive.C:
			// A quiet stream says it is alive, then looks again in case a
			// wake-up went astray.
			if !write(": keepalive\n\n") {
				return
			}
		}
	}
}

// progressKey is what makes an event worth sending.
type progressKey struct {
	state    string
	priority string
	fraction float64
	fps      float64
	frames   int64
	stage    string
}

func keyOf(v api.Job) progressKey {
	return progressKey{v.State, v.Priority, v.Progress.Fraction, v.Progress.FPS, v.Progress.Frames, v.Progress.Stage}
}
