package kernels

import "fmt"

// FieldOrder is which field of an interlaced frame comes first in time.
type FieldOrder int

const (
	TopFieldFirst    FieldOrder = iota // PAL/625 HD and most 1080i
	BottomFieldFirst                   // DV and 525-line SD
)

func (o FieldOrder) String() string {
	if o == BottomFieldFirst {
		return "bff"
	}
	return "tff"
}

// firstParity is the line parity (0 even/top, 1 odd/bottom) of the first field.
func (o FieldOrder) firstParity() int {
	if o == BottomFieldFirst {
		return 1
	}
	return 0
}

// FieldFormat is the format of one field of an interlaced frame of format f.
// The frame height must be even, and a multiple of 4 in 4:2:0, so that both
// fields hold the same number of luma and of chroma lines.
func FieldFormat(f Format) (Format, error) {
	_, sy := f.Chroma.Sub()
	if f.Height%(2*sy) != 0 {
		return Format{}, fmt.Errorf("kernels: %v cannot be split into two equal fields", f)
	}
	f.Height /= 2
	return f, nil
}

// FieldView returns one field of an interlaced host frame (parity 0: the top
// field, even lines; 1: the bottom field) as a frame of FieldFormat(fr) that
// shares fr's memory: its lines are every other line of fr. On the CPU
// backend kernels read and write a field view as they would a field that
// SeparateFields copied out, or that WeaveFields would copy back, without
// either copy. A view is never given to Release: it owns no memory.
func (fr *Frame) FieldView(parity int) (*Frame, error) {
	ff, err := FieldFormat(fr.Format)
	if err != nil {
		return nil, err
	}
	if parity != 0 && parity != 1 {
		return nil, fmt.Errorf("kernels: field parity %d is neither 0 (top) nor 1 (bottom)", parity)
	}
	v := &Frame{Format: ff}
	for i := range fr.Planes {
		p := &fr.Planes[i]
		w, h := ff.PlaneSize(i)
		v.Planes[i] = Plane{Width: w, Height: h, Stride: 2 * p.Stride, Data: p.Data[parity*p.Stride:]}
	}
	return v, nil
}

// InterlaceFilter is the vertical low-pass applied when interlacing.
type InterlaceFilter int

const (
	// InterlaceLinear is [1 2 1]/4: no twitter, somewhat soft.
	InterlaceLinear InterlaceFilter = iota
	// InterlaceComplex is [-1 2 6 2 -1]/8: keeps more detail below the
	// field Nyquist while still removing twitter (ffmpeg's lowpass=complex).
	InterlaceComplex
	// InterlaceNone weaves lines as they are, for content already filtered.
	InterlaceNone
)

func (f InterlaceFilter) taps() ([]int32, int, error) {
	switch f {
	case InterlaceLinear:
		return []int32{0, 1, 2, 1, 0}, 2, nil
	case InterlaceComplex:
		return []int32{-1, 2, 6, 2, -1}, 3, nil
	case InterlaceNone:
		return []int32{0, 0, 2, 0, 0}, 1, nil
	}
	return nil, 0, fmt.Errorf("kernels: unknown interlace filter %d", int(f))
}
