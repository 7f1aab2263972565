// Command soak runs a real kilnd for hours under a random mix of what an
// appliance meets: files dropped into watch folders (good and broken), jobs
// cancelled, config reloads, workers killed or stopped (SIGSTOP), sources
// with the same stem, sources replaced while their job runs, files written
// in bursts straight into the inbox, and a second kilnd started under the
// same node name. It then checks that every file ended in done/ or failed/,
// that no job is stuck, that nothing delivered was encoded from a truncated
// source, that the duplicate node was refused, and that nothing is left in
// staging; it reports jobs done, failures by reason and the daemon's memory
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
worker_stall_timeout = "10s"

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
	// Stuck are the jobs still queued or running once the queue had ten
	// minutes to drain.
	Stuck int `json:"stuck_jobs"`
	// Truncated are the sources delivered (in done/) whose report's
	// source duration is short of the clip that was written.
	Truncated []string `json:"published_truncated"`
	// Undelivered are the sources filed to done/ without a report of
	// theirs for each of their watch's profiles: a delivery another
	// source's (the same stem) replaced, or one never made.
	Undelivered []string `json:"done_without_delivery"`
	// DuplicateStarted counts second kilnds under a live node name that
	// did not exit with the reason.
	DuplicateStarted int `json:"duplicate_nodes_started"`
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
	whole := map[string]float64{}  // file name → the duration of the clip it finally holds
	durations, err := clipDurations(clips)
	if err != nil {
		return err
	}
	put := func(inbox, name, clip string) {
		dir := filepath.Join(root, "in", inbox)
		data, _ := os.ReadFile(clip)
		os.WriteFile(filepath.Join(dir, "."+name+".part"), data, 0o644)
		os.Rename(filepath.Join(dir, "."+name+".part"), filepath.Join(dir, name))
		dropped[name] = dir
		whole[name] = durations[clip]
	}
	good := []string{filepath.Join(root, "clips", "good.mp4"), filepath.Join(root, "clips", "good.ts")}
	began := time.Now()
	nextSample := began
	for time.Since(began) < duration {
		if time.Now().After(nextSample) {
			res.Memory = append(res.Memory, sample{time.Since(began).Seconds(), rssKB(daemon.Process.Pid)})
			nextSample = nextSample.Add(10 * time.Second)
		}
		switch r := rng.Intn(100); {
		case r < 52:
			inbox := []string{"a", "b"}[rng.Intn(2)]
			clip := clips[rng.Intn(len(clips))]
			put(inbox, fmt.Sprintf("drop-%05d%s", len(dropped), filepath.Ext(clip)), clip)
			res.Actions["drop"]++
		case r < 57:
			// Two sources with one stem in one inbox: both must be filed,
			// neither delivery may replace the other.
			n := len(dropped)
			put("a", fmt.Sprintf("coll-%05d.mp4", n), good[0])
			put("a", fmt.Sprintf("coll-%05d.ts", n), good[1])
			res.Actions["same_stem"]++
		case r < 61:
			// The source is replaced (mv over it) while its job runs: what
			// is filed must be what was encoded.
			name := fmt.Sprintf("rep-%05d.mp4", len(dropped))
			put("a", name, good[0])
			time.Sleep(time.Duration(1500+rng.Intn(1500)) * time.Millisecond)
			put("a", name, good[1])
			res.Actions["replace_source"]++
		case r < 68:
			// A TS written in bursts straight into the inbox, pausing
			// longer than settle between them: only the whole file may be
			// delivered.
			name := fmt.Sprintf("burst-%05d.ts", len(dropped))
			data, _ := os.ReadFile(good[1])
			dir := filepath.Join(root, "in", "b")
			dropped[name], whole[name] = dir, durations[good[1]]
			go burstWrite(filepath.Join(dir, name), data, 4, 1500*time.Millisecond)
			res.Actions["bursty_writer"]++
		case r < 70:
			if stopWorker(rng, bin) {
				res.Actions["stop_worker"]++
			}
		case r < 71:
			if !duplicateNodeRefused(bin, root) {
				res.DuplicateStarted++
			}
			res.Actions["duplicate_node"]++
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
	time.Sleep(10 * time.Second) // the last bursty writers finish
	if waitUntil(10*time.Minute, func() bool {
		var h map[string]any
		return get(client, "/v1/health", &h) == nil && h["queue_depth"].(float64) == 0 && h["running"].(float64) == 0
	}) != nil {
		var h map[string]any
		get(client, "/v1/health", &h)
		q, _ := h["queue_depth"].(float64)
		r, _ := h["running"].(float64)
		res.Stuck = int(q + r)
	}
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
	var reports map[string]map[string]bool
	res.Truncated, reports = truncated(root, whole)
	res.Undelivered = undelivered(dropped, reports)
	report(res)
	b, _ := json.MarshalIndent(res, "", "  ")
	os.WriteFile(filepath.Join(root, "soak-results.json"), b, 0o644)
	if daemon.ProcessState != nil || len(res.Lost) > 0 || res.Leftovers > 0 || res.Stuck > 0 || len(res.Truncated) > 0 ||
		len(res.Undelivered) > 0 || res.DuplicateStarted > 0 {
		return fmt.Errorf("invariants broken: %d files lost, %d staging leftovers, %d jobs stuck, %d delivered from a truncated source, "+
			"%d done without their delivery, %d duplicate nodes not refused (details in %s)",
			len(res.Lost), res.Leftovers, res.Stuck, len(res.Truncated), len(res.Undelivered), res.DuplicateStarted, root)
	}
	return nil
}

// lost lists dropped files that are in neither done/ nor failed/, under
// their name or a name kiln gave them there (x-2.mp4, x~2.mp4: a re-drop
// or a replacement filed beside an earlier one).
func lost(dropped map[string]string) []string {
	var out []string
	for name, dir := range dropped {
		if len(filedAs(dir, name)) == 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// filedAs lists where name was filed in dir's done/ and failed/.
func filedAs(dir, name string) []string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	var out []string
	for _, sub := range []string{"done", "failed"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			n := e.Name()
			if n == name || (strings.HasPrefix(n, stem) && strings.HasSuffix(n, ext) && len(n) > len(name) &&
				strings.ContainsRune("-~.", rune(n[len(stem)]))) {
				out = append(out, filepath.Join(sub, n))
			}
		}
	}
	return out
}

// truncated lists the dropped files delivered from less than the clip
// they finally held: a report under the watch's output whose source is
// the file and whose source duration falls short by more than a frame or
// two. (A file replaced mid-job holds one of two clips of one length.)
// It also returns, by watch and file name, the profiles delivered.
func truncated(root string, whole map[string]float64) ([]string, map[string]map[string]bool) {
	var out []string
	reports := map[string]map[string]bool{}
	for _, w := range []string{"a", "b"} {
		filepath.WalkDir(filepath.Join(root, "out", w), func(path string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".kiln.json") || strings.Contains(path, ".kiln-staging") {
				return nil
			}
			var rep struct {
				Profile     string `json:"profile"`
				Source      string `json:"source"`
				SourceProbe struct {
					Duration float64 `json:"duration"`
				} `json:"source_probe"`
			}
			b, _ := os.ReadFile(path)
			if json.Unmarshal(b, &rep) != nil {
				return nil
			}
			name := filepath.Base(rep.Source)
			key := w + "/" + name
			if reports[key] == nil {
				reports[key] = map[string]bool{}
			}
			reports[key][rep.Profile] = true
			want, ok := whole[name]
			if ok && rep.SourceProbe.Duration < want-0.1 {
				out = append(out, fmt.Sprintf("%s: %.2f s of %.2f s (%s)", name, rep.SourceProbe.Duration, want, path))
			}
			return nil
		})
	}
	sort.Strings(out)
	return out, reports
}

// undelivered lists the files in done/ (under their own name) that lack a
// report for a profile of their watch (a: small; b: small and pal).
func undelivered(dropped map[string]string, reports map[string]map[string]bool) []string {
	profiles := map[string][]string{"a": {"small"}, "b": {"small", "pal"}}
	var out []string
	for name, dir := range dropped {
		if _, err := os.Stat(filepath.Join(dir, "done", name)); err != nil {
			continue
		}
		w := filepath.Base(dir)
		for _, p := range profiles[w] {
			if !reports[w+"/"+name][p] {
				out = append(out, fmt.Sprintf("%s/%s: no %s delivery", w, name, p))
			}
		}
	}
	sort.Strings(out)
	return out
}

// burstWrite writes data to path in n bursts: open, append, close, pause,
// as a recorder does; each burst ends on a TS packet boundary (188 bytes),
// so that every pause leaves a file that looks whole by its size.
func burstWrite(path string, data []byte, n int, pause time.Duration) {
	chunk := ((len(data)+n-1)/n + 187) / 188 * 188
	for i := 0; i < len(data); i += chunk {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return
		}
		f.Write(data[i:min(i+chunk, len(data))])
		f.Close()
		time.Sleep(pause)
	}
}

// stopWorker stops (SIGSTOP) a running worker, as a debugger or a hung
// NFS read would; kilnd must kill it after worker_stall_timeout and run its
// job again.
func stopWorker(rng *rand.Rand, bin string) bool {
	out, _ := exec.Command("pgrep", "-f", filepath.Join(filepath.Dir(bin), "kiln-worker")+" worker").Output()
	pids := strings.Fields(string(out))
	if len(pids) == 0 {
		return false
	}
	pid, _ := strconv.Atoi(pids[rng.Intn(len(pids))])
	return syscall.Kill(pid, syscall.SIGSTOP) == nil
}

// duplicateNodeRefused starts a second kilnd on the same job store under
// the same node name (the host name, as on a cloned appliance) and reports
// whether it exited at once with the reason.
func duplicateNodeRefused(bin, root string) bool {
	cfg := filepath.Join(root, "kiln-twin.toml")
	text := strings.Replace(fmt.Sprintf(config, root), root+"/run/kiln.sock", root+"/run/kiln-twin.sock", 1)
	os.WriteFile(cfg, []byte(text), 0o644)
	twin := exec.Command(bin, "--config", cfg)
	var out strings.Builder
	twin.Stdout, twin.Stderr = &out, &out
	if err := twin.Start(); err != nil {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- twin.Wait() }()
	select {
	case err := <-done:
		if err != nil && strings.Contains(out.String(), "already live as instance") {
			return true
		}
		fmt.Printf("soak: duplicate node: exit %v without the reason:\n%s\n", err, out.String())
		return false
	case <-time.After(20 * time.Second):
		twin.Process.Signal(syscall.SIGTERM)
		<-done
		fmt.Printf("soak: duplicate node kept running:\n%s\n", out.String())
		return false
	}
}

// clipDurations probes each clip's duration with ffprobe.
func clipDurations(clips []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, c := range clips {
		b, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", c).Output()
		if err != nil {
			out[c] = 0 // noise: not media, never delivered
			continue
		}
		d, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			return nil, fmt.Errorf("ffprobe %s: %q", c, b)
		}
		out[c] = d
	}
	return out, nil
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
	fmt.Printf("lost files: %d, staging leftovers: %d, stuck jobs: %d, delivered from a truncated source: %d, duplicate nodes not refused: %d\n",
		len(r.Lost), r.Leftovers, r.Stuck, len(r.Truncated), r.DuplicateStarted)
	for _, t := range r.Truncated {
		fmt.Printf("  truncated: %s\n", t)
	}
	fmt.Printf("done without their delivery: %d\n", len(r.Undelivered))
	for _, u := range r.Undelivered {
		fmt.Printf("  %s\n", u)
	}
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
