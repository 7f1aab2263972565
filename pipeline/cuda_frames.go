package pipeline

import (
	"fmt"
	"math"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
)

// deviceImages is a kernel backend whose images live in a CUDA context that
// libav can share: the GPU worker's (gpu.Backend). NVENC then takes the
// kernels' output in GPU memory, copied on the device into frames of a
// CUDA frames context, instead of downloading every picture for NVENC to
// upload again. Declared here, where it is used, so that the pipeline does
// not import gpu.
type deviceImages interface {
	// ContextHandle is the backend's CUcontext; 0 when it has none.
	ContextHandle() uintptr
	// CopyToDevice copies an image's three planes to device addresses with
	// the given row pitches, and returns once the copy is done.
	CopyToDevice(ptrs [3]uint64, pitches [3]int, src kernels.Image) error
}

// deviceImagesOf is b when its images are on a real CUDA device, else nil.
func deviceImagesOf(b kernels.Backend) deviceImages {
	d, ok := b.(deviceImages)
	if !ok || d.ContextHandle() == 0 {
		return nil
	}
	return d
}

// openNVENCOnDevice opens NVENC (plan hw) on a CUDA frames context of the
// backend's own CUDA context, at the rendition's raster: its pictures are
// then copied into it on the device (cudaFrames.frame).
func openNVENCOnDevice(hw plan.VideoPlan, globalHeader bool, dev deviceImages) (*encoder, error) {
	var frames *cudaFrames
	err := withLibavErrors(func() (err error) {
		frames, err = newCUDAFrames(dev, hw.Width, hw.Height)
		return err
	})
	if err != nil {
		return nil, err
	}
	var e *encoder
	err = withLibavErrors(func() (err error) {
		e, err = openVideoEncoderWith(hw, globalHeader, frames.attach)
		return err
	})
	if err != nil {
		frames.close()
		return nil, err
	}
	e.cuda = frames
	return e, nil
}

// emitOnDevice hands the encoder one picture of the chain in GPU memory:
// copied on the device into a frame of the encoder's pool, then stamped
// and flagged as emitter stamps the host frames it downloads.
func (v *videoPath) emitOnDevice(pic picture, emit func(*astiav.Frame) error, sar astiav.Rational, interlaced, tff bool) error {
	f, err := v.cuda.frame(pic.img)
	v.backend.Release(pic.img)
	if err != nil {
		return err
	}
	defer f.Free() // the encoder holds its own reference
	f.SetPts(int64(math.Round(pic.t * v.plan.FrameRate.Float())))
	f.SetSampleAspectRatio(sar)
	av.SetFrameFields(f, interlaced, tff)
	return emit(f)
}

// cudaFrames is a CUDA frames context on the GPU backend's own context: the
// frames NVENC encodes from, each filled by a copy on the device. (A build
// without the cuda tag cannot make one: newCUDAFrames says so.)
type cudaFrames struct {
	dev  deviceImages
	pool *av.CUDAFrames
}

func newCUDAFrames(dev deviceImages, w, h int) (*cudaFrames, error) {
	pool, err := av.NewCUDAFrames(dev.ContextHandle(), w, h)
	if err != nil {
		return nil, err
	}
	return &cudaFrames{dev: dev, pool: pool}, nil
}

// attach makes an encoder, not yet open, take its pictures from the pool.
func (c *cudaFrames) attach(enc *astiav.CodecContext) error { return c.pool.Attach(enc) }

// frame takes a frame from the pool and copies the kernels' picture img
// into it on the device. The caller frees the frame once the encoder has
// taken it (the encoder keeps its own reference).
func (c *cudaFrames) frame(img kernels.Image) (*astiav.Frame, error) {
	f, ptrs, pitches, err := c.pool.Frame()
	if err != nil {
		return nil, err
	}
	if err := c.dev.CopyToDevice(ptrs, pitches, img); err != nil {
		f.Free()
		return nil, fmt.Errorf("copying a picture into a CUDA frame for NVENC: %w", err)
	}
	return f, nil
}

func (c *cudaFrames) close() { c.pool.Close() }
