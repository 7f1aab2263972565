package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func kilnd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelpAndVersion: --help, -h and help CMD print to stdout and exit 0,
// each command with its own examples; --version and version print the
// build's version.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "transcode"}, {"transcode", "--help"},
		{"transcode", "-h"}, {"version", "--help"}, {"--check", "--help"}} {
		code, out, errOut := kilnd(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
			t.Errorf("kilnd %v: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
		}
	}
	_, out, _ := kilnd(t, "transcode", "--help")
	if !strings.Contains(out, "kilnd transcode --profile NAME INPUT OUTDIR") {
		t.Errorf("transcode --help is not its own:\n%s", out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if code, out, _ := kilnd(t, args...); code != 0 || out != "kilnd dev\n" {
			t.Errorf("kilnd %v: exit %d, %q", args, code, out)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if code, out, _ := kilnd(t, "completion", shell); code != 0 || !strings.Contains(out, "kilnd") {
			t.Errorf("completion %s: exit %d", shell, code)
		}
	}
}

// TestUsageErrors: unknown flags and commands, and wrong arguments, are
// named and exit 2, before any config is read.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		say  string
	}{
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"transcode", "in.mxf"}, "accepts 2 arg(s), received 1"},
		{[]string{"transcode", "in.mxf", "out"}, "transcode needs --profile"},
		{[]string{"transcode", "--bogus", "in.mxf", "out"}, "unknown flag: --bogus"},
		{[]string{"--config", "a.toml", "--embedded-config"}, "[config embedded-config] were all set"},
		{[]string{"completion", "tcsh"}, "completion needs a shell"},
		{[]string{"help", "nope"}, `unknown help topic "nope"`},
	}
	for _, tc := range cases {
		code, out, errOut := kilnd(t, tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.say) || !strings.Contains(errOut, "usage: kilnd") {
			t.Errorf("kilnd %v: exit %d, stdout %q, stderr %q; want exit 2 saying %q", tc.args, code, out, errOut, tc.say)
		}
	}
}

// TestSystemConfigWithoutFlag: without --config, kilnd takes
// /etc/kiln/kiln.toml when it exists and says so; only when it does not, the
// embedded default under ./var; --embedded-config asks for that one.
func TestSystemConfigWithoutFlag(t *testing.T) {
	defer func(p string) { systemConfig = p }(systemConfig)
	dir := t.TempDir()
	systemConfig = filepath.Join(dir, "etc-kiln.toml")
	os.WriteFile(systemConfig, []byte("[daemon]\nstate_dir = \"/srv/test-state\"\n"), 0o644)

	code, out, errOut := kilnd(t, "--check")
	if code != 0 || !strings.Contains(out, `state_dir = "/srv/test-state"`) {
		t.Errorf("with a system config: exit %d, %s\n%s", code, errOut, out)
	}
	if !strings.Contains(errOut, "config "+systemConfig+": found "+systemConfig+" (no --config given)") {
		t.Errorf("--check does not say which config: %q", errOut)
	}

	wd, _ := os.Getwd()
	embedded := `state_dir = "` + filepath.Join(wd, "var")
	code, out, errOut = kilnd(t, "--check", "--embedded-config")
	if code != 0 || !strings.Contains(out, embedded) || !strings.Contains(errOut, "embedded default") {
		t.Errorf("--embedded-config: exit %d, %s\n%s", code, errOut, out)
	}

	// The daemon logs which config it took, first thing.
	code, _, errOut = kilnd(t)
	if !strings.Contains(errOut, `"msg":"config","path":"`+systemConfig+`","from":"found `+systemConfig) {
		t.Errorf("the daemon does not log its config (exit %d):\n%s", code, errOut)
	}

	// A system config that does not parse is an error, not a fallback.
	os.WriteFile(systemConfig, []byte("[daemon]\ncpu_jobs = \"x\"\n"), 0o644)
	if code, _, errOut := kilnd(t, "--check"); code != 1 || !strings.Contains(errOut, systemConfig+":2:") {
		t.Errorf("a bad system config: exit %d, %s", code, errOut)
	}

	os.Remove(systemConfig)
	code, out, errOut = kilnd(t, "--check")
	if code != 0 || !strings.Contains(out, embedded) || !strings.Contains(errOut, "no --config given and no "+systemConfig) {
		t.Errorf("without a system config: exit %d, %s\n%s", code, errOut, out)
	}
}

// TestManPages: gen-man writes a page per command, with its examples and
// its <placeholders> intact.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := kilnd(t, "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d, %s", code, errOut)
	}
	for _, name := range []string{"kilnd.1", "kilnd-transcode.1", "kilnd-version.1", "kilnd-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("no %s: %v", name, err)
			continue
		}
		if !strings.Contains(string(b), `.TH "KILND" "1"`) || !strings.Contains(string(b), ".SH EXAMPLE") {
			t.Errorf("%s is not a man page with examples:\n%s", name, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "kilnd-transcode.1")); !strings.Contains(string(b), "OUTDIR/<name>/<profile>/") {
		t.Errorf("kilnd-transcode.1 lost its placeholders:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "kilnd-worker.1")); err == nil {
		t.Errorf("the internal worker command has a man page")
	}
}

// TestEveryCommandHasExamples: each visible command's own help has
// examples.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(cmd *cobra.Command)
	seen := 0
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			path := strings.Fields(sub.CommandPath())[1:]
			code, out, _ := kilnd(t, append(path, "--help")...)
			if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Usage:\n  "+sub.UseLine()) {
				t.Errorf("kilnd %s --help: exit %d, no examples or not its own usage:\n%s", strings.Join(path, " "), code, out)
			}
			seen++
			walk(sub)
		}
	}
	walk(newRoot(&bytes.Buffer{}, &bytes.Buffer{}))
	if seen < 7 {
		t.Errorf("only %d commands", seen)
	}
}
