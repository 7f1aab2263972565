package main

import (
	"context"
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
// report's backend_note. A failure is reported on stderr here and exits 1;
// the cobra command has checked the usage (exit 2) before this runs.
func runTranscode(ctx context.Context, configPath, profileName, inputArg, outArg string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitStatus(exitError)
	}
	profile, ok := cfg.Profile(profileName)
	if !ok {
		fmt.Fprintf(stderr, "kilnd transcode: profile %q is not defined; defined profiles: %v\n", profileName, cfg.ProfileNames())
		return exitStatus(exitError)
	}
	input, err := filepath.Abs(inputArg)
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return exitStatus(exitError)
	}
	outDir, err := filepath.Abs(outArg)
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return exitStatus(exitError)
	}
	if st, err := os.Stat(input); err != nil || !st.Mode().IsRegular() {
		fmt.Fprintf(stderr, "kilnd transcode: %s is not a readable regular file\n", inputArg)
		return exitStatus(exitError)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return exitStatus(exitError)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode: cannot find its own executable:", err)
		return exitStatus(exitError)
	}
	worker, err := workerPath(exe)
	if err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return exitStatus(exitError)
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
		return exitStatus(exitError)
	}
	fmt.Fprintln(stdout, "backend:", out.Backend)
	if note := backendNote(out.Result.Report); note != "" {
		fmt.Fprintln(stdout, "backend note:", note)
	}
	if !out.Result.OK {
		fmt.Fprintf(stderr, "kilnd transcode: %s failed: %s\n", filepath.Base(input), out.Result.Reason)
		return exitStatus(exitError)
	}
	report := out.Result.Report
	if report == nil {
		fmt.Fprintln(stderr, "kilnd transcode: the worker reported success without a report")
		return exitStatus(exitError)
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
	return nil
}

func backendNote(r *job.Report) string {
	if r == nil {
		return ""
	}
	return r.BackendNote
}
