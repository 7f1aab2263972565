package gpu

import "kiln/kernels"

// Scale mirrors the CPU backend's Scale: per plane, a horizontal pass into
// a 16-bit intermediate, then a vertical pass into dst, with the plan's
// tables uploaded once per plan.
func (b *Backend) Scale(dst, src kernels.Image, s *kernels.Scaler) error {
	return b.do(func() error {
		ims, err := b.images("Scale", dst, src)
		if err != nil {
			return err
		}
		d, sf := ims[0], ims[1]
		if err := checkFormat("scale source", sf, s.Src); err != nil {
			return err
		}
		if err := checkFormat("scale destination", d, s.Dst); err != nil {
			return err
		}
		// Tables 0-3 are luma (h pos, h coef, v pos, v coef), 4-7 chroma.
		tab, err := b.table(s, func() [][]byte {
			var out [][]byte
			for pl := 0; pl < 2; pl++ {
				h, v := s.Polyphase(pl)
				out = append(out, asBytes(h.Pos), asBytes(h.Coef), asBytes(v.Pos), asBytes(v.Coef))
			}
			return out
		})
		if err != nil {
			return err
		}
		// One intermediate, sized for the largest plane, serves all three:
		// the planes run one after another on the stream.
		var tmpSize int64
		for i := 0; i < 3; i++ {
			dw, _ := s.Dst.PlaneSize(i)
			_, sh := s.Src.PlaneSize(i)
			tmpSize = max(tmpSize, int64(dw)*int64(sh)*2)
		}
		tmp, err := b.alloc(tmpSize)
		if err != nil {
			return err
		}
		defer b.free(tmp)
		dither := s.Dst.Depth < s.Src.Depth
		return b.op([]*buffer{d.buf, sf.buf, tab.buf, tmp}, func(*scratch) error {
			for i := 0; i < 3; i++ {
				h, v := s.Polyphase(i)
				t := 4 * min(i, 1)
				_, sh := s.Src.PlaneSize(i)
				dw, dh := s.Dst.PlaneSize(i)
				if err := b.launch("kiln_scale_h", dw, sh,
					dp(sf.plane(i)), in(sf.pitch[i]), bl(s.Src.Bytes() == 2),
					dp(tmp.ptr), in(dw), in(dw), in(sh),
					dp(tab.at(t)), dp(tab.at(t+1)), in(h.Taps), in(s.Src.Depth)); err != nil {
					return err
				}
				lo, hi := s.Dst.Levels(i)
				if err := b.launch("kiln_scale_v", dw, dh,
					dp(tmp.ptr), in(dw),
					dp(d.plane(i)), in(d.pitch[i]), bl(s.Dst.Bytes() == 2), in(dw), in(dh),
					dp(tab.at(t+2)), dp(tab.at(t+3)), in(v.Taps), in(28-s.Dst.Depth),
					in(lo), in(hi), bl(dither)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
