package gpu

import (
	"fmt"

	"kiln/kernels"
)

// Interpolate mirrors the CPU backend: dup and blend per plane; motion
// compensation picks a vector per block from the uploaded fields on the
// 8-bit luma, then renders every plane from those picks.
func (b *Backend) Interpolate(dst, a, c kernels.Image, m *kernels.Motion, t float64, method kernels.FrameRateMethod) error {
	return b.do(func() error {
		ims, err := b.images("Interpolate", dst, a, c)
		if err != nil {
			return err
		}
		d, fa, fb := ims[0], ims[1], ims[2]
		if err := checkFormat("interpolation picture b", fb, fa.format); err != nil {
			return err
		}
		if err := checkFormat("interpolation destination", d, fa.format); err != nil {
			return err
		}
		if d == fa || d == fb {
			return errInPlace("Interpolate")
		}
		t12, err := kernels.Phase(t)
		if err != nil {
			return err
		}
		switch method {
		case kernels.MethodDup:
			return b.dup(d, fa, fb, t12)
		case kernels.MethodBlend:
			return b.blend(d, fa, fb, t12)
		case kernels.MethodMC:
		default:
			return fmt.Errorf("gpu: unknown frame rate method %d", int(method))
		}
		if m == nil {
			return fmt.Errorf("gpu: motion-compensated interpolation needs the motion of a and b")
		}
		if kernels.IsSceneCut(m) {
			return b.dup(d, fa, fb, t12)
		}
		f, g := m.Fwd, m.Bwd
		bw, bh := f.BlocksX, f.BlocksY
		if bw != (fa.format.Width+kernels.MotionBlock-1)/kernels.MotionBlock ||
			bh != (fa.format.Height+kernels.MotionBlock-1)/kernels.MotionBlock ||
			g.BlocksX != bw || g.BlocksY != bh {
			return fmt.Errorf("gpu: motion fields of %dx%d blocks do not fit %v", bw, bh, fa.format)
		}
		la, err := b.pyramid(fa, 1)
		if err != nil {
			return err
		}
		defer freeLevels(b, la)
		lb, err := b.pyramid(fb, 1)
		if err != nil {
			return err
		}
		defer freeLevels(b, lb)
		vec, err := b.upload(asBytes(f.X), asBytes(f.Y), asBytes(g.X), asBytes(g.Y))
		if err != nil {
			return err
		}
		defer b.freeArrays(vec)
		bufs := append(bufsOf(d, fa, fb), vec.buf)
		bufs = append(bufs, levelBufs(la)...)
		bufs = append(bufs, levelBufs(lb)...)
		sx, sy := fa.format.Chroma.Sub()
		return b.op(bufs, func(s *scratch) error {
			if err := b.fillPyramid(fa, la); err != nil {
				return err
			}
			if err := b.fillPyramid(fb, lb); err != nil {
				return err
			}
			picks, err := newField(s, bw, bh) // vx, vy and mode where x, y and cost are
			if err != nil {
				return err
			}
			l0, l1 := la[0], lb[0]
			if err := b.launch("kiln_mc_select", bw, bh, dp(l0.ptr), dp(l1.ptr), in(l0.stride), in(l0.w), in(l0.h),
				dp(vec.at(0)), dp(vec.at(1)), dp(vec.at(2)), dp(vec.at(3)), in(bw), in(bh), in(t12),
				dp(picks.x()), dp(picks.y()), dp(picks.cost())); err != nil {
				return err
			}
			for i := 0; i < 3; i++ {
				shx, shy := 0, 0
				if i > 0 {
					shx, shy = sx/2, sy/2
				}
				w, h := d.format.PlaneSize(i)
				if err := b.launch("kiln_mc_render", w, h, dp(fa.plane(i)), dp(fb.plane(i)), in(fa.pitch[i]),
					dp(d.plane(i)), in(d.pitch[i]), in(w), in(h), bl(fa.format.Bytes() == 2), in(shx), in(shy),
					dp(picks.x()), dp(picks.y()), dp(picks.cost()), in(bw), in(bh), in(t12)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// dup copies the nearer picture, b from the midpoint on.
func (b *Backend) dup(d, a, c *Image, t12 int) error {
	src := a
	if t12 >= 2048 {
		src = c
	}
	return b.op(bufsOf(d, src), func(*scratch) error {
		for i := 0; i < 3; i++ {
			_, h := d.format.PlaneSize(i)
			if err := b.copyLines(d, src, i, 0, 1, 0, 1, h); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *Backend) blend(d, a, c *Image, t12 int) error {
	return b.op(bufsOf(d, a, c), func(*scratch) error {
		for i := 0; i < 3; i++ {
			w, h := d.format.PlaneSize(i)
			if err := b.launch("kiln_blend", w, h, dp(a.plane(i)), dp(c.plane(i)), in(a.pitch[i]),
				dp(d.plane(i)), in(d.pitch[i]), in(w), in(h), bl(a.format.Bytes() == 2), in(t12)); err != nil {
				return err
			}
		}
		return nil
	})
}
