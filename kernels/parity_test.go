package kernels_test

import (
	"reflect"
	"regexp"
	"sort"
	"testing"

	"kiln/kernels"
	"kiln/kernels/paritytest"
)

// recorder is a Backend that counts which methods the parity cases call.
type recorder struct {
	kernels.Backend
	calls map[string]int
}

func (r *recorder) note(m string) { r.calls[m]++ }

func (r *recorder) NewImage(f kernels.Format) (kernels.Image, error) {
	r.note("NewImage")
	return r.Backend.NewImage(f)
}
func (r *recorder) Release(img kernels.Image) { r.note("Release"); r.Backend.Release(img) }
func (r *recorder) Upload(d kernels.Image, s *kernels.Frame) error {
	r.note("Upload")
	return r.Backend.Upload(d, s)
}
func (r *recorder) Download(d *kernels.Frame, s kernels.Image) error {
	r.note("Download")
	return r.Backend.Download(d, s)
}
func (r *recorder) Scale(d, s kernels.Image, sc *kernels.Scaler) error {
	r.note("Scale")
	return r.Backend.Scale(d, s, sc)
}
func (r *recorder) ConvertMatrix(d, s kernels.Image, c *kernels.MatrixConverter) error {
	r.note("ConvertMatrix")
	return r.Backend.ConvertMatrix(d, s, c)
}
func (r *recorder) Pad(d, s kernels.Image, x, y int) error {
	r.note("Pad")
	return r.Backend.Pad(d, s, x, y)
}
func (r *recorder) Crop(d, s kernels.Image, x, y int) error {
	r.note("Crop")
	return r.Backend.Crop(d, s, x, y)
}
func (r *recorder) Overlay(d kernels.Image, o *kernels.Overlay, x, y int, op float64) error {
	r.note("Overlay")
	return r.Backend.Overlay(d, o, x, y, op)
}
func (r *recorder) SeparateFields(t, b, s kernels.Image) error {
	r.note("SeparateFields")
	return r.Backend.SeparateFields(t, b, s)
}
func (r *recorder) WeaveFields(d, t, b kernels.Image) error {
	r.note("WeaveFields")
	return r.Backend.WeaveFields(d, t, b)
}
func (r *recorder) ReverseFieldOrder(d, s kernels.Image, from kernels.FieldOrder) error {
	r.note("ReverseFieldOrder")
	return r.Backend.ReverseFieldOrder(d, s, from)
}
func (r *recorder) Interlace(d, a, b kernels.Image, o kernels.FieldOrder, f kernels.InterlaceFilter) error {
	r.note("Interlace")
	return r.Backend.Interlace(d, a, b, o, f)
}
func (r *recorder) Deinterlace(d, p, c, n kernels.Image, o kernels.FieldOrder, second bool) error {
	r.note("Deinterlace")
	return r.Backend.Deinterlace(d, p, c, n, o, second)
}
func (r *recorder) EstimateMotion(a, b kernels.Image, prior *kernels.Motion) (*kernels.Motion, error) {
	r.note("EstimateMotion")
	return r.Backend.EstimateMotion(a, b, prior)
}
func (r *recorder) Interpolate(d, a, b kernels.Image, m *kernels.Motion, t float64, method kernels.FrameRateMethod) error {
	r.note("Interpolate")
	return r.Backend.Interpolate(d, a, b, m, t, method)
}

// The parity set (package paritytest) must reach every Backend method and
// every PTX entry, or a GPU kernel could ship that no parity run ever
// compared with the CPU.
func TestParityCoversBackendAndKernels(t *testing.T) {
	rec := &recorder{Backend: kernels.CPU(), calls: map[string]int{}}
	declared := map[string]bool{}
	for _, c := range paritytest.Cases() {
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
	bt := reflect.TypeOf((*kernels.Backend)(nil)).Elem()
	for i := 0; i < bt.NumMethod(); i++ {
		m := bt.Method(i).Name
		if m != "Name" && rec.calls[m] == 0 {
			t.Errorf("no parity case calls Backend.%s", m)
		}
	}
	entry := regexp.MustCompile(`\.visible \.entry (\w+)\(`)
	var missing []string
	ptx := map[string]bool{}
	for _, src := range kernels.PTX() {
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
