package pipeline

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"kiln/config"
	"kiln/job"
)

// A file profile on an odd-sized source (853x480, as web video comes)
// failed with "opening encoder libx264 …: Generic error in an external
// library": x264 takes no odd width in 4:2:0. The output is scaled to the
// even raster below, display aspect kept.
func TestOddRasterFileOutput(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "odd.mp4")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=324x240:rate=25,format=yuv444p,crop=323:239:0:0",
		"-frames:v", "10", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	for codec, container := range map[string]string{"h264": "mp4", "mpeg2": "ts", "prores": "mov"} {
		t.Run(codec, func(t *testing.T) {
			p := config.Profile{Name: codec, Kind: "file", Codec: codec, Container: container, VideoBitrate: 2_000_000, FrameRateMethod: "mc", ScaleFilter: "lanczos", Fit: "letterbox", Deinterlace: "auto"}
			report, err := Run(context.Background(), job.Spec{ID: 4, Source: src, Profile: p, OutputRoot: filepath.Join(dir, codec)}, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			v := report.Outputs[0].Probe.VideoStreams()[0]
			if v.Width != 322 || v.Height != 238 {
				t.Errorf("output %dx%d, want 322x238", v.Width, v.Height)
			}
		})
	}
}
