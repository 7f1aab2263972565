package gpu

import (
	"math/rand/v2"
	"strings"
	"testing"

	"kiln/kernels"
)

// TestCopyToDevice: a picture the kernels just wrote reaches device planes
// of another owner (libav's CUDA frames, for NVENC) whole, row by row into
// their pitch, under each order the emulated streams may run in: the copy
// waits for the kernel that wrote its source.
func TestCopyToDevice(t *testing.T) {
	f := kernels.Format{Width: 70, Height: 36, Chroma: kernels.Chroma420, Depth: 8}
	src := kernels.NewFrame(f)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range src.Planes {
		for j := range src.Planes[i].Data {
			src.Planes[i].Data[j] = byte(rng.Uint32())
		}
	}
	for _, policy := range []emuPolicy{computeFirst, copyFirst, randomOrder} {
		d := newEmuDriver(policy)
		b := openEmulated(t, d, Options{})
		if h := b.ContextHandle(); h != 0 {
			t.Errorf("%v: emulated device has context handle %#x, want 0", policy, h)
		}
		up, err := b.NewImage(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Upload(up, src); err != nil {
			t.Fatal(err)
		}
		// A kernel writes the picture that is copied out, on the compute
		// stream; the copy runs on the copy stream.
		img, err := b.NewImage(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Crop(img, up, 0, 0); err != nil {
			t.Fatal(err)
		}
		// libav's frame: planes of its own, with a pitch wider than the rows.
		var ptrs [3]uint64
		var pitches [3]int
		d.enter()
		for i := range ptrs {
			w, h := f.PlaneSize(i)
			pitches[i] = w + 64
			if ptrs[i], err = d.alloc(int64(pitches[i] * h)); err != nil {
				t.Fatal(err)
			}
		}
		d.leave()
		if err := b.CopyToDevice(ptrs, pitches, img); err != nil {
			t.Fatalf("%v: CopyToDevice: %v", policy, err)
		}
		d.mu.Lock()
		for i := range ptrs {
			w, h := f.PlaneSize(i)
			got, err := d.resolve(ptrs[i], int64(pitches[i]*h))
			if err != nil {
				t.Fatal(err)
			}
			sp := src.Planes[i]
			for y := 0; y < h; y++ {
				if string(got[y*pitches[i]:y*pitches[i]+w]) != string(sp.Data[y*sp.Stride:y*sp.Stride+w]) {
					t.Errorf("%v: plane %d row %d differs from the picture", policy, i, y)
					break
				}
			}
		}
		d.mu.Unlock()
		// A plane too narrow for the picture is refused before any copy.
		narrow := pitches
		narrow[1] = 10
		if err := b.CopyToDevice(ptrs, narrow, img); err == nil || !strings.Contains(err.Error(), "does not fit") {
			t.Errorf("%v: a 10-byte pitch for a 35-sample plane: %v", policy, err)
		}
		b.Release(up)
		b.Release(img)
		d.enter()
		for _, p := range ptrs {
			d.free(p)
		}
		d.leave()
		closeEmulated(t, b, d)
	}
}
