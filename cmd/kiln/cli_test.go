package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"kiln/api"
)

// runNoSocket runs kiln with a socket where no daemon listens.
func runNoSocket(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return kiln(t, filepath.Join(t.TempDir(), "none.sock"), args...)
}

// TestHelpOnStdout: --help, -h and help CMD print to stdout and exit 0,
// wherever the flag sits.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "submit"}, {"submit", "--help"}, {"submit", "-h"},
		{"jobs", "--state", "done", "--help"}, {"--json", "watch", "-h"}, {"help", "completion", "bash"},
	} {
		code, out, errOut := runNoSocket(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") {
			t.Errorf("kiln %v: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
		}
	}
	// The root help lists the exit codes.
	_, out, _ := runNoSocket(t, "help")
	wantContains(t, "kiln help", out, "Exit codes:", "3  kilnd unreachable", "4  job failed", "5  degraded")
}

// TestEveryCommandHasExamples: each command's own help, not the global one,
// with examples.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(cmd *cobra.Command)
	seen := 0
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			path := strings.Fields(sub.CommandPath())[1:]
			code, out, _ := runNoSocket(t, append(path, "--help")...)
			if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Usage:\n  "+sub.UseLine()) {
				t.Errorf("kiln %s --help: exit %d, no examples or not its own usage:\n%s", strings.Join(path, " "), code, out)
			}
			seen++
			walk(sub)
		}
	}
	walk(newRoot(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}))
	if seen < 15 {
		t.Errorf("only %d commands", seen)
	}
}

// TestUsageErrorsNameTheMistake: an unknown flag or command, or wrong
// arguments, is named on stderr, with the command's usage line, and exits 2.
func TestUsageErrorsNameTheMistake(t *testing.T) {
	cases := []struct {
		args []string
		say  []string
	}{
		{[]string{"jobs", "--bogus"}, []string{"unknown flag: --bogus", "usage: kiln jobs"}},
		{[]string{"--bogus", "jobs"}, []string{"unknown flag: --bogus"}},
		{[]string{"submit", "a.mxf", "--profile"}, []string{"flag needs an argument: --profile"}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"jbos"}, []string{`unknown command "jbos"`, `did you mean "jobs"`}},
		{[]string{"show"}, []string{"accepts 1 arg(s), received 0", "usage: kiln show ID"}},
		{[]string{"priority", "1"}, []string{"usage: kiln priority ID"}},
		{[]string{"watch", "now"}, []string{`unknown command "now" for "kiln watch"`}},
		{[]string{"help", "nope"}, []string{`unknown help topic "nope"`}},
		{[]string{"completion", "tcsh"}, []string{`no completion for shell "tcsh"`}},
		{[]string{"completion"}, []string{"completion needs a shell"}},
		{nil, []string{"no command given", "usage: kiln"}},
	}
	for _, tc := range cases {
		code, out, errOut := runNoSocket(t, tc.args...)
		if code != exitUsage || out != "" {
			t.Errorf("kiln %v: exit %d, stdout %q; want exit 2", tc.args, code, out)
		}
		wantContains(t, fmt.Sprintf("stderr of kiln %v", tc.args), errOut, tc.say...)
	}
}

// TestGlobalFlagsAnywhere: --socket and --json before or after the
// command, and after its own flags and arguments.
func TestGlobalFlagsAnywhere(t *testing.T) {
	socket, _ := startDaemon(t)
	for _, args := range [][]string{
		{"--socket", socket, "jobs"}, {"jobs", "--socket", socket}, {"jobs", "--state", "done", "--socket=" + socket},
		{"--json", "jobs", "--socket", socket}, {"jobs", "--socket", socket, "--json"}, {"show", "--socket", socket, "--json", "1"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		if strings.Contains(strings.Join(args, " "), "show") {
			// No job 1: the daemon refused it, so the socket was used.
			if code != exitError || !strings.Contains(errOut.String(), "no job 1 (not_found)") {
				t.Errorf("kiln %v: exit %d, %s", args, code, errOut.String())
			}
			continue
		}
		if code != 0 {
			t.Errorf("kiln %v: exit %d, %s", args, code, errOut.String())
		}
		if strings.Contains(strings.Join(args, " "), "--json") != strings.HasPrefix(out.String(), "[") {
			t.Errorf("kiln %v printed %q", args, out.String())
		}
	}
}

// TestVersion: kiln version and kiln --version print the build's version.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, _ := runNoSocket(t, args...)
		if code != 0 || out != "kiln dev\n" {
			t.Errorf("kiln %v: exit %d, %q", args, code, out)
		}
	}
	code, out, _ := runNoSocket(t, "version", "--json")
	var v struct{ Version string }
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version != "dev" {
		t.Errorf("version --json: exit %d, %q", code, out)
	}
}

// TestHealthExitsNonZeroWhenDegraded: a rejected reload makes kilnd
// degraded; health then exits 5, with --json too, and prints why.
func TestHealthExitsNonZeroWhenDegraded(t *testing.T) {
	socket, root := startDaemon(t)
	if code, _, _ := kiln(t, socket, "health"); code != 0 {
		t.Fatalf("healthy daemon: exit %d", code)
	}
	os.WriteFile(filepath.Join(root, "kiln.toml"), []byte("[daemon]\ncpu_jobs = \"many\"\n"), 0o644)
	if code, _, errOut := kiln(t, socket, "reload"); code != exitError {
		t.Fatalf("reload of a bad config: exit %d, %s", code, errOut)
	}
	code, out, errOut := kiln(t, socket, "health")
	if code != exitDegraded {
		t.Errorf("degraded health: exit %d, want 5", code)
	}
	wantContains(t, "health", out, "status   degraded", "reload   rejected:", "cpu_jobs")
	if errOut != "" {
		t.Errorf("health printed to stderr: %q", errOut)
	}
	code, out, _ = kiln(t, socket, "health", "--json")
	var h api.Health
	if code != exitDegraded || json.Unmarshal([]byte(out), &h) != nil || h.Status != "degraded" {
		t.Errorf("health --json: exit %d, %s", code, out)
	}
	if code, _, _ := runNoSocket(t, "health"); code != exitUnreachable {
		t.Errorf("health without a daemon: exit %d, want 3", code)
	}
}

// complete asks kiln for completions as the shell scripts do, and returns
// the candidates (without descriptions).
func complete(t *testing.T, socket string, args ...string) []string {
	t.Helper()
	code, out, errOut := kiln(t, socket, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d, %s", args, code, errOut)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" || strings.HasPrefix(line, ":") {
			continue // the directive
		}
		got = append(got, strings.SplitN(line, "\t", 2)[0])
	}
	return got
}

// TestCompletion: the scripts for bash, zsh and fish, and live completion
// of profiles, watches and job ids from the daemon; nothing, quickly and
// without an error, when the daemon is down or does not answer.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_kiln kiln",
		"zsh": "#compdef kiln", "fish": "complete -c kiln"} {
		code, out, _ := runNoSocket(t, "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, lacks %q", shell, code, want)
		}
	}

	socket, root := startDaemon(t)
	ok(t, socket, "submit", source(t, root, "hold-hang.mkv"), "--profile", "p1")
	ok(t, socket, "submit", source(t, root, "next.mkv"), "--profile", "mezz")
	waitRunning(t, socket, 1)
	eq := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	eq("submit --profile", complete(t, socket, "submit", "x.mkv", "--profile", ""), "mezz", "p1")
	eq("submit --profile m", complete(t, socket, "submit", "x.mkv", "--profile", "m"), "mezz")
	eq("jobs --watch", complete(t, socket, "jobs", "--watch", ""), "news")
	eq("jobs --state", complete(t, socket, "jobs", "--state", ""), jobStates...)
	eq("show", complete(t, socket, "show", ""), "2", "1")
	eq("cancel", complete(t, socket, "cancel", ""), "2", "1")
	eq("priority", complete(t, socket, "priority", ""), "2")
	eq("priority level", complete(t, socket, "priority", "2", ""), "high", "normal", "low")
	eq("command names", complete(t, socket, "sh"), "show")

	// Daemon down: no candidates, no error.
	eq("no daemon", complete(t, filepath.Join(root, "none.sock"), "show", ""))
	// A daemon that accepts but never answers: give up within the bound.
	silent := filepath.Join(root, "silent.sock")
	l, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	eq("silent daemon", complete(t, silent, "submit", "x", "--profile", ""))
	if d := time.Since(start); d > completeTimeout+2*time.Second {
		t.Errorf("completion waited %s on a silent daemon", d)
	}
}

// TestEscapesUntrustedNames: a file name with an escape sequence and a
// newline shows as a visible escape in jobs, show and watch; it never
// reaches the terminal raw and never breaks the table's rows.
func TestEscapesUntrustedNames(t *testing.T) {
	socket, root := startDaemon(t)
	evil := "evil\x1b[31mred\nrow\u009b2J"
	ok(t, socket, "submit", source(t, root, evil+"-hang.mkv"), "--profile", "p1")
	ok(t, socket, "submit", source(t, root, "plain.mkv"), "--profile", "p1")
	waitRunning(t, socket, 1)

	jobs := ok(t, socket, "jobs")
	show := ok(t, socket, "show", "1")
	var watch bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	run(ctx, []string{"--socket", socket, "watch"}, &watch, &bytes.Buffer{})
	for what, out := range map[string]string{"jobs": jobs, "show": show, "watch": watch.String()} {
		if strings.ContainsAny(out, "\x1b\r") || strings.Contains(out, "\u009b") {
			t.Errorf("%s lets a control character through:\n%q", what, out)
		}
		if what == "watch" { // the progress line has room for the name's start
			wantContains(t, what, out, `"evil\x1b[31mre…`)
			continue
		}
		wantContains(t, what, out, `evil\x1b[31mred\nrow\u009b2J`)
	}
	if rows := strings.Split(strings.TrimSpace(jobs), "\n"); len(rows) != 3 {
		t.Errorf("jobs: %d rows for 2 jobs, want a header and 2:\n%s", len(rows), jobs)
	}
	for _, row := range strings.Split(strings.TrimSpace(jobs), "\n")[1:] {
		if !strings.Contains(row, "plain.mkv") && !strings.Contains(row, "-hang.mkv") {
			t.Errorf("jobs: a row without its job's source:\n%s", jobs)
		}
	}
	// The JSON output stays JSON, escaped by encoding/json.
	var list []api.Job
	if err := json.Unmarshal([]byte(ok(t, socket, "jobs", "--json")), &list); err != nil || len(list) != 2 ||
		!strings.Contains(list[0].Source+list[1].Source, evil) {
		t.Errorf("jobs --json: %v %v", err, list)
	}
}

// TestTermSafe: what is escaped, and what is left alone.
func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"clip.mxf":                 "clip.mxf",
		"Überspielung 2 – 16:9.ts": "Überspielung 2 – 16:9.ts",
		"新闻.mp4":                   "新闻.mp4",
		"a\x1b[31mb":               `"a\x1b[31mb"`,
		"a\nb":                     `"a\nb"`,
		"a\tb":                     `"a\tb"`,
		"a\u202egpj.exe":           `"a\u202egpj.exe"`, // right-to-left override
		"a\x9bb":                   `"a\x9bb"`,         // a raw C1 byte, invalid UTF-8
		"a\u009bb":                 `"a\u009bb"`,       // CSI as a UTF-8 character
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %s, want %s", in, got, want)
		}
	}
	if got := termSafeBlock("{\n\t\"a\": \"x\u009by\"\n}"); got != "{\n\t\"a\": \"x\\u009by\"\n}" {
		t.Errorf("termSafeBlock: %q", got)
	}
}

// TestManPages: gen-man writes a page per command, with the exit codes, the
// examples and the <placeholders> intact; not for hidden commands.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runNoSocket(t, "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d, %s", code, errOut)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 15 {
		t.Errorf("%d man pages: %v", len(pages), pages)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
		}
		return string(b)
	}
	wantContains(t, "kiln.1", read("kiln.1"), `.TH "KILN" "1"`, "Exit codes:", "kilnd unreachable", ".SH EXAMPLE")
	wantContains(t, "kiln-submit.1", read("kiln-submit.1"), "<output>/<name>/<profile>/", "--profile", ".SH EXAMPLE")
	if _, err := os.Stat(filepath.Join(dir, "kiln-gen-man.1")); err == nil {
		t.Error("the hidden gen-man command has a page")
	}
}
