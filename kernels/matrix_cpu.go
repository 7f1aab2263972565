package kernels

// #include "host.h"
import "C"

func (cpuBackend) ConvertMatrix(dst, src Image, c *MatrixConverter) error {
	d, err := hostFrame(dst)
	if err != nil {
		return err
	}
	s, err := hostFrame(src)
	if err != nil {
		return err
	}
	if err := checkFormat("matrix destination", d, s.Format); err != nil {
		return err
	}
	if d == s {
		return errInPlace("ConvertMatrix")
	}
	wide := cbool(s.Bytes() == 2)
	coff := s.Black(1)
	sx, sy := s.Chroma.Sub()
	ylo, yhi := s.Levels(0)
	clo, chi := s.Levels(1)
	y, cb, cr := &s.Planes[0], &s.Planes[1], &s.Planes[2]
	launch(y.Width, y.Height, func(l C.kiln_launch) {
		C.kiln_host_matrix_luma(l, u8p(y.Data), C.int(y.Stride), u8p(cb.Data), u8p(cr.Data), C.int(cb.Stride),
			u8p(d.Planes[0].Data), C.int(d.Planes[0].Stride), C.int(y.Width), C.int(y.Height), wide,
			C.int(sx/2), C.int(sy/2), i32p(c.m), C.int(coff), C.int(ylo), C.int(yhi))
	})
	launch(cb.Width, cb.Height, func(l C.kiln_launch) {
		C.kiln_host_matrix_chroma(l, u8p(cb.Data), u8p(cr.Data), C.int(cb.Stride),
			u8p(d.Planes[1].Data), u8p(d.Planes[2].Data), C.int(d.Planes[1].Stride),
			C.int(cb.Width), C.int(cb.Height), wide, i32p(c.m), C.int(coff), C.int(clo), C.int(chi))
	})
	return nil
}
