package daemon

import (
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/daemontest"
)

// initNode runs Initialize for one more node of f under name and returns
// its error, cleaning up if it started.
func (f *fleet) initNode(name string) error {
	t := f.t
	cfg := strings.NewReplacer("{{store}}", f.dsn, "{{shared}}", f.shared, "{{node}}", name, "{{lease}}", f.lease).Replace(fleetConfig)
	root := newTestRoot(t)
	path := writeConfig(t, root, cfg)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d := &Daemon{Config: c, ConfigPath: path, WorkerCmd: daemontest.WorkerCmd(), Version: "test",
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	err = d.Initialize()
	if err == nil {
		d.Close()
	}
	return err
}

// TestFleetDuplicateNodeNameRefused: cloned appliances share a host name,
// which is the default node name. A second kilnd under a name that a live
// instance holds is refused at start with a reason that names the holder,
// and it touches none of that instance's running jobs first.
func TestFleetDuplicateNodeNameRefused(t *testing.T) {
	f := newFleet(t, "3s")
	a := f.start("twin", nil)
	id := a.submit(f.sharedSource("long-hang.mkv"), "p1", "")
	a.waitState(id, "running", 10*time.Second)

	err := f.initNode("twin")
	if err == nil {
		t.Fatal("a second instance under a live node name started")
	}
	for _, want := range []string{`"twin"`, "already live as instance " + a.d.store.Instance, "node_name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	// The refused instance re-queued nothing of the live one's.
	if j := a.job(id); j.State != "running" || j.Attempts != 1 {
		t.Errorf("the live instance's job is %s at attempt %d after the refused start; want running at 1", j.State, j.Attempts)
	}
	a.call("POST", "/v1/jobs/"+itoa(int(id))+"/cancel", "")
}

// TestFleetNodeRequeuesItsOrphans: a job running under this node's name
// that no worker of this instance holds (claimed by an earlier instance
// that died while this one ran, as a clone under the same name did) is
// re-queued by the node itself within a lease, and runs to the end.
// Before, only other nodes' jobs were reaped, and it stayed running for ever.
func TestFleetNodeRequeuesItsOrphans(t *testing.T) {
	f := newFleet(t, "2s")
	a := f.start("solo", nil)
	id := a.submit(f.sharedSource("orphan.mkv"), "p1", "")
	a.waitState(id, "done", 20*time.Second)
	// The job as a dead instance under the same name left it: running,
	// claimed by another instance, with no worker here.
	db := openPG(t, f.dsn)
	if _, err := db.Exec(`UPDATE jobs SET state = 'running', finished_at = NULL, instance = 'dead-instance', node = 'solo' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	j := a.waitState(id, "done", 20*time.Second)
	if j.Attempts != 2 {
		t.Errorf("orphan done at attempt %d, want 2", j.Attempts)
	}
	if recs := a.logs.records("job re-queued: running under this node's name, but no worker of this instance holds it"); len(recs) != 1 {
		t.Errorf("orphan re-queue logs: %v", recs)
	}
	// The node's own running jobs are left alone.
	id2 := a.submit(f.sharedSource("mine-slow.mkv"), "p1", "")
	if j := a.waitState(id2, "done", 20*time.Second); j.Attempts != 1 {
		t.Errorf("a job of this instance was re-queued: attempt %d", j.Attempts)
	}
	var nodes []api.Node
	a.getJSON("/v1/nodes", &nodes)
	if len(nodes) != 1 || nodes[0].Instance != a.d.store.Instance || nodes[0].Instance == "" {
		t.Errorf("nodes = %+v, want one with this instance's id %q", nodes, a.d.store.Instance)
	}
}

// sharedSource writes a small file under the fleet's shared folder, which
// is in submit_roots, for a submission.
func (f *fleet) sharedSource(name string) string {
	f.t.Helper()
	dir := filepath.Join(f.shared, "sources")
	os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("clip "+name), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func openPG(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
