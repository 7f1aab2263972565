package paritytest

import (
	"image"
	"image/color"

	"kiln/kernels"
)

// Picture is a deterministic test picture: smoothed hash noise over
// diagonal ramps, with a stripe of extreme codes (0 and the depth's maximum)
// so that the kernels' clamps are exercised too. Different seeds give
// unrelated pictures. The GPU worker's bench uses it as its input too.
func Picture(f kernels.Format, seed uint32) *kernels.Frame {
	fr := kernels.NewFrame(f)
	top := 1<<uint(f.Depth) - 1
	for i := 0; i < 3; i++ {
		p := &fr.Planes[i]
		noise := func(x, y int) int {
			h := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77 ^ (seed*3+uint32(i))*0xC2B2AE3D
			h ^= h >> 15
			h *= 0x2C1B3C6D
			h ^= h >> 12
			return int(h % 256)
		}
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				s := 0
				for k := 0; k < 4; k++ {
					s += noise(x+k%2, y+k/2)
				}
				v := (s/4 + (x+2*y)%64) << uint(f.Depth-8) >> 1
				v += 8 << uint(f.Depth-8)
				if y%37 == 5 {
					v = top * (x & 1)
				}
				fr.Set(i, x, y, min(v, top))
			}
		}
	}
	return fr
}

// shifted is pic moved by (dx, dy) luma samples with edges repeated, and a
// little noise added so that no match is exact: a camera pan.
func shifted(pic *kernels.Frame, dx, dy int, seed uint32) *kernels.Frame {
	out := kernels.NewFrame(pic.Format)
	top := 1<<uint(pic.Depth) - 1
	for i := 0; i < 3; i++ {
		sx, sy := 1, 1
		if i > 0 {
			sx, sy = pic.Chroma.Sub()
		}
		p := &out.Planes[i]
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				X := min(max(x-dx/sx, 0), p.Width-1)
				Y := min(max(y-dy/sy, 0), p.Height-1)
				n := int((uint32(x)*0x27D4EB2D^uint32(y)*0x165667B1^seed)>>13) % 5
				out.Set(i, x, y, min(max(pic.At(i, X, Y)+n-2, 0), top))
			}
		}
	}
	return out
}

// inverted turns a picture into its negative, in place: another scene.
func inverted(pic *kernels.Frame) *kernels.Frame {
	top := 1<<uint(pic.Depth) - 1
	for i := 0; i < 3; i++ {
		p := &pic.Planes[i]
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				pic.Set(i, x, y, top-pic.At(i, x, y))
			}
		}
	}
	return pic
}

// logo is a logo with a soft alpha ramp and a fully transparent corner.
func logo(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8(x * 255 / max(w-1, 1))
			if x < w/4 && y < h/4 {
				a = 0
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 11), uint8((x + y) * 3), a})
		}
	}
	return img
}
