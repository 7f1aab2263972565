package kernels

// #include "host.h"
import "C"

import "fmt"

// isNil is true for a nil Image and for a nil *Frame in one.
func isNil(img Image) bool {
	f, ok := img.(*Frame)
	return img == nil || ok && f == nil
}

func framesOf(imgs ...Image) ([]*Frame, error) {
	out := make([]*Frame, len(imgs))
	for i, img := range imgs {
		f, err := hostFrame(img)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// copyLines copies h lines of plane i: src lines s0, s0+sstep, … into dst
// lines d0, d0+dstep, …
func copyLines(d, s *Frame, i, d0, dstep, s0, sstep, h int) {
	sp, dp := &s.Planes[i], &d.Planes[i]
	bytes := sp.Width * s.Bytes()
	src, dst := sp.Data[s0*sp.Stride:], dp.Data[d0*dp.Stride:]
	launch(bytes, h, func(l C.kiln_launch) {
		C.kiln_host_copy_lines(l, u8p(src), C.int(sp.Stride*sstep), u8p(dst), C.int(dp.Stride*dstep),
			C.int(bytes), C.int(h))
	})
}

func fieldFrames(frame Image, fields ...Image) (*Frame, []*Frame, error) {
	f, err := hostFrame(frame)
	if err != nil {
		return nil, nil, err
	}
	ff, err := FieldFormat(f.Format)
	if err != nil {
		return nil, nil, err
	}
	out, err := framesOf(fields...)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range out {
		if err := checkFormat("field", x, ff); err != nil {
			return nil, nil, err
		}
	}
	return f, out, nil
}

func (cpuBackend) SeparateFields(top, bottom, src Image) error {
	s, fs, err := fieldFrames(src, top, bottom)
	if err != nil {
		return err
	}
	for p, f := range fs {
		for i := 0; i < 3; i++ {
			copyLines(f, s, i, 0, 1, p, 2, f.Planes[i].Height)
		}
	}
	return nil
}

func (cpuBackend) WeaveFields(dst, top, bottom Image) error {
	d, fs, err := fieldFrames(dst, top, bottom)
	if err != nil {
		return err
	}
	for p, f := range fs {
		for i := 0; i < 3; i++ {
			copyLines(d, f, i, p, 2, 0, 1, f.Planes[i].Height)
		}
	}
	return nil
}

func (cpuBackend) ReverseFieldOrder(dst, src Image, from FieldOrder) error {
	fs, err := framesOf(dst, src)
	if err != nil {
		return err
	}
	d, s := fs[0], fs[1]
	if err := checkFormat("field order destination", d, s.Format); err != nil {
		return err
	}
	if d == s {
		return errInPlace("ReverseFieldOrder")
	}
	// Delaying the first field by one line makes it the second: TFF content
	// moves down a line, BFF content up, so that the two are inverses.
	dir := -1
	if from == BottomFieldFirst {
		dir = 1
	}
	for i := 0; i < 3; i++ {
		sp, dp := &s.Planes[i], &d.Planes[i]
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_shift_lines(l, u8p(sp.Data), C.int(sp.Stride), u8p(dp.Data), C.int(dp.Stride),
				C.int(dp.Width), C.int(dp.Height), cbool(s.Bytes() == 2), C.int(dir))
		})
	}
	return nil
}

func (cpuBackend) Interlace(dst, first, second Image, order FieldOrder, filter InterlaceFilter) error {
	fs, err := framesOf(dst, first, second)
	if err != nil {
		return err
	}
	d, a, b := fs[0], fs[1], fs[2]
	if _, err := FieldFormat(d.Format); err != nil {
		return err
	}
	if err := checkFormat("first frame", a, d.Format); err != nil {
		return err
	}
	if err := checkFormat("second frame", b, d.Format); err != nil {
		return err
	}
	if d == a || d == b {
		return errInPlace("Interlace")
	}
	taps, shift, err := filter.taps()
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		ap, bp, dp := &a.Planes[i], &b.Planes[i], &d.Planes[i]
		lo, hi := d.Levels(i)
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_interlace(l, u8p(ap.Data), u8p(bp.Data), C.int(ap.Stride), u8p(dp.Data), C.int(dp.Stride),
				C.int(dp.Width), C.int(dp.Height), cbool(d.Bytes() == 2), C.int(order.firstParity()),
				i32p(taps), C.int(shift), C.int(lo), C.int(hi))
		})
	}
	return nil
}

func (cpuBackend) Deinterlace(dst, prev, cur, next Image, order FieldOrder, second bool) error {
	c, err := hostFrame(cur)
	if err != nil {
		return err
	}
	// At the ends of a sequence the missing neighbour is the current frame.
	if isNil(prev) {
		prev = cur
	}
	if isNil(next) {
		next = cur
	}
	fs, err := framesOf(dst, prev, next)
	if err != nil {
		return err
	}
	d, p, n := fs[0], fs[1], fs[2]
	for _, x := range fs {
		if err := checkFormat("deinterlace frame", x, c.Format); err != nil {
			return err
		}
	}
	if d == c || d == p || d == n {
		return errInPlace("Deinterlace")
	}
	if c.Height%2 != 0 {
		return fmt.Errorf("kernels: interlaced %v has an odd height", c.Format)
	}
	keep := order.firstParity()
	// The other field's lines, just before and just after the kept field in time.
	bef, aft := p, c
	if second {
		keep ^= 1
		bef, aft = c, n
	}
	for i := 0; i < 3; i++ {
		cp, dp := &c.Planes[i], &d.Planes[i]
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_deinterlace(l, u8p(p.Planes[i].Data), u8p(cp.Data), u8p(n.Planes[i].Data),
				u8p(bef.Planes[i].Data), u8p(aft.Planes[i].Data), C.int(cp.Stride),
				u8p(dp.Data), C.int(dp.Stride), C.int(dp.Width), C.int(dp.Height), cbool(c.Bytes() == 2), C.int(keep))
		})
	}
	return nil
}
