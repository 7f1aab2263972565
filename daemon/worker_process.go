package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"kiln/daemon/store"
	"kiln/job"
)

var (
	errShutdown  = errors.New("kilnd is stopping")
	errCancelled = errors.New("cancelled")
)

// workerProcess is one `kilnd worker` child running one job.
type workerProcess struct {
	job  store.Job
	spec job.Spec
	done chan struct{} // closed once the job is filed

	mu       sync.Mutex
	cmd      *exec.Cmd
	stopWhy  error // why the daemon stopped it, if it did
	progress job.Progress
	stderr   tailBuffer
}

// schedule starts queued jobs while there are free CPU slots.
func (d *Daemon) schedule(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	for {
		d.mu.Lock()
		free := d.cfg.Load().Daemon.CPUJobs - len(d.running)
		d.mu.Unlock()
		if free <= 0 {
			return
		}
		j, ok, err := d.store.Claim(ctx)
		if err != nil {
			d.Logger.Error("claiming a job", "err", err)
			return
		}
		if !ok {
			return
		}
		d.start(j)
	}
}

// start launches a worker for a claimed job.
func (d *Daemon) start(j store.Job) {
	log := d.Logger.With("job", j.ID, "profile", j.Profile)
	profile, ok := d.cfg.Load().Profile(j.Profile)
	if !ok {
		d.file(j, store.Failed, fmt.Sprintf("profile %q is no longer in the config", j.Profile), nil)
		return
	}
	w := &workerProcess{
		job:  j,
		spec: job.Spec{ID: j.ID, Source: j.SourcePath, Profile: *profile, OutputRoot: j.OutputDir},
		done: make(chan struct{}),
	}
	d.mu.Lock()
	d.running[j.ID] = w
	d.mu.Unlock()
	log.Info("job started", "source", j.SourcePath, "attempt", j.Attempts)
	go d.supervise(w, log)
}

// supervise runs the worker to its end and files the outcome.
func (d *Daemon) supervise(w *workerProcess, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	defer close(w.done)
	result, runErr := d.runWorker(w)
	d.mu.Lock()
	delete(d.running, w.job.ID)
	d.mu.Unlock()
	defer d.poke()

	w.mu.Lock()
	stopWhy := w.stopWhy
	w.mu.Unlock()
	j := w.job
	var report []byte
	if result != nil && result.Report != nil {
		report, _ = json.Marshal(result.Report)
	}
	switch {
	case errors.Is(stopWhy, errShutdown):
		if err := d.store.Requeue(context.Background(), j.ID, "re-queued: kilnd stopped while it ran"); err != nil {
			log.Warn("re-queueing", "err", err)
		}
		log.Info("job re-queued for the next start")
	case errors.Is(stopWhy, errCancelled):
		d.file(j, store.Cancelled, "cancelled while running", report)
		log.Info("job cancelled")
	case result != nil && result.OK:
		d.file(j, store.Done, "", report)
		log.Info("job done")
	case result != nil && result.Permanent:
		d.file(j, store.Failed, result.Reason, report)
		log.Info("job failed", "reason", result.Reason)
	default:
		reason := ""
		if result != nil {
			reason = result.Reason
		} else {
			reason = crashReason(runErr, w.stderr.String())
		}
		if j.Attempts < d.cfg.Load().Daemon.MaxAttempts {
			log.Warn("job attempt failed; re-queued", "reason", reason, "attempt", j.Attempts)
			if err := d.store.Requeue(context.Background(), j.ID, "attempt "+fmt.Sprint(j.Attempts)+": "+reason); err != nil {
				log.Warn("re-queueing", "err", err)
			}
			return
		}
		d.file(j, store.Failed, reason, report)
		log.Info("job failed", "reason", reason)
	}
}

// runWorker starts the child, feeds it the spec and reads its messages. It
// returns the worker's result, or nil and the reason it ended without one.
func (d *Daemon) runWorker(w *workerProcess) (*job.Result, error) {
	// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits,
	// so the goroutine keeps its thread until the child is gone. Then a
	// daemon killed with -9 takes its workers with it: no orphans.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	spec, err := json.Marshal(w.spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(d.WorkerCmd[0], d.WorkerCmd[1:]...)
	cmd.Stdin = bytes.NewReader(spec)
	cmd.Stderr = &w.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.cmd = cmd
	stopped := w.stopWhy != nil
	w.mu.Unlock()
	if stopped {
		return nil, w.stopWhy
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	d.store.SetWorkerPID(context.Background(), w.job.ID, cmd.Process.Pid)

	var result *job.Result
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024) // a report can be large
	lastSave := time.Time{}
	for sc.Scan() {
		var m job.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // not ours: a library printing to stdout
		}
		if m.Progress != nil {
			w.mu.Lock()
			w.progress = *m.Progress
			w.mu.Unlock()
			if time.Since(lastSave) > time.Second {
				lastSave = time.Now()
				d.store.SetProgress(context.Background(), w.job.ID, m.Progress.Fraction, m.Progress.FPS)
			}
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
	return nil, waitErr
}

// stop ends the worker, saying why.
func (w *workerProcess) stop(why error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopWhy == nil {
		w.stopWhy = why
	}
	if w.cmd != nil && w.cmd.Process != nil {
		// The whole process group: libav may have helpers of its own.
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (w *workerProcess) snapshot() job.Progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.progress
}

// crashReason explains a worker that ended without a result.
func crashReason(err error, stderr string) string {
	reason := "worker ended without a result"
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			reason = fmt.Sprintf("worker crashed (signal %s)", ws.Signal())
		} else {
			reason = fmt.Sprintf("worker exited with status %d", ee.ExitCode())
		}
	} else if err != nil {
		reason = err.Error()
	}
	if last := lastLine(stderr); last != "" {
		reason += ": " + last
	}
	return reason
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[len(s)-300:]
	}
	return s
}

// tailBuffer keeps the last few KiB written to it: a worker's stderr, for
// crash reasons, without letting a chatty library fill the daemon's memory.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
