// Command soak runs a real kilnd for hours under a random mix of what an
// appliance meets: files dropped into watch folders (good and broken), jobs
// cancelled, config reloads and workers killed. It then checks that every
// file ended in done/ or failed/ exactly once, that nothing is left in
// staging, and reports jobs done, failures by reason and the daemon's memory
// over time. `make soak` runs it; CI does not.
//
//	go run ./soak -duration 2h            (after make build)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const config = `
[daemon]
state_dir    = "%[1]s/state"
socket       = "%[1]s/run/kiln.sock"
cpu_jobs     = 2
rescan       = "2s"
socket_group = ""
stop_grace   = "0s"

[[watch]]
name     = "a"
inbox    = "%[1]s/in/a"
output   = "%[1]s/out/a"
profiles = ["small"]
settle   = "1s"
incomplete_timeout = "20s"

[[watch]]
name     = "b"
inbox    = "%[1]s/in/b"
output   = "%[1]s/out/b"
profiles = ["small", "pal"]
priority = "high"
settle   = "1s"
incomplete_timeout = "20s"

[profile.small]
kind = "file"
codec = "h264"
width = 320
video_bitrate = "400k"

[profile.pal]
kind = "broadcast"
standard = "pal"
`

type sample struct {
	At    float64 `json:"at_seconds"`
	RSSKB int     `json:"rss_kb"`
}

type result struct {
	Seconds   float64        `json:"seconds"`
	Dropped   int            `json:"dropped"`
	Actions   map[string]int `json:"actions"`
	States    map[string]int `json:"jobs_by_state"`
	Failures  map[string]int `json:"failures_by_reason"`
	Memory    []sample       `json:"daemon_rss"`
	Lost      []string       `json:"lost_files"`
	Leftovers int            `json:"staging_leftovers"`
}

func main() {
	duration := flag.Duration("duration", time.Hour, "how long to run")
	bin := flag.String("kilnd", "bin/kilnd", "kilnd binary")
	seed := flag.Int64("seed", time.Now().UnixNano(), "random seed")
	flag.Parse()
	if err := run(*duration, *bin, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, bin string, seed int64) error {
	rng := rand.New(rand.NewSource(seed))
	root, err := os.MkdirTemp("", "kiln-soak-")
	if err != nil {
		return err
	}
	fmt.Printf("soak: %s in %s (seed %d)\n", duration, root, seed)
	clips, err := makeClips(root)
	if err != nil {
		return err
	}
	cfg := filepath.Join(root, "kiln.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(config, root)), 0o644)
	logf, _ := os.Create(filepath.Join(root, "kilnd.log"))
	daemon := exec.Command(bin, "--config", cfg)
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		return err
	}
	defer daemon.Process.Signal(syscall.SIGTERM)
	client := unixClient(filepath.Join(root, "run", "kiln.sock"))
	if err := waitUntil(20*time.Second, func() bool { return get(client, "/v1/health", new(map[string]any)) == nil }); err != nil {
		return fmt.Errorf("kilnd did not start: see %s/kilnd.log", root)
	}

	res := result{Actions: map[string]int{}, States: map[string]int{}, Failures: map[string]int{}}
	dropped := map[string]string{} // file name → inbox
	began := time.Now()
	nextSample := began
	for time.Since(began) < duration {
		if time.Now().After(nextSample) {
			res.Memory = append(res.Memory, sample{time.Since(began).Seconds(), rssKB(daemon.Process.Pid)})
			nextSample = nextSample.Add(10 * time.Second)
		}
		switch r := rng.Intn(100); {
		case r < 70:
			inbox := []string{"a", "b"}[rng.Intn(2)]
			clip := clips[rng.Intn(len(clips))]
			name := fmt.Sprintf("drop-%05d%s", len(dropped), filepath.Ext(clip))
			dir := filepath.Join(root, "in", inbox)
			data, _ := os.ReadFile(clip)
			os.WriteFile(filepath.Join(dir, "."+name+".part"), data, 0o644)
			os.Rename(filepath.Join(dir, "."+name+".part"), filepath.Join(dir, name))
			dropped[name] = dir
			res.Actions["drop"]++
		case r < 80:
			var jobs []map[string]any
			if get(client, "/v1/jobs?state=running", &jobs) == nil && len(jobs) > 0 {
				id := int(jobs[rng.Intn(len(jobs))]["id"].(float64))
				req, _ := http.NewRequest("POST", "http://kiln/v1/jobs/"+strconv.Itoa(id)+"/cancel", nil)
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					res.Actions["cancel"]++
				}
			}
		case r < 90:
			daemon.Process.Signal(syscall.SIGHUP)
			res.Actions["reload"]++
		default:
			// kilnd starts kiln-worker from its own folder.
			out, _ := exec.Command("pgrep", "-f", filepath.Join(filepath.Dir(bin), "kiln-worker")+" worker").Output()
			if pids := strings.Fields(string(out)); len(pids) > 0 {
				pid, _ := strconv.Atoi(pids[rng.Intn(len(pids))])
				syscall.Kill(pid, syscall.SIGKILL)
				res.Actions["kill_worker"]++
			}
		}
		time.Sleep(time.Duration(1000+rng.Intn(2000)) * time.Millisecond)
	}
	res.Dropped = len(dropped)

	// Let the queue drain, then check that nothing was lost.
	waitUntil(10*time.Minute, func() bool {
		var h map[string]any
		return get(client, "/v1/health", &h) == nil && h["queue_depth"].(float64) == 0 && h["running"].(float64) == 0
	})
	waitUntil(time.Minute, func() bool { return len(lost(dropped)) == 0 })
	res.Seconds = time.Since(began).Seconds()
	res.Lost = lost(dropped)
	var jobs []map[string]any
	get(client, "/v1/jobs", &jobs)
	for _, j := range jobs {
		state := j["state"].(string)
		res.States[state]++
		if state == "failed" {
			reason, _ := j["reason"].(string)
			if len(reason) > 80 {
				reason = reason[:80] + "…"
			}
			res.Failures[reason]++
		}
	}
	for _, w := range []string{"a", "b"} {
		entries, _ := os.ReadDir(filepath.Join(root, "out", w, ".kiln-staging"))
		res.Leftovers += len(entries)
	}
	report(res)
	b, _ := json.MarshalIndent(res, "", "  ")
	os.WriteFile(filepath.Join(root, "soak-results.json"), b, 0o644)
	if daemon.ProcessState != nil || len(res.Lost) > 0 || res.Leftovers > 0 {
		return fmt.Errorf("invariants broken: %d files lost, %d staging leftovers (details in %s)", len(res.Lost), res.Leftovers, root)
	}
	return nil
}

// lost lists dropped files that are in neither done/ nor failed/.
func lost(dropped map[string]string) []string {
	var out []string
	for name, dir := range dropped {
		_, e1 := os.Stat(filepath.Join(dir, "done", name))
		_, e2 := os.Stat(filepath.Join(dir, "failed", name))
		if e1 != nil && e2 != nil {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func report(r result) {
	fmt.Printf("\n## Soak: %.0f s, %d files dropped\n\n", r.Seconds, r.Dropped)
	fmt.Printf("actions: %v\n\njobs by state: %v\n\nfailures by reason:\n", r.Actions, r.States)
	for reason, n := range r.Failures {
		fmt.Printf("  %4d  %s\n", n, reason)
	}
	if len(r.Memory) > 0 {
		minKB, maxKB := r.Memory[0].RSSKB, r.Memory[0].RSSKB
		for _, s := range r.Memory {
			minKB, maxKB = min(minKB, s.RSSKB), max(maxKB, s.RSSKB)
		}
		fmt.Printf("\ndaemon RSS: first %d KB, min %d KB, max %d KB, last %d KB (%d samples)\n",
			r.Memory[0].RSSKB, minKB, maxKB, r.Memory[len(r.Memory)-1].RSSKB, len(r.Memory))
	}
	fmt.Printf("lost files: %d, staging leftovers: %d\n", len(r.Lost), r.Leftovers)
}

func makeClips(root string) ([]string, error) {
	dir := filepath.Join(root, "clips")
	os.MkdirAll(dir, 0o755)
	specs := map[string][]string{
		"good.mp4": {"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
			"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"},
		"good.ts": {"-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
			"-t", "3", "-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpegts"},
		"radio.m4a": {"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "2", "-c:a", "aac"},
	}
	var clips []string
	for name, args := range specs {
		p := filepath.Join(dir, name)
		full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, append(args, p)...)
		if out, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ffmpeg %s: %v\n%s", name, err, out)
		}
		clips = append(clips, p)
	}
	noise := filepath.Join(dir, "noise.mov")
	b := make([]byte, 100<<10)
	rand.Read(b)
	os.WriteFile(noise, b, 0o644)
	return append(clips, noise), nil
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func unixClient(socket string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}
}

func get(c *http.Client, path string, v any) error {
	resp, err := c.Get("http://kiln" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func waitUntil(limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %s", limit)
}
