package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"kiln/daemon/store"
	"kiln/daemon/store/pgserver"
)

// storeJobs is how many jobs each scenario pushes through the store.
const storeJobs = 1000

// storeClaimers is N of "N concurrent claimers": more than an appliance's
// concurrent jobs, as when several schedulers share one store.
const storeClaimers = 8

// store measures the daemon's job store in process, on a file on the same
// filesystem as the results (a real disk, as /var/lib/kiln is), with the
// store's own settings (WAL, synchronous=FULL).
func (h *harness) store(ctx context.Context) error {
	dir := filepath.Join(h.runDir, "store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res := &StoreResult{Path: h.rel(dir), FS: fsType(dir)}
	p50, p99, err := fsyncLatency(dir)
	if err != nil {
		return err
	}
	res.FsyncP50, res.FsyncP99 = p50, p99
	fmt.Fprintf(h.log, "  fsync of 4 KiB on %s: p50 %.3f ms, p99 %.3f ms\n", res.FS, p50, p99)

	scenarios := []struct {
		name     string
		claimers int // 0: one goroutine enqueues, claims and finishes in turn
	}{
		{"enqueue → claim → finish in turn, 1 claimer", 0},
		{"1 producer, 1 claimer, concurrently", 1},
		{fmt.Sprintf("1 producer, %d claimers, concurrently", storeClaimers), storeClaimers},
	}
	measure := func(backend string, open func(i int) (*store.Store, error), serverCPU func() float64) error {
		for i, sc := range scenarios {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, err := open(i)
			if err != nil {
				return err
			}
			r, err := storeScenario(ctx, s, sc.claimers, storeJobs, serverCPU)
			s.Close()
			if err != nil {
				return fmt.Errorf("%s, %s: %w", backend, sc.name, err)
			}
			r.Name, r.Backend = sc.name, backend
			fmt.Fprintf(h.log, "  %-10s %-44s %7.0f jobs/s  claim p50 %.2f ms  p99 %.2f ms  enqueue p50 %.2f ms  (CPU %.2f of wall, server %.2f; %.2f operations a commit)\n",
				backend, r.Name, r.JobsPerSec, r.ClaimP50, r.ClaimP99, r.EnqueueP50, r.CPUPerWall, r.ServerCPUPerWall, r.OpsPerCommit)
			res.Scenarios = append(res.Scenarios, r)
		}
		return nil
	}
	err = measure("SQLite", func(i int) (*store.Store, error) {
		return store.Open(filepath.Join(dir, fmt.Sprintf("jobs-%d.db", i)))
	}, nil)
	if err != nil {
		return err
	}

	srv, err := pgserver.Start(filepath.Join(dir, "postgres"), pgserver.Options{Durable: true})
	if err != nil {
		return fmt.Errorf("PostgreSQL: %w", err)
	}
	defer srv.Stop()
	pg := pgServer{srv}
	if res.Postgres, err = pg.settings(); err != nil {
		return fmt.Errorf("PostgreSQL: %w", err)
	}
	fmt.Fprintf(h.log, "  PostgreSQL on the same filesystem: %s\n", res.Postgres)
	err = measure("PostgreSQL", func(i int) (*store.Store, error) {
		dsn, err := pg.CreateDatabase(fmt.Sprintf("kiln_bench_%d", i))
		if err != nil {
			return nil, err
		}
		return store.OpenPostgres(dsn)
	}, pg.cpu)
	if err != nil {
		return err
	}
	h.res.Store = res
	return nil
}

// storeScenario pushes jobs through enqueue (AddSource), Claim and Finish.
// With claimers 0 one goroutine does all three in turn; otherwise one
// producer enqueues while the claimers claim and finish, polling again
// at once when the queue is empty. serverCPU, if not nil, reads a database
// server's CPU seconds, which the bench process's own do not include.
func storeScenario(ctx context.Context, s *store.Store, claimers, jobs int, serverCPU func() float64) (StoreScenario, error) {
	r := StoreScenario{Claimers: max(claimers, 1), Jobs: jobs}
	// Only the producer enqueues, so enqueue latencies need no lock.
	var enqueued []float64
	add := func(i int) error {
		t := time.Now()
		_, _, err := s.AddSource(ctx, store.NewSource{Path: fmt.Sprintf("/srv/in/clip-%06d.mxf", i), OutputDir: "/srv/out",
			Size: 1 << 30, Mtime: time.Now(), Jobs: []store.NewJob{{Profile: "pal", Priority: store.Normal}}})
		enqueued = append(enqueued, float64(time.Since(t).Microseconds())/1000)
		return err
	}
	var (
		mu        sync.Mutex
		latencies []float64
		empty     atomic.Int64
	)
	claimOne := func() (bool, error) {
		t := time.Now()
		j, ok, err := s.Claim(ctx)
		d := time.Since(t)
		if err != nil || !ok {
			return false, err
		}
		mu.Lock()
		latencies = append(latencies, float64(d.Microseconds())/1000)
		mu.Unlock()
		_, err = s.Finish(ctx, j.ID, store.Done, "", []byte(`{}`))
		return true, err
	}
	c0, w0 := processCPU(), s.WriteStats()
	var sc0 float64
	if serverCPU != nil {
		sc0 = serverCPU()
	}
	began := time.Now()
	if claimers == 0 {
		for i := 0; i < jobs; i++ {
			if err := add(i); err != nil {
				return r, err
			}
			if ok, err := claimOne(); err != nil || !ok {
				return r, fmt.Errorf("claim after enqueue: ok=%v err=%v", ok, err)
			}
		}
	} else {
		var done atomic.Int64
		errs := make(chan error, claimers+1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < jobs; i++ {
				if err := add(i); err != nil {
					errs <- err
					return
				}
			}
		}()
		for c := 0; c < claimers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done.Load() < int64(jobs) && ctx.Err() == nil && len(errs) == 0 {
					ok, err := claimOne()
					if err != nil {
						errs <- err
						return
					}
					if ok {
						done.Add(1)
					} else {
						empty.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return r, err
		}
	}
	wall := time.Since(began).Seconds()
	r.Seconds = round3(wall)
	r.JobsPerSec = float64(jobs) / wall
	r.CPUPerWall = (processCPU() - c0) / wall
	if serverCPU != nil {
		r.ServerCPUPerWall = (serverCPU() - sc0) / wall
	}
	if w := s.WriteStats(); w.Transactions > w0.Transactions {
		r.OpsPerCommit = float64(w.Ops-w0.Ops) / float64(w.Transactions-w0.Transactions)
	}
	r.EmptyClaims = int(empty.Load())
	slices.Sort(latencies)
	r.ClaimP50, r.ClaimP99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	slices.Sort(enqueued)
	r.EnqueueP50 = percentile(enqueued, 0.50)
	return r, nil
}

// fsyncLatency times writing 4 KiB and fsyncing it, the floor under every
// committed transaction with synchronous=FULL.
func fsyncLatency(dir string) (p50, p99 float64, err error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var ms []float64
	for i := 0; i < 200; i++ {
		t := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		ms = append(ms, float64(time.Since(t).Microseconds())/1000)
	}
	slices.Sort(ms)
	return percentile(ms, 0.5), percentile(ms, 0.99), nil
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// fsType names the filesystem holding dir, from its magic number.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return "unknown"
	}
	names := map[int64]string{0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs", 0x794c7630: "overlayfs", 0x6969: "nfs", 0x65735546: "fuse"}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", st.Type)
}

// pgServer is a private PostgreSQL server for the store section, run with
// the durability a fleet's store must have: fsync, synchronous_commit and
// full_page_writes keep their defaults, on, and settings checks they are.
type pgServer struct{ *pgserver.Server }

// settings describes the server and refuses one that would not make a
// commit durable: a figure measured so would not be the store's.
func (p pgServer) settings() (string, error) {
	db, err := sql.Open("pgx", p.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	got := map[string]string{}
	for _, name := range []string{"server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method"} {
		var v string
		if err := db.QueryRow(`SHOW ` + name).Scan(&v); err != nil {
			return "", err
		}
		got[name] = v
	}
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		if got[name] != "on" {
			return "", fmt.Errorf("%s is %s; the store section measures a durable store", name, got[name])
		}
	}
	return fmt.Sprintf("PostgreSQL %s, fsync=on, synchronous_commit=on, full_page_writes=on, wal_sync_method=%s",
		got["server_version"], got["wal_sync_method"]), nil
}

// cpu is the CPU seconds of the postmaster and its children (the backends
// serving the store's connections, the WAL writer, the checkpointer), read
// from /proc while they run: they are not the bench process's children, so
// getrusage never counts them.
func (p pgServer) cpu() float64 {
	root := p.Pid()
	if root == 0 {
		return 0
	}
	entries, _ := os.ReadDir("/proc")
	tick := 100.0 // USER_HZ, 100 on every Linux port Kiln runs on
	total := 0.0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may
		// hold spaces: state ppid … utime (14th field) stime (15th).
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if pid != root && ppid != root {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (ut + st) / tick
	}
	return total
}
