package pipeline

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"kiln/config"
	"kiln/job"
)

// TestWatermarkOnOutput runs a job with a white logo over a black source and
// reads the first output picture back: white where the logo sits (top-left,
// inside the 5 % margin), black elsewhere.
func TestWatermarkOnOutput(t *testing.T) {
	dir := t.TempDir()
	logo := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			logo.Set(x, y, color.NRGBA{255, 255, 255, 255})
		}
	}
	logoPath := filepath.Join(dir, "logo.png")
	f, _ := os.Create(logoPath)
	png.Encode(f, logo)
	f.Close()
	src := filepath.Join(dir, "black.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=640x360:r=25",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	p := config.Profile{Name: "wm", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 2_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos",
		Watermark: &config.Watermark{Image: logoPath, Position: "top-left", Opacity: 1}}
	report, err := Run(context.Background(), job.Spec{ID: 3, Source: src, Profile: p, OutputRoot: filepath.Join(dir, "out")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := exec.Command("ffmpeg", "-v", "error", "-i", report.Outputs[0].Path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	if err != nil || len(raw) != 640*360 {
		t.Fatalf("decoding the output: %v (%d bytes)", err, len(raw))
	}
	at := func(x, y int) int { return int(raw[y*640+x]) }
	// Margin: 5 % of 640 = 32, of 360 = 18 (rounded down to the grid: 16).
	if v := at(32+32, 16+16); v < 200 {
		t.Errorf("luma %d inside the logo, want white", v)
	}
	if v := at(400, 300); v > 40 {
		t.Errorf("luma %d away from the logo, want black", v)
	}
	if v := at(10, 10); v > 40 {
		t.Errorf("luma %d in the margin, want black", v)
	}
}
