package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The committed PTX must be what gen_ptx.sh makes from today's sources:
// otherwise the GPU would run different code than the CPU tests checked.
func TestPTXFresh(t *testing.T) {
	if _, err := exec.LookPath("clang-14"); err != nil {
		t.Fatal("clang-14 not found: install it (make setup installs it); it compiles cuda/*.cu to PTX")
	}
	dir := t.TempDir()
	cmd := exec.Command("sh", "gen_ptx.sh", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_ptx.sh: %v\n%s", err, out)
	}
	fresh, _ := filepath.Glob(filepath.Join(dir, "*.ptx"))
	committed := PTX()
	if len(fresh) != len(committed) {
		t.Errorf("sources give %d PTX modules, %d are committed: run `make kernels`", len(fresh), len(committed))
	}
	for _, f := range fresh {
		name := strings.TrimSuffix(filepath.Base(f), ".ptx")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, committed[name]) {
			t.Errorf("ptx/%s.ptx is stale (or was not rebuilt after a change to cuda/): run `make kernels`", name)
		}
	}
}

// Every kernel the host launches must be an entry point of the PTX, under
// its C name, so the GPU backend can find it.
func TestPTXHasEveryKernel(t *testing.T) {
	entry := regexp.MustCompile(`\.visible \.entry (\w+)\(`)
	have := map[string]bool{}
	for _, src := range PTX() {
		for _, m := range entry.FindAllSubmatch(src, -1) {
			have[string(m[1])] = true
		}
	}
	kernel := regexp.MustCompile(`KILN_KERNEL\((\w+),`)
	var want []string
	for name, src := range Sources() {
		if strings.HasSuffix(name, ".cu") {
			for _, m := range kernel.FindAllSubmatch(src, -1) {
				want = append(want, string(m[1]))
			}
		}
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("no kernels found in the sources")
	}
	for _, k := range want {
		if !have[k] {
			t.Errorf("kernel %s has no PTX entry point: run `make kernels`", k)
		}
	}
}
