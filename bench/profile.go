package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// profileMisses profiles what a missed target measured, so that the
// Markdown says what limits it rather than only that it was missed.
func (h *harness) profileMisses(ctx context.Context) error {
	dir := filepath.Join(h.runDir, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, perfErr := exec.LookPath("perf")
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	if h.missed("MC frame-rate") {
		fmt.Fprintf(h.log, "\n== profile: MC frame-rate conversion (target missed)\n")
		target := "MC frame-rate conversion"
		note(h.goBenchProfile(ctx, target, dir, "./kernels/", "kernels", "EstimateMotion|InterpolateMC"))
		if perfErr == nil {
			note(h.perfProfile(ctx, target, dir, "kernels", []string{filepath.Join(dir, "kernels.test"),
				"-test.run", "XXX", "-test.bench", "EstimateMotion|InterpolateMC", "-test.benchtime", "1s"}))
		}
	}
	if h.missed("SD broadcast chain") && perfErr == nil {
		fmt.Fprintf(h.log, "\n== profile: SD broadcast chain (target missed)\n")
		if src, err := h.source(ctx, pipelineCases[0].source); err == nil {
			cfg := filepath.Join(h.runDir, "kiln.toml")
			note(h.perfProfile(ctx, "SD broadcast chain (kilnd transcode, PAL job)", dir, "kilnd",
				[]string{h.kilnd, "transcode", "--config", cfg, "--profile", pipelineCases[0].profile, src, filepath.Join(dir, "kilnd-out")}))
		} else {
			note(err)
		}
	}
	// The Go benchmark profiled here runs the SQLite store; the PostgreSQL
	// store's time is mostly in the server and on the wire.
	if h.missed("Job store, SQLite") {
		fmt.Fprintf(h.log, "\n== profile: job store, SQLite (target missed)\n")
		note(h.goBenchProfile(ctx, "Job store, SQLite", dir, "./daemon/store/", "store", "EnqueueClaimFinish"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// goBenchProfile builds a package's test binary, runs its benchmarks under
// the Go CPU profiler, and keeps the top of pprof's table. Kiln's kernels
// are C called through cgo; the profiler attributes their time to the
// _Cfunc_ wrapper of each kernel launcher, which names the kernel.
func (h *harness) goBenchProfile(ctx context.Context, target, dir, pkg, name, bench string) error {
	bin := filepath.Join(dir, name+".test")
	prof := filepath.Join(dir, name+".cpu.prof")
	if _, err := h.exec(ctx, "profile", "go", "test", "-c", "-o", bin, pkg); err != nil {
		return err
	}
	run, err := h.exec(ctx, "profile", bin, "-test.run", "XXX", "-test.bench", bench, "-test.benchtime", "2s", "-test.cpuprofile", prof)
	if err != nil {
		return err
	}
	// The cumulative view: Kiln's kernels are C, whose time the flat view
	// lumps into runtime.cgocall, and the store's time is spread over the
	// SQL engine; the cumulative one names the calls it is spent under.
	cum, err := h.exec(ctx, "profile", "go", "tool", "pprof", "-top", "-cum", "-nodecount=40", bin, prof)
	if err != nil {
		return err
	}
	cmd := fmt.Sprintf("go test -run XXX -bench '%s' -benchtime 2s -cpuprofile cpu.prof %s && go tool pprof -top -cum -nodecount=40 %s.test cpu.prof", bench, pkg, name)
	h.res.Profiles = append(h.res.Profiles, Profile{Target: target, Tool: "go test -cpuprofile + pprof", Command: cmd,
		Top: benchLines(run.Stdout) + "\n\n" + cumLines(string(cum.Stdout))})
	return nil
}

// perfProfile samples a whole command with perf, C and kernel code
// included, and keeps the top of the report by shared object and symbol.
func (h *harness) perfProfile(ctx context.Context, target, dir, name string, argv []string) error {
	data := filepath.Join(dir, name+".perf.data")
	if _, err := h.exec(ctx, "profile", append([]string{"perf", "record", "-F", "499", "-o", data, "--"}, argv...)...); err != nil {
		return err
	}
	rep, err := h.exec(ctx, "profile", "perf", "report", "-i", data, "--stdio", "--sort", "dso,symbol")
	if err != nil {
		return err
	}
	byDSO, err := h.exec(ctx, "profile", "perf", "report", "-i", data, "--stdio", "--sort", "dso")
	if err != nil {
		return err
	}
	top := "by shared object:\n" + perfTop(string(byDSO.Stdout), 6) + "\nby symbol:\n" + perfTop(string(rep.Stdout), 18)
	h.res.Profiles = append(h.res.Profiles, Profile{Target: target, Tool: "perf record (499 Hz)",
		Command: "perf record -F 499 -- " + shellLine(argv) + " && perf report --stdio --sort dso,symbol", Top: top})
	return nil
}

// perfTop keeps the first n sample lines of a perf report.
func perfTop(report string, n int) string {
	var out []string
	for _, line := range strings.Split(report, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || !strings.Contains(t, "%") || strings.HasPrefix(t, "|") || strings.HasPrefix(t, "-") {
			continue
		}
		if t[0] < '0' || t[0] > '9' {
			continue
		}
		out = append(out, strings.TrimSuffix(strings.Join(strings.Fields(t), " "), " - -"))
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, "\n")
}

// trimPprof drops pprof's header lines that name temporary files.
func trimPprof(s string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// cumLines keeps the table rows of pprof's cumulative view.
func cumLines(s string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && strings.HasSuffix(f[4], "%") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// benchLines keeps the benchmark result lines of a test binary's output.
func benchLines(stdout []byte) string {
	var out []string
	for _, line := range strings.Split(string(stdout), "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, "\n")
}
