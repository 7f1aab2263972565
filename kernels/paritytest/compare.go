package paritytest

import (
	"fmt"

	"kiln/kernels"
)

// Mismatch is where two backends' outputs first differ, in raster order.
// The GPU worker's parity report carries it as JSON.
type Mismatch struct {
	Output string `json:"output"`
	// Plane is the picture plane (0 luma), or for a field its component
	// ("x", "y" or "cost") in Component.
	Plane     int    `json:"plane"`
	Component string `json:"component,omitempty"`
	X         int    `json:"x"`
	Y         int    `json:"y"`
	Want      int    `json:"want"`
	Got       int    `json:"got"`
	// Differing is how many samples of this output differ in all.
	Differing int `json:"differing"`
	// Detail says what differs when it is not a sample (sizes, count).
	Detail string `json:"detail,omitempty"`
}

func (m *Mismatch) String() string {
	if m.Detail != "" {
		return fmt.Sprintf("%s: %s", m.Output, m.Detail)
	}
	where := fmt.Sprintf("plane %d", m.Plane)
	if m.Component != "" {
		where = "field " + m.Component
	}
	return fmt.Sprintf("%s %s (%d,%d): want %d, got %d (%d samples differ)",
		m.Output, where, m.X, m.Y, m.Want, m.Got, m.Differing)
}

// Compare returns the first difference between two runs of a case, or nil
// when they are bit-exact.
func Compare(want, got []Output) *Mismatch {
	if len(want) != len(got) {
		return &Mismatch{Output: "outputs", Detail: fmt.Sprintf("want %d outputs, got %d", len(want), len(got))}
	}
	for k := range want {
		w, g := want[k], got[k]
		if w.Name != g.Name {
			return &Mismatch{Output: w.Name, Detail: fmt.Sprintf("output %d is %q on the other side", k, g.Name)}
		}
		var m *Mismatch
		switch {
		case w.Frame != nil && g.Frame != nil:
			m = compareFrames(w.Frame, g.Frame)
		case w.Field != nil && g.Field != nil:
			m = compareFields(w.Field, g.Field)
		default:
			m = &Mismatch{Detail: "one side has no data"}
		}
		if m != nil {
			m.Output = w.Name
			return m
		}
	}
	return nil
}

func compareFrames(w, g *kernels.Frame) *Mismatch {
	if w.Format != g.Format {
		return &Mismatch{Detail: fmt.Sprintf("format %v, got %v", w.Format, g.Format)}
	}
	var first *Mismatch
	n := 0
	for i := 0; i < 3; i++ {
		p := &w.Planes[i]
		for y := 0; y < p.Height; y++ {
			for x := 0; x < p.Width; x++ {
				a, b := w.At(i, x, y), g.At(i, x, y)
				if a == b {
					continue
				}
				n++
				if first == nil {
					first = &Mismatch{Plane: i, X: x, Y: y, Want: a, Got: b}
				}
			}
		}
	}
	if first != nil {
		first.Differing = n
	}
	return first
}

func compareFields(w, g *kernels.VectorField) *Mismatch {
	if w.BlocksX != g.BlocksX || w.BlocksY != g.BlocksY {
		return &Mismatch{Detail: fmt.Sprintf("%dx%d blocks, got %dx%d", w.BlocksX, w.BlocksY, g.BlocksX, g.BlocksY)}
	}
	var first *Mismatch
	n := 0
	for c, pair := range [3][2][]int32{{w.X, g.X}, {w.Y, g.Y}, {w.Cost, g.Cost}} {
		for i := range pair[0] {
			if pair[0][i] == pair[1][i] {
				continue
			}
			n++
			if first == nil {
				first = &Mismatch{Component: [3]string{"x", "y", "cost"}[c],
					X: i % w.BlocksX, Y: i / w.BlocksX, Want: int(pair[0][i]), Got: int(pair[1][i])}
			}
		}
	}
	if first != nil {
		first.Differing = n
	}
	return first
}
