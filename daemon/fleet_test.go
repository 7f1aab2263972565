package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/daemontest"
	"kiln/daemon/store"
	"kiln/daemon/store/pgtest"
)

// fleetConfig is one node of a fleet: its own state and socket ({{root}}),
// the shared store, inbox and output ({{store}}, {{shared}}).
const fleetConfig = `
[daemon]
state_dir = "{{root}}/state"
socket = "{{root}}/kiln.sock"
cpu_jobs = 4
rescan = "1s"
stop_grace = "5s"
socket_group = ""
submit_roots = ["{{shared}}"]
max_attempts = 3
store = "{{store}}"
node_name = "{{node}}"
lease = "{{lease}}"

[[watch]]
name = "shared"
inbox = "{{shared}}/in"
output = "{{shared}}/out"
profiles = ["p1"]
settle = "1s"

[profile.p1]
kind = "file"
codec = "h264"

[profile.mezz]
kind = "file"
codec = "prores"
container = "mov"
`

// fleet is several in-process daemons sharing one PostgreSQL store and one
// watch folder.
type fleet struct {
	t      *testing.T
	dsn    string
	shared string
	lease  string
	nodes  []*testDaemon
}

func newFleet(t *testing.T, lease string) *fleet {
	return &fleet{t: t, dsn: pgtest.DSN(t), shared: newTestRoot(t), lease: lease}
}

// start runs one more node; workerCmd nil means the fake worker.
func (f *fleet) start(name string, workerCmd []string) *testDaemon {
	t := f.t
	t.Helper()
	cfg := strings.NewReplacer("{{store}}", f.dsn, "{{shared}}", f.shared, "{{node}}", name, "{{lease}}", f.lease).Replace(fleetConfig)
	root := newTestRoot(t)
	path := writeConfig(t, root, cfg)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if workerCmd == nil {
		workerCmd = daemontest.WorkerCmd()
	}
	logs := &syncBuffer{}
	td := &testDaemon{t: t, root: root, cfgPath: path, logs: logs}
	td.d = &Daemon{Config: c, ConfigPath: path, WorkerCmd: workerCmd, Version: "test",
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if err := td.d.Initialize(); err != nil {
		t.Fatalf("node %s: Initialize: %v\n%s", name, err, logs)
	}
	td.http = unixClient(t, c.Daemon.Socket)
	t.Cleanup(func() {
		td.stop()
		if t.Failed() {
			t.Logf("node %s log:\n%s", name, logs)
		}
	})
	td.run()
	waitFor(t, 10*time.Second, "node "+name+" to answer", func() bool {
		resp, err := td.http.Get("http://kiln/v1/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	f.nodes = append(f.nodes, td)
	return td
}

// drop writes a file into the shared inbox as a copy would: under a hidden
// name, then renamed into place.
func (f *fleet) drop(name string) {
	f.t.Helper()
	inbox := filepath.Join(f.shared, "in")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		f.t.Fatal(err)
	}
	tmp := filepath.Join(inbox, "."+name+".part")
	if err := os.WriteFile(tmp, []byte("clip "+name), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(inbox, name)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) filed(sub string) []string {
	entries, _ := os.ReadDir(filepath.Join(f.shared, "in", sub))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// noErrors fails the test for any ERROR record in a node's log.
func noErrors(t *testing.T, name string, td *testDaemon) {
	t.Helper()
	for _, line := range strings.Split(td.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("node %s logged an error: %s", name, line)
		}
	}
}

// Two, then three, nodes watch one shared folder and share one store: 60
// files, each processed exactly once, by whichever node claimed it, and each
// filed to done/ once.
func TestFleetSharedFolderEachFileOnce(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			// A long lease: nobody dies here, and a node slowed by a
			// loaded machine must not be taken for dead.
			f := newFleet(t, "10s")
			for i := 1; i <= n; i++ {
				f.start(fmt.Sprintf("node-%d", i), nil)
			}
			const files = 60
			for i := 0; i < files; i++ {
				f.drop(fmt.Sprintf("clip-%02d.mxf", i))
			}
			began := time.Now()
			waitFor(t, 90*time.Second, "all 60 files in done/", func() bool { return len(f.filed("done")) == files })
			t.Logf("60 files done in %s", time.Since(began).Round(time.Millisecond))

			var jobs []api.Job
			f.nodes[0].getJSON("/v1/jobs", &jobs)
			if len(jobs) != files {
				t.Fatalf("%d jobs for %d files; want one each", len(jobs), files)
			}
			perNode := map[string]int{}
			seen := map[string]bool{}
			for _, j := range jobs {
				if seen[j.Source] {
					t.Errorf("%s became two jobs", j.Source)
				}
				seen[j.Source] = true
				if j.State != "done" || j.Attempts != 1 {
					t.Errorf("job %d (%s): %s after %d attempts on %q", j.ID, filepath.Base(j.Source), j.State, j.Attempts, j.Node)
				}
				perNode[j.Node]++
				out := filepath.Join(f.shared, "out", strings.TrimSuffix(filepath.Base(j.Source), ".mxf"), "p1")
				if entries, err := os.ReadDir(out); err != nil || len(entries) == 0 {
					t.Errorf("job %d: no outputs in %s (%v)", j.ID, out, err)
				}
			}
			if len(perNode) < 2 {
				t.Errorf("jobs ran on %v; want the work shared", perNode)
			}
			t.Logf("jobs per node: %v", perNode)
			if failed := f.filed("failed"); len(failed) != 0 {
				t.Errorf("files in failed/: %v", failed)
			}
			if left, _ := os.ReadDir(filepath.Join(f.shared, "out", ".kiln-staging")); len(left) != 0 {
				t.Errorf("%d staging folders left behind", len(left))
			}
			var nodes []api.Node
			f.nodes[0].getJSON("/v1/nodes", &nodes)
			if len(nodes) != n {
				t.Fatalf("GET /v1/nodes lists %d nodes, want %d: %+v", len(nodes), n, nodes)
			}
			for i, node := range nodes {
				if node.Name != fmt.Sprintf("node-%d", i+1) || !node.Up || node.Self != (i == 0) || node.Slots != 4 || node.Hardware == nil {
					t.Errorf("node %d: %+v", i, node)
				}
			}
			for i, td := range f.nodes {
				noErrors(t, fmt.Sprintf("node-%d", i+1), td)
			}
		})
	}
}

// A node whose heartbeats stop (cut off, stalled) keeps its jobs until its
// lease expires; then another node runs them. When the first node's
// heartbeats resume, it stops its worker of the lost job, and its result
// would not count.
func TestFleetStoppedHeartbeatsMoveJobs(t *testing.T) {
	f := newFleet(t, "2s")
	// Node A's worker never finishes: only another node can complete the job.
	a := f.start("node-a", []string{"/bin/sleep", "600"})
	f.drop("news.mxf")
	var j api.Job
	waitFor(t, 20*time.Second, "node-a to run the job", func() bool {
		var jobs []api.Job
		a.getJSON("/v1/jobs?state=running", &jobs)
		if len(jobs) == 1 {
			j = jobs[0]
		}
		return len(jobs) == 1
	})
	if j.Node != "node-a" {
		t.Fatalf("job %d runs on %q, want node-a", j.ID, j.Node)
	}
	a.d.heartbeatsPaused.Store(true)
	b := f.start("node-b", nil)

	done := b.waitState(j.ID, "done", 30*time.Second)
	if done.Node != "node-b" || done.Attempts != 2 {
		t.Errorf("job finished on %q after %d attempts; want node-b at attempt 2", done.Node, done.Attempts)
	}
	waitFor(t, 10*time.Second, "the file in done/", func() bool { return len(f.filed("done")) == 1 })
	if reaped := b.logs.records("job re-queued: its node's lease expired"); len(reaped) != 1 || reaped[0]["node"] != "node-a" {
		t.Errorf("node-b's reap records: %v", reaped)
	}
	var nodes []api.Node
	b.getJSON("/v1/nodes", &nodes)
	if len(nodes) != 2 || nodes[0].Name != "node-a" || nodes[0].Up || !nodes[1].Up {
		t.Errorf("nodes while node-a is silent: %+v", nodes)
	}

	// node-a comes back: it learns the job is gone and stops its worker.
	a.d.heartbeatsPaused.Store(false)
	waitFor(t, 10*time.Second, "node-a to stop its worker and give the job up", func() bool {
		return len(a.logs.records("job given up: another node took it over")) > 0
	})
	if recs := a.logs.records("job given up: another node took it over"); len(recs) != 1 || a.d.runningCount() != 0 {
		t.Errorf("node-a gave up %d times and runs %d jobs; want once and none", len(recs), a.d.runningCount())
	}
	if got := b.job(j.ID); got.State != "done" || got.Node != "node-b" {
		t.Errorf("after node-a came back the job is %s on %q", got.State, got.Node)
	}
	if failed := f.filed("failed"); len(failed) != 0 {
		t.Errorf("files in failed/: %v", failed)
	}
	noErrors(t, "node-b", b)
}

// A node without a GPU leaves H.264 jobs, which NVENC encodes faster, to a
// live GPU node with free slots for one lease after they were queued; other
// jobs it takes at once. The GPU node here is a registry entry with a fake
// hardware report.
func TestFleetCPUNodeLeavesGPUJobsForAWhile(t *testing.T) {
	f := newFleet(t, "4s")
	gpu, err := store.OpenPostgres(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.Close()
	gpu.Node = "gpu-1"
	hw, _ := json.Marshal(api.Hardware{Backend: "cuda", CUDA: api.Capability{Available: true},
		NVENC: map[string]api.Capability{"h264": {Available: true}}, GPUs: []api.GPU{{Name: "NVIDIA L4", ComputeCapability: "8.9"}}})
	beat := func(runningGPU int) {
		t.Helper()
		if err := gpu.Heartbeat(context.Background(), store.NodeStatus{Version: "test", Hardware: hw, Slots: 4, GPUSlots: 2,
			RunningGPU: runningGPU, StartedAt: time.Now()}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	beat(0)
	cpu := f.start("cpu-1", nil)

	source := func(name string) string {
		t.Helper()
		p := filepath.Join(f.shared, "sources", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("clip "+name), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	grace := 4 * time.Second // the lease
	h264 := cpu.submit(source("a.mkv"), "p1", "")
	prores := cpu.submit(source("b.mkv"), "mezz", "")
	first := cpu.waitState(prores, "done", 30*time.Second)
	later := cpu.waitState(h264, "done", 30*time.Second)
	if waited := later.StartedAt.Sub(later.CreatedAt); waited < grace {
		t.Errorf("the H.264 job started %s after it was queued; want it left to the GPU node for the lease (%s)", waited, grace)
	}
	if !first.StartedAt.Before(*later.StartedAt) {
		t.Errorf("the ProRes job started at %s, after the H.264 job (%s)", first.StartedAt, later.StartedAt)
	}

	// A GPU node without free slots is no reason to wait.
	beat(2)
	waitFor(t, 10*time.Second, "cpu-1 to see the GPU node full", func() bool { return !cpu.d.gpuPeerFree.Load() })
	now := cpu.waitState(cpu.submit(source("c.mkv"), "p1", ""), "done", 30*time.Second)
	if waited := now.StartedAt.Sub(now.CreatedAt); waited >= grace {
		t.Errorf("with the GPU node full the H.264 job still waited %s", waited)
	}

	var nodes []api.Node
	cpu.getJSON("/v1/nodes", &nodes)
	if len(nodes) != 2 || nodes[0].Name != "cpu-1" || !nodes[0].Self || nodes[1].Name != "gpu-1" || nodes[1].Self ||
		nodes[1].Hardware == nil || len(nodes[1].Hardware.GPUs) != 1 || nodes[1].GPUSlots != 2 || nodes[1].RunningGPU != 2 {
		t.Errorf("GET /v1/nodes: %+v", nodes)
	}
	noErrors(t, "cpu-1", cpu)
}

// A node starting on a shared output folder removes the staging its own
// interrupted jobs left, and keeps the staging of jobs other nodes run now.
func TestFleetStartKeepsOtherNodesStaging(t *testing.T) {
	f := newFleet(t, "30s")
	ctx := context.Background()
	other, err := store.OpenPostgres(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	add := func(s *store.Store, name string) store.Job {
		t.Helper()
		// The source is in the inbox as intake saw it: a job whose file
		// is gone or replaced is not started (sourceReplaced).
		path := filepath.Join(f.shared, "in", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("source "+name), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		hash, err := contentHash(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AddSource(ctx, store.NewSource{Path: path, Watch: "shared", Size: st.Size(), Mtime: st.ModTime(), ContentHash: hash,
			Inode: st.Sys().(*syscall.Stat_t).Ino, OutputDir: filepath.Join(f.shared, "out"), Jobs: []store.NewJob{{Profile: "mezz"}}}); err != nil {
			t.Fatal(err)
		}
		j, ok, err := s.Claim(ctx)
		if err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		return j
	}
	// node-2 is alive and runs a job; node-1 was killed while running one.
	other.Node = "node-2"
	if err := other.Heartbeat(ctx, store.NodeStatus{Slots: 2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	theirs := add(other, "theirs.mxf")
	other.Node = "node-1"
	ours := add(other, "ours.mxf")

	stagingDir := filepath.Join(f.shared, "out", ".kiln-staging")
	folder := func(id int64) string { return filepath.Join(stagingDir, fmt.Sprintf("job-%d-x1", id)) }
	for _, p := range []string{folder(theirs.ID), folder(ours.ID), folder(9999)} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n1 := f.start("node-1", nil)
	if _, err := os.Stat(folder(theirs.ID)); err != nil {
		t.Errorf("node-1's start removed node-2's staging of job %d: %v", theirs.ID, err)
	}
	for _, id := range []int64{ours.ID, 9999} {
		if _, err := os.Stat(folder(id)); !os.IsNotExist(err) {
			t.Errorf("staging of job %d, not running anywhere, survived node-1's start (%v)", id, err)
		}
	}
	if j := n1.job(theirs.ID); j.State != "running" || j.Node != "node-2" {
		t.Errorf("node-2's job after node-1's start: %s on %q", j.State, j.Node)
	}
	// node-1's own interrupted job was re-queued and runs again.
	if j := n1.waitState(ours.ID, "done", 30*time.Second); j.Attempts != 2 {
		t.Errorf("node-1's interrupted job: %d attempts, want 2", j.Attempts)
	}
	// Only node-2 can stop node-2's worker.
	status, body := n1.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", theirs.ID), "")
	wantAPIError(t, "cancelling another node's job", status, body, 409, "running_elsewhere")
}

// A job that ends while the store cannot be reached is recorded once it can
// be again: the worker's result and its published outputs are not thrown
// away, and the job does not run a second time.
func TestFleetJobEndDuringStoreOutageIsRecordedLater(t *testing.T) {
	f := newFleet(t, "30s") // the outage is far shorter than a lease
	// The worker waits for the gate file, so the job ends exactly when
	// the test says: after the store has gone away.
	gate := filepath.Join(t.TempDir(), "gate")
	worker := append([]string{"/bin/sh", "-c", `while [ ! -e "$0" ]; do sleep 0.05; done; exec "$@"`, gate},
		daemontest.WorkerCmd()...)
	a := f.start("node-a", worker)
	f.drop("late.mxf")
	var j api.Job
	waitFor(t, 20*time.Second, "the job to start", func() bool {
		var jobs []api.Job
		a.getJSON("/v1/jobs?state=running", &jobs)
		if len(jobs) == 1 {
			j = jobs[0]
		}
		return len(jobs) == 1
	})

	// The outage: the database refuses connections and drops those open.
	u, err := url.Parse(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`ALTER DATABASE ` + dbName + ` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, dbName); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "node-a to fail to record the job's end", func() bool {
		return len(a.logs.records("recording a job's end")) > 0
	})
	if _, err := admin.Exec(`ALTER DATABASE ` + dbName + ` ALLOW_CONNECTIONS true`); err != nil {
		t.Fatal(err)
	}

	done := a.waitState(j.ID, "done", 30*time.Second)
	if done.Attempts != 1 || done.Node != "node-a" {
		t.Errorf("job done on %q at attempt %d; want node-a, attempt 1 (no re-run)", done.Node, done.Attempts)
	}
	waitFor(t, 10*time.Second, "the file in done/", func() bool { return len(f.filed("done")) == 1 })
	if got := a.logs.records("recording a job's end works again"); len(got) != 1 {
		t.Errorf("%d records of the store coming back, want 1", len(got))
	}
	if out, err := os.ReadDir(filepath.Join(f.shared, "out", "late", "p1")); err != nil || len(out) == 0 {
		t.Errorf("no outputs published: %v", err)
	}
}
