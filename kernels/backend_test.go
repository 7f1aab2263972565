package kernels

import "testing"

// The CPU backend has the HostFrames capability, and keeps its promise:
// its images are host frames, which the pipeline uses without Upload or
// Download.
func TestCPUImagesAreHostFrames(t *testing.T) {
	b := CPU()
	if !ImagesAreHostFrames(b) {
		t.Fatal("the CPU backend lacks HostFrames")
	}
	img, err := b.NewImage(Format{Width: 64, Height: 32, Chroma: Chroma420, Depth: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release(img)
	if _, ok := img.(*Frame); !ok {
		t.Errorf("the CPU backend's image is a %T, not a *Frame", img)
	}
}

// The CPU backend's kernels run on the host: it lacks the OnGPU capability,
// so a CPU worker's job is not on the GPU's side unless NVENC was granted.
func TestCPUCapabilityNotOnGPU(t *testing.T) {
	if RunsOnGPU(CPU()) {
		t.Error("the CPU backend claims OnGPU")
	}
}
