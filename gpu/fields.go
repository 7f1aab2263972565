package gpu

import (
	"fmt"

	"kiln/kernels"
)

// isNil is true for a nil Image and for a nil *Image in one.
func isNil(img kernels.Image) bool {
	im, ok := img.(*Image)
	return img == nil || ok && im == nil
}

// copyLines queues the copy of h lines of plane i: src lines s0, s0+sstep,
// … into dst lines d0, d0+dstep, …, one thread per byte as on the CPU.
func (b *Backend) copyLines(d, s *Image, i, d0, dstep, s0, sstep, h int) error {
	w, _ := s.format.PlaneSize(i)
	bytes := w * s.format.Bytes()
	src := s.plane(i) + uint64(s0*s.pitch[i])
	dst := d.plane(i) + uint64(d0*d.pitch[i])
	return b.launch("kiln_copy_lines", bytes, h,
		dp(src), in(s.pitch[i]*sstep), dp(dst), in(d.pitch[i]*dstep), in(bytes), in(h))
}

// fieldImages checks a frame and its two fields as the CPU backend does.
func (b *Backend) fieldImages(op string, frame kernels.Image, fields ...kernels.Image) (*Image, []*Image, error) {
	f, err := b.image(op, frame)
	if err != nil {
		return nil, nil, err
	}
	ff, err := kernels.FieldFormat(f.format)
	if err != nil {
		return nil, nil, err
	}
	out, err := b.images(op, fields...)
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

func (b *Backend) SeparateFields(top, bottom, src kernels.Image) error {
	return b.do(func() error {
		s, fs, err := b.fieldImages("SeparateFields", src, top, bottom)
		if err != nil {
			return err
		}
		return b.op(bufsOf(s, fs[0], fs[1]), func(*scratch) error {
			for p, f := range fs {
				for i := 0; i < 3; i++ {
					_, h := f.format.PlaneSize(i)
					if err := b.copyLines(f, s, i, 0, 1, p, 2, h); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}

func (b *Backend) WeaveFields(dst, top, bottom kernels.Image) error {
	return b.do(func() error {
		d, fs, err := b.fieldImages("WeaveFields", dst, top, bottom)
		if err != nil {
			return err
		}
		return b.op(bufsOf(d, fs[0], fs[1]), func(*scratch) error {
			for p, f := range fs {
				for i := 0; i < 3; i++ {
					_, h := f.format.PlaneSize(i)
					if err := b.copyLines(d, f, i, p, 2, 0, 1, h); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
}

func (b *Backend) ReverseFieldOrder(dst, src kernels.Image, from kernels.FieldOrder) error {
	return b.do(func() error {
		ims, err := b.images("ReverseFieldOrder", dst, src)
		if err != nil {
			return err
		}
		d, s := ims[0], ims[1]
		if err := checkFormat("field order destination", d, s.format); err != nil {
			return err
		}
		if d == s {
			return errInPlace("ReverseFieldOrder")
		}
		// As on the CPU: TFF content moves down a line, BFF content up.
		dir := -1
		if from == kernels.BottomFieldFirst {
			dir = 1
		}
		return b.op(bufsOf(d, s), func(*scratch) error {
			for i := 0; i < 3; i++ {
				w, h := d.format.PlaneSize(i)
				if err := b.launch("kiln_shift_lines", w, h,
					dp(s.plane(i)), in(s.pitch[i]), dp(d.plane(i)), in(d.pitch[i]),
					in(w), in(h), bl(s.format.Bytes() == 2), in(dir)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// interlaceTaps keys the taps of each filter in the table cache.
type interlaceTaps kernels.InterlaceFilter

func (b *Backend) Interlace(dst, first, second kernels.Image, order kernels.FieldOrder, filter kernels.InterlaceFilter) error {
	return b.do(func() error {
		ims, err := b.images("Interlace", dst, first, second)
		if err != nil {
			return err
		}
		d, a, c := ims[0], ims[1], ims[2]
		if _, err := kernels.FieldFormat(d.format); err != nil {
			return err
		}
		if err := checkFormat("first frame", a, d.format); err != nil {
			return err
		}
		if err := checkFormat("second frame", c, d.format); err != nil {
			return err
		}
		if d == a || d == c {
			return errInPlace("Interlace")
		}
		taps, shift, err := filter.Taps()
		if err != nil {
			return err
		}
		tab, err := b.table(interlaceTaps(filter), func() [][]byte { return [][]byte{asBytes(taps)} })
		if err != nil {
			return err
		}
		// a and c share a pitch: same format, same layout.
		return b.op([]*buffer{d.buf, a.buf, c.buf, tab.buf}, func(*scratch) error {
			for i := 0; i < 3; i++ {
				w, h := d.format.PlaneSize(i)
				lo, hi := d.format.Levels(i)
				if err := b.launch("kiln_interlace", w, h,
					dp(a.plane(i)), dp(c.plane(i)), in(a.pitch[i]), dp(d.plane(i)), in(d.pitch[i]),
					in(w), in(h), bl(d.format.Bytes() == 2), in(order.FirstParity()),
					dp(tab.at(0)), in(shift), in(lo), in(hi)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (b *Backend) Deinterlace(dst, prev, cur, next kernels.Image, order kernels.FieldOrder, second bool) error {
	return b.do(func() error {
		c, err := b.image("Deinterlace", cur)
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
		ims, err := b.images("Deinterlace", dst, prev, next)
		if err != nil {
			return err
		}
		d, p, n := ims[0], ims[1], ims[2]
		for _, x := range ims {
			if err := checkFormat("deinterlace frame", x, c.format); err != nil {
				return err
			}
		}
		if d == c || d == p || d == n {
			return errInPlace("Deinterlace")
		}
		if c.format.Height%2 != 0 {
			return fmt.Errorf("gpu: interlaced %v has an odd height", c.format)
		}
		keep := order.FirstParity()
		// The other field's lines, just before and just after the kept field in time.
		bef, aft := p, c
		if second {
			keep ^= 1
			bef, aft = c, n
		}
		return b.op(bufsOf(d, p, c, n), func(*scratch) error {
			for i := 0; i < 3; i++ {
				w, h := d.format.PlaneSize(i)
				if err := b.launch("kiln_deinterlace", w, h,
					dp(p.plane(i)), dp(c.plane(i)), dp(n.plane(i)), dp(bef.plane(i)), dp(aft.plane(i)),
					in(c.pitch[i]), dp(d.plane(i)), in(d.pitch[i]), in(w), in(h),
					bl(c.format.Bytes() == 2), in(keep)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
