package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/asticode/go-astiav"

	"kiln/config"
	"kiln/job"
	"kiln/kernels"
	"kiln/pipeline"
	"kiln/version"
)

const usage = "usage: kiln-worker worker | transcode --config FILE --profile NAME INPUT OUTDIR | version"

// run dispatches on the subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "transcode":
		return runTranscode(ctx, args[1:], stdout, stderr)
	case "worker":
		return runWorker(ctx, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "kiln-worker", version.Version)
		return 0
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

// runTranscode runs one job in the foreground: the same pipeline, outputs and
// report as the daemon's, without a daemon, a store or an inbox.
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
		fmt.Fprintln(stderr, err)
		return 1
	}
	outDir, err := filepath.Abs(fs.Arg(1))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintln(stderr, "kilnd transcode:", err)
		return 1
	}
	quietLibav()
	// The same time bound as a daemon job; the memory cap is the worker's
	// and stays off in a foreground command.
	spec := job.Spec{Source: input, Profile: *profile, OutputRoot: outDir, OutputMode: cfg.Daemon.OutputMode,
		Limits: job.Limits{TimeoutFactor: cfg.Daemon.JobTimeoutFactor}}
	report, err := pipeline.Run(ctx, spec, func(p job.Progress) {
		fmt.Fprintf(stderr, "\r%-8s %5.1f%%  %6d frames  %6.1f fps", p.Stage, p.Fraction*100, p.Frames, p.FPS)
	})
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "kilnd transcode: %s failed: %s\n", filepath.Base(input), pipeline.Reason(err))
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
	fmt.Fprintln(stdout, "report:", filepath.Join(filepath.Dir(report.Outputs[0].Path), pipeline.SourceName(input)+".kiln.json"))
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default()
	}
	return config.Load(path)
}

// runWorker runs one job for the daemon: the spec arrives as JSON on stdin;
// progress and the result leave as JSON lines on stdout. Exit status 0 means
// a result was written, whether the job succeeded or not; anything else is a
// crash, which the daemon records with the signal or the last log lines.
func runWorker(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	if os.Getppid() == 1 {
		// The daemon died before we started; its parent-death signal missed us.
		return 3
	}
	quietLibav()
	if err := pipeline.Serve(ctx, stdin, stdout, kernels.CPU()); err != nil {
		fmt.Fprintln(stderr, "kiln-worker:", err)
		return 2
	}
	return 0
}

// quietLibav keeps libav to errors on stderr; its warnings about ordinary
// files would drown the job's own messages.
func quietLibav() {
	astiav.SetLogLevel(astiav.LogLevelError)
}
