package gpu

import (
	"fmt"

	"kiln/kernels"
)

// lumaLevel is one 8-bit level of a luma pyramid in device memory; buf is
// nil when the level is the picture's own luma plane.
type lumaLevel struct {
	ptr          uint64
	buf          *buffer
	stride, w, h int
}

// pyramid mirrors the CPU backend's: level 0 is the 8-bit luma plane itself
// or a rounded copy, each further level half the one before. The caller
// frees the levels' buffers and includes them in its op.
func (b *Backend) pyramid(f *Image, levels int) ([]lumaLevel, error) {
	w, h := f.format.PlaneSize(0)
	out := make([]lumaLevel, 0, levels)
	fail := func(err error) ([]lumaLevel, error) {
		freeLevels(b, out)
		return nil, err
	}
	if f.format.Depth == 8 {
		out = append(out, lumaLevel{ptr: f.plane(0), stride: f.pitch[0], w: w, h: h})
	} else {
		buf, err := b.alloc(int64(w) * int64(h))
		if err != nil {
			return fail(err)
		}
		out = append(out, lumaLevel{ptr: buf.ptr, buf: buf, stride: w, w: w, h: h})
	}
	for i := 1; i < levels; i++ {
		s := out[i-1]
		w, h := (s.w+1)/2, (s.h+1)/2
		buf, err := b.alloc(int64(w) * int64(h))
		if err != nil {
			return fail(err)
		}
		out = append(out, lumaLevel{ptr: buf.ptr, buf: buf, stride: w, w: w, h: h})
	}
	return out, nil
}

// fillPyramid queues the kernels that compute the levels made by pyramid.
func (b *Backend) fillPyramid(f *Image, p []lumaLevel) error {
	if l := p[0]; l.buf != nil {
		if err := b.launch("kiln_luma8", l.w, l.h, dp(f.plane(0)), in(f.pitch[0]), in(f.format.Depth-8),
			dp(l.ptr), in(l.stride), in(l.w), in(l.h)); err != nil {
			return err
		}
	}
	for i := 1; i < len(p); i++ {
		s, d := p[i-1], p[i]
		if err := b.launch("kiln_half", d.w, d.h, dp(s.ptr), in(s.stride), in(s.w), in(s.h),
			dp(d.ptr), in(d.stride), in(d.w), in(d.h)); err != nil {
			return err
		}
	}
	return nil
}

func freeLevels(b *Backend, p []lumaLevel) {
	for _, l := range p {
		b.free(l.buf)
	}
}

func levelBufs(p []lumaLevel) []*buffer {
	var out []*buffer
	for _, l := range p {
		if l.buf != nil {
			out = append(out, l.buf)
		}
	}
	return out
}

// field is a vector field in device memory: X, Y and Cost, bw*bh int32
// each, one after another in one buffer.
type field struct {
	buf    *buffer
	bw, bh int
}

func (f *field) n() int       { return f.bw * f.bh }
func (f *field) x() uint64    { return f.buf.ptr }
func (f *field) y() uint64    { return f.buf.ptr + uint64(4*f.n()) }
func (f *field) cost() uint64 { return f.buf.ptr + uint64(8*f.n()) }

// EstimateMotion mirrors the CPU backend. The pyramids, the search levels
// and the refinement passes stay on the device; the host only turns the
// prior into whole-sample candidates (as the CPU does in Go) and receives
// the two final fields.
func (b *Backend) EstimateMotion(a, c kernels.Image, prior *kernels.Motion) (*kernels.Motion, error) {
	var m *kernels.Motion
	err := b.do(func() error {
		ims, err := b.images("EstimateMotion", a, c)
		if err != nil {
			return err
		}
		fa, fb := ims[0], ims[1]
		if err := checkFormat("motion picture b", fb, fa.format); err != nil {
			return err
		}
		n := kernels.PyramidLevels(fa.format.Width, fa.format.Height)
		pa, err := b.pyramid(fa, n)
		if err != nil {
			return err
		}
		defer freeLevels(b, pa)
		pb, err := b.pyramid(fb, n)
		if err != nil {
			return err
		}
		defer freeLevels(b, pb)

		var pf, pbw *kernels.VectorField
		if prior != nil {
			pf, pbw = prior.Fwd, prior.Bwd
		}
		// The prior's candidates are uploaded before the op, so that the
		// op waits for their copy.
		tf, err := b.candidates(pa[0], pf)
		if err != nil {
			return err
		}
		defer b.freeArrays(tf)
		tb, err := b.candidates(pb[0], pbw)
		if err != nil {
			return err
		}
		defer b.freeArrays(tb)

		bufs := append(bufsOf(fa, fb), levelBufs(pa)...)
		bufs = append(bufs, levelBufs(pb)...)
		for _, t := range []*arrays{tf, tb} {
			if t != nil {
				bufs = append(bufs, t.buf)
			}
		}
		var fwd, bwd *field
		err = b.op(bufs, func(s *scratch) error {
			if err := b.fillPyramid(fa, pa); err != nil {
				return err
			}
			if err := b.fillPyramid(fb, pb); err != nil {
				return err
			}
			var err error
			if fwd, err = b.estimate(s, pa, pb, tf); err != nil {
				return err
			}
			if bwd, err = b.estimate(s, pb, pa, tb); err != nil {
				return err
			}
			s.keep(fwd.buf)
			s.keep(bwd.buf)
			return nil
		})
		if err != nil {
			return err
		}
		defer b.freeField(fwd)
		defer b.freeField(bwd)
		vs, err := b.downloadFields(fwd, bwd)
		if err != nil {
			return err
		}
		m = &kernels.Motion{Fwd: vs[0], Bwd: vs[1]}
		if m.Fwd.BlocksX != (fa.format.Width+kernels.MotionBlock-1)/kernels.MotionBlock {
			return fmt.Errorf("gpu: internal: vector field of %d blocks for width %d", m.Fwd.BlocksX, fa.format.Width)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// candidates uploads the prior field as whole samples, as the CPU backend
// computes them, when it matches level 0's block grid; nil otherwise.
func (b *Backend) candidates(l lumaLevel, prior *kernels.VectorField) (*arrays, error) {
	bw, bh := (l.w+kernels.MotionBlock-1)/kernels.MotionBlock, (l.h+kernels.MotionBlock-1)/kernels.MotionBlock
	if prior == nil || prior.BlocksX != bw || prior.BlocksY != bh {
		return nil, nil
	}
	tvx, tvy := make([]int32, bw*bh), make([]int32, bw*bh)
	for i := range tvx {
		tvx[i], tvy[i] = (prior.X[i]+2)>>2, (prior.Y[i]+2)>>2
	}
	return b.upload(asBytes(tvx), asBytes(tvy))
}

func (b *Backend) freeArrays(a *arrays) {
	if a != nil {
		b.free(a.buf)
	}
}

func newField(s *scratch, bw, bh int) (*field, error) {
	buf, err := s.alloc(int64(12 * bw * bh))
	if err != nil {
		return nil, err
	}
	return &field{buf: buf, bw: bw, bh: bh}, nil
}

func (b *Backend) freeField(f *field) {
	if f != nil {
		b.free(f.buf)
	}
}

// estimate mirrors the CPU backend's estimate: coarse-to-fine search, then
// sub-sample refinement and two smoothing passes, for cur's blocks in ref.
// It runs inside an op; the intermediate fields are the op's scratch.
func (b *Backend) estimate(s *scratch, cur, ref []lumaLevel, prior *arrays) (*field, error) {
	var parent *field
	for lv := len(cur) - 1; lv >= 0; lv-- {
		c, r := cur[lv], ref[lv]
		bw, bh := (c.w+kernels.MotionBlock-1)/kernels.MotionBlock, (c.h+kernels.MotionBlock-1)/kernels.MotionBlock
		out, err := newField(s, bw, bh)
		if err != nil {
			return nil, err
		}
		var pvx, pvy, tvx, tvy uint64
		pw, ph := 0, 0
		lambda := kernels.MotionLambdaCoarse
		if parent != nil {
			pvx, pvy, pw, ph = parent.x(), parent.y(), parent.bw, parent.bh
			lambda = kernels.MotionLambda
		}
		if lv == 0 && prior != nil {
			tvx, tvy = prior.at(0), prior.at(1)
		}
		rng := (kernels.MotionRange + (1 << lv) - 1) >> lv
		if err := b.launch("kiln_me_search", bw, bh, dp(c.ptr), dp(r.ptr), in(c.stride), in(c.w), in(c.h),
			in(bw), in(bh), dp(pvx), dp(pvy), in(pw), in(ph), dp(tvx), dp(tvy),
			in(rng), in(lambda), dp(out.x()), dp(out.y()), dp(out.cost())); err != nil {
			return nil, err
		}
		parent = out
	}
	c, r := cur[0], ref[0]
	bw, bh := parent.bw, parent.bh
	q, err := newField(s, bw, bh)
	if err != nil {
		return nil, err
	}
	if err := b.launch("kiln_me_subpel", bw, bh, dp(c.ptr), dp(r.ptr), in(c.stride), in(c.w), in(c.h),
		in(bw), in(bh), dp(parent.x()), dp(parent.y()), dp(q.x()), dp(q.y()), dp(q.cost())); err != nil {
		return nil, err
	}
	for pass := 0; pass < 2; pass++ {
		sm, err := newField(s, bw, bh)
		if err != nil {
			return nil, err
		}
		if err := b.launch("kiln_me_smooth", bw, bh, dp(c.ptr), dp(r.ptr), in(c.stride), in(c.w), in(c.h),
			in(bw), in(bh), dp(q.x()), dp(q.y()), dp(q.cost()), in(kernels.MotionSmoothBias),
			dp(sm.x()), dp(sm.y()), dp(sm.cost())); err != nil {
			return nil, err
		}
		q = sm
	}
	return q, nil
}

// downloadFields copies both fields to the host in one wait.
func (b *Backend) downloadFields(fs ...*field) ([]*kernels.VectorField, error) {
	blocks := make([]*pinned, len(fs))
	defer func() {
		for _, p := range blocks {
			if p != nil {
				p.release()
			}
		}
	}()
	for i, f := range fs {
		p, err := b.copyOut(f.buf, int64(12*f.n()))
		if err != nil {
			return nil, err
		}
		blocks[i] = p
	}
	out := make([]*kernels.VectorField, len(fs))
	for i, f := range fs {
		p := blocks[i]
		if err := b.drv.syncEvent(p.ev); err != nil {
			return nil, fmt.Errorf("gpu: waiting for motion fields (a kernel failed): %w", err)
		}
		v := kernels.NewVectorField(f.bw, f.bh)
		n := 4 * f.n()
		copy(asBytes(v.X), p.host[:n])
		copy(asBytes(v.Y), p.host[n:2*n])
		copy(asBytes(v.Cost), p.host[2*n:3*n])
		out[i] = v
	}
	return out, nil
}
