package gpu

import "kiln/kernels"

// ConvertMatrix mirrors the CPU backend: luma from the co-sited chroma,
// then both chroma planes, with the six coefficients uploaded once per plan.
func (b *Backend) ConvertMatrix(dst, src kernels.Image, c *kernels.MatrixConverter) error {
	return b.do(func() error {
		ims, err := b.images("ConvertMatrix", dst, src)
		if err != nil {
			return err
		}
		d, s := ims[0], ims[1]
		if err := checkFormat("matrix destination", d, s.format); err != nil {
			return err
		}
		if d == s {
			return errInPlace("ConvertMatrix")
		}
		tab, err := b.table(c, func() [][]byte { return [][]byte{asBytes(c.Coefficients())} })
		if err != nil {
			return err
		}
		f := s.format
		wide := f.Bytes() == 2
		coff := f.Black(1)
		sx, sy := f.Chroma.Sub()
		ylo, yhi := f.Levels(0)
		clo, chi := f.Levels(1)
		yw, yh := f.PlaneSize(0)
		cw, ch := f.PlaneSize(1)
		return b.op([]*buffer{d.buf, s.buf, tab.buf}, func(*scratch) error {
			if err := b.launch("kiln_matrix_luma", yw, yh,
				dp(s.plane(0)), in(s.pitch[0]), dp(s.plane(1)), dp(s.plane(2)), in(s.pitch[1]),
				dp(d.plane(0)), in(d.pitch[0]), in(yw), in(yh), bl(wide),
				in(sx/2), in(sy/2), dp(tab.at(0)), in(coff), in(ylo), in(yhi)); err != nil {
				return err
			}
			return b.launch("kiln_matrix_chroma", cw, ch,
				dp(s.plane(1)), dp(s.plane(2)), in(s.pitch[1]),
				dp(d.plane(1)), dp(d.plane(2)), in(d.pitch[1]),
				in(cw), in(ch), bl(wide), dp(tab.at(0)), in(coff), in(clo), in(chi))
		})
	})
}
