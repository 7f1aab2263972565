package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallManPagesAndCompletions: what `make man` then `make install`
// do, with the real kiln and kilnd built: the man pages land in
// $PREFIX/share/man/man1, the completions where bash-completion, zsh and
// fish look, and the bash one registers itself for both commands.
func TestInstallManPagesAndCompletions(t *testing.T) {
	bin := t.TempDir()
	for _, p := range []string{"kiln", "kilnd"} {
		if b, err := exec.Command("go", "build", "-o", filepath.Join(bin, p), "../"+p).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, b)
		}
	}
	// install.sh wants the worker too; its contents do not matter here.
	os.WriteFile(filepath.Join(bin, "kiln-worker"), []byte("#!/bin/sh\n"), 0o755)

	gen := exec.Command("sh", "../../scripts/gen-docs.sh")
	gen.Env = append(os.Environ(), "BIN="+bin)
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gen-docs.sh: %v\n%s", err, b)
	}
	dest := t.TempDir()
	install := exec.Command("sh", "../../scripts/install.sh")
	install.Env = append(os.Environ(), "DESTDIR="+dest, "BIN="+bin, "PREFIX=/usr")
	if b, err := install.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, b)
	}
	for path, want := range map[string]string{
		"usr/share/man/man1/kiln.1":                      `.TH "KILN" "1"`,
		"usr/share/man/man1/kiln-submit.1":               "kiln-submit - queue a job for a file",
		"usr/share/man/man1/kilnd.1":                     `.TH "KILND" "1"`,
		"usr/share/man/man1/kilnd-transcode.1":           "kilnd-transcode",
		"usr/share/bash-completion/completions/kiln":     "__start_kiln",
		"usr/share/bash-completion/completions/kilnd":    "__start_kilnd",
		"usr/share/zsh/site-functions/_kiln":             "#compdef kiln",
		"usr/share/zsh/site-functions/_kilnd":            "#compdef kilnd",
		"usr/share/fish/vendor_completions.d/kiln.fish":  "complete -c kiln",
		"usr/share/fish/vendor_completions.d/kilnd.fish": "complete -c kilnd",
	} {
		b, err := os.ReadFile(filepath.Join(dest, path))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %q", path, err, want)
		}
	}
	// bash takes the script and binds it to both commands.
	script := `source "$1/kiln"; source "$1/kilnd"; complete -p kiln kilnd`
	b, err := exec.Command("bash", "-c", script, "bash", filepath.Join(dest, "usr/share/bash-completion/completions")).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "__start_kiln kiln") || !strings.Contains(string(b), "__start_kilnd kilnd") {
		t.Errorf("bash completion: %v\n%s", err, b)
	}
	// man can read the pages.
	if manPath, err := exec.LookPath("man"); err == nil {
		b, err := exec.Command(manPath, "-l", filepath.Join(dest, "usr/share/man/man1/kiln-health.1")).CombinedOutput()
		if err != nil || !strings.Contains(string(b), "kiln-health - status, version") {
			t.Errorf("man -l kiln-health.1: %v\n%s", err, b)
		}
	}
}
