package kernels

import "testing"

// shifted returns f moved by (dx, dy) whole samples, edges repeated: what a
// camera pan over a still textured scene looks like.
func shifted(f *Frame, dx, dy int) *Frame {
	out := NewFrame(f.Format)
	for i := 0; i < 3; i++ {
		sx, sy := 1, 1
		if i > 0 {
			sx, sy = f.Chroma.Sub()
		}
		pl := &out.Planes[i]
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				X := min(max(x-dx/sx, 0), pl.Width-1)
				Y := min(max(y-dy/sy, 0), pl.Height-1)
				out.Set(i, x, y, f.At(i, X, Y))
			}
		}
	}
	return out
}

// halfShifted moves luma right by 2.5 samples: the mean of shifts by 2 and 3.
func halfShifted(f *Frame) *Frame {
	a, b := shifted(f, 2, 0), shifted(f, 3, 0)
	pl := &a.Planes[0]
	for y := 0; y < pl.Height; y++ {
		for x := 0; x < pl.Width; x++ {
			a.Set(0, x, y, (a.At(0, x, y)+b.At(0, x, y)+1)/2)
		}
	}
	return a
}

// texture is a deterministic noise picture, smoothed over 3x3 so that
// sub-sample shifts are meaningful: detail everywhere, as motion tests need.
func texture(f Format, seed uint32) *Frame {
	fr := NewFrame(f)
	for i := 0; i < 3; i++ {
		pl := &fr.Planes[i]
		noise := func(x, y int) int {
			h := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77 ^ (seed+uint32(i))*0xC2B2AE3D
			h ^= h >> 15
			h *= 0x2C1B3C6D
			h ^= h >> 12
			return int(h % 200)
		}
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				s := 0
				for k := 0; k < 9; k++ {
					s += noise(x+k%3, y+k/3)
				}
				fr.Set(i, x, y, (16+s/9)<<uint(f.Depth-8))
			}
		}
	}
	return fr
}

// A textured picture moved by a known displacement must give that vector,
// forwards and negated backwards, in every block away from the edges.
func TestEstimateMotionFindsShift(t *testing.T) {
	for _, depth := range []int{8, 10} {
		f := Format{480, 320, Chroma420, depth}
		a := texture(f, 1)
		for _, c := range []struct {
			b      *Frame
			vx, vy int // quarter samples
		}{
			{shifted(a, 13, -7), 52, -28},
			{shifted(a, -41, 29), -164, 116},
			{shifted(a, 60, -4), 240, -16},
			{halfShifted(a), 10, 0},
		} {
			m, err := CPU().EstimateMotion(a, c.b, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Interior blocks: their match lies inside both pictures.
			margin := 64/MotionBlock + 1
			good, total := 0, 0
			for by := margin; by < m.Fwd.BlocksY-margin; by++ {
				for bx := margin; bx < m.Fwd.BlocksX-margin; bx++ {
					total++
					fx, fy, _ := m.Fwd.At(bx, by)
					gx, gy, _ := m.Bwd.At(bx, by)
					if fx == c.vx && fy == c.vy && gx == -c.vx && gy == -c.vy {
						good++
					}
				}
			}
			t.Logf("%d-bit shift (%d,%d)/4: %d of %d interior blocks exact both ways", depth, c.vx, c.vy, good, total)
			if good < total*98/100 {
				t.Errorf("%d-bit shift (%d,%d)/4: only %d of %d interior blocks found it", depth, c.vx, c.vy, good, total)
			}
		}
	}
}
