package kernels

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// CenterOffset returns the offset that centres an inner picture in an outer
// one, rounded down to the chroma grid so chroma stays aligned with luma.
// It is the Pad offset for letterbox/pillarbox, and the Crop offset for a
// centre crop (with the roles of the sizes swapped).
func CenterOffset(outerW, outerH, innerW, innerH int, c Chroma) (x, y int) {
	sx, sy := c.Sub()
	return (outerW - innerW) / 2 / sx * sx, (outerH - innerH) / 2 / sy * sy
}

// checkPlacement validates a placement offset against the chroma grid.
func checkPlacement(op string, f Format, x, y int) error {
	sx, sy := f.Chroma.Sub()
	if x%sx != 0 || y%sy != 0 {
		return fmt.Errorf("kernels: %s offset (%d,%d) is off the %v chroma grid", op, x, y, f.Chroma)
	}
	return nil
}

// Overlay is a logo converted once, in Go, to the output's Y'CbCr: one value
// plane and one 12-bit alpha plane per image plane, at that plane's
// resolution. Chroma is alpha-weighted when subsampled, so transparent
// pixels do not tint the edge of the logo.
type Overlay struct {
	Width, Height int
	Chroma        Chroma
	Depth         int
	value, alpha  [3][]uint16
	pw, ph        [3]int
}

// NewOverlay converts a logo (any image, usually a decoded PNG with alpha)
// for frames of chroma c and depth, with the frames' matrix m.
func NewOverlay(img image.Image, m Matrix, c Chroma, depth int) (*Overlay, error) {
	if _, _, err := m.coefficients(); err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("kernels: empty overlay image")
	}
	o := &Overlay{Width: w, Height: h, Chroma: c, Depth: depth}
	// Full-resolution Y'CbCr and alpha first.
	ys, cbs, crs, as := make([]float64, w*h), make([]float64, w*h), make([]float64, w*h), make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			Y, Cb, Cr := m.FromRGB(p.R, p.G, p.B, depth)
			i := y*w + x
			ys[i], cbs[i], crs[i], as[i] = float64(Y), float64(Cb), float64(Cr), float64(p.A)/255
		}
	}
	sx, sy := c.Sub()
	f := Format{Width: w, Height: h, Chroma: c, Depth: depth}
	for pl := 0; pl < 3; pl++ {
		pw, ph := f.PlaneSize(pl)
		bx, by := 1, 1
		if pl > 0 {
			bx, by = sx, sy
		}
		o.pw[pl], o.ph[pl] = pw, ph
		o.value[pl], o.alpha[pl] = make([]uint16, pw*ph), make([]uint16, pw*ph)
		src := [3][]float64{ys, cbs, crs}[pl]
		for y := 0; y < ph; y++ {
			for x := 0; x < pw; x++ {
				sum, asum, n := 0.0, 0.0, 0
				for dy := 0; dy < by; dy++ {
					for dx := 0; dx < bx; dx++ {
						X, Y := x*bx+dx, y*by+dy
						if X < w && Y < h {
							a := as[Y*w+X]
							sum += a * src[Y*w+X]
							asum += a
							n++
						}
					}
				}
				v := float64(f.Black(pl))
				if asum > 0 {
					v = sum / asum
				}
				o.value[pl][y*pw+x] = uint16(math.Round(v))
				o.alpha[pl][y*pw+x] = uint16(math.Round(asum / float64(n) * 4096))
			}
		}
	}
	return o, nil
}
