package kernels

import (
	"fmt"
	"math"
)

// Matrix is a YCbCr colour matrix (the luma coefficients Kr, Kb).
type Matrix int

const (
	BT601 Matrix = iota // SD: Kr 0.299, Kb 0.114
	BT709               // HD: Kr 0.2126, Kb 0.0722
)

func (m Matrix) String() string {
	switch m {
	case BT601:
		return "bt601"
	case BT709:
		return "bt709"
	}
	return fmt.Sprintf("Matrix(%d)", int(m))
}

func (m Matrix) coefficients() (kr, kb float64, err error) {
	switch m {
	case BT601:
		return 0.299, 0.114, nil
	case BT709:
		return 0.2126, 0.0722, nil
	}
	return 0, 0, fmt.Errorf("kernels: unknown matrix %d", int(m))
}

// rgbToYPbPr is the matrix from non-linear R'G'B' to Y'PbPr (Pb, Pr in ±0.5).
func (m Matrix) rgbToYPbPr() [3][3]float64 {
	kr, kb, _ := m.coefficients()
	kg := 1 - kr - kb
	return [3][3]float64{
		{kr, kg, kb},
		{-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5},
		{0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))},
	}
}

// FromRGB converts full-range 8-bit R'G'B' to limited-range Y'CbCr of the
// given depth, rounded; Go-side only (overlay logos, test patterns).
func (m Matrix) FromRGB(r, g, b uint8, depth int) (y, cb, cr int) {
	a := m.rgbToYPbPr()
	in := [3]float64{float64(r) / 255, float64(g) / 255, float64(b) / 255}
	var o [3]float64
	for i := range o {
		o[i] = a[i][0]*in[0] + a[i][1]*in[1] + a[i][2]*in[2]
	}
	s := float64(int(1) << uint(depth-8))
	y = int(math.Round((16 + 219*o[0]) * s))
	cb = int(math.Round((128 + 224*o[1]) * s))
	cr = int(math.Round((128 + 224*o[2]) * s))
	return y, cb, cr
}

// MatrixConverter is a plan for converting between two colour matrices,
// with its 14-bit fixed-point coefficients.
type MatrixConverter struct {
	From, To Matrix
	// m: luma from (Cb, Cr), then the chroma 2x2, on offset-free code values.
	m []int32
}

// NewMatrixConverter plans the conversion of limited-range Y'CbCr from one
// matrix to another: R'G'B' is recovered with the source matrix and encoded
// with the destination's, folded into one 3x3 on (Y-16, Cb-128, Cr-128).
func NewMatrixConverter(from, to Matrix) (*MatrixConverter, error) {
	if _, _, err := from.coefficients(); err != nil {
		return nil, err
	}
	if _, _, err := to.coefficients(); err != nil {
		return nil, err
	}
	src, dst := from.rgbToYPbPr(), to.rgbToYPbPr()
	m := mul3(dst, inv3(src))
	// Code values: Y spans 219 steps, Cb/Cr 224; luma is untouched by its
	// own coefficient m[0][0] = 1 and chroma ignores luma (m[1][0] = m[2][0]
	// = 0), which is why the kernels need no luma under chroma samples.
	if math.Abs(m[0][0]-1) > 1e-9 || math.Abs(m[1][0]) > 1e-9 || math.Abs(m[2][0]) > 1e-9 {
		return nil, fmt.Errorf("kernels: %v->%v does not keep grey", from, to)
	}
	q := func(v float64) int32 { return int32(math.Round(v * (1 << 14))) }
	return &MatrixConverter{From: from, To: to, m: []int32{
		q(m[0][1] * 219 / 224), q(m[0][2] * 219 / 224),
		q(m[1][1]), q(m[1][2]),
		q(m[2][1]), q(m[2][2]),
	}}, nil
}

func mul3(a, b [3][3]float64) (c [3][3]float64) {
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

func inv3(a [3][3]float64) (r [3][3]float64) {
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// cofactor of a[j][i] (transposed), over the determinant
			r1, r2 := (j+1)%3, (j+2)%3
			c1, c2 := (i+1)%3, (i+2)%3
			r[i][j] = (a[r1][c1]*a[r2][c2] - a[r1][c2]*a[r2][c1]) / det
		}
	}
	return r
}
