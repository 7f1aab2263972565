package kernels

import (
	"errors"
	"fmt"
	"image"
	"image/color"
)

// Parity cases: deterministic inputs run through a Backend, whose outputs
// two backends must reproduce bit for bit. The GPU worker runs them on the
// CPU backend and on the CUDA one (kiln-gpu-worker parity); the tests here
// keep the set honest (every Backend method and every PTX entry covered,
// the comparison able to fail). They live outside the _test files because
// the GPU worker, another package, runs them.

// ParityCase is one backend operation on fixed inputs.
type ParityCase struct {
	Name string
	// Kernels are the PTX entry points the operation launches.
	Kernels []string
	// WantErr marks a case whose inputs are invalid: every backend must
	// refuse them, in any words.
	WantErr bool
	// Run performs the operation on b and returns its outputs in host memory.
	Run func(b Backend) ([]ParityOutput, error)
}

// ParityOutput is one result of a case: a picture or a block field.
type ParityOutput struct {
	Name  string
	Frame *Frame
	Field *VectorField
}

// Mismatch is where two backends' outputs first differ, in raster order.
type Mismatch struct {
	Output string `json:"output"`
	// Plane is the picture plane (0 luma), or for a field its component
	// ("x", "y" or "cost") in Component.
	Plane     int    `json:"plane"`
	Component string `json:"component,omitempty"`
	X         int    `json:"x"`
	Y         int    `json:"y"`
	Want      int    `json:"want"`
	Got       int    `json:"got"`
	// Differing is how many samples of this output differ in all.
	Differing int `json:"differing"`
	// Detail says what differs when it is not a sample (sizes, count).
	Detail string `json:"detail,omitempty"`
}

func (m *Mismatch) String() string {
	if m.Detail != "" {
		return fmt.Sprintf("%s: %s", m.Output, m.Detail)
	}
	where := fmt.Sprintf("plane %d", m.Plane)
	if m.Component != "" {
		where = "field " + m.Component
	}
	return fmt.Sprintf("%s %s (%d,%d): want %d, got %d (%d samples differ)",
		m.Output, where, m.X, m.Y, m.Want, m.Got, m.Differing)
}

// CompareParity returns the first difference between two runs of a case,
// or nil when they are bit-exact.
func CompareParity(want, got []ParityOutput) *Mismatch {
	if len(want) != len(got) {
		return &Mismatch{Output: "outputs", Detail: fmt.Sprintf("want %d outputs, got %d", len(want), len(got))}
	}
	for k := range want {
		w, g := want[k], got[k]
		if w.Name != g.Name {
			return &Mismatch{Output: w.Name, Detail: fmt.Sprintf("output %d is %q on the other side", k, g.Name)}
		}
		var m *Mismatch
		switch {
		case w.Frame != nil && g.Frame != nil:
			m = compareFrames(w.Frame, g.Frame)
		case w.Field != nil && g.Field != nil:
			m = compareFields(w.Field, g.Field)
		default:
			m = &Mismatch{Detail: "one side has no data"}
		}
		if m != nil {
			m.Output = w.Name
			return m
		}
	}
	return nil
}

func compareFrames(w, g *Frame) *Mismatch {
	if w.Format != g.Format {
		return &Mismatch{Detail: fmt.Sprintf("format %v, got %v", w.Format, g.Format)}
	}
	var first *Mismatch
	n := 0
	for i := 0; i < 3; i++ {
		p := &w.Planes[i]
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				a, b := w.At(i, x, y), g.At(i, x, y)
				if a == b {
					continue
				}
				n++
				if first == nil {
					first = &Mismatch{Plane: i, X: x, Y: y, Want: a, Got: b}
				}
			}
		}
	}
	if first != nil {
		first.Differing = n
	}
	return first
}

func compareFields(w, g *VectorField) *Mismatch {
	if w.BlocksX != g.BlocksX || w.BlocksY != g.BlocksY {
		return &Mismatch{Detail: fmt.Sprintf("%dx%d blocks, got %dx%d", w.BlocksX, w.BlocksY, g.BlocksX, g.BlocksY)}
	}
	var first *Mismatch
	n := 0
	for c, pair := range [3][2][]int32{{w.X, g.X}, {w.Y, g.Y}, {w.Cost, g.Cost}} {
		for i := range pair[0] {
			if pair[0][i] == pair[1][i] {
				continue
			}
			n++
			if first == nil {
				first = &Mismatch{Component: [3]string{"x", "y", "cost"}[c],
					X: i % w.BlocksX, Y: i / w.BlocksX, Want: int(pair[0][i]), Got: int(pair[1][i])}
			}
		}
	}
	if first != nil {
		first.Differing = n
	}
	return first
}

// parityRun holds the images one case made on a backend, so that they are
// all released whatever happens, and the first error.
type parityRun struct {
	b    Backend
	imgs []Image
	err  error
}

func (r *parityRun) image(f Format) Image {
	if r.err != nil {
		return nil
	}
	img, err := r.b.NewImage(f)
	if err != nil {
		r.err = fmt.Errorf("NewImage %v: %w", f, err)
		return nil
	}
	r.imgs = append(r.imgs, img)
	return img
}

func (r *parityRun) upload(f *Frame) Image {
	img := r.image(f.Format)
	if r.err == nil {
		if err := r.b.Upload(img, f); err != nil {
			r.err = fmt.Errorf("Upload %v: %w", f.Format, err)
		}
	}
	return img
}

func (r *parityRun) check(err error) {
	if r.err == nil && err != nil {
		r.err = err
	}
}

// frames downloads images as named outputs.
func (r *parityRun) frames(named ...any) []ParityOutput {
	var out []ParityOutput
	for k := 0; k+1 < len(named); k += 2 {
		if r.err != nil {
			return nil
		}
		name, img := named[k].(string), named[k+1].(Image)
		f := NewFrame(img.ImageFormat())
		if err := r.b.Download(f, img); err != nil {
			r.err = fmt.Errorf("Download %s: %w", name, err)
			return nil
		}
		out = append(out, ParityOutput{Name: name, Frame: f})
	}
	return out
}

func (r *parityRun) release() {
	for _, img := range r.imgs {
		r.b.Release(img)
	}
	r.imgs = nil
}

// parityOp wraps an operation so that its images are released and its
// first error returned.
func parityOp(op func(r *parityRun) []ParityOutput) func(Backend) ([]ParityOutput, error) {
	return func(b Backend) ([]ParityOutput, error) {
		r := &parityRun{b: b}
		defer r.release()
		out := op(r)
		if r.err != nil {
			return nil, r.err
		}
		return out, nil
	}
}

// ParityPicture is a deterministic test picture: smoothed hash noise over
// diagonal ramps, with a stripe of extreme codes (0 and the depth's maximum)
// so that the kernels' clamps are exercised too. Different seeds give
// unrelated pictures.
func ParityPicture(f Format, seed uint32) *Frame {
	fr := NewFrame(f)
	max := 1<<uint(f.Depth) - 1
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
					v = max * (x & 1)
				}
				fr.Set(i, x, y, min(v, max))
			}
		}
	}
	return fr
}

// parityShift is pic moved by (dx, dy) luma samples with edges repeated, and
// a little noise added so that no match is exact: a camera pan.
func parityShift(pic *Frame, dx, dy int, seed uint32) *Frame {
	out := NewFrame(pic.Format)
	max := 1<<uint(pic.Depth) - 1
	for i := 0; i < 3; i++ {
		sx, sy := 1, 1
		if i > 0 {
			sx, sy = pic.Chroma.Sub()
		}
		p := &out.Planes[i]
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				X := min(max0(x-dx/sx), p.Width-1)
				Y := min(max0(y-dy/sy), p.Height-1)
				n := int((uint32(x)*0x27D4EB2D^uint32(y)*0x165667B1^seed)>>13) % 5
				out.Set(i, x, y, min(max0(pic.At(i, X, Y)+n-2), max))
			}
		}
	}
	return out
}

func max0(v int) int { return max(v, 0) }

// parityInvert turns a picture into its negative: another scene.
func parityInvert(pic *Frame) *Frame {
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

// parityLogo is a logo with a soft alpha ramp and a fully transparent corner.
func parityLogo(w, h int) image.Image {
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

// ParityCases returns the parity set: every Backend operation in the
// variants that take different kernel paths (depths, subsamplings, field
// orders, edges), and a few invalid calls that every backend must refuse.
// Pictures are small enough for the CPU to run the whole set in seconds,
// and their sizes are not multiples of the 32x8 block, so the grid edges
// are exercised.
func ParityCases() []ParityCase {
	var cs []ParityCase
	add := func(name string, kernels []string, op func(r *parityRun) []ParityOutput) {
		cs = append(cs, ParityCase{Name: name, Kernels: kernels, Run: parityOp(op)})
	}
	addErr := func(name string, op func(r *parityRun) error) {
		cs = append(cs, ParityCase{Name: name, WantErr: true, Run: parityOp(func(r *parityRun) []ParityOutput {
			r.check(op(r))
			return nil
		})})
	}
	f8 := Format{202, 124, Chroma420, 8}
	f10 := Format{150, 92, Chroma422, 10}
	f12 := Format{94, 60, Chroma444, 12}

	// Scaling: up, down with dither and a chroma change, and a depth change.
	scale := []string{"kiln_scale_h", "kiln_scale_v"}
	for _, c := range []struct {
		src, dst Format
		p        ScaleParams
	}{
		{f8, Format{352, 288, Chroma420, 8}, ScaleParams{Filter: Lanczos3}},
		{Format{352, 288, Chroma422, 10}, f8, ScaleParams{Filter: Bicubic, Siting: SitingCenter}},
		{Format{150, 92, Chroma444, 8}, f10, ScaleParams{Filter: Lanczos3}},
		{f12, Format{61, 37, Chroma420, 16}, ScaleParams{Filter: Bicubic}},
	} {
		add(fmt.Sprintf("Scale %v %v to %v", c.p.Filter, c.src, c.dst), scale, func(r *parityRun) []ParityOutput {
			s, err := NewScaler(c.src, c.dst, c.p)
			r.check(err)
			src, dst := r.upload(ParityPicture(c.src, 1)), r.image(c.dst)
			if r.err == nil {
				r.check(r.b.Scale(dst, src, s))
			}
			return r.frames("scaled", dst)
		})
	}

	matrix := []string{"kiln_matrix_luma", "kiln_matrix_chroma"}
	for _, c := range []struct {
		f        Format
		from, to Matrix
	}{{f8, BT709, BT601}, {f10, BT601, BT709}, {f12, BT709, BT601}} {
		add(fmt.Sprintf("ConvertMatrix %v to %v %v", c.from, c.to, c.f), matrix, func(r *parityRun) []ParityOutput {
			mc, err := NewMatrixConverter(c.from, c.to)
			r.check(err)
			src, dst := r.upload(ParityPicture(c.f, 2)), r.image(c.f)
			if r.err == nil {
				r.check(r.b.ConvertMatrix(dst, src, mc))
			}
			return r.frames("converted", dst)
		})
	}

	// Pad and crop, including placements that leave the canvas.
	place := []string{"kiln_place"}
	small8 := Format{150, 92, Chroma420, 8}
	for _, c := range []struct {
		crop     bool
		in, out  Format
		x, y     int
		describe string
	}{
		{false, small8, f8, 26, 16, "letterbox"},
		{false, small8, f8, 100, 60, "past the edge"},
		{false, small8, f8, -20, -10, "before the edge"},
		{true, f10, Format{100, 60, Chroma422, 10}, 30, 7, "inside"},
		{true, f10, Format{100, 60, Chroma422, 10}, 90, 50, "past the edge"},
	} {
		op := "Pad"
		if c.crop {
			op = "Crop"
		}
		add(fmt.Sprintf("%s %s %v into %v at (%d,%d)", op, c.describe, c.in, c.out, c.x, c.y), place,
			func(r *parityRun) []ParityOutput {
				src, dst := r.upload(ParityPicture(c.in, 3)), r.image(c.out)
				if r.err == nil && c.crop {
					r.check(r.b.Crop(dst, src, c.x, c.y))
				} else if r.err == nil {
					r.check(r.b.Pad(dst, src, c.x, c.y))
				}
				return r.frames("placed", dst)
			})
	}

	for _, c := range []struct {
		f       Format
		lw, lh  int
		x, y    int
		opacity float64
	}{
		{f8, 64, 40, 20, 10, 0.8},
		{f10, 50, 30, 120, 70, 1},
		{f12, 40, 40, -8, -6, 0.35},
		{f8, 30, 20, 2, 2, 0},
	} {
		add(fmt.Sprintf("Overlay %dx%d logo on %v at (%d,%d) opacity %v", c.lw, c.lh, c.f, c.x, c.y, c.opacity),
			[]string{"kiln_overlay"}, func(r *parityRun) []ParityOutput {
				o, err := NewOverlay(parityLogo(c.lw, c.lh), BT709, c.f.Chroma, c.f.Depth)
				r.check(err)
				dst := r.upload(ParityPicture(c.f, 4))
				if r.err == nil {
					r.check(r.b.Overlay(dst, o, c.x, c.y, c.opacity))
				}
				return r.frames("overlaid", dst)
			})
	}

	for _, f := range []Format{f8, f10} {
		add(fmt.Sprintf("SeparateFields and WeaveFields %v", f), []string{"kiln_copy_lines"}, func(r *parityRun) []ParityOutput {
			ff, err := FieldFormat(f)
			r.check(err)
			src, top, bot := r.upload(ParityPicture(f, 5)), r.image(ff), r.image(ff)
			// Weave fields of other pictures, so the result is not just src again.
			t2, b2, woven := r.upload(ParityPicture(ff, 6)), r.upload(ParityPicture(ff, 7)), r.image(f)
			if r.err == nil {
				r.check(r.b.SeparateFields(top, bot, src))
				r.check(r.b.WeaveFields(woven, t2, b2))
			}
			return r.frames("top", top, "bottom", bot, "woven", woven)
		})
	}

	for _, c := range []struct {
		f     Format
		order FieldOrder
	}{{f8, TopFieldFirst}, {f10, BottomFieldFirst}} {
		add(fmt.Sprintf("ReverseFieldOrder from %v %v", c.order, c.f), []string{"kiln_shift_lines"},
			func(r *parityRun) []ParityOutput {
				src, dst := r.upload(ParityPicture(c.f, 8)), r.image(c.f)
				if r.err == nil {
					r.check(r.b.ReverseFieldOrder(dst, src, c.order))
				}
				return r.frames("reversed", dst)
			})
	}

	for _, c := range []struct {
		f      Format
		order  FieldOrder
		filter InterlaceFilter
	}{
		{f8, TopFieldFirst, InterlaceLinear},
		{f8, BottomFieldFirst, InterlaceComplex},
		{f10, TopFieldFirst, InterlaceComplex},
		{f12, BottomFieldFirst, InterlaceNone},
	} {
		add(fmt.Sprintf("Interlace %v filter %d %v", c.order, int(c.filter), c.f), []string{"kiln_interlace"},
			func(r *parityRun) []ParityOutput {
				a, b, dst := r.upload(ParityPicture(c.f, 9)), r.upload(ParityPicture(c.f, 10)), r.image(c.f)
				if r.err == nil {
					r.check(r.b.Interlace(dst, a, b, c.order, c.filter))
				}
				return r.frames("interlaced", dst)
			})
	}

	for _, c := range []struct {
		f            Format
		order        FieldOrder
		second, ends bool
	}{
		{f8, TopFieldFirst, false, false},
		{f8, TopFieldFirst, true, false},
		{f10, BottomFieldFirst, false, true},
		{f10, BottomFieldFirst, true, true},
		{f12, TopFieldFirst, true, false},
	} {
		name := fmt.Sprintf("Deinterlace %v second=%v %v", c.order, c.second, c.f)
		if c.ends {
			name += " without neighbours"
		}
		add(name, []string{"kiln_deinterlace"}, func(r *parityRun) []ParityOutput {
			// A still background with a moving part, so both the static and
			// the moving paths of the kernel run.
			base := ParityPicture(c.f, 11)
			prev, cur, next := r.upload(parityShift(base, 0, 0, 1)), r.upload(parityShift(base, 6, 2, 2)),
				r.upload(parityShift(base, 12, 4, 3))
			dst := r.image(c.f)
			if c.ends {
				prev, next = nil, nil
			}
			if r.err == nil {
				r.check(r.b.Deinterlace(dst, prev, cur, next, c.order, c.second))
			}
			return r.frames("progressive", dst)
		})
	}

	// Motion: the pyramid and the three search kernels; 10-bit also takes
	// the 8-bit conversion, and a prior seeds the second pair's search.
	motion := []string{"kiln_half", "kiln_me_search", "kiln_me_subpel", "kiln_me_smooth"}
	for _, c := range []struct {
		f      Format
		dx, dy int
		prior  bool
	}{
		{Format{352, 288, Chroma420, 8}, 13, -7, false},
		{Format{330, 270, Chroma422, 10}, -21, 9, true},
	} {
		ks := motion
		if c.f.Depth > 8 {
			ks = append([]string{"kiln_luma8"}, motion...)
		}
		add(fmt.Sprintf("EstimateMotion by (%d,%d) %v prior=%v", c.dx, c.dy, c.f, c.prior), ks,
			func(r *parityRun) []ParityOutput {
				pa := ParityPicture(c.f, 12)
				a, b := r.upload(pa), r.upload(parityShift(pa, c.dx, c.dy, 4))
				if r.err != nil {
					return nil
				}
				m, err := r.b.EstimateMotion(a, b, nil)
				r.check(err)
				out := []ParityOutput{}
				if r.err == nil && c.prior {
					out = append(out, ParityOutput{Name: "first fwd", Field: m.Fwd}, ParityOutput{Name: "first bwd", Field: m.Bwd})
					c2 := r.upload(parityShift(pa, 2*c.dx, 2*c.dy, 5))
					if r.err == nil {
						m, err = r.b.EstimateMotion(b, c2, m)
						r.check(err)
					}
				}
				if r.err != nil {
					return nil
				}
				return append(out, ParityOutput{Name: "fwd", Field: m.Fwd}, ParityOutput{Name: "bwd", Field: m.Bwd})
			})
	}

	// Interpolation. The motion comes from the CPU backend for both sides,
	// so these cases test the interpolation kernels alone.
	for _, c := range []struct {
		f      Format
		method FrameRateMethod
		t      float64
		cut    bool
		ks     []string
	}{
		{Format{352, 288, Chroma420, 8}, MethodMC, 0.5, false, []string{"kiln_mc_select", "kiln_mc_render"}},
		{Format{330, 270, Chroma422, 10}, MethodMC, 0.3, false, []string{"kiln_luma8", "kiln_mc_select", "kiln_mc_render"}},
		{Format{352, 288, Chroma420, 8}, MethodMC, 0.6, true, []string{"kiln_copy_lines"}},
		{f10, MethodBlend, 0.25, false, []string{"kiln_blend"}},
		{f8, MethodDup, 0.7, false, []string{"kiln_copy_lines"}},
	} {
		name := fmt.Sprintf("Interpolate %v t=%v %v", c.method, c.t, c.f)
		if c.cut {
			name += " across a cut"
		}
		add(name, c.ks, func(r *parityRun) []ParityOutput {
			pa := ParityPicture(c.f, 13)
			pb := parityShift(pa, 9, -5, 6)
			if c.cut {
				pb = parityInvert(ParityPicture(c.f, 14))
			}
			var m *Motion
			if c.method == MethodMC {
				var err error
				m, err = CPU().EstimateMotion(pa, pb, nil)
				r.check(err)
				if r.err == nil && IsSceneCut(m) != c.cut {
					r.check(fmt.Errorf("parity inputs: scene cut %v, want %v", IsSceneCut(m), c.cut))
				}
			}
			a, b, dst := r.upload(pa), r.upload(pb), r.image(c.f)
			if r.err == nil {
				r.check(r.b.Interpolate(dst, a, b, m, c.t, c.method))
			}
			return r.frames("interpolated", dst)
		})
	}

	// Calls every backend must refuse.
	addErr("ConvertMatrix in place", func(r *parityRun) error {
		mc, err := NewMatrixConverter(BT709, BT601)
		if err != nil {
			return err
		}
		img := r.upload(ParityPicture(f8, 1))
		if r.err != nil {
			return r.err
		}
		return r.b.ConvertMatrix(img, img, mc)
	})
	addErr("Pad off the chroma grid", func(r *parityRun) error {
		src, dst := r.upload(ParityPicture(small8, 1)), r.image(f8)
		if r.err != nil {
			return r.err
		}
		return r.b.Pad(dst, src, 3, 2)
	})
	addErr("Scale with a source of the wrong format", func(r *parityRun) error {
		s, err := NewScaler(f8, f10, ScaleParams{})
		if err != nil {
			return err
		}
		src, dst := r.upload(ParityPicture(f10, 1)), r.image(f10)
		if r.err != nil {
			return r.err
		}
		return r.b.Scale(dst, src, s)
	})
	addErr("Interpolate at t=1", func(r *parityRun) error {
		a, b, dst := r.upload(ParityPicture(f8, 1)), r.upload(ParityPicture(f8, 2)), r.image(f8)
		if r.err != nil {
			return r.err
		}
		return r.b.Interpolate(dst, a, b, nil, 1, MethodBlend)
	})
	addErr("Overlay with opacity above 1", func(r *parityRun) error {
		o, err := NewOverlay(parityLogo(8, 8), BT709, f8.Chroma, f8.Depth)
		if err != nil {
			return err
		}
		dst := r.upload(ParityPicture(f8, 1))
		if r.err != nil {
			return r.err
		}
		return r.b.Overlay(dst, o, 0, 0, 1.5)
	})
	addErr("Deinterlace an odd-height picture", func(r *parityRun) error {
		f := Format{64, 33, Chroma444, 8}
		cur, dst := r.upload(ParityPicture(f, 1)), r.image(f)
		if r.err != nil {
			return r.err
		}
		return r.b.Deinterlace(dst, nil, cur, nil, TopFieldFirst, false)
	})
	return cs
}

// ErrParityMismatch is what RunParity's result wraps when outputs differ.
var ErrParityMismatch = errors.New("outputs differ")

// RunParity runs c on want (the reference, normally CPU()) and got, and
// returns nil when they agree: the same outputs bit for bit, or, for a
// WantErr case, both refusing. The mismatch, if any, is returned too.
func RunParity(c ParityCase, want, got Backend) (*Mismatch, error) {
	wo, werr := c.Run(want)
	goo, gerr := c.Run(got)
	switch {
	case c.WantErr && (werr == nil || gerr == nil):
		return nil, fmt.Errorf("%s: invalid call accepted (%s: %v, %s: %v)", c.Name, want.Name(), werr, got.Name(), gerr)
	case c.WantErr:
		return nil, nil
	case werr != nil:
		return nil, fmt.Errorf("%s on %s: %w", c.Name, want.Name(), werr)
	case gerr != nil:
		return nil, fmt.Errorf("%s on %s: %w", c.Name, got.Name(), gerr)
	}
	if m := CompareParity(wo, goo); m != nil {
		return m, fmt.Errorf("%s: %w: %v", c.Name, ErrParityMismatch, m)
	}
	return nil, nil
}
