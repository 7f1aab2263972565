package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"kiln/daemon"
	"kiln/job"
)

// runTranscode is `kilnd transcode`: one job in the foreground, placed and
// run as the daemon would run it (daemon.Transcode): on kiln-gpu-worker when
// the probe finds a usable GPU, else on kiln-worker with the reason in the
// report's backend_note. It returns the exit status: 0 done, 1 failed, 2
// usage.
func runTranscode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kilnd transcode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config `FILE` (default: the embedded default)")
	profileName := fs.String("profile", "", "profile `NAME` to run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kilnd transcode --config FILE --profile NAME INPUT OUTDIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 || *profileName == "" {
		fs.Usage()
		return 2
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	profile, ok := cfg.Profile(*profileName)
	if !ok {
		fmt.Fprintf(stderr, "kilnd transcode: profile %q is not defined; defined profiles: %v\n", *profileName, cfg.ProfileNames())
		return 1
	}
	input, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return 1
	}
	outDir, err := filepath.Abs(fs.Arg(1))
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return 1
	}
	if st, err := os.Stat(input); err != nil || !st.Mode().IsRegular() {
		fmt.Fprintf(stderr, "kilnd transcode: %s is not a readable regular file\n", fs.Arg(0))
		return 1
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode: cannot find its own executable:", err)
		return 1
	}
	worker, err := workerPath(exe)
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return 1
	}
	t := &daemon.Transcode{Config: cfg, WorkerCmd: []string{worker, "worker"}, GPUWorker: gpuWorkerPath(exe), Stderr: stderr}
	// The same time bound as a daemon job; the memory cap is left off, as
	// a foreground command is watched by the person who started it.
	spec := job.Spec{Source: input, Profile: *profile, OutputRoot: outDir,
		Limits: job.Limits{TimeoutFactor: cfg.Daemon.JobTimeoutFactor}}
	out, err := t.Run(ctx, spec, func(p job.Progress) {
		fmt.Fprintf(stderr, "\r%-8s %5.1f%%  %6d frames  %6.1f fps", p.Stage, p.Fraction*100, p.Frames, p.FPS)
	})
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return 1
	}
	fmt.Fprintln(stdout, "backend:", out.Backend)
	if note := backendNote(out.Result.Report); note != "" {
		fmt.Fprintln(stdout, "backend note:", note)
	}
	if !out.Result.OK {
		fmt.Fprintf(stderr, "kilnd transcode: %s failed: %s\n", filepath.Base(input), out.Result.Reason)
		return 1
	}
	report := out.Result.Report
	if report == nil {
		fmt.Fprintln(stderr, "kilnd transcode: the worker reported success without a report")
		return 1
	}
	for _, line := range report.Plan {
		fmt.Fprintln(stdout, "plan:", line)
	}
	for _, w := range report.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	for _, o := range report.Outputs {
		fmt.Fprintln(stdout, "output:", o.Path)
	}
	fmt.Fprintln(stdout, "report:", daemon.ReportPath(spec))
	return 0
}

func backendNote(r *job.Report) string {
	if r == nil {
		return ""
	}
	return r.BackendNote
}
