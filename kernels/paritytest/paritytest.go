// Package paritytest holds the parity fixtures of package kernels:
// deterministic inputs run through a kernels.Backend, whose outputs two
// backends must reproduce bit for bit. The GPU worker runs them on the CPU
// backend and on the CUDA one (kiln-gpu-worker parity, make gpu-check);
// the kernels and gpu tests run them too, and keep the set honest (every
// Backend method and every PTX entry covered, the comparison able to fail).
//
// It is a package of its own so that the fixtures stay out of the kernels
// the workers run: only the GPU worker's parity and bench subcommands and
// tests import it. Like package kernels it needs nothing outside the
// standard library.
package paritytest

import (
	"errors"
	"fmt"

	"kiln/kernels"
)

// Case is one backend operation on fixed inputs.
type Case struct {
	Name string
	// Kernels are the PTX entry points the operation launches.
	Kernels []string
	// WantErr marks a case whose inputs are invalid: every backend must
	// refuse them, in any words.
	WantErr bool
	// Run performs the operation on b and returns its outputs in host memory.
	Run func(b kernels.Backend) ([]Output, error)
}

// Output is one result of a case: a picture or a block field.
type Output struct {
	Name  string
	Frame *kernels.Frame
	Field *kernels.VectorField
}

// ErrMismatch is what Run's error wraps when outputs differ.
var ErrMismatch = errors.New("outputs differ")

// Run runs c on want (the reference, normally kernels.CPU()) and got, and
// returns nil when they agree: the same outputs bit for bit, or, for a
// WantErr case, both refusing. The mismatch, if any, is returned too.
func Run(c Case, want, got kernels.Backend) (*Mismatch, error) {
	wo, werr := c.Run(want)
	goo, gerr := c.Run(got)
	switch {
	case c.WantErr && (werr == nil || gerr == nil):
		return nil, fmt.Errorf("%s: invalid call accepted (%s: %v, %s: %v)", c.Name, want.Name(), werr, got.Name(), gerr)
	case c.WantErr:
		return nil, nil
	case werr != nil:
		return nil, fmt.Errorf("%s on %s: %w", c.Name, want.Name(), werr)
	case gerr != nil:
		return nil, fmt.Errorf("%s on %s: %w", c.Name, got.Name(), gerr)
	}
	if m := Compare(wo, goo); m != nil {
		return m, fmt.Errorf("%s: %w: %v", c.Name, ErrMismatch, m)
	}
	return nil, nil
}

// session is one run of a case on a backend: it holds the images the case
// made, so that they are all released whatever happens, the outputs so far
// and the first error. After an error every step does nothing, so a case
// reads as a straight list of steps.
type session struct {
	b    kernels.Backend
	imgs []kernels.Image
	out  []Output
	err  error
}

// image allocates an image of format f on the backend.
func (s *session) image(f kernels.Format) kernels.Image {
	if s.err != nil {
		return nil
	}
	img, err := s.b.NewImage(f)
	if err != nil {
		s.err = fmt.Errorf("NewImage %v: %w", f, err)
		return nil
	}
	s.imgs = append(s.imgs, img)
	return img
}

// upload allocates an image for f and copies f into it.
func (s *session) upload(f *kernels.Frame) kernels.Image {
	img := s.image(f.Format)
	if s.err == nil {
		if err := s.b.Upload(img, f); err != nil {
			s.err = fmt.Errorf("Upload %v: %w", f.Format, err)
		}
	}
	return img
}

// check keeps err when it is the first.
func (s *session) check(err error) {
	if s.err == nil && err != nil {
		s.err = err
	}
}

// do runs a backend call unless an earlier step failed, and keeps its error.
func (s *session) do(call func() error) {
	if s.err == nil {
		s.err = call()
	}
}

// picture downloads img as the output called name.
func (s *session) picture(name string, img kernels.Image) {
	if s.err != nil {
		return
	}
	f := kernels.NewFrame(img.ImageFormat())
	if err := s.b.Download(f, img); err != nil {
		s.err = fmt.Errorf("Download %s: %w", name, err)
		return
	}
	s.out = append(s.out, Output{Name: name, Frame: f})
}

// field adds a block field, which backends return in host memory, as the
// output called name.
func (s *session) field(name string, f *kernels.VectorField) {
	if s.err == nil {
		s.out = append(s.out, Output{Name: name, Field: f})
	}
}

func (s *session) release() {
	for _, img := range s.imgs {
		s.b.Release(img)
	}
	s.imgs = nil
}

// runner turns the steps of a case into its Run: a fresh session per
// backend, its images released, its outputs or its first error returned.
func runner(steps func(s *session)) func(kernels.Backend) ([]Output, error) {
	return func(b kernels.Backend) ([]Output, error) {
		s := &session{b: b}
		defer s.release()
		steps(s)
		if s.err != nil {
			return nil, s.err
		}
		return s.out, nil
	}
}
