package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
	"kiln/packaging"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
)

// abrVideo takes the decoded pictures of an ABR job and fans them out:
//
//	decoded frame ─(libavfilter prep, when needed)─> kernel frame
//	─> shared chain (deinterlace, frame rate: once, at the source raster)
//	─> tee ─┬─ scale to rung 1 ─> rung 1 goroutine: x264 ─> its renditionWriter
//	        ├─ scale to rung 2 ─> …
//	        └─ thumbnail tiles and the poster (pure Go JPEG later)
//
// All kernel calls stay on the decoding goroutine, as a GPU backend wants;
// each rung gets host frames over a small bounded channel and encodes on its
// own goroutine, so that the rungs' encoders run in parallel.
type abrVideo struct {
	ctx  context.Context
	vp   *videoPath // prep, upload and download, shared with the file and broadcast paths
	b    kernels.Backend
	plan *plan.ABRPlan
	path *streamPath

	chain    *videoChain
	inFormat kernels.Format
	shared   kernels.Format
	rungs    []*rungBranch
	k        int64 // shared pictures so far
	closed   sync.Once

	// Thumbnails and the poster.
	tile        *kernels.Scaler
	tileFormat  kernels.Format
	toBT601     *kernels.MatrixConverter // nil for SD sources
	nextThumb   float64
	stills      []packaging.Still
	poster      *image.YCbCr
	posterTaken bool
	// lastTop is the top rung's latest picture: the poster when the video
	// ends before the poster's time (a source shorter than it claims).
	lastTop *kernels.Frame
}

// rungBranch is one rung: its scaler on the decoding side, and the goroutine
// that encodes and writes its packets.
type rungBranch struct {
	rung   plan.ABRRung
	format kernels.Format
	scaler *kernels.Scaler // nil when the rung keeps the shared raster
	frames chan rungFrame
	enc    *encoder
	// encName is the encoder that runs: libx264, or h264_nvenc when the
	// rung holds one of the job's NVENC sessions.
	encName string
	writer  *renditionWriter
	count   atomic.Int64
}

// rungFrame is one picture for a rung's encoder: index k is shown at k/rate.
// It is a host frame, or, for a rung whose NVENC takes GPU frames, a frame
// of its pool (hw) that the rung's goroutine frees once encoded.
type rungFrame struct {
	host  *kernels.Frame
	hw    *astiav.Frame
	index int64
}

func newABRVideo(ctx context.Context, b kernels.Backend, ap *plan.ABRPlan, path *streamPath, rot int) (*abrVideo, error) {
	a := &abrVideo{ctx: ctx, b: b, plan: ap, path: path,
		vp: &videoPath{plan: plan.VideoPlan{Rotate: rot, ScaleFilter: ap.Rungs[0].Video.ScaleFilter, InPixFmt: ap.InPixFmt}, backend: b}}
	shared, ok := kernelFormat(plan.SharedPixFmt, ap.Width, ap.Height)
	if !ok {
		return nil, fmt.Errorf("the shared raster %dx%d is not one the kernels take", ap.Width, ap.Height)
	}
	a.shared = shared
	params := kernels.ScaleParams{Filter: scaleFilter(ap.Rungs[0].Video.ScaleFilter), Siting: kernels.SitingLeft}
	for _, r := range ap.Rungs {
		f, _ := kernelFormat("yuv420p", r.Width, r.Height)
		br := &rungBranch{rung: r, format: f, frames: make(chan rungFrame, 2)}
		if f != shared {
			sc, err := kernels.NewScaler(shared, f, params)
			if err != nil {
				return nil, fmt.Errorf("rung %s: %w", r.Name, err)
			}
			br.scaler = sc
		}
		a.rungs = append(a.rungs, br)
	}
	if ap.ThumbEvery > 0 {
		a.tileFormat, _ = kernelFormat("yuv420p", ap.ThumbWidth, ap.ThumbHeight)
		sc, err := kernels.NewScaler(shared, a.tileFormat, params)
		if err != nil {
			return nil, fmt.Errorf("thumbnails: %w", err)
		}
		a.tile = sc
	}
	if ap.HD {
		// JPEG decoders read YCbCr with BT.601's matrix.
		mc, err := kernels.NewMatrixConverter(kernels.BT709, kernels.BT601)
		if err != nil {
			return nil, err
		}
		a.toBT601 = mc
	}
	return a, nil
}

// process is the video path's sink: one decoded picture, or nil at the end.
func (a *abrVideo) process(f *astiav.Frame) error {
	p := a.path
	if f == nil {
		if a.vp.prep != nil {
			if err := a.vp.prep.end(p.nextPts); err != nil {
				return err
			}
			if err := a.vp.prep.pull(a.vp.prepFrame, func(g *astiav.Frame) error { return a.feed(g, a.vp.prep.timeBase()) }); err != nil {
				return err
			}
		}
		if a.chain != nil {
			if err := a.chain.end(p.demuxedEnd(), a.tee); err != nil {
				return err
			}
		}
		a.closeRungs()
		if a.poster == nil && a.lastTop != nil {
			img, err := a.vp.upload(a.lastTop)
			if err != nil {
				return err
			}
			a.poster, err = a.still(img, a.rungs[0].format)
			if kernels.Image(a.lastTop) != img {
				a.b.Release(img)
			}
			if err != nil {
				return fmt.Errorf("poster: %w", err)
			}
		}
		return nil
	}
	if !a.vp.prepDone {
		a.vp.prepDone = true
		if err := a.vp.setupPrep(f, p); err != nil {
			return err
		}
	}
	if a.vp.prep == nil {
		return a.feed(f, p.input.TimeBase())
	}
	if err := a.vp.prep.push(f); err != nil {
		return err
	}
	return a.vp.prep.pull(a.vp.prepFrame, func(g *astiav.Frame) error { return a.feed(g, a.vp.prep.timeBase()) })
}

// feed hands one normalised picture to the shared chain.
func (a *abrVideo) feed(f *astiav.Frame, tb astiav.Rational) error {
	format, ok := kernelFormat(f.PixelFormat().Name(), f.Width(), f.Height())
	if !ok {
		return fmt.Errorf("video preparation produced %s, which the kernels do not take", f.PixelFormat().Name())
	}
	if a.chain == nil {
		v := plan.VideoPlan{InPixFmt: a.plan.InPixFmt, Chain: a.plan.Shared, FrameRate: a.plan.Rate, ScaleFilter: a.plan.Rungs[0].Video.ScaleFilter,
			PixFmt: plan.SharedPixFmt, Width: a.plan.Width, Height: a.plan.Height}
		chain, err := newVideoChain(a.b, v, format, a.shared)
		if err != nil {
			return err
		}
		a.chain, a.inFormat = chain, format
	} else if format != a.inFormat {
		return inputErrorf(nil, "the picture format changes mid-stream, from %v to %v", a.inFormat, format)
	}
	host, err := toKernelFrame(f, format)
	if err != nil {
		return err
	}
	img, err := a.vp.upload(host)
	if err != nil {
		return err
	}
	dur := a.path.frameDur
	if dur <= 0 {
		dur = float64(a.plan.Rate.Den) / float64(a.plan.Rate.Num)
	}
	return a.chain.push(picture{img: img, t: seconds(f.Pts(), tb), dur: dur}, a.tee)
}

// tee hands one shared picture to every rung that takes it, and to the
// thumbnails.
func (a *abrVideo) tee(pic picture) error {
	k := a.k
	a.k++
	defer a.b.Release(pic.img)
	for i, r := range a.rungs {
		if k%int64(r.rung.Step) != 0 {
			continue // a half-rate rung takes every other picture
		}
		img, err := a.b.NewImage(r.format)
		if err != nil {
			return err
		}
		if r.scaler != nil {
			err = a.b.Scale(img, pic.img, r.scaler)
		} else {
			err = a.b.Crop(img, pic.img, 0, 0)
		}
		if err != nil {
			return fmt.Errorf("rung %s: %w", r.rung.Name, err)
		}
		if i == 0 && !a.posterTaken && pic.t >= a.plan.PosterAt-pic.dur/2 {
			a.posterTaken = true
			if a.poster, err = a.still(img, r.format); err != nil {
				return fmt.Errorf("poster: %w", err)
			}
		}
		frame := rungFrame{index: k / int64(r.rung.Step)}
		if r.enc.cuda != nil {
			if !a.posterTaken && i == 0 {
				// Until the poster is taken, the top rung's picture is
				// kept on the host for a source that ends before it.
				if a.lastTop, err = a.vp.download(img); err != nil {
					return err
				}
			}
			frame.hw, err = r.enc.cuda.frame(img)
			a.b.Release(img)
			if err != nil {
				return fmt.Errorf("rung %s: %w", r.rung.Name, err)
			}
		} else {
			host, err := a.vp.download(img)
			if err != nil {
				return err
			}
			if kernels.Image(host) != img {
				a.b.Release(img)
			}
			if i == 0 && !a.posterTaken {
				a.lastTop = host // read-only from here on, like the encoder's copy
			}
			frame.host = host
		}
		select {
		case r.frames <- frame:
		case <-a.ctx.Done():
			frame.free()
			return nil
		}
	}
	if a.tile != nil && pic.t >= a.nextThumb-pic.dur/2 {
		a.nextThumb += a.plan.ThumbEvery
		img, err := a.b.NewImage(a.tileFormat)
		if err != nil {
			return err
		}
		if err := a.b.Scale(img, pic.img, a.tile); err != nil {
			return fmt.Errorf("thumbnail: %w", err)
		}
		s, err := a.still(img, a.tileFormat)
		a.b.Release(img)
		if err != nil {
			return fmt.Errorf("thumbnail: %w", err)
		}
		a.stills = append(a.stills, packaging.Still{Time: pic.t, Image: s})
	}
	return nil
}

// still copies an image into a Go 4:2:0 picture for JPEG, converting HD
// colour to BT.601 first.
func (a *abrVideo) still(img kernels.Image, f kernels.Format) (*image.YCbCr, error) {
	src := img
	if a.toBT601 != nil {
		conv, err := a.b.NewImage(f)
		if err != nil {
			return nil, err
		}
		defer a.b.Release(conv)
		if err := a.b.ConvertMatrix(conv, img, a.toBT601); err != nil {
			return nil, err
		}
		src = conv
	}
	host := kernels.NewFrame(f)
	if err := a.b.Download(host, src); err != nil {
		return nil, err
	}
	out := image.NewYCbCr(image.Rect(0, 0, f.Width, f.Height), image.YCbCrSubsampleRatio420)
	planes := [][]byte{out.Y, out.Cb, out.Cr}
	strides := []int{out.YStride, out.CStride, out.CStride}
	for i := 0; i < 3; i++ {
		w, h := f.PlaneSize(i)
		p := host.Planes[i]
		for y := 0; y < h; y++ {
			copy(planes[i][y*strides[i]:y*strides[i]+w], p.Data[y*p.Stride:y*p.Stride+w])
		}
	}
	return out, nil
}

// closeRungs tells every rung goroutine that no more pictures come.
func (a *abrVideo) closeRungs() {
	a.closed.Do(func() {
		for _, r := range a.rungs {
			close(r.frames)
		}
	})
}

// run encodes a rung's pictures until its channel closes, then flushes the
// encoder and finishes the rung's outputs.
func (r *rungBranch) run(ctx context.Context) (err error) {
	defer func() {
		for f := range r.frames {
			f.free()
		}
	}()
	frame := astiav.AllocFrame()
	defer frame.Free()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	pixFmt := pixelFormat(r.rung.Video.PixFmt)
	sar := astiav.NewRational(1, 1)
	for f := range r.frames {
		if ctx.Err() != nil {
			f.free()
			return nil
		}
		out := f.hw
		if out == nil {
			if err := fromKernelFrame(frame, f.host, pixFmt); err != nil {
				return err
			}
			out = frame
		}
		out.SetPts(f.index)
		out.SetSampleAspectRatio(sar)
		out.SetPictureType(r.pictureType(f.index))
		av.SetFrameFields(out, false, false)
		err := r.encode(out, pkt)
		f.free() // the encoder holds its own reference
		if err != nil {
			return err
		}
		r.count.Add(1)
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := r.encode(nil, pkt); err != nil {
		return err
	}
	return r.writer.finish()
}

// pictureType is what the rung asks its encoder to make of picture index.
// x264 places every rung's IDRs itself, from the plan's fixed GOP with
// scene cuts off. NVENC is told as well: an I picture at every GOP start,
// which forced-idr makes an IDR, so that its segments start where every
// other rung's do whatever its own GOP logic would have done.
func (r *rungBranch) pictureType(index int64) astiav.PictureType {
	if r.encName == "h264_nvenc" && isKeyframeIndex(index, r.rung.Video.GOP) {
		return astiav.PictureTypeI
	}
	return astiav.PictureTypeNone
}

// free gives back a GPU frame that no encoder took.
func (f rungFrame) free() {
	if f.hw != nil {
		f.hw.Free()
	}
}

func (r *rungBranch) encode(f *astiav.Frame, pkt *astiav.Packet) error {
	if err := r.enc.ctx.SendFrame(f); err != nil && !errors.Is(err, astiav.ErrEof) {
		return fmt.Errorf("encoding rung %s: %w", r.rung.Name, err)
	}
	for {
		pkt.Unref()
		err := r.enc.ctx.ReceivePacket(pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("encoding rung %s: %w", r.rung.Name, err)
		}
		if err := r.writer.write(pkt); err != nil {
			return err
		}
	}
}

func (a *abrVideo) Close() {
	a.vp.Close()
	for _, r := range a.rungs {
		if r.writer != nil {
			r.writer.Close()
		}
		if r.enc != nil {
			r.enc.Close()
		}
	}
}
