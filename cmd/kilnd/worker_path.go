package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The workers are internal programs, started by kilnd and nobody else, so
// make install puts them in $PREFIX/libexec/kiln/ rather than on the PATH.
// In the build folder (bin/) they sit next to kilnd.
const (
	workerName    = "kiln-worker"
	gpuWorkerName = "kiln-gpu-worker"
)

// workerDirs are the folders kilnd looks in for its workers, in order: the
// installed layout (<prefix>/bin/kilnd, <prefix>/libexec/kiln/), then the
// folder of the kilnd executable exe.
func workerDirs(exe string) []string {
	dir := filepath.Dir(exe)
	return []string{filepath.Join(dir, "..", "libexec", "kiln"), dir}
}

// findWorker returns the first executable file called name in workerDirs,
// or an error that names every place it looked.
func findWorker(exe, name string) (string, error) {
	var tried []string
	for _, dir := range workerDirs(exe) {
		p := filepath.Clean(filepath.Join(dir, name))
		st, err := os.Stat(p)
		switch {
		case err != nil:
			tried = append(tried, p+" (missing)")
		case st.IsDir() || st.Mode().Perm()&0o111 == 0:
			tried = append(tried, p+" (not an executable file)")
		default:
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: tried %s", name, strings.Join(tried, ", "))
}

// workerPath finds kiln-worker for the kilnd executable exe, and says what
// to do when it is not there: without it no job can run.
func workerPath(exe string) (string, error) {
	p, err := findWorker(exe, workerName)
	if err != nil {
		return "", fmt.Errorf("the CPU worker %v; make build puts it next to kilnd, make install in $PREFIX/libexec/kiln", err)
	}
	return p, nil
}

// gpuWorkerPath is where kiln-gpu-worker is, or, when it is nowhere (no
// make cuda), where make install would put it: the hardware probe then
// reports the CPU backend with that path in its reason.
func gpuWorkerPath(exe string) string {
	if p, err := findWorker(exe, gpuWorkerName); err == nil {
		return p
	}
	return filepath.Clean(filepath.Join(workerDirs(exe)[0], gpuWorkerName))
}
