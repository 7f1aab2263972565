package pipeline

import (
	"context"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"kiln/config"
	"kiln/job"
	"kiln/kernels"
	"kiln/pipeline/plan"
	"kiln/sdi"
)

// testClip writes a short H.264 clip with ffmpeg (which make setup
// installs) and returns its path.
func testClip(t *testing.T, name, size string, seconds string, codecArgs ...string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	args := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25", "-t", seconds}
	if len(codecArgs) == 0 {
		codecArgs = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	}
	args = append(append(args, codecArgs...), src)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (installed by make setup): %v\n%s", err, out)
	}
	return src
}

// cudaDevice reports whether libav can make a CUDA device here: whether
// NVENC and NVDEC can be expected to work, or to fall back.
func cudaDevice() bool {
	var d *astiav.HardwareDeviceContext
	err := withLibavErrors(func() (err error) { // keeps libav's complaint out of the test log
		d, err = astiav.CreateHardwareDeviceContext(astiav.HardwareDeviceTypeCUDA, "", nil)
		return err
	})
	if err != nil {
		return false
	}
	holder := astiav.AllocCodecContext(nil)
	holder.SetHardwareDeviceContext(d)
	holder.Free()
	return true
}

// TestNVENCFallsBackToX264: a job granted an NVENC session on a machine
// where NVENC cannot open (no GPU here, a driver below the session table,
// a data-centre GPU without NVENC) completes with x264 and says why;
// interlaced H.264 goes to x264 by plan, since NVENC cannot code fields on
// Turing and later.
func TestNVENCFallsBackToX264(t *testing.T) {
	src := testClip(t, "p.mp4", "320x240", "1")
	dir := t.TempDir()
	file := config.Profile{Name: "f", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 1_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos"}
	pal := config.Profile{Name: "pal", Kind: "broadcast", Standard: "pal", Codec: "h264", Aspect: "16:9", Fit: "letterbox",
		Container: "ts", VideoBitrate: 5_000_000, FrameRateMethod: "dup", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "mp2", Bitrate: 256_000}}
	gpu := cudaDevice()
	for _, c := range []struct {
		profile config.Profile
		want    string // the note, when the rendition encodes with x264
		nvenc   bool   // whether a machine with a GPU encodes it on NVENC
	}{
		{file, "NVENC could not open (", true},
		{pal, "interlaced H.264 is encoded with x264: NVENC cannot code fields", false},
	} {
		report, err := Run(context.Background(), job.Spec{ID: 8, Source: src, Profile: c.profile, OutputRoot: filepath.Join(dir, "out"), NVENCSessions: 1}, nil)
		if err != nil {
			t.Fatalf("%s: the job failed instead of falling back: %v", c.profile.Name, err)
		}
		warnings := strings.Join(report.Warnings, "\n")
		if gpu && c.nvenc {
			if report.Backends["video_encode"] != "h264_nvenc" {
				t.Errorf("%s: a GPU is here, yet encoded with %q (warnings %q)", c.profile.Name, report.Backends["video_encode"], report.Warnings)
			}
			continue
		}
		if report.Backends["video_encode"] != "libx264" {
			t.Errorf("%s: encoded with %q, want libx264", c.profile.Name, report.Backends["video_encode"])
		}
		if !strings.Contains(warnings, c.want) {
			t.Errorf("%s: warnings %q do not say %q", c.profile.Name, report.Warnings, c.want)
		}
	}
}

// TestNVENCSessionsPerRendition: the renditions take the job's sessions in
// order; once they are gone, each of the others encodes with x264 and says
// why, in the daemon's words, naming itself.
func TestNVENCSessionsPerRendition(t *testing.T) {
	g := newGPUCodecs(job.Spec{NVENCSessions: 2, NVENCNote: "NVENC session limit 3 reached"}, kernels.CPU())
	gpu := cudaDevice()
	v := plan.VideoPlan{Encoder: "libx264", PixFmt: "yuv420p", Width: 320, Height: 240, FieldOrder: sdi.Progressive,
		FrameRate: sdi.Rational{Num: 25, Den: 1}, SAR: sdi.Rational{Num: 1, Den: 1}, GOP: 50, BitRate: 500_000,
		Options: map[string]string{"b": "500000", "g": "50"}}
	for i, want := range []string{"NVENC could not open (", "NVENC could not open (", "NVENC session limit 3 reached; rung 3 (240p-500k) encoded with x264"} {
		what := []string{"rung 1 (240p-500k)", "rung 2 (240p-500k)", "rung 3 (240p-500k)"}[i]
		e, name, note, err := openVideoEncoderPreferring(v, true, g, what)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		e.Close()
		t.Logf("%s: %s %q", what, name, note)
		if i < 2 && gpu {
			if name != "h264_nvenc" || note != "" {
				t.Errorf("%s holds a session on a machine with a GPU, yet %s (%q)", what, name, note)
			}
			continue
		}
		if name != "libx264" || !strings.HasPrefix(note, want) {
			t.Errorf("%s: %s, note %q; want libx264 and %q", what, name, note, want)
		}
		if i < 2 && !strings.HasSuffix(note, "; "+what+" encoded with x264") {
			t.Errorf("%s: note %q does not name the rendition", what, note)
		}
	}
	// A CPU job (no grant, no note, not on the GPU) hears nothing of NVENC.
	if e, name, note, err := openVideoEncoderPreferring(v, true, newGPUCodecs(job.Spec{}, kernels.CPU()), "this rendition"); err != nil || name != "libx264" || note != "" {
		t.Errorf("CPU job: %s, %q, %v; want libx264 without a note", name, note, err)
	} else {
		e.Close()
	}
	// A 10-bit HEVC rendition keeps its session for another and says why.
	hevc := v
	hevc.Encoder, hevc.PixFmt, hevc.Options = "libx265", "yuv420p10le", map[string]string{"b": "500000", "g": "50", "x265-params": "log-level=error"}
	g = newGPUCodecs(job.Spec{NVENCSessions: 1}, kernels.CPU())
	e, name, note, err := openVideoEncoderPreferring(hevc, false, g, "this rendition")
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if name != "libx265" || note != "NVENC takes 8-bit 4:2:0 from Kiln, not yuv420p10le; this rendition encoded with x265" || g.nvencLeft != 1 {
		t.Errorf("10-bit HEVC: %s, %q, %d sessions left; want libx265, the reason, 1", name, note, g.nvencLeft)
	}
}

// abrProfile is an ABR profile of the given top bit rate and formats, with
// 4 s segments and AAC audio.
func abrProfile(bitrate config.Bitrate, formats ...string) config.Profile {
	return config.Profile{Name: "web", Kind: "abr", Formats: formats, VideoBitrate: bitrate, Package: "dir",
		Segment: config.Duration{Duration: 4 * time.Second}, ScaleFilter: "lanczos", FrameRateMethod: "mc", Deinterlace: "auto",
		Audio: config.Audio{Codec: "aac", Bitrate: 128_000}}
}

// TestNVENCOptions: NVENC gets the plan's rate, VBV and GOP, and for ABR
// rungs the keyframe placement that keeps rungs aligned: an IDR at every
// GOP start (forced-idr with the pipeline's I pictures), no scene-cut
// keyframes.
func TestNVENCOptions(t *testing.T) {
	// The ladder of a 1080p50 source: its top rung at 50 fps, its lowest at 25.
	src := job.MediaInfo{Duration: 10, Streams: []job.StreamInfo{{Index: 0, Type: "video", Codec: "h264", Width: 1920, Height: 1080,
		FrameRate: "50/1", PixelFormat: "yuv420p", SAR: "1:1", FieldOrder: "progressive"}}}
	ladder, err := plan.Make(src, abrProfile(2_400_000, "hls"), "/in/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	rungs := ladder.ABR.Rungs
	top, half := rungs[0].Video, rungs[len(rungs)-1].Video
	if rungs[0].Step != 1 || rungs[len(rungs)-1].Step != 2 || top.GOP != 100 {
		t.Fatalf("ladder of a 1080p50 source: steps %d…%d, top GOP %d; want 1…2, 100", rungs[0].Step, rungs[len(rungs)-1].Step, top.GOP)
	}
	rungWant := func(v plan.VideoPlan) map[string]string {
		return map[string]string{"preset": "p5", "profile": "high", "bf": "3", "forced-idr": "1", "no-scenecut": "1",
			"b": fmt.Sprint(v.BitRate), "maxrate": fmt.Sprint(v.BitRate * 110 / 100), "bufsize": fmt.Sprint(v.BitRate * 2),
			"g": fmt.Sprint(v.GOP), "keyint_min": fmt.Sprint(v.GOP), "flags": "+cgop"}
	}
	fileHEVC := map[string]string{"b": "8000000", "g": "25", "preset": "medium", "x265-params": "log-level=error"}
	cbr := map[string]string{"b": "5000000", "maxrate": "5000000", "bufsize": "5000000", "g": "12", "flags": "+ildct+cgop", "x264-params": "nal-hrd=cbr"}
	for _, c := range []struct {
		name     string
		software string
		opts     map[string]string
		want     map[string]string
	}{
		{"ABR top rung", "libx264", top.Options, rungWant(top)},
		{"ABR half-rate rung", "libx264", half.Options, rungWant(half)},
		{"CBR, interlace flags dropped", "libx264", cbr, map[string]string{"preset": "p5", "profile": "high", "bf": "3", "forced-idr": "1",
			"b": "5000000", "maxrate": "5000000", "bufsize": "5000000", "g": "12", "rc": "cbr"}},
		{"HEVC file", "libx265", fileHEVC, map[string]string{"preset": "p5", "profile": "main", "forced-idr": "1", "b": "8000000", "g": "25"}},
	} {
		if got := nvencOptions(c.software, c.opts); !maps.Equal(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
	// The GOPs in pictures of each rung's own rate land on the same instants:
	// 100 pictures at 50 fps and 50 at 25 fps are both 2 s.
	if top.GOP != 2*half.GOP {
		t.Errorf("rung GOPs %d and %d (half rate) do not span the same time", top.GOP, half.GOP)
	}
}

// TestNVENCRungsForceIDRAtGOPStarts: an NVENC rung marks an I picture at
// every GOP start of its own rate, and nowhere else; an x264 rung leaves
// picture types to x264.
func TestNVENCRungsForceIDRAtGOPStarts(t *testing.T) {
	r := &rungBranch{rung: plan.ABRRung{Video: plan.VideoPlan{GOP: 25}}, encName: "h264_nvenc"}
	var keys []int64
	for i := int64(0); i < 100; i++ {
		switch r.pictureType(i) {
		case astiav.PictureTypeI:
			keys = append(keys, i)
		case astiav.PictureTypeNone:
		default:
			t.Fatalf("picture %d: type %v", i, r.pictureType(i))
		}
	}
	if want := []int64{0, 25, 50, 75}; !equalInt64s(keys, want) {
		t.Errorf("NVENC rung keyframes at %v; want %v", keys, want)
	}
	r.encName = "libx264"
	for i := int64(0); i < 100; i++ {
		if r.pictureType(i) != astiav.PictureTypeNone {
			t.Fatalf("x264 rung: picture %d forced to %v", i, r.pictureType(i))
		}
	}
}

func equalInt64s(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEncoderSummary(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"libx264", "libx264"}, "libx264"},
		{[]string{"h264_nvenc", "h264_nvenc", "h264_nvenc", "libx264"}, "h264_nvenc ×3, libx264 ×1"},
		{[]string{"libx264", "h264_nvenc", "libx264"}, "libx264 ×2, h264_nvenc ×1"},
	} {
		if got := encoderSummary(c.names); got != c.want {
			t.Errorf("encoderSummary(%v) = %q, want %q", c.names, got, c.want)
		}
	}
}

// TestABRRungsTakeNVENCSessions: an ABR job granted 3 sessions under a
// limit it hit encodes rungs 1 to 3 on NVENC (here, with no GPU, each falls
// back to x264 and says why) and rung 4 with x264 for the limit; the
// report's ladder names each rung's encoder, and the decode says whether
// NVDEC ran. The package still verifies: the rungs' segments align.
func TestABRRungsTakeNVENCSessions(t *testing.T) {
	src := testClip(t, "abr.mp4", "640x360", "2")
	profile := abrProfile(1_200_000, "hls")
	profile.Segment.Duration = time.Second // two segments
	spec := job.Spec{ID: 11, Source: src, Profile: profile, OutputRoot: filepath.Join(t.TempDir(), "out"),
		NVENCSessions: 3, NVENCNote: "NVENC session limit 3 reached", NVDEC: true}
	report, err := Run(context.Background(), spec, nil)
	if err != nil {
		t.Fatalf("the job failed: %v", err)
	}
	if failed := failedChecks(report.Checks); len(failed) > 0 {
		t.Errorf("checks failed: %v", failed)
	}
	if report.ABR == nil || len(report.ABR.Ladder) != 4 {
		t.Fatalf("ABR report %+v; want a ladder of 4", report.ABR)
	}
	gpu := cudaDevice()
	warnings := strings.Join(report.Warnings, "\n")
	var encoders []string
	for i, r := range report.ABR.Ladder {
		what := fmt.Sprintf("rung %d (%s)", i+1, r.Name)
		encoders = append(encoders, r.Encoder)
		switch {
		case i == 3:
			if r.Encoder != "libx264" || !strings.Contains(warnings, "NVENC session limit 3 reached; "+what+" encoded with x264") {
				t.Errorf("%s: %s; warnings %q; want libx264 for the session limit", what, r.Encoder, report.Warnings)
			}
		case gpu:
			if r.Encoder != "h264_nvenc" {
				t.Errorf("%s holds a session on a machine with a GPU, yet %s", what, r.Encoder)
			}
		default:
			if r.Encoder != "libx264" || !regexp.MustCompile(`NVENC could not open \(.+\); `+regexp.QuoteMeta(what)+` encoded with x264`).MatchString(warnings) {
				t.Errorf("%s: %s; warnings %q; want libx264 for NVENC failing to open", what, r.Encoder, report.Warnings)
			}
		}
	}
	if report.Backends["video_encode"] != encoderSummary(encoders) {
		t.Errorf("backends video_encode %q, want %q", report.Backends["video_encode"], encoderSummary(encoders))
	}
	wantDecode := "libav h264 (cpu)"
	if gpu {
		wantDecode = "libav h264 (nvdec)"
	} else if !strings.Contains(warnings, "NVDEC unavailable (") {
		t.Errorf("warnings %q do not say why NVDEC did not decode", report.Warnings)
	}
	if report.Backends["decode"] != wantDecode {
		t.Errorf("backends decode %q, want %q", report.Backends["decode"], wantDecode)
	}
}

// contextOnly stands in for the GPU backend with a context handle that no
// driver call accepts (this process never initialised CUDA), as a context
// lost to a GPU reset would be.
type contextOnly struct{}

func (contextOnly) ContextHandle() uintptr { return 1 }

func (contextOnly) CopyToDevice([3]uint64, [3]int, kernels.Image) error {
	panic("CopyToDevice without frames")
}

// TestNVENCOnGPUFramesFallsBack: when NVENC cannot take the kernels'
// pictures in GPU memory (a worker built without CUDA, a frames context the
// driver refuses), the rendition goes on without them: NVENC from system
// memory, or, where NVENC cannot open at all (here), x264 with the reason.
// Only a backend with a real context offers GPU frames.
func TestNVENCOnGPUFramesFallsBack(t *testing.T) {
	if deviceImagesOf(kernels.CPU()) != nil {
		t.Error("the CPU backend offers GPU frames")
	}
	if deviceImagesOf(fakeDeviceBackend{kernels.CPU()}) == nil {
		t.Error("a backend with a CUDA context offers no GPU frames")
	}
	if cudaDevice() {
		// An initialised driver would be handed a made-up context.
		t.Skip("a GPU is here; the rest of this test is for the fallback without one")
	}
	g := &gpuCodecs{nvencLeft: 1, nvenc: true, devices: contextOnly{}}
	v := plan.VideoPlan{Encoder: "libx264", PixFmt: "yuv420p", Width: 64, Height: 64, FieldOrder: sdi.Progressive,
		FrameRate: sdi.Rational{Num: 25, Den: 1}, SAR: sdi.Rational{Num: 1, Den: 1}, GOP: 25, Options: map[string]string{"g": "25"}}
	e, name, note, err := openVideoEncoderPreferring(v, false, g, "this rendition")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("%s: %q", name, note)
	if e.cuda != nil {
		t.Fatalf("%s took GPU frames from a context no driver accepts", name)
	}
	if name != "libx264" || !strings.HasPrefix(note, "NVENC could not open (") || !strings.HasSuffix(note, "; this rendition encoded with x264") {
		t.Errorf("%s, %q; want x264 and why NVENC did not open", name, note)
	}
}

// fakeDeviceBackend is the CPU backend posing as one whose images are in
// a CUDA context.
type fakeDeviceBackend struct{ kernels.Backend }

func (fakeDeviceBackend) ContextHandle() uintptr { return 1 }

func (fakeDeviceBackend) CopyToDevice([3]uint64, [3]int, kernels.Image) error { return nil }
