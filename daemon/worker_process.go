package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kiln/api"
	"kiln/daemon/store"
	"kiln/job"
)

// Why the daemon stopped a worker (workerProcess.stop), by which supervise
// files its job (job_outcomes.go). Beside these: errStopping (daemon.go)
// when kilnd stops, errClaimLost (node_registry.go) in a fleet.
var (
	errCancelled = errors.New("cancelled")
	// errWorkerStalled: the worker sent nothing for worker_stall_timeout
	// (stopped, deadlocked, swapping to death). Transient: the job is
	// retried.
	errWorkerStalled = errors.New("worker stopped responding")
	// errTimeLimit: the worker outran the time limit it announced by
	// worker_stall_timeout. Permanent, as the worker's own limit is: the
	// same source would run as long again.
	errTimeLimit = errors.New("time limit exceeded")
)

// workerProcess is one worker child (kiln-worker, or kiln-gpu-worker) running one job.
type workerProcess struct {
	job     store.Job
	spec    job.Spec
	backend string // cpu | cuda: which worker runs the job
	// nvencSessions is how many NVENC sessions the job holds, from its
	// start until it leaves d.running: spec.NVENCSessions.
	nvencSessions int
	log           *slog.Logger
	done          chan struct{} // closed once the job is filed

	mu        sync.Mutex
	cmd       *exec.Cmd
	stopWhy   error // why the daemon stopped it, if it did
	progress  job.Progress
	resources *api.Resources // from its rusage, once it has exited
	stderr    tailBuffer
	// heard is when the worker last sent a message; timeLimit is the run
	// time it announced for the job (0 until it knows). watchDeadlines
	// reads both.
	heard     time.Time
	timeLimit time.Duration
	// peakRSS is the highest VmHWM the daemon read from the worker's /proc
	// entry while it ran: the figure for a worker that dies without
	// reporting its own.
	peakRSS int64
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
	argv := d.WorkerCmd
	if w.backend == "cuda" {
		argv = []string{d.GPUWorker, "worker"}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(spec)
	cmd.Stderr = &w.stderr
	cmd.Env = workerEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// Start under the lock: a stop that comes meanwhile then finds the
	// process and kills it, instead of finding none and letting it run.
	w.mu.Lock()
	if why := w.stopWhy; why != nil {
		w.mu.Unlock()
		return nil, why
	}
	w.cmd = cmd
	began := time.Now()
	err = cmd.Start()
	w.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("starting worker: %w", err)
	}
	d.store.SetWorkerPID(context.Background(), w.job.ID, cmd.Process.Pid)
	w.mu.Lock()
	w.heard = began
	w.mu.Unlock()
	ended := make(chan struct{})
	defer close(ended)
	go d.watchDeadlines(w, began, ended)

	var result *job.Result
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024) // a report can be large
	lastSave, lastSample := time.Time{}, time.Time{}
	var frames int64
	stage := ""
	for sc.Scan() {
		var m job.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // not ours: a library printing to stdout
		}
		w.mu.Lock()
		w.heard = time.Now()
		if p := m.Progress; p != nil && p.TimeLimitSeconds > 0 {
			w.timeLimit = time.Duration(p.TimeLimitSeconds * float64(time.Second))
		}
		w.mu.Unlock()
		if p := m.Progress; p != nil {
			// Sampled at most twice a second: a worker that crashes later
			// has then left a figure of its own.
			var rss int64
			if time.Since(lastSample) > 500*time.Millisecond {
				lastSample = time.Now()
				rss = job.PeakRSS(strconv.Itoa(cmd.Process.Pid))
			}
			w.mu.Lock()
			w.progress = *p
			w.peakRSS = max(w.peakRSS, rss)
			w.mu.Unlock()
			if p.Stage != stage {
				// Stages change a few times a job; frames, which come
				// many times a second, are never logged.
				stage = p.Stage
				w.log.Info("job stage", "stage", stage, "fraction", p.Fraction)
			}
			if p.Frames > frames {
				d.metrics.addFrames(w.backend, p.Frames-frames)
				frames = p.Frames
			}
			if time.Since(lastSave) > time.Second {
				lastSave = time.Now()
				d.store.SetProgress(context.Background(), w.job.ID, p.Fraction, p.FPS)
			}
			d.changes.notify()
		}
		if m.Result != nil {
			result = m.Result
		}
	}
	io.Copy(io.Discard, stdout)
	// Once its output is closed the worker is ending; what it still holds
	// is read before wait reaps it.
	lastRSS := job.PeakRSS(strconv.Itoa(cmd.Process.Pid))
	waitErr := cmd.Wait()
	w.mu.Lock()
	w.resources = resourcesOf(cmd.ProcessState, time.Since(began))
	if w.resources != nil {
		w.resources.PeakRSSBytes = workerPeakRSS(result, max(w.peakRSS, lastRSS), w.resources.PeakRSSBytes)
	}
	w.mu.Unlock()
	if result != nil && waitErr == nil {
		return result, nil
	}
	return nil, waitErr
}

// watchDeadlines stops the worker w when it has sent nothing for
// worker_stall_timeout, or is still running worker_stall_timeout after the
// time limit it announced, until ended is closed. The worker enforces its
// time limit itself; this is for a worker that cannot: stopped (SIGSTOP, a
// debugger), blocked in a call that never returns, or a timer that never
// fires. The check runs every tenth of the timeout, so it fires at most 10%
// late.
func (d *Daemon) watchDeadlines(w *workerProcess, began time.Time, ended <-chan struct{}) {
	for {
		stall := d.cfg.Load().Daemon.WorkerStallTimeout.Duration
		if stall <= 0 {
			stall = 5 * time.Minute
		}
		select {
		case <-ended:
			return
		case <-time.After(min(max(stall/10, 100*time.Millisecond), 10*time.Second)):
		}
		w.mu.Lock()
		silent, limit := time.Since(w.heard), w.timeLimit
		w.mu.Unlock()
		switch {
		case silent >= stall:
			w.log.Warn("killing the worker: it sent nothing for worker_stall_timeout", "silent", silent.Round(time.Millisecond).String(),
				"worker_stall_timeout", stall.String())
			w.stop(fmt.Errorf("%w: nothing from it for %s (worker_stall_timeout %s); killed", errWorkerStalled,
				silent.Round(time.Second), stall))
			return
		case limit > 0 && time.Since(began) >= limit+stall:
			w.log.Warn("killing the worker: past its time limit", "time_limit", limit.String(), "grace", stall.String())
			w.stop(fmt.Errorf("%w: the job's time limit is %s (2 min + job_timeout_factor × the source's duration), and the worker was still running %s later; killed",
				errTimeLimit, limit.Round(time.Millisecond), stall))
			return
		}
	}
}

// workerPeakRSS picks the worker's own peak memory: the VmHWM it reported
// with its result, else the highest the daemon read from its /proc entry.
// wait4's ru_maxrss (rusage) is the last resort, for a worker that died
// before either could be read: Go starts children with vfork, and a vfork
// child's ru_maxrss starts from its parent's peak, so that figure is
// kilnd's whenever kilnd is the bigger process.
func workerPeakRSS(result *job.Result, sampled, rusage int64) int64 {
	if result != nil && result.PeakRSSBytes > 0 {
		return max(result.PeakRSSBytes, sampled)
	}
	if sampled > 0 {
		return sampled
	}
	return rusage
}

// resourcesOf reads a finished child's rusage: CPU time and peak RSS.
func resourcesOf(ps *os.ProcessState, wall time.Duration) *api.Resources {
	if ps == nil {
		return nil
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil
	}
	user := time.Duration(ru.Utime.Nano()).Seconds()
	sys := time.Duration(ru.Stime.Nano()).Seconds()
	return &api.Resources{
		CPUSeconds:    user + sys,
		UserSeconds:   user,
		SystemSeconds: sys,
		PeakRSSBytes:  ru.Maxrss * 1024, // Linux reports KiB
		WallSeconds:   wall.Seconds(),
	}
}

// workerEnv is the daemon's environment less what systemd meant for the
// daemon alone: a worker must not speak to systemd in the daemon's name or
// take the daemon's passed sockets for its own.
func workerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// runningFPS adds up the running jobs' speed by backend.
func (d *Daemon) runningFPS() map[string]float64 {
	d.mu.Lock()
	workers := make([]*workerProcess, 0, len(d.running))
	for _, w := range d.running {
		workers = append(workers, w)
	}
	d.mu.Unlock()
	fps := map[string]float64{}
	for _, w := range workers {
		fps[w.backend] += w.snapshot().FPS
	}
	return fps
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
	if last := telling(stderr); last != "" {
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

// telling picks the line of a dead worker's stderr that says why: a Go
// runtime "fatal error:" or "panic:" line (the stack trace after it says
// nothing to an engineer), else the last line.
func telling(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") {
			if len(line) > 300 {
				line = line[:300]
			}
			return line
		}
	}
	return lastLine(stderr)
}
