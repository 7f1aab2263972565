package daemon

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDaemonHasNoCgoDependencies holds the fence of DESIGN.md §1: the daemon
// (the kilnd binary included) and the client link neither libav (pipeline,
// go-astiav) nor CUDA (gpu, gorgonia.org/cu). A daemon that linked CUDA could
// not even start on a host without a GPU; one that linked libav would die
// with the first hostile file, and would map libav's ~200 shared libraries
// (≈ 40 MB resident) for months of idling. Jobs run in kiln-worker.
func TestDaemonHasNoCgoDependencies(t *testing.T) {
	forbidden := []string{"kiln/pipeline", "kiln/gpu", "github.com/asticode/go-astiav", "gorgonia.org/cu"}
	// Each package with one dependency it surely has, to prove the list real.
	for pkg, known := range map[string]string{
		"kiln/daemon":            "kiln/daemon/store",
		"kiln/cmd/kiln":          "kiln/api",
		"kiln/cmd/kilnd":         "kiln/daemon",
		"kiln/daemon/daemontest": "kiln/job",
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		has := map[string]bool{}
		for _, d := range deps {
			has[d] = true
		}
		// The list must be real for its absences to mean anything.
		if !has[pkg] || !has[known] {
			t.Fatalf("go list -deps %s lacks %s or %s itself:\n%s", pkg, known, pkg, out)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
