package plan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCgo holds the promise of the package comment: the plan, and every
// package outside the standard library it depends on, is pure Go. A planner
// that linked libav (go-astiav) or any C could not be table-tested alone,
// nor read by the daemon's side. (The standard library's own optional cgo,
// os/user's and net's, builds without it.)
func TestNoCgo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}", "kiln/pipeline/plan").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps kiln/pipeline/plan: %v\n%s", err, out)
	}
	seen := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		pkg, standard, cgoFiles := f[0], f[1] == "true", f[2]
		seen = seen || pkg == "kiln/sdi"
		if pkg == "C" || strings.Contains(pkg, "go-astiav") || (!standard && cgoFiles != "0") {
			t.Errorf("kiln/pipeline/plan depends on %s, which uses cgo (%s cgo files)", pkg, cgoFiles)
		}
	}
	if !seen {
		t.Fatalf("go list -deps kiln/pipeline/plan lacks kiln/sdi, which it surely has:\n%s", out)
	}
}
