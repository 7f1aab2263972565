package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"kiln/kernels"
)

// The frame-rate test drops every other picture of a 50p clip and rebuilds
// each dropped one from its neighbours, so the pictures a method should
// have made are known exactly. Speed is output (50p) pictures per second
// of processing: the kept pictures passed through plus the rebuilt ones.

type frcSize struct {
	size string
	file string
	f    kernels.Format
}

var frcSizes = []frcSize{{"SD", "sd50.yuv", fSD}, {"1080", "hd50.yuv", fHD}}

// frcMinTime is how long Kiln's passes over the clip are repeated for at
// least; frcBlendLoops is how often ffmpeg loops the clip for blend. One
// pass of a blend over a dozen pictures takes milliseconds, too little to
// time against a process's start; the slow mc methods are timed in one pass.
const (
	frcMinTime    = time.Second
	frcBlendLoops = 60
)

func (h *harness) frc(ctx context.Context) error {
	for _, s := range frcSizes {
		if err := h.frcSize(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s.size, err)
		}
	}
	return nil
}

func (h *harness) frcSize(ctx context.Context, s frcSize) error {
	path, err := h.source(ctx, s.file)
	if err != nil {
		return err
	}
	clip, err := readRaw(path, s.f)
	if err != nil {
		return err
	}
	var kept, dropped []*kernels.Frame
	for k, fr := range clip {
		if k%2 == 0 {
			kept = append(kept, fr)
		} else {
			dropped = append(dropped, fr)
		}
	}
	dropped = dropped[:len(kept)-1] // only those with a kept picture each side
	dir := filepath.Join(h.runDir, "frc-"+s.size)
	keptPath := filepath.Join(dir, "kept25p.yuv")
	if err := mkdirWrite(keptPath, kept); err != nil {
		return err
	}
	fmt.Fprintf(h.log, "-- %s: %d pictures at 50p; %d kept (25p), %d to rebuild\n", s.size, len(clip), len(kept), len(dropped))

	type outcome struct {
		r       FRCResult
		rebuilt []*kernels.Frame
	}
	var outcomes []outcome
	for _, method := range []kernels.FrameRateMethod{kernels.MethodMC, kernels.MethodBlend, kernels.MethodDup} {
		r := FRCResult{Size: s.size, Method: method.String(), Tool: "kiln", Timed: method != kernels.MethodDup,
			Call: frcCall(method), Frames: 2*len(kept) - 1}
		var rebuilt []*kernels.Frame
		for rep := 0; rep < h.reps; rep++ {
			// Blend is fast: repeat the pass until it has run long enough
			// to time; mc is slow enough in one.
			var wall, cpu float64
			frames := 0
			for pass := 0; pass == 0 || (r.Timed && wall < frcMinTime.Seconds()); pass++ {
				out, w, c, err := kilnRebuild(kept, method)
				if err != nil {
					return err
				}
				rebuilt, wall, cpu, frames = out, wall+w, cpu+c, frames+r.Frames
			}
			fps := float64(frames) / wall
			r.AllFPS = append(r.AllFPS, round3(fps))
			if fps > r.FPS {
				r.FPS, r.CPUUse = fps, cpu/wall
			}
			if method == kernels.MethodDup {
				break
			}
		}
		outcomes = append(outcomes, outcome{r, rebuilt})
	}
	for _, mode := range []string{"mci", "blend"} {
		filter := "minterpolate=fps=50:mi_mode=" + mode
		r := FRCResult{Size: s.size, Method: map[string]string{"mci": "mc", "blend": "blend"}[mode], Tool: "ffmpeg", Timed: true, Call: filter}
		// The pictures it made, for scoring: one untimed pass.
		out := filepath.Join(dir, fmt.Sprintf("ffmpeg-%s.yuv", mode))
		if _, err := h.exec(ctx, "frc ffmpeg", append(append([]string{"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"},
			rawInput(s.f, "25", keptPath)...), "-vf", filter, "-f", "rawvideo", out)...); err != nil {
			return err
		}
		all, err := readRaw(out, s.f)
		if err != nil {
			return err
		}
		// Its even outputs must be the kept pictures, or the odd ones
		// are not the dropped ones.
		for k := 0; k < len(all); k += 2 {
			if lumaPSNR(all[k], kept[k/2]) < 50 {
				return fmt.Errorf("%s output %d is not kept picture %d: misaligned", filter, k, k/2)
			}
		}
		var rebuilt []*kernels.Frame
		for k := 1; k < len(all) && k/2 < len(dropped); k += 2 {
			rebuilt = append(rebuilt, all[k])
		}
		loops := 0
		if mode == "blend" {
			loops = frcBlendLoops
		}
		for rep := 0; rep < h.reps; rep++ {
			frames, wall, cpu, err := h.ffmpegRebuild(ctx, keptPath, s.f, filter, loops)
			if err != nil {
				return err
			}
			fps := float64(frames) / wall
			r.Frames = frames / (loops + 1)
			r.AllFPS = append(r.AllFPS, round3(fps))
			if fps > r.FPS {
				r.FPS, r.CPUUse = fps, cpu/wall
			}
		}
		outcomes = append(outcomes, outcome{r, rebuilt})
	}

	// Score every method on the dropped pictures all of them rebuilt:
	// minterpolate stops short of the clip's end.
	n := len(dropped)
	for _, o := range outcomes {
		n = min(n, len(o.rebuilt))
	}
	refPath := filepath.Join(dir, "dropped.yuv")
	if err := mkdirWrite(refPath, dropped[:n]); err != nil {
		return err
	}
	refIn := rawInput(s.f, "25", refPath)
	for _, o := range outcomes {
		p := filepath.Join(dir, fmt.Sprintf("rebuilt-%s-%s.yuv", o.r.Tool, o.r.Method))
		if err := mkdirWrite(p, o.rebuilt[:n]); err != nil {
			return err
		}
		q, err := h.compare(ctx, "frc quality", rawInput(s.f, "25", p), refIn, "yuv420p")
		if err != nil {
			return err
		}
		o.r.Quality, o.r.Rebuilt = q, n
		o.r.Reference = fmt.Sprintf("the %d dropped 50p originals", n)
		fps := "   (not timed)"
		if o.r.Timed {
			fps = fmt.Sprintf("%7.2f fps", o.r.FPS)
		}
		fmt.Fprintf(h.log, "  %-6s %-5s %s  PSNR-Y %.2f dB  SSIM %.4f\n", o.r.Tool, o.r.Method, fps, q.PSNRY, q.SSIMAll)
		h.res.FRC = append(h.res.FRC, o.r)
	}
	return nil
}

func frcCall(m kernels.FrameRateMethod) string {
	switch m {
	case kernels.MethodMC:
		return "per pair: EstimateMotion(a, b, prior) + Interpolate(dst, a, b, m, 0.5, MethodMC); kept pictures copied"
	case kernels.MethodBlend:
		return "per pair: Interpolate(dst, a, b, nil, 0.5, MethodBlend); kept pictures copied"
	}
	return "Interpolate(dst, a, b, nil, 0.5, MethodDup): the floor any method must beat"
}

// kilnRebuild does what the pipeline's frame_rate stage does at 25p → 50p:
// copy each kept picture and make the one between it and the next, with
// each pair's motion seeding the next pair's search.
func kilnRebuild(kept []*kernels.Frame, method kernels.FrameRateMethod) (rebuilt []*kernels.Frame, wall, cpu float64, err error) {
	b := kernels.CPU()
	f := kept[0].Format
	c0 := processCPU()
	began := time.Now()
	var prior *kernels.Motion
	for j := range kept {
		cp := kernels.NewFrame(f)
		if err := b.Crop(cp, kept[j], 0, 0); err != nil {
			return nil, 0, 0, err
		}
		if j+1 == len(kept) {
			break
		}
		var m *kernels.Motion
		if method == kernels.MethodMC {
			if m, err = b.EstimateMotion(kept[j], kept[j+1], prior); err != nil {
				return nil, 0, 0, err
			}
			prior = m
		}
		mid := kernels.NewFrame(f)
		if err := b.Interpolate(mid, kept[j], kept[j+1], m, 0.5, method); err != nil {
			return nil, 0, 0, err
		}
		rebuilt = append(rebuilt, mid)
	}
	return rebuilt, time.Since(began).Seconds(), processCPU() - c0, nil
}

// ffmpegRebuild times a rate filter over the kept pictures, looped loops
// more times. Its time is -benchmark's, less an fps=50 run over the same
// input, so reading raw frames and handing on as many pictures is not
// counted.
func (h *harness) ffmpegRebuild(ctx context.Context, kept string, f kernels.Format, filter string, loops int) (frames int, wall, cpu float64, err error) {
	timed := func(filter string) (int, float64, float64, error) {
		args := append([]string{"-stream_loop", fmt.Sprint(loops)}, rawInput(f, "25", kept)...)
		args = append(args, "-vf", filter, "-f", "null", "-")
		m, err := h.exec(ctx, "frc ffmpeg", ffmpegArgs(args...)...)
		if err != nil {
			return 0, 0, 0, err
		}
		w, c, err := ffmpegLoop(m.Stderr)
		return ffmpegFrames(m.Stderr), w, c, err
	}
	frames, wall, cpu, err = timed(filter)
	if err != nil {
		return 0, 0, 0, err
	}
	_, bWall, bCPU, err := timed("fps=50")
	if err != nil {
		return 0, 0, 0, err
	}
	return frames, wall - bWall, cpu - bCPU, nil
}

func rawInput(f kernels.Format, rate, path string) []string {
	return []string{"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmtSize(f), "-r", rate, "-i", path}
}

func mkdirWrite(path string, frames []*kernels.Frame) error {
	if err := mkdirFor(path); err != nil {
		return err
	}
	return writeRaw(path, frames)
}

// lumaPSNR compares two pictures' luma, for alignment checks only; scores
// come from ffmpeg's psnr filter.
func lumaPSNR(a, b *kernels.Frame) float64 {
	sum, n := 0.0, 0
	for y := 0; y < a.Height; y++ {
		for x := 0; x < a.Width; x++ {
			d := float64(a.At(0, x, y) - b.At(0, x, y))
			sum += d * d
			n++
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}
