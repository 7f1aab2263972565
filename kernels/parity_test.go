package kernels

import (
	"errors"
	"reflect"
	"regexp"
	"sort"
	"testing"
)

// recorder is a Backend that counts which methods the parity cases call,
// and can corrupt one downloaded sample to prove the comparison looks.
type recorder struct {
	Backend
	calls   map[string]int
	corrupt bool
}

func (r *recorder) note(m string) { r.calls[m]++ }

func (r *recorder) NewImage(f Format) (Image, error) {
	r.note("NewImage")
	return r.Backend.NewImage(f)
}
func (r *recorder) Release(img Image)              { r.note("Release"); r.Backend.Release(img) }
func (r *recorder) Upload(d Image, s *Frame) error { r.note("Upload"); return r.Backend.Upload(d, s) }
func (r *recorder) Download(d *Frame, s Image) error {
	r.note("Download")
	if err := r.Backend.Download(d, s); err != nil {
		return err
	}
	if r.corrupt {
		d.Set(1, 3, 2, d.At(1, 3, 2)^1)
	}
	return nil
}
func (r *recorder) Scale(d, s Image, sc *Scaler) error {
	r.note("Scale")
	return r.Backend.Scale(d, s, sc)
}
func (r *recorder) ConvertMatrix(d, s Image, c *MatrixConverter) error {
	r.note("ConvertMatrix")
	return r.Backend.ConvertMatrix(d, s, c)
}
func (r *recorder) Pad(d, s Image, x, y int) error { r.note("Pad"); return r.Backend.Pad(d, s, x, y) }
func (r *recorder) Crop(d, s Image, x, y int) error {
	r.note("Crop")
	return r.Backend.Crop(d, s, x, y)
}
func (r *recorder) Overlay(d Image, o *Overlay, x, y int, op float64) error {
	r.note("Overlay")
	return r.Backend.Overlay(d, o, x, y, op)
}
func (r *recorder) SeparateFields(t, b, s Image) error {
	r.note("SeparateFields")
	return r.Backend.SeparateFields(t, b, s)
}
func (r *recorder) WeaveFields(d, t, b Image) error {
	r.note("WeaveFields")
	return r.Backend.WeaveFields(d, t, b)
}
func (r *recorder) ReverseFieldOrder(d, s Image, from FieldOrder) error {
	r.note("ReverseFieldOrder")
	return r.Backend.ReverseFieldOrder(d, s, from)
}
func (r *recorder) Interlace(d, a, b Image, o FieldOrder, f InterlaceFilter) error {
	r.note("Interlace")
	return r.Backend.Interlace(d, a, b, o, f)
}
func (r *recorder) Deinterlace(d, p, c, n Image, o FieldOrder, second bool) error {
	r.note("Deinterlace")
	return r.Backend.Deinterlace(d, p, c, n, o, second)
}
func (r *recorder) EstimateMotion(a, b Image, prior *Motion) (*Motion, error) {
	r.note("EstimateMotion")
	return r.Backend.EstimateMotion(a, b, prior)
}
func (r *recorder) Interpolate(d, a, b Image, m *Motion, t float64, method FrameRateMethod) error {
	r.note("Interpolate")
	return r.Backend.Interpolate(d, a, b, m, t, method)
}

// The parity set must reach every Backend method and every PTX entry, or a
// GPU kernel could ship that no parity run ever compared with the CPU.
func TestParityCoversBackendAndKernels(t *testing.T) {
	rec := &recorder{Backend: CPU(), calls: map[string]int{}}
	declared := map[string]bool{}
	for _, c := range ParityCases() {
		if _, err := c.Run(rec); (err != nil) != c.WantErr {
			t.Errorf("%s on the CPU: error %v, want error %v", c.Name, err, c.WantErr)
		}
		for _, k := range c.Kernels {
			declared[k] = true
		}
		if !c.WantErr && len(c.Kernels) == 0 {
			t.Errorf("%s names no kernels", c.Name)
		}
	}
	bt := reflect.TypeOf((*Backend)(nil)).Elem()
	for i := 0; i < bt.NumMethod(); i++ {
		m := bt.Method(i).Name
		if m != "Name" && rec.calls[m] == 0 {
			t.Errorf("no parity case calls Backend.%s", m)
		}
	}
	entry := regexp.MustCompile(`\.visible \.entry (\w+)\(`)
	var missing []string
	ptx := map[string]bool{}
	for _, src := range PTX() {
		for _, m := range entry.FindAllSubmatch(src, -1) {
			ptx[string(m[1])] = true
			if !declared[string(m[1])] {
				missing = append(missing, string(m[1]))
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("PTX entries no parity case launches: %v", missing)
	}
	for k := range declared {
		if !ptx[k] {
			t.Errorf("a parity case names %s, which is no PTX entry", k)
		}
	}
}

// Two runs on the CPU agree (the inputs are deterministic and the host
// grid split does not change results), and the comparison finds a single
// flipped sample where it is.
func TestRunParity(t *testing.T) {
	cases := ParityCases()
	for _, c := range cases {
		if _, err := RunParity(c, CPU(), CPU()); err != nil {
			t.Errorf("CPU against CPU: %v", err)
		}
	}
	var scale ParityCase
	for _, c := range cases {
		if len(c.Kernels) > 0 && c.Kernels[0] == "kiln_scale_h" {
			scale = c
			break
		}
	}
	bad := &recorder{Backend: CPU(), calls: map[string]int{}, corrupt: true}
	m, err := RunParity(scale, CPU(), bad)
	if !errors.Is(err, ErrParityMismatch) || m == nil {
		t.Fatalf("corrupted run: mismatch %v, error %v; want ErrParityMismatch", m, err)
	}
	if m.Plane != 1 || m.X != 3 || m.Y != 2 || m.Differing != 1 || m.Got != m.Want^1 {
		t.Errorf("mismatch %+v, want plane 1 at (3,2), one sample, low bit flipped", m)
	}
}

// A case whose invalid call one backend accepts fails the run.
func TestRunParityWantsBothToRefuse(t *testing.T) {
	c := ParityCase{Name: "accepts", WantErr: true, Run: func(b Backend) ([]ParityOutput, error) {
		if b.Name() == "strict" {
			return nil, errors.New("refused")
		}
		return nil, nil
	}}
	if _, err := RunParity(c, named{CPU(), "strict"}, CPU()); err == nil {
		t.Error("an invalid call accepted by one backend passed")
	}
	if _, err := RunParity(c, named{CPU(), "strict"}, named{CPU(), "strict"}); err != nil {
		t.Errorf("both refusing: %v", err)
	}
}

type named struct {
	Backend
	name string
}

func (n named) Name() string { return n.name }

// A field mismatch is located by block and component.
func TestCompareParityFields(t *testing.T) {
	a, b := NewVectorField(5, 3), NewVectorField(5, 3)
	b.Cost[7] = 9
	b.Cost[8] = 1
	m := CompareParity([]ParityOutput{{Name: "fwd", Field: a}}, []ParityOutput{{Name: "fwd", Field: b}})
	if m == nil || m.Component != "cost" || m.X != 2 || m.Y != 1 || m.Got != 9 || m.Differing != 2 {
		t.Errorf("mismatch %+v, want cost at block (2,1), got 9, 2 differing", m)
	}
	if m := CompareParity([]ParityOutput{{Name: "fwd", Field: a}}, []ParityOutput{{Name: "fwd", Field: NewVectorField(4, 3)}}); m == nil || m.Detail == "" {
		t.Errorf("size mismatch not reported: %+v", m)
	}
}
