package pipeline

import (
	"fmt"
	"math"
	"strings"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
)

// videoPath carries decoded pictures through Kiln's kernel chain and turns
// the chain's pictures back into frames for the encoder:
//
//	decoded frame ─(libavfilter: only rotation or an unusual pixel format)─>
//	kernel frame ─upload─> stages (deinterlace, scale, matrix, fit, rate, interlace)
//	─download─> encoder frame, stamped at k / frame rate and flagged with its fields
type videoPath struct {
	plan      VideoPlan
	backend   kernels.Backend
	outPixFmt astiav.PixelFormat

	prep      *filterGraph // normalises what the kernels do not take; nil when not needed
	prepFrame *astiav.Frame
	prepDone  bool // setup ran

	chain    *videoChain
	inFormat kernels.Format
	target   kernels.Format
	out      *astiav.Frame
}

// process takes one decoded picture (nil at the end of the stream) and emits
// every encoder frame it completes.
func (v *videoPath) process(f *astiav.Frame, p *streamPath, emit func(*astiav.Frame) error) error {
	if f == nil {
		if v.prep != nil {
			if err := v.prep.end(p.nextPts); err != nil {
				return err
			}
			if err := v.prep.pull(v.prepFrame, func(g *astiav.Frame) error { return v.feed(g, v.prep.timeBase(), p, emit) }); err != nil {
				return err
			}
		}
		if v.chain == nil {
			return nil
		}
		return v.chain.end(v.emitter(emit))
	}
	if !v.prepDone {
		v.prepDone = true
		if err := v.setupPrep(f, p); err != nil {
			return err
		}
	}
	if v.prep == nil {
		return v.feed(f, p.input.TimeBase(), p, emit)
	}
	if err := v.prep.push(f); err != nil {
		return err
	}
	return v.prep.pull(v.prepFrame, func(g *astiav.Frame) error { return v.feed(g, v.prep.timeBase(), p, emit) })
}

// setupPrep builds the libavfilter step for what the kernels do not handle:
// turning a picture the display matrix says is rotated, and converting
// packed, full-range or exotic pixel formats to planar limited-range YCbCr.
func (v *videoPath) setupPrep(first *astiav.Frame, p *streamPath) error {
	var steps []string
	switch v.plan.Rotate {
	case 90:
		steps = append(steps, "transpose=clock")
	case 270:
		steps = append(steps, "transpose=cclock")
	case 180:
		steps = append(steps, "hflip,vflip")
	}
	name := first.PixelFormat().Name()
	if _, ok := kernelFormats[name]; !ok {
		to := "yuv420p"
		if strings.Contains(name, "10") || strings.Contains(name, "12") || strings.Contains(name, "16") {
			to = "yuv422p10le"
		} else if strings.Contains(name, "422") {
			to = "yuv422p"
		}
		steps = append(steps, "scale=out_range=tv:flags=lanczos+accurate_rnd+full_chroma_int,format="+to)
	}
	if len(steps) == 0 {
		return nil
	}
	g, err := newVideoGraph(strings.Join(steps, ","), first, p.input.TimeBase(), p.frameRate)
	if err != nil {
		return fmt.Errorf("video preparation: %w", err)
	}
	v.prep, v.prepFrame = g, astiav.AllocFrame()
	return nil
}

// feed hands one normalised picture to the kernel chain, building the chain
// from the first picture's format.
func (v *videoPath) feed(f *astiav.Frame, tb astiav.Rational, p *streamPath, emit func(*astiav.Frame) error) error {
	format, ok := kernelFormat(f.PixelFormat().Name(), f.Width(), f.Height())
	if !ok {
		return fmt.Errorf("video preparation produced %s, which the kernels do not take", f.PixelFormat().Name())
	}
	if v.chain == nil {
		target, ok := kernelFormat(v.plan.PixFmt, v.plan.Width, v.plan.Height)
		if !ok {
			return fmt.Errorf("output pixel format %s is not one the kernels make", v.plan.PixFmt)
		}
		chain, err := newVideoChain(v.backend, v.plan, format, target)
		if err != nil {
			return err
		}
		v.chain, v.inFormat, v.target, v.out = chain, format, target, astiav.AllocFrame()
	} else if format != v.inFormat {
		return inputErrorf(nil, "the picture format changes mid-stream, from %v to %v", v.inFormat, format)
	}
	host, err := toKernelFrame(f, format)
	if err != nil {
		return err
	}
	img, err := v.upload(host)
	if err != nil {
		return err
	}
	dur := p.frameDur
	if dur <= 0 {
		dur = float64(v.plan.FrameRate.Den) / float64(v.plan.FrameRate.Num)
	}
	return v.chain.push(picture{img: img, t: seconds(f.Pts(), tb), dur: dur}, v.emitter(emit))
}

// emitter turns the chain's pictures into encoder frames.
func (v *videoPath) emitter(emit func(*astiav.Frame) error) func(picture) error {
	rate := v.plan.FrameRate.Float()
	interlaced := v.plan.FieldOrder != "progressive" && v.plan.FieldOrder != ""
	tff := v.plan.FieldOrder == "tff"
	sar := astiav.NewRational(v.plan.SAR.Num, v.plan.SAR.Den)
	return func(pic picture) error {
		host, err := v.download(pic.img)
		if err != nil {
			return err
		}
		if err := fromKernelFrame(v.out, host, v.outPixFmt); err != nil {
			return err
		}
		v.backend.Release(pic.img)
		// The encoder's time base is one frame: picture k is at k / rate.
		v.out.SetPts(int64(math.Round(pic.t * rate)))
		v.out.SetSampleAspectRatio(sar)
		setFrameFields(v.out, interlaced, tff)
		return emit(v.out)
	}
}

func (v *videoPath) upload(host *kernels.Frame) (kernels.Image, error) {
	if v.backend.Name() == "cpu" {
		return host, nil // on the CPU a host frame is the image
	}
	img, err := v.backend.NewImage(host.Format)
	if err != nil {
		return nil, err
	}
	return img, v.backend.Upload(img, host)
}

func (v *videoPath) download(img kernels.Image) (*kernels.Frame, error) {
	if host, ok := img.(*kernels.Frame); ok && v.backend.Name() == "cpu" {
		return host, nil
	}
	host := kernels.NewFrame(img.ImageFormat())
	return host, v.backend.Download(host, img)
}

func (v *videoPath) Close() {
	if v.prep != nil {
		v.prep.Close()
	}
	if v.prepFrame != nil {
		v.prepFrame.Free()
	}
	if v.out != nil {
		v.out.Free()
	}
}
