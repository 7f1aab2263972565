package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"kiln/pipeline/plan"
	"kiln/sdi"
)

// The ffmpeg side of a pipeline pair is not written by hand: it is Kiln's
// own plan (plan.Make on the same probe and profile) spelt as an
// ffmpeg command line, stage for stage, so that both tools do the same work
// and a change to the planner changes both sides of the comparison.

// leftSited tells swscale where Kiln puts 4:2:0 chroma: with the left luma
// sample, vertically centred (MPEG-2, H.264). Without it swscale assumes
// centred chroma and moves it by half a sample.
const leftSited = "in_h_chr_pos=0:out_h_chr_pos=0:in_v_chr_pos=128:out_v_chr_pos=128"

// ffmpegVideoFilter spells a video plan's stage chain as a libavfilter graph.
func ffmpegVideoFilter(v plan.VideoPlan) (string, error) {
	var parts []string
	switch v.Rotate {
	case 90:
		parts = append(parts, "transpose=clock")
	case 180:
		parts = append(parts, "hflip,vflip")
	case 270:
		parts = append(parts, "transpose=cclock")
	}
	stages, err := stageFilters(v.Chain, v.PixFmt)
	if err != nil {
		return "", err
	}
	parts = append(parts, stages...)
	parts = append(parts, fmt.Sprintf("setsar=%d/%d", v.SAR.Num, v.SAR.Den))
	switch v.FieldOrder {
	case sdi.TopFirst:
		parts = append(parts, "setfield=tff")
	case sdi.BottomFirst:
		parts = append(parts, "setfield=bff")
	default:
		parts = append(parts, "setfield=prog")
	}
	parts = append(parts, "format="+v.PixFmt)
	return strings.Join(parts, ","), nil
}

// stageFilters spells Kiln stages as libavfilter filters, one for one.
func stageFilters(chain []plan.Stage, pixFmt string) ([]string, error) {
	var parts []string
	for _, st := range chain {
		switch st.Op {
		case plan.OpScale, plan.OpFieldScale:
			f := fmt.Sprintf("scale=%d:%d:flags=%s:%s", st.Width, st.Height, swsFlags(st.Filter), leftSited)
			if st.Op == plan.OpFieldScale {
				f += ":interl=1"
			}
			parts = append(parts, f)
		case plan.OpColourMatrix:
			// A filter of its own: swscale's in_color_matrix/out_color_matrix
			// between two YCbCr formats left pictures 10 dB of luma PSNR away
			// from a true BT.709 → BT.601 conversion in ffmpeg 5.1, while
			// colormatrix matches Kiln's to within rounding.
			m, err := matrixFilter(st.Matrix, pixFmt)
			if err != nil {
				return nil, err
			}
			parts = append(parts, m)
		case plan.OpPad:
			parts = append(parts, fmt.Sprintf("pad=%d:%d:%d:%d:black", st.Width, st.Height, st.X, st.Y))
		case plan.OpCrop:
			parts = append(parts, fmt.Sprintf("crop=%d:%d:%d:%d", st.Width, st.Height, st.X, st.Y))
		case plan.OpFieldOrder:
			// Kiln moves the picture one line to turn the order round;
			// fieldorder does the same.
			to := "tff"
			if st.Order == sdi.TopFirst {
				to = "bff"
			}
			parts = append(parts, "fieldorder="+to)
		case plan.OpDeinterlace:
			mode := "send_frame"
			if st.Double {
				mode = "send_field"
			}
			parts = append(parts, fmt.Sprintf("bwdif=mode=%s:parity=%s:deint=all", mode, parity(st.Order)))
		case plan.OpFrameRate:
			switch st.Method {
			case "dup":
				parts = append(parts, "fps="+st.Rate.String())
			case "blend":
				parts = append(parts, "minterpolate=fps="+st.Rate.String()+":mi_mode=blend")
			default:
				parts = append(parts, "minterpolate=fps="+st.Rate.String()+":mi_mode=mci")
			}
		case plan.OpInterlace:
			// Kiln's interlace stage uses the linear [1 2 1]/4 low-pass.
			parts = append(parts, "interlace=scan=tff:lowpass=linear")
		case plan.OpPulldown:
			parts = append(parts, "telecine=first_field=top:pattern=23")
		case plan.OpConvert:
			// The same swscale conversion that the closing format= would
			// insert, where Kiln's chain makes it.
			parts = append(parts, "format="+st.PixFmt)
		default:
			return nil, fmt.Errorf("no ffmpeg equivalent known for Kiln stage %q", st.Op)
		}
	}
	return parts, nil
}

func sameRational(a, b sdi.Rational) bool {
	return a.Den > 0 && b.Den > 0 && int64(a.Num)*int64(b.Den) == int64(b.Num)*int64(a.Den)
}

// ffmpegEncodeArgs is the encode pass: input, video and audio chains,
// encoders with the plan's options, muxer with the plan's options. gains
// holds, per audio plan, the loudness chain the measurement pass chose.
func ffmpegEncodeArgs(plan plan.Plan, src, out string, gains []string) ([]string, error) {
	vf, err := ffmpegVideoFilter(plan.Video)
	if err != nil {
		return nil, err
	}
	v := plan.Video
	args := []string{"-i", src, "-map", fmt.Sprintf("0:%d", v.Input), "-vf", vf, "-c:v", v.Encoder}
	for _, k := range slices.Sorted(maps.Keys(v.Options)) {
		// A stream specifier on every option: a bare -b would set the
		// audio bit rate too.
		args = append(args, "-"+k+":v", v.Options[k])
	}
	if v.ColorPrimaries != "" {
		args = append(args, "-color_primaries:v", v.ColorPrimaries, "-color_trc:v", v.ColorTransfer,
			"-colorspace:v", v.ColorSpace, "-color_range:v", "tv")
	}
	args = append(args, "-r", v.FrameRate.String())
	for i, a := range plan.Audio {
		chain := audioChain(a, gains[i])
		args = append(args, "-map", fmt.Sprintf("0:%d", a.Input), fmt.Sprintf("-filter:a:%d", i), chain,
			fmt.Sprintf("-c:a:%d", i), a.Encoder, fmt.Sprintf("-ar:a:%d", i), fmt.Sprint(a.SampleRate))
		if a.BitRate > 0 {
			args = append(args, fmt.Sprintf("-b:a:%d", i), fmt.Sprint(a.BitRate))
		}
	}
	args = append(args, "-f", plan.Muxer)
	for _, k := range slices.Sorted(maps.Keys(plan.MuxOptions)) {
		val := plan.MuxOptions[k]
		switch k {
		case "mpegts_service_name":
			// What Kiln sets on the muxer, the CLI sets as metadata.
			args = append(args, "-metadata", "service_name="+val)
		case "mpegts_service_provider":
			args = append(args, "-metadata", "service_provider="+val)
		default:
			args = append(args, "-"+k, val)
		}
	}
	return append(args, out), nil
}

// audioChain is the filter chain Kiln's audio path builds (remix, resample
// with sync, loudness gain, format), in the same order.
func audioChain(a plan.AudioPlan, gain string) string {
	var parts []string
	if a.Remix != "" {
		parts = append(parts, a.Remix)
	}
	parts = append(parts, fmt.Sprintf("aresample=%d:async=1:first_pts=0", a.SampleRate))
	if gain != "" {
		parts = append(parts, gain)
	}
	parts = append(parts, fmt.Sprintf("aformat=sample_rates=%d:channel_layouts=%s", a.SampleRate, a.Layout))
	return strings.Join(parts, ",")
}

// The loudness rule of pipeline/loudness.go, which keeps its constants to
// itself: gain to the target, and a limiter when the gain would push true
// peaks over the ceiling.
const (
	truePeakCeiling = -2.0
	silenceLUFS     = -70.0
)

func loudnessGain(integrated, truePeak, target float64) (chain string, gain float64, limited bool) {
	if integrated <= silenceLUFS {
		return "", 0, false
	}
	gain = target - integrated
	if truePeak+gain > truePeakCeiling {
		return limitedGain(gain), gain, true
	}
	return fmt.Sprintf("volume=%.2fdB:precision=double", gain), gain, false
}

func limitedGain(gain float64) string {
	limit := math.Pow(10, (truePeakCeiling-1)/20)
	return fmt.Sprintf("volume=%.2fdB:precision=double,alimiter=limit=%.4f:attack=5:release=50:level=0", gain, limit)
}

func swsFlags(filter string) string {
	if filter == "bicubic" {
		return "bicubic"
	}
	return "lanczos"
}

// matrixFilter converts between the BT.709 and BT.601 matrices: colormatrix
// for 8-bit pictures, colorspace (matrix only) for deeper ones.
func matrixFilter(m, pixFmt string) (string, error) {
	var from, to, to601 string
	switch m {
	case "bt709→bt601":
		from, to, to601 = "bt709", "bt601", "iall=bt709:all=bt601-6-625"
	case "bt601→bt709":
		from, to, to601 = "bt601", "bt709", "iall=bt601-6-625:all=bt709"
	default:
		return "", fmt.Errorf("no ffmpeg equivalent known for colour matrix %q", m)
	}
	if strings.Contains(pixFmt, "10") || strings.Contains(pixFmt, "12") || strings.Contains(pixFmt, "16") {
		return "colorspace=" + to601 + ":fast=1", nil
	}
	return "colormatrix=" + from + ":" + to, nil
}

func parity(o sdi.FieldOrder) string {
	if o == sdi.BottomFirst {
		return "bff"
	}
	return "tff"
}
