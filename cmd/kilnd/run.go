package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"kiln/config"
	"kiln/daemon"
	"kiln/systemd/journal"
	"kiln/version"
)

// run dispatches on the subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "transcode", "worker":
			// Media work happens in kiln-worker, which links libav; kilnd
			// hands the command over to it in the same process slot, so
			// signals, stdin/stdout and the exit status are the worker's.
			return execWorker(args, stderr)
		case "version":
			fmt.Fprintln(stdout, "kilnd", version.Version)
			return 0
		}
	}
	return runDaemon(ctx, args, stdout, stderr)
}

func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kilnd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config `FILE` (default: the embedded default, under ./var)")
	check := fs.Bool("check", false, "validate the config, print the effective config and exit 0 or 1")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kilnd: unexpected argument %q (subcommands: transcode, version)\n", fs.Arg(0))
		return 2
	}
	// Until the logger exists, failures go to stderr as they are; under
	// journald at error priority.
	errOut := journal.ErrorLines(stderr)
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(errOut, err)
		return 1
	}
	if *check {
		stdout.Write(cfg.Effective())
		return 0
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(errOut, "kilnd: cannot find its own executable:", err)
		return 1
	}
	worker, err := workerPath(exe)
	if err != nil {
		fmt.Fprintln(errOut, "kilnd:", err)
		return 1
	}
	// Under systemd each line carries its priority, so that journalctl -p
	// err finds the errors.
	logger := slog.New(journal.NewHandler(stderr, &slog.HandlerOptions{Level: logLevel(cfg.Daemon.LogLevel)}))
	d := &daemon.Daemon{
		Config:     cfg,
		ConfigPath: *configPath,
		Logger:     logger,
		WorkerCmd:  []string{worker, "worker"},
		GPUWorker:  gpuWorkerPath(exe),
		Version:    version.Version,
	}
	if err := d.Initialize(); err != nil {
		logger.Error("start failed", "err", err)
		return 1
	}
	defer d.Close()
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("daemon stopped", "err", err)
		return 1
	}
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default()
	}
	return config.Load(path)
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

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

// execWorker replaces this process with kiln-worker running args (the
// subcommand and its flags). It returns only when that is impossible.
func execWorker(args []string, stderr io.Writer) int {
	exe, err := os.Executable()
	if err == nil {
		var worker string
		if worker, err = workerPath(exe); err == nil {
			err = syscall.Exec(worker, append([]string{worker}, args...), os.Environ())
		}
	}
	fmt.Fprintf(stderr, "kilnd %s: %v\n", args[0], err)
	return 1
}
