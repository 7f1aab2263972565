package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kiln/api"
	"kiln/daemon/store"
	"kiln/job"
	"kiln/staging"
)

// supervise runs the worker to its end and files the outcome.
func (d *Daemon) supervise(w *workerProcess) {
	defer close(w.done)
	log := w.log
	began := time.Now()
	result, runErr := d.runWorker(w)
	d.mu.Lock()
	delete(d.running, w.job.ID)
	d.filing[w.job.ID] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.filing, w.job.ID)
		d.mu.Unlock()
	}()
	defer d.poke()

	w.mu.Lock()
	stopWhy := w.stopWhy
	res := w.resources
	w.mu.Unlock()
	j := w.job
	if res != nil {
		d.metrics.workerUsed(res.CPUSeconds, res.PeakRSSBytes)
		log.Info("worker resources", "cpu_seconds", res.CPUSeconds, "peak_rss_bytes", res.PeakRSSBytes)
	}
	// A worker that was stopped or crashed leaves its staging folder; one
	// that published has none left. Either way nothing of this job's may
	// stay there, unless the job runs on another node now: then the
	// folders are that node's work in progress (see errClaimLost).
	if elsewhere, err := d.store.RunningElsewhere(context.Background(), j.ID); err != nil {
		log.Warn("keeping the job's staging: its state could not be read", "err", err)
	} else if !elsewhere {
		if err := staging.Sweep(j.OutputDir, func(id int64) bool { return id != j.ID }); err != nil {
			log.Warn("removing the job's staging", "err", err)
		}
	}
	var rep *job.Report
	if result != nil {
		rep = result.Report
	}
	report := reportWithResources(rep, res)
	outcome := ""
	switch {
	case errors.Is(stopWhy, errClaimLost):
		// Another node runs the job now; its result is the one that counts.
		outcome = "requeued"
		log.Warn("job given up: another node took it over")
	case errors.Is(stopWhy, errStopping):
		outcome = "requeued"
		if err := d.store.RequeueClaim(context.Background(), j, "re-queued: kilnd stopped while it ran"); err != nil {
			log.Warn("re-queueing", "err", err)
		}
		log.Info("job re-queued for the next start")
	case errors.Is(stopWhy, errTimeLimit):
		outcome = "failed"
		d.file(j, store.Failed, stopWhy.Error(), report)
		log.Info("job failed", "reason", stopWhy.Error())
	case errors.Is(stopWhy, errCancelled):
		outcome = "cancelled"
		d.file(j, store.Cancelled, "cancelled while running", report)
		log.Info("job cancelled")
	case result != nil && result.OK:
		outcome = "done"
		d.file(j, store.Done, "", report)
		log.Info("job done")
	case result != nil && result.Permanent:
		outcome = "failed"
		d.file(j, store.Failed, result.Reason, report)
		log.Info("job failed", "reason", result.Reason)
	default:
		reason := ""
		if errors.Is(stopWhy, errWorkerStalled) {
			reason = stopWhy.Error()
		} else if result != nil {
			reason = result.Reason
		} else {
			d.metrics.workerCrashed()
			reason = crashReason(runErr, w.stderr.String())
			if w.backend == "cuda" {
				// The GPU may be gone (reset, driver fault): look again, so
				// the retry goes wherever the GPU state now allows.
				d.probeHardware(context.Background())
			}
		}
		if j.Attempts < d.cfg.Load().Daemon.MaxAttempts {
			outcome = "requeued"
			log.Warn("job attempt failed; re-queued", "reason", reason, "attempt", j.Attempts)
			if err := d.store.RequeueClaim(context.Background(), j, "attempt "+fmt.Sprint(j.Attempts)+": "+reason); err != nil {
				log.Warn("re-queueing", "err", err)
			}
			break
		}
		outcome = "failed"
		d.file(j, store.Failed, reason, report)
		log.Info("job failed", "reason", reason)
	}
	d.metrics.jobEnded(outcome, time.Since(began))
}

// reportWithResources adds the worker's resource use to its report, as
// "resources". The report file next to the outputs is the worker's own and
// stays as it wrote it; this is the copy the store and the API hold.
func reportWithResources(r *job.Report, res *api.Resources) []byte {
	if r == nil && res == nil {
		return nil
	}
	b, err := json.Marshal(struct {
		*job.Report
		Resources *api.Resources `json:"resources,omitempty"`
	}{r, res})
	if err != nil {
		return nil // a report with a NaN in it; the job's state still counts
	}
	return b
}
