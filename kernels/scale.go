package kernels

import (
	"fmt"
	"math"
)

// ScaleFilter picks the resampling kernel.
type ScaleFilter int

const (
	// Lanczos3 is the windowed sinc with three lobes, as swscale's lanczos.
	Lanczos3 ScaleFilter = iota
	// Bicubic is the Mitchell–Netravali cubic with B=0, C=0.6: the curve
	// swscale calls bicubic, a little sharper than Catmull-Rom (C=0.5), so
	// that Kiln's "bicubic" looks like what engineers compare it with.
	Bicubic
)

func (f ScaleFilter) String() string {
	switch f {
	case Lanczos3:
		return "lanczos"
	case Bicubic:
		return "bicubic"
	}
	return fmt.Sprintf("ScaleFilter(%d)", int(f))
}

// ChromaSiting is the horizontal position of subsampled chroma samples.
// Vertically, 4:2:0 chroma is always centred between its two luma lines,
// as MPEG-2, H.264 and HEVC all have it.
type ChromaSiting int

const (
	// SitingLeft co-sites each chroma sample with the left luma sample of its
	// pair: MPEG-2 4:2:0, and BT.601/BT.709 4:2:2. The broadcast default.
	SitingLeft ChromaSiting = iota
	// SitingCenter puts chroma halfway between its luma samples (MPEG-1,
	// JPEG, and swscale's default).
	SitingCenter
)

// ScaleParams are the choices of a scaling plan besides the formats.
type ScaleParams struct {
	Filter ScaleFilter
	Siting ChromaSiting
}

// coefBits is the precision of filter coefficients: each output's taps sum
// to exactly 1<<coefBits, so flat areas stay flat.
const coefBits = 14

// polyphase is one direction of one plane's filter: output i reads taps
// source samples from pos[i], weighted by coef[i*taps:(i+1)*taps].
type polyphase struct {
	taps int
	pos  []int32
	coef []int16
	// padTaps is taps rounded up to a multiple of 4 and padCoef the
	// coefficients with each output's row padded with zeros to it: the CPU
	// backend's horizontal pass runs dot products of whole 8- and 4-tap
	// groups on them. The padding adds zeros, so the sums are the kernel's.
	padTaps int
	padCoef []int16
}

// pad fills padTaps and padCoef from taps and coef.
func (pp *polyphase) pad() {
	pp.padTaps = (pp.taps + 3) &^ 3
	n := len(pp.pos)
	pp.padCoef = make([]int16, n*pp.padTaps)
	for i := 0; i < n; i++ {
		copy(pp.padCoef[i*pp.padTaps:], pp.coef[i*pp.taps:(i+1)*pp.taps])
	}
}

// Scaler is a scaling plan: the filter tables for every plane and direction,
// computed once in Go and shared by the CPU and GPU kernels.
type Scaler struct {
	Src, Dst Format
	Params   ScaleParams
	h, v     [2]polyphase // [0] luma, [1] both chroma planes
}

// NewScaler plans the scaling of src into dst. Sizes, chroma subsampling and
// depth may all differ; going to fewer bits dithers.
func NewScaler(src, dst Format, p ScaleParams) (*Scaler, error) {
	if err := src.Validate(); err != nil {
		return nil, err
	}
	if err := dst.Validate(); err != nil {
		return nil, err
	}
	if p.Filter != Lanczos3 && p.Filter != Bicubic {
		return nil, fmt.Errorf("kernels: unknown scale filter %d", int(p.Filter))
	}
	s := &Scaler{Src: src, Dst: dst, Params: p}
	rx := float64(src.Width) / float64(dst.Width)
	ry := float64(src.Height) / float64(dst.Height)
	for pl := 0; pl < 2; pl++ {
		ssx, ssy, dsx, dsy := 1, 1, 1, 1
		if pl == 1 {
			ssx, ssy = src.Chroma.Sub()
			dsx, dsy = dst.Chroma.Sub()
		}
		sw, sh := src.PlaneSize(pl)
		dw, dh := dst.PlaneSize(pl)
		s.h[pl] = planeFilter(sw, dw, rx, ssx, dsx, p.Siting == SitingCenter, p.Filter)
		s.h[pl].pad()
		s.v[pl] = planeFilter(sh, dh, ry, ssy, dsy, true, p.Filter)
	}
	return s, nil
}

// siteOffset is where sample 0 of a plane subsampled by sub sits, in luma
// samples: 0 when co-sited with the first luma sample, else centred.
func siteOffset(sub int, centred bool) float64 {
	if !centred {
		return 0
	}
	return float64(sub-1) / 2
}

// planeFilter builds one direction of a plane's filter. Plane sample i lies
// at luma coordinate i*sub+offset; the output's luma coordinate X maps to
// the source's (X+0.5)*ratio-0.5, as pixel-area centres do.
func planeFilter(srcN, dstN int, ratio float64, ssub, dsub int, centred bool, f ScaleFilter) polyphase {
	so, do := siteOffset(ssub, centred), siteOffset(dsub, centred)
	step := ratio * float64(dsub) / float64(ssub) // source samples per output sample
	stretch := math.Max(1, step)                  // widen the kernel when downscaling
	var support float64
	var kern func(float64) float64
	switch f {
	case Bicubic:
		support, kern = 2, bicubic06
	default:
		support, kern = 3, lanczos3
	}
	reach := support * stretch
	taps := int(math.Ceil(2 * reach))
	if taps > srcN {
		taps = srcN
	}
	pp := polyphase{taps: taps, pos: make([]int32, dstN), coef: make([]int16, dstN*taps)}
	w := make([]float64, srcN) // weights by source index, edges folded in
	for i := 0; i < dstN; i++ {
		lumaX := float64(i*dsub) + do
		centre := ((lumaX+0.5)*ratio - 0.5 - so) / float64(ssub)
		first := int(math.Floor(centre-reach)) + 1
		last := int(math.Ceil(centre+reach)) - 1
		lo, hi := srcN, -1
		for j := first; j <= last; j++ {
			k := kern((float64(j) - centre) / stretch)
			if k == 0 {
				continue
			}
			jj := min(max(j, 0), srcN-1) // edge samples repeat outwards
			w[jj] += k
			lo, hi = min(lo, jj), max(hi, jj)
		}
		if hi < 0 { // no kernel here has a zero centre, but stay flat if one did
			jj := min(max(int(math.Round(centre)), 0), srcN-1)
			w[jj], lo, hi = 1, jj, jj
		}
		// The window holds every nonzero weight: after folding they span at
		// most taps samples.
		start := min(max(first, 0), srcN-taps)
		start = min(max(start, hi-taps+1), lo)
		pp.pos[i] = int32(start)
		quantize(pp.coef[i*taps:(i+1)*taps], w[start:start+taps])
		for j := lo; j <= hi; j++ {
			w[j] = 0
		}
	}
	return pp
}

// quantize turns weights into coefficients summing exactly to 1<<coefBits;
// the rounding residue goes to the largest tap, where it matters least.
func quantize(dst []int16, w []float64) {
	const one = 1 << coefBits
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	total, big := 0, 0
	for k, v := range w {
		q := int(math.Round(v / sum * one))
		dst[k] = int16(q)
		total += q
		if math.Abs(w[k]) > math.Abs(w[big]) {
			big = k
		}
	}
	dst[big] += int16(one - total)
}

func lanczos3(x float64) float64 {
	x = math.Abs(x)
	if x >= 3 {
		return 0
	}
	if x < 1e-9 {
		return 1
	}
	px := math.Pi * x
	return 3 * math.Sin(px) * math.Sin(px/3) / (px * px)
}

// bicubic06 is the Mitchell–Netravali cubic with B=0, C=0.6.
func bicubic06(x float64) float64 {
	const c = 0.6
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((12-6*c)*x*x*x + (-18+6*c)*x*x + 6) / 6
	case x < 2:
		return (-6*c*x*x*x + 30*c*x*x - 48*c*x + 24*c) / 6
	}
	return 0
}
