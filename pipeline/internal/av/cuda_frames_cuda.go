//go:build cuda

package av

/*
#cgo pkg-config: libavutil libavcodec
#include <stdint.h>
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_cuda.h>

// kiln_cuda_device wraps an existing CUcontext in a libav CUDA device
// context. libav destroys only contexts it made itself, so the GPU
// backend keeps owning its own.
static int kiln_cuda_device(AVBufferRef **out, uintptr_t cuda_ctx) {
	AVBufferRef *ref = av_hwdevice_ctx_alloc(AV_HWDEVICE_TYPE_CUDA);
	if (!ref) return AVERROR(ENOMEM);
	AVCUDADeviceContext *cuda = ((AVHWDeviceContext *)ref->data)->hwctx;
	cuda->cuda_ctx = (CUcontext)cuda_ctx;
	int err = av_hwdevice_ctx_init(ref);
	if (err < 0) {
		av_buffer_unref(&ref);
		return err;
	}
	*out = ref;
	return 0;
}

// kiln_cuda_frames makes a pool of 4:2:0 8-bit frames in GPU memory. (For
// a context it did not make, libav reads the texture alignment of device 0,
// where the GPU worker runs; CUDA devices all align textures alike.)
static int kiln_cuda_frames(AVBufferRef **out, AVBufferRef *device, int w, int h) {
	AVBufferRef *ref = av_hwframe_ctx_alloc(device);
	if (!ref) return AVERROR(ENOMEM);
	AVHWFramesContext *fc = (AVHWFramesContext *)ref->data;
	fc->format = AV_PIX_FMT_CUDA;
	fc->sw_format = AV_PIX_FMT_YUV420P;
	fc->width = w;
	fc->height = h;
	int err = av_hwframe_ctx_init(ref);
	if (err < 0) {
		av_buffer_unref(&ref);
		return err;
	}
	*out = ref;
	return 0;
}

static int kiln_encoder_use_frames(AVCodecContext *c, AVBufferRef *frames) {
	c->pix_fmt = AV_PIX_FMT_CUDA;
	c->sw_pix_fmt = AV_PIX_FMT_YUV420P;
	av_buffer_unref(&c->hw_frames_ctx);
	c->hw_frames_ctx = av_buffer_ref(frames);
	return c->hw_frames_ctx ? 0 : AVERROR(ENOMEM);
}

static uint64_t kiln_frame_device_plane(AVFrame *f, int i) { return (uint64_t)(uintptr_t)f->data[i]; }
static int kiln_frame_pitch(AVFrame *f, int i) { return f->linesize[i]; }
*/
import "C"

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// CUDAFrames is a pool of frames in GPU memory (a libav CUDA frames
// context) on a CUDA context that someone else made and keeps owning: the
// GPU backend's. NVENC encodes from them, each filled by a copy on the
// device.
type CUDAFrames struct {
	device *C.AVBufferRef
	frames *C.AVBufferRef
}

// NewCUDAFrames makes a pool of w×h 4:2:0 8-bit frames on the CUDA context
// cudaContext (a CUcontext).
func NewCUDAFrames(cudaContext uintptr, w, h int) (*CUDAFrames, error) {
	c := &CUDAFrames{}
	if err := libavError(C.kiln_cuda_device(&c.device, C.uintptr_t(cudaContext))); err != nil {
		return nil, fmt.Errorf("sharing the GPU backend's CUDA context with libav: %w", err)
	}
	if err := libavError(C.kiln_cuda_frames(&c.frames, c.device, C.int(w), C.int(h))); err != nil {
		c.Close()
		return nil, fmt.Errorf("making %dx%d CUDA frames: %w", w, h, err)
	}
	return c, nil
}

// Attach makes an encoder, not yet open, take its pictures from the pool.
func (c *CUDAFrames) Attach(enc *astiav.CodecContext) error {
	if err := libavError(C.kiln_encoder_use_frames((*C.AVCodecContext)(cObject(enc)), c.frames)); err != nil {
		return fmt.Errorf("handing the encoder CUDA frames: %w", err)
	}
	return nil
}

// Frame takes a frame from the pool, and returns it with the device
// addresses and row pitches of its three planes, for the caller to fill.
// The caller frees the frame once the encoder has taken it (the encoder
// keeps its own reference).
func (c *CUDAFrames) Frame() (*astiav.Frame, [3]uint64, [3]int, error) {
	var ptrs [3]uint64
	var pitches [3]int
	f := astiav.AllocFrame()
	cf := (*C.AVFrame)(f.UnsafePointer())
	if err := libavError(C.av_hwframe_get_buffer(c.frames, cf, 0)); err != nil {
		f.Free()
		return nil, ptrs, pitches, fmt.Errorf("taking a CUDA frame for NVENC: %w", err)
	}
	for i := 0; i < 3; i++ {
		ptrs[i] = uint64(C.kiln_frame_device_plane(cf, C.int(i)))
		pitches[i] = int(C.kiln_frame_pitch(cf, C.int(i)))
	}
	return f, ptrs, pitches, nil
}

// Close frees the pool and libav's device context (not the CUDA context).
func (c *CUDAFrames) Close() {
	if c.frames != nil {
		C.av_buffer_unref(&c.frames)
	}
	if c.device != nil {
		C.av_buffer_unref(&c.device)
	}
}

// libavError turns a libav return code into an error; nil for success.
func libavError(ret C.int) error {
	if ret < 0 {
		return astiav.Error(ret)
	}
	return nil
}
