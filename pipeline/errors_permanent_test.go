package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/asticode/go-astiav"

	"kiln/config"
	"kiln/job"
	"kiln/kernels"
)

// TestPermanentClassification: errors that running the job again cannot
// change are permanent, so the daemon fails the job at once instead of
// spending another encode; a crash-like or passing condition is not.
func TestPermanentClassification(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"read-only output (Go)", &os.PathError{Op: "mkdir", Path: "/out/x", Err: syscall.EROFS}, true},
		{"read-only output (libav)", fmt.Errorf("opening output: %w", astiav.Error(-int(syscall.EROFS))), true},
		{"permission denied", fmt.Errorf("creating staging folder: %w", &os.PathError{Op: "mkdir", Path: "/out", Err: syscall.EACCES}), true},
		{"name too long", &os.PathError{Op: "open", Path: "/out/x", Err: syscall.ENAMETOOLONG}, true},
		{"name too long (libav)", astiav.Error(-int(syscall.ENAMETOOLONG)), true},
		{"no-space refusal", &SpaceError{Dir: "/out", Need: 10 << 20, Free: 1 << 20}, true},
		{"bad source", &InputError{Reason: "no video stream"}, true},
		{"disk filled during the write", &SpaceError{Dir: "/out", Need: 10 << 20, DuringTheWrite: true}, false},
		{"out of memory", errOutOfMemory, false},
		{"I/O error", &os.PathError{Op: "read", Path: "/src", Err: syscall.EIO}, false},
		{"interrupted", context.Canceled, false},
	}
	for _, tc := range cases {
		if got := Permanent(tc.err); got != tc.want {
			t.Errorf("%s: Permanent = %t, want %t (%v)", tc.name, got, tc.want, tc.err)
		}
	}
}

// serveOnce runs a real worker (Serve) on spec and returns its result.
func serveOnce(t *testing.T, spec job.Spec) job.Result {
	t.Helper()
	in, _ := json.Marshal(spec)
	var out bytes.Buffer
	if err := Serve(context.Background(), bytes.NewReader(in), &out, kernels.CPU()); err != nil {
		t.Fatal(err)
	}
	var res *job.Result
	for _, line := range strings.Split(out.String(), "\n") {
		var m job.Message
		if json.Unmarshal([]byte(line), &m) == nil && m.Result != nil {
			res = m.Result
		}
	}
	if res == nil {
		t.Fatalf("no result from the worker:\n%s", out.String())
	}
	return *res
}

func smallClip(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

var fileProfile = config.Profile{Name: "f", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 200_000}

// readOnlyFolder returns a folder no job can write to: a read-only tmpfs
// when the test runs as root (which ignores mode bits), else mode 0555.
func readOnlyFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return dir
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64m", "kiln-ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("as root, a read-only folder needs a read-only mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// TestReadOnlyOutputFailsPermanently: a worker asked to write into a
// read-only folder says so, and marks it permanent.
func TestReadOnlyOutputFailsPermanently(t *testing.T) {
	src := filepath.Join(t.TempDir(), "ro.mp4")
	smallClip(t, src)
	res := serveOnce(t, job.Spec{ID: 1, Source: src, Profile: fileProfile, OutputRoot: readOnlyFolder(t)})
	if res.OK || !res.Permanent || !(strings.Contains(res.Reason, "read-only") || strings.Contains(res.Reason, "permission denied")) {
		t.Errorf("result = ok %t, permanent %t, reason %q; want a permanent failure naming the read-only folder", res.OK, res.Permanent, res.Reason)
	}
}

// TestNameTooLongFailsPermanently: a source whose name leaves no room for
// the report's (<stem>.kiln.json, 255 bytes at most) fails permanently.
func TestNameTooLongFailsPermanently(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, strings.Repeat("n", 250)+".mp4")
	smallClip(t, src)
	res := serveOnce(t, job.Spec{ID: 2, Source: src, Profile: fileProfile, OutputRoot: filepath.Join(dir, "out")})
	if res.OK || !res.Permanent || !strings.Contains(res.Reason, "too long") {
		t.Errorf("result = ok %t, permanent %t, reason %q; want a permanent 'too long' failure", res.OK, res.Permanent, res.Reason)
	}
}

// TestWorkerReportsItsOwnPeakRSS: the real worker sends its own VmHWM with
// its result, which kilnd reports instead of the rusage figure a vfork
// child inherits from kilnd. Serve runs in this test process, so the
// figure must be this process's own peak.
func TestWorkerReportsItsOwnPeakRSS(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "rss.mp4")
	smallClip(t, src)
	res := serveOnce(t, job.Spec{ID: 3, Source: src, Profile: fileProfile, OutputRoot: filepath.Join(dir, "out")})
	own := job.OwnPeakRSS()
	if !res.OK || res.PeakRSSBytes < 1<<20 || res.PeakRSSBytes > own {
		t.Errorf("result ok %t (%s), peak_rss_bytes %d; want this process's VmHWM (now %d)", res.OK, res.Reason, res.PeakRSSBytes, own)
	}
}
