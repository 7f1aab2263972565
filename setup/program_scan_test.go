package setup_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
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
		case rel == "scripts/fresh-check.sh":
			// make fresh-check installs its own tools first
			// (setup-debian.sh fresh), which neither the demo nor the
			// tests install: a program of its that this machine lacks
			// must be a package of that list. (A stock machine's make
			// test failed here for want of mmdebstrap.)
			b, _ := os.ReadFile(path)
			fresh := setupList(t, "fresh")
			for _, c := range shellCommands(string(b)) {
				if _, err := exec.LookPath(c.word); err != nil && slices.Contains(fresh, c.word) {
					continue
				}
				add(c.word, fmt.Sprintf("%s:%d", rel, c.line))
			}
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
	// The quoting to return to at each open parenthesis: a $( inside
	// double quotes opens a command context that ends at its ).
	var parens []bool
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
					parens = append(parens, true)
					inDouble = false
					i++
				}
			case c == '(':
				parens = append(parens, false)
				b.WriteByte(c)
			case c == ')':
				if n := len(parens); n > 0 {
					inDouble = parens[n-1]
					parens = parens[:n-1]
				}
				b.WriteByte(c)
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

// TestShellCommands pins the script scanner on the shapes the scripts use:
// what runs is found, data is not.
func TestShellCommands(t *testing.T) {
	script := `#!/bin/sh
# comment: rm -rf never runs
set -eu
want="libfoo-dev
bar-tools"
if ! command -v npm >/dev/null 2>&1; then
	$SUDO apt-get install -y $want
fi
case "$1" in
cuda) want="$want x" ;;
a | \
	b)
	echo "$(ffprobe -v error "$f" | awk '{ print $1 }
		next')"
	;;
esac
helper() { tr a b; }
for ((i = 0; i < 3; i++)); do helper; done
cat <<MSG
  kilnd --config /etc/kiln/kiln.toml --check
MSG
x=$((SECONDS - t0)) nice -n 5 mmdebstrap --quiet
`
	var got []string
	for _, c := range shellCommands(script) {
		got = append(got, fmt.Sprintf("%s:%d", c.word, c.line))
	}
	want := []string{"npm:6", "apt-get:7", "ffprobe:13", "awk:13", "tr:17", "cat:19", "mmdebstrap:22"}
	if !slices.Equal(got, want) {
		t.Errorf("shellCommands:\n got %v\nwant %v", got, want)
	}
}
