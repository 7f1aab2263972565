package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/api"
	"kiln/daemon/store/pgtest"
)

// fleetConfig is one node of a fleet: its own state and socket, the shared
// PostgreSQL store, inbox and output.
const fleetConfig = `
[daemon]
state_dir  = "{{root}}/state"
socket     = "{{root}}/run/kiln.sock"
cpu_jobs   = 1
rescan     = "1s"
stop_grace = "0s"
store      = "{{store}}"
node_name  = "{{node}}"
lease      = "4s"

[[watch]]
name     = "shared"
inbox    = "{{shared}}/in"
output   = "{{shared}}/out"
profiles = ["pal"]
settle   = "1s"

[profile.pal]
kind     = "broadcast"
standard = "pal"
`

// TestFleetNodeKilledMidJob runs two kilnd processes on one PostgreSQL store
// and one shared folder, and kills the node running the job with SIGKILL:
// its worker dies with it, and once its lease expires the other node runs
// the job to the end, exactly once, with no duplicate outputs and the
// source filed to done/ once.
func TestFleetNodeKilledMidJob(t *testing.T) {
	src := slowClip(t)
	dsn, shared := pgtest.DSN(t), t.TempDir()
	nodes := map[string]*daemon{}
	for _, name := range []string{"node-a", "node-b"} {
		cfg := strings.NewReplacer("{{store}}", dsn, "{{shared}}", shared, "{{node}}", name).Replace(fleetConfig)
		nodes[name] = startDaemon(t, cfg)
	}
	inbox, out := filepath.Join(shared, "in"), filepath.Join(shared, "out")
	waitFor(t, 10*time.Second, "the inbox", func() bool { _, err := os.Stat(inbox); return err == nil })
	drop(t, src, inbox, "crash.ts")

	var first api.Job
	waitFor(t, 60*time.Second, "the job to be under way", func() bool {
		jobs := nodes["node-a"].jobs()
		if len(jobs) == 1 && jobs[0].State == "running" && jobs[0].Progress.Fraction > 0.1 {
			first = jobs[0]
			return true
		}
		return false
	})
	victim := nodes[first.Node]
	if victim == nil {
		t.Fatalf("the job runs on %q, which is neither node", first.Node)
	}
	survivor := nodes["node-a"]
	if first.Node == "node-a" {
		survivor = nodes["node-b"]
	}
	victim.cmd.Process.Signal(syscall.SIGKILL)
	victim.cmd.Wait()

	waitFor(t, 3*time.Minute, "the other node to finish the job", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "done", "crash.ts"))
		return err == nil
	})
	jobs := survivor.jobs()
	if len(jobs) != 1 || jobs[0].State != "done" || jobs[0].Node == first.Node || jobs[0].Attempts != 2 {
		t.Fatalf("jobs after %s was killed: %+v; want one, done by the other node on its second attempt", first.Node, jobs)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "crash", "pal"))
	if len(entries) != 2 { // crash.ts and crash.kiln.json
		t.Errorf("outputs: %d files, want the output and its report once", len(entries))
	}
	if left, _ := os.ReadDir(filepath.Join(out, ".kiln-staging")); len(left) != 0 {
		t.Errorf("staging not cleaned: %d entries", len(left))
	}
	if failed, _ := os.ReadDir(filepath.Join(inbox, "failed")); len(failed) != 0 {
		t.Errorf("%d files in failed/", len(failed))
	}
	var registry []api.Node
	if err := survivor.get("/v1/nodes", &registry); err != nil {
		t.Fatal(err)
	}
	for _, n := range registry {
		if n.Up == (n.Name == first.Node) {
			t.Errorf("registry after the kill: %s up = %v", n.Name, n.Up)
		}
	}
}
