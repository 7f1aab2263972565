package gpu

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"kiln/kernels"
	"kiln/kernels/paritytest"
)

// These tests run the GPU backend, as the cuda build has it, on the
// emulated device of emulator_test.go: every launch, pitch, offset, table
// upload and stream wait is exercised without a GPU. What they cannot
// check is the driver itself: PTX JIT, real timing, and device faults.

func openEmulated(t *testing.T, d *emuDriver, opts Options) *Backend {
	t.Helper()
	b, err := newBackend(d, DeviceInfo{Name: "emulated", Major: 7, Minor: 5}, opts)
	if err != nil {
		t.Fatalf("opening a backend on the emulated device: %v", err)
	}
	return b
}

// closeEmulated closes the backend and reports leaks and misuse.
func closeEmulated(t *testing.T, b *Backend, d *emuDriver) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, f := range d.faults {
		t.Errorf("emulated device: %s", f)
	}
}

func launched(before, after map[string]int) []string {
	var out []string
	for k, n := range after {
		if n > before[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// The parity set, bit for bit against the CPU backend, under each order
// the two streams may run in: the kernels get the right arguments, and the
// backend orders its uploads, kernels and downloads whatever the device
// does first.
func TestParityOnEmulatedDevice(t *testing.T) {
	for _, policy := range []emuPolicy{computeFirst, copyFirst, randomOrder} {
		t.Run(policy.String(), func(t *testing.T) {
			d := newEmuDriver(policy)
			b := openEmulated(t, d, Options{})
			for _, c := range paritytest.Cases() {
				before := b.LaunchCounts()
				if _, err := paritytest.Run(c, kernels.CPU(), b); err != nil {
					t.Error(err)
				}
				want := append([]string(nil), c.Kernels...)
				sort.Strings(want)
				if got := launched(before, b.LaunchCounts()); !c.WantErr && strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("%s: launched %v, the case declares %v", c.Name, got, want)
				}
			}
			closeEmulated(t, b, d)
		})
	}
}

// Without its stream waits the backend computes garbage on a device that
// runs kernels before the uploads they need: proof that the parity run
// above would notice a missing wait. Only kernels whose addressing does not
// depend on memory contents run here; the others (scale positions, motion
// vectors) would read far out of bounds, as they would on a GPU.
func TestEmulatorCatchesMissingWaits(t *testing.T) {
	d := newEmuDriver(computeFirst)
	d.dropWaits = true
	b := openEmulated(t, d, Options{})
	defer b.Close()
	ran, failed := 0, 0
cases:
	for _, c := range paritytest.Cases() {
		for _, k := range c.Kernels {
			if strings.HasPrefix(k, "kiln_scale_") || strings.HasPrefix(k, "kiln_me_") || strings.HasPrefix(k, "kiln_mc_") {
				continue cases
			}
		}
		if c.WantErr {
			continue
		}
		ran++
		if _, err := paritytest.Run(c, kernels.CPU(), b); err != nil {
			failed++
		}
	}
	if ran == 0 || failed == 0 {
		t.Errorf("%d of %d parity cases failed with the stream waits dropped, want some", failed, ran)
	}
	t.Logf("%d of %d cases failed without waits", failed, ran)
}

// Pipelines call one backend from several goroutines (decode, filter and
// encode stages); the results must not mix.
func TestConcurrentUse(t *testing.T) {
	d := newEmuDriver(randomOrder)
	b := openEmulated(t, d, Options{})
	cases := paritytest.Cases()
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(cases))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := range cases {
				c := cases[(i+g*7)%len(cases)]
				if _, err := paritytest.Run(c, kernels.CPU(), b); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	closeEmulated(t, b, d)
}

// Frames of a job reuse the pool: after the first frame no allocation.
func TestPoolReusesBuffers(t *testing.T) {
	d := newEmuDriver(computeFirst)
	b := openEmulated(t, d, Options{})
	f := kernels.Format{Width: 320, Height: 180, Chroma: kernels.Chroma420, Depth: 8}
	src := paritytest.Picture(f, 1)
	s, err := kernels.NewScaler(f, kernels.Format{Width: 160, Height: 90, Chroma: kernels.Chroma420, Depth: 8}, kernels.ScaleParams{})
	if err != nil {
		t.Fatal(err)
	}
	frame := func() {
		a, err := b.NewImage(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.NewImage(s.Dst)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Upload(a, src); err != nil {
			t.Fatal(err)
		}
		if err := b.Scale(c, a, s); err != nil {
			t.Fatal(err)
		}
		if err := b.Download(kernels.NewFrame(s.Dst), c); err != nil {
			t.Fatal(err)
		}
		b.Release(a)
		b.Release(c)
	}
	frame()
	allocs, hosts := len(d.mem), d.hosts
	for i := 0; i < 10; i++ {
		frame()
	}
	if len(d.mem) != allocs || d.hosts != hosts {
		t.Errorf("after 10 more frames %d device buffers and %d pinned blocks, after the first %d and %d",
			len(d.mem), d.hosts, allocs, hosts)
	}
	closeEmulated(t, b, d)
}

// A pool with no room for idle memory hands every released buffer back.
func TestPoolIdleCap(t *testing.T) {
	d := newEmuDriver(copyFirst)
	b := openEmulated(t, d, Options{PoolIdleBytes: 1})
	base := len(d.mem)
	img, err := b.NewImage(kernels.Format{Width: 64, Height: 64, Chroma: kernels.Chroma444, Depth: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.mem) != base+1 {
		t.Fatalf("%d buffers after NewImage, want %d", len(d.mem), base+1)
	}
	b.Release(img)
	if len(d.mem) != base {
		t.Errorf("%d buffers after Release with no idle room, want %d", len(d.mem), base)
	}
	closeEmulated(t, b, d)
}

func TestImageMisuse(t *testing.T) {
	d := newEmuDriver(computeFirst)
	b := openEmulated(t, d, Options{})
	other := openEmulated(t, newEmuDriver(computeFirst), Options{})
	f := kernels.Format{Width: 16, Height: 16, Chroma: kernels.Chroma420, Depth: 8}
	mine, _ := b.NewImage(f)
	theirs, _ := other.NewImage(f)
	gone, _ := b.NewImage(f)
	b.Release(gone)
	frame := kernels.NewFrame(f)
	for _, c := range []struct {
		img  kernels.Image
		want string
	}{
		{frame, "needs a *gpu.Image"},
		{theirs, "another backend"},
		{gone, "released"},
	} {
		if err := b.Upload(c.img, frame); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Upload into %T: %v, want an error saying %q", c.img, err, c.want)
		}
	}
	if err := b.Upload(mine, kernels.NewFrame(kernels.Format{Width: 8, Height: 8, Chroma: kernels.Chroma420, Depth: 8})); err == nil {
		t.Error("Upload of a frame of another format succeeded")
	}
	other.Release(theirs)
	other.Close()
	b.Release(mine)
	closeEmulated(t, b, d)
	if err := b.Upload(mine, frame); !errors.Is(err, errClosed) {
		t.Errorf("Upload after Close: %v, want errClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A launch whose arguments do not fit the PTX signature never reaches the
// device.
func TestLaunchChecksArguments(t *testing.T) {
	d := newEmuDriver(computeFirst)
	b := openEmulated(t, d, Options{})
	for _, c := range []struct {
		name string
		args []arg
		want string
	}{
		{"kiln_blend", []arg{dp(0)}, "takes 9 arguments"},
		{"kiln_blend", []arg{in(0), dp(0), in(0), dp(0), in(0), in(0), in(0), in(0), in(0)}, "argument 0"},
		{"kiln_nonesuch", nil, "no kernel"},
	} {
		err := b.do(func() error { return b.launch(c.name, 64, 8, c.args...) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("launch %s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if n := b.LaunchCounts()["kiln_blend"]; n != 0 {
		t.Errorf("%d bad launches counted", n)
	}
	closeEmulated(t, b, d)
}

// Every entry point of the embedded PTX is found, with the parameter kinds
// the kernel sources declare.
func TestEntryParams(t *testing.T) {
	total := 0
	for name, ptx := range kernels.PTX() {
		params, err := entryParams(string(ptx))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		total += len(params)
	}
	if total != 18 {
		t.Errorf("%d entry points in the PTX, want the 18 kernels", total)
	}
	p, _ := entryParams(string(kernels.PTX()["fields"]))
	want := []bool{true, true, false, true, false, false, false, false, false, true, false, false, false}
	if got := p["kiln_interlace"]; len(got) != len(want) {
		t.Fatalf("kiln_interlace params %v", got)
	}
	for i, w := range want {
		if p["kiln_interlace"][i] != w {
			t.Errorf("kiln_interlace parameter %d pointer %v, want %v", i, p["kiln_interlace"][i], w)
		}
	}
}

// A new image reads as the CPU backend's new frame does (all zero), even
// from a pooled buffer that held another picture.
func TestNewImageIsBlank(t *testing.T) {
	d := newEmuDriver(copyFirst)
	b := openEmulated(t, d, Options{})
	f := kernels.Format{Width: 70, Height: 30, Chroma: kernels.Chroma422, Depth: 10}
	used, _ := b.NewImage(f)
	if err := b.Upload(used, paritytest.Picture(f, 1)); err != nil {
		t.Fatal(err)
	}
	b.Release(used)
	img, err := b.NewImage(f)
	if err != nil {
		t.Fatal(err)
	}
	got := paritytest.Picture(f, 2)
	if err := b.Download(got, img); err != nil {
		t.Fatal(err)
	}
	if m := paritytest.Compare([]paritytest.Output{{Name: "new", Frame: kernels.NewFrame(f)}},
		[]paritytest.Output{{Name: "new", Frame: got}}); m != nil {
		t.Errorf("new image is not blank: %v", m)
	}
	b.Release(img)
	closeEmulated(t, b, d)
}

// The GPU backend has the OnGPU capability: its jobs are on the GPU's side,
// and say why a rendition does not encode on NVENC.
func TestCapabilityOnGPU(t *testing.T) {
	if !kernels.RunsOnGPU((*Backend)(nil)) {
		t.Error("the GPU backend lacks OnGPU")
	}
}

// The GPU backend's images live on the device: it must not claim the
// HostFrames capability, or the pipeline would read device images as host
// frames and cap the worker's address space under a CUDA context.
func TestImagesAreNotHostFrames(t *testing.T) {
	if kernels.ImagesAreHostFrames((*Backend)(nil)) {
		t.Error("the GPU backend claims HostFrames")
	}
}
