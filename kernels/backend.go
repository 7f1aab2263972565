package kernels

import "fmt"

// Image is a picture that lives where a backend's kernels can reach it:
// a *Frame for the CPU backend, device memory for a GPU backend.
type Image interface {
	ImageFormat() Format
}

// Backend runs the kernels. The CPU backend is CPU(); the GPU backend in gpu/
// implements the same interface with the embedded PTX, so a pipeline is
// written once against it. Every method is synchronous from the caller's
// point of view and leaves its inputs untouched. Table-driven kernels take
// a plan (Scaler, …) built once in Go, which a GPU backend may upload once.
type Backend interface {
	// Name is "cpu" or "cuda", as job reports record it. What a backend
	// can do is told by the capability interfaces (HostFrames, OnGPU), not by it.
	Name() string
	// NewImage allocates an image of format f on the backend.
	NewImage(f Format) (Image, error)
	// Release gives an image's memory back to the backend.
	Release(img Image)
	// Upload copies a host frame into an image of the same format. On the
	// CPU backend an image is a *Frame, and uploading a frame into itself
	// costs nothing.
	Upload(dst Image, src *Frame) error
	// Download copies an image into a host frame of the same format; free
	// on the CPU backend when dst is the image itself.
	Download(dst *Frame, src Image) error

	// Scale resamples src into dst with the plan s (sizes, subsampling,
	// depth and filter are the plan's).
	Scale(dst, src Image, s *Scaler) error
	// ConvertMatrix converts src from one colour matrix to another into dst,
	// a different image of the same format.
	ConvertMatrix(dst, src Image, c *MatrixConverter) error

	// Pad places src with its top-left corner at (x, y) of dst and fills the
	// rest with black: letterbox and pillarbox (see CenterOffset). Chroma
	// and depth must match; offsets are in luma samples on the chroma grid.
	Pad(dst, src Image, x, y int) error
	// Crop copies the dst-sized region of src whose top-left is (x, y).
	Crop(dst, src Image, x, y int) error
	// Overlay blends a logo over dst in place, its top-left at (x, y), with
	// an opacity from 0 to 1 on top of the logo's own alpha.
	Overlay(dst Image, o *Overlay, x, y int, opacity float64) error

	// SeparateFields splits an interlaced frame into its top (even lines)
	// and bottom fields, each of FieldFormat(src).
	SeparateFields(top, bottom, src Image) error
	// WeaveFields is the inverse of SeparateFields.
	WeaveFields(dst, top, bottom Image) error
	// ReverseFieldOrder turns a frame of field order from into the other
	// order by moving the picture one line (down from TFF, up from BFF), so
	// that the first field in time lands on the other parity.
	ReverseFieldOrder(dst, src Image, from FieldOrder) error
	// Interlace makes one interlaced frame from two progressive frames, the
	// first field from first and the second from second, through a vertical
	// low-pass against twitter.
	Interlace(dst, first, second Image, order FieldOrder, filter InterlaceFilter) error
	// Deinterlace rebuilds a progressive frame from the first field of cur,
	// or from its second field when second is true: called twice per frame
	// it doubles the rate, once per frame it keeps it. prev and next are the
	// neighbouring interlaced frames (nil at the ends of a sequence).
	Deinterlace(dst, prev, cur, next Image, order FieldOrder, second bool) error

	// EstimateMotion measures the motion between a and b in both directions
	// on their luma. prior, the previous pair's motion (nil at the start or
	// after a cut), seeds the search.
	EstimateMotion(a, b Image, prior *Motion) (*Motion, error)
	// Interpolate makes the picture at phase t in (0,1) between a (t=0) and
	// b (t=1). MethodMC needs m, the motion of a and b, and repeats the
	// nearer picture on a scene cut (IsSceneCut); blend and dup ignore m.
	Interpolate(dst, a, b Image, m *Motion, t float64, method FrameRateMethod) error
}

// HostFrames is the capability of a backend whose images are host frames:
// every Image it makes is a *Frame in the process's own memory. The CPU
// backend has it; a GPU backend, whose images live on the device, does not.
// Callers test for it by type assertion (ImagesAreHostFrames does the test)
// and may then:
//   - use a decoded *Frame as an image, and an image as a *Frame, without
//     Upload or Download;
//   - cap the process's address space to bound a job's memory, since all
//     the backend allocates is in it (a CUDA context reserves far more
//     address space than it uses, which such a cap would refuse).
type HostFrames interface {
	Backend
	// ImagesInHostMemory marks the capability; it does nothing.
	ImagesInHostMemory()
}

// ImagesAreHostFrames reports whether b has the HostFrames capability.
func ImagesAreHostFrames(b Backend) bool {
	_, ok := b.(HostFrames)
	return ok
}

// OnGPU is the capability of a backend whose kernels run on a GPU: the GPU
// worker's. A job whose kernels run there is on the GPU's side, where the
// video engines are, so the pipeline says, for each H.264/HEVC rendition
// that does not encode on NVENC, why not. Callers test for it by type
// assertion (RunsOnGPU does the test).
type OnGPU interface {
	Backend
	// KernelsOnGPU marks the capability; it does nothing.
	KernelsOnGPU()
}

// RunsOnGPU reports whether b has the OnGPU capability.
func RunsOnGPU(b Backend) bool {
	_, ok := b.(OnGPU)
	return ok
}

func errInPlace(op string) error {
	return fmt.Errorf("kernels: %s cannot work in place", op)
}

func checkFormat(what string, img Image, want Format) error {
	if got := img.ImageFormat(); got != want {
		return fmt.Errorf("kernels: %s is %v, want %v", what, got, want)
	}
	return nil
}
