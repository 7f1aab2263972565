//go:build !cuda

package pipeline

import (
	"errors"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
)

// errNoCUDAFrames is what a worker built without the cuda tag says: it has
// no CUDA headers, so it cannot hand libav a CUDA context. Only the GPU
// worker has images in GPU memory, so this is never the reason a job gives.
var errNoCUDAFrames = errors.New("built without CUDA: frames in GPU memory need the GPU worker (make cuda)")

// cudaFrames is, in this build, never made.
type cudaFrames struct{}

func newCUDAFrames(deviceImages, int, int) (*cudaFrames, error) { return nil, errNoCUDAFrames }

func (*cudaFrames) attach(*astiav.CodecContext) error { return errNoCUDAFrames }

func (*cudaFrames) frame(kernels.Image) (*astiav.Frame, error) { return nil, errNoCUDAFrames }

func (*cudaFrames) close() {}
