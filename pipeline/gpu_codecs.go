package pipeline

import (
	"fmt"
	"strconv"

	"kiln/job"
	"kiln/kernels"
	"kiln/pipeline/plan"
)

// gpuCodecs is what one job may use of the GPU's video engines: NVENC for
// as many H.264/HEVC renditions as the daemon granted it sessions (one per
// ABR rung), and NVDEC for decoding. The renditions that get no session
// encode with x264 or x265, each with a report warning saying why.
type gpuCodecs struct {
	// nvencLeft counts the granted sessions no rendition has taken yet.
	nvencLeft int
	// nvencNote says why the job got fewer sessions than it has
	// renditions ("NVENC session limit 3 reached").
	nvencNote string
	// nvenc is whether the job is on the GPU's side at all: then every
	// H.264/HEVC rendition that does not encode on NVENC says why.
	nvenc bool
	// nvdec asks for decoding through libav's CUDA hwaccel.
	nvdec bool
	// devices is the kernel backend when its images are in GPU memory
	// that libav can share: NVENC then takes them there (cuda_frames.go).
	devices deviceImages
}

// newGPUCodecs reads the job spec's grant for a job whose kernels run on
// backend b. It returns nil for a job that uses neither engine and has
// nothing to say about them: every CPU-worker job.
func newGPUCodecs(spec job.Spec, b kernels.Backend) *gpuCodecs {
	g := &gpuCodecs{
		nvencLeft: max(spec.NVENCSessions, 0),
		nvencNote: spec.NVENCNote,
		nvenc:     kernels.RunsOnGPU(b) || spec.NVENCSessions > 0 || spec.NVENCNote != "",
		nvdec:     spec.NVDEC,
		devices:   deviceImagesOf(b),
	}
	if !g.nvenc && !g.nvdec {
		return nil
	}
	return g
}

// takeNVENC takes one of the job's sessions for a rendition; false when
// none is left.
func (g *gpuCodecs) takeNVENC() bool {
	if g.nvencLeft <= 0 {
		return false
	}
	g.nvencLeft--
	return true
}

// nvencEncoders maps the software encoders a plan names onto NVENC's, and
// names the codec for the report.
var nvencEncoders = map[string]struct{ nvenc, codec, software string }{
	"libx264": {"h264_nvenc", "H.264", "x264"},
	"libx265": {"hevc_nvenc", "HEVC", "x265"},
}

// openVideoEncoderPreferring opens NVENC in place of x264 or x265 when the
// job holds a session for this rendition and NVENC can open, and otherwise
// the plan's encoder. On the GPU worker NVENC takes the kernels' output in
// GPU memory (e.cuda), or failing that from system memory. It returns the
// encoder, its name and, when NVENC or its GPU frames were in question but
// not used, why: the report carries it as a warning, naming the rendition
// (what: "this rendition", "rung 4 (234p-120k)"), and the job goes on
// rather than failing.
func openVideoEncoderPreferring(v plan.VideoPlan, globalHeader bool, g *gpuCodecs, what string) (*encoder, string, string, error) {
	nv, ok := nvencEncoders[v.Encoder]
	if !ok || g == nil || !g.nvenc {
		e, err := openVideoEncoder(v, globalHeader)
		return e, v.Encoder, "", err
	}
	software := func(note string) (*encoder, string, string, error) {
		e, err := openVideoEncoder(v, globalHeader)
		return e, v.Encoder, note, err
	}
	// Checked before a session is taken: these renditions could not use one.
	if v.FieldOrder != "progressive" && v.FieldOrder != "" {
		return software(fmt.Sprintf("interlaced %s is encoded with %s: NVENC cannot code fields on Turing and later GPUs", nv.codec, nv.software))
	}
	if v.PixFmt != "yuv420p" {
		return software(fmt.Sprintf("NVENC takes 8-bit 4:2:0 from Kiln, not %s; %s encoded with %s", v.PixFmt, what, nv.software))
	}
	if !g.takeNVENC() {
		why := g.nvencNote
		if why == "" {
			why = "no NVENC session was granted to this job"
		}
		return software(fmt.Sprintf("%s; %s encoded with %s", why, what, nv.software))
	}
	hw := v
	hw.Encoder = nv.nvenc
	hw.Options = nvencOptions(v.Encoder, v.Options)
	memoryNote := ""
	if g.devices != nil {
		e, err := openNVENCOnDevice(hw, globalHeader, g.devices)
		if err == nil {
			return e, hw.Encoder, "", nil
		}
		memoryNote = fmt.Sprintf("NVENC could not take %s's pictures in GPU memory (%v); they go through system memory", what, err)
	}
	var e *encoder
	err := withLibavErrors(func() (err error) {
		e, err = openVideoEncoder(hw, globalHeader)
		return err
	})
	if err == nil {
		return e, hw.Encoder, memoryNote, nil
	}
	return software(fmt.Sprintf("NVENC could not open (%v); %s encoded with %s", err, what, nv.software))
}

// nvencOptions maps a plan's x264 or x265 options onto NVENC's: the same
// rate, VBV and GOP, constant rate when the plan's is, and NVENC's preset
// names. Keyframes stay where the plan puts them: every GOP starts with an
// IDR (NVENC's IDR period is its GOP), a picture the pipeline marks as a
// keyframe becomes an IDR (forced-idr), and when the plan turns scene-cut
// keyframes off (ABR rungs, whose segments must start together) NVENC's are
// off too.
func nvencOptions(software string, opts map[string]string) map[string]string {
	out := map[string]string{"preset": "p5", "forced-idr": "1"}
	switch software {
	case "libx264":
		out["profile"], out["bf"] = "high", "3"
	case "libx265":
		out["profile"] = "main"
	}
	for _, k := range []string{"b", "maxrate", "bufsize", "g", "keyint_min", "flags"} {
		if v, ok := opts[k]; ok {
			out[k] = v
		}
	}
	if out["b"] != "" && out["b"] == out["maxrate"] {
		out["rc"] = "cbr"
	}
	if out["flags"] == "+ildct" || out["flags"] == "+ildct+cgop" {
		delete(out, "flags")
	}
	if opts["sc_threshold"] == "0" {
		out["no-scenecut"] = "1"
	}
	return out
}

// isKeyframeIndex says whether picture index of a stream with GOPs of gop
// pictures starts a GOP: where the pipeline forces an IDR on an encoder
// (NVENC) whose own GOP logic it does not trust to land on segment
// boundaries.
func isKeyframeIndex(index int64, gop int) bool {
	return gop > 0 && index%int64(gop) == 0
}

// encoderSummary names the encoders of several renditions for the report's
// backends: "libx264" when they share one, else each with its count in
// rendition order ("h264_nvenc ×3, libx264 ×1").
func encoderSummary(names []string) string {
	var order []string
	count := map[string]int{}
	for _, n := range names {
		if count[n] == 0 {
			order = append(order, n)
		}
		count[n]++
	}
	if len(order) == 1 {
		return order[0]
	}
	out := ""
	for i, n := range order {
		if i > 0 {
			out += ", "
		}
		out += n + " ×" + strconv.Itoa(count[n])
	}
	return out
}

// setCodecBackends records in the report the decoder and the encoder that
// ran, once a transcode has said which.
func setCodecBackends(report *job.Report, stats transcodeStats) {
	if stats.VideoDecoder != "" {
		report.Backends["decode"] = stats.VideoDecoder
	}
	if stats.VideoEncoder != "" {
		report.Backends["video_encode"] = stats.VideoEncoder
	}
}
