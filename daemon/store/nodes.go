package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// NodeStatus is what a node reports with each heartbeat.
type NodeStatus struct {
	Version string
	// Hardware is the node's hardware report as JSON (GET /v1/hardware's
	// body); nil for none yet.
	Hardware   json.RawMessage
	Slots      int // CPU and GPU worker slots together
	GPUSlots   int // of which on the GPU worker
	Running    int // jobs running now
	RunningGPU int // of which on the GPU worker
	StartedAt  time.Time
}

// Node is one node of the registry as the last heartbeat left it.
type Node struct {
	Name     string
	Host     string // the machine's host name
	Instance string // the kilnd process holding the name: random, new at every start
	NodeStatus
	HeartbeatAt time.Time
	LeaseUntil  time.Time
}

// Up reports whether the node's lease still runs at now.
func (n Node) Up(now time.Time) bool { return !n.LeaseUntil.Before(now) }

// FreeGPUSlots is how many more jobs the node's GPU worker could take.
func (n Node) FreeGPUSlots() int { return max(n.GPUSlots-n.RunningGPU, 0) }

// Heartbeat registers this node (s.Node) or renews its entry: its status, and
// a lease that runs until now+lease. Until the lease runs out, no other node
// re-queues this node's running jobs.
//
// A name is one kilnd instance's at a time: if another instance holds it
// with a live lease, the heartbeat changes nothing and the error wraps
// ErrNodeNameTaken, naming the holder. Host names do not tell appliances
// apart (clones share them), instances do. A live lease of an instance
// that has certainly ended (on this boot of this machine, its process
// gone: a crash and restart) does not block its successor.
func (s *Store) Heartbeat(ctx context.Context, st NodeStatus, lease time.Duration) error {
	if lease <= 0 {
		return fmt.Errorf("job store: heartbeat of node %s: the lease must be positive, not %s", s.Node, lease)
	}
	host := s.host
	hw := st.Hardware
	if hw == nil {
		hw = json.RawMessage(`{}`)
	}
	if !json.Valid(hw) {
		return fmt.Errorf("job store: heartbeat of node %s: its hardware report is not valid JSON", s.Node)
	}
	return s.inTx(ctx, func(tx querier) error {
		now := s.now()
		var (
			holder, holderHost, holderBoot string
			until, since                   int64
			holderPID                      int
		)
		err := tx.QueryRowContext(ctx, `SELECT instance, host, boot_id, pid, lease_until, started_at FROM nodes WHERE name = ?`+s.forUpdate("FOR UPDATE"), s.Node).
			Scan(&holder, &holderHost, &holderBoot, &holderPID, &until, &since)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("job store: heartbeat of node %s: %w", s.Node, err)
		case holder != s.Instance && until >= now && !s.instanceGone(holderHost, holderBoot, holderPID, holder):
			return fmt.Errorf("node name %q is already live as instance %s on host %s (pid %d) since %s: give each appliance its own [daemon] node_name: %w",
				s.Node, holder, holderHost, holderPID, mtimeFromNanos(since).UTC().Format(time.RFC3339), ErrNodeNameTaken)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO nodes (name, host, version, hardware, slots, gpu_slots, running, running_gpu,
				started_at, heartbeat_at, lease_until, instance, boot_id, pid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET host = excluded.host, version = excluded.version,
				instance = excluded.instance, boot_id = excluded.boot_id, pid = excluded.pid,
				hardware = excluded.hardware, slots = excluded.slots, gpu_slots = excluded.gpu_slots,
				running = excluded.running, running_gpu = excluded.running_gpu, started_at = excluded.started_at,
				heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until`,
			s.Node, host, st.Version, string(hw), st.Slots, st.GPUSlots, st.Running, st.RunningGPU,
			mtimeNanos(st.StartedAt), now, now+lease.Nanoseconds(), s.Instance, s.bootID, os.Getpid())
		if err != nil {
			return fmt.Errorf("job store: heartbeat of node %s: %w", s.Node, err)
		}
		return nil
	})
}

// Nodes lists the registry by name, down nodes included.
func (s *Store) Nodes(ctx context.Context) ([]Node, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT name, host, instance, version, hardware, slots, gpu_slots, running, running_gpu,
			started_at, heartbeat_at, lease_until
		FROM nodes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("job store: listing nodes: %w", err)
	}
	defer rows.Close()
	var nodes []Node
	for rows.Next() {
		var (
			n                       Node
			hw                      string
			started, beat, deadline int64
		)
		if err := rows.Scan(&n.Name, &n.Host, &n.Instance, &n.Version, &hw, &n.Slots, &n.GPUSlots, &n.Running, &n.RunningGPU,
			&started, &beat, &deadline); err != nil {
			return nil, fmt.Errorf("job store: listing nodes: %w", err)
		}
		n.Hardware = json.RawMessage(hw)
		n.StartedAt = mtimeFromNanos(started)
		n.HeartbeatAt = time.Unix(0, beat)
		n.LeaseUntil = time.Unix(0, deadline)
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job store: listing nodes: %w", err)
	}
	return nodes, nil
}

// Reaped is a job ReapExpired put back in the queue.
type Reaped struct {
	ID   int64
	Node string // the node that had claimed it
}

// ReapExpired re-queues the running jobs of nodes whose lease has expired:
// they died, or lost the store, and another node must run their jobs. The
// job keeps its place in the queue and its attempt stays counted, as after a
// daemon restart; the reaper never fails a job (only a worker that crashes
// max_attempts times does). The dead node's late result, if it ever comes,
// is refused (FinishClaim).
//
// Jobs of this node are never reaped here: it is alive, since it is asking.
func (s *Store) ReapExpired(ctx context.Context) ([]Reaped, error) {
	var reaped []Reaped
	err := s.inTx(ctx, func(tx querier) error {
		reaped = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, node FROM jobs
			WHERE state = 'running' AND node <> ?
				AND node NOT IN (SELECT name FROM nodes WHERE lease_until >= ?)`+s.forUpdate("FOR UPDATE SKIP LOCKED"),
			s.Node, s.now())
		if err != nil {
			return err
		}
		for rows.Next() {
			var r Reaped
			if err := rows.Scan(&r.ID, &r.Node); err != nil {
				rows.Close()
				return err
			}
			reaped = append(reaped, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range reaped {
			who := "node " + r.Node
			if r.Node == "" {
				who = "a node from before fleet mode"
			}
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', started_at = NULL, progress = 0, fps = 0,
					worker_pid = 0, node = '', reason = ?
				WHERE id = ? AND state = 'running' AND node = ?`,
				"requeued: "+who+" stopped sending heartbeats while the job was running", r.ID, r.Node); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("job store: re-queueing jobs of dead nodes: %w", err)
	}
	return reaped, nil
}

// RequeueOrphans re-queues the jobs that run under this node's name but
// that this instance does not run: claimed by an instance that died (a
// clone under the same name, a crash this instance followed), or by this
// one without a worker holding them any more. held lists the jobs this
// instance's workers hold; jobs claimed after claimedBefore are left out,
// as their worker may be starting. ReapExpired never takes these: it skips
// this node's name, which is alive.
func (s *Store) RequeueOrphans(ctx context.Context, held []int64, claimedBefore time.Time) ([]int64, error) {
	keep := map[int64]bool{}
	for _, id := range held {
		keep[id] = true
	}
	var orphans []int64
	err := s.inTx(ctx, func(tx querier) error {
		orphans = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, instance FROM jobs
			WHERE state = 'running' AND node = ? AND started_at < ?`+s.forUpdate("FOR UPDATE SKIP LOCKED"),
			s.Node, claimedBefore.UnixNano())
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var instance string
			if err := rows.Scan(&id, &instance); err != nil {
				rows.Close()
				return err
			}
			if instance != s.Instance || !keep[id] {
				orphans = append(orphans, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range orphans {
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', started_at = NULL, progress = 0, fps = 0,
					worker_pid = 0, node = '', instance = '', reason = ?
				WHERE id = ? AND state = 'running' AND node = ?`,
				"requeued: it ran under node "+s.Node+", but no worker of this node's running instance held it", id, s.Node); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("job store: re-queueing node %s's orphaned jobs: %w", s.Node, err)
	}
	return orphans, nil
}

// RunningHere returns the jobs this node holds a claim on, with the attempt
// each was claimed at. The daemon compares it with the workers it runs: a
// job missing here was taken over, and its worker must stop.
func (s *Store) RunningHere(ctx context.Context) (map[int64]int, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT id, attempts FROM jobs WHERE state = 'running' AND node = ? AND instance = ?`, s.Node, s.Instance)
	if err != nil {
		return nil, fmt.Errorf("job store: listing node %s's jobs: %w", s.Node, err)
	}
	defer rows.Close()
	claims := map[int64]int{}
	for rows.Next() {
		var id int64
		var attempts int
		if err := rows.Scan(&id, &attempts); err != nil {
			return nil, fmt.Errorf("job store: listing node %s's jobs: %w", s.Node, err)
		}
		claims[id] = attempts
	}
	return claims, rows.Err()
}

// RunningElsewhere reports whether job id is running on another node now.
// The daemon asks before it sweeps a staging folder it did not create.
func (s *Store) RunningElsewhere(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE id = ? AND state = 'running' AND node <> ?`, id, s.Node).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("job store: reading job %d: %w", id, err)
	}
	return n > 0, nil
}

// Leave ends this node's lease at once, for a clean stop: its jobs are
// already re-queued, and the registry then shows it down without waiting for
// the lease to run out.
func (s *Store) Leave(ctx context.Context) error {
	// Through inTx, so that on SQLite it queues with this process's other
	// writers instead of meeting their shared transaction in the busy handler.
	err := s.inTx(ctx, func(tx querier) error {
		_, err := tx.ExecContext(ctx, `UPDATE nodes SET lease_until = ?, running = 0, running_gpu = 0
			WHERE name = ? AND instance = ?`, s.now()-1, s.Node, s.Instance)
		return err
	})
	if err != nil {
		return fmt.Errorf("job store: node %s leaving: %w", s.Node, err)
	}
	return nil
}
