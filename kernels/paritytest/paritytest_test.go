package paritytest

import (
	"errors"
	"testing"

	"kiln/kernels"
)

// flipping is the CPU backend with one downloaded sample's low bit flipped,
// to prove that the comparison looks.
type flipping struct{ kernels.Backend }

func (f flipping) Download(dst *kernels.Frame, src kernels.Image) error {
	if err := f.Backend.Download(dst, src); err != nil {
		return err
	}
	dst.Set(1, 3, 2, dst.At(1, 3, 2)^1)
	return nil
}

// Two runs on the CPU agree (the inputs are deterministic and the host
// grid split does not change results), and the comparison finds a single
// flipped sample where it is.
func TestRun(t *testing.T) {
	cases := Cases()
	for _, c := range cases {
		if _, err := Run(c, kernels.CPU(), kernels.CPU()); err != nil {
			t.Errorf("CPU against CPU: %v", err)
		}
	}
	var scale Case
	for _, c := range cases {
		if len(c.Kernels) > 0 && c.Kernels[0] == "kiln_scale_h" {
			scale = c
			break
		}
	}
	m, err := Run(scale, kernels.CPU(), flipping{kernels.CPU()})
	if !errors.Is(err, ErrMismatch) || m == nil {
		t.Fatalf("corrupted run: mismatch %v, error %v; want ErrMismatch", m, err)
	}
	if m.Plane != 1 || m.X != 3 || m.Y != 2 || m.Differing != 1 || m.Got != m.Want^1 {
		t.Errorf("mismatch %+v, want plane 1 at (3,2), one sample, low bit flipped", m)
	}
}

// A case whose invalid call one backend accepts fails the run.
func TestRunWantsBothToRefuse(t *testing.T) {
	c := Case{Name: "accepts", WantErr: true, Run: func(b kernels.Backend) ([]Output, error) {
		if b.Name() == "strict" {
			return nil, errors.New("refused")
		}
		return nil, nil
	}}
	if _, err := Run(c, named{kernels.CPU(), "strict"}, kernels.CPU()); err == nil {
		t.Error("an invalid call accepted by one backend passed")
	}
	if _, err := Run(c, named{kernels.CPU(), "strict"}, named{kernels.CPU(), "strict"}); err != nil {
		t.Errorf("both refusing: %v", err)
	}
}

type named struct {
	kernels.Backend
	name string
}

func (n named) Name() string { return n.name }

// A field mismatch is located by block and component.
func TestCompareFields(t *testing.T) {
	a, b := kernels.NewVectorField(5, 3), kernels.NewVectorField(5, 3)
	b.Cost[7] = 9
	b.Cost[8] = 1
	m := Compare([]Output{{Name: "fwd", Field: a}}, []Output{{Name: "fwd", Field: b}})
	if m == nil || m.Component != "cost" || m.X != 2 || m.Y != 1 || m.Got != 9 || m.Differing != 2 {
		t.Errorf("mismatch %+v, want cost at block (2,1), got 9, 2 differing", m)
	}
	if m := Compare([]Output{{Name: "fwd", Field: a}}, []Output{{Name: "fwd", Field: kernels.NewVectorField(4, 3)}}); m == nil || m.Detail == "" {
		t.Errorf("size mismatch not reported: %+v", m)
	}
}
