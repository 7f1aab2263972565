package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// idleSettle is how long the daemon sits idle after its socket first
// answers before its RSS is read: start-up work (migrations, the hardware
// probe, the first scans) is over by then.
const idleSettle = 3 * time.Second

func (h *harness) memory(ctx context.Context) error {
	dir := filepath.Join(h.runDir, "daemon")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	socket := filepath.Join(dir, "kiln.sock")
	cfg := filepath.Join(dir, "kiln.toml")
	if err := os.WriteFile(cfg, []byte(benchConfig(filepath.Join(dir, "state"), socket, h.srcDir)), 0o644); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "kilnd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	argv := []string{h.kilnd, "--config", cfg}
	fmt.Fprintf(h.log, "  [daemon] $ %s\n", shellLine(argv))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = h.root, logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://kilnd/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("kilnd exited before its socket answered (%v); log: %s\n%s", err, logPath, tailFile(logPath, 10))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kilnd's socket did not answer within 30 s; log: %s", logPath)
		}
	}
	time.Sleep(idleSettle)
	st, err := procStatus(cmd.Process.Pid)
	if err != nil {
		return err
	}
	m := &MemoryResult{Command: shellLine(argv), IdleRSS: st["VmRSS"], IdleHWM: st["VmHWM"], IdleAnon: st["RssAnon"],
		IdleFile: st["RssFile"], Threads: int(st["Threads"])}
	if maps, libs, libRSS, err := residentByMapping(cmd.Process.Pid); err == nil {
		m.Mappings, m.SharedLibs, m.SharedLibRSS = maps, libs, libRSS
	}
	fmt.Fprintf(h.log, "  daemon idle: VmRSS %.1f MiB (anon %.1f, file %.1f), VmHWM %.1f MiB, %d threads\n",
		mib(m.IdleRSS), mib(m.IdleAnon), mib(m.IdleFile), mib(m.IdleHWM), m.Threads)

	// One real job through the daemon: the worker's peak as the daemon
	// records it, to set beside the kilnd transcode figures.
	if jm, err := h.daemonJob(ctx, client, dir, logPath); err != nil {
		m.DaemonJobErr = err.Error()
		fmt.Fprintf(h.log, "  daemon job: %v\n", err)
	} else {
		m.DaemonJob = jm
		fmt.Fprintf(h.log, "  daemon job %s: worker peak RSS %.1f MiB (%s)\n", jm.Job, mib(jm.KilnPeak), jm.Via)
	}
	for _, p := range h.res.Pipelines {
		if p.Status != "ok" {
			continue
		}
		m.Jobs = append(m.Jobs, JobMemory{Job: p.Name, Via: "VmHWM of kilnd transcode (the worker's pipeline.RunOn, in the foreground), sampled every 20 ms",
			KilnPeak: p.Kiln.PeakRSS, FFmpegPeak: p.FFmpeg.PeakRSS})
	}
	h.res.Memory = m
	return nil
}

// daemonJob submits the PAL job over the API, waits for it, and reads the
// worker's peak RSS from the job's report, or else from the daemon's log.
func (h *harness) daemonJob(ctx context.Context, client *http.Client, dir, logPath string) (*JobMemory, error) {
	src, err := h.source(ctx, "src-1080i25.ts")
	if err != nil {
		return nil, err
	}
	// The output goes to the default, <state_dir>/out.
	body, _ := json.Marshal(map[string]string{"source": src, "profile": "pal"})
	fmt.Fprintf(h.log, "  [daemon] POST /v1/jobs %s\n", body)
	resp, err := client.Post("http://kilnd/v1/jobs", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("submitting: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("submitting: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(answer))
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(answer, &created); err != nil {
		return nil, fmt.Errorf("submitting: %w", err)
	}
	var j struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
		Report struct {
			Resources *struct {
				PeakRSS int64 `json:"peak_rss_bytes"`
			} `json:"resources"`
		} `json:"report"`
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp, err := client.Get(fmt.Sprintf("http://kilnd/v1/jobs/%d", created.ID))
		if err != nil {
			return nil, err
		}
		err = json.NewDecoder(resp.Body).Decode(&j)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if j.State == "done" || j.State == "failed" || j.State == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("job %d still %s after 10 minutes", created.ID, j.State)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if j.State != "done" {
		return nil, fmt.Errorf("job %d %s: %s", created.ID, j.State, j.Reason)
	}
	jm := &JobMemory{Job: pipelineCases[0].name + " (through the daemon)"}
	if r := j.Report.Resources; r != nil && r.PeakRSS > 0 {
		jm.KilnPeak, jm.Via = r.PeakRSS, "the job report's resources.peak_rss_bytes: the worker's own VmHWM, sent with its result"
		return jm, nil
	}
	// The log line the daemon writes when a worker ends.
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Peak int64  `json:"peak_rss_bytes"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "worker resources" && line.Peak > 0 {
			jm.KilnPeak, jm.Via = line.Peak, `the daemon log's "worker resources" line`
			return jm, nil
		}
	}
	return nil, fmt.Errorf("job %d finished but neither its report nor the daemon log recorded the worker's peak RSS", created.ID)
}

// residentByMapping sums a process's resident memory by what is mapped
// (a file, or the kind of anonymous memory), largest first: the breakdown
// that says which part of an RSS is the program's and which its libraries'.
// It also counts the shared libraries mapped and their resident total.
func residentByMapping(pid int) (top []Mapping, libs int, libRSS int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, 0, 0, err
	}
	sums := map[string]int64{}
	name := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			name = "[anonymous]"
			if len(f) >= 6 {
				name = f[5]
			}
		case len(f) >= 2 && f[0] == "Rss:":
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			sums[name] += kb * 1024
		}
	}
	var out []Mapping
	for n, v := range sums {
		if strings.Contains(filepath.Base(n), ".so") {
			libs++
			libRSS += v
		}
		if v > 0 {
			out = append(out, Mapping{Name: n, RSS: v})
		}
	}
	slices.SortFunc(out, func(a, b Mapping) int { return int(b.RSS - a.RSS) })
	return out[:min(len(out), 10)], libs, libRSS, nil
}

// procStatus reads the byte and count fields of /proc/PID/status.
func procStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[k] = n
	}
	return out, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	return lastLines(string(b), n)
}

func mkdirFor(path string) error { return os.MkdirAll(filepath.Dir(path), 0o755) }
