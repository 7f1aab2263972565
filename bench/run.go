package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// harness holds what every section shares.
type harness struct {
	root   string // the module root; commands run there
	out    string // where latest.* and the charts go
	srcDir string // generated sources, kept between runs
	runDir string // this run's scratch, emptied at the start
	kilnd  string
	reps   int
	log    io.Writer
	res    *Results
}

var allSections = []string{"kernels", "pipelines", "frc", "store", "memory"}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	kilnd := fs.String("kilnd", "", "kilnd `binary` to measure, with kiln-worker beside it (default: build both from this tree into the scratch folder)")
	out := fs.String("out", "bench/results", "results `folder`")
	only := fs.String("only", strings.Join(allSections, ","), "comma-separated `sections` to run")
	reps := fs.Int("reps", 2, "repetitions of each timed run; the best counts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sections := strings.Split(*only, ",")
	for _, s := range sections {
		if !slices.Contains(allSections, s) {
			return fmt.Errorf("unknown section %q (sections: %s)", s, strings.Join(allSections, ", "))
		}
	}
	if *reps < 1 {
		return errors.New("-reps must be at least 1")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	h := &harness{root: root, reps: *reps, log: stdout, res: &Results{Generated: time.Now().UTC(), Sections: sections}}
	h.out = absUnder(root, *out)
	h.srcDir = filepath.Join(h.out, "tmp", "sources")
	h.runDir = filepath.Join(h.out, "tmp", "run")
	if err := os.RemoveAll(h.runDir); err != nil {
		return err
	}
	for _, d := range []string{h.srcDir, h.runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, tool := range []string{"ffmpeg", "ffprobe", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: make setup installs it", tool)
		}
	}
	began := time.Now()
	if *kilnd != "" {
		h.kilnd = absUnder(root, *kilnd)
	}
	if slices.Contains(sections, "pipelines") || slices.Contains(sections, "memory") {
		if err := h.ensureKilnd(ctx); err != nil {
			return err
		}
	}
	h.res.Host = h.host(ctx)
	fmt.Fprintf(stdout, "bench: %s, %d cores, load %s; %s; %s\n", h.res.Host.CPU, h.res.Host.Cores, h.res.Host.LoadStart, h.res.Host.FFmpeg, h.res.Host.Kiln)

	steps := map[string]func(context.Context) error{
		"kernels": h.kernels, "pipelines": h.pipelines, "frc": h.frc, "store": h.store, "memory": h.memory,
	}
	for _, s := range allSections {
		if !slices.Contains(sections, s) {
			continue
		}
		fmt.Fprintf(stdout, "\n== %s\n", s)
		t := time.Now()
		if err := steps[s](ctx); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		fmt.Fprintf(stdout, "== %s took %.0f s\n", s, time.Since(t).Seconds())
	}
	h.judge()
	if err := h.profileMisses(ctx); err != nil {
		// A profile explains a miss; failing to take one must not lose the
		// figures themselves.
		h.res.Warnings = append(h.res.Warnings, "profiling: "+err.Error())
	}
	h.res.Seconds = time.Since(began).Seconds()
	if err := h.write(); err != nil {
		return err
	}
	return h.dropRawScratch()
}

// dropRawScratch removes the run's raw video (references, decoded heads,
// rebuilt pictures), hundreds of megabytes that have been scored; the
// encoded outputs stay for inspection until the next run.
func (h *harness) dropRawScratch() error {
	return filepath.WalkDir(h.runDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yuv") {
			return err
		}
		return os.Remove(p)
	})
}

// write puts latest.json, latest.md and the charts into the results folder.
func (h *harness) write() error {
	b, err := json.MarshalIndent(h.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(h.out, "latest.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	charts, err := h.charts()
	if err != nil {
		return err
	}
	md := h.markdown(charts)
	if err := os.WriteFile(filepath.Join(h.out, "latest.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(h.log, "\nbench: wrote %s, %s and %d charts in %.0f s\n",
		filepath.Join(h.out, "latest.json"), filepath.Join(h.out, "latest.md"), len(charts), h.res.Seconds)
	return nil
}

// ensureKilnd builds kilnd and kiln-worker (which kilnd starts from its own
// folder) from this tree into the scratch folder, unless -kilnd named
// binaries to measure: figures from a stale bin/ would describe old code.
func (h *harness) ensureKilnd(ctx context.Context) error {
	if h.kilnd != "" {
		if !fileExists(filepath.Join(filepath.Dir(h.kilnd), "kiln-worker")) {
			return fmt.Errorf("%s: kiln-worker is not beside it; kilnd cannot run jobs without it", h.kilnd)
		}
		return nil
	}
	h.kilnd = filepath.Join(h.runDir, "kilnd")
	if _, err := h.exec(ctx, "build", "go", "build", "-o", h.kilnd, "./cmd/kilnd"); err != nil {
		return err
	}
	_, err := h.exec(ctx, "build", "go", "build", "-o", filepath.Join(h.runDir, "kiln-worker"), "./cmd/kiln-worker")
	return err
}

func (h *harness) host(ctx context.Context) Host {
	host := Host{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				host.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		host.Kernel = utsString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		host.LoadStart = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-version").Output(); err == nil {
		host.FFmpeg = strings.TrimSpace(strings.SplitN(string(b), " Copyright", 2)[0])
	}
	if fileExists(h.kilnd) {
		if b, err := exec.CommandContext(ctx, h.kilnd, "version").Output(); err == nil {
			host.Kiln = strings.TrimSpace(string(b))
		}
	}
	return host
}

func utsString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// moduleRoot finds the folder holding go.mod, so the harness runs the same
// from any folder of the checkout.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module kiln\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the kiln checkout (no go.mod for module kiln found above the working folder)")
		}
		dir = parent
	}
}

func absUnder(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// rel shortens a path under the module root for printing.
func (h *harness) rel(p string) string {
	if r, err := filepath.Rel(h.root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
