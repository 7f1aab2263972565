// Package setup_test is the install guard: it proves that
// scripts/setup-debian.sh installs every Debian package that the build, the
// demo and the tests need, by deriving those needs from the code itself
// rather than from a list someone must remember to update. A package that
// CI machines happen to have already cannot hide here, as libavdevice-dev
// once did (issue 14): the guard asks dpkg which package ships each file the
// build and the tests use, and looks for it in setup's list.
//
// What counts as provided: a package setup-debian.sh installs (its --list,
// with the cuda extras), one they depend on, one of make fresh-check's
// prerequisites (PREREQS in scripts/fresh-check.sh: what a user needs to
// run make at all), or one every Debian root has (Essential or Priority
// required, the minbase variant). The Go toolchain is copied in, not
// installed.
package setup_test

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const repo = ".."

// need is one thing the build or the tests use, and why.
type need struct {
	what string // a pkg-config module, a library, a header or a program
	path string // the file on this machine
	by   string // who needs it: a Go package, a file:line
}

// TestSetupInstallsWhatBuildAndTestsNeed is the guard. It fails naming each
// file whose package setup does not install, and who needs it.
func TestSetupInstallsWhatBuildAndTestsNeed(t *testing.T) {
	for _, tool := range []string{"dpkg-query", "pkg-config", "gcc", "apt-cache"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not here: the guard runs on Debian with setup done (make setup): %v", tool, err)
		}
	}
	provided := providedPackages(t)

	var needs []need
	needs = append(needs, cgoNeeds(t, "")...)
	needs = append(needs, cgoNeeds(t, "cuda")...)
	needs = append(needs, programNeeds(t)...)

	missing := map[string][]string{} // package -> who needs it
	owners := ownersOf(t, needs)
	for _, n := range needs {
		pkg, ok := owners[n.path]
		if !ok {
			t.Errorf("%s (%s, needed by %s) belongs to no Debian package: setup cannot install it", n.what, n.path, n.by)
			continue
		}
		if !provided[pkg] && !provided[filepath.Base(n.what)] {
			missing[pkg] = append(missing[pkg], fmt.Sprintf("%s (%s) for %s", n.what, n.path, n.by))
		}
	}
	for _, pkg := range slices.Sorted(maps.Keys(missing)) {
		uses := slices.Compact(slices.Sorted(slices.Values(missing[pkg])))
		if len(uses) > 5 {
			uses = append(uses[:5], fmt.Sprintf("and %d more", len(uses)-5))
		}
		t.Errorf("scripts/setup-debian.sh does not install %s, which ships:\n\t%s", pkg, strings.Join(uses, "\n\t"))
	}
	t.Logf("%d needs checked (pkg-config modules, libraries, headers, programs) against %d provided packages", len(needs), len(provided))
}

// setupList is what `setup-debian.sh --list extra` installs.
func setupList(t *testing.T, extra string) []string {
	t.Helper()
	out, err := exec.Command("sh", filepath.Join(repo, "scripts/setup-debian.sh"), "--list", extra).Output()
	if err != nil {
		t.Fatalf("setup-debian.sh --list %s: %v", extra, err)
	}
	return strings.Fields(string(out))
}

// providedPackages is every package a fresh machine has once setup ran.
func providedPackages(t *testing.T) map[string]bool {
	t.Helper()
	listed := append(setupList(t, "cuda"), setupList(t, "fresh")...)
	if !slices.Contains(listed, "nvidia-cuda-dev") || !slices.Contains(listed, "ffmpeg") {
		t.Fatalf("setup-debian.sh --list cuda lacks packages it surely installs: %v", listed)
	}
	script, err := os.ReadFile(filepath.Join(repo, "scripts/fresh-check.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PREREQS="([^"]*)"`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/fresh-check.sh has no PREREQS line")
	}
	roots := append(listed, strings.Fields(string(m[1]))...)

	// Their dependencies, recursively, as apt resolves them without
	// recommends (setup installs with --no-install-recommends).
	args := append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
		"--no-breaks", "--no-replaces", "--no-enhances"}, roots...)
	out, err := exec.Command("apt-cache", args...).Output()
	if err != nil {
		t.Fatalf("apt-cache depends: %v", err)
	}
	provided := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && !strings.HasPrefix(f[0], "<"):
			provided[strings.TrimSuffix(f[0], ":amd64")] = true
		case len(f) == 2 && (f[0] == "Depends:" || f[0] == "PreDepends:" || f[0] == "|Depends:" || f[0] == "|PreDepends:"):
			provided[strings.Trim(strings.TrimSuffix(f[1], ":amd64"), "<>")] = true
		}
	}
	for _, p := range roots {
		provided[p] = true
	}

	// What minbase has: Essential and Priority required.
	out, err = exec.Command("dpkg-query", "-W", "-f", "${Package} ${Essential} ${Priority}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && (f[1] == "yes" || f[2] == "required") {
			provided[f[0]] = true
		}
	}
	return provided
}

// ownersOf asks dpkg which package ships each needed file. Paths are tried
// as given, with symbolic links resolved (alternatives), and without a
// leading /usr (merged /usr: dpkg knows /bin/sh, not /usr/bin/sh).
func ownersOf(t *testing.T, needs []need) map[string]string {
	t.Helper()
	candidates := map[string][]string{}
	var all []string
	for _, n := range needs {
		if _, ok := candidates[n.path]; ok {
			continue
		}
		var c []string
		for _, p := range []string{n.path, resolve(n.path)} {
			c = append(c, p)
			if rest, ok := strings.CutPrefix(p, "/usr"); ok {
				c = append(c, rest)
			}
		}
		candidates[n.path] = c
		all = append(all, c...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	owner := map[string]string{}
	// dpkg-query -S prints "pkg[, pkg]: path" for the paths it knows, and
	// complains about the others (which is why its status is not checked).
	for chunk := range slices.Chunk(all, 500) {
		out, _ := exec.Command("dpkg-query", append([]string{"-S"}, chunk...)...).Output()
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			pkgs, path, ok := strings.Cut(sc.Text(), ": ")
			if !ok || strings.HasPrefix(pkgs, "diversion by") {
				continue
			}
			pkg := strings.TrimSpace(strings.Split(pkgs, ",")[0])
			owner[path] = strings.TrimSuffix(pkg, ":amd64")
		}
	}
	found := map[string]string{}
	for path, c := range candidates {
		for _, p := range c {
			if pkg, ok := owner[p]; ok {
				found[path] = pkg
				break
			}
		}
	}
	return found
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

func goTool(t *testing.T) string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); resolve(p) != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go command not found")
	}
	return p
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command(goTool(t), "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func absRepo(t *testing.T) string {
	p, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
