package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"syscall"
	"time"

	"kiln/kernels"
)

// kernelTime is how long each side of a kernel comparison is timed per
// repetition: long enough that a scheduler hiccup on a shared machine is a
// small part of it.
const kernelTime = 1500 * time.Millisecond

// kernelCase is one Kiln kernel and its libavfilter equivalent, fed the same
// raw frames.
type kernelCase struct {
	name, size string
	inFile     string
	in, out    kernels.Format
	inRate     string // the rate ffmpeg is told; bwdif and interlace care about fields
	ffFilter   string
	// prepare returns one step of Kiln's work over the input frames, which
	// makes perStep output frames.
	prepare func(in []*kernels.Frame) (step func(k int) error, call string, err error)
	perStep int
}

var (
	fSD     = kernels.Format{Width: 720, Height: 576, Chroma: kernels.Chroma420, Depth: 8}
	fHD     = kernels.Format{Width: 1920, Height: 1080, Chroma: kernels.Chroma420, Depth: 8}
	fSD704  = kernels.Format{Width: 704, Height: 576, Chroma: kernels.Chroma420, Depth: 8}
	fHD1440 = kernels.Format{Width: 1440, Height: 1080, Chroma: kernels.Chroma420, Depth: 8}
)

func kernelCases() []kernelCase {
	cpu := kernels.CPU()
	scale := func(from, to kernels.Format) func(in []*kernels.Frame) (func(int) error, string, error) {
		return func(in []*kernels.Frame) (func(int) error, string, error) {
			// Left-sited chroma, as the pipeline asks for broadcast.
			sc, err := kernels.NewScaler(from, to, kernels.ScaleParams{Filter: kernels.Lanczos3, Siting: kernels.SitingLeft})
			if err != nil {
				return nil, "", err
			}
			dst := kernels.NewFrame(to)
			return func(k int) error { return cpu.Scale(dst, in[k%len(in)], sc) },
				"CPU().Scale(dst, src, NewScaler(…, Lanczos3, SitingLeft))", nil
		}
	}
	fieldScale := func(in []*kernels.Frame) (func(int) error, string, error) {
		inF, _ := kernels.FieldFormat(fHD)
		outF, _ := kernels.FieldFormat(fSD704)
		sc, err := kernels.NewScaler(inF, outF, kernels.ScaleParams{Filter: kernels.Lanczos3, Siting: kernels.SitingLeft})
		if err != nil {
			return nil, "", err
		}
		top, bottom := kernels.NewFrame(inF), kernels.NewFrame(inF)
		sTop, sBottom, dst := kernels.NewFrame(outF), kernels.NewFrame(outF), kernels.NewFrame(fSD704)
		return func(k int) error {
			if err := cpu.SeparateFields(top, bottom, in[k%len(in)]); err != nil {
				return err
			}
			if err := cpu.Scale(sTop, top, sc); err != nil {
				return err
			}
			if err := cpu.Scale(sBottom, bottom, sc); err != nil {
				return err
			}
			return cpu.WeaveFields(dst, sTop, sBottom)
		}, "SeparateFields, Scale each field (Lanczos3), WeaveFields: the PAL job's field_scale stage", nil
	}
	matrix := func(f kernels.Format) func(in []*kernels.Frame) (func(int) error, string, error) {
		return func(in []*kernels.Frame) (func(int) error, string, error) {
			mc, err := kernels.NewMatrixConverter(kernels.BT709, kernels.BT601)
			if err != nil {
				return nil, "", err
			}
			dst := kernels.NewFrame(f)
			return func(k int) error { return cpu.ConvertMatrix(dst, in[k%len(in)], mc) }, "CPU().ConvertMatrix(dst, src, BT709→BT601)", nil
		}
	}
	pad := func(out kernels.Format, x int) func(in []*kernels.Frame) (func(int) error, string, error) {
		return func(in []*kernels.Frame) (func(int) error, string, error) {
			dst := kernels.NewFrame(out)
			return func(k int) error { return cpu.Pad(dst, in[k%len(in)], x, 0) }, fmt.Sprintf("CPU().Pad(dst, src, %d, 0)", x), nil
		}
	}
	interlace := func(f kernels.Format) func(in []*kernels.Frame) (func(int) error, string, error) {
		return func(in []*kernels.Frame) (func(int) error, string, error) {
			dst := kernels.NewFrame(f)
			n := len(in) &^ 1
			return func(k int) error {
				i := (2 * k) % n
				return cpu.Interlace(dst, in[i], in[i+1], kernels.TopFieldFirst, kernels.InterlaceLinear)
			}, "CPU().Interlace(dst, first, second, TopFieldFirst, InterlaceLinear)", nil
		}
	}
	deinterlace := func(f kernels.Format) func(in []*kernels.Frame) (func(int) error, string, error) {
		return func(in []*kernels.Frame) (func(int) error, string, error) {
			d0, d1 := kernels.NewFrame(f), kernels.NewFrame(f)
			n := len(in)
			return func(k int) error {
				prev, cur, next := in[(k+n-1)%n], in[k%n], in[(k+1)%n]
				if err := cpu.Deinterlace(d0, prev, cur, next, kernels.TopFieldFirst, false); err != nil {
					return err
				}
				return cpu.Deinterlace(d1, prev, cur, next, kernels.TopFieldFirst, true)
			}, "CPU().Deinterlace(dst, prev, cur, next, TopFieldFirst, second) for both fields", nil
		}
	}
	fieldOrder := func(f kernels.Format) func(in []*kernels.Frame) (func(int) error, string, error) {
		return func(in []*kernels.Frame) (func(int) error, string, error) {
			dst := kernels.NewFrame(f)
			return func(k int) error { return cpu.ReverseFieldOrder(dst, in[k%len(in)], kernels.BottomFieldFirst) },
				"CPU().ReverseFieldOrder(dst, src, BottomFieldFirst)", nil
		}
	}
	return []kernelCase{
		{name: "Scale 1920x1080 → 720x576, Lanczos-3", size: "SD", inFile: "hd50.yuv", in: fHD, out: fSD, inRate: "50",
			ffFilter: "scale=720:576:flags=lanczos:" + leftSited, prepare: scale(fHD, fSD), perStep: 1},
		{name: "Scale 720x576 → 1920x1080, Lanczos-3", size: "1080", inFile: "sd50.yuv", in: fSD, out: fHD, inRate: "50",
			ffFilter: "scale=1920:1080:flags=lanczos:" + leftSited, prepare: scale(fSD, fHD), perStep: 1},
		{name: "Field scale 1080i → 704x576i, Lanczos-3", size: "SD", inFile: "hd25i.yuv", in: fHD, out: fSD704, inRate: "25",
			ffFilter: "scale=704:576:flags=lanczos:" + leftSited + ":interl=1", prepare: fieldScale, perStep: 1},
		{name: "Colour matrix BT.709 → BT.601", size: "SD", inFile: "sd50.yuv", in: fSD, out: fSD, inRate: "50",
			ffFilter: "colormatrix=bt709:bt601", prepare: matrix(fSD), perStep: 1},
		{name: "Colour matrix BT.709 → BT.601", size: "1080", inFile: "hd50.yuv", in: fHD, out: fHD, inRate: "50",
			ffFilter: "colormatrix=bt709:bt601", prepare: matrix(fHD), perStep: 1},
		{name: "Pad 704 → 720 wide", size: "SD", inFile: "sd704.yuv", in: fSD704, out: fSD, inRate: "50",
			ffFilter: "pad=720:576:8:0", prepare: pad(fSD, 8), perStep: 1},
		{name: "Pad 1440 → 1920 wide", size: "1080", inFile: "hd1440.yuv", in: fHD1440, out: fHD, inRate: "50",
			ffFilter: "pad=1920:1080:240:0", prepare: pad(fHD, 240), perStep: 1},
		{name: "Interlace 50p → 25i, linear low-pass", size: "SD", inFile: "sd50.yuv", in: fSD, out: fSD, inRate: "50",
			ffFilter: "interlace=scan=tff:lowpass=linear", prepare: interlace(fSD), perStep: 1},
		{name: "Interlace 50p → 25i, linear low-pass", size: "1080", inFile: "hd50.yuv", in: fHD, out: fHD, inRate: "50",
			ffFilter: "interlace=scan=tff:lowpass=linear", prepare: interlace(fHD), perStep: 1},
		{name: "Deinterlace 25i → 50p (Kiln vs bwdif)", size: "SD", inFile: "sd25i.yuv", in: fSD, out: fSD, inRate: "25",
			ffFilter: "bwdif=mode=send_field:parity=tff:deint=all", prepare: deinterlace(fSD), perStep: 2},
		{name: "Deinterlace 25i → 50p (Kiln vs bwdif)", size: "1080", inFile: "hd25i.yuv", in: fHD, out: fHD, inRate: "25",
			ffFilter: "bwdif=mode=send_field:parity=tff:deint=all", prepare: deinterlace(fHD), perStep: 2},
		{name: "Field order BFF → TFF (one-line shift)", size: "SD", inFile: "sd25i.yuv", in: fSD, out: fSD, inRate: "25",
			ffFilter: "setfield=bff,fieldorder=tff", prepare: fieldOrder(fSD), perStep: 1},
		{name: "Field order BFF → TFF (one-line shift)", size: "1080", inFile: "hd25i.yuv", in: fHD, out: fHD, inRate: "25",
			ffFilter: "setfield=bff,fieldorder=tff", prepare: fieldOrder(fHD), perStep: 1},
	}
}

func (h *harness) kernels(ctx context.Context) error {
	fmt.Fprintf(h.log, "Kiln kernels in process on the raw frames; libavfilter through the ffmpeg CLI on the same file,\n"+
		"its time from -benchmark less a null-filter run over the same frames.\n")
	for _, c := range kernelCases() {
		if err := ctx.Err(); err != nil {
			return err
		}
		path, err := h.source(ctx, c.inFile)
		if err != nil {
			return err
		}
		frames, err := readRaw(path, c.in)
		if err != nil {
			return err
		}
		step, call, err := c.prepare(frames)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		r := KernelResult{Kernel: c.name, Size: c.size, Input: fmtName(c.in), Output: fmtName(c.out), KilnCall: call, FFmpegFilter: c.ffFilter}
		mpix := float64(c.out.Width*c.out.Height) / 1e6
		for rep := 0; rep < h.reps; rep++ {
			steps, wall, cpu, err := timeSteps(step, kernelTime)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if v := float64(steps*c.perStep) * mpix / wall; v > r.KilnMpixS {
				r.KilnMpixS, r.KilnCPUUse, r.KilnFrames = v, cpu/wall, steps*c.perStep
			}
			ff, err := h.ffmpegFilterRate(ctx, c, path, len(frames))
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if v := float64(ff.frames) * mpix / ff.wall; v > r.FFmpegMpixS {
				r.FFmpegMpixS, r.FFmpegCPUUse, r.FFmpegFrames, r.Note = v, ff.cpu/ff.wall, ff.frames, ff.note
			}
		}
		r.Ratio = r.KilnMpixS / r.FFmpegMpixS
		fmt.Fprintf(h.log, "  %-44s %-4s  kiln %8.1f Mpix/s  ffmpeg %8.1f Mpix/s  ratio %.2f\n", c.name, c.size, r.KilnMpixS, r.FFmpegMpixS, r.Ratio)
		h.res.Kernels = append(h.res.Kernels, r)
	}
	return nil
}

// timeSteps runs step until at least d has passed, after one untimed step
// that warms caches and lets lazy tables build.
func timeSteps(step func(int) error, d time.Duration) (steps int, wall, cpu float64, err error) {
	if err := step(0); err != nil {
		return 0, 0, 0, err
	}
	c0 := processCPU()
	began := time.Now()
	for time.Since(began) < d {
		if err := step(steps); err != nil {
			return 0, 0, 0, err
		}
		steps++
	}
	return steps, time.Since(began).Seconds(), processCPU() - c0, nil
}

// processCPU is this process's user + system time so far, all threads.
func processCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

type filterRun struct {
	frames    int     // output frames
	wall, cpu float64 // the filter's share: the run less the null run
	note      string
}

// ffmpegFilterRate times one libavfilter filter on a raw file's frames,
// replayed from memory by the loop filter so that the file is read once,
// for about kernelTime. A run with null in the filter's place over the same
// frames is subtracted, so the figure is the filter's own time.
func (h *harness) ffmpegFilterRate(ctx context.Context, c kernelCase, path string, inFrames int) (filterRun, error) {
	timed := func(loops int, filter string) (frames int, wall, cpu float64, err error) {
		args := []string{"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmtSize(c.in), "-r", c.inRate, "-i", path,
			"-vf", fmt.Sprintf("loop=loop=%d:size=%d:start=0,%s", loops, inFrames, filter), "-f", "null", "-"}
		m, err := h.exec(ctx, "kernels ffmpeg", ffmpegArgs(args...)...)
		if err != nil {
			return 0, 0, 0, err
		}
		wall, cpu, err = ffmpegLoop(m.Stderr)
		return ffmpegFrames(m.Stderr), wall, cpu, err
	}
	// Calibrate the loop count on a short run first.
	loops := max(2, 48/inFrames)
	_, w0, _, err := timed(loops, c.ffFilter)
	if err != nil {
		return filterRun{}, err
	}
	perLoop := w0 / float64(loops+1)
	loops = max(loops, int(math.Ceil(kernelTime.Seconds()/math.Max(perLoop, 1e-4))))
	frames, wall, cpu, err := timed(loops, c.ffFilter)
	if err != nil {
		return filterRun{}, err
	}
	_, bWall, bCPU, err := timed(loops, "null")
	if err != nil {
		return filterRun{}, err
	}
	r := filterRun{frames: frames, wall: wall - bWall, cpu: cpu - bCPU}
	if r.wall <= 0.1*wall {
		// The filter costs less than the noise of its own measurement:
		// report the whole run rather than a meaningless difference.
		r.wall, r.cpu = wall, cpu
		r.note = "the filter's time was within the noise of the null run; ffmpeg's figure is its whole run, frame handling included"
	}
	return r, nil
}

// readRaw splits a raw yuv file into frames of format f.
func readRaw(path string, f kernels.Format) ([]*kernels.Frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n := f.RawSize()
	if len(b) == 0 || len(b)%n != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of %v frames", path, len(b), f)
	}
	var out []*kernels.Frame
	for off := 0; off < len(b); off += n {
		fr := kernels.NewFrame(f)
		if err := fr.ReadRaw(b[off : off+n]); err != nil {
			return nil, err
		}
		out = append(out, fr)
	}
	return out, nil
}

func writeRaw(path string, frames []*kernels.Frame) error {
	var b []byte
	for _, fr := range frames {
		b = fr.AppendRaw(b)
	}
	return os.WriteFile(path, b, 0o644)
}

func fmtSize(f kernels.Format) string { return fmt.Sprintf("%dx%d", f.Width, f.Height) }

func fmtName(f kernels.Format) string { return fmtSize(f) + " yuv420p" }
