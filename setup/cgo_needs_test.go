package setup_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// goPackage is the part of `go list -json` the guard reads.
type goPackage struct {
	ImportPath   string
	Dir          string
	CgoFiles     []string
	CgoPkgConfig []string
	CgoCFLAGS    []string
	CgoCPPFLAGS  []string
	CgoLDFLAGS   []string
}

// cgoNeeds lists, for every cgo package the repository builds or tests
// with the given build tags, its pkg-config modules (.pc files), the
// libraries it links (-l) and the headers its preambles include.
func cgoNeeds(t *testing.T, tags string) []need {
	t.Helper()
	args := []string{"list", "-deps", "-test", "-json"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(goTool(t), append(args, "./...")...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	seen := map[string]bool{}
	var needs []need
	cgoPackages := 0
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		// -test lists a package again for its test variant.
		if len(p.CgoFiles) == 0 || seen[p.Dir] {
			continue
		}
		seen[p.Dir] = true
		cgoPackages++
		by := p.ImportPath
		if tags != "" {
			by += " (-tags " + tags + ")"
		}
		cflags := append(slices.Clone(p.CgoCPPFLAGS), p.CgoCFLAGS...)
		ldflags := slices.Clone(p.CgoLDFLAGS)
		for _, mod := range p.CgoPkgConfig {
			if strings.HasPrefix(mod, "-") {
				continue // --static and such
			}
			dir, err := exec.Command("pkg-config", "--variable=pcfiledir", mod).Output()
			if err != nil {
				t.Errorf("pkg-config module %s (needed by %s) is not installed here: add its -dev package to scripts/setup-debian.sh", mod, by)
				continue
			}
			needs = append(needs, need{"pkg-config " + mod, filepath.Join(strings.TrimSpace(string(dir)), mod+".pc"), by})
			cf, _ := exec.Command("pkg-config", "--cflags", mod).Output()
			lf, _ := exec.Command("pkg-config", "--libs", mod).Output()
			cflags = append(cflags, strings.Fields(string(cf))...)
			ldflags = append(ldflags, strings.Fields(string(lf))...)
		}
		needs = append(needs, libraryNeeds(t, ldflags, by)...)
		needs = append(needs, headerNeeds(t, p, cflags, by)...)
	}
	if cgoPackages < 2 {
		t.Fatalf("go list%s found %d cgo packages; go-astiav and kernels/ at least use cgo", map[bool]string{true: " -tags " + tags}[tags != ""], cgoPackages)
	}
	return needs
}

// libraryNeeds finds the file the linker takes for each -lNAME, in the -L
// folders first, then where gcc looks.
func libraryNeeds(t *testing.T, ldflags []string, by string) []need {
	var dirs []string
	var needs []need
	for _, f := range ldflags {
		if d, ok := strings.CutPrefix(f, "-L"); ok {
			dirs = append(dirs, d)
		}
	}
	for _, f := range ldflags {
		name, ok := strings.CutPrefix(f, "-l")
		if !ok || name == "" {
			continue
		}
		lib := "lib" + name + ".so"
		path := ""
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
				path = filepath.Join(d, lib)
				break
			}
		}
		// Like the linker: the shared library, else the static one (glibc
		// 2.34+ has only libpthread.a, an empty stub).
		for _, l := range []string{lib, "lib" + name + ".a"} {
			if path != "" {
				break
			}
			out, _ := exec.Command("gcc", "-print-file-name="+l).Output()
			if p := filepath.Clean(strings.TrimSpace(string(out))); filepath.IsAbs(p) {
				path = p
			}
		}
		if path == "" {
			t.Errorf("library -l%s (needed by %s) is not installed here: add its -dev package to scripts/setup-debian.sh", name, by)
			continue
		}
		needs = append(needs, need{"library -l" + name, path, by})
	}
	return needs
}

var includeLine = regexp.MustCompile(`(?m)^\s*#\s*include\s*[<"]([^>"]+)[>"]`)

// headerNeeds runs the preprocessor over the #include lines of a cgo
// package's preambles, with its flags, and lists every header it reads
// from outside the repository and the module cache.
func headerNeeds(t *testing.T, p goPackage, cflags []string, by string) []need {
	var src strings.Builder
	for _, f := range p.CgoFiles {
		b, err := os.ReadFile(filepath.Join(p.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		// The preamble is the comment right before import "C"; its
		// #include lines are what matter, wherever they are.
		text := string(b)
		if i := strings.Index(text, `import "C"`); i > 0 {
			text = text[:i]
		}
		for _, m := range includeLine.FindAllStringSubmatch(text, -1) {
			fmt.Fprintf(&src, "#include <%s>\n", m[1])
		}
	}
	if src.Len() == 0 {
		return nil
	}
	args := append([]string{"-M", "-E", "-x", "c", "-I", p.Dir}, cflags...)
	cmd := exec.Command("gcc", append(args, "-")...)
	cmd.Stdin = strings.NewReader(src.String())
	cmd.Dir = p.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("the headers of %s do not preprocess here (%v): a -dev package is missing?\n%s", by, err, stderr.String())
		return nil
	}
	var needs []need
	modcache := goEnv(t, "GOMODCACHE")
	for _, f := range strings.Fields(strings.ReplaceAll(string(out), "\\\n", " ")) {
		if strings.HasSuffix(f, ":") || !filepath.IsAbs(f) {
			continue
		}
		f = filepath.Clean(f)
		if strings.HasPrefix(f, p.Dir) || strings.HasPrefix(f, modcache) || strings.HasPrefix(f, absRepo(t)) {
			continue // shipped with the Go code
		}
		needs = append(needs, need{"header " + filepath.Base(f), f, by})
	}
	return needs
}
