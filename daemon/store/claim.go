package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Claim takes the next job off the queue: it marks it running, stamps
// started_at and counts the attempt, all in one transaction, so each queued
// job is handed out once however many schedulers (or daemons) ask at the same
// time. ok is false when nothing is queued.
//
// The next job is the one with the best effective rank, then the one queued
// first. The effective rank is the priority less one level per AgingStep
// waited, so a low job that has waited two steps ties with a fresh high job
// and, being older, runs first. Ranking this way is the same as ordering by
// queued_at plus a fixed delay per level, which is why it can never starve
// anything.
//
// The claim records s.Node as the job's node. With PostgreSQL the queued row
// is taken FOR UPDATE SKIP LOCKED, so nodes claiming at the same instant each
// get a different job instead of waiting on one another. A node whose own
// lease has expired in the registry claims nothing: the others already treat
// it as dead and would re-queue what it took.
func (s *Store) Claim(ctx context.Context) (Job, bool, error) {
	return s.ClaimWith(ctx, ClaimOptions{})
}

// ClaimOptions narrow what a claim may take.
type ClaimOptions struct {
	// Defer lists profiles this node leaves to others for a while: jobs of
	// these profiles queued less than DeferFor ago are skipped. A node
	// without a GPU uses it for the profiles a GPU node would run faster.
	Defer    []string
	DeferFor time.Duration
}

// ClaimWith is Claim with options.
func (s *Store) ClaimWith(ctx context.Context, opt ClaimOptions) (Job, bool, error) {
	var (
		job Job
		ok  bool
	)
	claim := func(tx querier) error {
		// One statement picks, checks the lease and claims, and returns the
		// claimed job: with cached statements, a claim is one step of the
		// VM, or one round trip to PostgreSQL, instead of four.
		now := s.now()
		// This node may claim while its lease runs, or when it has no
		// registry entry at all (a store used without heartbeats, as by
		// tools and tests, has nobody to reap its jobs). A node whose lease
		// expired claims nothing: the others already treat it as dead and
		// would re-queue what it took. Nor does an instance whose name
		// another instance holds now.
		where := `state = 'queued' AND NOT EXISTS (SELECT 1 FROM nodes WHERE name = ? AND (lease_until < ? OR instance <> ?))`
		args := []any{now, s.Node, s.Instance, s.Node, now, s.Instance}
		if len(opt.Defer) > 0 && opt.DeferFor > 0 {
			where += ` AND NOT (queued_at > ? AND profile IN (?` + strings.Repeat(", ?", len(opt.Defer)-1) + `))`
			args = append(args, now-opt.DeferFor.Nanoseconds())
			for _, p := range opt.Defer {
				args = append(args, p)
			}
		}
		order := `priority, queued_at, id`
		if step := s.AgingStep.Nanoseconds(); step > 0 {
			// Integer division truncates in SQLite and PostgreSQL alike, so
			// the rank drops by whole levels.
			order = `priority - (? - queued_at) / ?, queued_at, id`
			args = append(args, now, step)
		}
		// The outer state condition keeps the update safe even if the row
		// lock were ever weakened.
		jobs, err := queryJobs(ctx, tx, `UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1,
				progress = 0, fps = 0, worker_pid = 0, node = ?, instance = ?
			WHERE id = (SELECT id FROM jobs WHERE `+where+` ORDER BY `+order+` LIMIT 1`+s.forUpdate("FOR UPDATE SKIP LOCKED")+`)
				AND state = 'queued'
			RETURNING `+jobReturning, args...)
		if err != nil {
			return fmt.Errorf("job store: claiming the next job: %w", err)
		}
		if len(jobs) == 1 {
			job, ok = jobs[0], true
		}
		return nil
	}
	// A single statement is atomic by itself. On PostgreSQL it needs no
	// transaction around it, which would cost two more round trips (BEGIN,
	// COMMIT): the row it picks stays locked until it commits, so concurrent
	// claims skip it. An empty poll is then one round trip too. SQLite's
	// claims join the group commit like every writer; an empty one waits in
	// its queue rather than spinning on the CPU the writers need.
	var err error
	if s.postgres {
		err = claim(s.conn)
	} else {
		err = s.inTx(ctx, claim)
	}
	if err != nil {
		return Job{}, false, err
	}
	return job, ok, nil
}
