package kernels

import (
	"image"
	"image/color"
	"sync"
)

// benchLogo turns a texture's luma into a grey logo with a soft alpha ramp.
func benchLogo(f *Frame) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			v := uint8(f.At(0, x, y))
			img.SetNRGBA(x, y, color.NRGBA{v, v, v, uint8(x * 255 / (f.Width - 1))})
		}
	}
	return img
}

var shiftCache sync.Map

// shiftedBench is shifted(x, 9, -5), made once per picture.
func shiftedBench(x *Frame) *Frame {
	if v, ok := shiftCache.Load(x); ok {
		return v.(*Frame)
	}
	s := shifted(x, 9, -5)
	shiftCache.Store(x, s)
	return s
}
