package plan

import "strings"

// PixLayout is how a pixel format the kernels work on samples its picture:
// chroma 420, 422 or 444, at a bit depth of 8 or 10.
type PixLayout struct{ Chroma, Depth int }

// kernelPixFmts are the planar limited-range YCbCr formats Kiln's kernels
// work on. Anything else is converted to one of them by libavfilter before
// the chain (KernelPixFmt).
var kernelPixFmts = map[string]PixLayout{
	"yuv420p":     {420, 8},
	"yuv422p":     {422, 8},
	"yuv444p":     {444, 8},
	"yuv420p10le": {420, 10},
	"yuv422p10le": {422, 10},
	"yuv444p10le": {444, 10},
}

// KernelLayout is the layout of pixel format name, when the kernels take it.
func KernelLayout(name string) (PixLayout, bool) {
	l, ok := kernelPixFmts[name]
	return l, ok
}

// KernelPixFmt is the pixel format a picture of pixel format name enters
// the kernels in: name itself when they take it; else, for packed,
// full-range or semi-planar formats (uyvy422, yuvj420p, nv12, p010le, v210),
// a planar limited-range one that keeps what the source has: 10-bit 4:2:2
// for any deeper format, 8-bit 4:2:2 for 4:2:2, and 8-bit 4:2:0 for the rest.
// An unknown format ("", when the probe could not tell) is taken as the most
// common, 8-bit 4:2:0.
func KernelPixFmt(name string) string {
	if _, ok := kernelPixFmts[name]; ok {
		return name
	}
	switch {
	case strings.Contains(name, "10") || strings.Contains(name, "12") || strings.Contains(name, "16"):
		return "yuv422p10le"
	case strings.Contains(name, "422"):
		return "yuv422p"
	}
	return "yuv420p"
}
