package daemon

import (
	"log/slog"
	"sync"
	"time"
)

// outageLogEvery is how often a failure that keeps repeating is logged again.
const outageLogEvery = time.Minute

// outageLog logs a failure that repeats every few seconds (the job store
// unreachable: the scheduler claims on every event, the heartbeat every
// lease/3) once when it starts, then at most once a minute with how often it
// recurred, and once when it clears. A database that is down for an hour
// must leave a few readable lines in the journal, not thousands.
//
// The zero value is ready; what (say "claiming a job") names what fails.
type outageLog struct {
	mu         sync.Mutex
	failing    bool
	since      time.Time
	lastLogged time.Time
	suppressed int
}

// fail records one failure at now, and logs it when the outage is new or a
// minute has passed since the last line.
func (o *outageLog) fail(log *slog.Logger, what string, now time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.failing {
		o.failing, o.since, o.lastLogged, o.suppressed = true, now, now, 0
		log.Error(what, "err", err)
		return
	}
	if now.Sub(o.lastLogged) < outageLogEvery {
		o.suppressed++
		return
	}
	log.Error(what+" still fails", "err", err, "since", o.since.Format(time.RFC3339),
		"failures_not_logged", o.suppressed)
	o.lastLogged, o.suppressed = now, 0
}

// ok records a success at now, and logs the end of an outage.
func (o *outageLog) ok(log *slog.Logger, what string, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.failing {
		return
	}
	o.failing = false
	log.Info(what+" works again", "after", now.Sub(o.since).Round(time.Second).String(),
		"failures_not_logged", o.suppressed)
}
