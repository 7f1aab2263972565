package kernels

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// ffmpeg runs the ffmpeg CLI, the reference the quality tests measure Kiln
// against. A machine without it fails the test: make setup installs it.
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg not found: install it (make setup installs it)")
	}
	full := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	cmd := exec.Command("ffmpeg", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
}

// pixFmt is ffmpeg's name for a Kiln format.
func pixFmt(f Format) string {
	s := map[Chroma]string{Chroma420: "yuv420p", Chroma422: "yuv422p", Chroma444: "yuv444p"}[f.Chroma]
	if f.Depth > 8 {
		s += map[int]string{10: "10le", 12: "12le", 16: "16le"}[f.Depth]
	}
	return s
}

// rawFrames splits a rawvideo file into frames of format f.
func rawFrames(t testing.TB, path string, f Format) []*Frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := f.RawSize()
	if len(b)%n != 0 || len(b) == 0 {
		t.Fatalf("%s: %d bytes is not a whole number of %v frames", path, len(b), f)
	}
	var out []*Frame
	for off := 0; off < len(b); off += n {
		fr := NewFrame(f)
		if err := fr.ReadRaw(b[off : off+n]); err != nil {
			t.Fatal(err)
		}
		out = append(out, fr)
	}
	return out
}

func writeRaw(t testing.TB, path string, frames ...*Frame) {
	t.Helper()
	var b []byte
	for _, fr := range frames {
		b = fr.AppendRaw(b)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lavfi renders n frames of a lavfi source graph into format f.
func lavfi(t testing.TB, graph string, n int, f Format) []*Frame {
	t.Helper()
	out := filepath.Join(t.TempDir(), "src.yuv")
	ffmpeg(t, "-f", "lavfi", "-i", graph, "-frames:v", itoa(n), "-pix_fmt", pixFmt(f),
		"-f", "rawvideo", out)
	return rawFrames(t, out, f)
}

// ffFilter runs frames through an ffmpeg filter graph and reads the result as format out.
func ffFilter(t testing.TB, in []*Frame, rate string, graph string, out Format) []*Frame {
	t.Helper()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in.yuv"), filepath.Join(dir, "out.yuv")
	writeRaw(t, src, in...)
	f := in[0].Format
	ffmpeg(t, "-f", "rawvideo", "-pix_fmt", pixFmt(f), "-s", itoa(f.Width)+"x"+itoa(f.Height),
		"-r", rate, "-i", src, "-vf", graph, "-pix_fmt", pixFmt(out), "-f", "rawvideo", dst)
	return rawFrames(t, dst, out)
}

func itoa(i int) string { return strconv.Itoa(i) }

// planeMSE is the mean squared difference of plane i over the rectangle
// [x0,x1)x[y0,y1) of two frames of equal format.
func planeMSE(a, b *Frame, i, x0, y0, x1, y1 int) float64 {
	sum := 0.0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			d := float64(a.At(i, x, y) - b.At(i, x, y))
			sum += d * d
		}
	}
	return sum / float64((x1-x0)*(y1-y0))
}

// psnr turns a mean squared error into decibels against the depth's peak.
func psnr(mse float64, depth int) float64 {
	peak := float64(int(1)<<depth - 1)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(peak*peak/mse)
}

// planePSNR compares whole planes.
func planePSNR(a, b *Frame, i int) float64 {
	p := &a.Planes[i]
	return psnr(planeMSE(a, b, i, 0, 0, p.Width, p.Height), a.Depth)
}

// seqPSNR is the PSNR of the summed luma error over frame pairs.
func seqPSNR(a, b []*Frame) float64 {
	sum := 0.0
	for k := range a {
		p := &a[k].Planes[0]
		sum += planeMSE(a[k], b[k], 0, 0, 0, p.Width, p.Height)
	}
	return psnr(sum/float64(len(a)), a[0].Depth)
}
