package gpu

import (
	"fmt"
	"math"

	"kiln/kernels"
)

// place mirrors the CPU backend's place: src's luma origin lands at (x, y)
// of dst, the rest of dst is black, plane by plane.
func (b *Backend) place(op string, dst, src kernels.Image, x, y int) error {
	return b.do(func() error {
		ims, err := b.images(op, dst, src)
		if err != nil {
			return err
		}
		d, s := ims[0], ims[1]
		if d == s {
			return errInPlace(op)
		}
		if d.format.Chroma != s.format.Chroma || d.format.Depth != s.format.Depth {
			return fmt.Errorf("gpu: %s from %v into %v: chroma and depth must match", op, s.format, d.format)
		}
		if err := kernels.CheckPlacement(op, s.format, x, y); err != nil {
			return err
		}
		sx, sy := s.format.Chroma.Sub()
		return b.op(bufsOf(d, s), func(*scratch) error {
			for i := 0; i < 3; i++ {
				ox, oy := x, y
				if i > 0 {
					ox, oy = x/sx, y/sy
				}
				sw, sh := s.format.PlaneSize(i)
				dw, dh := d.format.PlaneSize(i)
				if err := b.launch("kiln_place", dw, dh,
					dp(s.plane(i)), in(s.pitch[i]), in(sw), in(sh),
					dp(d.plane(i)), in(d.pitch[i]), in(dw), in(dh),
					in(ox), in(oy), bl(s.format.Bytes() == 2), in(s.format.Black(i))); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (b *Backend) Pad(dst, src kernels.Image, x, y int) error { return b.place("Pad", dst, src, x, y) }

func (b *Backend) Crop(dst, src kernels.Image, x, y int) error {
	return b.place("Crop", dst, src, -x, -y)
}

// Overlay mirrors the CPU backend, with the logo's value and alpha planes
// uploaded once per overlay.
func (b *Backend) Overlay(dst kernels.Image, o *kernels.Overlay, x, y int, opacity float64) error {
	return b.do(func() error {
		d, err := b.image("Overlay", dst)
		if err != nil {
			return err
		}
		f := d.format
		if f.Chroma != o.Chroma || f.Depth != o.Depth {
			return fmt.Errorf("gpu: overlay made for %v %d-bit, frame is %v", o.Chroma, o.Depth, f)
		}
		if err := kernels.CheckPlacement("Overlay", f, x, y); err != nil {
			return err
		}
		if opacity < 0 || opacity > 1 || math.IsNaN(opacity) {
			return fmt.Errorf("gpu: overlay opacity %v outside 0..1", opacity)
		}
		op := int(math.Round(opacity * 4096))
		// Tables 2i and 2i+1 are plane i's values and alphas.
		tab, err := b.table(o, func() [][]byte {
			var out [][]byte
			for i := 0; i < 3; i++ {
				_, _, v, a := o.Plane(i)
				out = append(out, asBytes(v), asBytes(a))
			}
			return out
		})
		if err != nil {
			return err
		}
		sx, sy := f.Chroma.Sub()
		return b.op([]*buffer{d.buf, tab.buf}, func(*scratch) error {
			for i := 0; i < 3; i++ {
				ox, oy := x, y
				if i > 0 {
					ox, oy = x/sx, y/sy
				}
				dw, dh := f.PlaneSize(i)
				lw, lh, _, _ := o.Plane(i)
				if err := b.launch("kiln_overlay", lw, lh,
					dp(d.plane(i)), in(d.pitch[i]), in(dw), in(dh), bl(f.Bytes() == 2),
					dp(tab.at(2*i)), dp(tab.at(2*i+1)), in(lw), in(lh), in(ox), in(oy), in(op)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
