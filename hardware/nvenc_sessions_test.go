package hardware

import (
	"strings"
	"testing"

	"kiln/config"
	"kiln/packaging"
	"kiln/sdi"
)

func TestSessionLimit(t *testing.T) {
	for _, c := range []struct {
		name                string
		configured, gpuJobs int
		want                int
		why                 string
	}{
		{"", 3, 2, 0, "no GPU found"},
		{"NVIDIA H100 80GB HBM3", 0, 2, 0, "NVIDIA H100 80GB HBM3 has no NVENC engine"},
		{"NVIDIA H200", 6, 2, 0, "has no NVENC engine"},
		{"NVIDIA A100-SXM4-80GB", 0, 2, 0, "every rendition encodes with x264"},
		{"NVIDIA GeForce RTX 3080", 0, 2, 8, "the GeForce driver's limit of 8"},
		{"NVIDIA GeForce RTX 3080", 3, 2, 3, "nvenc_sessions = 3"},
		{"NVIDIA GeForce RTX 4090", 12, 4, 8, "the GeForce driver's limit of 8 (nvenc_sessions = 12 asks for more)"},
		{"NVIDIA RTX A4000", 0, 2, 8, "no driver limit on NVIDIA RTX A4000: gpu_jobs (2) × 4 ABR rungs"},
		{"Tesla T4", 0, 3, 12, "gpu_jobs (3) × 4"},
		{"NVIDIA L4", 20, 2, 20, "nvenc_sessions = 20"},
	} {
		got, why := SessionLimit(c.name, c.configured, c.gpuJobs)
		if got != c.want || !strings.Contains(why, c.why) {
			t.Errorf("SessionLimit(%q, %d, %d) = %d, %q; want %d, %q", c.name, c.configured, c.gpuJobs, got, why, c.want, c.why)
		}
	}
}

func TestNVENCRenditions(t *testing.T) {
	for _, c := range []struct {
		profile config.Profile
		codec   string
		n       int
	}{
		{config.Profile{Kind: "abr"}, CodecH264, 4},
		{config.Profile{Kind: "file", Codec: "h264"}, CodecH264, 1},
		{config.Profile{Kind: "file", Codec: "hevc"}, CodecHEVC, 1},
		{config.Profile{Kind: "file", Codec: "prores"}, "", 0},
		{config.Profile{Kind: "broadcast", Codec: "h264", Standard: "pal"}, "", 0}, // interlaced: x264
		{config.Profile{Kind: "broadcast", Codec: "mpeg2", Standard: "pal"}, "", 0},
	} {
		codec, n := NVENCRenditions(c.profile)
		if codec != c.codec || n != c.n {
			t.Errorf("NVENCRenditions(%s %s) = %q, %d; want %q, %d", c.profile.Kind, c.profile.Codec, codec, n, c.codec, c.n)
		}
	}
}

// TestABRRungsIsTheLadder: the daemon counts ABR sessions without seeing
// the source, so the ladder must have ABRRungs rungs for any source and
// any top rate; a small source makes small rungs, not fewer.
func TestABRRungsIsTheLadder(t *testing.T) {
	for _, src := range []packaging.LadderSource{
		{Width: 1920, Height: 1080, Rate: sdi.Rational{Num: 25, Den: 1}},
		{Width: 320, Height: 240, Rate: sdi.Rational{Num: 60000, Den: 1001}},
		{Width: 720, Height: 1280, Rate: sdi.Rational{Num: 30, Den: 1}},
	} {
		for _, top := range []int64{0, 8_000_000, 400_000} {
			rungs, err := packaging.Ladder(src, top, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(rungs) != ABRRungs {
				t.Errorf("ladder of %dx%d at %d bit/s has %d rungs; the daemon counts %d NVENC sessions", src.Width, src.Height, top, len(rungs), ABRRungs)
			}
		}
	}
}
