package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asticode/go-astiav"

	"kiln/config"
	"kiln/job"
	"kiln/pipeline/internal/av"
)

// TestNVDECHardwareConfigs: this libav build has the CUDA hwaccel for the
// codecs broadcast sources come in, and the decoder's get_format takes it
// when offered and a software format otherwise.
func TestNVDECHardwareConfigs(t *testing.T) {
	for _, c := range []struct {
		codec astiav.CodecID
		want  astiav.PixelFormat
	}{
		{astiav.CodecIDH264, astiav.PixelFormatCuda},
		{astiav.CodecIDHevc, astiav.PixelFormatCuda},
		{astiav.CodecIDMpeg2Video, astiav.PixelFormatCuda},
		{astiav.CodecIDProres, astiav.PixelFormatNone},
		{astiav.CodecIDFfv1, astiav.PixelFormatNone},
	} {
		dec := astiav.FindDecoder(c.codec)
		if dec == nil {
			t.Fatalf("no %s decoder in this libav", c.codec.Name())
		}
		if got := nvdecPixelFormat(dec); got != c.want {
			t.Errorf("%s: NVDEC pixel format %s, want %s", dec.Name(), got.Name(), c.want.Name())
		}
	}
	cuda, vaapi, vdpau := astiav.PixelFormatCuda, astiav.PixelFormatVaapi, astiav.PixelFormatVdpau
	yuv, nv12 := astiav.PixelFormatYuv420P, astiav.PixelFormatNv12
	for _, c := range []struct {
		offered []astiav.PixelFormat
		want    astiav.PixelFormat
	}{
		{[]astiav.PixelFormat{vaapi, cuda, vdpau, yuv}, cuda},
		// The hwaccel failed to start (NVDEC cannot take the profile):
		// libav asks again without it.
		{[]astiav.PixelFormat{vaapi, vdpau, yuv}, yuv},
		{[]astiav.PixelFormat{nv12, yuv}, nv12},
		{[]astiav.PixelFormat{vaapi}, astiav.PixelFormatNone},
	} {
		if got := chooseDecoderFormat(c.offered, cuda); got != c.want {
			t.Errorf("chooseDecoderFormat(%v) = %s, want %s", c.offered, got.Name(), c.want.Name())
		}
	}
}

// TestNVDECFallsBackToSoftware: asking for NVDEC where libav cannot make a
// CUDA device (no GPU here) decodes in software, every picture the same as
// a plain software decode, and says why; a codec NVDEC does not take says
// so. On a machine with a GPU the NVDEC pictures must match the software
// ones too (their luma: NVDEC delivers NV12).
func TestNVDECFallsBackToSoftware(t *testing.T) {
	gpu := cudaDevice()
	for _, c := range []struct {
		name    string
		src     string
		codec   string
		hasNVDE bool
	}{
		{"h264", testClip(t, "a.mp4", "320x240", "1"), "h264", true},
		{"mpeg2", testClip(t, "b.ts", "320x240", "1", "-c:v", "mpeg2video", "-q:v", "4"), "mpeg2video", true},
		{"prores", testClip(t, "c.mov", "320x240", "1", "-c:v", "prores_ks", "-profile:v", "0"), "prores", false},
	} {
		soft, _, softNotes := decodeLuma(t, c.src, false)
		hw, name, notes := decodeLuma(t, c.src, true)
		if len(soft) != 25 || len(softNotes) != 0 {
			t.Fatalf("%s: software decode gave %d pictures and notes %q; want 25 and none", c.name, len(soft), softNotes)
		}
		if strings.Join(hw, " ") != strings.Join(soft, " ") {
			t.Errorf("%s: NVDEC asked for: %d pictures differ from the software decode's %d", c.name, len(hw), len(soft))
		}
		var wantName, wantNote string
		switch {
		case !c.hasNVDE:
			wantName, wantNote = "libav "+c.codec+" (cpu)", "NVDEC does not decode "+c.codec+"; decoded in software"
		case gpu:
			wantName = "libav " + c.codec + " (nvdec)"
		default:
			wantName, wantNote = "libav "+c.codec+" (cpu)", "NVDEC unavailable ("
		}
		joined := strings.Join(notes, "\n")
		if name != wantName || (wantNote == "") != (joined == "") || !strings.HasPrefix(joined, wantNote) {
			t.Errorf("%s: decoder %q, notes %q; want %q, %q…", c.name, name, notes, wantName, wantNote)
		}
		if !gpu && c.hasNVDE && (!strings.HasSuffix(joined, "; decoded in software") || len(joined) < len("NVDEC unavailable (x); decoded in software")) {
			t.Errorf("%s: note %q does not give libav's reason and the fallback", c.name, joined)
		}
		t.Logf("%s: %s %q", c.name, name, notes)
	}
}

// decodeLuma decodes a file's first video stream through the pipeline's
// decoder (asking for NVDEC or not) and returns a digest of each picture's
// luma, the decoder's name and its notes.
func decodeLuma(t *testing.T, src string, nvdec bool) (digests []string, name string, notes []string) {
	t.Helper()
	in, err := openInput(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	s, err := in.stream(0)
	if err != nil {
		t.Fatal(err)
	}
	p := &streamPath{kind: "video", input: s}
	if p.dec, p.nvdec, p.decNote, err = openVideoDecoder(s, in.fc.GuessFrameRate(s, nil), nvdec); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	frame := astiav.AllocFrame()
	defer frame.Free()
	collect := func(f *astiav.Frame) error {
		if f.PixelFormat() == astiav.PixelFormatCuda {
			return errors.New("a picture in GPU memory reached the kernels' side")
		}
		data, stride := av.FramePlane(f, 0, f.Height())
		h := sha256.New()
		for y := 0; y < f.Height(); y++ {
			h.Write(data[y*stride : y*stride+f.Width()])
		}
		digests = append(digests, hex.EncodeToString(h.Sum(nil))[:16])
		return nil
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for {
		err := in.fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pkt.StreamIndex() == s.Index() {
			if err := p.decode(pkt, frame, collect); err != nil {
				t.Fatal(err)
			}
		}
		pkt.Unref()
	}
	if err := p.decode(nil, frame, collect); err != nil {
		t.Fatal(err)
	}
	name, notes = p.decoderUse()
	return digests, name, notes
}

// TestNVDECJobReport: a job that asks for NVDEC on a machine without a GPU
// runs, verifies its output, and its report names the decoder that ran and
// why it was not NVDEC.
func TestNVDECJobReport(t *testing.T) {
	src := testClip(t, "n.mp4", "320x240", "1")
	profile := config.Profile{Name: "f", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 1_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos"}
	report, err := Run(context.Background(), job.Spec{ID: 9, Source: src, Profile: profile, OutputRoot: filepath.Join(t.TempDir(), "out"), NVDEC: true}, nil)
	if err != nil {
		t.Fatalf("the job failed: %v", err)
	}
	if failed := failedChecks(report.Checks); len(failed) > 0 || len(report.Checks) == 0 {
		t.Errorf("output checks: %v of %d failed", failed, len(report.Checks))
	}
	if report.Timings.Frames != 25 {
		t.Errorf("%d frames encoded, want 25", report.Timings.Frames)
	}
	warnings := strings.Join(report.Warnings, "\n")
	if cudaDevice() {
		if report.Backends["decode"] != "libav h264 (nvdec)" || strings.Contains(warnings, "NVDEC") {
			t.Errorf("a GPU is here: decode %q, warnings %q", report.Backends["decode"], report.Warnings)
		}
		return
	}
	if report.Backends["decode"] != "libav h264 (cpu)" || !strings.Contains(warnings, "NVDEC unavailable (") ||
		!strings.Contains(warnings, "; decoded in software") {
		t.Errorf("decode %q, warnings %q; want libav h264 (cpu) and why not NVDEC", report.Backends["decode"], report.Warnings)
	}
	// A job that does not ask for NVDEC hears nothing of it.
	report, err = Run(context.Background(), job.Spec{ID: 10, Source: src, Profile: profile, OutputRoot: filepath.Join(t.TempDir(), "out")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if report.Backends["decode"] != "libav h264 (cpu)" || strings.Contains(strings.Join(report.Warnings, "\n"), "NVDEC") {
		t.Errorf("CPU job: decode %q, warnings %q", report.Backends["decode"], report.Warnings)
	}
}
