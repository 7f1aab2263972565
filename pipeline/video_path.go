package pipeline

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
)

// videoPath carries decoded pictures through Kiln's kernel chain and turns
// the chain's pictures back into frames for the encoder:
//
//	decoded frame ─(libavfilter: only rotation or an unusual pixel format)─>
//	kernel frame ─upload─> stages (deinterlace, scale, matrix, fit, rate, interlace)
//	─download─> encoder frame, stamped at k / frame rate and flagged with its fields
//
// Three goroutines joined by small bounded queues share the work: the stream
// path decodes, the chain goroutine runs the kernels, the encoder goroutine
// encodes, so that each picture's stages overlap the neighbouring pictures'.
// The queues keep the pictures' order; only the chain goroutine touches the
// chain and the backend, and only the encoder goroutine the encoder, until
// the stream path has stopped them (stop).
type videoPath struct {
	plan      plan.VideoPlan
	backend   kernels.Backend
	outPixFmt astiav.PixelFormat

	prep      *filterGraph // normalises what the kernels do not take; nil when not needed
	prepFrame *astiav.Frame
	prepDone  bool // setup ran

	chain    *videoChain
	inFormat kernels.Format
	target   kernels.Format
	// cuda, when set, is the encoder's (NVENC's) pool of frames in GPU
	// memory: pictures are copied there on the device, not downloaded.
	cuda *cudaFrames

	queue  chan picture  // decoded pictures, host frames, for the chain goroutine
	done   chan struct{} // closed when the chain goroutine has returned
	closed bool          // queue is closed (stream path goroutine only)
	ending bool          // set before queue closes: flush the chain, the stream ended
	until  float64       // set with ending: where the source's packets end (videoChain.end)
	errMu  sync.Mutex
	failed error // the first error of the chain or the encoder goroutine
}

// queuedPictures is how many pictures may wait for the chain, and how many
// for the encoder: enough to absorb the uneven pace of frame-threaded
// decoding, few enough to keep memory small (a 1080 picture is 3 MB).
const queuedPictures = 3

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
		v.ending, v.until = true, p.demuxedEnd()
		v.stop()
		return v.chainErr()
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
	// The plan chose the format the chain takes from the probe: the
	// decoder's own, or what libavfilter makes of it. A decoder that
	// delivers another (NVDEC's nv12 or p010) is converted to it here.
	if name := first.PixelFormat().Name(); name != v.plan.InPixFmt {
		steps = append(steps, "scale=out_range=tv:flags=lanczos+accurate_rnd+full_chroma_int,format="+v.plan.InPixFmt)
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
		v.chain, v.inFormat, v.target = chain, format, target
		v.queue, v.done = make(chan picture, queuedPictures), make(chan struct{})
		go v.runChain(emit)
	} else if format != v.inFormat {
		return inputErrorf(nil, "the picture format changes mid-stream, from %v to %v", v.inFormat, format)
	}
	if err := v.chainErr(); err != nil {
		return err
	}
	host, err := v.hostFrame(format)
	if err != nil {
		return err
	}
	if err := copyToKernelFrame(host, f); err != nil {
		return err
	}
	dur := p.frameDur
	if dur <= 0 {
		dur = float64(v.plan.FrameRate.Den) / float64(v.plan.FrameRate.Num)
	}
	// The chain goroutine drains the queue until it is closed, whatever
	// happens, so this send never waits forever.
	v.queue <- picture{img: host, t: seconds(f.Pts(), tb), dur: dur}
	return nil
}

// hostFrame is a frame for a decoded picture: from the CPU backend's pool,
// where the chain's first stage gives it back once read.
func (v *videoPath) hostFrame(f kernels.Format) (*kernels.Frame, error) {
	if !kernels.ImagesAreHostFrames(v.backend) {
		return kernels.NewFrame(f), nil
	}
	img, err := v.backend.NewImage(f)
	if err != nil {
		return nil, err
	}
	host, ok := img.(*kernels.Frame)
	if !ok {
		return nil, fmt.Errorf("the CPU backend made a %T, not a host frame", img)
	}
	return host, nil
}

// runChain is the chain goroutine: it uploads each queued picture, runs the
// stages and queues the encoder frames they complete for the encoder
// goroutine, which it starts and, before it returns, waits for. At the end
// of the stream it flushes the stages. After a failure it only drains the
// queue, so that the stream path never blocks on it.
func (v *videoPath) runChain(emit func(*astiav.Frame) error) {
	defer close(v.done)
	frames, encoded := make(chan *astiav.Frame, queuedPictures), make(chan struct{})
	go v.runEncoder(frames, emit, encoded)
	defer func() {
		close(frames)
		<-encoded
	}()
	out := v.emitter(frames)
	for pic := range v.queue {
		if v.chainErr() != nil {
			continue
		}
		img, err := v.upload(pic.img.(*kernels.Frame))
		if err == nil {
			pic.img = img
			err = v.chain.push(pic, out)
		}
		v.fail(err)
	}
	if v.ending && v.chainErr() == nil {
		v.fail(v.chain.end(v.until, out))
	}
}

// runEncoder is the encoder goroutine: it hands each frame to emit (the
// encoder) and frees it; after a failure it only drains.
func (v *videoPath) runEncoder(frames <-chan *astiav.Frame, emit func(*astiav.Frame) error, done chan<- struct{}) {
	defer close(done)
	for f := range frames {
		if v.chainErr() == nil {
			v.fail(emit(f))
		}
		f.Free()
	}
}

func (v *videoPath) fail(err error) {
	if err == nil {
		return
	}
	v.errMu.Lock()
	defer v.errMu.Unlock()
	if v.failed == nil {
		v.failed = err
	}
}

func (v *videoPath) chainErr() error {
	v.errMu.Lock()
	defer v.errMu.Unlock()
	return v.failed
}

// stop closes the queue and waits for the chain goroutine; the stream path
// calls it when it stops, at the end of the stream or on a failure, before
// the encoder is flushed or freed.
func (v *videoPath) stop() {
	if v.queue == nil || v.closed {
		return
	}
	v.closed = true
	close(v.queue)
	<-v.done
}

// emitter turns the chain's pictures into encoder frames, queued on frames.
func (v *videoPath) emitter(frames chan<- *astiav.Frame) func(picture) error {
	rate := v.plan.FrameRate.Float()
	interlaced := v.plan.FieldOrder != "progressive" && v.plan.FieldOrder != ""
	tff := v.plan.FieldOrder == "tff"
	sar := astiav.NewRational(v.plan.SAR.Num, v.plan.SAR.Den)
	return func(pic picture) error {
		if v.cuda != nil {
			// emitOnDevice frees its frame once emit returns; the queue
			// takes a reference of its own, which the encoder goroutine frees.
			return v.emitOnDevice(pic, func(f *astiav.Frame) error {
				c := f.Clone()
				if c == nil {
					return fmt.Errorf("referencing a frame in GPU memory failed")
				}
				frames <- c
				return nil
			}, sar, interlaced, tff)
		}
		host, err := v.download(pic.img)
		if err != nil {
			return err
		}
		out := astiav.AllocFrame()
		if err := fromKernelFrame(out, host, v.outPixFmt); err != nil {
			out.Free()
			return err
		}
		v.backend.Release(pic.img)
		// The encoder's time base is one frame: picture k is at k / rate.
		out.SetPts(int64(math.Round(pic.t * rate)))
		out.SetSampleAspectRatio(sar)
		av.SetFrameFields(out, interlaced, tff)
		// The encoder goroutine drains frames until it is closed.
		frames <- out
		return nil
	}
}

func (v *videoPath) upload(host *kernels.Frame) (kernels.Image, error) {
	if kernels.ImagesAreHostFrames(v.backend) {
		return host, nil // on the CPU a host frame is the image
	}
	img, err := v.backend.NewImage(host.Format)
	if err != nil {
		return nil, err
	}
	return img, v.backend.Upload(img, host)
}

func (v *videoPath) download(img kernels.Image) (*kernels.Frame, error) {
	if host, ok := img.(*kernels.Frame); ok && kernels.ImagesAreHostFrames(v.backend) {
		return host, nil
	}
	host := kernels.NewFrame(img.ImageFormat())
	return host, v.backend.Download(host, img)
}

func (v *videoPath) Close() {
	v.stop()
	if v.prep != nil {
		v.prep.Close()
	}
	if v.prepFrame != nil {
		v.prepFrame.Free()
	}
}
