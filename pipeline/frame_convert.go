package pipeline

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"kiln/kernels"
	"kiln/pipeline/internal/av"
	"kiln/pipeline/plan"
)

// kernelChroma is the kernels' name for each chroma sampling of the planar
// YCbCr formats they work on (plan.KernelLayout); libavfilter converts
// anything else to one of those first.
var kernelChroma = map[int]kernels.Chroma{420: kernels.Chroma420, 422: kernels.Chroma422, 444: kernels.Chroma444}

// kernelFormat describes a frame of pixel format pixFmt and size w×h.
func kernelFormat(pixFmt string, w, h int) (kernels.Format, bool) {
	l, ok := plan.KernelLayout(pixFmt)
	if !ok {
		return kernels.Format{}, false
	}
	return kernels.Format{Width: w, Height: h, Chroma: kernelChroma[l.Chroma], Depth: l.Depth}, true
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
		data, stride := av.FramePlane(src, i, h)
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
		data, stride := av.FramePlane(out, i, h)
		p := src.Planes[i]
		for y := 0; y < h; y++ {
			copy(data[y*stride:y*stride+row], p.Data[y*p.Stride:y*p.Stride+row])
		}
	}
	return nil
}
