package store

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln/daemon/store/pgtest"
)

// openFleet opens n stores on one fresh PostgreSQL database, as n nodes
// named node-1… would, sharing one manual clock.
func openFleet(t *testing.T, n int) ([]*Store, *clock) {
	t.Helper()
	dsn := pgtest.DSN(t)
	c := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	var nodes []*Store
	for i := 1; i <= n; i++ {
		s, err := OpenPostgres(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.Now = c.Now
		s.Node = fmt.Sprintf("node-%d", i)
		nodes = append(nodes, s)
	}
	return nodes, c
}

func TestFleetClaimsEachJobOnce(t *testing.T) {
	nodes, _ := openFleet(t, 3)
	ctx := context.Background()
	const total = 120
	for i := 0; i < total/4; i++ {
		ns := NewSource{Path: fmt.Sprintf("/in/%d", i), OutputDir: "/out"}
		for k := 0; k < 4; k++ {
			ns.Jobs = append(ns.Jobs, NewJob{Profile: fmt.Sprintf("p%d", k)})
		}
		if _, _, err := nodes[0].AddSource(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
		errs    = make(chan error, 2*len(nodes))
	)
	for _, s := range nodes {
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j, ok, err := s.Claim(ctx)
					if err != nil || !ok {
						errs <- err
						return
					}
					mu.Lock()
					if other, dup := claimed[j.ID]; dup {
						errs <- fmt.Errorf("job %d claimed by %s and %s", j.ID, other, s.Node)
					}
					claimed[j.ID] = s.Node
					mu.Unlock()
					if j.Node != s.Node {
						errs <- fmt.Errorf("job %d claimed by %s records node %q", j.ID, s.Node, j.Node)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(claimed) != total {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), total)
	}
}

// Two nodes finishing a source's last two jobs at the same instant: exactly
// one of them must see the source finished, or the file would be filed twice
// or never.
func TestFleetSourceSettlesOnce(t *testing.T) {
	nodes, _ := openFleet(t, 2)
	ctx := context.Background()
	for round := 0; round < 15; round++ {
		_, jobs, err := nodes[0].AddSource(ctx, NewSource{Path: fmt.Sprintf("/in/%d", round), OutputDir: "/out",
			Jobs: []NewJob{{Profile: "a"}, {Profile: "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		a, _, _ := nodes[0].Claim(ctx)
		b, _, _ := nodes[1].Claim(ctx)
		if a.SourceID != jobs[0].SourceID || b.SourceID != jobs[0].SourceID {
			t.Fatalf("round %d: claimed %d and %d, want the two new jobs", round, a.ID, b.ID)
		}
		var (
			wg       sync.WaitGroup
			finished [2]bool
			errs     [2]error
		)
		for i, j := range []Job{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := nodes[i].FinishClaim(ctx, j, Done, "", nil)
				finished[i], errs[i] = out.Finished, err
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		if finished[0] == finished[1] {
			t.Fatalf("round %d: Finished seen by node-1 %v, node-2 %v; want exactly one", round, finished[0], finished[1])
		}
	}
}

func TestFleetLeaseExpiryMovesJobs(t *testing.T) {
	nodes, c := openFleet(t, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	const lease = 30 * time.Second
	for _, s := range nodes {
		if err := s.Heartbeat(ctx, NodeStatus{Version: "test", Slots: 2}, lease); err != nil {
			t.Fatal(err)
		}
	}
	add(t, a, "/in/x.mxf", Normal, "p")
	j := claim(t, a)

	// Within the lease nothing moves.
	c.Advance(lease / 2)
	if err := b.Heartbeat(ctx, NodeStatus{}, lease); err != nil {
		t.Fatal(err)
	}
	if r, err := b.ReapExpired(ctx); err != nil || len(r) != 0 {
		t.Fatalf("reaped %v (%v) while node-1's lease runs", r, err)
	}

	// node-1 stops sending heartbeats; once its lease ends, node-2 takes over.
	c.Advance(lease)
	if err := b.Heartbeat(ctx, NodeStatus{}, lease); err != nil {
		t.Fatal(err)
	}
	reaped, err := b.ReapExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reaped) != 1 || reaped[0].ID != j.ID || reaped[0].Node != "node-1" {
		t.Fatalf("reaped %+v, want job %d of node-1", reaped, j.ID)
	}
	if got, _ := b.Get(ctx, j.ID); got.State != Queued || !strings.Contains(got.Reason, "node-1") {
		t.Fatalf("after the reap: %+v", got)
	}
	if _, ok, err := a.Claim(ctx); err != nil || ok {
		t.Fatalf("node-1, whose lease expired, claimed a job (ok %v, err %v)", ok, err)
	}
	again := claim(t, b)
	if again.ID != j.ID || again.Node != "node-2" || again.Attempts != 2 {
		t.Fatalf("node-2 claimed %+v, want job %d at attempt 2", again, j.ID)
	}
	// node-1's late result does not count, whatever it says.
	if _, err := a.FinishClaim(ctx, j, Failed, "late", nil); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("late finish by node-1: %v, want ErrClaimLost", err)
	}
	if err := a.RequeueClaim(ctx, j, "late"); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("late requeue by node-1: %v, want ErrClaimLost", err)
	}
	if err := a.SetProgress(ctx, j.ID, 0.5, 10); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("node-1 setting the progress of a job node-2 runs: %v, want ErrClaimLost", err)
	}
	out, err := b.FinishClaim(ctx, again, Done, "", nil)
	if err != nil || !out.Finished || !out.AllDone {
		t.Fatalf("node-2's finish: %+v, %v", out, err)
	}
	// node-1 comes back: its heartbeat renews the lease and it claims again.
	if err := a.Heartbeat(ctx, NodeStatus{}, lease); err != nil {
		t.Fatal(err)
	}
	add(t, a, "/in/y.mxf", Normal, "p")
	if j := claim(t, a); j.Node != "node-1" {
		t.Fatalf("node-1 back: claimed %+v", j)
	}
}

func TestFleetRequeueRunningTakesOnlyOwnJobs(t *testing.T) {
	nodes, _ := openFleet(t, 2)
	ctx := context.Background()
	add(t, nodes[0], "/in/a", Normal, "p")
	add(t, nodes[0], "/in/b", Normal, "p")
	ja := claim(t, nodes[0])
	jb := claim(t, nodes[1])
	n, err := nodes[0].RequeueRunning(ctx) // node-1 restarts
	if err != nil || n != 1 {
		t.Fatalf("RequeueRunning = %d, %v; want node-1's one job", n, err)
	}
	if j, _ := nodes[0].Get(ctx, ja.ID); j.State != Queued {
		t.Errorf("node-1's job is %s, want queued", j.State)
	}
	if j, _ := nodes[0].Get(ctx, jb.ID); j.State != Running || j.Node != "node-2" {
		t.Errorf("node-2's job is %s on %q, want still running on node-2", j.State, j.Node)
	}
}

// Every node scans the shared inbox; each drop of a file becomes one source,
// however many nodes try at once, and never a second one once filed away.
func TestFleetSameDropTakenOnce(t *testing.T) {
	nodes, _ := openFleet(t, 3)
	ctx := context.Background()
	drop := NewSource{Path: "/in/news.mxf", Watch: "pal", OutputDir: "/out", Size: 100,
		Mtime: time.Unix(1700000000, 1), ContentHash: "abc", Jobs: []NewJob{{Profile: "p"}}}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   int
		errs []error
	)
	for _, s := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.AddSource(ctx, drop)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrSourceActive), errors.Is(err, ErrAlreadyTaken):
			default:
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || len(errs) > 0 {
		t.Fatalf("%d nodes took the file, errors %v; want exactly one and no errors", ok, errs)
	}
	j := claim(t, nodes[1])
	if _, err := nodes[1].FinishClaim(ctx, j, Done, "", nil); err != nil {
		t.Fatal(err)
	}
	// A node that listed the inbox before the file moved to done/.
	if _, _, err := nodes[2].AddSource(ctx, drop); !errors.Is(err, ErrAlreadyTaken) {
		t.Fatalf("the same drop after it finished: %v, want ErrAlreadyTaken", err)
	}
	// A new drop under the same name (new mtime) is new work.
	drop.Mtime = drop.Mtime.Add(time.Second)
	if _, _, err := nodes[2].AddSource(ctx, drop); err != nil {
		t.Fatalf("a new drop of the same name: %v", err)
	}
}

func TestClaimDefersProfilesForAWhile(t *testing.T) {
	forEachBackend(t, testClaimDefersProfilesForAWhile)
}

func testClaimDefersProfilesForAWhile(t *testing.T, open opener) {
	s, c := open(t)
	ctx := context.Background()
	add(t, s, "/in/gpu", High, "h264")
	add(t, s, "/in/cpu", Low, "mpeg2")
	opt := ClaimOptions{Defer: []string{"h264"}, DeferFor: time.Minute}
	j, ok, err := s.ClaimWith(ctx, opt)
	if err != nil || !ok || j.Profile != "mpeg2" {
		t.Fatalf("claim with h264 deferred: %+v ok %v err %v; want the mpeg2 job", j, ok, err)
	}
	if _, ok, _ := s.ClaimWith(ctx, opt); ok {
		t.Fatal("claimed the deferred h264 job within its grace")
	}
	c.Advance(time.Minute + time.Second)
	if j, ok, _ := s.ClaimWith(ctx, opt); !ok || j.Profile != "h264" {
		t.Fatalf("after the grace: %+v ok %v; want the h264 job", j, ok)
	}
}

func TestHeartbeatAndNodes(t *testing.T) { forEachBackend(t, testHeartbeatAndNodes) }

func testHeartbeatAndNodes(t *testing.T, open opener) {
	s, c := open(t)
	ctx := context.Background()
	s.Node = "edit-1"
	start := c.Now()
	st := NodeStatus{Version: "1.2", Hardware: []byte(`{"backend":"cuda"}`), Slots: 4, GPUSlots: 2, Running: 3, RunningGPU: 1, StartedAt: start}
	if err := s.Heartbeat(ctx, st, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	nodes, err := s.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("Nodes = %+v, %v", nodes, err)
	}
	n := nodes[0]
	if n.Name != "edit-1" || n.Version != "1.2" || string(n.Hardware) != `{"backend":"cuda"}` || n.FreeGPUSlots() != 1 ||
		!n.StartedAt.Equal(start) || !n.Up(c.Now()) {
		t.Fatalf("node %+v", n)
	}
	c.Advance(31 * time.Second)
	if nodes, _ := s.Nodes(ctx); nodes[0].Up(c.Now()) {
		t.Error("a node without heartbeat for longer than its lease is still up")
	}
	if err := s.Heartbeat(ctx, NodeStatus{Hardware: []byte("{")}, time.Second); err == nil {
		t.Error("accepted a hardware report that is not JSON")
	}

	// Another instance (a clone with the same host name, or another host)
	// may not take a live node's name; after the lease, it may.
	if err := s.Heartbeat(ctx, st, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	first := s.Instance
	s.Instance = newInstanceID()
	s.bootID = "another-boot"
	if err := s.Heartbeat(ctx, st, 30*time.Second); !errors.Is(err, ErrNodeNameTaken) || !strings.Contains(err.Error(), "node_name") ||
		!strings.Contains(err.Error(), "already live as instance "+first) {
		t.Fatalf("a second instance under a live name: %v, want ErrNodeNameTaken naming the holder and node_name", err)
	}
	c.Advance(31 * time.Second)
	if err := s.Heartbeat(ctx, st, 30*time.Second); err != nil {
		t.Fatalf("taking over an expired name: %v", err)
	}
}

func TestOpenPostgresErrorHidesPassword(t *testing.T) {
	// Port 1 on localhost: nothing listens, the connection is refused.
	_, err := OpenPostgres("postgres://kiln:s3cret@127.0.0.1:1/kiln?connect_timeout=2")
	if err == nil {
		t.Fatal("opened a store where no server listens")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error %q: want the address and no password", err)
	}
	if _, err := OpenPostgres("mysql://db/kiln"); err == nil {
		t.Fatal("accepted a mysql:// URL")
	}
}

// Nodes starting at once against a fresh database apply each migration once.
func TestFleetConcurrentFirstOpen(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&n); err != nil || n != len(migrations) {
		t.Fatalf("schema_version holds %d rows (%v), want %d", n, err, len(migrations))
	}
}

// TestNodeNameOneInstanceAtATime (SQLite: two kilnd sharing one state_dir
// store): a second instance under a live name is refused while the first
// runs, and may take the name once the first has certainly ended (here:
// its store closed in this process; a dead pid on this boot likewise),
// without waiting for the lease. An instance on another boot (a clone)
// cannot be checked and waits for the lease.
func TestNodeNameOneInstanceAtATime(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiln.db")
	open := func() *Store {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Node = "box"
		return s
	}
	a, b := open(), open()
	defer b.Close()
	if a.Instance == b.Instance || len(a.Instance) < 16 {
		t.Fatalf("instances %q and %q", a.Instance, b.Instance)
	}
	if err := a.Heartbeat(ctx, NodeStatus{}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.Heartbeat(ctx, NodeStatus{}, time.Minute); !errors.Is(err, ErrNodeNameTaken) {
		t.Fatalf("second live instance: %v, want ErrNodeNameTaken", err)
	}
	a.Close()
	if err := b.Heartbeat(ctx, NodeStatus{}, time.Minute); err != nil {
		t.Fatalf("taking the name of an instance that has ended: %v", err)
	}
	// A holder on this boot whose process is gone: a crash, then a restart.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	c := open()
	defer c.Close()
	if _, err := c.db.Exec(`UPDATE nodes SET pid = ?, instance = 'crashed' WHERE name = 'box'`, dead.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(ctx, NodeStatus{}, time.Minute); err != nil {
		t.Fatalf("restart after a crash on this boot: %v", err)
	}
	// A holder killed but not reaped yet (a zombie) has ended too.
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	defer zombie.Wait()
	time.Sleep(200 * time.Millisecond) // it exits; nobody waits for it yet
	if _, err := c.db.Exec(`UPDATE nodes SET pid = ?, instance = 'killed' WHERE name = 'box'`, zombie.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(ctx, NodeStatus{}, time.Minute); err != nil {
		t.Fatalf("restart after a kill whose process is not reaped yet: %v", err)
	}
	// A holder on another boot: only its lease can say.
	if _, err := c.db.Exec(`UPDATE nodes SET boot_id = 'other-boot', instance = 'clone' WHERE name = 'box'`); err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(ctx, NodeStatus{}, time.Minute); !errors.Is(err, ErrNodeNameTaken) {
		t.Fatalf("an instance on another boot under a live name: %v, want ErrNodeNameTaken", err)
	}
}
