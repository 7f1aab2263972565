// Package daemon is Kiln's supervisor. It owns the config and its reloads, the
// watch folders, the job store, the scheduler, the worker processes, the
// socket API, the metrics and the conversation with systemd.
//
// It is pure Go: it must not import pipeline/ (libav) or gpu/ (CUDA). Every job
// runs in a kiln-worker (or kiln-gpu-worker) child process, so a crash in libav on a hostile
// file, or a GPU fault, fails that one job and the daemon carries on.
// TestDaemonHasNoCgoDependencies enforces the fence.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/store"
)

// Daemon is the supervisor. Set the exported fields, then call Initialize,
// Run and Close.
type Daemon struct {
	Config     *config.Config // the config at start
	ConfigPath string         // re-read on SIGHUP; "" means the embedded default
	Logger     *slog.Logger
	WorkerCmd  []string // argv that starts one CPU worker: [kiln-worker, "worker"]
	Version    string
	// GPUWorker is the path of kiln-gpu-worker. Its probe, at start and on
	// every reload, says what the GPU can do; "" or a missing file means a
	// CPU-only host, and GET /v1/hardware says why.
	GPUWorker string

	cfg      atomic.Pointer[config.Config]
	store    *store.Store
	started  time.Time
	wake     chan struct{}    // pokes the main loop
	reloads  chan chan error  // POST /v1/reload, answered by the main loop
	stopped  chan struct{}    // closed when Run returns
	changes  changeSignal     // jobs changed; wakes event streams
	notify   *systemdNotifier // READY, STATUS, WATCHDOG, RELOADING, STOPPING
	metrics  *metrics         // for GET /metrics
	hardware atomic.Pointer[api.Hardware]
	hwLog    *slog.Logger
	api      *apiServer

	// gpuPeerFree: the registry's last read found another live node with
	// free GPU slots (gpuDeferral).
	gpuPeerFree atomic.Bool
	// heartbeatsPaused stops keepLease, for tests of a node that the fleet
	// must take for dead while it still runs.
	heartbeatsPaused atomic.Bool
	// claimOutage and heartbeatOutage keep a job store that stays
	// unreachable from logging a line on every attempt.
	claimOutage, heartbeatOutage, recordOutage outageLog
	// notes is what the watch folders show in /v1/health (intake_notes.go).
	notes intakeNotes

	// claiming is held from a claim until its worker is in running, so
	// that requeueOrphans never takes a job in between for an orphan.
	claiming sync.Mutex

	mu        sync.Mutex
	running   map[int64]*workerProcess
	filing    map[int64]bool // jobs whose worker ended, until their outcome is recorded
	reloadErr string         // the last rejected reload, shown by /v1/health
	watchers  map[string]*runningWatch
}

// runningWatch is one watch folder's goroutine and the config it runs with.
type runningWatch struct {
	watch  config.Watch
	rescan time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

// errStopping is why things end while the daemon stops: the workers still
// running at the end of stop_grace are stopped with it (supervise then
// re-queues their jobs for the next start), and a reload asked for
// meanwhile is refused with it.
var errStopping = errors.New("kilnd is stopping")

// Initialize opens the socket and the store, re-queues jobs a crash left
// running, removes the staging folders they left behind and probes the
// hardware. Once it returns, Run can serve at once.
func (d *Daemon) Initialize() error {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if d.Config == nil {
		return errors.New("no config")
	}
	if len(d.WorkerCmd) == 0 {
		return errors.New("no worker command")
	}
	d.cfg.Store(d.Config)
	d.started = time.Now()
	d.wake = make(chan struct{}, 1)
	d.reloads = make(chan chan error)
	d.stopped = make(chan struct{})
	d.running = map[int64]*workerProcess{}
	d.filing = map[int64]bool{}
	d.watchers = map[string]*runningWatch{}
	d.notify = &systemdNotifier{log: d.Logger.With("component", "systemd")}
	d.metrics = newMetrics(d.Version)
	d.hwLog = d.Logger.With("component", "hardware")

	cfg := d.Config
	raiseOpenFilesLimit(d.Logger, cfg.Daemon.APIConnections)
	// The socket comes first: binding it proves no other kilnd serves this
	// config, before anything below re-queues or sweeps that daemon's jobs.
	d.api = &apiServer{d: d, log: d.Logger.With("component", "api")}
	if err := d.api.listen(cfg.Daemon.Socket, cfg.Daemon.SocketGroup); err != nil {
		return err
	}
	if err := d.openStore(cfg); err != nil {
		d.api.close()
		d.api = nil
		return err
	}
	d.probeHardware(context.Background())
	// The first heartbeat puts the node in the registry before it claims
	// anything, and refuses a node_name that another live instance holds.
	// Only then are the name's leftovers this instance's to clean up.
	if err := d.heartbeat(context.Background()); err != nil {
		d.api.close()
		d.api = nil
		d.store.Close()
		d.store = nil
		return err
	}
	if err := d.requeueLeftovers(cfg); err != nil {
		d.api.close()
		d.api = nil
		d.store.Close()
		d.store = nil
		return err
	}
	d.readRegistry(context.Background())
	return nil
}

func (d *Daemon) openStore(cfg *config.Config) error {
	if err := os.MkdirAll(cfg.Daemon.StateDir, 0o750); err != nil {
		return fmt.Errorf("creating state_dir: %w", err)
	}
	st, err := openJobStore(cfg)
	if err != nil {
		return err
	}
	st.Node = nodeName(cfg)
	d.store = st
	d.Logger.Info("job store open", "store", d.nodeLabel(), "instance", st.Instance)
	return nil
}

// requeueLeftovers runs once this instance holds its node name: nothing of
// this node runs yet, so its staging folders are debris, and its name's
// running jobs were cut off by an earlier stop; other nodes' are not
// (sweepStaging). Swept before the re-queue, so that no other node can
// have claimed these jobs again meanwhile.
func (d *Daemon) requeueLeftovers(cfg *config.Config) error {
	d.sweepStaging(cfg)
	n, err := d.store.RequeueRunning(context.Background())
	if err != nil {
		return err
	}
	if n > 0 {
		d.Logger.Info("re-queued jobs left running by an earlier stop", "jobs", n)
	}
	return nil
}

// Run runs until ctx ends: watch folders feed the store, the scheduler starts
// workers, SIGHUP and POST /v1/reload reload the config. When ctx ends it
// stops as shutdown describes.
//
// The loop is also the systemd watchdog's heartbeat: WATCHDOG=1 is sent from
// its select, so a loop stuck anywhere (a store call that never returns, a
// deadlock) stops the pings and systemd restarts kilnd.
func (d *Daemon) Run(ctx context.Context) error {
	defer close(d.stopped)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	go d.api.serve()
	leaseCtx, stopLease := context.WithCancel(context.Background())
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		d.keepLease(leaseCtx)
	}()
	// The lease is kept until the workers are stopped and their jobs
	// re-queued, so no other node takes them while they still run here.
	defer func() {
		stopLease()
		<-leaseDone
		if err := d.store.Leave(context.Background()); err != nil {
			d.Logger.Warn("leaving the node registry", "err", err)
		}
	}()
	cfg := d.cfg.Load()
	d.syncWatchers(ctx, cfg)
	d.Logger.Info("kilnd running", "version", d.Version, "config", cfg.Origin,
		"socket", d.api.socket.path, "watches", len(cfg.Watches), "profiles", len(cfg.Profiles))
	// The socket listens (Initialize) and the API serves: clients started
	// after kilnd by systemd can connect from here on.
	d.notify.ready(d.statusLine())

	var watchdog <-chan time.Time
	if iv := d.notify.watchdogInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		watchdog = t.C
		d.Logger.Debug("systemd watchdog on", "ping_every", iv)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		d.schedule(ctx)
		d.notify.setStatus(d.statusLine())
		select {
		case <-ctx.Done():
			d.shutdown(hup, watchdog)
			return nil
		case <-hup:
			d.reload(ctx)
		case reply := <-d.reloads:
			reply <- d.reload(ctx)
		case <-watchdog:
			d.notify.watchdog()
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// poke wakes the main loop and event streams without blocking.
func (d *Daemon) poke() {
	d.changes.notify()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// statusLine is systemd's STATUS=, shown by systemctl status.
func (d *Daemon) statusLine() string {
	counts, err := d.store.Counts(context.Background())
	if err != nil {
		return "job store unreadable: " + err.Error()
	}
	s := fmt.Sprintf("%d running, %d queued", counts[store.Running], counts[store.Queued])
	d.mu.Lock()
	if d.reloadErr != "" {
		s += "; last reload rejected, old config in force (kiln health)"
	}
	d.mu.Unlock()
	return s
}

// reload re-reads the config. A bad config is rejected whole: the old one
// stays, and the error is logged, shown by /v1/health and returned. Running
// jobs keep the profile they started with; watch folders whose settings did
// not change keep running, with the files they were settling.
func (d *Daemon) reload(ctx context.Context) error {
	d.notify.reloading()
	err := d.loadAndSwap(ctx)
	d.metrics.reloaded(err == nil)
	// READY=1 ends the reload for systemd either way: a rejected config
	// still leaves a serving daemon.
	d.notify.ready(d.statusLine())
	return err
}

func (d *Daemon) loadAndSwap(ctx context.Context) error {
	var cfg *config.Config
	var err error
	if d.ConfigPath == "" {
		cfg, err = config.Default()
	} else {
		cfg, err = config.Load(d.ConfigPath)
	}
	if err == nil {
		err = config.CheckFolders(cfg) // as kilnd --check: folders shared through links
	}
	old := d.cfg.Load()
	if err == nil && cfg.Daemon.StateDir != old.Daemon.StateDir {
		err = errors.New("state_dir cannot change on reload; restart kilnd")
	}
	if err == nil && cfg.Daemon.Socket != old.Daemon.Socket {
		err = errors.New("socket cannot change on reload; restart kilnd")
	}
	if err == nil && (cfg.Daemon.Store != old.Daemon.Store || cfg.Daemon.StorePasswordFile != old.Daemon.StorePasswordFile ||
		nodeName(cfg) != nodeName(old)) {
		err = errors.New("store, store_password_file and node_name cannot change on reload; restart kilnd")
	}
	d.mu.Lock()
	if err != nil {
		d.reloadErr = err.Error()
		d.mu.Unlock()
		d.Logger.Error("reload rejected; keeping the running config", "err", err)
		return err
	}
	d.reloadErr = ""
	d.mu.Unlock()
	d.cfg.Store(cfg)
	d.api.limiter.setCaps(cfg.Daemon.APIConnections, cfg.Daemon.APIConnectionsPerUser)
	if cfg.Daemon.SocketGroup != old.Daemon.SocketGroup {
		d.api.socket.setGroup(cfg.Daemon.SocketGroup, d.api.log)
	}
	d.syncWatchers(ctx, cfg)
	d.Logger.Info("config reloaded", "config", cfg.Origin, "watches", len(cfg.Watches), "profiles", len(cfg.Profiles))
	// The GPU may have been fixed (driver installed, worker built) since the
	// last probe. Probing starts a process, so it runs beside the loop.
	go d.probeHardware(ctx)
	d.poke()
	return nil
}

// syncWatchers makes the running watch folders match cfg: removed or changed
// watches stop, new or changed ones start, unchanged ones go on untouched,
// with the files they were settling.
func (d *Daemon) syncWatchers(ctx context.Context, cfg *config.Config) {
	want := map[string]config.Watch{}
	for _, w := range cfg.Watches {
		want[w.Name] = w
	}
	rescan := cfg.Daemon.Rescan.Duration
	d.mu.Lock()
	var stop []*runningWatch
	for name, rw := range d.watchers {
		w, ok := want[name]
		// A watch that gave up (its folders could not be made) is started
		// again: its log promised that a reload would retry.
		if !ok || !reflect.DeepEqual(w, rw.watch) || rw.rescan != rescan || isClosed(rw.done) {
			stop = append(stop, rw)
			delete(d.watchers, name)
		}
	}
	d.mu.Unlock()
	for _, rw := range stop {
		rw.cancel()
		<-rw.done
		// A watch that gave up returned without clearing its health notes.
		d.notes.retain(rw.watch.Name, func(string) bool { return false })
		d.Logger.Info("watch folder stopped", "watch", rw.watch.Name)
	}
	for _, w := range cfg.Watches {
		d.mu.Lock()
		_, running := d.watchers[w.Name]
		d.mu.Unlock()
		if running {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		rw := &runningWatch{watch: w, rescan: rescan, cancel: cancel, done: make(chan struct{})}
		wf := &watchFolder{watch: w, rescan: rescan, d: d, log: d.Logger.With("component", "watch", "watch", w.Name)}
		go func() {
			defer close(rw.done)
			wf.run(wctx)
		}()
		d.mu.Lock()
		d.watchers[w.Name] = rw
		d.mu.Unlock()
		d.Logger.Info("watch folder started", "watch", w.Name, "inbox", w.Inbox)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (d *Daemon) stopWatchers() {
	d.mu.Lock()
	all := d.watchers
	d.watchers = map[string]*runningWatch{}
	d.mu.Unlock()
	for _, rw := range all {
		rw.cancel()
	}
	for _, rw := range all {
		<-rw.done
	}
}

// shutdown stops intake at once and gives running jobs stop_grace to finish.
// Then it stops the workers still running and re-queues their jobs, so that
// the next start runs them again. The API keeps answering meanwhile, so
// `kiln watch` shows the last jobs finish, and the watchdog keeps being fed.
func (d *Daemon) shutdown(hup <-chan os.Signal, watchdog <-chan time.Time) {
	d.notify.stopping()
	d.stopWatchers()
	grace := d.cfg.Load().Daemon.StopGrace.Duration
	if n := d.runningCount(); n > 0 {
		d.Logger.Info("stopping: waiting for running jobs", "jobs", n, "stop_grace", grace.String())
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
wait:
	for d.runningCount() > 0 {
		select {
		case <-deadline.C:
			break wait
		case <-watchdog:
			d.notify.watchdog()
		case reply := <-d.reloads:
			reply <- errStopping
		case <-hup:
			d.Logger.Info("ignoring SIGHUP: kilnd is stopping")
		case <-d.wake:
		}
		d.notify.setStatus("stopping: " + d.statusLine())
	}
	d.mu.Lock()
	workers := make([]*workerProcess, 0, len(d.running))
	for _, w := range d.running {
		workers = append(workers, w)
	}
	d.mu.Unlock()
	for _, w := range workers {
		w.stop(errStopping)
	}
	for _, w := range workers {
		<-w.done
	}
	d.Logger.Info("kilnd stopped", "requeued", len(workers))
}

func (d *Daemon) runningCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.running)
}

// Close releases the socket and the store.
func (d *Daemon) Close() {
	if d.api != nil {
		d.api.close()
	}
	if d.store != nil {
		d.store.Close()
	}
}
