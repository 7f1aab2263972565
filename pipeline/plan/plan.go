// Package plan decides everything a job will do before any frame moves:
// every stage of the video chain, the encoders, the audio tracks, the muxer
// or the ABR ladder and packages. A plan is a plain value computed from the
// probe and the profile with no libav calls (the package links no cgo), so
// table tests can cover every decision, and nothing changes it once Make has
// returned: what a run learns or is granted (NVENC sessions, the loudness
// gains it measures) lives in the run, beside the plan.
package plan

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"kiln/config"
	"kiln/job"
	"kiln/sdi"
)

// Plan is everything a job will do, decided before any frame moves. The
// report records it in words (Decisions).
type Plan struct {
	OutputName string            // file name of the main output
	Muxer      string            // libav muxer name
	MuxOptions map[string]string // muxer AVOptions
	MuxRate    int64             // constant TS mux rate in bit/s; 0 when variable
	Video      VideoPlan
	Audio      []AudioPlan
	Decisions  []string // the plan in words, one decision a line
	Warnings   []string
	// ABR is set for kind "abr": the ladder and the packages (abr.go).
	// Video is then its top rung.
	ABR *ABRPlan
}

// VideoPlan is the video rendition: its processing chain and its encoder.
type VideoPlan struct {
	Input  int // source stream index
	Rotate int // degrees clockwise the source must turn first (display matrix)
	// InPixFmt is the pixel format pictures enter Chain in: the source's,
	// or the planar YCbCr format libavfilter converts it to first
	// (KernelPixFmt). A decoder that delivers another one (NVDEC's nv12 or
	// p010) is converted to it by that same step.
	InPixFmt    string
	Chain       []Stage // every processing stage, in order, up to the encoder's picture
	ScaleFilter string  // lanczos | bicubic
	Encoder     string  // libav encoder name
	Width       int
	Height      int
	PixFmt      string
	FrameRate   sdi.Rational
	SAR         sdi.Rational
	FieldOrder  sdi.FieldOrder
	BitRate     int64
	GOP         int
	Options     map[string]string // encoder AVOptions

	ColorPrimaries, ColorTransfer, ColorSpace string

	// AFD is the Active Format Description written into every picture
	// (MPEG-2 user data or H.264 SEI); 0 writes none.
	AFD sdi.AFD
}

// Stage is one step of the video chain, run by Kiln's kernels (video_chain.go).
// Which fields matter depends on Op.
type Stage struct {
	Op            string // one of the Op constants
	Width, Height int    // scale, field_scale: output size; pad: canvas; crop: region
	X, Y          int    // pad, crop: offset of the picture / region
	Filter        string // scale, field_scale: lanczos | bicubic
	Matrix        string // colour_matrix: "bt709→bt601" | "bt601→bt709"
	Order         sdi.FieldOrder
	Double        bool         // deinterlace: one picture per field
	Rate          sdi.Rational // frame_rate: output rate
	Method        string       // frame_rate: mc | blend | dup
	PixFmt        string       // convert: the pixel format made
	// Watermark is the logo the watermark stage blends over every picture.
	Watermark *config.Watermark
}

// Stage operations.
const (
	OpDeinterlace  = "deinterlace"   // interlaced → progressive (Order, Double)
	OpFieldScale   = "field_scale"   // scale each field on its own
	OpScale        = "scale"         // resample the whole picture
	OpColourMatrix = "colour_matrix" // BT.709 ↔ BT.601
	OpPad          = "pad"           // place in a larger black canvas
	OpCrop         = "crop"          // cut a region
	OpFieldOrder   = "field_order"   // reverse field order (from Order)
	OpFrameRate    = "frame_rate"    // convert to Rate by Method
	OpInterlace    = "interlace"     // two progressive pictures → one TFF frame
	OpPulldown     = "pulldown"      // 2:3, 23.976p → 29.97i
	OpConvert      = "convert"       // to PixFmt (chroma siting and depth) at the same size, by Filter
	OpWatermark    = "watermark"     // blend Watermark over the picture
)

// AudioPlan is one output audio track, made from one source audio stream.
type AudioPlan struct {
	Input      int
	Encoder    string
	SampleRate int
	Channels   int
	Layout     string
	BitRate    int64
	// Remix is a libavfilter channel mapping applied before resampling, when
	// the default down/upmix would be wrong (dual mono for a mono source) or
	// would depend on the sample formats around it (stereoDownmix). The
	// loudness meter applies it too.
	Remix string
	// Loudness is the integrated loudness target in LUFS, or nil to leave
	// levels alone. The gain that reaches it is the run's to measure (a
	// first pass over the source's audio), not the plan's.
	Loudness *float64
	// PadTo, when set, is the least duration of the track in seconds: a
	// shorter one is padded with silence at its end (see the MXF case in
	// planning).
	PadTo float64
}

// stereoDownmix is the first step of a track downmixed to stereo: done
// once, explicitly, with libswresample's matrix scaled so that no row sums
// over 1 (5.1: L = FL + 0.707·FC + 0.707·BL, all over 2.414, 7.7 dB down),
// so that the downmix never clips.
//
// Left to the automatic conversion, its level depended on where libavfilter
// placed it: libswresample scales its matrix only when it converts to an
// integer sample format. The output's chain downmixed into the encoder's
// format (PCM and MP2 are integer: scaled), the loudness meter into
// floating point (not scaled), so a 5.1 source into SECAM MXF had its gain
// set 7.7 dB too low (-30.7 LUFS for a -23 target). With the downmix
// first, the meter and the encoder hear the same stereo.
const stereoDownmix = "aresample=ochl=stereo:rematrix_maxval=1"

// PadFilter is the libavfilter step that pads the track to PadTo, or "".
func (a AudioPlan) PadFilter() string {
	if a.PadTo <= 0 {
		return ""
	}
	return fmt.Sprintf("apad=whole_dur=%.6f", a.PadTo)
}

// source is what the planner needs to know about the input's video.
type source struct {
	index         int
	width, height int
	sar           sdi.Rational // 1:1 when unknown
	rate          sdi.Rational
	fields        sdi.FieldOrder
	hd            bool
	rotation      int
	tenBit        bool
	chroma422     bool
	pixFmt        string
	colorSpace    string
	duration      float64
}

// Make decides how to turn a probed source into what the profile asks for.
// Errors are *InputError (the source lacks what is needed) or *ProfileError.
func Make(info job.MediaInfo, p config.Profile, sourcePath string) (Plan, error) {
	if len(info.Streams) > maxStreams {
		return Plan{}, inputErrorf(nil, "%d streams in one file; Kiln takes files of at most %d", len(info.Streams), maxStreams)
	}
	videos := info.VideoStreams()
	if len(videos) == 0 {
		return Plan{}, inputErrorf(nil, "no video stream (found: %s)", describeStreams(info))
	}
	src, err := describeSource(videos[0], info)
	if err != nil {
		return Plan{}, err
	}
	base := strings.TrimSuffix(filepath.Base(sourcePath), filepath.Ext(sourcePath))

	var plan Plan
	switch p.Kind {
	case "broadcast":
		plan, err = planBroadcast(src, p)
	case "file":
		plan, err = planFile(src, p)
	case "abr":
		return planABR(info, src, p)
	default:
		return Plan{}, &ProfileError{Reason: fmt.Sprintf("unknown profile kind %q", p.Kind)}
	}
	if err != nil {
		return Plan{}, err
	}
	if err := planAudio(&plan, info, p); err != nil {
		return Plan{}, err
	}
	ext, muxer, err := containerFor(p.Container)
	if err != nil {
		return Plan{}, err
	}
	plan.OutputName = base + ext
	plan.Muxer = muxer
	plan.MuxOptions = map[string]string{}
	if muxer == "mp4" || muxer == "mov" {
		// Players and playout servers want the index first.
		plan.MuxOptions["movflags"] = "+faststart"
	}
	if muxer == "mpegts" && p.Kind == "broadcast" {
		plan.MuxOptions["mpegts_service_name"] = "Kiln " + strings.ToUpper(p.Standard)
		plan.MuxOptions["mpegts_service_provider"] = "Kiln"
	}
	plan.Video.Input = src.index
	plan.Video.InPixFmt = KernelPixFmt(src.pixFmt)
	var words []string
	plan.Video.Chain, words = finishChain(plan.Video.Chain, plan.Video.InPixFmt, plan.Video.PixFmt, plan.Video.ScaleFilter, p.Watermark, plan.Video.FrameRate)
	plan.Decisions = append(plan.Decisions, words...)
	switch {
	case p.Codec == "d10":
		// MXF D-10 carries one AES3 sound track of 4 or 8 channels.
		plan.Muxer = "mxf_d10"
		plan.MuxOptions["d10_channelcount"] = "8"
		if len(plan.Audio) > 1 {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("D-10 carries one sound track: audio streams after the first (%d more) are left out", len(plan.Audio)-1))
			plan.Audio = plan.Audio[:1]
		}
		if len(plan.Audio) == 1 {
			// The programme pair on AES channels 1–2, channels 3–8 silent.
			a := &plan.Audio[0]
			stereo := a.Remix
			if stereo == "" {
				stereo = "aformat=channel_layouts=stereo"
			}
			a.Remix = stereo + ",pan=7.1|c0=c0|c1=c1"
			a.Channels, a.Layout = 8, "7.1"
		}
		plan.Decisions = append(plan.Decisions, "MXF D-10 (SMPTE 386M): 24-bit PCM, 8 channels, programme on channels 1–2")
	case muxer == "mpegts" && p.Kind == "broadcast":
		// Playout wants a constant mux rate: the muxer pads with null
		// packets, keeps PCR every 20 ms and repeats PAT/PMT every 100 ms.
		rate := plan.Video.BitRate
		for _, a := range plan.Audio {
			if a.BitRate > 0 {
				rate += a.BitRate
			} else {
				rate += int64(a.SampleRate * a.Channels * 24)
			}
		}
		mux := (rate*115/100 + 200_000) / 100_000 * 100_000
		plan.MuxOptions["muxrate"] = itoa(mux)
		plan.MuxOptions["pcr_period"] = "20"
		plan.MuxOptions["pat_period"] = "0.1"
		plan.MuxOptions["sdt_period"] = "0.5"
		// The pictures must reach the decoder's buffer by their decode
		// times (the T-STD) and not overfill it: the muxer keeps its PCRs
		// this far behind the decode times, the time the encoder's buffer
		// takes to fill to where its rate control starts it (x264's CBR
		// 90%). Without a delay libav's muxer gives no lead at all, and
		// pictures arrived up to 0.14 s late (1 s 480i H.264 clip).
		vbv, _ := strconv.ParseInt(plan.Video.Options["bufsize"], 10, 64)
		delay := 0.9 * float64(vbv) / float64(max(plan.Video.BitRate, 1))
		plan.MuxOptions["max_delay"] = itoa(int64(math.Ceil(delay * 1e6)))
		plan.MuxRate = mux
		plan.Decisions = append(plan.Decisions, fmt.Sprintf("MPEG-TS CBR at %s (PCR every 20 ms, PAT/PMT every 100 ms, SDT every 500 ms), pictures delivered up to %.2f s ahead of their decode times", bitrateWords(mux), delay))
	}
	if strings.HasPrefix(plan.Muxer, "mxf") && len(plan.Audio) > 0 && src.duration > 0 {
		// libav's MXF muxer writes whole edit units: when a sound track ends
		// before the picture, it drops every picture after that end, and the
		// output comes out short. Sound shorter than the picture is padded
		// with silence to the file's duration.
		for i := range plan.Audio {
			plan.Audio[i].PadTo = src.duration
		}
		plan.Decisions = append(plan.Decisions, fmt.Sprintf("MXF: sound shorter than the picture is padded with silence to %.3f s", src.duration))
	}
	return plan, nil
}

// finishChain ends a video chain that takes pictures of pixel format in with
// the stages its encoder needs beyond the raster and rate decisions: a
// conversion to the encoder's pixel format out where no scaling made it (a
// 4:2:2 10-bit ProRes into 4:2:0 8-bit H.264), the watermark when there is
// one, and a last stage at the output rate that repeats or drops pictures,
// so the encoder gets a constant rate whatever the source's timestamps did.
// It returns the chain and the words for the report.
func finishChain(chain []Stage, in, out, filter string, wm *config.Watermark, rate sdi.Rational) ([]Stage, []string) {
	var d []string
	chain = slices.Clone(chain)
	cur := in
	for _, st := range chain {
		if st.Op == OpScale || st.Op == OpFieldScale {
			cur = out // scaling makes the encoder's format
		}
	}
	if cur != out {
		chain = append(chain, Stage{Op: OpConvert, PixFmt: out, Filter: filter})
		d = append(d, fmt.Sprintf("convert %s → %s for the encoder (%s)", cur, out, scaleFilterWords(filter)))
	}
	if wm != nil {
		chain = append(chain, Stage{Op: OpWatermark, Watermark: wm})
		d = append(d, fmt.Sprintf("watermark %s at %s, opacity %.2f", filepath.Base(wm.Image), wm.Position, wm.Opacity))
	}
	chain = append(chain, Stage{Op: OpFrameRate, Rate: rate, Method: "dup"})
	d = append(d, fmt.Sprintf("constant %s fps into the encoder: a picture repeated or dropped where the source's timestamps stray", rateWords(rate)))
	return chain, d
}

// scaleFilterWords names the resampling filter the kernels use for name.
func scaleFilterWords(name string) string {
	if name == "bicubic" {
		return "bicubic"
	}
	return "lanczos"
}

// d10VBI is the number of vertical-blanking lines D-10 carries above the picture.
const d10VBI = 32

func describeSource(v job.StreamInfo, info job.MediaInfo) (source, error) {
	if v.Width <= 0 || v.Height <= 0 {
		return source{}, inputErrorf(nil, "video stream has no picture size (%s)", v.Codec)
	}
	if v.Width > 16384 || v.Height > 16384 {
		return source{}, inputErrorf(nil, "video picture size %dx%d is beyond what Kiln accepts (16384x16384)", v.Width, v.Height)
	}
	rate, ok := ParseRational(v.FrameRate)
	if !ok || rate.Float() < 1 || rate.Float() > 300 {
		return source{}, inputErrorf(nil, "video frame rate %q is unknown or implausible", v.FrameRate)
	}
	s := source{
		index: v.Index, width: v.Width, height: v.Height, rate: rate,
		sar: sdi.Rational{Num: 1, Den: 1}, fields: sdi.Progressive,
		rotation: ((v.Rotation % 360) + 360) % 360, pixFmt: v.PixelFormat, colorSpace: v.ColorSpace,
		duration: info.Duration,
	}
	if sar, ok := ParseRational(strings.Replace(v.SAR, ":", "/", 1)); ok && sar.Num > 0 {
		s.sar = sar
	}
	switch v.FieldOrder {
	case "tt", "tb":
		s.fields = sdi.TopFirst
	case "bb", "bt":
		s.fields = sdi.BottomFirst
	}
	if s.rotation == 90 || s.rotation == 270 {
		s.width, s.height = s.height, s.width
		s.sar = sdi.Rational{Num: s.sar.Den, Den: s.sar.Num}
	}
	s.hd = s.height > 576 || s.colorSpace == "bt709"
	s.tenBit = strings.Contains(v.PixelFormat, "10") || strings.Contains(v.PixelFormat, "12")
	s.chroma422 = strings.Contains(v.PixelFormat, "422")
	return s, nil
}

func planBroadcast(src source, p config.Profile) (Plan, error) {
	std, err := sdi.Lookup(p.Standard)
	if err != nil {
		return Plan{}, &ProfileError{Reason: err.Error()}
	}
	sar, err := std.SAR(p.Aspect)
	if err != nil {
		return Plan{}, &ProfileError{Reason: err.Error()}
	}
	if p.FieldOrder == "bff" {
		std.Fields = sdi.BottomFirst // a target that wants the bottom field first
	}
	v := VideoPlan{
		Width: std.Width, Height: std.Height, PixFmt: "yuv420p",
		FrameRate: std.FrameRate, SAR: sar, FieldOrder: std.Fields,
		BitRate:        int64(p.VideoBitrate),
		ColorPrimaries: std.ColorPrimaries, ColorTransfer: std.ColorTransfer, ColorSpace: std.ColorSpace,
	}
	var d []string
	d = append(d, fmt.Sprintf("%s → %s %s %dx%d %s, %s, display %s (SAR %s, BT.601 704-sample active picture)",
		describeRaster(src), strings.ToUpper(std.Name), std.System, std.Width, std.Height, fieldWords(std.Fields), strings.ToUpper(p.Codec), p.Aspect, sar))

	v.Rotate, v.ScaleFilter = src.rotation, p.ScaleFilter
	fieldRate := sdi.Rational{Num: std.FrameRate.Num * 2, Den: std.FrameRate.Den}
	scale, fitWords := fitStages(src, std.Width, std.Height, std.Active, sar, p.Fit, p.ScaleFilter, src.fields != sdi.Progressive && SameRate(src.rate, std.FrameRate))
	d = append(d, fitWords)
	if p.Codec != "d10" {
		// D-10 carries AFD in the VBI (SMPTE ST 2016-3 VANC), which Kiln does
		// not write yet; MPEG-2 and H.264 carry it in the picture.
		frame, _ := sdi.ParseAspect(p.Aspect)
		v.AFD = sdi.ChooseAFD(pictureAspect(scale, sar), frame.Float())
		carrier := "MPEG-2 user data, ATSC A/53"
		if p.Codec == "h264" {
			carrier = "H.264 SEI, ATSC A/53"
		}
		d = append(d, fmt.Sprintf("AFD %d: %s (%s)", v.AFD, v.AFD.Words(), carrier))
	}
	if src.hd {
		d = append(d, "BT.709 → BT.601 colour matrix")
	}

	switch {
	case src.fields != sdi.Progressive && SameRate(src.rate, std.FrameRate):
		// Same field rate: scale each field on its own, so fields stay fields.
		v.Chain = append(v.Chain, scale...)
		if src.fields != std.Fields {
			v.Chain = append(v.Chain, Stage{Op: OpFieldOrder, Order: src.fields})
			d = append(d, fmt.Sprintf("fields kept, each scaled on its own; %s → %s by a one-line shift",
				strings.ToUpper(string(src.fields)), strings.ToUpper(string(std.Fields))))
		} else {
			d = append(d, "fields kept, each scaled on its own (field-preserving, no blending)")
		}
	case src.fields == sdi.Progressive && SameRate(src.rate, std.FrameRate):
		v.Chain = append(v.Chain, scale...)
		d = append(d, fmt.Sprintf("%s progressive → PsF: both fields of a frame come from the same picture", rateWords(src.rate)))
	case src.fields == sdi.Progressive && SameRate(src.rate, fieldRate):
		v.Chain = append(v.Chain, scale...)
		v.Chain = append(v.Chain, Stage{Op: OpInterlace})
		d = append(d, fmt.Sprintf("%sp → %si: each field from its own frame, vertical low-pass against twitter", rateWords(src.rate), rateWords(std.FrameRate)))
	case src.fields == sdi.Progressive && std.Name == "ntsc" && SameRate(src.rate, sdi.Rational{Num: 24000, Den: 1001}):
		v.Chain = append(v.Chain, scale...)
		v.Chain = append(v.Chain, Stage{Op: OpPulldown})
		d = append(d, "23.976p → 29.97i by 3:2 pulldown")
	default:
		// Standards or frame-rate conversion: work in the field domain. Make
		// progressive pictures at the source's field rate, scale them, convert
		// to the target's field rate, then weave fields from successive pictures.
		if src.fields != sdi.Progressive {
			v.Chain = append(v.Chain, Stage{Op: OpDeinterlace, Order: src.fields, Double: true})
			d = append(d, fmt.Sprintf("deinterlace %si to %sp (one picture per field)", rateWords(src.rate), rateWords(sdi.Rational{Num: src.rate.Num * 2, Den: src.rate.Den})))
		}
		v.Chain = append(v.Chain, scale...)
		frc, words := frameRateStage(fieldRate, p.FrameRateMethod)
		v.Chain = append(v.Chain, frc, Stage{Op: OpInterlace})
		d = append(d, words, fmt.Sprintf("%sp → %si: each field from its own picture", rateWords(fieldRate), rateWords(std.FrameRate)))
	}
	if std.Fields == sdi.BottomFirst && !(src.fields != sdi.Progressive && SameRate(src.rate, std.FrameRate)) {
		// Interlacing and pulldown weave top field first; a BFF target gets
		// the frame moved one line, so the first field in time is the bottom.
		// PsF needs no move: both fields hold the same picture.
		if len(v.Chain) > 0 && (v.Chain[len(v.Chain)-1].Op == OpInterlace || v.Chain[len(v.Chain)-1].Op == OpPulldown) {
			v.Chain = append(v.Chain, Stage{Op: OpFieldOrder, Order: sdi.TopFirst})
			d = append(d, "TFF → BFF by a one-line shift for the bottom-field-first target")
		}
	}

	gop := 12
	if std.FrameRate.Den == 1001 {
		gop = 15
	}
	v.GOP = gop
	v.Options = map[string]string{}
	switch p.Codec {
	case "mpeg2":
		v.Encoder = "mpeg2video"
		// MP@ML, closed GOP, CBR into the MP@ML VBV (1835008 bits).
		v.Options = map[string]string{
			"b": itoa(v.BitRate), "maxrate": itoa(v.BitRate), "minrate": itoa(v.BitRate),
			"bufsize": "1835008", "g": strconv.Itoa(gop), "bf": "2",
			"flags": "+cgop+ildct+ilme", "sc_threshold": "1000000000",
			"profile": "4", "level": "8", "intra_vlc": "1", "alternate_scan": "1",
		}
		d = append(d, fmt.Sprintf("MPEG-2 MP@ML 4:2:0, closed GOP of %d (M=3), CBR %s, VBV 1835008 bits, interlaced coding %s (field DCT and prediction, alternate scan)", gop, bitrateWords(v.BitRate), strings.ToUpper(string(std.Fields))))
	case "h264":
		v.Encoder = "libx264"
		v.Options = map[string]string{
			"b": itoa(v.BitRate), "maxrate": itoa(v.BitRate), "bufsize": itoa(v.BitRate),
			"g": strconv.Itoa(gop), "keyint_min": strconv.Itoa(gop), "sc_threshold": "0",
			"flags": "+ildct+cgop", "profile": "high", "level": "3", "preset": "medium",
			"x264-params": "nal-hrd=cbr:force-cfr=1:" + x264Fields(std.Fields),
		}
		d = append(d, fmt.Sprintf("H.264 High@3.0 4:2:0, interlaced (MBAFF) %s, GOP %d, CBR %s", strings.ToUpper(string(std.Fields)), gop, bitrateWords(v.BitRate)))
	case "d10":
		// D-10 (IMX, SMPTE 356M): MPEG-2 422P@ML, I-frames only, constant
		// frame size, in a 720x608 (625) or 720x512 (525) raster that carries
		// 32 lines of vertical blanking above the picture.
		v.Encoder, v.PixFmt, v.GOP = "mpeg2video", "yuv422p", 1
		v.Chain = append(v.Chain, Stage{Op: OpPad, Width: std.Width, Height: std.Height + d10VBI, X: 0, Y: d10VBI})
		v.Height = std.Height + d10VBI
		vbv := itoa(v.BitRate / 25) // 30/40/50 Mb/s → 1.2/1.6/2.0 Mbit VBV
		v.Options = map[string]string{
			"b": itoa(v.BitRate), "maxrate": itoa(v.BitRate), "minrate": itoa(v.BitRate),
			"bufsize": vbv, "rc_init_occupancy": vbv, "g": "1", "bf": "0",
			"flags": "+ildct+low_delay", "intra_vlc": "1", "non_linear_quant": "1",
			"qmin": "1", "qmax": "3", "dc": "10", "profile": "0",
		}
		d = append(d, fmt.Sprintf("D-10 (IMX %d): MPEG-2 422P@ML 4:2:2, I-frame only, %dx%d with %d VBI lines, CBR %s",
			v.BitRate/1_000_000, std.Width, v.Height, d10VBI, bitrateWords(v.BitRate)))
	default:
		return Plan{}, &ProfileError{Reason: fmt.Sprintf("broadcast codec %q is not supported", p.Codec)}
	}
	if p.Codec == "mpeg2" || p.Codec == "d10" {
		// MPEG-2 carries a display aspect flag for the whole coded frame, not a
		// SAR: receivers apply the 4:3/16:9 flag to the active picture, where
		// Kiln placed it. Decoders derive SAR = DAR × H / W from the flag.
		dar, _ := sdi.ParseAspect(p.Aspect)
		n, dd := Reduce(int64(dar.Num*v.Height), int64(dar.Den*v.Width))
		v.SAR = sdi.Rational{Num: int(n), Den: int(dd)}
		d = append(d, fmt.Sprintf("MPEG-2 aspect_ratio_information = %s (decoders report SAR %s)", p.Aspect, v.SAR))
	}
	return Plan{Video: v, Decisions: d}, nil
}

func planFile(src source, p config.Profile) (Plan, error) {
	v := VideoPlan{FrameRate: src.rate, BitRate: int64(p.VideoBitrate), FieldOrder: src.fields, Rotate: src.rotation, ScaleFilter: p.ScaleFilter}
	var d []string

	// Output raster: the profile's, or the source's. One given size sets the
	// other from the display aspect.
	dispW := float64(src.width) * src.sar.Float()
	w, h := src.width, src.height
	switch {
	case p.Width > 0 && p.Height > 0:
		w, h = p.Width, p.Height
	case p.Width > 0:
		w, h = p.Width, even(float64(p.Width)*float64(src.height)/dispW)
	case p.Height > 0:
		w, h = even(float64(p.Height)*dispW/float64(src.height)), p.Height
	}
	evened := false
	if p.Codec != "ffv1" && (w%2 == 1 || h%2 == 1) {
		// Every codec here but FFV1 subsamples chroma by two (x264 refuses
		// an odd width outright): an odd raster such as 853x480 is scaled to
		// the even size just below. The source's SAR stays, as a one-line
		// crop would keep it: a SAR corrected by 0.1% is one MPEG-2 cannot
		// carry.
		evened = p.Width == 0 && p.Height == 0
		w, h = evenDown(w), evenDown(h)
		d = append(d, fmt.Sprintf("%dx%d is odd; %s needs an even raster", src.width, src.height, p.Codec))
	}
	resized := w != src.width || h != src.height
	if rate, ok := ParseRational(p.FrameRate); ok && p.FrameRate != "" {
		v.FrameRate = rate
	}
	rateChange := !SameRate(v.FrameRate, src.rate)

	// x265 codes fields only as separate field pictures, which FFmpeg 5.1's
	// libx265 wrapper cannot be fed and libav-based players would show as
	// half-height pictures: HEVC outputs are progressive.
	fieldsCoded := p.Codec != "hevc"
	deinterlace := false
	if src.fields != sdi.Progressive {
		switch p.Deinterlace {
		case "on":
			deinterlace = true
		case "off":
			if rateChange {
				return Plan{}, &ProfileError{Reason: "frame_rate conversion needs progressive pictures, but deinterlace = \"off\" and the source is interlaced"}
			}
			if !fieldsCoded {
				return Plan{}, &ProfileError{Reason: "the source is interlaced and deinterlace = \"off\", but Kiln's HEVC outputs cannot carry fields: set deinterlace = \"auto\", or a codec that codes fields (h264, mpeg2, prores, ffv1)"}
			}
		default: // auto: keep fields unless the frame rate changes or the codec cannot code them
			deinterlace = rateChange || !fieldsCoded
		}
	}
	// Toward a higher frame rate every field becomes a picture: the fields
	// hold the source's motion at twice its frame rate, which interpolating
	// between deinterlaced frames would have to invent (25i → 50p then needs
	// no frame-rate conversion at all).
	fieldRate := sdi.Rational{Num: src.rate.Num * 2, Den: src.rate.Den}
	perField := deinterlace && rateChange && v.FrameRate.Float() > src.rate.Float()
	if deinterlace {
		v.Chain = append(v.Chain, Stage{Op: OpDeinterlace, Order: src.fields, Double: perField})
		v.FieldOrder = sdi.Progressive
		why := ""
		if !fieldsCoded && !rateChange && p.Deinterlace != "on" {
			why = ": HEVC outputs are progressive"
		}
		if perField {
			d = append(d, fmt.Sprintf("deinterlace %si to %sp (motion-adaptive, one picture per field)", rateWords(src.rate), rateWords(fieldRate)))
		} else {
			d = append(d, "deinterlace (motion-adaptive, one frame per frame)"+why)
		}
	}
	if resized {
		op := OpScale
		if v.FieldOrder != sdi.Progressive {
			op = OpFieldScale
		}
		v.Chain = append(v.Chain, Stage{Op: op, Width: w, Height: h, Filter: p.ScaleFilter})
		d = append(d, fmt.Sprintf("scale %dx%d → %dx%d (%s)", src.width, src.height, w, h, p.ScaleFilter))
	}
	if rateChange && !(perField && SameRate(v.FrameRate, fieldRate)) {
		frc, words := frameRateStage(v.FrameRate, p.FrameRateMethod)
		v.Chain = append(v.Chain, frc)
		d = append(d, words)
	}
	v.Width, v.Height = w, h
	// Keep the display aspect: SAR = (source display width / height) / (w / h).
	n, dd := Reduce(int64(math.Round(dispW*1000))*int64(h), int64(src.height)*int64(w)*1000)
	v.SAR = sdi.Rational{Num: int(n), Den: int(dd)}
	if (!resized || evened) && src.rotation == 0 {
		v.SAR = src.sar
	}

	v.Options = map[string]string{}
	v.GOP = int(math.Round(v.FrameRate.Float())) // one-second GOPs edit well
	switch p.Codec {
	case "h264":
		v.Encoder, v.PixFmt = "libx264", "yuv420p"
		v.Options = map[string]string{"b": itoa(v.BitRate), "g": strconv.Itoa(v.GOP), "preset": "medium", "profile": "high"}
		if v.FieldOrder != sdi.Progressive {
			// MBAFF, with the field order set when x264 opens: the frames'
			// top_field_first alone reaches it only after its first
			// pictures, and the stream then says TFF for a BFF source.
			v.Options["flags"] = "+ildct"
			v.Options["x264-params"] = x264Fields(v.FieldOrder)
			d = append(d, fmt.Sprintf("interlaced coding (MBAFF) %s", strings.ToUpper(string(v.FieldOrder))))
		}
	case "hevc":
		v.Encoder, v.PixFmt = "libx265", "yuv420p"
		if src.tenBit {
			v.PixFmt = "yuv420p10le"
		}
		v.Options = map[string]string{"b": itoa(v.BitRate), "g": strconv.Itoa(v.GOP), "preset": "medium", "x265-params": "log-level=error"}
	case "mpeg2":
		v.Encoder, v.PixFmt = "mpeg2video", "yuv420p"
		if src.chroma422 {
			v.PixFmt = "yuv422p"
		}
		// Closed GOPs need mpeg2video's scene-change detection off.
		v.Options = map[string]string{"b": itoa(v.BitRate), "maxrate": itoa(v.BitRate * 2), "bufsize": itoa(v.BitRate),
			"g": strconv.Itoa(v.GOP), "bf": "2", "flags": "+cgop", "sc_threshold": "1000000000"}
		if v.FieldOrder != sdi.Progressive {
			// Field DCT and field prediction; the pictures' top_field_first
			// comes from each frame's flags.
			v.Options["flags"] = "+cgop+ildct+ilme"
			v.Options["alternate_scan"] = "1"
			d = append(d, fmt.Sprintf("interlaced coding %s (field DCT and prediction, alternate scan)", strings.ToUpper(string(v.FieldOrder))))
		}
	case "prores":
		v.Encoder, v.PixFmt = "prores_ks", "yuv422p10le"
		v.Options = map[string]string{"profile": "3", "vendor": "apl0"}
		v.GOP = 1
		if v.FieldOrder != sdi.Progressive {
			// prores_ks codes two field pictures per frame only when told
			// to, and takes the field order from each frame's flags.
			v.Options["flags"] = "+ildct"
			d = append(d, fmt.Sprintf("interlaced coding %s (two field pictures per frame)", strings.ToUpper(string(v.FieldOrder))))
		}
	case "ffv1":
		v.Encoder, v.PixFmt = "ffv1", ffv1PixFmt(src.pixFmt)
		v.Options = map[string]string{"level": "3", "slicecrc": "1", "g": "1"}
		v.GOP = 1
	default:
		return Plan{}, &ProfileError{Reason: fmt.Sprintf("file codec %q is not supported", p.Codec)}
	}
	d = append([]string{fmt.Sprintf("%s → %dx%d %s %s, %s", describeRaster(src), w, h, rateWords(v.FrameRate), fieldWords(v.FieldOrder), strings.ToUpper(p.Codec))}, d...)
	if !resized && !deinterlace && !rateChange {
		d = append(d, "raster, frame rate and scan kept as in the source")
	}
	return Plan{Video: v, Decisions: d}, nil
}

// x264Fields is the x264 option that sets interlaced (MBAFF) coding with
// the given field order.
func x264Fields(order sdi.FieldOrder) string {
	if order == sdi.BottomFirst {
		return "bff=1"
	}
	return "tff=1"
}

// fitStages places the source picture in a width×height raster whose picture
// area is active samples wide, with sample aspect sar, as the profile's fit
// asks. perField scales each field on its own. It returns the stages and a
// sentence for the report.
func fitStages(src source, width, height, active int, sar sdi.Rational, fit, filter string, perField bool) ([]Stage, string) {
	// The source's display width per display height, in output samples.
	srcAspect := float64(src.width) * src.sar.Float() / float64(src.height)
	maxW := active
	if src.width == width && src.height == height {
		// An SD source on the same raster already carries its own blanking.
		maxW = width
	}
	// Width the picture takes at full height, in output samples.
	fullW := srcAspect * float64(height) / sar.Float()
	// Picture heights in multiples of 4 lines keep whole 4:2:0 chroma lines
	// in both fields.
	const lines = 4
	// scale resamples (each field on its own when perField), then converts
	// HD colour to the BT.601 matrix at the smaller SD size.
	scale := func(w, h int) []Stage {
		op := OpScale
		if perField {
			op = OpFieldScale
		}
		st := []Stage{{Op: op, Width: w, Height: h, Filter: filter}}
		if src.hd {
			st = append(st, Stage{Op: OpColourMatrix, Matrix: "bt709→bt601"})
		}
		return st
	}
	pad := func(w, h int) Stage {
		return Stage{Op: OpPad, Width: width, Height: height, X: evenDown((width - w) / 2), Y: evenDown((height - h) / 2)}
	}
	crop := func(w, h int) Stage {
		return Stage{Op: OpCrop, Width: maxW, Height: height, X: evenDown((w - maxW) / 2), Y: evenDown((h - height) / 2)}
	}
	join := func(parts ...[]Stage) []Stage {
		var out []Stage
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	switch fit {
	case "stretch":
		return join(scale(maxW, height), []Stage{pad(maxW, height)}), fmt.Sprintf("stretch %dx%d to %dx%d (anamorphic, aspect not kept)", src.width, src.height, maxW, height)
	case "crop":
		if fullW >= float64(maxW) {
			w := roundTo(fullW, 2)
			return join(scale(w, height), []Stage{crop(w, height), pad(maxW, height)}),
				fmt.Sprintf("crop: scale to %dx%d, centre cut to %dx%d", w, height, maxW, height)
		}
		h := roundTo(float64(maxW)*sar.Float()/srcAspect, lines)
		return join(scale(maxW, h), []Stage{crop(maxW, h), pad(maxW, height)}),
			fmt.Sprintf("crop: scale to %dx%d, centre cut to %dx%d", maxW, h, maxW, height)
	default: // letterbox | pillarbox: the whole picture, bars where needed
		if fullW <= float64(maxW)+0.5 {
			w := roundTo(math.Min(fullW, float64(maxW)), 2)
			words := fmt.Sprintf("pillarbox: picture %dx%d centred in %dx%d", w, height, width, height)
			if w >= maxW-2 {
				words = fmt.Sprintf("full frame: picture %dx%d in %dx%d", w, height, width, height)
			}
			return join(scale(w, height), []Stage{pad(w, height)}), words
		}
		h := roundTo(float64(maxW)*sar.Float()/srcAspect, lines)
		return join(scale(maxW, h), []Stage{pad(maxW, h)}),
			fmt.Sprintf("letterbox: picture %dx%d centred in %dx%d", maxW, h, width, height)
	}
}

// pictureAspect is the display aspect of the picture a fit chain leaves in the
// frame: the size going into its final pad, at the geometry's sample aspect.
func pictureAspect(chain []Stage, sar sdi.Rational) float64 {
	w, h := 0, 0
	for _, st := range chain {
		switch st.Op {
		case OpScale, OpFieldScale, OpCrop:
			w, h = st.Width, st.Height
		}
	}
	if h == 0 {
		return 0
	}
	return float64(w) * sar.Float() / float64(h)
}

func frameRateStage(rate sdi.Rational, method string) (Stage, string) {
	st := Stage{Op: OpFrameRate, Rate: rate, Method: method}
	switch method {
	case "dup":
		return st, fmt.Sprintf("frame rate → %s by dropping or repeating pictures", rateWords(rate))
	case "blend":
		return st, fmt.Sprintf("frame rate → %s by blending the two nearest pictures", rateWords(rate))
	default:
		st.Method = "mc"
		return st, fmt.Sprintf("frame rate → %s by motion-compensated interpolation (scene cuts repeat a picture)", rateWords(rate))
	}
}

// TruePeakCeiling is the highest true peak a broadcast delivery may have
// (EBU R 128: -1 dBTP; ATSC A/85 asks -2 dBTP, so Kiln keeps to the stricter).
const TruePeakCeiling = -2.0

// maxStreams and maxAudioTracks bound what a file may ask of a job: a
// hostile file with thousands of streams would otherwise open thousands of
// decoders and encoders.
const (
	maxStreams     = 64
	maxAudioTracks = 16
)

func planAudio(plan *Plan, info job.MediaInfo, p config.Profile) error {
	codec := p.Audio.Codec
	audios := info.AudioStreams()
	if len(audios) > maxAudioTracks {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("%d audio streams: the first %d are kept", len(audios), maxAudioTracks))
		audios = audios[:maxAudioTracks]
	}
	for _, a := range audios {
		if a.Channels <= 0 || a.SampleRate <= 0 {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("audio stream %d (%s) has no channel count or sample rate; it is left out", a.Index, a.Codec))
			continue
		}
		ap := AudioPlan{Input: a.Index, SampleRate: 48000, BitRate: int64(p.Audio.Bitrate), Channels: a.Channels}
		maxCh := 8
		switch codec {
		case "aac":
			ap.Encoder = "aac"
		case "mp2":
			ap.Encoder, maxCh = "mp2", 2
		case "ac3":
			ap.Encoder, maxCh = "ac3", 6
		case "pcm":
			switch p.Container {
			case "ts":
				ap.Encoder = "s302m" // SMPTE 302M: PCM as broadcast TS carries it
			case "mp4":
				return &ProfileError{Reason: "PCM audio cannot go in MP4 with this libav; use container mov, mkv or mxf"}
			default:
				ap.Encoder = "pcm_s24le"
			}
			ap.BitRate = 0
		default:
			return &ProfileError{Reason: fmt.Sprintf("audio codec %q is not supported", codec)}
		}
		if p.Kind == "broadcast" {
			// Playout wants stereo pairs. A mono source is carried as dual
			// mono at full level (the default upmix would drop it by 3 dB).
			maxCh = 2
			if ap.Channels == 1 {
				ap.Channels, ap.Remix = 2, "pan=stereo|c0=c0|c1=c0"
				plan.Decisions = append(plan.Decisions, fmt.Sprintf("audio %d: mono carried as dual mono", a.Index))
			}
		}
		if ap.Encoder == "s302m" && ap.Channels%2 == 1 {
			ap.Channels++
		}
		if ap.Channels > maxCh || layoutName(ap.Channels) == "" {
			plan.Decisions = append(plan.Decisions, fmt.Sprintf("audio %d: %d channels downmixed to stereo", a.Index, a.Channels))
			ap.Channels, ap.Remix = 2, stereoDownmix
		}
		ap.Layout = layoutName(ap.Channels)
		ap.Loudness = p.Audio.Loudness
		plan.Audio = append(plan.Audio, ap)
		plan.Decisions = append(plan.Decisions, fmt.Sprintf("audio %d: %s %d Hz %s → %s 48000 Hz %s%s",
			a.Index, a.Codec, a.SampleRate, a.ChannelLayout, ap.Encoder, ap.Layout, bitrateSuffix(ap.BitRate)))
	}
	if len(plan.Audio) == 0 && len(info.AudioStreams()) > 0 {
		return inputErrorf(nil, "no usable audio stream")
	}
	if len(plan.Audio) > 0 && p.Audio.Loudness != nil {
		plan.Decisions = append(plan.Decisions, fmt.Sprintf(
			"loudness: each track to %.1f LUFS integrated (ITU-R BS.1770-4), true peak at most %.1f dBTP", *p.Audio.Loudness, TruePeakCeiling))
	}
	return nil
}

func containerFor(container string) (ext, muxer string, err error) {
	switch container {
	case "ts":
		return ".ts", "mpegts", nil
	case "mp4":
		return ".mp4", "mp4", nil
	case "mov":
		return ".mov", "mov", nil
	case "mkv":
		return ".mkv", "matroska", nil
	case "mxf":
		return ".mxf", "mxf", nil
	}
	return "", "", &ProfileError{Reason: fmt.Sprintf("container %q is not supported", container)}
}

func layoutName(channels int) string {
	return map[int]string{1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}[channels]
}

func ffv1PixFmt(src string) string {
	switch src {
	case "yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le":
		return src
	}
	return "yuv422p10le"
}

// ParseRational reads "25", "25/1", "30000/1001" or "29.97".
func ParseRational(s string) (sdi.Rational, bool) {
	if s == "" {
		return sdi.Rational{}, false
	}
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := strconv.Atoi(n)
		den, err2 := strconv.Atoi(d)
		if err1 != nil || err2 != nil || den <= 0 || num <= 0 {
			return sdi.Rational{}, false
		}
		return sdi.Rational{Num: num, Den: den}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return sdi.Rational{}, false
	}
	for _, nt := range []sdi.Rational{{Num: 24000, Den: 1001}, {Num: 30000, Den: 1001}, {Num: 60000, Den: 1001}} {
		if math.Abs(f-nt.Float()) < 0.01 {
			return nt, true
		}
	}
	return sdi.Rational{Num: int(math.Round(f * 1000)), Den: 1000}, true
}

func SameRate(a, b sdi.Rational) bool {
	return a.Den > 0 && b.Den > 0 && math.Abs(a.Float()-b.Float()) < 0.001
}

func describeRaster(s source) string {
	scan := "p"
	if s.fields != sdi.Progressive {
		scan = "i"
	}
	desc := fmt.Sprintf("%dx%d%s%s", s.width, s.height, scan, rateWords(s.rate))
	if s.fields != sdi.Progressive {
		desc += " " + strings.ToUpper(string(s.fields))
	}
	if s.sar.Num != s.sar.Den {
		desc += fmt.Sprintf(" SAR %s", s.sar)
	}
	return desc
}

func rateWords(r sdi.Rational) string {
	if r.Den == 1 {
		return strconv.Itoa(r.Num)
	}
	return strconv.FormatFloat(math.Round(r.Float()*1000)/1000, 'f', -1, 64)
}

func fieldWords(f sdi.FieldOrder) string {
	switch f {
	case sdi.TopFirst:
		return "interlaced TFF"
	case sdi.BottomFirst:
		return "interlaced BFF"
	}
	return "progressive"
}

func bitrateWords(b int64) string {
	switch {
	case b >= 1_000_000 && b%100_000 == 0:
		return strconv.FormatFloat(float64(b)/1e6, 'f', -1, 64) + " Mb/s"
	case b >= 1000:
		return strconv.FormatInt(b/1000, 10) + " kb/s"
	}
	return strconv.FormatInt(b, 10) + " b/s"
}

func bitrateSuffix(b int64) string {
	if b <= 0 {
		return ""
	}
	return " " + bitrateWords(b)
}

// Reduce is n/d in lowest terms.
func Reduce(n, d int64) (int64, int64) {
	a, b := n, d
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return n, d
	}
	return n / a, d / a
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func even(f float64) int { return roundTo(f, 2) }

func roundTo(f float64, m int) int {
	v := int(math.Round(f/float64(m))) * m
	if v < m {
		v = m
	}
	return v
}

func evenDown(v int) int { return v &^ 1 }
