package kernels

// #include "host.h"
import "C"

import "sync"

func (cpuBackend) Scale(dst, src Image, s *Scaler) error {
	d, err := hostFrame(dst)
	if err != nil {
		return err
	}
	sf, err := hostFrame(src)
	if err != nil {
		return err
	}
	if err := checkFormat("scale source", sf, s.Src); err != nil {
		return err
	}
	if err := checkFormat("scale destination", d, s.Dst); err != nil {
		return err
	}
	dither := cbool(s.Dst.Depth < s.Src.Depth)
	for i := 0; i < 3; i++ {
		h, v := &s.h[min(i, 1)], &s.v[min(i, 1)]
		sp, dp := &sf.Planes[i], &d.Planes[i]
		tmp := scaleTemp(dp.Width * sp.Height)
		launch(dp.Width, sp.Height, func(l C.kiln_launch) {
			C.kiln_host_scale_h(l, u8p(sp.Data), C.int(sp.Stride), cbool(s.Src.Bytes() == 2),
				i16p(tmp), C.int(dp.Width), C.int(dp.Width), C.int(sp.Height),
				i32p(h.pos), i16p(h.coef), C.int(h.taps), C.int(s.Src.Depth),
				i16p(h.padCoef), C.int(h.padTaps))
		})
		lo, hi := s.Dst.Levels(i)
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_scale_v(l, i16p(tmp), C.int(dp.Width),
				u8p(dp.Data), C.int(dp.Stride), cbool(s.Dst.Bytes() == 2), C.int(dp.Width), C.int(dp.Height),
				i32p(v.pos), i16p(v.coef), C.int(v.taps), C.int(28-s.Dst.Depth),
				C.int(lo), C.int(hi), dither)
		})
		scaleTemps.Put(&tmp)
	}
	return nil
}

// scaleTemps keeps the horizontal pass's intermediate planes between calls:
// every row of one is written before the vertical pass reads it, so a reused
// one needs no clearing, and a pipeline scaling every frame allocates none.
var scaleTemps sync.Pool

func scaleTemp(n int) []int16 {
	if p, ok := scaleTemps.Get().(*[]int16); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]int16, n)
}
