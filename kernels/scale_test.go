package kernels

import (
	"testing"
)

func mustScale(t testing.TB, src *Frame, dst Format, p ScaleParams) *Frame {
	t.Helper()
	s, err := NewScaler(src.Format, dst, p)
	if err != nil {
		t.Fatal(err)
	}
	out := NewFrame(dst)
	if err := CPU().Scale(out, src, s); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScaleKeepsConstantPlanes(t *testing.T) {
	cases := []struct{ src, dst Format }{
		{Format{320, 180, Chroma420, 8}, Format{128, 96, Chroma420, 8}},
		{Format{128, 96, Chroma420, 8}, Format{333, 201, Chroma420, 8}},
		{Format{300, 100, Chroma422, 10}, Format{77, 251, Chroma422, 10}},
		{Format{300, 100, Chroma422, 10}, Format{160, 90, Chroma420, 8}},
		{Format{64, 64, Chroma444, 8}, Format{96, 40, Chroma420, 10}},
		{Format{97, 33, Chroma420, 8}, Format{5, 3, Chroma420, 8}},
	}
	for _, c := range cases {
		for _, p := range []ScaleParams{{Lanczos3, SitingLeft}, {Bicubic, SitingCenter}} {
			src := NewFrame(c.src)
			vals := [3]int{100, 60, 200}
			for i := range vals {
				src.Fill(i, vals[i]<<uint(c.src.Depth-8))
			}
			out := mustScale(t, src, c.dst, p)
			for i := range vals {
				want := vals[i] << uint(c.dst.Depth-8)
				pl := &out.Planes[i]
				for y := 0; y < pl.Height; y++ {
					for x := 0; x < pl.Width; x++ {
						if v := out.At(i, x, y); v != want {
							t.Fatalf("%v -> %v %v: plane %d (%d,%d) = %d, want %d", c.src, c.dst, p.Filter, i, x, y, v, want)
						}
					}
				}
			}
		}
	}
}

// Same size, same depth: every tap but the centre one is zero, so the
// picture must come through untouched, edges included.
func TestScaleIdentityIsExact(t *testing.T) {
	f := Format{176, 144, Chroma420, 8}
	src := lavfi(t, "testsrc2=size=176x144:rate=1", 1, f)[0]
	for _, p := range []ScaleParams{{Lanczos3, SitingLeft}, {Bicubic, SitingCenter}} {
		out := mustScale(t, src, f, p)
		for i := 0; i < 3; i++ {
			if ps := planePSNR(src, out, i); ps < 1000 {
				pl := &src.Planes[i]
				t.Fatalf("%v plane %d changed: PSNR %.2f dB (%dx%d)", p.Filter, i, ps, pl.Width, pl.Height)
			}
		}
	}
}

// A linear ramp must come out as the same ramp sampled at the mapped
// positions, within one code, away from the edges (where the filter sees the
// repeated edge sample instead of the ramp's continuation).
func TestScaleRampStaysRamp(t *testing.T) {
	const sw, h = 640, 16
	ramp := func(x float64) float64 { return 16 + 200*x/float64(sw-1) }
	for _, dw := range []int{250, 1111} {
		for _, filt := range []ScaleFilter{Lanczos3, Bicubic} {
			src := NewFrame(Format{sw, h, Chroma444, 8})
			for y := 0; y < h; y++ {
				for x := 0; x < sw; x++ {
					src.Set(0, x, y, int(ramp(float64(x))+0.5))
				}
			}
			src.Fill(1, 128)
			src.Fill(2, 128)
			out := mustScale(t, src, Format{dw, h, Chroma444, 8}, ScaleParams{Filter: filt})
			r := float64(sw) / float64(dw)
			margin := int(4*max(r, 1)/r) + 2
			for x := margin; x < dw-margin; x++ {
				want := ramp((float64(x)+0.5)*r - 0.5)
				if got := out.At(0, x, h/2); float64(got) < want-1 || float64(got) > want+1 {
					t.Fatalf("%v %d->%d: x=%d got %d, ramp %.2f", filt, sw, dw, x, got, want)
				}
			}
		}
	}
}

// 10-bit to 8-bit dithers: a flat 10-bit level between two 8-bit codes must
// keep its mean, with the 8x8 pattern giving the right share of each code.
func TestScaleDitherKeepsMean(t *testing.T) {
	src := NewFrame(Format{64, 64, Chroma420, 10})
	src.Fill(0, 401) // 100.25 in 8-bit codes
	src.Fill(1, 514) // 128.5
	src.Fill(2, 512)
	out := mustScale(t, src, Format{64, 64, Chroma420, 8}, ScaleParams{})
	for i, want := range []float64{100.25, 128.5, 128} {
		pl := &out.Planes[i]
		sum := 0
		for y := 0; y < pl.Height; y++ {
			for x := 0; x < pl.Width; x++ {
				sum += out.At(i, x, y)
			}
		}
		if mean := float64(sum) / float64(pl.Width*pl.Height); mean != want {
			t.Errorf("plane %d: mean %.4f, want %.4f", i, mean, want)
		}
	}
}

// Kiln's Lanczos against swscale's (accurate rounding) on detailed pictures.
func TestScaleMatchesSwscale(t *testing.T) {
	hd := Format{1920, 1080, Chroma420, 8}
	sd := Format{720, 576, Chroma420, 8}
	cases := []struct {
		name     string
		src, dst Format
		graph    string
	}{
		{"1080->576", hd, sd, "testsrc2=size=1920x1080:rate=1"},
		{"576->1080", sd, hd, "testsrc2=size=720x576:rate=1"},
		{"1080->576 mandelbrot", hd, sd, "mandelbrot=size=1920x1080:rate=1"},
	}
	for _, c := range cases {
		src := lavfi(t, c.graph, 1, c.src)[0]
		ref := ffFilter(t, []*Frame{src}, "1",
			"scale="+itoa(c.dst.Width)+":"+itoa(c.dst.Height)+":flags=lanczos+accurate_rnd+full_chroma_int", c.dst)[0]
		got := mustScale(t, src, c.dst, ScaleParams{Filter: Lanczos3, Siting: SitingCenter})
		var ps [3]float64
		for i := range ps {
			ps[i] = planePSNR(got, ref, i)
		}
		t.Logf("%s: PSNR vs swscale lanczos Y %.2f dB, Cb %.2f dB, Cr %.2f dB", c.name, ps[0], ps[1], ps[2])
		for i, p := range ps {
			if p < 45 {
				t.Errorf("%s: plane %d PSNR %.2f dB < 45 dB", c.name, i, p)
			}
		}
	}
}
