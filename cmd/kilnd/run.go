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

	"syscall"

	"kiln/config"
	"kiln/daemon"
	"kiln/version"
)

// workerName is the CPU worker binary, installed next to kilnd.
const workerName = "kiln-worker"

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
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// What the config text cannot show: folders shared through links, a
	// state_dir that cannot be made.
	if err := config.CheckFolders(cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *check {
		stdout.Write(cfg.Effective())
		return 0
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "kilnd: cannot find its own executable:", err)
		return 1
	}
	worker, err := workerPath(exe)
	if err != nil {
		fmt.Fprintln(stderr, "kilnd:", err)
		return 1
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: logLevel(cfg.Daemon.LogLevel)}))
	d := &daemon.Daemon{
		Config:     cfg,
		ConfigPath: *configPath,
		Logger:     logger,
		WorkerCmd:  []string{worker, "worker"},
		// make install puts the GPU worker next to kilnd, as make cuda
		// builds it next to kilnd in bin/.
		GPUWorker: filepath.Join(filepath.Dir(exe), "kiln-gpu-worker"),
		Version:   version.Version,
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

// workerPath finds kiln-worker next to the kilnd executable exe, and says
// what to do when it is not there: without it no job can run.
func workerPath(exe string) (string, error) {
	p := filepath.Join(filepath.Dir(exe), workerName)
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("the CPU worker %s is missing (%v); it is built and installed next to kilnd by make build / make install", p, err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("the CPU worker %s is not an executable file; reinstall it with make install", p)
	}
	return p, nil
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
