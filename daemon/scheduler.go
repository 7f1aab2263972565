package daemon

import (
	"context"
	"fmt"
	"time"

	"kiln/daemon/store"
	"kiln/job"
)

// schedule starts queued jobs while there are free slots: cpu_jobs for the
// CPU worker, and gpu_jobs per GPU for the GPU worker when the last probe
// found a usable CUDA device. GPU slots fill first. In a fleet, jobs that
// want a GPU may be left a while to a node that has one free (gpuDeferral).
func (d *Daemon) schedule(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	for {
		cpuFree, gpuFree := d.freeSlots()
		if cpuFree+gpuFree <= 0 {
			return
		}
		d.claiming.Lock()
		j, ok, err := d.store.ClaimWith(ctx, d.gpuDeferral(d.cfg.Load(), gpuFree))
		if err != nil || !ok {
			d.claiming.Unlock()
		}
		if err != nil {
			if ctx.Err() == nil {
				d.metrics.storeFailed("claim")
				d.claimOutage.fail(d.Logger, "claiming a job", time.Now(), err)
			}
			return
		}
		d.claimOutage.ok(d.Logger, "claiming a job", time.Now())
		if !ok {
			return
		}
		// queued_at survives a re-queue, so a retried job's wait includes
		// its earlier runs: the time its submitter has been waiting.
		d.metrics.jobClaimed(j.StartedAt.Sub(j.QueuedAt))
		d.start(j, gpuFree > 0)
		d.claiming.Unlock()
	}
}

// freeSlots counts the worker slots not in use, per backend.
func (d *Daemon) freeSlots() (cpu, gpu int) {
	daemonCfg := d.cfg.Load().Daemon
	gpuSlots := 0
	if h := d.hardware.Load(); h != nil && h.Backend == "cuda" && d.GPUWorker != "" {
		gpuSlots = daemonCfg.GPUJobs * max(len(h.GPUs), 1)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	cpu, gpu = daemonCfg.CPUJobs, gpuSlots
	for _, w := range d.running {
		if w.backend == "cuda" {
			gpu--
		} else {
			cpu--
		}
	}
	return max(cpu, 0), max(gpu, 0)
}

// start launches a worker for a claimed job, on the GPU worker when onGPU.
func (d *Daemon) start(j store.Job, onGPU bool) {
	log := d.Logger.With("component", "worker", "job", j.ID, "profile", j.Profile)
	profile, ok := d.cfg.Load().Profile(j.Profile)
	if !ok {
		d.file(j, store.Failed, fmt.Sprintf("profile %q is no longer in the config", j.Profile), nil)
		d.poke()
		return
	}
	if why := d.sourceReplaced(j); why != "" {
		d.file(j, store.Failed, why, nil)
		d.poke()
		return
	}
	w := &workerProcess{
		job: j,
		spec: job.Spec{ID: j.ID, Source: j.SourcePath, Profile: *profile, OutputRoot: j.OutputDir,
			OutputName: j.OutputName, OutputNote: outputNote(j), OutputMode: d.cfg.Load().Daemon.OutputMode,
			Limits: job.Limits{
				MemoryBytes:   int64(d.cfg.Load().Daemon.WorkerMemoryMB) << 20,
				TimeoutFactor: d.cfg.Load().Daemon.JobTimeoutFactor,
			}},
		log:  log,
		done: make(chan struct{}),
	}
	d.mu.Lock()
	// Placed (NVENC sessions granted and counted) under one lock, so two
	// jobs starting at once cannot both take the last free sessions. The
	// backend label is what metrics count frames and NVENC sessions by, and
	// it picks the worker binary.
	h := d.hardware.Load()
	limit, why := d.nvencLimit(h)
	w.backend = placeJob(&w.spec, h, onGPU, limit, why, d.nvencSessionsLocked())
	w.nvencSessions = w.spec.NVENCSessions
	d.running[j.ID] = w
	d.mu.Unlock()
	log.Info("job started", "source", j.SourcePath, "attempt", j.Attempts, "backend", w.backend,
		"nvenc_sessions", w.nvencSessions)
	d.changes.notify()
	go d.supervise(w)
}
