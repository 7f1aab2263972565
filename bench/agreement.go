package main

import (
	"context"
	"fmt"
	"path/filepath"

	"kiln/kernels"
	"kiln/pipeline"
	"kiln/pipeline/plan"
)

// agreementFrames is how many source frames the reference check runs
// through Kiln's kernels: enough to cover several GOPs and pulldown cycles.
const agreementFrames = 48

// The quality reference is made by libavfilter. It is only fair to both
// tools if it has Kiln's geometry (siting, field handling, matrix), so the
// harness runs the first frames of the source through Kiln's kernels with
// the plan's stages and no coding, and scores that against the reference:
// two renderings of one geometry should agree far above the coding loss.

// kilnUncoded runs a video plan's stages on the CPU kernels, as the
// pipeline's video chain does. It knows the per-picture stages and
// pulldown; plans with temporal stages (deinterlace, frame rate, interlace)
// are left to the encoded comparison alone. The constant-rate stage that
// ends every chain passes the pictures of a constant-rate source through
// unchanged, and so does it here.
func kilnUncoded(v plan.VideoPlan, in []*kernels.Frame) ([]*kernels.Frame, error) {
	cpu := kernels.CPU()
	if v.PixFmt != "yuv420p" {
		return nil, fmt.Errorf("check covers yuv420p plans, not %s", v.PixFmt)
	}
	cur := in
	for i, st := range v.Chain {
		params := kernels.ScaleParams{Filter: kernels.Lanczos3, Siting: kernels.SitingLeft}
		if st.Filter == "bicubic" {
			params.Filter = kernels.Bicubic
		}
		f := cur[0].Format
		var next []*kernels.Frame
		switch st.Op {
		case plan.OpScale:
			out := kernels.Format{Width: st.Width, Height: st.Height, Chroma: kernels.Chroma420, Depth: 8}
			sc, err := kernels.NewScaler(f, out, params)
			if err != nil {
				return nil, err
			}
			for _, p := range cur {
				d := kernels.NewFrame(out)
				if err := cpu.Scale(d, p, sc); err != nil {
					return nil, err
				}
				next = append(next, d)
			}
		case plan.OpFieldScale:
			out := kernels.Format{Width: st.Width, Height: st.Height, Chroma: kernels.Chroma420, Depth: 8}
			inF, err := kernels.FieldFormat(f)
			if err != nil {
				return nil, err
			}
			outF, err := kernels.FieldFormat(out)
			if err != nil {
				return nil, err
			}
			sc, err := kernels.NewScaler(inF, outF, params)
			if err != nil {
				return nil, err
			}
			for _, p := range cur {
				t, b, st2, sb, d := kernels.NewFrame(inF), kernels.NewFrame(inF), kernels.NewFrame(outF), kernels.NewFrame(outF), kernels.NewFrame(out)
				for _, err := range []error{cpu.SeparateFields(t, b, p), cpu.Scale(st2, t, sc), cpu.Scale(sb, b, sc), cpu.WeaveFields(d, st2, sb)} {
					if err != nil {
						return nil, err
					}
				}
				next = append(next, d)
			}
		case plan.OpColourMatrix:
			from, to := kernels.BT709, kernels.BT601
			if st.Matrix == "bt601→bt709" {
				from, to = kernels.BT601, kernels.BT709
			}
			mc, err := kernels.NewMatrixConverter(from, to)
			if err != nil {
				return nil, err
			}
			for _, p := range cur {
				d := kernels.NewFrame(f)
				if err := cpu.ConvertMatrix(d, p, mc); err != nil {
					return nil, err
				}
				next = append(next, d)
			}
		case plan.OpPad, plan.OpCrop:
			out := f
			out.Width, out.Height = st.Width, st.Height
			for _, p := range cur {
				d := kernels.NewFrame(out)
				var err error
				if st.Op == plan.OpPad {
					err = cpu.Pad(d, p, st.X, st.Y)
				} else {
					err = cpu.Crop(d, p, st.X, st.Y)
				}
				if err != nil {
					return nil, err
				}
				next = append(next, d)
			}
		case plan.OpConvert:
			// The pictures read as yuv420p, which the check covers, are
			// already in the encoder's format.
			if st.PixFmt != "yuv420p" {
				return nil, fmt.Errorf("check covers conversions to yuv420p, not %s", st.PixFmt)
			}
			next = cur
		case plan.OpFrameRate:
			if i != len(v.Chain)-1 || st.Method != "dup" || st.Rate != v.FrameRate {
				return nil, fmt.Errorf("check does not cover the %s stage", st.Op)
			}
			next = cur
		case plan.OpPulldown:
			// At Ab | Bt Bb | Bt Cb | Ct Db | Dt Db, as pipeline/video_chain.go.
			ff, err := kernels.FieldFormat(f)
			if err != nil {
				return nil, err
			}
			pattern := [5][2]int{{0, 0}, {1, 1}, {1, 2}, {2, 3}, {3, 3}}
			for g := 0; g+4 <= len(cur); g += 4 {
				tops, bottoms := make([]*kernels.Frame, 4), make([]*kernels.Frame, 4)
				for i := 0; i < 4; i++ {
					tops[i], bottoms[i] = kernels.NewFrame(ff), kernels.NewFrame(ff)
					if err := cpu.SeparateFields(tops[i], bottoms[i], cur[g+i]); err != nil {
						return nil, err
					}
				}
				for _, pt := range pattern {
					d := kernels.NewFrame(f)
					if err := cpu.WeaveFields(d, tops[pt[0]], bottoms[pt[1]]); err != nil {
						return nil, err
					}
					next = append(next, d)
				}
			}
		default:
			return nil, fmt.Errorf("check does not cover the %s stage", st.Op)
		}
		cur = next
	}
	return cur, nil
}

// referenceAgreement scores Kiln's uncoded pictures of the first source
// frames against the reference file.
func (h *harness) referenceAgreement(ctx context.Context, label string, plan plan.Plan, src, dir string, refIn []string) (*Quality, error) {
	info, err := pipeline.Probe(src)
	if err != nil {
		return nil, err
	}
	var w, hh int
	for _, s := range info.VideoStreams() {
		if s.Index == plan.Video.Input {
			w, hh = s.Width, s.Height
		}
	}
	if w == 0 || plan.Video.Rotate != 0 {
		return nil, fmt.Errorf("check covers unrotated sources")
	}
	decoded := filepath.Join(dir, "source-head.yuv")
	if _, err := h.exec(ctx, label, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", src,
		"-map", fmt.Sprintf("0:%d", plan.Video.Input), "-frames:v", fmt.Sprint(agreementFrames), "-pix_fmt", "yuv420p", "-f", "rawvideo", decoded); err != nil {
		return nil, err
	}
	in, err := readRaw(decoded, kernels.Format{Width: w, Height: hh, Chroma: kernels.Chroma420, Depth: 8})
	if err != nil {
		return nil, err
	}
	out, err := kilnUncoded(plan.Video, in)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "kiln-uncoded.yuv")
	if err := writeRaw(path, out); err != nil {
		return nil, err
	}
	return h.compare(ctx, label, rawInput(out[0].Format, plan.Video.FrameRate.String(), path), refIn, "yuv420p")
}
