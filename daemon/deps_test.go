package daemon

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// cgoLinked are the packages that link libav or CUDA. kilnd, the client and
// the pure-Go packages they use must not depend on them (docs/ARCHITECTURE.md,
// "Packages"): a daemon that linked CUDA could not even start on a host
// without a GPU; one that linked libav would die with the first hostile
// file, and would map libav's ~200 shared libraries (≈ 40 MB resident) for
// months of idling. Jobs run in kiln-worker and kiln-gpu-worker. The kernels'
// CPU build is cgo too (host C), and belongs to the workers' side.
var cgoLinked = []string{"kiln/pipeline", "kiln/gpu", "kiln/kernels", "github.com/asticode/go-astiav", "gorgonia.org/cu"}

// stdlibOnly stands for "no dependency outside the standard library".
const stdlibOnly = "(stdlib only)"

// importRules is the table of docs/ARCHITECTURE.md, "Packages": what each
// package must not depend on, directly or through others.
var importRules = map[string][]string{
	"kiln/cmd/kilnd":            cgoLinked,
	"kiln/cmd/kiln":             append([]string{"kiln/daemon"}, cgoLinked...),
	"kiln/daemon":               cgoLinked,
	"kiln/daemon/daemontest":    cgoLinked,
	"kiln/daemon/intake":        append([]string{"kiln/daemon/store"}, cgoLinked...),
	"kiln/daemon/store":         append([]string{"kiln/config"}, cgoLinked...),
	"kiln/hardware":             append([]string{"kiln/daemon"}, cgoLinked...),
	"kiln/job":                  append([]string{"kiln/daemon"}, cgoLinked...),
	"kiln/config":               append([]string{"kiln/daemon"}, cgoLinked...),
	"kiln/sdi":                  cgoLinked,
	"kiln/packaging":            append([]string{"kiln/staging"}, cgoLinked...),
	"kiln/api":                  {stdlibOnly},
	"kiln/staging":              append([]string{"kiln/job", "kiln/config", "kiln/daemon", "kiln/packaging"}, cgoLinked...),
	"kiln/dsn":                  {stdlibOnly},
	"kiln/manpage":              append([]string{"kiln/daemon", "kiln/config"}, cgoLinked...),
	"kiln/systemd/journal":      append([]string{"kiln/daemon", "kiln/config"}, cgoLinked...),
	"kiln/version":              {stdlibOnly},
	"kiln/kernels":              {stdlibOnly},
	"kiln/kernels/paritytest":   {"kiln/gpu", "kiln/pipeline", "kiln/daemon", "github.com/asticode/go-astiav", "gorgonia.org/cu"},
	"kiln/pipeline":             {"kiln/gpu", "gorgonia.org/cu", "kiln/daemon"},
	"kiln/pipeline/plan":        cgoLinked,
	"kiln/pipeline/internal/av": {"kiln/pipeline", "kiln/kernels", "kiln/gpu", "gorgonia.org/cu", "kiln/daemon"},
	"kiln/gpu":                  {"github.com/asticode/go-astiav", "kiln/pipeline", "kiln/daemon"},
	"kiln/cmd/kiln-worker":      {"kiln/gpu", "gorgonia.org/cu", "kiln/daemon"},
	"kiln/cmd/kiln-gpu-worker":  {"kiln/daemon"},
}

// packageDeps lists every package of the module with its dependencies, with
// and without the cuda build tag (the GPU worker's files), merged.
func packageDeps(t *testing.T) map[string][]string {
	t.Helper()
	deps := map[string][]string{}
	for _, tags := range []string{"", "cuda"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-f", "{{.ImportPath}}:{{join .Deps \" \"}}", "kiln/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q kiln/...: %v\n%s", tags, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, list, _ := strings.Cut(line, ":")
			deps[pkg] = append(deps[pkg], strings.Fields(list)...)
		}
	}
	for pkg, list := range deps {
		slices.Sort(list)
		deps[pkg] = slices.Compact(list)
	}
	return deps
}

// TestDaemonHasNoCgoDependencies holds the fence: the daemon (the kilnd
// binary included) and the client link neither libav nor CUDA, and the
// CPU worker does not link CUDA.
func TestDaemonHasNoCgoDependencies(t *testing.T) {
	deps := packageDeps(t)
	// Each package with one dependency it surely has, to prove the list real.
	for pkg, known := range map[string]string{
		"kiln/daemon":              "kiln/daemon/store",
		"kiln/cmd/kiln":            "kiln/api",
		"kiln/cmd/kilnd":           "kiln/daemon",
		"kiln/daemon/daemontest":   "kiln/job",
		"kiln/cmd/kiln-worker":     "kiln/pipeline",
		"kiln/cmd/kiln-gpu-worker": "gorgonia.org/cu",
	} {
		if !slices.Contains(deps[pkg], known) {
			t.Fatalf("go list -deps %s lacks %s: %v", pkg, known, deps[pkg])
		}
	}
	checkRules(t, deps, map[string][]string{
		"kiln/cmd/kilnd": cgoLinked, "kiln/cmd/kiln": cgoLinked, "kiln/daemon": cgoLinked,
		"kiln/daemon/daemontest": cgoLinked, "kiln/cmd/kiln-worker": {"gorgonia.org/cu", "kiln/gpu"},
	})
}

// TestPackageImportRules: every package keeps to its row of the table in
// docs/ARCHITECTURE.md, and every package of the module has a row, so that
// a new package is placed in the table when it is made.
func TestPackageImportRules(t *testing.T) {
	deps := packageDeps(t)
	for pkg := range deps {
		if _, ok := importRules[pkg]; ok {
			continue
		}
		switch pkg {
		case "kiln/bench", "kiln/soak", "kiln/e2e", "kiln/systemd", "kiln/daemon/store/pgserver", "kiln/daemon/store/pgtest",
			"kiln/api/apitest", "kiln/setup":
			// Tools and tests: they drive the product from outside.
		default:
			t.Errorf("%s has no row in docs/ARCHITECTURE.md's package table (and importRules)", pkg)
		}
	}
	checkRules(t, deps, importRules)
	// Test support is for _test.go files, which go list -deps leaves out.
	for pkg, list := range deps {
		for _, support := range []string{"kiln/api/apitest", "kiln/daemon/store/pgtest"} {
			if pkg != support && pkg != "kiln/e2e" && slices.Contains(list, support) {
				t.Errorf("%s depends on %s, which only tests may import", pkg, support)
			}
		}
	}
}

func checkRules(t *testing.T, deps map[string][]string, rules map[string][]string) {
	t.Helper()
	for pkg, forbidden := range rules {
		list, ok := deps[pkg]
		if !ok {
			t.Errorf("%s: no such package", pkg)
			continue
		}
		for _, d := range list {
			for _, f := range forbidden {
				bad := d == f || strings.HasPrefix(d, f+"/")
				if f == stdlibOnly {
					// Standard packages have no dot in their first element.
					first, _, _ := strings.Cut(d, "/")
					bad = strings.Contains(first, ".") || first == "kiln"
				}
				if bad {
					t.Errorf("%s depends on %s, which it must not (%s)", pkg, d, f)
				}
			}
		}
	}
}

// avLayer is the pipeline's one package that may use cgo or unsafe: every
// libav field go-astiav lacks is reached there (docs/ARCHITECTURE.md,
// "Packages").
const avLayer = "kiln/pipeline/internal/av"

// TestOnlyTheAVLayerUsesCgoOrUnsafe: no other package of the pipeline,
// tests and cuda-tagged files included, imports "C" or unsafe.
func TestOnlyTheAVLayerUsesCgoOrUnsafe(t *testing.T) {
	seen := map[string]bool{}
	for _, tags := range []string{"", "cuda"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-f",
			"{{.ImportPath}}:{{join .Imports \" \"}} {{join .TestImports \" \"}} {{join .XTestImports \" \"}}",
			"kiln/pipeline/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q kiln/pipeline/...: %v\n%s", tags, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, imports, _ := strings.Cut(line, ":")
			seen[pkg] = true
			if pkg == avLayer {
				continue
			}
			for _, imp := range strings.Fields(imports) {
				if imp == "C" || imp == "unsafe" {
					t.Errorf("%s imports %q: cgo and unsafe belong in %s", pkg, imp, avLayer)
				}
			}
		}
	}
	if !seen["kiln/pipeline"] || !seen[avLayer] {
		t.Fatalf("go list kiln/pipeline/... lacks kiln/pipeline or %s: %v", avLayer, seen)
	}
}
