package pipeline

import (
	"strings"
	"testing"

	"kiln/config"
	"kiln/job"
	"kiln/kernels"
	"kiln/pipeline/plan"
)

// TestVideoChainBuildsThePlan: the chain runs the plan's stages and no
// other, so that the report's plan is the whole of what a picture goes
// through; pictures of another format than the plan's are refused, not
// quietly converted.
func TestVideoChainBuildsThePlan(t *testing.T) {
	src := job.MediaInfo{Duration: 2, Streams: []job.StreamInfo{{Index: 0, Type: "video", Codec: "prores", Width: 64, Height: 36,
		FrameRate: "25/1", PixelFormat: "yuv422p10le", FieldOrder: "progressive"}}}
	p := config.Profile{Name: "m", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 1_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos"}
	pl, err := plan.Make(src, p, "/in/a.mov")
	if err != nil {
		t.Fatal(err)
	}
	v := pl.Video
	in, _ := kernelFormat(v.InPixFmt, 64, 36)
	target, _ := kernelFormat(v.PixFmt, v.Width, v.Height)
	c, err := newVideoChain(kernels.CPU(), v, in, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.stages) != len(v.Chain) || len(v.Chain) != 2 {
		t.Errorf("%d stages built for the plan's %d (%+v); want the convert and the constant-rate stage", len(c.stages), len(v.Chain), v.Chain)
	}
	if _, ok := c.stages[len(c.stages)-1].(*rateStage); !ok {
		t.Errorf("last stage %T, want the constant-rate stage", c.stages[len(c.stages)-1])
	}

	other, _ := kernelFormat("yuv420p", 64, 36)
	if _, err := newVideoChain(kernels.CPU(), v, other, target); err == nil || !strings.Contains(err.Error(), "planned for yuv422p10le") {
		t.Errorf("pictures of another format than planned: %v, want a refusal", err)
	}
	short := v
	short.Chain = v.Chain[1:] // without the conversion the plan needs
	if _, err := newVideoChain(kernels.CPU(), short, in, target); err == nil {
		t.Error("a chain that does not make the encoder's format was built")
	}
}
