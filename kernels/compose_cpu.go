package kernels

// #include "host.h"
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// place runs the place kernel on every plane: src's luma origin lands at
// (x, y) of dst, the rest of dst is black.
func place(d, s *Frame, x, y int) {
	sx, sy := s.Chroma.Sub()
	for i := 0; i < 3; i++ {
		ox, oy := x, y
		if i > 0 {
			ox, oy = x/sx, y/sy
		}
		sp, dp := &s.Planes[i], &d.Planes[i]
		launch(dp.Width, dp.Height, func(l C.kiln_launch) {
			C.kiln_host_place(l, u8p(sp.Data), C.int(sp.Stride), C.int(sp.Width), C.int(sp.Height),
				u8p(dp.Data), C.int(dp.Stride), C.int(dp.Width), C.int(dp.Height),
				C.int(ox), C.int(oy), cbool(s.Bytes() == 2), C.int(s.Black(i)))
		})
	}
}

func (cpuBackend) placeChecked(op string, dst, src Image, x, y int) error {
	d, err := hostFrame(dst)
	if err != nil {
		return err
	}
	s, err := hostFrame(src)
	if err != nil {
		return err
	}
	if d == s {
		return errInPlace(op)
	}
	if d.Chroma != s.Chroma || d.Depth != s.Depth {
		return fmt.Errorf("kernels: %s from %v into %v: chroma and depth must match", op, s.Format, d.Format)
	}
	if err := checkPlacement(op, s.Format, x, y); err != nil {
		return err
	}
	place(d, s, x, y)
	return nil
}

func (b cpuBackend) Pad(dst, src Image, x, y int) error {
	return b.placeChecked("Pad", dst, src, x, y)
}

func (b cpuBackend) Crop(dst, src Image, x, y int) error {
	return b.placeChecked("Crop", dst, src, -x, -y)
}

func (cpuBackend) Overlay(dst Image, o *Overlay, x, y int, opacity float64) error {
	d, err := hostFrame(dst)
	if err != nil {
		return err
	}
	if d.Chroma != o.Chroma || d.Depth != o.Depth {
		return fmt.Errorf("kernels: overlay made for %v %d-bit, frame is %v", o.Chroma, o.Depth, d.Format)
	}
	if err := checkPlacement("Overlay", d.Format, x, y); err != nil {
		return err
	}
	if opacity < 0 || opacity > 1 || math.IsNaN(opacity) {
		return fmt.Errorf("kernels: overlay opacity %v outside 0..1", opacity)
	}
	op := int(math.Round(opacity * 4096))
	sx, sy := d.Chroma.Sub()
	for i := 0; i < 3; i++ {
		ox, oy := x, y
		if i > 0 {
			ox, oy = x/sx, y/sy
		}
		dp := &d.Planes[i]
		val, alpha := o.value[i], o.alpha[i]
		launch(o.pw[i], o.ph[i], func(l C.kiln_launch) {
			C.kiln_host_overlay(l, u8p(dp.Data), C.int(dp.Stride), C.int(dp.Width), C.int(dp.Height),
				cbool(d.Bytes() == 2),
				(*C.ushort)(unsafe.Pointer(unsafe.SliceData(val))), (*C.ushort)(unsafe.Pointer(unsafe.SliceData(alpha))),
				C.int(o.pw[i]), C.int(o.ph[i]), C.int(ox), C.int(oy), C.int(op))
		})
	}
	return nil
}
