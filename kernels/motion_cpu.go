package kernels

// #include "host.h"
import "C"

import "fmt"

// lumaLevel is one 8-bit level of a luma pyramid.
type lumaLevel struct {
	data         []byte
	stride, w, h int
}

// pyramid builds 8-bit luma levels, each half the size of the one before.
// Level 0 is the frame's own luma plane at 8 bits, else a rounded copy.
func pyramid(f *Frame, levels int) []lumaLevel {
	p := &f.Planes[0]
	out := make([]lumaLevel, levels)
	if f.Depth == 8 {
		out[0] = lumaLevel{p.Data, p.Stride, p.Width, p.Height}
	} else {
		l := lumaLevel{make([]byte, p.Width*p.Height), p.Width, p.Width, p.Height}
		launch(p.Width, p.Height, func(lc C.kiln_launch) {
			C.kiln_host_luma8(lc, u8p(p.Data), C.int(p.Stride), C.int(f.Depth-8),
				u8p(l.data), C.int(l.stride), C.int(l.w), C.int(l.h))
		})
		out[0] = l
	}
	for i := 1; i < levels; i++ {
		s := out[i-1]
		w, h := (s.w+1)/2, (s.h+1)/2
		d := lumaLevel{make([]byte, w*h), w, w, h}
		launch(w, h, func(lc C.kiln_launch) {
			C.kiln_host_half(lc, u8p(s.data), C.int(s.stride), C.int(s.w), C.int(s.h),
				u8p(d.data), C.int(d.stride), C.int(w), C.int(h))
		})
		out[i] = d
	}
	return out
}

// pyramidLevels is how many levels reach MotionRange with a +-8 coarse
// search, fewer for pictures too small to halve that often.
func pyramidLevels(w, h int) int {
	n := 4
	for n > 1 && (min(w, h)>>(n-1)) < 4*MotionBlock {
		n--
	}
	return n
}

func (cpuBackend) EstimateMotion(a, b Image, prior *Motion) (*Motion, error) {
	fs, err := framesOf(a, b)
	if err != nil {
		return nil, err
	}
	fa, fb := fs[0], fs[1]
	if err := checkFormat("motion picture b", fb, fa.Format); err != nil {
		return nil, err
	}
	n := pyramidLevels(fa.Width, fa.Height)
	pa, pb := pyramid(fa, n), pyramid(fb, n)
	m := &Motion{}
	var pf, pbw *VectorField
	if prior != nil {
		pf, pbw = prior.Fwd, prior.Bwd
	}
	m.Fwd = estimate(pa, pb, pf)
	m.Bwd = estimate(pb, pa, pbw)
	if m.Fwd.BlocksX != (fa.Width+MotionBlock-1)/MotionBlock {
		return nil, fmt.Errorf("kernels: internal: vector field of %d blocks for width %d", m.Fwd.BlocksX, fa.Width)
	}
	return m, nil
}

// estimate finds, for each 8x8 block of cur, its displacement into ref.
func estimate(cur, ref []lumaLevel, prior *VectorField) *VectorField {
	n := len(cur)
	var parent *VectorField
	for lv := n - 1; lv >= 0; lv-- {
		c, r := cur[lv], ref[lv]
		bw, bh := (c.w+MotionBlock-1)/MotionBlock, (c.h+MotionBlock-1)/MotionBlock
		out := newVectorField(bw, bh)
		var pvx, pvy, tvx, tvy []int32
		pw, ph := 0, 0
		lambda := meLambdaCoarse
		if parent != nil {
			pvx, pvy, pw, ph = parent.X, parent.Y, parent.BlocksX, parent.BlocksY
			lambda = meLambda
		}
		if lv == 0 && prior != nil && prior.BlocksX == bw && prior.BlocksY == bh {
			// The previous pair's quarter-sample field, as whole samples.
			tvx, tvy = make([]int32, bw*bh), make([]int32, bw*bh)
			for i := range tvx {
				tvx[i], tvy[i] = (prior.X[i]+2)>>2, (prior.Y[i]+2)>>2
			}
		}
		rng := (MotionRange + (1 << lv) - 1) >> lv
		launch(bw, bh, func(l C.kiln_launch) {
			C.kiln_host_me_search(l, u8p(c.data), u8p(r.data), C.int(c.stride), C.int(c.w), C.int(c.h),
				C.int(bw), C.int(bh), i32p(pvx), i32p(pvy), C.int(pw), C.int(ph), i32p(tvx), i32p(tvy),
				C.int(rng), C.int(lambda), i32p(out.X), i32p(out.Y), i32p(out.Cost))
		})
		parent = out
	}
	c, r := cur[0], ref[0]
	bw, bh := parent.BlocksX, parent.BlocksY
	q := newVectorField(bw, bh)
	launch(bw, bh, func(l C.kiln_launch) {
		C.kiln_host_me_subpel(l, u8p(c.data), u8p(r.data), C.int(c.stride), C.int(c.w), C.int(c.h),
			C.int(bw), C.int(bh), i32p(parent.X), i32p(parent.Y), i32p(q.X), i32p(q.Y), i32p(q.Cost))
	})
	for pass := 0; pass < 2; pass++ {
		s := newVectorField(bw, bh)
		launch(bw, bh, func(l C.kiln_launch) {
			C.kiln_host_me_smooth(l, u8p(c.data), u8p(r.data), C.int(c.stride), C.int(c.w), C.int(c.h),
				C.int(bw), C.int(bh), i32p(q.X), i32p(q.Y), i32p(q.Cost), C.int(meSmoothBias),
				i32p(s.X), i32p(s.Y), i32p(s.Cost))
		})
		q = s
	}
	return q
}
