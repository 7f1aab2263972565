package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkerLookup: kilnd finds its workers in <prefix>/libexec/kiln/ when
// installed, next to itself in the build folder, prefers the installed
// layout when both exist, passes over a file that is not executable, and
// names every place it looked when there is none.
func TestWorkerLookup(t *testing.T) {
	put := func(t *testing.T, path string, mode os.FileMode) {
		t.Helper()
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("installed", func(t *testing.T) {
		prefix := t.TempDir()
		kilnd := filepath.Join(prefix, "bin/kilnd")
		put(t, kilnd, 0o755)
		put(t, filepath.Join(prefix, "libexec/kiln/kiln-worker"), 0o755)
		put(t, filepath.Join(prefix, "libexec/kiln/kiln-gpu-worker"), 0o755)
		if p, err := workerPath(kilnd); err != nil || p != filepath.Join(prefix, "libexec/kiln/kiln-worker") {
			t.Errorf("workerPath = %q, %v", p, err)
		}
		if p := gpuWorkerPath(kilnd); p != filepath.Join(prefix, "libexec/kiln/kiln-gpu-worker") {
			t.Errorf("gpuWorkerPath = %q", p)
		}
	})
	t.Run("build folder", func(t *testing.T) {
		bin := t.TempDir()
		kilnd := filepath.Join(bin, "kilnd")
		put(t, kilnd, 0o755)
		put(t, filepath.Join(bin, "kiln-worker"), 0o755)
		put(t, filepath.Join(bin, "kiln-gpu-worker"), 0o755)
		if p, err := workerPath(kilnd); err != nil || p != filepath.Join(bin, "kiln-worker") {
			t.Errorf("workerPath = %q, %v", p, err)
		}
		if p := gpuWorkerPath(kilnd); p != filepath.Join(bin, "kiln-gpu-worker") {
			t.Errorf("gpuWorkerPath = %q", p)
		}
	})
	t.Run("libexec first, unless not executable", func(t *testing.T) {
		prefix := t.TempDir()
		kilnd := filepath.Join(prefix, "bin/kilnd")
		put(t, kilnd, 0o755)
		put(t, filepath.Join(prefix, "bin/kiln-worker"), 0o755)
		put(t, filepath.Join(prefix, "libexec/kiln/kiln-worker"), 0o755)
		if p, _ := workerPath(kilnd); p != filepath.Join(prefix, "libexec/kiln/kiln-worker") {
			t.Errorf("with both, workerPath = %q, want the libexec one", p)
		}
		os.Chmod(filepath.Join(prefix, "libexec/kiln/kiln-worker"), 0o644)
		if p, _ := workerPath(kilnd); p != filepath.Join(prefix, "bin/kiln-worker") {
			t.Errorf("with a non-executable libexec one, workerPath = %q", p)
		}
	})
	t.Run("none", func(t *testing.T) {
		prefix := t.TempDir()
		kilnd := filepath.Join(prefix, "bin/kilnd")
		put(t, kilnd, 0o755)
		os.MkdirAll(filepath.Join(prefix, "libexec/kiln/kiln-worker"), 0o755) // a folder is no worker
		_, err := workerPath(kilnd)
		if err == nil {
			t.Fatal("no worker anywhere, and no error")
		}
		for _, want := range []string{filepath.Join(prefix, "libexec/kiln/kiln-worker") + " (not an executable file)",
			filepath.Join(prefix, "bin/kiln-worker") + " (missing)", "make install"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		// No GPU worker: the probe is pointed where make install puts it,
		// and reports the CPU backend with that path.
		if p := gpuWorkerPath(kilnd); p != filepath.Join(prefix, "libexec/kiln/kiln-gpu-worker") {
			t.Errorf("gpuWorkerPath = %q", p)
		}
	})
}

// TestInstalledKilndFindsWorkers: after make install's script (into a
// DESTDIR), the installed kilnd finds the installed workers.
func TestInstalledKilndFindsWorkers(t *testing.T) {
	bin := t.TempDir()
	for _, p := range []string{"kilnd", "kiln", "kiln-worker", "kiln-gpu-worker"} {
		if err := os.WriteFile(filepath.Join(bin, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dest := t.TempDir()
	cmd := exec.Command("sh", "../../scripts/install.sh")
	cmd.Env = append(os.Environ(), "DESTDIR="+dest, "BIN="+bin, "PREFIX=/opt/kiln")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	kilnd := filepath.Join(dest, "opt/kiln/bin/kilnd")
	if p, err := workerPath(kilnd); err != nil || p != filepath.Join(dest, "opt/kiln/libexec/kiln/kiln-worker") {
		t.Errorf("installed kilnd: workerPath = %q, %v", p, err)
	}
	if p := gpuWorkerPath(kilnd); p != filepath.Join(dest, "opt/kiln/libexec/kiln/kiln-gpu-worker") {
		t.Errorf("installed kilnd: gpuWorkerPath = %q", p)
	}
}
