package paritytest

import (
	"fmt"

	"kiln/kernels"
)

// Cases returns the parity set: every Backend operation in the variants
// that take different kernel paths (depths, subsamplings, field orders,
// edges), and a few invalid calls that every backend must refuse. Pictures
// are small enough for the CPU to run the whole set in seconds, and their
// sizes are not multiples of the 32x8 block, so the grid edges are
// exercised.
func Cases() []Case {
	var cs []Case
	add := func(name string, launches []string, steps func(s *session)) {
		cs = append(cs, Case{Name: name, Kernels: launches, Run: runner(steps)})
	}
	refused := func(name string, steps func(s *session)) {
		cs = append(cs, Case{Name: name, WantErr: true, Run: runner(steps)})
	}
	type Format = kernels.Format // for the tables below
	f8 := format(202, 124, kernels.Chroma420, 8)
	f10 := format(150, 92, kernels.Chroma422, 10)
	f12 := format(94, 60, kernels.Chroma444, 12)
	small8 := format(150, 92, kernels.Chroma420, 8)
	cif8 := format(352, 288, kernels.Chroma420, 8)
	odd10 := format(330, 270, kernels.Chroma422, 10)

	// Scaling: up, down with dither and a chroma change, and a depth change.
	scale := []string{"kiln_scale_h", "kiln_scale_v"}
	for _, c := range []struct {
		src, dst Format
		p        kernels.ScaleParams
	}{
		{f8, cif8, kernels.ScaleParams{Filter: kernels.Lanczos3}},
		{format(352, 288, kernels.Chroma422, 10), f8, kernels.ScaleParams{Filter: kernels.Bicubic, Siting: kernels.SitingCenter}},
		{format(150, 92, kernels.Chroma444, 8), f10, kernels.ScaleParams{Filter: kernels.Lanczos3}},
		{f12, format(61, 37, kernels.Chroma420, 16), kernels.ScaleParams{Filter: kernels.Bicubic}},
	} {
		add(fmt.Sprintf("Scale %v %v to %v", c.p.Filter, c.src, c.dst), scale, func(s *session) {
			sc, err := kernels.NewScaler(c.src, c.dst, c.p)
			s.check(err)
			src, dst := s.upload(Picture(c.src, 1)), s.image(c.dst)
			s.do(func() error { return s.b.Scale(dst, src, sc) })
			s.picture("scaled", dst)
		})
	}

	matrix := []string{"kiln_matrix_luma", "kiln_matrix_chroma"}
	for _, c := range []struct {
		f        Format
		from, to kernels.Matrix
	}{{f8, kernels.BT709, kernels.BT601}, {f10, kernels.BT601, kernels.BT709}, {f12, kernels.BT709, kernels.BT601}} {
		add(fmt.Sprintf("ConvertMatrix %v to %v %v", c.from, c.to, c.f), matrix, func(s *session) {
			mc, err := kernels.NewMatrixConverter(c.from, c.to)
			s.check(err)
			src, dst := s.upload(Picture(c.f, 2)), s.image(c.f)
			s.do(func() error { return s.b.ConvertMatrix(dst, src, mc) })
			s.picture("converted", dst)
		})
	}

	// Pad and crop, including placements that leave the canvas.
	place := []string{"kiln_place"}
	for _, c := range []struct {
		crop     bool
		in, out  Format
		x, y     int
		describe string
	}{
		{false, small8, f8, 26, 16, "letterbox"},
		{false, small8, f8, 100, 60, "past the edge"},
		{false, small8, f8, -20, -10, "before the edge"},
		{true, f10, format(100, 60, kernels.Chroma422, 10), 30, 7, "inside"},
		{true, f10, format(100, 60, kernels.Chroma422, 10), 90, 50, "past the edge"},
	} {
		op := "Pad"
		if c.crop {
			op = "Crop"
		}
		add(fmt.Sprintf("%s %s %v into %v at (%d,%d)", op, c.describe, c.in, c.out, c.x, c.y), place,
			func(s *session) {
				src, dst := s.upload(Picture(c.in, 3)), s.image(c.out)
				if c.crop {
					s.do(func() error { return s.b.Crop(dst, src, c.x, c.y) })
				} else {
					s.do(func() error { return s.b.Pad(dst, src, c.x, c.y) })
				}
				s.picture("placed", dst)
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
			[]string{"kiln_overlay"}, func(s *session) {
				o, err := kernels.NewOverlay(logo(c.lw, c.lh), kernels.BT709, c.f.Chroma, c.f.Depth)
				s.check(err)
				dst := s.upload(Picture(c.f, 4))
				s.do(func() error { return s.b.Overlay(dst, o, c.x, c.y, c.opacity) })
				s.picture("overlaid", dst)
			})
	}

	for _, f := range []Format{f8, f10} {
		add(fmt.Sprintf("SeparateFields and WeaveFields %v", f), []string{"kiln_copy_lines"}, func(s *session) {
			ff, err := kernels.FieldFormat(f)
			s.check(err)
			src, top, bot := s.upload(Picture(f, 5)), s.image(ff), s.image(ff)
			// Weave fields of other pictures, so the result is not just src again.
			t2, b2, woven := s.upload(Picture(ff, 6)), s.upload(Picture(ff, 7)), s.image(f)
			s.do(func() error { return s.b.SeparateFields(top, bot, src) })
			s.do(func() error { return s.b.WeaveFields(woven, t2, b2) })
			s.picture("top", top)
			s.picture("bottom", bot)
			s.picture("woven", woven)
		})
	}

	for _, c := range []struct {
		f     Format
		order kernels.FieldOrder
	}{{f8, kernels.TopFieldFirst}, {f10, kernels.BottomFieldFirst}} {
		add(fmt.Sprintf("ReverseFieldOrder from %v %v", c.order, c.f), []string{"kiln_shift_lines"},
			func(s *session) {
				src, dst := s.upload(Picture(c.f, 8)), s.image(c.f)
				s.do(func() error { return s.b.ReverseFieldOrder(dst, src, c.order) })
				s.picture("reversed", dst)
			})
	}

	for _, c := range []struct {
		f      Format
		order  kernels.FieldOrder
		filter kernels.InterlaceFilter
	}{
		{f8, kernels.TopFieldFirst, kernels.InterlaceLinear},
		{f8, kernels.BottomFieldFirst, kernels.InterlaceComplex},
		{f10, kernels.TopFieldFirst, kernels.InterlaceComplex},
		{f12, kernels.BottomFieldFirst, kernels.InterlaceNone},
	} {
		add(fmt.Sprintf("Interlace %v filter %d %v", c.order, int(c.filter), c.f), []string{"kiln_interlace"},
			func(s *session) {
				a, b, dst := s.upload(Picture(c.f, 9)), s.upload(Picture(c.f, 10)), s.image(c.f)
				s.do(func() error { return s.b.Interlace(dst, a, b, c.order, c.filter) })
				s.picture("interlaced", dst)
			})
	}

	for _, c := range []struct {
		f            Format
		order        kernels.FieldOrder
		second, ends bool
	}{
		{f8, kernels.TopFieldFirst, false, false},
		{f8, kernels.TopFieldFirst, true, false},
		{f10, kernels.BottomFieldFirst, false, true},
		{f10, kernels.BottomFieldFirst, true, true},
		{f12, kernels.TopFieldFirst, true, false},
	} {
		name := fmt.Sprintf("Deinterlace %v second=%v %v", c.order, c.second, c.f)
		if c.ends {
			name += " without neighbours"
		}
		add(name, []string{"kiln_deinterlace"}, func(s *session) {
			// A still background with a moving part, so both the static and
			// the moving paths of the kernel run.
			base := Picture(c.f, 11)
			prev, cur, next := s.upload(shifted(base, 0, 0, 1)), s.upload(shifted(base, 6, 2, 2)),
				s.upload(shifted(base, 12, 4, 3))
			dst := s.image(c.f)
			if c.ends {
				prev, next = nil, nil
			}
			s.do(func() error { return s.b.Deinterlace(dst, prev, cur, next, c.order, c.second) })
			s.picture("progressive", dst)
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
		{cif8, 13, -7, false},
		{odd10, -21, 9, true},
	} {
		ks := motion
		if c.f.Depth > 8 {
			ks = append([]string{"kiln_luma8"}, motion...)
		}
		add(fmt.Sprintf("EstimateMotion by (%d,%d) %v prior=%v", c.dx, c.dy, c.f, c.prior), ks,
			func(s *session) {
				pa := Picture(c.f, 12)
				a, b := s.upload(pa), s.upload(shifted(pa, c.dx, c.dy, 4))
				var m *kernels.Motion
				s.do(func() (err error) { m, err = s.b.EstimateMotion(a, b, nil); return err })
				if c.prior {
					if s.err == nil {
						s.field("first fwd", m.Fwd)
						s.field("first bwd", m.Bwd)
					}
					c2 := s.upload(shifted(pa, 2*c.dx, 2*c.dy, 5))
					s.do(func() (err error) { m, err = s.b.EstimateMotion(b, c2, m); return err })
				}
				if s.err == nil {
					s.field("fwd", m.Fwd)
					s.field("bwd", m.Bwd)
				}
			})
	}

	// Interpolation. The motion comes from the CPU backend for both sides,
	// so these cases test the interpolation kernels alone.
	for _, c := range []struct {
		f      Format
		method kernels.FrameRateMethod
		t      float64
		cut    bool
		ks     []string
	}{
		{cif8, kernels.MethodMC, 0.5, false, []string{"kiln_mc_select", "kiln_mc_render"}},
		{odd10, kernels.MethodMC, 0.3, false, []string{"kiln_luma8", "kiln_mc_select", "kiln_mc_render"}},
		{cif8, kernels.MethodMC, 0.6, true, []string{"kiln_copy_lines"}},
		{f10, kernels.MethodBlend, 0.25, false, []string{"kiln_blend"}},
		{f8, kernels.MethodDup, 0.7, false, []string{"kiln_copy_lines"}},
	} {
		name := fmt.Sprintf("Interpolate %v t=%v %v", c.method, c.t, c.f)
		if c.cut {
			name += " across a cut"
		}
		add(name, c.ks, func(s *session) {
			pa := Picture(c.f, 13)
			pb := shifted(pa, 9, -5, 6)
			if c.cut {
				pb = inverted(Picture(c.f, 14))
			}
			var m *kernels.Motion
			if c.method == kernels.MethodMC {
				var err error
				m, err = kernels.CPU().EstimateMotion(pa, pb, nil)
				s.check(err)
				if s.err == nil && kernels.IsSceneCut(m) != c.cut {
					s.check(fmt.Errorf("parity inputs: scene cut %v, want %v", kernels.IsSceneCut(m), c.cut))
				}
			}
			a, b, dst := s.upload(pa), s.upload(pb), s.image(c.f)
			s.do(func() error { return s.b.Interpolate(dst, a, b, m, c.t, c.method) })
			s.picture("interpolated", dst)
		})
	}

	// Calls every backend must refuse.
	refused("ConvertMatrix in place", func(s *session) {
		mc, err := kernels.NewMatrixConverter(kernels.BT709, kernels.BT601)
		s.check(err)
		img := s.upload(Picture(f8, 1))
		s.do(func() error { return s.b.ConvertMatrix(img, img, mc) })
	})
	refused("Pad off the chroma grid", func(s *session) {
		src, dst := s.upload(Picture(small8, 1)), s.image(f8)
		s.do(func() error { return s.b.Pad(dst, src, 3, 2) })
	})
	refused("Scale with a source of the wrong format", func(s *session) {
		sc, err := kernels.NewScaler(f8, f10, kernels.ScaleParams{})
		s.check(err)
		src, dst := s.upload(Picture(f10, 1)), s.image(f10)
		s.do(func() error { return s.b.Scale(dst, src, sc) })
	})
	refused("Interpolate at t=1", func(s *session) {
		a, b, dst := s.upload(Picture(f8, 1)), s.upload(Picture(f8, 2)), s.image(f8)
		s.do(func() error { return s.b.Interpolate(dst, a, b, nil, 1, kernels.MethodBlend) })
	})
	refused("Overlay with opacity above 1", func(s *session) {
		o, err := kernels.NewOverlay(logo(8, 8), kernels.BT709, f8.Chroma, f8.Depth)
		s.check(err)
		dst := s.upload(Picture(f8, 1))
		s.do(func() error { return s.b.Overlay(dst, o, 0, 0, 1.5) })
	})
	refused("Deinterlace an odd-height picture", func(s *session) {
		f := format(64, 33, kernels.Chroma444, 8)
		cur, dst := s.upload(Picture(f, 1)), s.image(f)
		s.do(func() error { return s.b.Deinterlace(dst, nil, cur, nil, kernels.TopFieldFirst, false) })
	})
	return cs
}

// format is a Format in one short call, for the tables of Cases.
func format(w, h int, c kernels.Chroma, depth int) kernels.Format {
	return kernels.Format{Width: w, Height: h, Chroma: c, Depth: depth}
}
