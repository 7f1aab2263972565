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
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
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

// providedPackages is every package a fresh machine has once setup ran.
func providedPackages(t *testing.T) map[string]bool {
	t.Helper()
	var listed []string
	for _, extra := range []string{"cuda", "fresh"} {
		out, err := exec.Command("sh", filepath.Join(repo, "scripts/setup-debian.sh"), "--list", extra).Output()
		if err != nil {
			t.Fatalf("setup-debian.sh --list %s: %v", extra, err)
		}
		listed = append(listed, strings.Fields(string(out))...)
	}
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

// programNeeds lists the external programs the tests, the test helpers and
// the scripts run: the string literals given to exec.Command,
// exec.CommandContext and exec.LookPath in Go files, and the commands of
// scripts/*.sh and the Makefile's recipes. bench/ and soak/ are left out:
// make bench and make soak are neither the demo nor the tests.
func programNeeds(t *testing.T) []need {
	t.Helper()
	var needs []need
	add := func(prog, by string) {
		if prog == "" || strings.HasPrefix(prog, "-") {
			return
		}
		if strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
			return // a file of the repository or of a test's temporary folder
		}
		path := prog
		if !filepath.IsAbs(prog) {
			p, err := exec.LookPath(prog)
			if err != nil {
				t.Errorf("program %s (run by %s) is not installed here; add its package to scripts/setup-debian.sh", prog, by)
				return
			}
			path = p
		}
		if goroot := runtime.GOROOT(); goroot != "" && strings.HasPrefix(path, goroot+"/") {
			return // the Go toolchain, copied in rather than installed
		}
		needs = append(needs, need{prog, path, by})
	}

	root := absRepo(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case "bench", "soak", ".git", "var", "bin", "node_modules":
				return filepath.SkipDir
			}
			if d.Name() == "node_modules" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".go"):
			for _, use := range goPrograms(t, path) {
				by := fmt.Sprintf("%s:%d", rel, use.line)
				// Names tried in a loop are alternatives: the first found
				// is taken, so one of them must be there.
				var found []string
				for _, p := range use.progs {
					if _, err := exec.LookPath(p); err == nil || filepath.IsAbs(p) {
						found = append(found, p)
					}
				}
				if len(found) == 0 {
					found = use.progs
				}
				for _, p := range found {
					add(p, by)
				}
			}
		case rel == "scripts/gpu-check.sh":
			// make gpu-check runs on a GPU machine, with the NVIDIA
			// driver's own nvidia-smi; neither the demo nor the tests run it.
		case strings.HasSuffix(path, ".sh"):
			b, _ := os.ReadFile(path)
			for _, c := range shellCommands(string(b)) {
				add(c.word, fmt.Sprintf("%s:%d", rel, c.line))
			}
		case rel == "Makefile":
			b, _ := os.ReadFile(path)
			for _, c := range makeCommands(string(b)) {
				add(c.word, fmt.Sprintf("%s:%d", rel, c.line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	progs := map[string]bool{}
	for _, n := range needs {
		progs[filepath.Base(n.what)] = true
	}
	// The scan must see what the tests surely run, or it proves nothing.
	for _, want := range []string{"ffmpeg", "ffprobe", "systemd-analyze", "openssl", "chromium", "initdb", "apt-get", "dpkg-query"} {
		if !progs[want] {
			t.Errorf("the program scan missed %s, which the tests or scripts run", want)
		}
	}
	return needs
}

// goPrograms finds the programs a Go file runs through os/exec: string
// literals, constants, filepath.Join of those, and loop variables over a
// literal list of names. Programs built by the tests (variables holding
// paths into temporary folders) are not resolvable and not wanted.
func goPrograms(t *testing.T, path string) []programUse {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	uses := false
	for _, imp := range f.Imports {
		uses = uses || imp.Path.Value == `"os/exec"`
	}
	if !uses {
		return nil
	}
	// Identifiers bound to strings: constants and variables with a literal
	// value, and range variables over a []string literal.
	values := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if i < len(n.Values) {
					if s, ok := literal(n.Values[i], values); ok {
						values[name.Name] = append(values[name.Name], s...)
					}
				}
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						if s, ok := literal(n.Rhs[i], values); ok {
							values[id.Name] = append(values[id.Name], s...)
						}
					}
				}
			}
		case *ast.RangeStmt:
			if id, ok := n.Value.(*ast.Ident); ok {
				if cl, ok := n.X.(*ast.CompositeLit); ok {
					for _, e := range cl.Elts {
						if s, ok := literal(e, values); ok {
							values[id.Name] = append(values[id.Name], s...)
						}
					}
				}
			}
		}
		return true
	})
	var progs []programUse
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "exec" {
			return true
		}
		arg := -1
		switch sel.Sel.Name {
		case "Command", "LookPath":
			arg = 0
		case "CommandContext":
			arg = 1
		}
		if arg < 0 || arg >= len(call.Args) {
			return true
		}
		if ss, ok := literal(call.Args[arg], values); ok {
			progs = append(progs, programUse{ss, fset.Position(call.Pos()).Line})
		}
		return true
	})
	return progs
}

// programUse is one call that runs a program: one name, or names tried in
// turn.
type programUse struct {
	progs []string
	line  int
}

// literal evaluates e to the strings it can hold, when that is known from
// the file alone.
func literal(e ast.Expr, values map[string][]string) ([]string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return []string{s}, err == nil
		}
	case *ast.Ident:
		v, ok := values[e.Name]
		return v, ok
	case *ast.CallExpr:
		// filepath.Join(BinDir, "initdb")
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Join" {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "filepath" {
				parts := []string{}
				for _, a := range e.Args {
					v, ok := literal(a, values)
					if !ok || len(v) != 1 {
						return nil, false
					}
					parts = append(parts, v[0])
				}
				return []string{filepath.Join(parts...)}, true
			}
		}
	}
	return nil, false
}

// command is a word in command position in a script.
type command struct {
	word string
	line int
}

// shellBuiltins are the shell's own words, not programs.
var shellBuiltins = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`! [ [[ ]] { } : . alias bg break cd command compgen complete continue declare
		dirs disown echo enable eval exec exit export false fc fg for function getopts hash help history if in
		jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return select set shift
		shopt source suspend test then time times trap true type typeset ulimit umask unalias unset wait while
		until do done fi else elif case esac`) {
		shellBuiltins[w] = true
	}
}

// shellCommands returns the programs a shell script runs: the first word
// of each simple command (after variable assignments and prefixes such as
// sudo, env, exec or nice), with quoted strings (awk and sed programs, word
// lists), comments and here-documents left out. Function names defined in
// the script are not programs.
func shellCommands(script string) []command {
	funcs := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)`).FindAllStringSubmatch(script, -1) {
		funcs[m[1]] = true
	}
	var out []command
	for i, line := range strings.Split(unquote(script), "\n") {
		// A case label ("cuda)", "a | b)") is a pattern, not a command.
		line = caseLabel.ReplaceAllString(line, "")
		for _, w := range commandWords(line) {
			if funcs[w] || shellBuiltins[w] {
				continue
			}
			out = append(out, command{w, i + 1})
		}
	}
	return out
}

var caseLabel = regexp.MustCompile(`^\s*[^\s()|;]+(\s*\|\s*[^\s()|;]+)*\s*\)`)

var heredocStart = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_]+)['"]?`)

// unquote blanks what a script holds as data rather than commands: quoted
// strings become the placeholder Q (a command substitution inside double
// quotes is kept, as a command follows it), comments and here-document
// bodies become empty. Newlines stay, so line numbers still match.
func unquote(script string) string {
	var b strings.Builder
	lines := strings.SplitAfter(script, "\n")
	inSingle, inDouble := false, false
	heredoc := ""
	joined := 0 // escaped newlines: the logical line goes on, the count is kept
	for _, line := range lines {
		if heredoc != "" {
			if strings.TrimSpace(line) == heredoc {
				heredoc = ""
			}
			b.WriteString("\n")
			continue
		}
		if !inSingle && !inDouble {
			if m := heredocStart.FindStringSubmatch(line); m != nil {
				heredoc = m[1]
			}
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c == '\n':
				b.WriteString(strings.Repeat("\n", joined+1))
				joined = 0
			case inSingle:
				if c == '\'' {
					inSingle = false
					b.WriteString("Q")
				}
			case c == '\\' && i+1 < len(line):
				i++ // an escaped character is data
				if line[i] == '\n' {
					joined++
					b.WriteByte(' ')
				}
			case strings.HasPrefix(line[i:], "$((") || strings.HasPrefix(line[i:], "(("):
				// Arithmetic, not a command.
				if j := strings.Index(line[i:], "))"); j > 0 {
					i += j + 1
				}
				b.WriteString("$V")
			case c == '\'' && !inDouble:
				inSingle = true
			case c == '"':
				inDouble = !inDouble
				if !inDouble {
					b.WriteString("Q")
				}
			case inDouble:
				if c == '$' && i+1 < len(line) && line[i+1] == '(' {
					b.WriteString(" ; ")
					i++
				}
			case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
				for i+1 < len(line) && line[i+1] != '\n' {
					i++
				}
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

var prefixCommands = map[string]bool{"sudo": true, "$SUDO": true, "env": true, "exec": true, "nice": true, "time": true, "command": true, "xargs": true}

// commandWords splits one unquoted line into simple commands and returns
// the word in command position of each.
func commandWords(s string) []string {
	for _, sep := range []string{"$(", "&&", "||", "|", ";", "&", "(", ")", "`", "{", "}"} {
		s = strings.ReplaceAll(s, sep, "\x00")
	}
	var words []string
	for _, part := range strings.Split(s, "\x00") {
		f := strings.Fields(part)
		for len(f) > 0 {
			w := f[0]
			switch {
			case strings.Contains(w, "=") || w == "then" || w == "do" || w == "else" || w == "if" ||
				w == "while" || w == "until" || w == "elif" || w == "!":
				f = f[1:] // an assignment or a keyword: the command follows
				continue
			case prefixCommands[w]:
				f = f[1:]
				// nice -n 5, env -i, command -v: skip their options too.
				for len(f) > 0 && strings.HasPrefix(f[0], "-") {
					f = f[1:]
					if len(f) > 0 && regexp.MustCompile(`^-?\d+$`).MatchString(f[0]) {
						f = f[1:]
					}
				}
				continue
			}
			break
		}
		if len(f) == 0 {
			continue
		}
		w := f[0]
		// Variables, redirections, globs, case labels, test operands: data.
		if strings.ContainsAny(w, "$<>*?[]Q") || w == "in" || w == "esac" || w == "done" || w == "fi" {
			continue
		}
		if regexp.MustCompile(`^[A-Za-z0-9_.+/-]+$`).MatchString(w) && !regexp.MustCompile(`^[0-9]`).MatchString(w) {
			words = append(words, w)
		}
	}
	return words
}

// makeCommands returns the programs the Makefile's recipes and $(shell)
// calls run; $(GO) is go.
func makeCommands(mk string) []command {
	var out []command
	for i, line := range strings.Split(mk, "\n") {
		var sh []string
		if strings.HasPrefix(line, "\t") {
			sh = append(sh, strings.TrimLeft(strings.TrimSpace(line), "@-+"))
		}
		for _, m := range regexp.MustCompile(`\$\(shell ([^)]*)\)`).FindAllStringSubmatch(line, -1) {
			sh = append(sh, m[1])
		}
		for _, s := range sh {
			s = strings.ReplaceAll(s, "$(GO)", "go")
			s = regexp.MustCompile(`\$\([^)]*\)`).ReplaceAllString(s, "$V")
			for _, w := range commandWords(unquote(s)) {
				if !shellBuiltins[w] {
					out = append(out, command{w, i + 1})
				}
			}
		}
	}
	return out
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
