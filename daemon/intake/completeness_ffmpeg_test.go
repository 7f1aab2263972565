package intake

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ffmpegFile renders a short test pattern with the ffmpeg CLI, the way the
// files users drop are made. make setup installs ffmpeg.
func ffmpegFile(t *testing.T, name string, args ...string) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is not on PATH: run make setup (it installs ffmpeg)")
	}
	out := filepath.Join(t.TempDir(), name)
	cmd := append([]string{"-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=d=2:s=320x240:r=25"}, args...)
	cmd = append(cmd, out)
	if b, err := exec.Command(ffmpeg, cmd...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(cmd, " "), err, b)
	}
	return out
}

// cutFile writes a copy of src without its last n bytes, as a copy that
// stopped short would leave it.
func cutFile(t *testing.T, src string, n int) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= n {
		t.Fatalf("%s is only %d bytes; cannot cut %d", src, len(b), n)
	}
	dst := fmt.Sprintf("%s.cut%d", src, n)
	if err := os.WriteFile(dst, b[:len(b)-n], 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestCheckCompleteFFmpegFiles(t *testing.T) {
	mp4 := ffmpegFile(t, "a.mp4", "-c:v", "mpeg4", "-q:v", "3")
	faststart := ffmpegFile(t, "b.mp4", "-c:v", "mpeg4", "-q:v", "3", "-movflags", "+faststart")
	mov := ffmpegFile(t, "c.mov", "-c:v", "mpeg4", "-q:v", "3")
	mxf := ffmpegFile(t, "d.mxf", "-c:v", "mpeg2video", "-q:v", "2")
	ts := ffmpegFile(t, "e.ts", "-c:v", "mpeg2video", "-q:v", "3", "-f", "mpegts")
	m2ts := ffmpegFile(t, "f.m2ts", "-c:v", "mpeg2video", "-q:v", "3", "-f", "mpegts", "-mpegts_m2ts_mode", "1")
	mkv := ffmpegFile(t, "g.mkv", "-c:v", "mpeg4", "-q:v", "3")

	for _, tc := range []struct {
		name     string
		path     string
		complete bool
		format   string
		reason   string
	}{
		{"mp4 moov at the end", mp4, true, formatISOBMFF, ""},
		{"mp4 faststart", faststart, true, formatISOBMFF, ""},
		{"mov", mov, true, formatISOBMFF, ""},
		{"mp4 cut", cutFile(t, mp4, 1000), false, formatISOBMFF, "moov"},
		{"mp4 faststart cut", cutFile(t, faststart, 1000), false, formatISOBMFF, "mdat"},
		{"mxf", mxf, true, formatMXF, ""},
		{"mxf cut by 64 KiB", cutFile(t, mxf, 64<<10), false, formatMXF, "footer partition missing"},
		{"mxf without its RIP", cutFile(t, mxf, ripLength(t, mxf)), true, formatMXF, ""},
		{"ts", ts, true, "MPEG-TS", ""},
		{"ts cut by 100 bytes", cutFile(t, ts, 100), false, "MPEG-TS", "not a multiple of 188 bytes"},
		{"m2ts", m2ts, true, "M2TS", ""},
		{"m2ts cut", cutFile(t, m2ts, 100), false, "M2TS", "not a multiple of 192 bytes"},
		{"mkv is left to the decoder", mkv, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckComplete(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Complete != tc.complete || got.Format != tc.format || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("got %+v, want complete=%v format=%q reason containing %q", got, tc.complete, tc.format, tc.reason)
			}
		})
	}
}

// ripLength reads the last four bytes of an MXF file: the length of its
// Random Index Pack.
func ripLength(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(b[len(b)-4])<<24 | int(b[len(b)-3])<<16 | int(b[len(b)-2])<<8 | int(b[len(b)-1])
	if n < 20 || n > len(b) || !isPartitionKey(b[len(b)-n:], ripKind) {
		t.Fatalf("%s does not end with a Random Index Pack", path)
	}
	return n
}
