package pipeline

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
)

// kernelFormats maps the planar YCbCr pixel formats the kernels work on.
// Anything else is converted to one of these by libavfilter first.
var kernelFormats = map[string]struct {
	chroma kernels.Chroma
	depth  int
}{
	"yuv420p":     {kernels.Chroma420, 8},
	"yuv422p":     {kernels.Chroma422, 8},
	"yuv444p":     {kernels.Chroma444, 8},
	"yuv420p10le": {kernels.Chroma420, 10},
	"yuv422p10le": {kernels.Chroma422, 10},
	"yuv444p10le": {kernels.Chroma444, 10},
}

// kernelFormat describes a frame of pixel format pixFmt and size w×h.
func kernelFormat(pixFmt string, w, h int) (kernels.Format, bool) {
	k, ok := kernelFormats[pixFmt]
	if !ok {
		return kernels.Format{}, false
	}
	return kernels.Format{Width: w, Height: h, Chroma: k.chroma, Depth: k.depth}, true
}

// toKernelFrame copies a decoded frame's planes into a new kernel frame.
func toKernelFrame(src *astiav.Frame, f kernels.Format) (*kernels.Frame, error) {
	dst := kernels.NewFrame(f)
	return dst, copyToKernelFrame(dst, src)
}

// copyToKernelFrame copies a decoded frame's planes into dst, a kernel frame
// of the decoded picture's format.
func copyToKernelFrame(dst *kernels.Frame, src *astiav.Frame) error {
	f := dst.Format
	for i := 0; i < 3; i++ {
		w, h := f.PlaneSize(i)
		row := w * f.Bytes()
		data, stride := framePlane(src, i, h)
		if data == nil {
			return fmt.Errorf("decoded frame lacks plane %d", i)
		}
		p := dst.Planes[i]
		for y := 0; y < h; y++ {
			copy(p.Data[y*p.Stride:y*p.Stride+row], data[y*stride:y*stride+row])
		}
	}
	return nil
}

// fromKernelFrame fills out, a fresh libav frame, with a kernel frame. Each
// call allocates new buffers: the encoder may still hold the previous ones.
func fromKernelFrame(out *astiav.Frame, src *kernels.Frame, pixFmt astiav.PixelFormat) error {
	f := src.Format
	out.Unref()
	out.SetWidth(f.Width)
	out.SetHeight(f.Height)
	out.SetPixelFormat(pixFmt)
	if err := out.AllocBuffer(0); err != nil {
		return fmt.Errorf("allocating an output picture: %w", err)
	}
	for i := 0; i < 3; i++ {
		w, h := f.PlaneSize(i)
		row := w * f.Bytes()
		data, stride := framePlane(out, i, h)
		p := src.Planes[i]
		for y := 0; y < h; y++ {
			copy(data[y*stride:y*stride+row], p.Data[y*p.Stride:y*p.Stride+row])
		}
	}
	return nil
}
