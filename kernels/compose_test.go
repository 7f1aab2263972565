package kernels

import (
	"image"
	"image/color"
	"testing"
)

// numbered fills every plane with a sample pattern that tells positions apart.
func numbered(f Format) *Frame {
	fr := NewFrame(f)
	lo := 16 << uint(f.Depth-8)
	for i := 0; i < 3; i++ {
		pl := &fr.Planes[i]
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				fr.Set(i, x, y, lo+(x*7+y*13+i*29)%(200<<uint(f.Depth-8)))
			}
		}
	}
	return fr
}

func TestPadLetterboxAndPillarbox(t *testing.T) {
	for _, depth := range []int{8, 10} {
		for _, c := range []struct {
			src, dst [2]int
		}{{[2]int{720, 404}, [2]int{720, 576}}, {[2]int{540, 576}, [2]int{720, 576}}, {[2]int{100, 50}, [2]int{130, 90}}} {
			sf := Format{c.src[0], c.src[1], Chroma420, depth}
			df := Format{c.dst[0], c.dst[1], Chroma420, depth}
			src := numbered(sf)
			dst := NewFrame(df)
			x, y := CenterOffset(df.Width, df.Height, sf.Width, sf.Height, df.Chroma)
			if err := CPU().Pad(dst, src, x, y); err != nil {
				t.Fatal(err)
			}
			black := [3]int{16, 128, 128}
			for i := 0; i < 3; i++ {
				ox, oy := x, y
				if i > 0 {
					ox, oy = x/2, y/2
				}
				sp, dp := &src.Planes[i], &dst.Planes[i]
				for yy := 0; yy < dp.Height; yy++ {
					for xx := 0; xx < dp.Width; xx++ {
						want := black[i] << uint(depth-8)
						if sx, sy := xx-ox, yy-oy; sx >= 0 && sx < sp.Width && sy >= 0 && sy < sp.Height {
							want = src.At(i, sx, sy)
						}
						if got := dst.At(i, xx, yy); got != want {
							t.Fatalf("%d-bit pad %v into %v: plane %d (%d,%d) = %d, want %d", depth, sf, df, i, xx, yy, got, want)
						}
					}
				}
			}
		}
	}
}

func TestCropCentre(t *testing.T) {
	sf := Format{1920, 1080, Chroma422, 10}
	src := numbered(sf)
	df := Format{1440, 1080, Chroma422, 10}
	dst := NewFrame(df)
	x, y := CenterOffset(sf.Width, sf.Height, df.Width, df.Height, sf.Chroma)
	if x != 240 || y != 0 {
		t.Fatalf("centre crop offset (%d,%d), want (240,0)", x, y)
	}
	if err := CPU().Crop(dst, src, x, y); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ox := x
		if i > 0 {
			ox = x / 2
		}
		dp := &dst.Planes[i]
		for yy := 0; yy < dp.Height; yy++ {
			for xx := 0; xx < dp.Width; xx++ {
				if got, want := dst.At(i, xx, yy), src.At(i, xx+ox, yy); got != want {
					t.Fatalf("plane %d (%d,%d) = %d, want %d", i, xx, yy, got, want)
				}
			}
		}
	}
	if err := CPU().Crop(dst, src, 1, 0); err == nil {
		t.Error("an odd crop offset on 4:2:2 must be refused")
	}
}

// A 4x4 logo: left half opaque white, right half half-transparent red, on
// a mid-grey 8-bit 4:2:0 frame. Every output sample is worked out by hand.
func TestOverlayExactValues(t *testing.T) {
	logo := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			if x < 2 {
				logo.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			} else {
				logo.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 128})
			}
		}
	}
	o, err := NewOverlay(logo, BT601, Chroma420, 8)
	if err != nil {
		t.Fatal(err)
	}
	// BT.601 red: Y 81, Cb 90, Cr 240. Alpha 128/255 -> 2056/4096.
	for _, c := range []struct {
		opacity             float64
		white, red, cb, crR int
	}{
		// opaque white: 235. red: (100*(4096-2056) + 81*2056 + 2048)>>12 = 90.
		// Cb under red: (128*2040 + 90*2056 + 2048)>>12 = 109; Cr: 184.
		{1, 235, 90, 109, 184},
		// half opacity: a = (4096*2048+2048)>>12 = 2048 -> white (100+235)/2 = 168 (rounded up);
		// red a = (2056*2048+2048)>>12 = 1028: (100*3068+81*1028+2048)>>12 = 95.
		{0.5, 168, 95, 118, 156},
		{0, 100, 100, 128, 128},
	} {
		f := NewFrame(Format{8, 8, Chroma420, 8})
		f.Fill(0, 100)
		f.Fill(1, 128)
		f.Fill(2, 128)
		if err := CPU().Overlay(f, o, 2, 2, c.opacity); err != nil {
			t.Fatal(err)
		}
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				want := 100
				if y >= 2 && y < 6 && x >= 2 && x < 4 {
					want = c.white
				} else if y >= 2 && y < 6 && x >= 4 && x < 6 {
					want = c.red
				}
				if got := f.At(0, x, y); got != want {
					t.Errorf("opacity %v: Y(%d,%d) = %d, want %d", c.opacity, x, y, got, want)
				}
			}
		}
		// Chroma: (1,1..2) under white stays 128; (2,1..2) under red.
		for y := 0; y < 4; y++ {
			for x := 0; x < 4; x++ {
				wantCb, wantCr := 128, 128
				if x == 2 && (y == 1 || y == 2) {
					wantCb, wantCr = c.cb, c.crR
				}
				if got := f.At(1, x, y); got != wantCb {
					t.Errorf("opacity %v: Cb(%d,%d) = %d, want %d", c.opacity, x, y, got, wantCb)
				}
				if got := f.At(2, x, y); got != wantCr {
					t.Errorf("opacity %v: Cr(%d,%d) = %d, want %d", c.opacity, x, y, got, wantCr)
				}
			}
		}
	}
}
