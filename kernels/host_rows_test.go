package kernels

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// The CPU backend runs hot kernels through row-wise host versions (host.h);
// the GPU runs the kernels as written, thread by thread. These tests run
// every backend operation both ways on the CPU (referenceLaunches) over
// random samples of the full range, odd sizes, every chroma layout and
// depth, and demand the same bytes: a row version that drifts from its
// kernel by one sample anywhere fails here, with no GPU at hand.

// randomFrame fills every byte of every plane, row padding included, with
// noise, and then every sample with a random value of the format's range.
func randomFrame(f Format, rng *rand.Rand) *Frame {
	fr := NewFrame(f)
	top := 1<<f.Depth - 1
	for i := range fr.Planes {
		p := &fr.Planes[i]
		for k := range p.Data {
			p.Data[k] = byte(rng.Uint32())
		}
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				fr.Set(i, x, y, rng.IntN(top+1))
			}
		}
	}
	return fr
}

// garbage is a destination pre-filled with noise, so that a sample a
// version fails to write differs from the other's.
func garbage(f Format, seed uint64) *Frame {
	fr := NewFrame(f)
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range fr.Planes {
		for k := range fr.Planes[i].Data {
			fr.Planes[i].Data[k] = byte(rng.Uint32())
		}
	}
	return fr
}

// bothWays runs op with the row versions and with the kernels thread by
// thread, and fails on the first output that differs, padding included.
func bothWays(t *testing.T, name string, op func() ([]*Frame, error)) {
	t.Helper()
	fast, err := op()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	referenceLaunches.Store(true)
	ref, err := op()
	referenceLaunches.Store(false)
	if err != nil {
		t.Fatalf("%s (reference): %v", name, err)
	}
	if d := firstDifference(fast, ref); d != "" {
		t.Fatalf("%s: %s", name, d)
	}
}

// firstDifference describes the first byte where two runs' outputs differ,
// or is empty when they are the same.
func firstDifference(fast, ref []*Frame) string {
	for k := range fast {
		for i := 0; i < 3; i++ {
			a, b := fast[k].Planes[i].Data, ref[k].Planes[i].Data
			p := &fast[k].Planes[i]
			for off := range a {
				if a[off] != b[off] {
					return fmt.Sprintf("output %d plane %d differs first at (%d,%d) of %dx%d (stride %d): row version %d, kernel %d",
						k, i, off%p.Stride/fast[k].Bytes(), off/p.Stride, p.Width, p.Height, p.Stride, a[off], b[off])
				}
			}
		}
	}
	return ""
}

var rowFormats = func() []Format {
	var out []Format
	for _, c := range []Chroma{Chroma420, Chroma422, Chroma444} {
		for _, d := range []int{8, 10, 16} {
			for _, s := range [][2]int{{1, 4}, {7, 12}, {33, 20}, {66, 36}, {130, 44}} {
				out = append(out, Format{s[0], s[1], c, d})
			}
		}
	}
	return out
}()

func TestRowVersionsScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, in := range rowFormats {
		for _, size := range [][2]int{{5, 3}, {48, 30}, {in.Width*3 + 1, in.Height*2 + 2}} {
			for _, out := range []Format{
				{size[0], size[1], in.Chroma, in.Depth},
				{size[0], size[1], Chroma420, 8},
				{size[0], size[1], Chroma422, 10},
			} {
				for _, filter := range []ScaleFilter{Lanczos3, Bicubic} {
					sc, err := NewScaler(in, out, ScaleParams{Filter: filter, Siting: SitingLeft})
					if err != nil {
						t.Fatal(err)
					}
					src := randomFrame(in, rng)
					bothWays(t, fmt.Sprintf("scale %v -> %v %v", in, out, filter), func() ([]*Frame, error) {
						d := garbage(out, 1)
						return []*Frame{d}, CPU().Scale(d, src, sc)
					})
				}
			}
		}
	}
}

func TestRowVersionsMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range rowFormats {
		for _, dir := range [][2]Matrix{{BT709, BT601}, {BT601, BT709}} {
			mc, err := NewMatrixConverter(dir[0], dir[1])
			if err != nil {
				t.Fatal(err)
			}
			src := randomFrame(f, rng)
			bothWays(t, fmt.Sprintf("matrix %v %v", f, dir), func() ([]*Frame, error) {
				d := garbage(f, 2)
				return []*Frame{d}, CPU().ConvertMatrix(d, src, mc)
			})
		}
	}
}

func TestRowVersionsPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, f := range rowFormats {
		src := randomFrame(f, rng)
		for _, c := range []struct{ w, h, x, y int }{
			{f.Width + 16, f.Height + 8, 8, 4}, {f.Width + 2, f.Height, 2, 0}, {f.Width, f.Height + 12, 0, 12},
			{f.Width + 40, f.Height + 40, 40, 40}, {f.Width, f.Height, 0, 0},
			{f.Width + 4, f.Height + 4, -4, -4}, {f.Width * 2, f.Height * 2, f.Width * 4, 0},
		} {
			out := f
			out.Width, out.Height = c.w, c.h
			if checkPlacement("Pad", f, c.x, c.y) != nil {
				continue
			}
			bothWays(t, fmt.Sprintf("pad %v into %dx%d at (%d,%d)", f, c.w, c.h, c.x, c.y), func() ([]*Frame, error) {
				d := garbage(out, 3)
				return []*Frame{d}, CPU().Pad(d, src, c.x, c.y)
			})
			small := f
			small.Width, small.Height = max(1, f.Width/2), max(1, f.Height/2)
			bothWays(t, fmt.Sprintf("crop %v to %v at (%d,%d)", f, small, c.x, c.y), func() ([]*Frame, error) {
				d := garbage(small, 4)
				return []*Frame{d}, CPU().Crop(d, src, c.x, c.y)
			})
		}
	}
}

func TestRowVersionsFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, f := range rowFormats {
		ff, err := FieldFormat(f)
		if err != nil {
			continue
		}
		a, b, c := randomFrame(f, rng), randomFrame(f, rng), randomFrame(f, rng)
		top, bottom := randomFrame(ff, rng), randomFrame(ff, rng)
		bothWays(t, fmt.Sprintf("separate %v", f), func() ([]*Frame, error) {
			t, b := garbage(ff, 5), garbage(ff, 6)
			return []*Frame{t, b}, CPU().SeparateFields(t, b, a)
		})
		bothWays(t, fmt.Sprintf("weave %v", f), func() ([]*Frame, error) {
			d := garbage(f, 7)
			return []*Frame{d}, CPU().WeaveFields(d, top, bottom)
		})
		for _, order := range []FieldOrder{TopFieldFirst, BottomFieldFirst} {
			bothWays(t, fmt.Sprintf("field order %v from %v", f, order), func() ([]*Frame, error) {
				d := garbage(f, 8)
				return []*Frame{d}, CPU().ReverseFieldOrder(d, a, order)
			})
			for _, filter := range []InterlaceFilter{InterlaceLinear, InterlaceComplex, InterlaceNone} {
				bothWays(t, fmt.Sprintf("interlace %v %v %v", f, order, filter), func() ([]*Frame, error) {
					d := garbage(f, 9)
					return []*Frame{d}, CPU().Interlace(d, a, b, order, filter)
				})
			}
			for _, second := range []bool{false, true} {
				bothWays(t, fmt.Sprintf("deinterlace %v %v second=%v", f, order, second), func() ([]*Frame, error) {
					d := garbage(f, 10)
					return []*Frame{d}, CPU().Deinterlace(d, a, b, c, order, second)
				})
			}
		}
	}
}

func TestRowVersionsInterpolate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, f := range []Format{
		{7, 12, Chroma420, 8}, {66, 36, Chroma420, 8}, {130, 44, Chroma422, 10}, {97, 61, Chroma444, 16},
		{200, 120, Chroma420, 8}, {203, 117, Chroma420, 10},
	} {
		// Texture moved by a known step, and noise: coherent fields and chaotic ones.
		tex := texture(f, 3)
		pairs := [][2]*Frame{{tex, shifted(tex, 9, -5)}, {randomFrame(f, rng), randomFrame(f, rng)}}
		for n, pair := range pairs {
			a, b := pair[0], pair[1]
			var fast, ref *Motion
			bothWays(t, fmt.Sprintf("estimate motion %v pair %d", f, n), func() ([]*Frame, error) {
				m, err := CPU().EstimateMotion(a, b, nil)
				if referenceLaunches.Load() {
					ref = m
				} else {
					fast = m
				}
				return nil, err
			})
			if !reflect.DeepEqual(fast, ref) {
				t.Fatalf("estimate motion %v pair %d: the row versions' motion differs from the kernels'", f, n)
			}
			for _, phase := range []float64{0.25, 0.5, 0.9} {
				for _, method := range []FrameRateMethod{MethodBlend, MethodMC} {
					bothWays(t, fmt.Sprintf("interpolate %v pair %d at %v method %d", f, n, phase, method), func() ([]*Frame, error) {
						d := garbage(f, 11)
						return []*Frame{d}, CPU().Interpolate(d, a, b, fast, phase, method)
					})
				}
			}
		}
	}
}

// The comparison must be able to fail: one sample changed is found.
func TestRowVersionsComparisonBites(t *testing.T) {
	f := Format{33, 20, Chroma420, 10}
	a := randomFrame(f, rand.New(rand.NewPCG(11, 12)))
	b := NewFrame(f)
	for i := range b.Planes {
		copy(b.Planes[i].Data, a.Planes[i].Data)
	}
	if d := firstDifference([]*Frame{a}, []*Frame{b}); d != "" {
		t.Fatalf("equal frames reported different: %s", d)
	}
	b.Set(2, 16, 9, b.At(2, 16, 9)^1)
	if d := firstDifference([]*Frame{a}, []*Frame{b}); d == "" {
		t.Fatal("a differing sample went unnoticed")
	}
}
