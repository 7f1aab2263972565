package kernels

import (
	"testing"
)

// Benchmarks report output megapixels (luma) per second on the CPU backend,
// at SD (720x576) and 1080 (1920x1080), 8-bit 4:2:0. Inputs are synthetic
// texture, so no ffmpeg is needed.

var benchSizes = []struct {
	name string
	f    Format
}{
	{"SD", Format{720, 576, Chroma420, 8}},
	{"1080", Format{1920, 1080, Chroma420, 8}},
}

func reportMpix(b *testing.B, f Format, perOp int) {
	b.ReportMetric(float64(f.Width*f.Height*perOp)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpix/s")
}

func BenchmarkScale(b *testing.B) {
	for _, c := range []struct {
		name     string
		src, dst Format
	}{
		{"1080to576", Format{1920, 1080, Chroma420, 8}, Format{720, 576, Chroma420, 8}},
		{"576to1080", Format{720, 576, Chroma420, 8}, Format{1920, 1080, Chroma420, 8}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, _ := NewScaler(c.src, c.dst, ScaleParams{Filter: Lanczos3})
			src, dst := texture(c.src, 1), NewFrame(c.dst)
			for b.Loop() {
				if err := CPU().Scale(dst, src, s); err != nil {
					b.Fatal(err)
				}
			}
			reportMpix(b, c.dst, 1)
		})
	}
}

// benchEach runs op on each size with two texture frames and a destination.
func benchEach(b *testing.B, op func(dst, x, y *Frame) error) {
	for _, c := range benchSizes {
		b.Run(c.name, func(b *testing.B) {
			x, y, dst := texture(c.f, 1), texture(c.f, 2), NewFrame(c.f)
			for b.Loop() {
				if err := op(dst, x, y); err != nil {
					b.Fatal(err)
				}
			}
			reportMpix(b, c.f, 1)
		})
	}
}

func BenchmarkConvertMatrix(b *testing.B) {
	c, _ := NewMatrixConverter(BT709, BT601)
	benchEach(b, func(d, x, _ *Frame) error { return CPU().ConvertMatrix(d, x, c) })
}

func BenchmarkPad(b *testing.B) {
	benchEach(b, func(d, x, _ *Frame) error { return CPU().Pad(d, x, 0, 0) })
}

func BenchmarkOverlay(b *testing.B) {
	// A 256x128 logo: the benchmark counts the frame's pixels, as a pipeline
	// pays for the whole frame per overlay call.
	logo := texture(Format{256, 128, Chroma444, 8}, 3)
	img := benchLogo(logo)
	o, _ := NewOverlay(img, BT709, Chroma420, 8)
	benchEach(b, func(d, _, _ *Frame) error { return CPU().Overlay(d, o, 64, 64, 0.8) })
}

func BenchmarkInterlace(b *testing.B) {
	benchEach(b, func(d, x, y *Frame) error { return CPU().Interlace(d, x, y, TopFieldFirst, InterlaceComplex) })
}

func BenchmarkReverseFieldOrder(b *testing.B) {
	benchEach(b, func(d, x, _ *Frame) error { return CPU().ReverseFieldOrder(d, x, TopFieldFirst) })
}

func BenchmarkWeaveFields(b *testing.B) {
	for _, c := range benchSizes {
		b.Run(c.name, func(b *testing.B) {
			ff, _ := FieldFormat(c.f)
			t, bo, d := texture(ff, 1), texture(ff, 2), NewFrame(c.f)
			for b.Loop() {
				if err := CPU().WeaveFields(d, t, bo); err != nil {
					b.Fatal(err)
				}
			}
			reportMpix(b, c.f, 1)
		})
	}
}

func BenchmarkDeinterlace(b *testing.B) {
	// Two unrelated textures: every sample is "moving", the slow path.
	benchEach(b, func(d, x, y *Frame) error { return CPU().Deinterlace(d, x, y, x, TopFieldFirst, true) })
}

func BenchmarkEstimateMotion(b *testing.B) {
	benchEach(b, func(_, x, _ *Frame) error {
		_, err := CPU().EstimateMotion(x, shiftedBench(x), nil)
		return err
	})
}

func BenchmarkInterpolateMC(b *testing.B) {
	for _, c := range benchSizes {
		b.Run(c.name, func(b *testing.B) {
			x := texture(c.f, 1)
			y := shifted(x, 9, -5)
			m, err := CPU().EstimateMotion(x, y, nil)
			if err != nil {
				b.Fatal(err)
			}
			d := NewFrame(c.f)
			for b.Loop() {
				if err := CPU().Interpolate(d, x, y, m, 0.5, MethodMC); err != nil {
					b.Fatal(err)
				}
			}
			reportMpix(b, c.f, 1)
		})
	}
}

func BenchmarkInterpolateBlend(b *testing.B) {
	benchEach(b, func(d, x, y *Frame) error { return CPU().Interpolate(d, x, y, nil, 0.5, MethodBlend) })
}
