package kernels

// #include "host.h"
import "C"

import "fmt"

func (cpuBackend) Interpolate(dst, a, b Image, m *Motion, t float64, method FrameRateMethod) error {
	fs, err := framesOf(dst, a, b)
	if err != nil {
		return err
	}
	d, fa, fb := fs[0], fs[1], fs[2]
	if err := checkFormat("interpolation picture b", fb, fa.Format); err != nil {
		return err
	}
	if err := checkFormat("interpolation destination", d, fa.Format); err != nil {
		return err
	}
	if d == fa || d == fb {
		return errInPlace("Interpolate")
	}
	t12, err := phase(t)
	if err != nil {
		return err
	}
	switch method {
	case MethodDup:
		dup(d, fa, fb, t12)
		return nil
	case MethodBlend:
		blend(d, fa, fb, t12)
		return nil
	case MethodMC:
	default:
		return fmt.Errorf("kernels: unknown frame rate method %d", int(method))
	}
	if m == nil {
		return fmt.Errorf("kernels: motion-compensated interpolation needs the motion of a and b")
	}
	if IsSceneCut(m) {
		dup(d, fa, fb, t12)
		return nil
	}
	f, g := m.Fwd, m.Bwd
	bw, bh := f.BlocksX, f.BlocksY
	if bw != (fa.Width+MotionBlock-1)/MotionBlock || bh != (fa.Height+MotionBlock-1)/MotionBlock ||
		g.BlocksX != bw || g.BlocksY != bh {
		return fmt.Errorf("kernels: motion fields of %dx%d blocks do not fit %v", bw, bh, fa.Format)
	}
	levels := 1
	pa, pb := pyramid(fa, levels), pyramid(fb, levels)
	la, lb := pa[0], pb[0]
	vx, vy, mode := make([]int32, bw*bh), make([]int32, bw*bh), make([]int32, bw*bh)
	launch(bw, bh, func(l C.kiln_launch) {
		C.kiln_host_mc_select(l, u8p(la.data), u8p(lb.data), C.int(la.stride), C.int(la.w), C.int(la.h),
			i32p(f.X), i32p(f.Y), i32p(g.X), i32p(g.Y), C.int(bw), C.int(bh), C.int(t12),
			i32p(vx), i32p(vy), i32p(mode))
	})
	sx, sy := fa.Chroma.Sub()
	for i := 0; i < 3; i++ {
		shx, shy := 0, 0
		if i > 0 {
			shx, shy = sx/2, sy/2
		}
		ap, bp, dp := &fa.Planes[i], &fb.Planes[i], &d.Planes[i]
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_mc_render(l, u8p(ap.Data), u8p(bp.Data), C.int(ap.Stride), u8p(dp.Data), C.int(dp.Stride),
				C.int(dp.Width), C.int(dp.Height), cbool(fa.Bytes() == 2), C.int(shx), C.int(shy),
				i32p(vx), i32p(vy), i32p(mode), C.int(bw), C.int(bh), C.int(t12))
		})
	}
	return nil
}

// dup copies the nearer picture, b from the midpoint on.
func dup(d, a, b *Frame, t12 int) {
	src := a
	if t12 >= 2048 {
		src = b
	}
	for i := 0; i < 3; i++ {
		copyLines(d, src, i, 0, 1, 0, 1, d.Planes[i].Height)
	}
}

func blend(d, a, b *Frame, t12 int) {
	for i := 0; i < 3; i++ {
		ap, bp, dp := &a.Planes[i], &b.Planes[i], &d.Planes[i]
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_blend(l, u8p(ap.Data), u8p(bp.Data), C.int(ap.Stride), u8p(dp.Data), C.int(dp.Stride),
				C.int(dp.Width), C.int(dp.Height), cbool(a.Bytes() == 2), C.int(t12))
		})
	}
}
