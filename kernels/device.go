package kernels

// What a device backend needs from this package. The CPU backend reads the
// plans' tables and the tuning constants directly; a backend in another
// package (gpu/, behind the cuda build tag) must launch the same PTX entry
// points with the same numbers, so it reads them through these accessors
// instead of keeping copies that could drift. Everything returned here is
// shared with the plan: read it, upload it, never change it.

// Polyphase is one direction of one plane's scaling filter: output sample i
// reads Taps source samples from Pos[i], weighted by Coef[i*Taps:(i+1)*Taps]
// (14-bit fixed point, each output's taps summing to 1<<14).
type Polyphase struct {
	Taps int
	Pos  []int32
	Coef []int16
}

// Polyphase returns the horizontal and vertical filters of plane i (0 luma;
// 1 and 2, the chroma planes, share one pair), as kiln_scale_h and
// kiln_scale_v take them.
func (s *Scaler) Polyphase(i int) (h, v Polyphase) {
	k := min(i, 1)
	ph, pv := &s.h[k], &s.v[k]
	return Polyphase{ph.taps, ph.pos, ph.coef}, Polyphase{pv.taps, pv.pos, pv.coef}
}

// Coefficients returns the six 14-bit coefficients kiln_matrix_luma and
// kiln_matrix_chroma take: luma from (Cb, Cr), then the chroma 2x2.
func (c *MatrixConverter) Coefficients() []int32 { return c.m }

// Plane returns plane i of the logo at that plane's resolution: its size,
// values and 12-bit alphas (rows of w samples), as kiln_overlay takes them.
func (o *Overlay) Plane(i int) (w, h int, value, alpha []uint16) {
	return o.pw[i], o.ph[i], o.value[i], o.alpha[i]
}

// Taps returns the filter's five vertical taps and their shift, as
// kiln_interlace takes them.
func (f InterlaceFilter) Taps() (taps []int32, shift int, err error) { return f.taps() }

// FirstParity is the line parity (0 top, 1 bottom) of the first field in
// time, the firstpar and keep parameters of the field kernels.
func (o FieldOrder) FirstParity() int { return o.firstParity() }

// Phase turns an interpolation phase t in (0,1) into the 1/4096 units of
// the interpolation kernels, or fails outside that interval.
func Phase(t float64) (int, error) { return phase(t) }

// CheckPlacement fails when a Pad, Crop or Overlay offset is off the chroma
// grid of f.
func CheckPlacement(op string, f Format, x, y int) error { return checkPlacement(op, f, x, y) }

// PyramidLevels is how many levels the motion estimator's luma pyramid has
// for a w x h picture.
func PyramidLevels(w, h int) int { return pyramidLevels(w, h) }

// NewVectorField allocates a zero field of bw x bh blocks.
func NewVectorField(bw, bh int) *VectorField { return newVectorField(bw, bh) }

// The motion estimator's tuning, as the kernels take it: the lambda of the
// refining levels, that of the coarsest level, and the smoothing bias.
const (
	MotionLambda       = meLambda
	MotionLambdaCoarse = meLambdaCoarse
	MotionSmoothBias   = meSmoothBias
)
