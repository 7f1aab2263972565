package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"kiln/config"
	"kiln/daemon/store"
	"kiln/hardware"
)

// errClaimLost stops a worker whose job another node has taken over: this
// node's lease expired (it was cut off from the store, or stalled), and the
// job was re-queued for the fleet.
var errClaimLost = errors.New("this node's claim on the job ended")

// nodeName is this appliance's name in the node registry: [daemon] node_name,
// or the host name.
func nodeName(cfg *config.Config) string {
	if cfg.Daemon.NodeName != "" {
		return cfg.Daemon.NodeName
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// heartbeat registers this node, or renews its lease, with its hardware and
// load. A name another live host holds is an error for the caller to act on.
func (d *Daemon) heartbeat(ctx context.Context) error {
	st := store.NodeStatus{Version: d.Version, StartedAt: d.started}
	// The report GET /v1/hardware gives, once the first probe is in.
	if d.hardware.Load() != nil {
		if b, err := json.Marshal(d.currentHardware()); err == nil {
			st.Hardware = b
		}
	}
	cpuFree, gpuFree := d.freeSlots()
	d.mu.Lock()
	for _, w := range d.running {
		st.Running++
		if w.backend == "cuda" {
			st.RunningGPU++
		}
	}
	d.mu.Unlock()
	st.GPUSlots = gpuFree + st.RunningGPU
	st.Slots = cpuFree + gpuFree + st.Running
	return d.store.Heartbeat(ctx, st, d.cfg.Load().Daemon.Lease.Duration)
}

// keepLease runs until ctx ends: every lease/3 it renews this node's lease,
// re-queues the jobs of nodes whose lease expired, stops the workers of jobs
// this node no longer holds, and notes whether a GPU node could take GPU
// work. A failed heartbeat is retried at the next tick; three missed in a
// row cost the lease, and the other nodes then take this node's jobs.
func (d *Daemon) keepLease(ctx context.Context) {
	for {
		lease := d.cfg.Load().Daemon.Lease.Duration
		select {
		case <-ctx.Done():
			return
		case <-time.After(lease / 3):
		}
		if d.heartbeatsPaused.Load() {
			continue
		}
		if err := d.heartbeat(ctx); err != nil {
			if ctx.Err() == nil {
				d.metrics.storeFailed("heartbeat")
				d.heartbeatOutage.fail(d.Logger.With("node", d.store.Node), "node heartbeat", time.Now(), err)
			}
			continue
		}
		d.heartbeatOutage.ok(d.Logger.With("node", d.store.Node), "node heartbeat", time.Now())
		d.reap(ctx)
		d.requeueOrphans(ctx)
		d.stopLostClaims(ctx)
		d.readRegistry(ctx)
	}
}

// reap re-queues the jobs of dead nodes; this node's scheduler, or another
// node's, then runs them.
func (d *Daemon) reap(ctx context.Context) {
	reaped, err := d.store.ReapExpired(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Error("re-queueing the jobs of dead nodes", "err", err)
		}
		return
	}
	for _, r := range reaped {
		d.Logger.Warn("job re-queued: its node's lease expired", "job", r.ID, "node", r.Node)
		d.metrics.leaseExpired()
	}
	if len(reaped) > 0 {
		d.poke()
	}
}

// requeueOrphans re-queues the jobs running under this node's name that no
// worker of this instance holds. The other nodes never reap them: the name
// is alive. A job claimed in the last second is left for the next round,
// and a claim in progress makes this round skip (TryLock: a claim stuck on an
// unreachable store must not hold up the heartbeats).
func (d *Daemon) requeueOrphans(ctx context.Context) {
	if !d.claiming.TryLock() {
		return
	}
	d.mu.Lock()
	held := make([]int64, 0, len(d.running)+len(d.filing))
	for id := range d.running {
		held = append(held, id)
	}
	for id := range d.filing {
		held = append(held, id)
	}
	d.mu.Unlock()
	orphans, err := d.store.RequeueOrphans(ctx, held, d.store.Now().Add(-time.Second))
	d.claiming.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Error("re-queueing this node's orphaned jobs", "err", err)
		}
		return
	}
	for _, id := range orphans {
		d.Logger.Warn("job re-queued: running under this node's name, but no worker of this instance holds it", "job", id, "node", d.store.Node)
	}
	if len(orphans) > 0 {
		d.poke()
	}
}

// stopLostClaims stops the workers of jobs this node no longer holds: while
// it could not renew its lease, another node re-queued them and may run them
// now. Their results would not count anyway (FinishClaim refuses them).
func (d *Daemon) stopLostClaims(ctx context.Context) {
	// The workers are listed before the store is asked: a job claimed in
	// between is then not mistaken for a lost one.
	d.mu.Lock()
	mine := make(map[int64]*workerProcess, len(d.running))
	for id, w := range d.running {
		mine[id] = w
	}
	d.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	held, err := d.store.RunningHere(ctx)
	if err != nil {
		d.Logger.Error("checking this node's claims", "err", err)
		return
	}
	for id, w := range mine {
		if attempts, ok := held[id]; ok && attempts == w.job.Attempts {
			continue
		}
		d.mu.Lock()
		still := d.running[id] == w
		d.mu.Unlock()
		if still {
			w.log.Warn("stopping the worker: another node took the job over after this node's lease expired")
			w.stop(errClaimLost)
		}
	}
}

// readRegistry notes whether a live GPU node other than this one has free
// GPU slots, for gpuDeferral.
func (d *Daemon) readRegistry(ctx context.Context) {
	nodes, err := d.store.Nodes(ctx)
	if err != nil {
		d.Logger.Error("reading the node registry", "err", err)
		return
	}
	now := d.store.Now()
	free := false
	for _, n := range nodes {
		if n.Name != d.store.Node && n.Up(now) && n.FreeGPUSlots() > 0 {
			free = true
		}
	}
	d.gpuPeerFree.Store(free)
}

// gpuDeferral is what this node leaves to GPU nodes. A job wants a GPU when
// its profile encodes H.264 or HEVC, which NVENC does many times faster than
// x264/x265 (hardware.NVENCRenditions). A node that cannot put such a job on
// a GPU now (it has none, or its GPU slots are all taken; gpuFree is its free
// GPU slots) leaves it alone for one lease after it was queued, as long as
// another live node has free GPU slots; then it takes it, so that no job
// waits for ever on a GPU node that is busy or gone.
func (d *Daemon) gpuDeferral(cfg *config.Config, gpuFree int) store.ClaimOptions {
	if gpuFree > 0 || !d.gpuPeerFree.Load() {
		return store.ClaimOptions{}
	}
	var names []string
	for name, p := range cfg.Profiles {
		if _, n := hardware.NVENCRenditions(*p); n > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return store.ClaimOptions{Defer: names, DeferFor: cfg.Daemon.Lease.Duration}
}

// nodeLabel says, for logs, which node and store this is.
func (d *Daemon) nodeLabel() string {
	if d.store.Postgres() {
		return fmt.Sprintf("node %s of a fleet (store %s)", d.store.Node, d.store.Path())
	}
	return fmt.Sprintf("node %s (store %s)", d.store.Node, d.store.Path())
}
