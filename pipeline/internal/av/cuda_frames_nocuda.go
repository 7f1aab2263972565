//go:build !cuda

package av

import (
	"errors"

	"github.com/asticode/go-astiav"
)

// ErrNoCUDAFrames is what a build without the cuda tag says: it has no
// CUDA headers, so it cannot hand libav a CUDA context. Only the GPU
// worker has images in GPU memory, so this is never the reason a job gives.
var ErrNoCUDAFrames = errors.New("built without CUDA: frames in GPU memory need the GPU worker (make cuda)")

// CUDAFrames is, in this build, never made.
type CUDAFrames struct{}

func NewCUDAFrames(uintptr, int, int) (*CUDAFrames, error) { return nil, ErrNoCUDAFrames }

func (*CUDAFrames) Attach(*astiav.CodecContext) error { return ErrNoCUDAFrames }

func (*CUDAFrames) Frame() (*astiav.Frame, [3]uint64, [3]int, error) {
	return nil, [3]uint64{}, [3]int{}, ErrNoCUDAFrames
}

func (*CUDAFrames) Close() {}
