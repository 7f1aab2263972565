// Package e2e runs Kiln the way a user does: it builds kilnd, starts it with a
// config, drops generated clips into watch folders and checks what comes out
// with ffprobe, the reports and the inbox folders.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/api/apitest"
	"kiln/daemon/store/pgtest"
	"kiln/job"
)

var kilndBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kiln-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// kilnd starts kiln-worker from its own folder, as make install
	// places them.
	kilndBin = filepath.Join(dir, "kilnd")
	for _, b := range []struct{ out, pkg string }{{kilndBin, "kiln/cmd/kilnd"}, {filepath.Join(dir, "kiln-worker"), "kiln/cmd/kiln-worker"}} {
		build := exec.Command("go", "build", "-o", b.out, b.pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", b.pkg+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	pgtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running kilnd under test.
type daemon struct {
	t      *testing.T
	root   string
	cmd    *exec.Cmd
	socket string
	http   *http.Client
	log    *os.File
}

// startDaemon writes cfg (with {{root}} replaced by a fresh folder) and starts
// kilnd with it, waiting until its API answers.
func startDaemon(t *testing.T, cfg string) *daemon {
	t.Helper()
	root := t.TempDir()
	cfg = strings.ReplaceAll(cfg, "{{root}}", root)
	cfgPath := filepath.Join(root, "kiln.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(root, "kilnd.log"))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, root: root, socket: filepath.Join(root, "run", "kiln.sock"), log: log}
	d.cmd = exec.Command(kilndBin, "--config", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Every answer is checked against api/openapi.json as well.
	d.http = &http.Client{Timeout: 10 * time.Second, Transport: apitest.Transport(t, &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.socket)
		}})}
	t.Cleanup(d.stop)
	waitFor(t, 15*time.Second, "kilnd to answer on its socket", func() bool {
		var h api.Health
		return d.get("/v1/health", &h) == nil
	})
	return d
}

func (d *daemon) stop() {
	if d.cmd.Process != nil {
		d.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
	}
	d.log.Close()
	if d.t.Failed() {
		b, _ := os.ReadFile(d.log.Name())
		d.t.Logf("kilnd log:\n%s", b)
	}
}

func (d *daemon) get(path string, v any) error {
	resp, err := d.http.Get("http://kiln" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (d *daemon) jobs() []api.Job {
	d.t.Helper()
	var jobs []api.Job
	if err := d.get("/v1/jobs", &jobs); err != nil {
		d.t.Fatal(err)
	}
	return jobs
}

// drop puts a file into an inbox the way a careful copier does: written
// under a temporary name, then renamed.
func drop(t *testing.T, src, inbox, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(inbox, name+".part")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(inbox, name)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// ffmpeg generates a test clip; args are everything after the global flags.
func ffmpeg(t *testing.T, out string, args ...string) string {
	t.Helper()
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, out)
	cmd := exec.Command("ffmpeg", full...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(full, " "), err, b)
	}
	return out
}

// probe is the part of ffprobe's JSON the tests read.
type probe struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType   string `json:"codec_type"`
		CodecName   string `json:"codec_name"`
		Profile     string `json:"profile"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		PixFmt      string `json:"pix_fmt"`
		FieldOrder  string `json:"field_order"`
		SAR         string `json:"sample_aspect_ratio"`
		DAR         string `json:"display_aspect_ratio"`
		RFrameRate  string `json:"r_frame_rate"`
		SampleRate  string `json:"sample_rate"`
		Channels    int    `json:"channels"`
		Duration    string `json:"duration"`
		StartTime   string `json:"start_time"`
		NbReadFrame string `json:"nb_read_frames"`
	} `json:"streams"`
}

func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_format", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p probe) streams(kind string) (n int) {
	for _, s := range p.Streams {
		if s.CodecType == kind {
			n++
		}
	}
	return n
}

func (p probe) video() (s struct {
	Codec, PixFmt, FieldOrder, SAR, Rate string
	Width, Height, Frames                int
	Duration                             float64
}) {
	for _, st := range p.Streams {
		if st.CodecType == "video" {
			s.Codec, s.PixFmt, s.FieldOrder, s.SAR, s.Rate = st.CodecName, st.PixFmt, st.FieldOrder, st.SAR, st.RFrameRate
			s.Width, s.Height = st.Width, st.Height
			s.Frames, _ = strconv.Atoi(st.NbReadFrame)
			s.Duration, _ = strconv.ParseFloat(st.Duration, 64)
			return s
		}
	}
	return s
}

func readReport(t *testing.T, path string) job.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var r job.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	return r
}
