package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/hardware"
	"kiln/job"
)

// Transcode is `kilnd transcode`: one job in the foreground, without a
// store, a socket or an inbox, run where a daemon with the same config and
// workers would run it. It probes the GPU as the daemon does, places the
// job with the daemon's placeJob (GPU worker or CPU worker, backend_note,
// NVENC sessions, NVDEC), and runs it in a worker process over the same
// protocol, so that its outputs and its report are a daemon job's.
type Transcode struct {
	Config    *config.Config
	WorkerCmd []string  // the CPU worker, as Daemon.WorkerCmd
	GPUWorker string    // the GPU worker binary, as Daemon.GPUWorker; "" for none
	Stderr    io.Writer // where the worker's own messages go
}

// TranscodeOutcome is how a foreground job ended.
type TranscodeOutcome struct {
	Result   job.Result   // OK, or the reason it failed
	Backend  string       // cpu | cuda: the worker that ran the last attempt
	Hardware api.Hardware // the probe the last attempt was placed by
	Attempts int
}

// Run runs spec and calls progress with the worker's progress. It returns
// an error only when no worker could be started; a job that failed is an
// outcome with a reason. Like a daemon job, an attempt that ended without
// a permanent failure (a crash, an I/O error) is tried again up to
// max_attempts, after a new probe when the GPU worker crashed.
func (t *Transcode) Run(ctx context.Context, spec job.Spec, progress func(job.Progress)) (TranscodeOutcome, error) {
	var out TranscodeOutcome
	maxAttempts := max(t.Config.Daemon.MaxAttempts, 1)
	probe := true
	for out.Attempts = 1; ; out.Attempts++ {
		if probe {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			out.Hardware = hardwareView(hardware.Probe(pctx, t.GPUWorker))
			cancel()
		}
		s := spec
		h := &out.Hardware
		// A foreground job is alone on the machine: a GPU slot is free
		// whenever the daemon would have any, and no sessions are held.
		onGPU := h.Backend == hardware.BackendCUDA && t.GPUWorker != "" && t.Config.Daemon.GPUJobs > 0
		limit, why := nvencLimitOn(h, t.Config.Daemon)
		out.Backend = placeJob(&s, h, onGPU, limit, why, 0)
		argv := t.WorkerCmd
		if out.Backend == hardware.BackendCUDA {
			argv = []string{t.GPUWorker, "worker"}
		}
		res, err := t.runWorker(ctx, argv, s, progress)
		switch {
		case err != nil:
			return out, err
		case res.OK || res.Permanent || ctx.Err() != nil || out.Attempts >= maxAttempts:
			out.Result = *res
			return out, nil
		}
		fmt.Fprintf(t.Stderr, "kilnd transcode: attempt %d failed on the %s worker: %s; trying again\n",
			out.Attempts, out.Backend, res.Reason)
		// The GPU may be gone (reset, driver fault): look again, so the
		// next attempt goes wherever the GPU state now allows.
		probe = out.Backend == hardware.BackendCUDA
	}
}

// runWorker runs one attempt: spec on the worker's stdin, its progress and
// result read from its stdout. A worker that ends without a result has
// crashed, and the result says how (crashReason). The error is for a
// worker that could not be started at all.
func (t *Transcode) runWorker(ctx context.Context, argv []string, spec job.Spec, progress func(job.Progress)) (*job.Result, error) {
	// The parent-death signal fires when the forking thread exits, so the
	// goroutine keeps its thread until the worker is gone, as the daemon's
	// does: a kilnd transcode killed with -9 takes its worker with it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var tail tailBuffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(b)
	cmd.Stderr = io.MultiWriter(t.Stderr, &tail)
	cmd.Env = workerEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// On Ctrl-C or SIGTERM the worker is asked to stop, so that it removes
	// its staging folder; it is killed only if it does not within a minute.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the worker %s: %w", filepath.Base(argv[0]), err)
	}
	var result *job.Result
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024) // a report can be large
	for sc.Scan() {
		var m job.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // not ours: a library printing to stdout
		}
		if m.Progress != nil && progress != nil {
			progress(*m.Progress)
		}
		if m.Result != nil {
			result = m.Result
		}
	}
	io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	if result != nil && waitErr == nil {
		return result, nil
	}
	return &job.Result{Reason: crashReason(waitErr, tail.String())}, nil
}

// ReportPath is where the report of spec's job is written: next to its
// outputs, <output>/<source name>/<profile>/<source name>.kiln.json.
func ReportPath(spec job.Spec) string {
	name := spec.OutputFolder()
	return filepath.Join(spec.OutputRoot, name, spec.Profile.Name, name+".kiln.json")
}
