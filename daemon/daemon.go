// Package daemon is Kiln's supervisor. It owns the config and its reloads, the
// watch folders, the job store, the scheduler, the worker processes and the
// socket API.
//
// It is pure Go: it must not import pipeline/ (libav) or gpu/ (CUDA). Every job
// runs in a `kilnd worker` child process, so a crash in libav on a hostile
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
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kiln/config"
	"kiln/daemon/store"
	"kiln/staging"
)

// Daemon is the supervisor. Set the exported fields, then call Initialize,
// Run and Close.
type Daemon struct {
	Config     *config.Config // the config at start
	ConfigPath string         // re-read on SIGHUP; "" means the embedded default
	Logger     *slog.Logger
	WorkerCmd  []string // argv that starts one worker: [kilnd, "worker"]
	Version    string

	cfg     atomic.Pointer[config.Config]
	store   *store.Store
	started time.Time
	wake    chan struct{} // pokes the scheduler

	mu           sync.Mutex
	running      map[int64]*workerProcess
	reloadErr    string // the last rejected reload, shown by /v1/health
	watchCancel  context.CancelFunc
	watchersDone sync.WaitGroup
	api          *apiServer
}

// Initialize opens the store, re-queues jobs a crash left running, and
// removes the staging folders they left behind.
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
	d.running = map[int64]*workerProcess{}

	cfg := d.Config
	if err := os.MkdirAll(cfg.Daemon.StateDir, 0o750); err != nil {
		return fmt.Errorf("creating state_dir: %w", err)
	}
	st, err := store.Open(filepath.Join(cfg.Daemon.StateDir, "kiln.db"))
	if err != nil {
		return err
	}
	d.store = st
	n, err := st.RequeueRunning(context.Background())
	if err != nil {
		return err
	}
	if n > 0 {
		d.Logger.Info("re-queued jobs left running by an earlier stop", "jobs", n)
	}
	// Nothing runs yet, so every staging folder is debris.
	for _, w := range cfg.Watches {
		if err := staging.Sweep(w.Output, nil); err != nil {
			d.Logger.Warn("cleaning staging", "watch", w.Name, "err", err)
		}
	}
	d.api = &apiServer{d: d}
	return d.api.listen(cfg.Daemon.Socket)
}

// Run runs until ctx ends: watch folders feed the store, the scheduler starts
// workers, and SIGHUP reloads the config.
func (d *Daemon) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	go d.api.serve()
	d.startWatchers(ctx, d.cfg.Load())
	d.Logger.Info("kilnd running", "version", d.Version, "config", d.cfg.Load().Origin,
		"socket", d.cfg.Load().Daemon.Socket, "watches", len(d.cfg.Load().Watches))

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		d.schedule(ctx)
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case <-hup:
			d.reload(ctx)
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// poke wakes the scheduler without blocking.
func (d *Daemon) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// reload re-reads the config. A bad config is rejected whole: the old one
// stays, and the error is logged and shown by /v1/health. Running jobs keep
// the profile they started with.
func (d *Daemon) reload(ctx context.Context) {
	var cfg *config.Config
	var err error
	if d.ConfigPath == "" {
		cfg, err = config.Default()
	} else {
		cfg, err = config.Load(d.ConfigPath)
	}
	if err == nil && cfg.Daemon.StateDir != d.cfg.Load().Daemon.StateDir {
		err = errors.New("state_dir cannot change on reload; restart kilnd")
	}
	d.mu.Lock()
	if err != nil {
		d.reloadErr = err.Error()
		d.mu.Unlock()
		d.Logger.Error("reload rejected; keeping the running config", "err", err)
		return
	}
	d.reloadErr = ""
	d.mu.Unlock()
	d.cfg.Store(cfg)
	d.stopWatchers()
	d.startWatchers(ctx, cfg)
	d.Logger.Info("config reloaded", "watches", len(cfg.Watches), "profiles", len(cfg.Profiles))
	d.poke()
}

func (d *Daemon) startWatchers(ctx context.Context, cfg *config.Config) {
	wctx, cancel := context.WithCancel(ctx)
	d.watchCancel = cancel
	for _, w := range cfg.Watches {
		wf := &watchFolder{watch: w, d: d, log: d.Logger.With("watch", w.Name)}
		d.watchersDone.Add(1)
		go func() {
			defer d.watchersDone.Done()
			wf.run(wctx)
		}()
	}
}

func (d *Daemon) stopWatchers() {
	if d.watchCancel != nil {
		d.watchCancel()
	}
	d.watchersDone.Wait()
}

// shutdown stops intake, stops the workers and re-queues their jobs, so that
// the next start picks them up again.
func (d *Daemon) shutdown() {
	d.stopWatchers()
	d.mu.Lock()
	workers := make([]*workerProcess, 0, len(d.running))
	for _, w := range d.running {
		workers = append(workers, w)
	}
	d.mu.Unlock()
	for _, w := range workers {
		w.stop(errShutdown)
	}
	for _, w := range workers {
		<-w.done
	}
	d.Logger.Info("kilnd stopped", "requeued", len(workers))
}

// Close releases the store and the socket.
func (d *Daemon) Close() {
	if d.api != nil {
		d.api.close()
	}
	if d.store != nil {
		d.store.Close()
	}
}
